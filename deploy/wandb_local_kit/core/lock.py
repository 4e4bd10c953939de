"""One lock per deployment for the operations that change its state (up, down,
backup, restore, upgrade, the backup timer): two at once could restart wandb on a
half-restored volume, or back up a database while it is being replaced.

An advisory `flock` on a file in the deployment's home: the kernel releases it when
the holder exits, however it exits, so a crash never leaves a stale lock. The file
also records who holds it (operation, pid, start time) for the message the second
caller gets. Standard library only (scripts/backup.py uses it).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_USAGE, KitError
from wandb_local_kit.core.files import flock_within

WAIT_ENV = "WANDB_KIT_LOCK_WAIT"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another wandb-kit operation"
    started = time.strftime("%H:%M:%S", time.localtime(info.get("started", 0)))
    return f"`{info.get('operation', '?')}` (pid {info.get('pid', '?')}, started {started})"


def wait_seconds(default: float = 0.0) -> float:
    """How long to wait for the lock: WANDB_KIT_LOCK_WAIT seconds, else the default."""
    raw = os.environ.get(WAIT_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError:
        raise KitError(
            f"{WAIT_ENV}={raw!r} is not a number of seconds",
            fix=f"set {WAIT_ENV} to e.g. 600, or unset it",
        )


@contextmanager
def hold(path: Path, operation: str, wait_s: float = 0.0) -> Iterator[None]:
    """Holds the lock file at path for `operation`; waits up to wait_s for another
    holder to finish, then refuses (exit 2) naming it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:

        def say_waiting() -> None:
            print(f"waiting for {_holder(path)} to finish ...", flush=True)

        if not flock_within(fd, wait_s, poll_s=0.5, on_wait=say_waiting):
            raise KitError(
                f"{_holder(path)} is changing this deployment right now; "
                f"`{operation}` was not started and nothing was changed",
                fix=f"wait for it to finish, then run `{operation}` again "
                f"(or set {WAIT_ENV}=SECONDS to wait for it)",
                exit_code=EXIT_USAGE,
            )
        record = {"operation": operation, "pid": os.getpid(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
