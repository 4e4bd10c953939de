"""scripts/backup.py runs on a lab server with the standard library and the few kit
modules the Ansible role copies next to it (roles/backups/vars/main.yml): that list
must be exactly what the script imports, or the nightly backup dies on the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_role_copies_every_module_the_backup_script_imports():
    code = (
        "import runpy, sys; sys.argv = ['backup.py', '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'scripts' / 'backup.py')!r}, run_name='__main__')\n"
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
    assert "wandb_local_kit/ops/backup.py" in imported
    listed = set(
        yaml.safe_load((ROOT / "ansible/roles/backups/vars/main.yml").read_text())[
            "wandb_backups_modules"
        ]
    )
    assert imported - listed == set(), "add these to roles/backups/vars/main.yml"
