"""`smoke` output in a pipe keeps long lines whole (issue #25): rich wrapped them at 80
columns when stdout was not a terminal, splitting URLs and check descriptions."""

from __future__ import annotations

import os
import subprocess
import sys

from wandb_local_kit.smoke.registry import CHECKS


def test_smoke_list_in_a_pipe_is_one_line_per_check():
    # A pipe as a script or CI sees it: no terminal, no COLUMNS to go by.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--list"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(CHECKS)
    for line, check in zip(lines, CHECKS, strict=True):
        assert line.split()[0] == check.name
        assert line.rstrip().endswith(check.covers.rstrip())
