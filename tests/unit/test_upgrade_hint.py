"""After an upgrade, the backups taken before each one pile up (tens of MB each) unseen:
the upgrade says how many there are, their size and the command that prunes them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.core.invocation import kit_command
from wandb_local_kit.ops import backup, upgrade
from wandb_local_kit.stack import settings
from wandb_local_kit.stack.deployment import Deployment

OLD = "wandb/local:0.83.0"


def _deployment(tmp_path: Path) -> Deployment:
    compose_dir = settings.default_compose_dir()
    values = settings.build_values({}, settings.example_values(compose_dir), {})
    values["WANDB_IMAGE"] = OLD
    env = tmp_path / ".env"
    write_private(env, render((compose_dir / ".env.example").read_text(), values))
    return Deployment.load(compose_dir, env)


def _a_backup(dest: Path, name: str, size: int) -> Path:
    root = dest / name
    root.mkdir(parents=True)
    (root / backup.MANIFEST).write_text(json.dumps({"files": {}}))
    (root / "volume.tar").write_bytes(b"\0" * size)
    return root


def test_an_upgrade_names_its_backups_their_size_and_the_prune_command(tmp_path, monkeypatch):
    dep = _deployment(tmp_path)
    dest = tmp_path / "backups"
    project = dep.project
    _a_backup(dest, f"{project}-20261101T100000Z", 30 * 2**20)
    _a_backup(dest, f"{project}-staging-20261101T100000Z", 5 * 2**20)  # another project's
    (dest / "notes").mkdir()  # not a backup

    def fake_backup(stack, where, keep=None, log=print):
        return _a_backup(where, f"{project}-20261207T100000Z", 36 * 2**20)

    ran = subprocess.CompletedProcess([], 0, "", "")
    monkeypatch.setattr(upgrade, "require_engine", lambda: None)
    monkeypatch.setattr(upgrade, "image_present", lambda image: True)
    monkeypatch.setattr(backup, "backup", fake_backup)
    monkeypatch.setattr(type(dep.compose), "run", lambda self, *a, **k: ran)
    monkeypatch.setattr(upgrade, "_deep_health", lambda health, stack: True)
    said: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: said.append(" ".join(map(str, a))))

    assert upgrade.upgrade(dep, "0.84.0", None, dest) == 0
    text = "\n".join(said)
    assert f"2 backups of {project} in {dest}" in text, text
    assert "66.0 MiB" in text
    assert f"`{kit_command()} backup --keep " in text and f"--dest {dest}" in text
    assert f"--env-file {dep.env_file}" in text
