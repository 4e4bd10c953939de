"""The smoke suite's child processes: a check that hangs fails in bounded time saying
where it waited, and nothing a check started outlives it.

The SDK's wandb-core service inherits its caller's stdout/stderr, runs in a session of
its own and may outlive the caller; `lingerer` below behaves the same way."""

from __future__ import annotations

import socket
import sys
import textwrap
import time

import psutil
import pytest
from wandb_local_kit.smoke import processes, runner
from wandb_local_kit.smoke.context import CheckFailed, SmokeContext
from wandb_local_kit.smoke.registry import BY_NAME

# Starts a grandchild like wandb-core (own session, our stdout), records its pid,
# then does what `then` says.
CHILD = textwrap.dedent(
    """
    import subprocess, sys, time, os
    from wandb_local_kit.smoke import processes
    g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True)
    open("grandchild.pid", "w").write(str(g.pid))
    then = sys.argv[1]
    if then == "result-and-exit":      # leaves the grandchild holding our stdout
        processes.write_result({"ok": 1}); sys.exit(0)
    if then == "result-and-exit-now":  # how workers and actors end
        processes.write_result({"ok": 2}); processes.exit_now()
    if then == "raise":                 # a child whose work failed
        def produce(ctx):
            raise ValueError("the server said no")
        processes.run_as_child(produce)
    time.sleep(120)                     # "hang"
    """
)


def ctx_for(tmp_path, url="http://127.0.0.1:9") -> SmokeContext:
    return SmokeContext(
        base_url=url, api_key="local-" + "0" * 40, project="p", tag="t", workdir=str(tmp_path)
    )


def start(tmp_path, then: str) -> processes.Child:
    return processes.spawn(
        [sys.executable, "-c", CHILD, then],
        what="test child",
        workdir=str(tmp_path),
        name="child",
        env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[2])},
        ctx=ctx_for(tmp_path),
    )


def grandchild(tmp_path) -> int:
    for _ in range(100):
        try:
            return int((tmp_path / "grandchild.pid").read_text())
        except (FileNotFoundError, ValueError):
            time.sleep(0.1)
    raise AssertionError("the child never started its grandchild")


def gone(pid: int, wait: float = 10) -> bool:
    """True once pid has ended (a zombie waiting for its reaper counts as ended)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_result_returns_when_the_child_exits_though_its_service_holds_the_output(tmp_path):
    child = start(tmp_path, "result-and-exit")
    started = time.monotonic()
    assert processes.result(child, timeout=60) == {"ok": 1}
    assert time.monotonic() - started < 30  # not the grandchild's 120 s
    lingerer = grandchild(tmp_path)
    assert not gone(lingerer, wait=0)  # it really was still there, holding the log open
    psutil.Process(lingerer).kill()


def test_exit_now_ends_what_the_child_started(tmp_path):
    child = start(tmp_path, "result-and-exit-now")
    assert processes.result(child, timeout=60) == {"ok": 2}
    assert gone(grandchild(tmp_path))


def test_a_child_that_raises_fails_with_its_traceback_and_ends_what_it_started(tmp_path):
    child = start(tmp_path, "raise")
    with pytest.raises(
        CheckFailed, match=r"(?s)test child failed \(exit 1\).*ValueError: the server"
    ):
        processes.result(child, timeout=60)
    assert gone(grandchild(tmp_path))


def test_a_hanging_child_is_ended_with_everything_it_started(tmp_path):
    child = start(tmp_path, "hang")
    lingerer = grandchild(tmp_path)
    with pytest.raises(CheckFailed, match=r"test child did not finish within 2 s"):
        processes.result(child, timeout=2)
    assert child.proc.poll() is not None
    assert gone(lingerer)


@pytest.fixture
def black_hole():
    """A server that accepts connections and never answers, like a stalled proxy."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_a_check_that_hangs_fails_at_the_limit_showing_where_it_waited(tmp_path, black_hole):
    started = time.monotonic()
    result = runner.run_one(BY_NAME["transport"], ctx_for(tmp_path, black_hole), timeout=20)
    assert time.monotonic() - started < 60
    assert result.status == "failed"
    assert result.detail.startswith("check transport did not finish within 20 s")
    # The worker's stack dump, taken before the limit, names the line it waited on.
    assert "transport.py" in result.detail and "run_transport" in result.detail


def test_a_child_gets_its_own_sdk_service_not_the_callers(tmp_path, monkeypatch):
    # What wandb.sweep()/wandb.Api() leave in the caller's environment.
    monkeypatch.setenv("WANDB_SERVICE", "3-1-unix-/tmp/wandb-1-2-3/socket")
    child = processes.spawn(
        [sys.executable, "-c", "import os; print(os.environ.get('WANDB_SERVICE'))"],
        what="test child",
        workdir=str(tmp_path),
        name="env",
    )
    assert processes.wait(child, timeout=30) == 0
    assert child.log_tail() == "None"
