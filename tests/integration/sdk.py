"""Runs tests/integration/sdk_roundtrip.py against a live stack, in a subprocess."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests import childproc

SCRIPT = Path(__file__).with_name("sdk_roundtrip.py")


def sdk_env(server, tmp: Path, **extra: str) -> dict[str, str]:
    """A clean SDK environment: nothing from the user's home or settings leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    for d in ("home", "config", "cache", "data", "runs"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(tmp / "home"),
        NETRC=str(tmp / "home" / ".netrc"),
        WANDB_CONFIG_DIR=str(tmp / "config"),
        WANDB_CACHE_DIR=str(tmp / "cache"),
        WANDB_DATA_DIR=str(tmp / "data"),
        WANDB_DIR=str(tmp / "runs"),
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
        KIT_TMP=str(tmp),
        **server.sdk_env(),
    )
    env.update(extra)
    return env


def run_sdk(action: str, arg: str, env: dict[str, str], timeout: float = 240) -> dict:
    result = childproc.run([sys.executable, str(SCRIPT), action, arg], env=env, timeout=timeout)
    for line in result.stdout.splitlines():
        if line.startswith("KIT-RESULT "):
            return json.loads(line[len("KIT-RESULT ") :])
    raise AssertionError(
        f"sdk_roundtrip {action} failed (exit {result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def log_and_check(server, tmp: Path, project: str = "kit-stack") -> tuple[dict, dict]:
    env = sdk_env(server, tmp)
    logged = run_sdk("log", project, env)
    return logged, run_sdk("check", logged["path"], env)


SNAPSHOT = Path(__file__).with_name("snapshot.py")


def snapshot(env: dict[str, str], project_path: str) -> dict:
    """Everything the server holds for the project (see snapshot.py)."""
    result = childproc.run([sys.executable, str(SNAPSHOT), project_path], env=env, timeout=600)
    for line in result.stdout.splitlines():
        if line.startswith("KIT-SNAPSHOT "):
            return json.loads(line[len("KIT-SNAPSHOT ") :])
    raise AssertionError(f"snapshot failed (exit {result.returncode}): {result.stderr[-3000:]}")


def smoke(server, env: dict[str, str], *args: str, timeout: float = 900):
    """Runs `wandb-kit smoke` against a live stack; returns the CompletedProcess."""
    return childproc.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", server.base_url, *args],
        env=env,
        timeout=timeout,
    )
