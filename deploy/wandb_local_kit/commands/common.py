"""Options and objects every command shares: where the deployment is, which server."""

from __future__ import annotations

import argparse
import os

from wandb_local_kit.commands.argtypes import file_path, folder_path
from wandb_local_kit.core import locations
from wandb_local_kit.stack.deployment import Deployment


def add_location_options(p: argparse.ArgumentParser, default: object = None) -> None:
    """`default`: argparse.SUPPRESS on a sub-command's parser whose parent has the options
    too, so that an option given before the sub-command is not reset after it."""
    p.add_argument(
        "--compose-dir",
        type=folder_path,
        default=default,
        help=f"the kit's compose directory (default: {locations.compose_dir()})",
    )
    p.add_argument(
        "--env-file",
        type=file_path,
        default=default,
        help="settings file (default: .env in the kit's home: "
        f"{locations.default_env_file()}; $WANDB_KIT_HOME moves it)",
    )


def deployment(args: argparse.Namespace, must_exist: bool = True) -> Deployment:
    return Deployment.load(args.compose_dir, args.env_file, must_exist=must_exist)


def add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        help="the server's URL (default: $WANDB_BASE_URL, else WANDB_HOST from .env)",
    )
    p.add_argument(
        "--ca-file",
        type=file_path,
        help="CA certificate to trust for https (default: $REQUESTS_CA_BUNDLE / "
        "$SSL_CERT_FILE, or the kit's exported internal CA)",
    )
    add_location_options(p)


def target(args: argparse.Namespace, environ: dict[str, str] | None = None):
    """The server a client command talks to (wandb_local_kit.server.client.Target)."""
    from wandb_local_kit.server import client

    return client.target_for(
        deployment(args, must_exist=False),
        url=getattr(args, "url", None),
        ca_file=getattr(args, "ca_file", None),
        environ=dict(os.environ if environ is None else environ),
    )
