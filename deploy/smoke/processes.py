"""Starting and collecting child processes (actors) for the checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from deploy.smoke.context import CheckFailed, SmokeContext


def start_actor(ctx: SmokeContext, actor: str, *args: str, workdir: str | None = None):
    env = dict(os.environ)
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.smoke.actors", actor, ctx.to_json(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=workdir or ctx.workdir,
    )


def collect(proc: subprocess.Popen, what: str, timeout: float = 600) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise CheckFailed(f"{what} did not finish within {timeout:.0f} s")
    for line in out.splitlines():
        if line.startswith("SMOKE-ACTOR "):
            return json.loads(line[len("SMOKE-ACTOR ") :])
    raise CheckFailed(f"{what} failed (exit {proc.returncode}): {err.strip()[-600:]}")
