"""The first run on a host without the server image: `wandb-kit up` names the way out
(bundle load on an offline host, WANDB_IMAGE for a mirror, the stand-ins to try the
kit) instead of Docker's raw pull error, and starts nothing."""

from __future__ import annotations

import subprocess

import pytest
from wandb_local_kit.core.envfile import render, write_private

from tests.integration.helpers import kit

pytestmark = pytest.mark.portable


class _Server:
    def __init__(self, env_file):
        self.env_file = env_file


def test_up_without_the_server_image_says_what_to_do(stacks, tmp_path):
    values = stacks.env_values("embedded", "off", WANDB_IMAGE="kit-test-absent/wandb-local:0.0.1")
    env_file = tmp_path / "first-run.env"
    write_private(env_file, render((stacks.compose_dir / ".env.example").read_text(), values))
    result = kit(_Server(env_file), "up", "--skip-preflight", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot pull kit-test-absent/wandb-local:0.0.1" in result.stderr
    for way_out in ("wandb-kit bundle load", "WANDB_IMAGE", "without the real image"):
        assert way_out in result.stderr
    assert "Traceback" not in result.stderr
    running = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.compose.project={values['COMPOSE_PROJECT_NAME']}",
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert running.strip() == "", "something was started"
