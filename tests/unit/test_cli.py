"""The `wandb-kit` command: every subcommand listed and runnable, exit codes documented."""

from __future__ import annotations

import subprocess
import sys

from wandb_local_kit import __version__
from wandb_local_kit.cli import COMMANDS

# The subcommands the kit's README promises.
PROMISED = (
    "init up down status logs configure login health doctor smoke "
    "backup restore upgrade bundle bench"
).split()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_promised_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")}
    assert set(PROMISED) <= listed


def test_help_documents_exit_codes():
    out = run_cli("--help").stdout
    for code in ("0", "1", "2", "3"):
        assert f"\n  {code} " in out


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"wandb-kit {__version__}"


def test_every_promised_command_has_a_handler():
    assert set(PROMISED) <= {c.name for c in COMMANDS if callable(c.run)}


def test_unknown_command_is_a_usage_error():
    result = run_cli("launch-rockets")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_startup_imports_no_heavy_library():
    # --help must stay fast: wandb, torch, docker and friends load only inside commands.
    code = (
        "import sys, wandb_local_kit.cli; wandb_local_kit.cli.build_parser(); "
        "print(','.join(m for m in ('wandb','torch','docker','boto3','rich','yaml','requests') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == ""
