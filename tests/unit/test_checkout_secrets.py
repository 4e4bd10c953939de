"""In a git checkout the kit's home is compose/: `.env`, service-account keys, TLS
private keys and the internal CA land there. `git add -A` must not pick any of them up,
so every place the kit writes is git-ignored (the checkout's own files stay tracked)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.require import unavailable

ROOT = Path(__file__).resolve().parents[2]

# What the kit writes into its home besides .env (see locations.home): the lock of each
# operation, the internal CA `up` exports, `people apply`'s keys, a certificate pair in
# the default WANDB_TLS_CERT_DIR (./caddy/certs) or in home/tls, an atomic write's file,
# other settings files and the report of `migrate-minio`.
WRITTEN = (
    ".env.lock",
    "certs/wandb-root-ca.crt",
    "service-accounts/ml-team-trainer.key",
    "caddy/certs/cert.pem",
    "caddy/certs/key.pem",
    "caddy/certs/ca.pem",
    "tls/cert.pem",
    "tls/key.pem",
    ".env.k2j3h4.tmp",
    "lab.env",
    ".env.lab",
    "minio-migration-20261207T101500Z.json",
)


def _git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(clone), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        unavailable("git is not installed")
    target = tmp_path / "checkout"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    # The working tree's ignore rules (the ones being tested), not only the last commit's.
    shutil.copy(ROOT / ".gitignore", target / ".gitignore")
    _git(
        target,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qam",
        "rules",
        "--allow-empty",
    )
    return target


def _init_in(clone: Path) -> None:
    """`wandb-kit init` run from the clone, WANDB_KIT_HOME unset: its compose/ is home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    env.update(PYTHONPATH=str(clone / "deploy"), HOME=str(clone.parent))
    code = "import sys; from wandb_local_kit.core import locations as l; print(l.home())"
    home = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    assert Path(home).resolve() == (clone / "compose").resolve(), home
    made = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "init"],
        env=env, cwd=clone, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert (clone / "compose" / ".env").is_file()


def test_nothing_the_kit_writes_in_a_checkout_can_be_committed_by_git_add_all(clone):
    _init_in(clone)
    for name in WRITTEN:
        path = clone / "compose" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("secret\n")
    status = _git(clone, "status", "--porcelain", "--ignored", "--untracked-files=all")
    exposed = [line[3:] for line in status.splitlines() if line.startswith("??")]
    assert exposed == [], f"`git add -A` would commit: {exposed}"
    ignored = {line[3:] for line in status.splitlines() if line.startswith("!!")}
    assert {"compose/.env", *(f"compose/{n}" for n in WRITTEN)} <= ignored


def test_the_checkouts_own_compose_files_stay_tracked(clone):
    tracked = set(_git(clone, "ls-files", "compose").split())
    assert {"compose/.env.example", "compose/caddy/certs/README"} <= tracked
    assert any(p.startswith("compose/caddy/tls/") for p in tracked)
    assert _git(clone, "ls-files", "--ignored", "--exclude-standard", "-c", "compose") == ""
