"""Service-account API keys: written once to 0600 files, never printed."""

from __future__ import annotations

import os
import re
from pathlib import Path


def key_path(keys_dir: Path, team: str, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{team}--{name}")
    return keys_dir / f"{safe}.key"


def write_key(keys_dir: Path, team: str, name: str, key: str) -> Path:
    """Create the file with mode 0600 from the start (never briefly world-readable), in a
    0700 directory; replace an older key for the same account atomically."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    path = key_path(keys_dir, team, name)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (key + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path
