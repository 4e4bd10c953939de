"""A child process a test starts ends on its own once it has reported, and a hang
shows where it waited (a read-back once printed KIT-RESULT, then did not exit)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests import childproc

# The SDK's atexit teardown waits for wandb-core with no time limit; this stand-in
# for `wandb` blocks the same way, in a function whose name the stack must show.
HANGING_SDK = """
import sys, threading, types
def wait_for_wandb_core():
    threading.Event().wait()
sys.modules["wandb"] = types.SimpleNamespace(teardown=wait_for_wandb_core)
print("KIT-RESULT {}", flush=True)
"""


def test_a_child_whose_sdk_teardown_hangs_exits_once_it_reported():
    code = HANGING_SDK + (
        f"__import__('runpy').run_path({str(childproc.SDK_EXIT)!r})"
        "['exit_after_report'](grace_s=1)\n"
    )
    started = time.monotonic()
    result = childproc.run([sys.executable, "-c", code], timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 0
    assert result.stdout.strip() == "KIT-RESULT {}"
    assert "did not end within 1 s" in result.stderr
    assert "wait_for_wandb_core" in result.stderr  # where it waited


def test_sdk_code_ends_the_child_after_its_last_line():
    code = childproc.sdk_code(HANGING_SDK)
    env = dict(os.environ, KIT_CHILD_TEARDOWN_GRACE_S="1")
    result = childproc.run([sys.executable, "-c", code], env=env, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "KIT-RESULT {}"
    assert "wait_for_wandb_core" in result.stderr


def test_sdk_code_keeps_a_failing_childs_exit_code():
    result = childproc.run(
        [sys.executable, "-c", childproc.sdk_code("raise SystemExit(3)")], timeout=60
    )
    assert result.returncode == 3


def test_a_grandchild_holding_stdout_does_not_hold_the_test():
    # wandb-core inherits its parent's stdout; reading a pipe to EOF would wait for it.
    code = "import subprocess; subprocess.Popen(['sleep', '60']); print('KIT-RESULT {}')"
    started = time.monotonic()
    result = childproc.run([sys.executable, "-c", code], timeout=50)
    assert time.monotonic() - started < 20
    assert result.stdout.strip() == "KIT-RESULT {}"


def test_a_hung_child_fails_the_test_with_where_it_waited():
    code = "import time\ndef waits_for_the_server():\n    time.sleep(600)\nwaits_for_the_server()\n"
    started = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        childproc.run([sys.executable, "-c", code], timeout=3)
    assert time.monotonic() - started < 30
    message = str(failure.value)
    assert "did not exit within 3 s" in message
    assert "waits_for_the_server" in message
