"""How this user runs the kit, for the commands that hints and recovery messages print.

A wheel user has `wandb-kit` on PATH; in a checkout the .venv is often not activated, so a
hint naming a bare `wandb-kit` would fail with "command not found" exactly when the user
needs it (after an interruption, say). Hints are written with `wandb-kit ...` in backticks
(or in parentheses) and made runnable here, once, where they are shown."""

from __future__ import annotations

import re
import shutil
import sys

_NAMED = re.compile(r"(?<=[`(])wandb-kit (?=[a-z-])")


def kit_command() -> str:
    """`wandb-kit` when that is on PATH, else the interpreter running the kit now."""
    if shutil.which("wandb-kit"):
        return "wandb-kit"
    return f"{sys.executable} -m wandb_local_kit"


def runnable(text: str) -> str:
    """text with every `wandb-kit ...` command (in backticks or parentheses) in the form
    this user can run."""
    if not _NAMED.search(text):
        return text
    command = kit_command()
    return text if command == "wandb-kit" else _NAMED.sub(lambda _: f"{command} ", text)


def up_command(env_file) -> str:
    """The command that starts this stack again: every recovery message names it."""
    return f"{kit_command()} up --env-file {env_file}"
