"""What the wheel holds: every package in deploy/, every compose file the kit ships,
and nothing of a user's own (.env, certificates, keys) from a checkout beside them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

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
    planted = [ROOT / "compose" / "caddy" / "certs" / "key.pem", ROOT / "compose" / ".env"]
    made = [p for p in planted if not p.exists()]
    for p in made:  # a checkout where someone ran the kit: secrets beside the files
        p.write_text("SECRET-DO-NOT-SHIP\n")
    try:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "-w", str(tmp_path), str(ROOT)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        for p in made:
            p.unlink()
    assert built.returncode == 0, built.stderr
    names = set(zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "compose"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert tracked, "compose/ is tracked by git"
    for path in tracked:
        assert "wandb_local_kit/_compose/" + path.removeprefix("compose/") in names, path
    assert not [n for n in names if n.endswith((".pem", "/.env"))]
