"""The `wandb-kit` command: a thin layer over the deploy modules.

Start-up must stay fast (`--help`, `--version`): this module imports only the
standard library. Each command imports what it needs (wandb, docker, boto3, ...)
inside its handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deploy import __version__
from deploy.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, KitError, NotBuiltYet

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    # Adds the command's own options; None when it has none (yet).
    configure: Callable[[argparse.ArgumentParser], None] | None = None
    # Runs it and returns the exit code; None means "not built yet".
    run: Handler | None = None
    # The issue that builds it, named in the "not built yet" message.
    issue: int = 0


# The subcommands, in the order a user meets them. Commands that are not built yet
# keep their place in --help so the surface is visible, and exit 2 when called.
def _lazy(module: str, function: str) -> Handler:
    """A handler that imports its module only when the command runs (fast --help)."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(args)

    return run


def _options(module: str, function: str) -> Callable[[argparse.ArgumentParser], None]:
    def configure(parser: argparse.ArgumentParser) -> None:
        import importlib

        getattr(importlib.import_module(module), function)(parser)

    return configure


def _stack(name: str, help: str) -> Command:
    return Command(
        name,
        help,
        _options("deploy.stack", f"configure_{name}"),
        _lazy("deploy.stack", f"cmd_{name}"),
        issue=4,
    )


def _client(name: str, module: str, help: str) -> Command:
    return Command(
        name, help, _options(module, f"configure_{name}"), _lazy(module, f"cmd_{name}"), issue=5
    )


COMMANDS: list[Command] = [
    _stack("init", "create .env with generated secrets and the chosen storage/TLS"),
    _stack("preflight", "check that this host can run the stack"),
    _stack("up", "preflight, then start the stack and wait until it is healthy"),
    _stack("down", "stop the stack (data kept unless --volumes)"),
    _stack("status", "show the stack's containers and their health"),
    _stack("logs", "show the stack's logs"),
    _client("configure", "deploy.client", "point this machine's wandb SDK at the server"),
    _client("env", "deploy.client", "print export WANDB_BASE_URL=... lines for eval"),
    _client("login", "deploy.client", "verify and store an API key (or --bootstrap a user)"),
    _client("health", "deploy.health", "layered health check of the server"),
    _client("doctor", "deploy.doctor", "diagnose known self-hosting pitfalls and print fixes"),
    Command(
        "smoke",
        "log every media type with the SDK and read it back",
        _options("deploy.smoke.command", "configure"),
        _lazy("deploy.smoke.command", "run"),
        issue=6,
    ),
    Command(
        "backup",
        "consistent, timestamped backup with manifest and --keep N pruning",
        _options("deploy.ops", "configure_backup"),
        _lazy("deploy.ops", "cmd_backup"),
        issue=8,
    ),
    Command(
        "restore",
        "verify a backup, then restore it into a stopped or fresh stack",
        _options("deploy.ops", "configure_restore"),
        _lazy("deploy.ops", "cmd_restore"),
        issue=8,
    ),
    Command(
        "upgrade",
        "preflight, back up, then move the server to a new image tag",
        _options("deploy.upgrade", "configure"),
        _lazy("deploy.upgrade", "cmd_upgrade"),
        issue=8,
    ),
    Command(
        "bundle",
        "save/load all images of the stack for air-gapped hosts",
        _options("deploy.bundle", "configure"),
        _lazy("deploy.bundle", "cmd_bundle"),
        issue=8,
    ),
    Command(
        "bench",
        "measure the capacity of a deployment (bounded, cleans up)",
        _options("deploy.bench.command", "configure"),
        _lazy("deploy.bench.command", "run"),
        issue=9,
    ),
    Command(
        "export",
        "write W&B's Kubernetes operator v2 resource from these settings, or check one",
        _options("deploy.growth.export_command", "configure"),
        _lazy("deploy.growth.export_command", "run"),
        issue=17,
    ),
    Command(
        "migrate",
        "copy projects, runs, files and artifacts to another server, then verify",
        _options("deploy.growth.migrate_command", "configure"),
        _lazy("deploy.growth.migrate_command", "run"),
        issue=17,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wandb-kit",
        description="Run your own Weights & Biases server (wandb/local) and prove it works.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wandb-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        label = command.help if command.run else f"{command.help} [not built yet]"
        p = sub.add_parser(
            command.name,
            help=label,
            description=label,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command.configure:
            command.configure(p)
        p.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "_command", None)
    if command is None:
        parser.print_help()
        return 0
    try:
        if command.run is None:
            raise NotBuiltYet(command.name, command.issue)
        return command.run(args)
    except KitError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
