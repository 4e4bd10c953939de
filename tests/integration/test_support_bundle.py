"""`wandb-kit support-bundle` on real stacks (embedded, external, TLS): known secrets are
planted in the settings (database and storage passwords, the admin API key, the
license) and in every service's log (a presigned URL's signature, another API key, a
TLS private key); the archive is scanned, file by file, for each of them. Then the
stack is stopped and the bundle still comes, with what could be gathered."""

from __future__ import annotations

import json
import subprocess
import tarfile

import pytest

from tests.bundle_scan import log_lines, planted_log_secrets, planted_settings, scan
from tests.integration.helpers import kit

pytestmark = pytest.mark.portable


def plant_in_logs(server, text: str) -> list[str]:
    """Writes `text` to each running service's log (its PID 1's stdout, which is what
    `docker logs` shows); returns the services where that worked."""
    planted = []
    for s in server.compose().services():
        if s.get("State") != "running":
            continue
        cmd = server.compose().command("exec", "-T", s["Service"], "sh", "-c", "cat >/proc/1/fd/1")
        r = subprocess.run(cmd, input=text, capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            planted.append(s["Service"])
    return planted


def bundle(server, tmp_path, name: str):
    out = tmp_path / name
    result = kit(server, "support-bundle", "--output", str(out), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def read(archive, name: str) -> str:
    with tarfile.open(archive) as tar:
        root = tar.getmembers()[0].name.split("/")[0]
        return tar.extractfile(f"{root}/{name}").read().decode()


@pytest.mark.slow
@pytest.mark.parametrize(
    "storage,tls", [("embedded", "off"), ("external", "off"), ("embedded", "internal")]
)
def test_bundle_holds_the_stack_and_none_of_its_secrets(stacks, tmp_path, storage, tls):
    planted = planted_settings()
    server = stacks.start(storage, tls, **planted)
    try:
        in_logs = planted_log_secrets()
        services_planted = plant_in_logs(server, log_lines(in_logs))
        assert "wandb" in services_planted, services_planted
        secrets = [*planted.values(), *in_logs.values()]
        secrets += [server.values[k] for k in ("WANDB_MYSQL_URL", "WANDB_BUCKET_URL")]
        secrets = [s for s in secrets if s]

        out = bundle(server, tmp_path, "bundle.tar.gz")
        names, found = scan(out, secrets)
        assert found == {}, f"planted secrets in the bundle: {found}"

        for name in ("versions.json", "host.json", "env.redacted", "compose-config.yaml"):
            assert name in names
        for name in ("services.json", "preflight.json", "health.json", "doctor.json"):
            assert name in names
        for service in services_planted:
            log = read(out, f"logs/{service}.log")
            # the planted lines reached the bundle, redacted (else the scan proved nothing)
            assert "X-Amz-Signature=<redacted>" in log, service
            assert "-----BEGIN PRIVATE KEY-----<redacted>" in log, service
        services = {s["Service"]: s for s in json.loads(read(out, "services.json"))}
        assert services["wandb"]["State"] == "running"
        assert services["wandb"]["Health"] == "healthy"
        assert services["wandb"]["restart_count"] == 0
        if tls != "off":
            assert "caddy" in services
        versions = json.loads(read(out, "versions.json"))
        assert versions["docker"]["Server"]["Version"] and versions["compose"]
        if tls == "off":  # (with TLS, health does not trust the test CA: no versions)
            assert versions["server"]["server_version"], versions
        health = json.loads(read(out, "health.json"))
        assert health["report"]["layers"], health  # the report itself, parsed
        if tls == "off":  # (with TLS the test's CA is not where `health` looks for it)
            assert health["exit_code"] in (0, 1), health
        gathered = json.loads(read(out, "gathered.json"))
        assert all(v == "ok" for v in gathered.values()), gathered

        if storage == "embedded" and tls == "off":
            server.down()  # the stack stopped, Docker still up
            stopped = bundle(server, tmp_path, "stopped.tar.gz")
            names, found = scan(stopped, secrets)
            assert found == {}, f"planted secrets in the bundle: {found}"
            assert json.loads(read(stopped, "health.json"))["exit_code"] == 3  # unreachable
            assert "compose-config.yaml" in names and "env.redacted" in names
    finally:
        stacks.stop(server)
