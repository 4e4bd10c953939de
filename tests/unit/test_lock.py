"""Two state-changing operations on one deployment never run at once: the second
waits (WANDB_KIT_LOCK_WAIT) or is refused with exit 2, naming the first, having
changed nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from wandb_local_kit.core import lock
from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack import settings
from wandb_local_kit.stack.deployment import Deployment

from tests.unit.test_bad_input import UNIT_PROJECT

COMPOSE_DIR = settings.default_compose_dir()


@pytest.fixture
def deployment(tmp_path):
    values = settings.build_values({}, settings.example_values(COMPOSE_DIR), {})
    values["COMPOSE_PROJECT_NAME"] = UNIT_PROJECT  # not init's default: see UNIT_PROJECT
    env_file = tmp_path / ".env"
    write_private(env_file, render((COMPOSE_DIR / ".env.example").read_text(), values))
    return Deployment.load(COMPOSE_DIR, env_file)


def _kit(*args, env_file, wait=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    if wait is not None:
        env["WANDB_KIT_LOCK_WAIT"] = str(wait)
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args, "--env-file", str(env_file)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [("up", "--skip-preflight"), ("down",), ("backup",), ("restore", "/nonexistent"),
     ("upgrade", "--to", "9.9.9", "--skip-preflight")],
    ids=lambda c: c[0],
)  # fmt: skip
def test_a_second_operation_is_refused_naming_the_first(deployment, command):
    before = deployment.env_file.read_bytes()
    with deployment.locked("backup"):
        result = _kit(*command, env_file=deployment.env_file)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "`backup`" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert "was not started and nothing was changed" in result.stderr
    assert "WANDB_KIT_LOCK_WAIT" in result.stderr
    assert "Traceback" not in result.stderr
    assert deployment.env_file.read_bytes() == before


def test_a_second_operation_waits_for_the_first_when_asked(deployment):
    held = threading.Event()

    def hold_briefly():
        with deployment.locked("restore"):
            held.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    result = _kit("restore", "/nonexistent", env_file=deployment.env_file, wait=30)
    holder.join()
    # It waited for the lock, then went on to its own (here: failing) work.
    assert "waiting for `restore`" in result.stdout
    assert time.monotonic() - started >= 1.0
    assert "is not a backup directory" in result.stderr


def test_the_lock_is_released_when_its_holder_dies(deployment):
    """A crash (kill -9) never leaves a stale lock: the kernel drops a dead flock."""
    code = (
        "import time, sys; from wandb_local_kit.stack.deployment import Deployment\n"
        f"d = Deployment.load(None, __import__('pathlib').Path({str(deployment.env_file)!r}))\n"
        "with d.locked('backup'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(KitError):
        with deployment.locked("up", wait_s=0):
            pass
    proc.kill()
    proc.wait()
    with deployment.locked("up", wait_s=0):
        pass


def test_lock_wait_must_be_a_number(deployment, monkeypatch):
    monkeypatch.setenv(lock.WAIT_ENV, "soon")
    with pytest.raises(KitError, match="not a number of seconds"):
        with deployment.locked("up"):
            pass
