"""Builds the kit's wheel the way a user's `pip wheel .` would, but from a copy of the
checkout's tracked files: setuptools writes build/ and *.egg-info into the source tree, and
two builds from one tree at once (xdist workers) corrupted each other's wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_tracked_files(dest: Path) -> Path:
    """Copies the checkout's files to dest as a commit would hold them: tracked and new
    files as they are in the working tree, nothing git ignores (.env, build/, .venv)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def build_kit_wheel(out: Path, *, with_deps: bool = False, source: Path | None = None) -> Path:
    """Builds into out (the kit's wheel, and every dependency's with with_deps) and returns
    the kit's wheel. source: a prepared copy of the checkout; a fresh one otherwise."""
    with tempfile.TemporaryDirectory(prefix="kit-wheel-src-") as scratch:
        tree = source or copy_tracked_files(Path(scratch))
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
             "--no-build-isolation", *([] if with_deps else ["--no-deps"]),
             "-w", str(out), str(tree)],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    return next(out.glob("wandb_local_kit-*.whl"))
