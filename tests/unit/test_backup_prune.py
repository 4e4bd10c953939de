"""`backup --keep N` prunes only this project's own backups: `wandb` never touches
`wandb-staging`'s, nor unfinished or foreign directories."""

from __future__ import annotations

import json

from wandb_local_kit.ops.backup import MANIFEST, backup_name, prune


def _backup(dest, name, complete=True):
    path = dest / name
    path.mkdir()
    if complete:
        (path / MANIFEST).write_text(json.dumps({"files": []}))
    return path


def test_prune_keeps_other_projects_backups(tmp_path):
    own = [_backup(tmp_path, backup_name("wandb", 1_700_000_000 + i)) for i in range(3)]
    staging = [_backup(tmp_path, backup_name("wandb-staging", 1_700_000_000 + i)) for i in (5, 6)]
    pruned = prune(tmp_path, "wandb", keep=1)
    assert pruned == own[:2]
    assert not own[0].exists() and not own[1].exists() and own[2].exists()
    assert all(p.exists() for p in staging)


def test_prune_leaves_partial_and_foreign_directories(tmp_path):
    partial = _backup(tmp_path, backup_name("wandb", 1) + ".partial")
    foreign = _backup(tmp_path, "wandb-notes")
    newest = _backup(tmp_path, backup_name("wandb", 2))
    incomplete = _backup(tmp_path, backup_name("wandb", 3), complete=False)
    assert prune(tmp_path, "wandb", keep=1) == []
    assert partial.exists() and foreign.exists() and newest.exists() and incomplete.exists()
