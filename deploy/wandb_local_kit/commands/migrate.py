"""`wandb-kit migrate`: copy projects, runs, files and artifacts from one W&B server to
another through W&B's public API, then verify. The CLI side; the work is in
migrate_plan (what there is), migrate_copy (one run, in a worker process),
migrate_verify (both sides compared) and migrate_state (resume)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from wandb_local_kit.commands.argtypes import file_path
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, KitError

FROM_KEY_ENV = "WANDB_FROM_API_KEY"
TO_KEY_ENV = "WANDB_TO_API_KEY"


def configure_migrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, help="URL of the server to copy from")
    p.add_argument("--to", dest="target", required=True, help="URL of the server to copy to")
    p.add_argument("--entity", default="", help="entity to copy (default: the source key's)")
    p.add_argument(
        "--to-entity",
        default="",
        help="entity on the target (default: the same name as on the source)",
    )
    p.add_argument(
        "--project",
        action="append",
        default=[],
        help="project to copy (repeatable; default: all of the entity's)",
    )
    p.add_argument("--dry-run", action="store_true", help="count what would move; change nothing")
    p.add_argument(
        "--state",
        type=file_path,
        default=Path("wandb-migrate-state.json"),
        help="state file for resuming (default: %(default)s)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="runs copied at once, each in its own process (default: %(default)s)",
    )
    p.add_argument(
        "--verify-only",
        action="store_true",
        help="only compare both sides (runs recorded in the state file)",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the verification pass")
    p.epilog = (
        f"API keys come from the environment, never the command line: {FROM_KEY_ENV} "
        f"(source) and {TO_KEY_ENV} (target).\n" + (p.epilog or "")
    )


def keys_from_env(environ=None) -> tuple[str, str]:
    environ = os.environ if environ is None else environ
    src, dst = environ.get(FROM_KEY_ENV, ""), environ.get(TO_KEY_ENV, "")
    missing = [n for n, v in ((FROM_KEY_ENV, src), (TO_KEY_ENV, dst)) if not v]
    if missing:
        raise KitError(
            f"{' and '.join(missing)} not set",
            fix=f"export {FROM_KEY_ENV}=... and {TO_KEY_ENV}=... (API keys of the source and "
            "target servers; an admin's key sees every project). Keys never go on the "
            "command line.",
        )
    return src, dst


def migrate(args) -> int:
    from wandb_local_kit.growth import migrate_run
    from wandb_local_kit.server.client import normalize_url

    if args.concurrency < 1:
        raise KitError("--concurrency must be at least 1", fix="e.g. --concurrency 2")
    source, target = normalize_url(args.source), normalize_url(args.target)
    if source == target:
        raise KitError("--from and --to are the same server", fix="give two servers")
    src_key, dst_key = keys_from_env()
    job = migrate_run.Job(
        source=source,
        target=target,
        source_key=src_key,
        target_key=dst_key,
        entity=args.entity,
        to_entity=args.to_entity,
        projects=list(args.project),
        state_path=args.state,
        concurrency=args.concurrency,
    )
    if args.dry_run:
        migrate_run.dry_run(job)
        return EXIT_OK
    if not args.verify_only:
        migrate_run.copy(job)
    if args.no_verify:
        return EXIT_OK
    differences = migrate_run.verify(job)
    for d in differences:
        print(f"difference: {d}")
    if differences:
        print(f"verification: {len(differences)} difference(s)")
        return EXIT_FAILED
    print("verification: 0 differences")
    return EXIT_OK
