"""Progress of long operations (image bundles, backups, restores): a rich progress bar
with bytes done, rate and time left, on stderr. Quiet when stdout is not a terminal
(logs, CI, pipes) or when the command prints JSON, so machine output stays clean.

    with progress.bar("saving images", total_bytes) as advance:
        ...; advance(n)                  # n more bytes done
        advance.to(n)                    # n bytes done in all (a file that grows)

    progress.copy(src, dst, total, "restoring volume")    # stream copy with a bar
    progress.watch_file(path, total, "docker save", proc)  # a child writing a file
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol


class Readable(Protocol):
    """What copy() and feed() read from: a binary file, a pipe, a GzipFile."""

    def read(self, size: int, /) -> bytes: ...


class Writable(Protocol):
    """What copy() writes to: a binary file, a pipe, a GzipFile."""

    def write(self, data: bytes, /) -> object: ...


CHUNK = 4 << 20


def is_quiet(json_output: bool = False) -> bool:
    return json_output or not sys.stdout.isatty()


def _rich_available() -> bool:
    """scripts/backup.py runs without the kit's dependencies: then no bars, no error."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Advance:
    """What a bar's user calls: advance(n) adds n bytes; advance.to(n) sets the total
    done. A quiet bar counts the same and draws nothing."""

    def __init__(self, bar=None, task=None) -> None:
        self._bar, self._task, self.done = bar, task, 0

    def __call__(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def to(self, done: int) -> None:
        self.done = done
        if self._bar is not None:
            self._bar.update(self._task, completed=done)


@contextmanager
def bar(description: str, total: int | None, quiet: bool | None = None) -> Iterator[Advance]:
    """A byte progress bar for one operation (total None: size unknown, a spinner)."""
    if (is_quiet() if quiet is None else quiet) or not _rich_available():
        yield Advance()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=False) as p:
        task = p.add_task(description, total=total)
        yield Advance(p, task)


def copy(
    src: Readable, dst: Writable, total: int | None, description: str, quiet: bool | None = None
) -> int:
    """Copies src to dst in chunks, with a bar; returns the bytes copied."""
    with bar(description, total, quiet) as advance:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            advance(len(chunk))
        return advance.done


def watch_file(
    path: Path, total: int | None, description: str, proc, quiet: bool | None = None
) -> int:
    """Shows the growth of `path` while the child process `proc` (a Popen) writes it,
    e.g. `docker save -o`; returns the child's exit code."""
    with bar(description, total, quiet) as advance:
        while proc.poll() is None:
            try:
                advance.to(path.stat().st_size)
            except OSError:  # not created yet
                pass
            time.sleep(0.5)
        if path.exists():
            advance.to(path.stat().st_size)
    return proc.returncode


def feed(cmd: list[str], src: Readable, total: int | None, description: str, cwd=None):
    """Streams src into the stdin of a child process with a bar, and returns (exit
    code, stderr bytes). A child that stops reading (it failed) is no BrokenPipeError:
    its exit code and its own message say why. stderr goes to a file, so a chatty
    child can never block on a full pipe."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err
        )
        assert proc.stdin is not None  # stdin=PIPE
        try:
            copy(src, proc.stdin, total, description)
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        code = proc.wait()
        err.seek(0)
        return code, err.read()
