"""`smoke` on a terminal shows what the large artifact is doing, with bytes and rate;
through a pipe it prints no live display at all."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from tests.sdk.conftest import REPO

pytestmark = pytest.mark.portable


def _argv(standin) -> list[str]:
    return [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", standin.url]


def _env(standin) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, "WANDB_API_KEY": standin.admin_key, "COLUMNS": "160", "TERM": "xterm"}


def test_large_artifact_shows_bytes_and_rate_on_a_terminal(standin):
    master, slave = pty.openpty()
    argv = _argv(standin) + ["--only", "large-artifact", "--large-artifact-mib", "384"]
    proc = subprocess.Popen(
        argv, stdout=slave, stderr=slave, stdin=slave, env=_env(standin), cwd=REPO
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
    assert proc.wait(timeout=600) == 0, out.decode(errors="replace")[-2000:]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))  # no colours
    # Writing the file (random bytes, hashed) takes seconds, many of the display's 2 Hz
    # refreshes, on any machine: its bytes and rate show. The upload is one call with no
    # bytes to report, and lasts as long as the server takes: its phase and size show.
    # Which later phase a refresh catches depends on the server's and the disk's speed (a
    # loaded machine's run once saw the download and its check over between two
    # refreshes): status.Watch's reports while downloading are tested in
    # tests/unit/test_smoke_status.py, without timing.
    assert re.search(r"running: writing \d+\.\d/384\.0 MiB, \d+\.\d MiB/s", text), text[-2000:]
    assert "running: uploading 384.0 MiB" in text, text[-2000:]
    assert "1 passed" in text


def test_no_live_display_through_a_pipe(standin):
    argv = _argv(standin) + ["--only", "large-artifact", "--large-artifact-mib", "4"]
    r = subprocess.run(
        argv, capture_output=True, text=True, env=_env(standin), cwd=REPO, timeout=600
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "running:" not in r.stdout + r.stderr and "MiB/s" not in r.stdout + r.stderr
