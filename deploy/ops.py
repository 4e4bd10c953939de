"""`wandb-kit backup / restore / bundle / upgrade`: the CLI side of operations."""

from __future__ import annotations

import argparse
from pathlib import Path

from deploy.errors import EXIT_OK


def _stack(args):
    from deploy.backup import Stack

    return Stack.from_env(args.compose_dir, args.env_file or args.compose_dir / ".env")


def _default_dest(args) -> Path:
    return args.compose_dir.parent / "backups"


def configure_backup(p: argparse.ArgumentParser) -> None:
    from deploy.stack import add_location_options

    add_location_options(p)
    p.add_argument("--dest", type=Path, help="backup directory (default: ./backups)")
    p.add_argument(
        "--keep", type=int, default=None, help="keep only the newest N backups of this project"
    )


def cmd_backup(args) -> int:
    from deploy.backup import backup

    backup(_stack(args), args.dest or _default_dest(args), keep=args.keep)
    return EXIT_OK


def configure_restore(p: argparse.ArgumentParser) -> None:
    from deploy.stack import add_location_options

    add_location_options(p)
    p.add_argument("backup", type=Path, help="a backup directory made by `wandb-kit backup`")
    p.add_argument("--force", action="store_true", help="overwrite the data the stack holds now")


def cmd_restore(args) -> int:
    from deploy.backup import restore

    restore(_stack(args), args.backup, force=args.force)
    print("restored; the server is ready")
    return EXIT_OK
