"""The compose stack, brought up by the kit's pytest plugin with the stand-in images.

For each setup: /ready is reached, an SDK run with an image goes through the
published endpoint (through Caddy with its CA trusted, when TLS is on) and reads
back with wandb.Api, data survives `down` + `up`, and `down --volumes` removes it.
Misconfigurations fail the way a user would see them.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import ssl
import subprocess
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from wandb_local_kit.core.envfile import render
from wandb_local_kit.stack import settings
from wandb_local_kit.testing import TEST_ACME_CA, docker_host_address, free_port

from tests.integration.helpers import certificate_pair, kit, wait_for
from tests.integration.sdk import log_and_check, run_sdk, sdk_env, smoke


def build_values(existing, defaults, choices):
    """init's values for argparse-shaped choices (the domain takes a plain dict)."""
    return settings.build_values(existing, defaults, vars(choices))


COMPOSE_DIR = settings.default_compose_dir()
SETUPS = [("embedded", "off"), ("external", "off"), ("external", "internal")]


def _ready(server) -> requests.Response:
    verify = str(server.ca_file) if server.ca_file else True
    return requests.get(f"{server.base_url}/ready", timeout=10, verify=verify)


@pytest.mark.portable
@pytest.mark.parametrize("storage,tls", SETUPS, ids=[f"{s}-tls_{t}" for s, t in SETUPS])
def test_stack_round_trip_survives_restart_and_volumes_remove_it(stacks, storage, tls, tmp_path):
    server = stacks.start(storage, tls)
    try:
        print(f"{storage}/{tls}: up to healthy in {server.startup_seconds:.1f} s")
        assert _ready(server).status_code == 200

        logged, back = log_and_check(server, tmp_path / "first")
        assert back["summary_loss"] == pytest.approx(0.2)
        # `storage` finds the project's files: in /vol, or listed in the bucket.
        ca = ("--ca-file", str(server.ca_file)) if server.ca_file else ()
        usage = kit(server, "storage", "--json", *ca)
        projects = [p["project"] for p in json.loads(usage.stdout)["projects"]]
        assert any(p.endswith("/kit-stack") for p in projects), usage.stdout + usage.stderr
        assert back["config"]["kit"] == "roundtrip"
        assert back["image_ok"], back
        if storage == "external" and tls != "off":
            _bucket_is_served_by_caddy(server, back["image_url"], "caddy-internal-root.crt")
            _caddy_passes_large_bodies_and_cors(server, tmp_path / "through-caddy")

        server.down(volumes=False)
        server.up()
        again = run_sdk("check", logged["path"], sdk_env(server, tmp_path / "after-restart"))
        assert again["image_ok"] and again["summary_loss"] == pytest.approx(0.2)

        server.down(volumes=True)
        server.up()
        with pytest.raises(AssertionError, match="(?i)not found|could not find|404"):
            run_sdk("check", logged["path"], sdk_env(server, tmp_path / "after-wipe"))
    finally:
        stacks.stop(server)


def _bucket_is_served_by_caddy(server, image_url: str, trusted_name: str) -> None:
    """External storage + TLS: clients fetch media over https from the bucket endpoint
    (Caddy, with the same CA as W&B), and the wandb container trusts that CA."""
    bucket = server.values["WANDB_BUCKET_PUBLIC_URL"]
    assert bucket.startswith("https://") and image_url.startswith(bucket + "/"), image_url
    got = requests.get(image_url, timeout=10, verify=str(server.ca_file))
    assert got.status_code == 200 and got.content.startswith(b"\x89PNG"), got.status_code
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(image_url, timeout=10)  # not a certificate the system trusts
    trusted = server.compose().run(
        "exec",
        "-T",
        "wandb",
        "cat",
        f"/usr/local/share/ca-certificates/wandb-kit/{trusted_name}",
        capture=True,
    )
    assert trusted.stdout.strip() == server.ca_file.read_text().strip()


def _caddy_passes_large_bodies_and_cors(server, tmp) -> None:
    """What W&B needs from the proxy, on both of Caddy's sites: a 10 MB POST to W&B,
    a signed-URL upload with CORS from the W&B origin on the bucket, and a 256 MiB
    artifact streamed up and down through the bucket site, digests compared."""
    ca = str(server.ca_file)
    health = kit(server, "health", "--deep", "--ca-file", ca)
    assert health.returncode == 0, health.stdout + health.stderr
    checks = "transport,large-artifact"
    env = sdk_env(server, tmp)
    ran = smoke(server, env, "--only", checks, "--strict", "--large-artifact-mib", "256")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


