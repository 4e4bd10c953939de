"""Small helpers shared by the integration tests."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def publish_on_loopback(container, port: int):
    """Publishes a container port on 127.0.0.1 with an ephemeral host port.

    testcontainers' with_bind_ports takes only a host port, which publishes on every
    interface; the docker SDK underneath accepts (ip, None), so set that directly.
    """
    container.ports[f"{port}/tcp"] = ("127.0.0.1", None)
    return container


def wait_for(check, timeout: float = 60.0, what: str = "service"):
    """Calls check() until it returns without raising; fails with its last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return check()
        except Exception as err:  # not up yet: retry until the deadline
            last = err
            time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout:.0f} s: {last!r}")


def kit(server, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Runs `wandb-kit ARGS` against a test stack's compose dir and env file."""
    from deploy import settings

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy",
            *args,
            "--compose-dir",
            str(settings.default_compose_dir()),
            "--env-file",
            str(server.env_file),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
