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
# The kit's package lives in deploy/ (a checkout, or the copy the Ansible role makes).
sys.path.insert(0, str(ROOT / "deploy"))

from wandb_local_kit.core.errors import KitError  # noqa: E402
from wandb_local_kit.ops.backup import backup, restore  # noqa: E402
from wandb_local_kit.stack.deployment import Deployment  # noqa: E402

# The nightly timer waits this long for another operation (a manual backup, a
# restore, an upgrade) to finish before it gives up for the night.
TIMER_LOCK_WAIT_S = 3 * 3600


def _at_least_one(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def main(argv):
    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n")[1])
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("backup", "restore"):
        p = sub.add_parser(name)
        p.add_argument("--compose-dir", type=Path, default=None)
        p.add_argument("--env-file", type=Path, default=None)
        if name == "backup":
            p.add_argument("--dest", type=Path, default=None)
            p.add_argument("--keep", type=_at_least_one, default=None)
        else:
            p.add_argument("backup", type=Path)
            p.add_argument("--force", action="store_true")
            p.add_argument("--from-project", default="", metavar="PROJECT")
    args = parser.parse_args(argv)
    try:
        stack = Deployment.load(args.compose_dir, args.env_file)
        with stack.locked(f"scripts/backup.py {args.action}", wait_s=TIMER_LOCK_WAIT_S):
            if args.action == "backup":
                backup(stack, (args.dest or stack.backups_dir).resolve(), keep=args.keep)
            else:
                restore(
                    stack, args.backup.resolve(), force=args.force, from_project=args.from_project
                )
    except KitError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