@pytest.mark.portable
def test_external_storage_behind_your_own_private_ca(stacks, tmp_path):
    """WANDB_TLS=files with a pair from a private CA: its ca.pem is what clients trust
    and, copied by the caddy-ca job, what lets the wandb container reach the bucket."""
    picked = stacks.env_values("external", "files")
    bucket_host = urlsplit(picked["WANDB_BUCKET_PUBLIC_URL"]).hostname
    certs = tmp_path / "certs"
    ca = certificate_pair(certs, ["localhost", bucket_host], private_ca=True)
    same_addresses = {k: picked[k] for k in ("WANDB_BUCKET_BIND", "WANDB_BUCKET_PUBLIC_URL")}
    server = stacks.start("external", "files", WANDB_TLS_CERT_DIR=str(certs), **same_addresses)
    try:
        server.ca_file = ca
        assert _ready(server).status_code == 200
        _, back = log_and_check(server, tmp_path / "sdk", project="private-ca")
        assert back["image_ok"], back
        _bucket_is_served_by_caddy(server, back["image_url"], "your-ca.crt")
    finally:
        stacks.stop(server)


def _https_get_by_name(name: str, port: int, path: str, ca_file) -> tuple[int, dict]:
    """GET over TLS to this machine's published port, presenting `name` (SNI and Host)
    as a client that resolves it to this server would: no test may edit /etc/hosts."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as conn:
            request = f"GET {path} HTTP/1.1\r\nHost: {name}:{port}\r\nConnection: close\r\n\r\n"
            conn.sendall(request.encode())
            status_line = conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
            return int(status_line.split()[1]), conn.getpeercert()


@pytest.mark.standin_only(
    "test overlay: the private ACME CA of compose/test-acme.yaml, asserted in Caddy's log"
)
def test_acme_gets_the_certificate_from_the_acme_ca(stacks):
    """WANDB_TLS=acme: Caddy obtains W&B's certificate over ACME (from a private ACME
    CA standing in for Let's Encrypt, which validates the name by connecting to it)
    and serves it; clients that trust that CA reach W&B by name."""
    server = stacks.start("embedded", "acme")
    try:
        name, port = server.values["WANDB_TLS_HOSTNAME"], int(server.values["WANDB_HTTPS_PORT"])
        status, cert = wait_for(
            lambda: _https_get_by_name(name, port, "/ready", server.ca_file),
            timeout=120,
            what="W&B over https with a certificate from the ACME CA",
        )
        assert status == 200
        assert ("DNS", name) in cert["subjectAltName"]
        logs = server.compose().run("logs", "caddy", capture=True).stdout
        assert "certificate obtained successfully" in logs
        assert TEST_ACME_CA in logs  # from the configured directory, not another issuer
    finally:
        stacks.stop(server)


@pytest.mark.portable
def test_wrong_host_breaks_uploads(stacks, tmp_path):
    """HOST names a URL clients do not use: the run is created but its files never
    arrive (the user sees upload errors and missing media), as with wandb/local."""
    server = stacks.start("embedded", "off")
    try:
        wrong = stacks.env_values()["WANDB_HOST"]  # a free port nobody listens on
        server.values["WANDB_HOST"] = wrong
        env_text = server.env_file.read_text()
        server.env_file.write_text(
            re.sub(r"^WANDB_HOST=.*$", f"WANDB_HOST='{wrong}'", env_text, flags=re.M)
        )
        server.up()  # recreates wandb with the wrong HOST
        env = sdk_env(server, tmp_path, KIT_FAST_FAIL="1")
        logged = run_sdk("log", "wrong-host", env)
        back = run_sdk("check", logged["path"], env)
        assert back["summary_loss"] == pytest.approx(0.2)  # metadata arrives...
        assert not back["image_ok"]  # ...the image does not
        assert back["image_path"] not in back["files"]
        port = wrong.rsplit(":", 1)[1]
        assert port in logged["debug_log"], "the SDK log names the unreachable upload URL"
    finally:
        stacks.stop(server)


@pytest.mark.portable
def test_bucket_url_only_reachable_inside_breaks_client_uploads(stacks, tmp_path):
    """The classic split-horizon mistake: BUCKET names the internal service. The
    server is healthy, but clients cannot resolve the presigned URLs' host."""
    inside = f"seaweedfs:{free_port(docker_host_address())}"  # its own port, as every stack's
    server = stacks.start("external", "off", WANDB_BUCKET_PUBLIC_URL=f"http://{inside}")
    try:
        assert _ready(server).status_code == 200
        env = sdk_env(server, tmp_path, KIT_FAST_FAIL="1")
        logged = run_sdk("log", "inside-only-bucket", env)
        back = run_sdk("check", logged["path"], env)
        assert not back["image_ok"]
        assert inside in logged["debug_log"]
    finally:
        stacks.stop(server)


