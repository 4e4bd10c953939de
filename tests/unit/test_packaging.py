"""What the wheel holds: every package in deploy/, every compose file the kit ships,
and nothing of a user's own (.env, certificates, keys) from a checkout beside them."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import tomllib

from tests.wheel_build import build_kit_wheel, copy_tracked_files

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_deploy_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT / "deploy").parts)
        for p in (ROOT / "deploy").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_the_wheel_ships_the_compose_files_and_no_user_secrets(tmp_path):
    # A copy of the checkout (its tracked files), where someone ran the kit: secrets beside
    # the compose files. Planted in a copy, never in the checkout itself, where tests on
    # other xdist workers read compose/.env at the same time.
    source = copy_tracked_files(tmp_path / "checkout")
    for planted in ("compose/caddy/certs/key.pem", "compose/.env"):
        (source / planted).write_text("SECRET-DO-NOT-SHIP\n")
    wheel = build_kit_wheel(tmp_path / "wheel", source=source)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    names = set(zipfile.ZipFile(wheel).namelist())
    compose_files = [path for path in tracked if path.startswith("compose/")]
    assert compose_files, "compose/ is tracked by git"
    for path in compose_files:
        assert "wandb_local_kit/_compose/" + path.removeprefix("compose/") in names, path
    assert not [n for n in names if n.endswith((".pem", "/.env"))]
