"""Interrupted operations (issue #25 item 3): Ctrl-C, SIGTERM or a lost terminal during
backup's final pass leaves the server running, or names the one command that starts it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wandb_local_kit.ops import backup


class _Compose:
    """Records compose calls; `interrupt_on` raises KeyboardInterrupt like Ctrl-C."""

    def __init__(self, interrupt_on: str = "", fail_up: bool = False):
        self.calls: list[str] = []
        self.interrupt_on = interrupt_on
        self.fail_up = fail_up

    def run(self, *args, **kw):
        self.calls.append(args[0])
        if args[0] == self.interrupt_on or (args[0] == "up" and self.fail_up):
            raise KeyboardInterrupt


class _Stack:
    def __init__(self, compose):
        self.compose = compose
        self.env_file = Path("/srv/lab/.env")


@pytest.mark.parametrize("where", ["stop", "final pass"])
def test_ctrl_c_in_the_final_pass_starts_wandb_again(monkeypatch, tmp_path, where):
    compose = _Compose(interrupt_on="stop" if where == "stop" else "")

    def volume_tool(stack, volume, mount, script, **kw):
        if script == backup.TAR_CHANGES:
            raise KeyboardInterrupt  # Ctrl-C while the second tar runs

    monkeypatch.setattr(backup, "_volume_tool", volume_tool)
    with pytest.raises(KeyboardInterrupt):
        backup._backup_embedded(_Stack(compose), "vol", 1, tmp_path, log=lambda m: None)
    assert compose.calls == ["stop", "up"]  # stopped (or maybe stopped), then started


def test_when_wandb_cannot_be_started_again_the_command_is_named(monkeypatch, tmp_path):
    compose = _Compose(interrupt_on="stop", fail_up=True)  # Ctrl-C pressed twice
    monkeypatch.setattr(backup, "_volume_tool", lambda *a, **k: "")
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        backup._backup_embedded(_Stack(compose), "vol", 1, tmp_path, log=said.append)
    assert any("wandb-kit up --env-file /srv/lab/.env" in line for line in said)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_a_lost_terminal_run_the_clean_up_like_ctrl_c(tmp_path, sig):
    # A command that is busy in an operation (its `finally` is the clean-up) gets SIGTERM.
    marker = tmp_path / "cleaned"
    code = textwrap.dedent(
        f"""
        import sys, time
        import wandb_local_kit.commands.stack as stack

        def status(args):
            try:
                print("busy", flush=True)
                time.sleep(60)
            finally:
                open({str(marker)!r}, "w").write("yes")

        stack.status = status
        from wandb_local_kit import cli
        sys.argv = ["wandb-kit", "status"]
        sys.exit(cli.main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "busy"
    time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert marker.read_text() == "yes"
