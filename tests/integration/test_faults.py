"""Surviving faults: the server or its database dies while a run logs;
the restart policy brings it back, the SDK retries, and no step is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.integration.sdk import SCRIPT, run_sdk, sdk_env

STEPS, PAUSE = 150, 0.05  # about 8 s of logging


def _container(server, service: str):
    import docker

    client = docker.from_env()
    cid = server.compose().run("ps", "-q", service, capture=True).stdout.split()[0]
    return client.containers.get(cid)


def _start_logging(server, tmp: Path):
    """Starts the slow logging run; its output goes to files (tests/childproc.py says
    why not pipes)."""
    out, err = (tmp / "steps.out").open("w+"), (tmp / "steps.err").open("w+")
    env = sdk_env(server, tmp, PYTHONFAULTHANDLER="1", KIT_CHILD_WATCHDOG_S="580")
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "steps", "faults", str(STEPS), str(PAUSE)],
        env=env,
        stdout=out,
        stderr=err,
        text=True,
        start_new_session=True,
    )
    proc.kit_files = (out, err)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        out.seek(0)
        started = out.readline()
        if started.endswith("\n"):
            assert started.startswith("KIT-STARTED "), started
            return proc, started.split()[1]
        time.sleep(0.2)
    err.seek(0)
    raise AssertionError(f"the SDK run did not start (exit {proc.poll()}): {err.read()[-3000:]}")


def _finish(proc) -> dict:
    out, err = proc.kit_files
    try:
        proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: where every thread waited
        proc.wait(timeout=30)
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    out.close()
    err.close()
    assert proc.returncode == 0, f"the SDK run did not finish: {stderr[-4000:]}"
    line = [x for x in stdout.splitlines() if x.startswith("KIT-RESULT ")][0]
    return json.loads(line[len("KIT-RESULT ") :])


def _wait_healthy(container, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(0.5)
    raise AssertionError(f"{container.name} not healthy again after {timeout} s")


def _assert_every_step(server, tmp: Path, path: str) -> None:
    back = run_sdk("step_values", path, sdk_env(server, tmp / "read"))
    assert back["steps"] == list(range(STEPS)), (
        f"lost steps: {set(range(STEPS)) - set(back['steps'])}"
    )
    assert back["values"] == [s * 3 for s in range(STEPS)]
    assert back["state"] == "finished"


def test_wandb_killed_mid_run_comes_back_and_loses_nothing(stacks, tmp_path):
    server = stacks.start("embedded", "off")
    try:
        proc, path = _start_logging(server, tmp_path)
        time.sleep(2)
        wandb_ctr = _container(server, "wandb")
        restarts = wandb_ctr.attrs["RestartCount"]
        # SIGKILL the server's main process from the host, as the kernel's OOM killer
        # would: a crash, not a `docker stop`, so the restart policy applies.
        os.kill(wandb_ctr.attrs["State"]["Pid"], 9)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            wandb_ctr.reload()
            if wandb_ctr.attrs["RestartCount"] > restarts:
                break
            time.sleep(0.2)
        assert wandb_ctr.attrs["RestartCount"] > restarts, "restart policy did not restart it"
        _wait_healthy(wandb_ctr)
        result = _finish(proc)
        assert result["path"] == path
        _assert_every_step(server, tmp_path, path)
        assert requests.get(f"{server.base_url}/ready", timeout=10).status_code == 200
    finally:
        stacks.stop(server)


def test_database_restarted_mid_run_loses_nothing(stacks, tmp_path):
    server = stacks.start("external", "off")
    try:
        proc, path = _start_logging(server, tmp_path)
        time.sleep(2)
        mysql = _container(server, "mysql")
        mysql.restart(timeout=20)
        _wait_healthy(mysql)
        result = _finish(proc)
        assert result["path"] == path
        _assert_every_step(server, tmp_path, path)
    finally:
        stacks.stop(server)


pytestmark = [pytest.mark.slow, pytest.mark.portable]
