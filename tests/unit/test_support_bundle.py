"""`wandb-kit support-bundle` with Docker down (DOCKER_HOST pointing nowhere): the
archive holds what could be gathered, says what could not, and no planted secret."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.stack import settings

from tests.bundle_scan import planted_settings, scan

REPO = settings.default_compose_dir().parent


def test_bundle_with_docker_down_gathers_the_rest_and_leaks_no_secret(tmp_path):
    compose_dir = tmp_path / "compose"
    shutil.copytree(settings.default_compose_dir(), compose_dir)
    planted = planted_settings()
    values = settings.example_values(compose_dir)
    values.update(planted, WANDB_STORAGE="external", COMPOSE_PROJECT_NAME="kit-bundle-down")
    values = settings.derive(settings.generate_secrets(values))
    # the URLs built from the planted passwords are secrets too
    assert planted["MYSQL_PASSWORD"] in values["WANDB_MYSQL_URL"]
    write_private(compose_dir / ".env", render((compose_dir / ".env.example").read_text(), values))
    out = tmp_path / "bundle.tar.gz"
    env = {**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wandb_local_kit",
            "support-bundle",
            "--compose-dir",
            str(compose_dir),
        ]
        + ["--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    names, found = scan(out, list(planted.values()) + [values["WANDB_MYSQL_URL"]])
    assert found == {}, f"secrets in the bundle: {found}"
    for name in ("versions.json", "host.json", "env.redacted", "preflight.json"):
        assert name in names
    for name in ("health.json", "doctor.json", "gathered.json", "README.txt"):
        assert name in names
    with tarfile.open(out) as tar:
        read = lambda n: tar.extractfile(f"bundle/{n}").read().decode()  # noqa: E731
        gathered = json.loads(read("gathered.json"))
        env_text = read("env.redacted")
        versions = json.loads(read("versions.json"))
    assert gathered["services"].startswith("not gathered")  # and says why
    if shutil.which("docker"):  # `compose config` needs no engine: the rendered config
        assert "compose-config.yaml" in names, gathered
    assert "WANDB_STORAGE=external" in env_text and "MYSQL_PASSWORD=<redacted>" in env_text
    assert versions["kit"] and "not available" in str(versions["docker"])


def test_size_cap_keeps_the_end_of_a_log_and_says_what_was_left_out(tmp_path):
    from wandb_local_kit.ops.support_bundle import Bundle

    b = Bundle(values={}, limit=64 * 1024)
    b.add("logs/wandb.log", "".join(f"line {i}\n" for i in range(20000)))  # ~160 KB
    b.add("logs/mysql.log", "x" * 1000)  # no room left
    out = tmp_path / "capped.tar.gz"
    b.write(out)
    with tarfile.open(out) as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert sum(len(v) for k, v in files.items() if k.startswith("logs/")) <= 64 * 1024
    log = files["logs/wandb.log"].decode()
    assert log.startswith("[... cut at the bundle's size cap ...]") and "line 19999" in log
    assert "logs/mysql.log" not in files
    assert "size cap" in json.loads(files["gathered.json"])["logs/mysql.log"]
    assert "README.txt" in files
