"""The bundled object store behind TLS (external storage + `--tls internal`): the whole
smoke suite with --strict, and `health --deep`, through Caddy's https bucket site with
Caddy's own CA trusted. Without TLS the same suite runs in
test_smoke_stack.py; with your own storage in test_bring_your_own.py."""

from __future__ import annotations

import json

import pytest
from wandb_local_kit.smoke.registry import CHECKS

from tests.integration.helpers import kit
from tests.integration.sdk import sdk_env, smoke

pytestmark = pytest.mark.portable


def test_bundled_store_behind_tls_passes_strict_smoke_and_deep_health(stacks, tmp_path):
    server = stacks.start("external", "internal")
    try:
        health = kit(server, "health", "--deep", "--ca-file", str(server.ca_file))
        assert health.returncode == 0, health.stdout + health.stderr
        report = tmp_path / "smoke.json"
        env = sdk_env(server, tmp_path / "sdk")
        ran = smoke(server, env, "--strict", "--json", str(report), "--large-artifact-mib", "16")
        data = json.loads(report.read_text())
        failed = {c["check"]: c["detail"] for c in data["checks"] if c["status"] == "failed"}
        assert ran.returncode == 0, f"failed: {failed}\n{ran.stdout[-3000:]}"
        assert data["summary"]["failed"] == 0 and data["summary"]["skipped"] == 0
        assert sorted(c["check"] for c in data["checks"]) == sorted(c.name for c in CHECKS)
        print(f"external+TLS: smoke --strict wall {data['meta']['wall_seconds']} s")
    finally:
        stacks.stop(server)
