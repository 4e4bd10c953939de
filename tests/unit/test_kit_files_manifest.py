"""The kit's scripts that run on a lab server (scripts/backup.py and scripts/usage_sample.py
under the wandb_backups role's timers, the wandb_server role's check-env.py before each
.env lands) have python3's standard library and only the kit modules the roles copy next
to them. ansible/kit_files.yml is the one list of those files: both roles read it, and
build-collection.sh packs exactly its files into the collection. A module a script imports
and the list lacks kills the nightly backup, the daily disk-use sample, or every .env on
the server; these tests fail first."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "ansible" / "kit_files.yml"

# Each script, where the role puts it (relative to the kit's directory on the server),
# where it comes from in the repository, the manifest's list of its modules, and one
# module it surely needs (so a walk that found nothing cannot pass).
SCRIPTS = {
    "backup.py": ("scripts/backup.py", "scripts/backup.py", "backups_modules",
                  "deploy/wandb_local_kit/ops/backup.py"),
    "usage_sample.py": ("scripts/usage_sample.py", "scripts/usage_sample.py", "backups_modules",
                        "deploy/wandb_local_kit/stack/usage_measure.py"),
    "check-env.py": ("scripts/check-env.py", "ansible/roles/wandb_server/files/check-env.py",
                     "settings_check_modules", "deploy/wandb_local_kit/stack/settings.py"),
}  # fmt: skip


def manifest() -> dict[str, list[str]]:
    return yaml.safe_load(MANIFEST.read_text())


def _kit_imports(path: Path) -> set[str]:
    """Every wandb_local_kit module a file imports, at its top or inside a function (a
    lazy import fails on the server only when its code path runs, e.g. the lock's check
    for another deployment's containers), as repository paths (deploy/...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] != "wandb_local_kit":
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the packages on the way, and the module
                base = ROOT / "deploy" / Path(*parts[:i])
                if (base / "__init__.py").is_file():
                    found.add(str((base / "__init__.py").relative_to(ROOT)))
                elif base.with_suffix(".py").is_file():
                    found.add(str(base.with_suffix(".py").relative_to(ROOT)))
    return found


def needed_modules(script_source: str) -> set[str]:
    """The kit modules a script may import, directly or through the modules it imports."""
    seen: set[str] = set()
    todo = _kit_imports(ROOT / script_source)
    while todo:
        rel = todo.pop()
        seen.add(rel)
        todo |= _kit_imports(ROOT / rel) - seen
    return seen


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_manifest_lists_every_module_the_script_may_import(script):
    _, source, listing, surely = SCRIPTS[script]
    needed = needed_modules(source)
    assert surely in needed
    missing = needed - set(manifest()[listing])
    assert missing == set(), f"add these to {listing} in ansible/kit_files.yml"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_script_starts_on_a_server_with_only_the_manifests_files(script, tmp_path):
    """The server as the role leaves it: the script and its listed modules under the
    kit's directory, python3 without site-packages or PYTHONPATH (-S -I)."""
    placed, source, listing, _ = SCRIPTS[script]
    for rel in [placed, *manifest()[listing]]:
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / (source if rel == placed else rel), dest)
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(tmp_path / placed), "--help"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_manifest_is_what_the_roles_copy_and_the_build_packs():
    """Every path is a file of the repository, listed once, and on a plain `  - path`
    line: build-collection.sh reads the lines with sed, the roles read the YAML."""
    lists = manifest()
    assert set(lists) == {"backups_scripts", "backups_modules", "settings_check_modules"}
    assert lists["backups_scripts"] == ["scripts/backup.py", "scripts/usage_sample.py"]
    for name, paths in lists.items():
        assert len(paths) == len(set(paths)), f"{name} lists a path twice"
        assert [p for p in paths if not (ROOT / p).is_file()] == [], name
    plain_lines = re.findall(r"^  - (.*)$", MANIFEST.read_text(), re.M)
    assert plain_lines == [p for paths in lists.values() for p in paths]
    # The roles take their lists from it (no list of their own to drift).
    for role in ("wandb_backups", "wandb_server"):
        text = (ROOT / "ansible/roles" / role / "vars/main.yml").read_text()
        assert "/../../kit_files.yml'" in text and "wandb_local_kit/" not in text, role
    assert '"$here/kit_files.yml"' in (ROOT / "ansible/build-collection.sh").read_text()
