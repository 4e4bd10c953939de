"""Smoke notices a vanished server: the watchdog names the server,
ends the running checks' processes at once instead of letting each wait out its
10-minute timeout, and leaves a server that answers (even with an error) alone."""

from __future__ import annotations

import subprocess
import time
from types import SimpleNamespace

from wandb_local_kit.smoke.watchdog import POLL_S, VANISHED_AFTER_S, Watchdog

from tests.fakewandb import Behaviour, FakeWandb


def _check_process():
    """Stands for a check's worker, stuck waiting on the server."""
    return SimpleNamespace(proc=subprocess.Popen(["sleep", "600"]))


def test_a_vanished_server_is_named_and_the_running_checks_are_ended():
    server = FakeWandb().start()
    child = _check_process()
    try:
        with Watchdog(server.url, poll_s=0.1, vanished_after_s=0.5) as dog:
            dog.watch(child)
            time.sleep(0.5)
            assert not dog.vanished  # alive: nothing happens
            server.close()  # the server vanishes
            child.proc.wait(timeout=10)  # ended by the watchdog, not by its timeout
        assert server.url in dog.vanished
        assert "stopped answering" in dog.vanished and "checks were stopped" in dog.vanished
    finally:
        if child.proc.poll() is None:
            child.proc.kill()


def test_a_server_that_answers_with_an_error_has_not_vanished():
    server = FakeWandb(Behaviour(healthz=503)).start()
    child = _check_process()
    try:
        with Watchdog(server.url, poll_s=0.1, vanished_after_s=0.5) as dog:
            dog.watch(child)
            time.sleep(1.5)
        assert not dog.vanished
        assert child.proc.poll() is None
    finally:
        child.proc.kill()
        server.close()


def test_the_default_notices_within_a_minute():
    # Silent for VANISHED_AFTER_S, found at the next poll, each poll's probe bounded.
    assert VANISHED_AFTER_S + POLL_S + min(10.0, POLL_S * 2) <= 60
