"""`wandb-kit backup / restore / upgrade / bundle`: operations on a deployment.

Each operation that changes the deployment holds its lock: a second one (another
shell, the nightly timer) waits or is refused instead of running at the same time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from wandb_local_kit.commands.argtypes import file_path, folder_path, user_path
from wandb_local_kit.commands.common import add_location_options, deployment
from wandb_local_kit.core.errors import EXIT_OK, KitError


def _count(text: str, what: str, minimum: int) -> int:
    if not text.lstrip("-").isdigit() or int(text) < minimum:
        raise KitError(
            f"{what} {text!r} is not a whole number of at least {minimum}",
            fix=f"give {what} {minimum} or more",
        )
    return int(text)


def configure_backup(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument(
        "--dest", type=folder_path, help="backup directory (default: the kit's backups/)"
    )
    p.add_argument(
        "--keep", default=None, help="keep only the newest N (>= 1) backups of this project"
    )


def backup(args) -> int:
    from wandb_local_kit.ops import backup as ops

    keep = _count(args.keep, "--keep", 1) if args.keep is not None else None
    dep = deployment(args)
    with dep.locked("backup"):
        ops.backup(dep, (args.dest or dep.backups_dir).resolve(), keep=keep)
    return EXIT_OK


def configure_restore(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("backup", type=user_path, help="a backup directory made by `wandb-kit backup`")
    p.add_argument("--force", action="store_true", help="overwrite the data the stack holds now")
    p.add_argument(
        "--from-project",
        default="",
        metavar="PROJECT",
        help="restore a backup of another deployment (its compose project) into this one",
    )


def restore(args) -> int:
    from wandb_local_kit.ops import backup as ops

    dep = deployment(args)
    with dep.locked("restore"):
        ops.restore(dep, args.backup.resolve(), force=args.force, from_project=args.from_project)
    print("restored; the server is ready")
    return EXIT_OK


def configure_upgrade(p: argparse.ArgumentParser) -> None:
    from wandb_local_kit.ops.upgrade import MIGRATION_WAIT_S

    add_location_options(p)
    p.add_argument("--to", required=True, metavar="TAG", help="the new wandb/local tag")
    p.add_argument("--bundle", type=file_path, help="load the image from this bundle, no pull")
    p.add_argument("--dest", type=folder_path, help="where the pre-upgrade backup goes")
    p.add_argument(
        "--wait-timeout",
        type=int,
        default=MIGRATION_WAIT_S,
        help=f"seconds to wait for /ready after recreate (default {MIGRATION_WAIT_S})",
    )
    p.add_argument("--skip-preflight", action="store_true")


def upgrade(args) -> int:
    from wandb_local_kit.commands.stack import preflight_ok
    from wandb_local_kit.ops import upgrade as up

    dep = deployment(args)
    with dep.locked("upgrade"):
        if not args.skip_preflight:
            print("preflight:")
            if not preflight_ok(dep):
                raise KitError("preflight failed; nothing was changed", fix="fix the items above")
        dest = (args.dest or dep.backups_dir).resolve()
        return up.upgrade(dep, args.to, args.bundle, dest, args.wait_timeout)


def configure_bundle(p: argparse.ArgumentParser) -> None:
    # save and load as sub-commands, each with the location options: with one positional
    # "action FILE" pair, argparse took FILE only right after the action, so
    # `bundle save --env-file X FILE` was refused.
    add_location_options(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="{save,load}")
    for name, help_text in (
        ("save", "write the configured compose files' images into one bundle file"),
        ("load", "verify a bundle's checksums and load its images"),
    ):
        sub = actions.add_parser(name, help=help_text, description=help_text)
        add_location_options(sub, default=argparse.SUPPRESS)
        sub.add_argument(
            "file",
            type=file_path,
            nargs="?",
            help="bundle file (save: default wandb-kit-images-<date>.tar)",
        )


def bundle(args) -> int:
    from wandb_local_kit.ops import bundle as bundles

    if args.action == "load":
        if not args.file:
            raise KitError("bundle load needs FILE", fix="wandb-kit bundle load FILE")
        bundles.load(args.file)
        return EXIT_OK
    target = args.file or Path(f"wandb-kit-images-{time.strftime('%Y%m%d')}.tar")
    bundles.save(bundles.images_of(deployment(args)), target.resolve())
    return EXIT_OK
