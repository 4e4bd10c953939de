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

from wandb_local_kit import __version__
from wandb_local_kit.core.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, KitError

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    # Adds the command's own options; None when it has none.
    configure: Callable[[argparse.ArgumentParser], None] | None
    # Runs it and returns the exit code.
    run: Handler


# The subcommands, in the order a user meets them. Each maps to a handler in the
# CLI layer (deploy/wandb_local_kit/commands/, or a package's command module), found by its name.
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


def _command(name: str, module: str, help: str, handler: str | None = None) -> Command:
    """`wandb-kit NAME`: options from MODULE.configure_NAME, run by MODULE.NAME (or
    MODULE.HANDLER where NAME would shadow a module the command imports)."""
    function = name.replace("-", "_")
    return Command(
        name, help, _options(module, f"configure_{function}"), _lazy(module, handler or function)
    )


COMMANDS: list[Command] = [
    _command(
        "init",
        "wandb_local_kit.commands.stack",
        "create .env with generated secrets and the chosen storage/TLS",
    ),
    _command(
        "preflight", "wandb_local_kit.commands.stack", "check that this host can run the stack"
    ),
    _command(
        "up",
        "wandb_local_kit.commands.stack",
        "preflight, then start the stack and wait until it is healthy",
    ),
    _command(
        "down", "wandb_local_kit.commands.stack", "stop the stack (data kept unless --volumes)"
    ),
    _command(
        "status", "wandb_local_kit.commands.stack", "show the stack's containers and their health"
    ),
    _command("logs", "wandb_local_kit.commands.stack", "show the stack's logs"),
    _command(
        "configure",
        "wandb_local_kit.commands.client",
        "point this machine's wandb SDK at the server",
    ),
    _command(
        "env", "wandb_local_kit.commands.client", "print export WANDB_BASE_URL=... lines for eval"
    ),
    _command(
        "login",
        "wandb_local_kit.commands.client",
        "verify and store an API key (or --bootstrap a user)",
    ),
    _command(
        "people",
        "wandb_local_kit.commands.people",
        "a lab's users, teams and service accounts as a file: plan, apply, show",
    ),
    _command(
        "health",
        "wandb_local_kit.commands.health",
        "layered health check of the server",
        "run_health",
    ),
    _command(
        "doctor",
        "wandb_local_kit.commands.health",
        "diagnose known self-hosting pitfalls and print fixes",
        "run_doctor",
    ),
    Command(
        "smoke",
        "log every media type with the SDK and read it back",
        _options("wandb_local_kit.commands.smoke", "configure"),
        _lazy("wandb_local_kit.commands.smoke", "run"),
    ),
    _command(
        "backup",
        "wandb_local_kit.commands.ops",
        "consistent, timestamped backup with manifest and --keep N pruning",
    ),
    _command(
        "restore",
        "wandb_local_kit.commands.ops",
        "verify a backup, then restore it into a stopped or fresh stack",
    ),
    _command(
        "upgrade",
        "wandb_local_kit.commands.ops",
        "preflight, back up, then move the server to a new image tag",
    ),
    _command(
        "storage",
        "wandb_local_kit.commands.usage",
        "disk used and free, by project and team, growth and the day it fills (reads only)",
    ),
    _command(
        "migrate-minio",
        "wandb_local_kit.commands.storage",
        "copy a previous kit's MinIO bucket into SeaweedFS once, sha256 compared",
    ),
    _command(
        "bundle",
        "wandb_local_kit.commands.ops",
        "save/load all images of the stack for air-gapped hosts",
    ),
    _command(
        "support-bundle",
        "wandb_local_kit.commands.support",
        "one archive for an issue report: versions, config, states, logs, checks; secrets replaced",
    ),
    Command(
        "bench",
        "measure the capacity of a deployment (bounded, cleans up)",
        _options("wandb_local_kit.commands.bench", "configure"),
        _lazy("wandb_local_kit.commands.bench", "run"),
    ),
    _command(
        "export",
        "wandb_local_kit.commands.export",
        "write W&B's Kubernetes operator v2 resource and Secrets from .env, or check them",
    ),
    _command(
        "migrate",
        "wandb_local_kit.commands.migrate",
        "copy projects, runs, artifacts and sweeps to another server, then verify",
    ),
]


BY_NAME = {c.name: c for c in COMMANDS}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's options are added (and so only its
    module imported): `wandb-kit --help` and every command start fast."""
    parser = argparse.ArgumentParser(
        prog="wandb-kit",
        description="Run your own Weights & Biases server (wandb/local) and prove it works.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wandb-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        p = sub.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command.configure and only in (None, command.name):
            command.configure(p)
        p.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the real command (not a test calling main): see _stop_gently
        _stop_gently()
    try:
        return _main(args_list)
    except Exception as err:  # noqa: BLE001 - the last resort: no raw traceback, ever
        from wandb_local_kit.core import crash

        return crash.report(err, args_list)


def _stop_gently() -> None:
    """SIGTERM and a lost terminal (SIGHUP) end the command as Ctrl-C does, so every
    operation's clean-up (`finally`: start the server again, remove a partial backup)
    runs instead of the process vanishing mid-way. A signal the caller chose to ignore
    stays ignored: under `nohup wandb-kit backup`, closing the terminal must not stop
    the backup (as SIGINT stays ignored for a shell's background job)."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, interrupt)


def _absolute_paths(args: argparse.Namespace) -> None:
    """Every path option made absolute against the caller's working directory before any
    handler sees it: compose runs elsewhere and would read a relative path from there."""
    from pathlib import PurePath

    from wandb_local_kit.commands.argtypes import absolute

    for name, value in vars(args).items():
        if str(value) == "-":  # standard output, where an option allows it
            continue
        if isinstance(value, PurePath):
            setattr(args, name, absolute(value))
        elif isinstance(value, list) and value and all(isinstance(v, PurePath) for v in value):
            setattr(args, name, [absolute(v) for v in value])


def _main(args_list: list[str]) -> int:
    named = next((a for a in args_list if not a.startswith("-")), "")
    parser = build_parser(only=named if named in BY_NAME else "")
    args = parser.parse_args(args_list)
    _absolute_paths(args)
    command: Command | None = getattr(args, "_command", None)
    if command is None:
        parser.print_help()
        return 0
    try:
        return command.run(args)
    except KitError as err:
        _error(err.render())
        return err.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except OSError as err:
        # The one boundary for ordinary OS errors (no space, permission, a folder where a
        # file was meant, ...): the user's to fix, exit 2, never "a bug". Anything else
        # an OSError can be (a broken socket deep in a library) still reaches crash.report.
        from wandb_local_kit.core import files

        if not files.is_file_error(err):
            raise
        explained = files.explain(err)
        _error(explained.render())
        return explained.exit_code


def _error(text: str) -> None:
    """An error goes after everything the command printed: stdout is flushed first, so in
    a log file or a pipe the `error:` line comes last, where `| tail` looks."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe: the error still goes to stderr
        pass
    print(text, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
