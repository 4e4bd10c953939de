"""Smoke notices a vanished server: the W&B container is stopped while
the checks run; `smoke` names the server, stops the checks and exits 3 within about a
minute, instead of each check waiting out its 10-minute timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.portable


@pytest.fixture
def server(stacks):
    server = stacks.start("embedded", "off")
    yield server
    stacks.stop(server)


def test_smoke_stops_with_exit_3_when_the_server_vanishes(server, docker_client, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["WANDB_API_KEY"] = server.api_key
    report = tmp_path / "smoke.json"
    started = time.monotonic()
    smoke = subprocess.Popen(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", server.base_url,
         "--json", str(report), "--parallel", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        time.sleep(15)  # the checks are running (the reachability check passed)
        (wandb,) = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={server.project}",
                     "name": "wandb-1"}
        )  # fmt: skip
        wandb.stop(timeout=5)
        stopped = time.monotonic()
        out, _ = smoke.communicate(timeout=300)
    finally:
        if smoke.poll() is None:
            smoke.kill()
    ended = time.monotonic()
    assert smoke.returncode == 3, out[-3000:]
    assert f"the server at {server.base_url} stopped answering" in out
    assert "wandb-kit up" in out and "Traceback" not in out
    assert ended - stopped < 120, f"took {ended - stopped:.0f} s after the server stopped"
    assert report.is_file()  # the results so far were written before it ended
    print(f"smoke ended {ended - stopped:.0f} s after the server stopped "
          f"({ended - started:.0f} s in all)")  # fmt: skip
