"""No raw traceback, ever: an error the kit did not expect prints one
line naming it, where the full trace was written and how to report it, and exits 70."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_INTERNAL

# A command whose handler hits a bug: the handler is replaced in the child process only,
# so the CLI's own start-up, parsing and dispatch are the real ones.
CRASHING = """
import sys
import wandb_local_kit.commands.stack as stack

def status(args):
    {}.get("missing")["key"]  # a bug: TypeError deep inside a command

stack.status = status
from wandb_local_kit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), "WANDB_KIT_CRASH_DIR": str(tmp_path)},
    )


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("WANDB_KIT")}


def test_an_unexpected_error_is_one_line_a_trace_file_and_exit_70(tmp_path):
    result = _run(tmp_path, CRASHING, "status", "--compose-dir", str(tmp_path))
    out = result.stdout + result.stderr
    assert result.returncode == EXIT_INTERNAL == 70, out
    assert "Traceback" not in out
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "TypeError" in lines[0]
    assert "support-bundle" in lines[0]
    traces = list(tmp_path.glob("wandb-kit-crash-*.txt"))
    assert len(traces) == 1
    assert str(traces[0]) in lines[0]
    text = traces[0].read_text()
    assert "Traceback" in text and "in status" in text and "TypeError" in text
    assert stat.S_IMODE(traces[0].stat().st_mode) == 0o600  # only this user reads it


def test_a_secret_in_the_error_or_the_command_line_is_not_repeated(tmp_path):
    code = CRASHING.replace(
        '{}.get("missing")["key"]',
        'raise RuntimeError("cannot reach http://admin:hunter2-very-secret@db.lab:3306")',
    )
    result = _run(tmp_path, code, "status", "--compose-dir", "http://u:pw-hunter3@x")
    out = result.stdout + result.stderr
    assert result.returncode == 70
    assert "RuntimeError" in out and "db.lab" in out
    assert "hunter2-very-secret" not in out
    (trace,) = tmp_path.glob("wandb-kit-crash-*.txt")
    assert "hunter2-very-secret" not in trace.read_text()
    assert "pw-hunter3" not in trace.read_text()


def test_when_the_trace_cannot_be_written_the_line_says_so(tmp_path):
    result = _run(tmp_path / "missing", CRASHING, "status")
    # _run points the trace dir at a folder that does not exist
    assert result.returncode == 70
    assert "Traceback" not in result.stderr
    assert "could not be written" in result.stderr
