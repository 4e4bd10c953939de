"""core.progress: a bar with bytes and rate on a terminal, nothing at all otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

CODE = """
import io, sys
from wandb_local_kit.core import progress
src = io.BytesIO(b"x" * (24 << 20))
n = progress.copy(src, io.BytesIO(), 24 << 20, "copying volume")
print("copied", n)
"""


def test_quiet_when_stdout_is_not_a_terminal():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"copied {24 << 20}\n" and r.stderr == ""


def test_bar_with_bytes_and_rate_on_a_terminal():
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE], stdout=slave, stderr=slave, stdin=slave, env=env
    )
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    assert proc.wait(timeout=60) == 0
    text = out.decode(errors="replace")
    assert "copying volume" in text
    assert "25.2/25.2 MB" in text  # bytes done of the total
    assert "B/s" in text  # and the rate
    assert "copied 25165824" in text
