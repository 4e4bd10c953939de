"""`status` reports a service that has exited: a stopped W&B server is down
even when it exited with code 0 (Ctrl-C during backup's final pass left it so and `status`
said all was well); only the one-shot jobs of the compose files may have exited 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from wandb_local_kit.commands.stack import ONE_SHOT_SERVICES
from wandb_local_kit.stack import settings

COMPOSE_DIR = settings.default_compose_dir()


def _docker_with(bin_dir: Path, services: list[dict]) -> None:
    """A `docker` whose compose has exactly these containers (the JSON lines of ps)."""
    bin_dir.mkdir()
    (bin_dir / "ps.json").write_text("".join(json.dumps(s) + "\n" for s in services))
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/sh\ncase "$*" in *" ps "*) cat {bin_dir / "ps.json"};; esac\n')
    script.chmod(0o755)


def _status(tmp_path: Path, services: list[dict]) -> subprocess.CompletedProcess:
    _docker_with(tmp_path / "bin", services)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    env.update(HOME=str(tmp_path), PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}")
    subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "init", "--env-file", str(tmp_path / ".env")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "status", "--env-file", str(tmp_path / ".env")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _svc(name, state, status, health=""):
    return {"Service": name, "State": state, "Status": status, "Health": health}


def test_a_server_that_exited_with_code_0_is_reported_down(tmp_path):
    result = _status(tmp_path, [_svc("wandb", "exited", "Exited (0) 2 minutes ago")])
    assert result.returncode == 1, result.stdout
    assert "the wandb service is not running (Exited (0) 2 minutes ago)" in result.stdout
    assert "wandb-kit up" in result.stdout and "wandb-kit logs wandb" in result.stdout


def test_a_finished_one_shot_job_beside_a_healthy_server_is_fine(tmp_path):
    services = [
        _svc("wandb", "running", "Up 5 minutes (healthy)", "healthy"),
        _svc("storage-init", "exited", "Exited (0) 5 minutes ago"),
    ]
    result = _status(tmp_path, services)
    assert result.returncode == 0, result.stdout
    assert "not running" not in result.stdout


class _ComposeLoader(yaml.SafeLoader):
    """Compose's own tags (!reset, !override) read as plain values."""


_ComposeLoader.add_multi_constructor("!", lambda loader, tag, node: None)


def test_the_one_shot_list_is_the_compose_files_restart_no_services():
    one_shot = set()
    for path in COMPOSE_DIR.glob("*.yaml"):
        doc = yaml.load(path.read_text(), Loader=_ComposeLoader) or {}  # noqa: S506
        for name, service in (doc.get("services") or {}).items():
            if str((service or {}).get("restart", "")) in ("no", "False"):
                one_shot.add(name)
    assert one_shot == set(ONE_SHOT_SERVICES)
