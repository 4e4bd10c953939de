"""scripts/backup.py and scripts/usage_sample.py run on a lab server with the standard
library and the few kit modules the Ansible role copies next to them
(roles/wandb_backups/vars/main.yml): that list must hold what the scripts import, or the
nightly backup (or the daily disk-use sample) dies on the server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


SCRIPTS = {
    "backup.py": "wandb_local_kit/ops/backup.py",
    "usage_sample.py": "wandb_local_kit/stack/usage_measure.py",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_role_copies_every_module_the_script_imports(script):
    code = (
        f"import runpy, sys; sys.argv = [{script!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'scripts' / script)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "from pathlib import Path\n"
        f"deploy = Path({str(ROOT / 'deploy')!r})\n"
        "print(' '.join(sorted(str(Path(m.__file__).relative_to(deploy))\n"
        "    for n, m in list(sys.modules.items()) if n.split('.')[0] == 'wandb_local_kit')))\n"
    )
    # -S: no site-packages, as on a server with only python3 and docker.
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    imported = set(out.stdout.strip().splitlines()[-1].split())
    assert SCRIPTS[script] in imported
    listed = set(
        yaml.safe_load((ROOT / "ansible/roles/wandb_backups/vars/main.yml").read_text())[
            "wandb_backups_modules"
        ]
    )
    assert imported - listed == set(), "add these to roles/wandb_backups/vars/main.yml"


def _kit_imports(path: Path) -> set[str]:
    """Every wandb_local_kit module a file imports, at its top or inside a function (a
    lazy import fails on the server only when its code path runs, e.g. the lock's check
    for another deployment's containers), as paths under deploy/."""
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
                    found.add(str((base / "__init__.py").relative_to(ROOT / "deploy")))
                elif base.with_suffix(".py").is_file():
                    found.add(str(base.with_suffix(".py").relative_to(ROOT / "deploy")))
    return found


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_role_copies_every_module_the_script_may_import_lazily(script):
    seen, todo = set(), {f"../scripts/{script}"}
    while todo:
        rel = todo.pop()
        seen.add(rel)
        todo |= _kit_imports((ROOT / "deploy" / rel).resolve()) - seen
    needed = seen - {f"../scripts/{script}"}
    listed = set(
        yaml.safe_load((ROOT / "ansible/roles/wandb_backups/vars/main.yml").read_text())[
            "wandb_backups_modules"
        ]
    )
    assert "wandb_local_kit/stack/deployment.py" in needed
    assert needed - listed == set(), "add these to roles/wandb_backups/vars/main.yml"
