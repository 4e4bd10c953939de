"""Child processes of the smoke suite and the benchmark: the worker that runs each check,
the actors some checks start (group members, sweep agents, concurrent runs), the
benchmark's runs, and `wandb sync`.

A child writes its output to a log file and its result to a JSON file, never to a pipe:
the SDK starts its wandb-core service with the caller's stdout/stderr, and that service
may outlive the caller while it retries uploads to a failing server. Whoever read the
pipe would wait for the service too; waiting for the child's own exit does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wandb_local_kit.smoke.context import CheckFailed, SmokeContext

LOG_TAIL_CHARS = 1500
GRACE_S = 5


@dataclass
class Child:
    proc: subprocess.Popen
    what: str  # names the child in messages: "grid agent", "`wandb sync`"
    log_path: Path
    result_path: Path

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip()
        except OSError:
            return ""
        return text[-chars:]


def spawn(
    argv: list[str], what: str, workdir: str, name: str, env=None, ctx: SmokeContext | None = None
) -> Child:
    """Starts argv in workdir with output to `<name>.log`. A kit child (worker, actor)
    reads its context from SMOKE_CONTEXT (the environment, not argv: it holds the API key,
    and argv is public in `ps`) and writes its result to the file named by SMOKE_RESULT.
    Same process group as the caller, so a Ctrl-C on `wandb-kit smoke` reaches them all."""
    log_path = Path(workdir, f"{name}.log")
    result_path = Path(workdir, f"{name}.result.json")
    env = dict(os.environ if env is None else env)
    # The SDK records its service here once a process has used it (wandb.sweep, wandb.Api
    # do), and children inherit it: agents would then share the worker's wandb-core and a
    # worker ending early would take it from them mid-run. A child is a separate SDK
    # process with its own service, as a launcher's processes on other nodes would be.
    env.pop("WANDB_SERVICE", None)
    if ctx is not None:
        env.update(SMOKE_CONTEXT=ctx.to_json(), SMOKE_RESULT=str(result_path))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )
    return Child(proc, what, log_path, result_path)


def end_tree(pid: int, include_self: bool = True) -> None:
    """Ends a process and everything it started (actors, agents, wandb-core services,
    which run in sessions of their own): SIGTERM, then SIGKILL after a grace period."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + ([root] if include_self else [])
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=GRACE_S)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=GRACE_S)


def wait(child: Child, timeout: float) -> int:
    """The child's exit code; past the timeout it is ended and the check fails, with the
    end of its log (a worker dumps its threads' stacks there before its time is up)."""
    try:
        return child.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_tree(child.proc.pid)
        child.proc.wait()
        raise CheckFailed(
            f"{child.what} did not finish within {timeout:.0f} s; its log ends: {child.log_tail()}"
        )


def result(child: Child, timeout: float) -> dict:
    """Waits for a kit child and returns the result it wrote."""
    code = wait(child, timeout)
    try:
        return json.loads(child.result_path.read_text())
    except (OSError, ValueError):
        raise CheckFailed(f"{child.what} failed (exit {code}): {child.log_tail(600)}")


def context() -> SmokeContext:
    """A kit child's context, as spawn() passed it."""
    return SmokeContext.from_json(os.environ["SMOKE_CONTEXT"])


def write_result(data: dict) -> None:
    """A kit child's last act: its result, written whole (rename) so a reader never
    sees half of it."""
    path = os.environ["SMOKE_RESULT"]
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def exit_now(code: int = 0) -> None:
    """Ends this kit child once its result is written: its own children first (agents a
    failed check left behind, the SDK's service), then itself without the SDK's exit
    hooks, which would wait for uploads a failing server keeps refusing."""
    end_tree(os.getpid(), include_self=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_as_child(produce: Callable[[SmokeContext], dict]) -> None:
    """A kit child's whole life: produce its result from the context spawn() passed,
    write it, and end as exit_now() does, also when produce() raised (the traceback goes
    to the log; exit 1)."""
    code = 0
    try:
        write_result(produce(context()))
    except BaseException:
        traceback.print_exc()
        code = 1
    exit_now(code)


_actor_count = 0


def start_actor(ctx: SmokeContext, actor: str, *args: str) -> Child:
    global _actor_count
    _actor_count += 1
    name = f"actor-{_actor_count}-{actor}"
    return spawn(
        [sys.executable, "-m", "wandb_local_kit.smoke.actors", actor, *args],
        what=f"{actor} actor",
        workdir=ctx.workdir,
        name=name,
        ctx=ctx,
    )


def collect(child: Child, what: str, timeout: float = 600) -> dict:
    child.what = what
    return result(child, timeout)
