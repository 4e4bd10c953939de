"""Service-account API keys: written once to 0600 files, never printed."""

from __future__ import annotations

import re
from pathlib import Path

from wandb_local_kit.core import files


def key_path(keys_dir: Path, team: str, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{team}--{name}")
    return keys_dir / f"{safe}.key"


def write_key(keys_dir: Path, team: str, name: str, key: str) -> Path:
    """Through the door: a 0700 folder, the file 0600 from its first byte (never briefly
    world-readable), an older key for the same account replaced atomically, a link kept.
    A KitError (exit 2) names what stopped it; returns where the key landed."""
    files.private_folder(keys_dir)
    path = key_path(keys_dir, team, name)
    return files.write_text(
        path, key + "\n", private=True, what=f"the key of service account {name}"
    )
