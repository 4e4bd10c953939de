"""Runs a child process for a test so that it can neither hang the test unseen nor
hold it after it has ended.

- stdout and stderr go to files, not pipes: the SDK's wandb-core inherits its parent's
  stdout, and a test reading a pipe to EOF would wait for that grandchild as well;
- every Python child gets PYTHONFAULTHANDLER=1 and a watchdog (KIT_CHILD_WATCHDOG_S,
  read by tests/integration/sdk_exit.py) that prints its threads' stacks shortly before
  the timeout;
- on timeout the child gets SIGABRT first (faulthandler prints where every thread
  waited), and the test fails with that stack;
- the child's process group is killed once it has ended (or timed out).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

ABORT_GRACE_S = 5.0


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run(
    cmd: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Like subprocess.run(capture_output=True, text=True, timeout=...), except as above:
    a timeout is an AssertionError that shows the child's output and stacks."""
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("PYTHONFAULTHANDLER", "1")
    if timeout > 30:
        full_env.setdefault("KIT_CHILD_WATCHDOG_S", str(int(timeout - 15)))
    with (
        tempfile.TemporaryFile("w+", errors="replace") as out,
        tempfile.TemporaryFile("w+", errors="replace") as err,
    ):
        proc = subprocess.Popen(
            cmd,
            env=full_env,
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,  # its whole group can be killed on timeout
        )
        if input is not None:
            proc.stdin.write(input)
            proc.stdin.close()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            try:
                proc.wait(timeout=ABORT_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the child left behind in its group (a timed-out child, or a helper
        # it did not wait for) ends with it: no process outlives its test.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if timed_out:
        raise AssertionError(
            f"{cmd[:4]} did not exit within {timeout:.0f} s (ended with SIGABRT, then "
            f"SIGKILL).\n--- stdout:\n{_tail(stdout)}\n--- stderr (stacks):\n{_tail(stderr)}"
        )
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


SDK_EXIT = Path(__file__).resolve().parent / "integration" / "sdk_exit.py"


def sdk_code(code: str) -> str:
    """`python -c` code that uses the SDK, armed with the watchdog and ended by
    sdk_exit.exit_after_report() once it ran to its end (an exception still exits 1)."""
    load = f"__import__('runpy').run_path({str(SDK_EXIT)!r})"
    return f"{load}['arm_watchdog']()\n{code}\n{load}['exit_after_report']()\n"
