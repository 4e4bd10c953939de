"""A `.env` its own owner cannot read (chmod 000) asks for chmod, not for "the owner":
the user who sees the message IS the owner. Root reads any file, so the refusal is
provoked by the file system's answer itself (PermissionError)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wandb_local_kit.core import envfile
from wandb_local_kit.core.errors import KitError


def _unreadable(monkeypatch, path: Path) -> None:
    real = os.open

    def refusing_open(file, flags, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(path))
        return real(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)


def test_owner_who_cannot_read_their_own_env_is_told_to_chmod(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    _unreadable(monkeypatch, env)
    with pytest.raises(KitError) as err:
        envfile.read_env(env)
    assert "not readable by this user" in err.value.render()
    assert f"chmod 600 {env}" in err.value.render()
    assert "run as the user who owns" not in err.value.render()


def test_someone_elses_private_env_names_its_owner(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    _unreadable(monkeypatch, env)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(env).st_uid + 1)
    with pytest.raises(KitError) as err:
        envfile.read_env(env)
    assert f"run as the user who owns {env}" in err.value.render()
    assert "chmod" not in err.value.render()
