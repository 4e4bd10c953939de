"""Surviving faults (issue #8): the server or its database dies while a run logs;
the restart policy brings it back, the SDK retries, and no step is lost."""

from __future__ import annotations

import json
import os
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
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "steps", "faults", str(STEPS), str(PAUSE)],
        env=sdk_env(server, tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = proc.stdout.readline()
    assert started.startswith("KIT-STARTED "), started + proc.stderr.read()
    return proc, started.split()[1]


def _finish(proc) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"the SDK run did not finish: {err[-2000:]}"
    line = [x for x in out.splitlines() if x.startswith("KIT-RESULT ")][0]
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


pytestmark = pytest.mark.slow
