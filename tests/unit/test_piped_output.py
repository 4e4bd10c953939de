"""`smoke` output in a pipe keeps long lines whole: rich wrapped them at 80
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


def test_the_error_line_comes_after_what_the_command_printed_before_it(tmp_path):
    """`restore` prints that it verified the backup (stdout), then fails on the engine
    (`error:` on stderr). In a log file (`> log 2>&1`) or a pipe stdout is block-buffered,
    and the error used to land first, so `| tail` showed the wrong end."""
    from tests.unit.test_bad_input import UNIT_PROJECT, _backup_dir, _good_manifest, _write_env

    files = {"vol.tar": b"data"}
    backup = _backup_dir(tmp_path, _good_manifest(files), files)
    env = _buffered(
        {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    )
    env.update(WANDB_KIT_HOME=str(tmp_path), DOCKER_HOST="unix:///nonexistent/docker.sock")
    _write_env(tmp_path / ".env", _case())
    assert UNIT_PROJECT in (tmp_path / ".env").read_text()
    with open(tmp_path / "log", "wb") as log:
        result = subprocess.run(
            [sys.executable, "-m", "wandb_local_kit", "restore", str(backup), "--force"],
            env=env, stdout=log, stderr=subprocess.STDOUT, timeout=60,
        )  # fmt: skip
    text = (tmp_path / "log").read_text()
    assert result.returncode != 0 and "error:" in text, text
    assert text.index("verified") < text.index("error:"), text


def _case():
    from tests.unit.test_bad_input import C

    return C("piped", "restore")


def test_the_cli_flushes_stdout_before_it_writes_an_error(tmp_path):
    """The mechanism, for any command: a report on a block-buffered stdout, then a KitError."""
    script = (
        "import sys\n"
        "from wandb_local_kit import cli\n"
        "from wandb_local_kit.core.errors import KitError\n"
        "def run(args):\n"
        "    print('report line')\n"
        "    raise KitError('it failed', fix='the fix')\n"
        "command = cli.Command('status', '', None, run)\n"
        "cli.COMMANDS[:] = [command]; cli.BY_NAME['status'] = command\n"
        "sys.exit(cli.main(['status']))\n"
    )
    with open(tmp_path / "log", "wb") as log:
        code = subprocess.run(
            [sys.executable, "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=60,
            env=_buffered(dict(os.environ)),
        ).returncode
    assert code == 2
    assert (tmp_path / "log").read_text().splitlines()[:2] == ["report line", "error: it failed"]


def _buffered(env: dict[str, str]) -> dict[str, str]:
    """As a user's shell has it: stdout block-buffered into a file or pipe (a test runner's
    PYTHONUNBUFFERED would hide the order a user sees)."""
    env.pop("PYTHONUNBUFFERED", None)
    return env
