"""Shared by the migration tests (two stand-in processes, two compose stacks): log the
fixture, run `wandb-kit migrate` as a user would (keys in the environment only), kill it
halfway, and change the target by hand."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import childproc

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("migrate_fixture.py")


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
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
    )
    env.update(extra)
    return env


def log_fixture(url: str, key: str, tmp: Path, project: str, steps: int) -> dict:
    env = clean_env(tmp, WANDB_BASE_URL=url, WANDB_API_KEY=key)
    result = childproc.run(
        [sys.executable, str(FIXTURE), project, str(steps)],
        env=env,
        cwd=ROOT,
        timeout=900,
    )
    for line in result.stdout.splitlines():
        if line.startswith("KIT-FIXTURE "):
            return json.loads(line[len("KIT-FIXTURE ") :])
    raise AssertionError(f"fixture failed ({result.returncode}):\n{result.stderr[-4000:]}")


def migrate_cmd(src: str, dst: str, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "wandb_local_kit",
        "migrate",
        "--from",
        src,
        "--to",
        dst,
        "--state",
        str(state),
        *extra,
    ]


def migrate_env(tmp: Path, src_key: str, dst_key: str) -> dict[str, str]:
    return clean_env(tmp, WANDB_FROM_API_KEY=src_key, WANDB_TO_API_KEY=dst_key)


def migrate(src, dst, state, env, *extra, timeout=1800) -> subprocess.CompletedProcess:
    return childproc.run(
        migrate_cmd(src, dst, state, *extra),
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


@functools.lru_cache(maxsize=8)
def _api(url: str, key: str):
    import wandb

    return wandb.Api(api_key=key, overrides={"base_url": url}, timeout=20)


def rows_on(url: str, key: str, run_path: str) -> int:
    """History rows the server has for the run right now (-1 when it does not exist).
    One Api per server, so a poll is one query and the window mid-copy is not missed."""
    import wandb

    api = _api(url, key)
    api.flush()  # no cached answer: the run as the server has it now
    try:
        run = api.run(run_path)
    except (wandb.errors.CommError, ValueError):
        return -1
    return int(run._attrs.get("historyLineCount") or 0)


def kill_halfway(src, dst, state: Path, env, until, timeout=900) -> dict:
    """Starts a migration in its own session and SIGKILLs the whole session (the CLI, its
    workers and their SDK services) as soon as until(runs in the state file) is true.
    Returns the state file's runs as they were at the kill."""
    log = state.with_suffix(".log").open("w+")
    proc = subprocess.Popen(
        migrate_cmd(src, dst, state, "--concurrency", "1", "--no-verify"),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(
                    f"the migration finished (exit {proc.returncode}) before it could be "
                    f"killed; its output ends:\n{log.read()[-3000:]}"
                )
            try:
                runs = json.loads(state.read_text())["runs"]
            except (OSError, ValueError, KeyError):
                runs = {}
            if until(runs):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return runs
            time.sleep(0.1)
        raise AssertionError("the migration did not get far enough to be killed")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


HAND_EDIT = """
import sys, wandb
api = wandb.Api()
run = api.run(sys.argv[1])
run.summary["best_acc"] = 0.5
run.tags = run.tags + ["edited-by-hand"]
run.update()
print("edited")
"""


def edit_by_hand(url: str, key: str, run_path: str, tmp: Path) -> None:
    env = clean_env(tmp, WANDB_BASE_URL=url, WANDB_API_KEY=key)
    result = childproc.run(
        [sys.executable, "-c", childproc.sdk_code(HAND_EDIT), run_path],
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


COUNT = """
import json, sys, wandb
api = wandb.Api()
entity, project = sys.argv[1].split("/")
try:
    runs = list(api.runs(f"{entity}/{project}"))
except ValueError:  # no such project (yet)
    runs = []
versions = {}
for t in (api.artifact_types(f"{entity}/{project}") if runs else []):
    for c in t.collections():
        versions[c.name] = sorted(a.version for a in c.artifacts())
rows = {r.id: len(list(r.scan_history(keys=["_step"]))) for r in runs}
print("KIT-COUNT " + json.dumps({"runs": [r.id for r in runs], "versions": versions,
      "rows": rows}))
"""


def inventory(url: str, key: str, project_path: str, tmp: Path) -> dict:
    """Run ids, artifact versions per collection and history rows per run: duplicates
    of any kind show up here."""
    env = clean_env(tmp, WANDB_BASE_URL=url, WANDB_API_KEY=key)
    result = childproc.run(
        [sys.executable, "-c", childproc.sdk_code(COUNT), project_path],
        env=env,
        timeout=300,
    )
    for line in result.stdout.splitlines():
        if line.startswith("KIT-COUNT "):
            return json.loads(line[len("KIT-COUNT ") :])
    raise AssertionError(result.stderr[-3000:])


def inventory_entity(url: str, key: str, tmp: Path) -> str:
    """The default entity of the key (the admin's on a kit stack)."""
    env = clean_env(tmp, WANDB_BASE_URL=url, WANDB_API_KEY=key)
    result = childproc.run(
        [
            sys.executable,
            "-c",
            childproc.sdk_code("import wandb; print(wandb.Api().default_entity)"),
        ],
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]
