"""Hints name a command the user can run: in a checkout whose .venv is not activated,
`wandb-kit` is not on PATH, and a recovery hint naming it fails exactly when needed."""

from __future__ import annotations

import os
import sys

from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.invocation import kit_command, runnable

HINT = KitError("wandb may still be stopped", fix="`wandb-kit up --env-file /lab/.env` starts it")


def test_without_wandb_kit_on_path_hints_name_this_interpreter(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no wandb-kit
    here = f"{sys.executable} -m wandb_local_kit"
    assert kit_command() == here
    assert f"`{here} up --env-file /lab/.env`" in HINT.render()
    assert "`wandb-kit " not in HINT.render()


def test_with_wandb_kit_on_path_hints_stay_short(monkeypatch, tmp_path):
    script = tmp_path / "wandb-kit"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert kit_command() == "wandb-kit"
    assert "`wandb-kit up --env-file /lab/.env`" in HINT.render()


def test_only_commands_in_backticks_are_rewritten(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert runnable("the wandb-kit project") == "the wandb-kit project"
    here = f"{sys.executable} -m wandb_local_kit"
    assert runnable("same storage (wandb-kit init)") == f"same storage ({here} init)"
