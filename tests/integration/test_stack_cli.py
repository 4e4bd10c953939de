"""`wandb-kit up / status / down` on a real stack (stand-in images), and TLS with your
own certificate pair (WANDB_TLS=files)."""

from __future__ import annotations

import subprocess

import pytest
import requests
from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.core.invocation import kit_command

from tests.integration.helpers import certificate_pair, kit
from tests.integration.sdk import log_and_check

pytestmark = pytest.mark.portable


def _env_file(stacks, tmp_path, storage="embedded", tls="off", **overrides):
    """A settings file like `wandb-kit init` writes, selecting the test overlays."""
    values = stacks.env_values(storage, tls, **overrides)
    path = tmp_path / f"{values['COMPOSE_PROJECT_NAME']}.env"
    write_private(path, render((stacks.compose_dir / ".env.example").read_text(), values))
    return values, path


class _Server:
    def __init__(self, values, env_file):
        self.values, self.env_file = values, env_file


def test_up_status_down_through_the_cli(stacks, tmp_path):
    values, env_file = _env_file(stacks, tmp_path)
    server = _Server(values, env_file)
    try:
        up = kit(server, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"W&B is up at {values['WANDB_HOST']}" in up.stdout
        assert f"{values['WANDB_HOST']}/signup" in up.stdout
        assert values["WANDB_ADMIN_API_KEY"] not in up.stdout + up.stderr
        assert requests.get(f"{values['WANDB_HOST']}/ready", timeout=10).status_code == 200

        status = kit(server, "status")
        assert status.returncode == 0 and "healthy" in status.stdout

        refused = kit(server, "down", "--volumes")  # no terminal, no --yes
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert requests.get(f"{values['WANDB_HOST']}/ready", timeout=10).status_code == 200

        down = kit(server, "down")
        assert down.returncode == 0 and "data kept" in down.stdout
        assert kit(server, "status").returncode == 1
        volumes = subprocess.run(
            ["docker", "volume", "ls", "-q"], capture_output=True, text=True
        ).stdout
        assert f"{values['COMPOSE_PROJECT_NAME']}_wandb-data" in volumes

        # A backup of a stack that `down` removed: a clear refusal, not a traceback.
        late = kit(server, "backup", "--dest", str(tmp_path / "late"))
        assert late.returncode == 2, late.stdout + late.stderr
        assert "does not exist" in late.stderr and f"{kit_command()} up" in late.stderr
        assert "Traceback" not in late.stderr and not (tmp_path / "late").exists()

        gone = kit(server, "down", "--volumes", "--yes")
        assert gone.returncode == 0 and "deleted" in gone.stdout
        volumes = subprocess.run(
            ["docker", "volume", "ls", "-q"], capture_output=True, text=True
        ).stdout
        assert f"{values['COMPOSE_PROJECT_NAME']}_wandb-data" not in volumes
    finally:
        kit(server, "down", "--volumes", "--yes")


def test_tls_with_your_own_certificate_pair(stacks, tmp_path):
    certs = tmp_path / "certs"
    trusted = certificate_pair(certs, ["localhost"])
    server = stacks.start("embedded", "files", WANDB_TLS_CERT_DIR=str(certs))
    try:
        server.ca_file = trusted  # clients trust the pair's certificate
        ready = requests.get(f"{server.base_url}/ready", timeout=10, verify=str(server.ca_file))
        assert ready.status_code == 200
        _, back = log_and_check(server, tmp_path / "sdk", project="tls-files")
        assert back["image_ok"], back
        # Without trusting it, clients are refused, as they should be.
        try:
            requests.get(f"{server.base_url}/ready", timeout=10)
            raise AssertionError("an untrusted certificate was accepted")
        except requests.exceptions.SSLError:
            pass
    finally:
        stacks.stop(server)