def _default_config(storage: str, tls: str, tmp_path) -> dict:
    """`docker compose config` of the default files (no test overlay), as wandb-kit
    init would set them up for a lab server named wandb.lab.test."""
    scheme = settings.bucket_scheme(tls)
    args = argparse.Namespace(
        storage=storage,
        tls=tls,
        host=None,
        bind=None,
        bucket_url=f"{scheme}://wandb.lab.test:8333",
        external_mysql_url=None,
        external_bucket_url=None,
    )
    values = build_values({}, settings.example_values(COMPOSE_DIR), args)
    env = tmp_path / ".env"
    env.write_text(render((COMPOSE_DIR / ".env.example").read_text(), values))
    cmd = ["docker", "compose", "--project-directory", str(COMPOSE_DIR), "--env-file", str(env)]
    for f in settings.compose_files(storage, tls, test=False):
        cmd += ["-f", str(COMPOSE_DIR / f)]
    return yaml.safe_load(
        subprocess.run(cmd + ["config"], capture_output=True, text=True, check=True).stdout
    )


@pytest.mark.portable
@pytest.mark.parametrize("storage,tls", [("embedded", "off"), ("external", "internal")])
def test_default_files_name_only_pinned_upstream_images(storage, tls, tmp_path):
    config = _default_config(storage, tls, tmp_path)
    images = {name: svc["image"] for name, svc in config["services"].items()}
    for name, image in images.items():
        assert not image.startswith("wandb-kit-test/"), f"{name} uses a test image"
        repo, _, tag = image.rpartition(":")
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
    assert images["wandb"].startswith("wandb/local:")
    if storage == "external":
        # Each of these exists in a public registry today (docs/storage.md, "Images").
        assert images["mysql"].startswith("mysql:8.4.")
        assert images["seaweedfs"] == "chrislusf/seaweedfs:4.48"
        assert images["storage-init"] == "amazon/aws-cli:2.35.10"
        # MinIO's images are gone from Docker Hub: none may remain, nor its settings.
        assert not [i for i in images.values() if "minio" in i.lower()]
        env_keys = {k for s in config["services"].values() for k in s.get("environment") or {}}
        assert not [k for k in env_keys if k.upper().startswith("MINIO")], env_keys
    if tls != "off":
        assert images["caddy"].startswith("caddy:2.")
        assert images["caddy-ca"] == images["caddy"]


def _aliases(service: dict) -> list[str]:
    return ((service.get("networks") or {}).get("default") or {}).get("aliases") or []


def _published(service: dict) -> set[str]:
    return {str(p["published"]) for p in service.get("ports") or []}


@pytest.mark.portable
@pytest.mark.parametrize("tls", ["off", "internal"])
def test_bucket_name_belongs_to_the_service_clients_reach(tls, tmp_path):
    """Split horizon: the bucket's one name is an alias of whatever serves it on the
    host's port, MinIO without TLS, Caddy with it; never both."""
    services = _default_config("external", tls, tmp_path)["services"]
    front, other = ("seaweedfs", "caddy") if tls == "off" else ("caddy", "seaweedfs")
    assert "wandb.lab.test" in _aliases(services[front])
    assert "8333" in _published(services[front])
    if other in services:
        assert "wandb.lab.test" not in _aliases(services[other])
        assert "8333" not in _published(services[other])
    # SeaweedFS publishes nothing but (without TLS) its S3 port: master, volume and
    # filer have no S3 authentication.
    assert _published(services["seaweedfs"]) <= {"8333"}
    if tls != "off":
        wandb = services["wandb"]
        assert wandb["depends_on"]["caddy-ca"]["condition"] == "service_completed_successfully"
        assert "wandb" not in services["caddy"].get("depends_on", {})  # no cycle
        assert "/usr/local/share/ca-certificates/wandb-kit" in wandb["environment"]["SSL_CERT_DIR"]
