#!/usr/bin/env python3
"""Backs up (or restores) a wandb-local-kit stack without the kit's Python package.

    scripts/backup.py backup  [--compose-dir DIR] [--env-file FILE] [--dest DIR] [--keep N]
    scripts/backup.py restore BACKUP_DIR [--compose-dir DIR] [--env-file FILE] [--force]

Needs python3 (standard library only), docker and the compose v2 plugin; this is what
the Ansible backups timer runs on a lab server. `wandb-kit backup/restore` do the same.
Exit codes: 0 done, 1 a step failed, 2 bad input or refused (nothing was changed).
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.backup import Stack, backup, restore  # noqa: E402
from deploy.errors import KitError  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n")[1])
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("backup", "restore"):
        p = sub.add_parser(name)
        p.add_argument("--compose-dir", type=Path, default=ROOT / "compose")
        p.add_argument("--env-file", type=Path, default=None)
        if name == "backup":
            p.add_argument("--dest", type=Path, default=ROOT / "backups")
            p.add_argument("--keep", type=int, default=None)
        else:
            p.add_argument("backup", type=Path)
            p.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    try:
        stack = Stack.from_env(args.compose_dir, args.env_file or args.compose_dir / ".env")
        if args.action == "backup":
            backup(stack, args.dest, keep=args.keep)
        else:
            restore(stack, args.backup, force=args.force)
    except KitError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
