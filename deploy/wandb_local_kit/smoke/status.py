"""What a running check is doing, for `smoke`'s live display: a check writes
`status.json` into its work directory (phase, bytes done and total, rate); the command
reads it while the check runs. Used by the long one, the large artifact.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

FILE = "status.json"


def write(
    workdir: str,
    phase: str,
    done: int | None = None,
    total: int | None = None,
    started: float | None = None,
) -> None:
    rate = None
    if done is not None and started is not None:
        rate = done / max(time.monotonic() - started, 1e-3)
    tmp = os.path.join(workdir, FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"phase": phase, "done": done, "total": total, "rate": rate}, f)
    os.replace(tmp, os.path.join(workdir, FILE))


def read(workdir: Path) -> dict | None:
    try:
        return json.loads((Path(workdir) / FILE).read_text())
    except (OSError, ValueError):
        return None


def _tree_bytes(paths: list[str]) -> int:
    total = 0
    for root in paths:
        for dirpath, _, files in os.walk(root):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(dirpath, name))
                except OSError:  # a temporary file the SDK just renamed
                    pass
    return total


class Watch:
    """While in the block, reports `phase` with the bytes that appear under `paths`
    (what the SDK writes while it downloads), at most `total`."""

    def __init__(self, workdir: str, phase: str, paths: list[str], total: int) -> None:
        self.workdir, self.phase, self.paths, self.total = workdir, phase, paths, total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            done = min(self.total, max(0, _tree_bytes(self.paths) - self._base))
            write(self.workdir, self.phase, done, self.total, self._started)

    def __enter__(self) -> Watch:
        # What is there already, counted before the block begins: counted in the thread, it
        # would include whatever the block wrote before the thread first ran.
        self._base, self._started = _tree_bytes(self.paths), time.monotonic()
        write(self.workdir, self.phase, 0, self.total)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def describe(status: dict) -> str:
    """`downloading 32.0/64.0 MiB, 45.2 MiB/s` for the live display."""
    text = status.get("phase", "")
    done, total, rate = status.get("done"), status.get("total"), status.get("rate")
    if done is not None and total:
        text += f" {done / 2**20:.1f}/{total / 2**20:.1f} MiB"
    elif total:
        text += f" {total / 2**20:.1f} MiB"
    if rate:
        text += f", {rate / 2**20:.1f} MiB/s"
    return text
