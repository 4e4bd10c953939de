"""Interrupted operations: Ctrl-C, SIGTERM or a lost terminal during
backup's final pass leaves the server running, or names the one command that starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wandb_local_kit.ops import backup
from wandb_local_kit.stack import compose as compose_cli
from wandb_local_kit.stack.compose import ONE_OFF_LABEL, Compose


class _Compose:
    """Records compose calls; the first `interrupt_on` call raises KeyboardInterrupt like
    Ctrl-C (and every `up`, with fail_up)."""

    def __init__(self, interrupt_on: str = "", fail_up: bool = False):
        self.calls: list[str] = []
        self.interrupt_on = interrupt_on
        self.fail_up = fail_up

    def run(self, *args, **kw):
        self.calls.append(args[0])
        first = self.calls.count(args[0]) == 1
        if (args[0] == self.interrupt_on and first) or (args[0] == "up" and self.fail_up):
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
    # A `stop` cut short is run again: the engine may still be stopping wandb, and `up`
    # would find it running, return, and see it exit. Then wandb is started.
    assert compose.calls == (["stop", "stop", "up"] if where == "stop" else ["stop", "up"])


def test_when_wandb_cannot_be_started_again_the_command_is_named(monkeypatch, tmp_path):
    compose = _Compose(interrupt_on="stop", fail_up=True)  # Ctrl-C pressed twice
    monkeypatch.setattr(backup, "_volume_tool", lambda *a, **k: "")
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        backup._backup_embedded(_Stack(compose), "vol", 1, tmp_path, log=said.append)
    assert any("wandb-kit up --env-file /srv/lab/.env" in line for line in said)


def _busy_kit(marker: Path, ignored: signal.Signals | None = None) -> subprocess.Popen:
    """A kit command busy in an operation (its `finally` is the clean-up, which writes
    marker), started with `ignored` ignored as nohup leaves SIGHUP for its command."""
    code = textwrap.dedent(
        f"""
        import signal, sys, time
        import wandb_local_kit.commands.stack as stack

        # As a terminal starts it (a background test run passes SIGHUP on ignored),
        # then with `ignored` ignored.
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        if {int(ignored or 0)}:
            signal.signal({int(ignored or 0)}, signal.SIG_IGN)

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
    return proc


def _ends_cleaned_up(proc: subprocess.Popen, marker: Path) -> None:
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert marker.read_text() == "yes"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_a_lost_terminal_run_the_clean_up_like_ctrl_c(tmp_path, sig):
    marker = tmp_path / "cleaned"
    proc = _busy_kit(marker)
    proc.send_signal(sig)
    _ends_cleaned_up(proc, marker)


def test_under_nohup_a_lost_terminal_does_not_stop_the_command(tmp_path):
    # `nohup wandb-kit backup &`, then the terminal closes: the backup goes on.
    marker = tmp_path / "cleaned"
    proc = _busy_kit(marker, ignored=signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert proc.poll() is None and not marker.exists(), "SIGHUP stopped a nohup'd command"
    proc.send_signal(signal.SIGTERM)  # still ends cleanly when asked to
    _ends_cleaned_up(proc, marker)


def test_an_interrupted_one_off_container_is_removed_by_its_name(monkeypatch, tmp_path):
    """A throwaway container carries the project compose really uses (the default one
    when .env names none) in its name and label, and Ctrl-C removes it by that name:
    killing the compose CLI alone would leave it running."""
    started: list[tuple[str, ...]] = []
    removed: list[list[str]] = []

    def ctrl_c_while_running(self, *args, **kw):
        started.append(args)
        raise KeyboardInterrupt

    monkeypatch.setattr(Compose, "run", ctrl_c_while_running)
    monkeypatch.setattr(compose_cli.subprocess, "run", lambda cmd, **kw: removed.append(cmd))
    with pytest.raises(KeyboardInterrupt):
        Compose(tmp_path, tmp_path / ".env").run_once("storage-init", "sh", "-c", "cp")
    args = started[0]
    name = args[args.index("--name") + 1]
    assert name.startswith("wandb-storage-init-run-")
    assert f"{ONE_OFF_LABEL}=wandb" in args
    assert removed == [["docker", "rm", "--force", name]]


def _kit_up_with_docker(tmp_path: Path, on_up: str) -> subprocess.Popen:
    """`wandb-kit up` (its own process group, as a terminal's foreground job) with a
    `docker` on PATH whose `compose ... up` runs the shell code on_up; everything else
    answers nothing (no engine: no image pulls, no preflight with --skip-preflight)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/sh\ncase "$*" in\n  compose*" up "*) {on_up} ;;\nesac\nexit 0\n')
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    env.update(HOME=str(tmp_path), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    env_file = str(tmp_path / ".env")
    kit = [sys.executable, "-m", "wandb_local_kit"]
    subprocess.run([*kit, "init", "--env-file", env_file], env=env, check=True, capture_output=True)
    return subprocess.Popen(
        [*kit, "up", "--skip-preflight", "--env-file", env_file],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal,
    )  # fmt: skip


def _ctrl_c_as_in_a_terminal() -> None:
    # A job started in the background of a non-interactive shell (`cmd &` in a script, as
    # some CI runners start the suite) inherits SIGINT ignored, and so would the kit and
    # its fake compose: Ctrl-C then does nothing. A user's terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupted_up(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "failed (exit" not in err and "wandb-kit logs" not in err and "Traceback" not in err
    assert "interrupted" in err and " up --env-file " in err, err
    assert "half started" in err


def test_ctrl_c_during_up_exits_130_and_names_up(tmp_path):
    # compose, as it does on SIGINT, stops what it was doing and exits 130.
    proc = _kit_up_with_docker(
        tmp_path, "trap 'sleep 0.3; exit 130' INT; echo waiting; sleep 30 & wait; wait"
    )
    assert proc.stdout.readline().startswith("starting the stack")
    assert proc.stdout.readline().strip() == "waiting"
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _interrupted_up(proc)


def test_compose_up_ended_by_ctrl_c_is_an_interruption_not_a_failure(tmp_path):
    # The kit may see only compose's exit status (the SIGINT reached compose alone, or
    # compose exited before the kit's own interrupt ran): 130 is Ctrl-C all the same.
    _interrupted_up(_kit_up_with_docker(tmp_path, "exit 130"))
    _interrupted_up(_kit_up_with_docker(tmp_path / "killed", "kill -INT $$"))
