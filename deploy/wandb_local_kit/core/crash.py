"""An unexpected error, reported without a raw traceback.

A bug in the kit must not greet the user with a page of Python: the CLI prints one
line naming the error, writes the full trace to a private file, and says how to
report it (`wandb-kit support-bundle` plus that file). Exit 70 (EX_SOFTWARE).
Standard library only (the CLI imports it at start-up).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_INTERNAL
from wandb_local_kit.core.redact import redact


def trace_dir() -> Path:
    """Where traces go: $WANDB_KIT_CRASH_DIR, else the system's temporary folder (always
    writable, unlike the kit's home, which may itself be what is broken)."""
    return Path(os.environ.get("WANDB_KIT_CRASH_DIR") or tempfile.gettempdir())


def write_trace(err: BaseException, argv: list[str]) -> Path | None:
    """The full trace in a new file only this user can read; None if it cannot be written.
    Secrets the redaction knows by shape are masked even there (the file gets attached
    to issue reports)."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    body = redact(f"wandb-kit {' '.join(argv)}\n\n{text}")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = trace_dir() / f"wandb-kit-crash-{stamp}-{os.getpid()}.txt"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
    except OSError:
        return None
    return path


def report(err: BaseException, argv: list[str]) -> int:
    """Print the one-line report of an unexpected error and return exit code 70."""
    path = write_trace(err, argv)
    where = f"full trace in {path}" if path else "the full trace could not be written"
    name = type(err).__name__
    message = redact(str(err)).splitlines()[0][:300] if str(err) else ""
    print(
        f"internal error (a bug in wandb-kit): {name}{': ' + message if message else ''}; "
        f"{where}; report it with the file from `wandb-kit support-bundle` and that trace",
        file=sys.stderr,
    )
    return EXIT_INTERNAL
