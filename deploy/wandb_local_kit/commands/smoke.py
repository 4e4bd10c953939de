"""`wandb-kit smoke`: options, server/key resolution, live progress, reports, exit code."""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from wandb_local_kit.commands.argtypes import output_file, positive_seconds
from wandb_local_kit.core.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    KitError,
)
from wandb_local_kit.server.client import ensure_reachable
from wandb_local_kit.smoke.context import (
    CHECK_TIMEOUT_S,
    FAIL,
    INTERRUPTED,
    SKIP,
    SmokeContext,
)


def configure(p: argparse.ArgumentParser) -> None:
    from wandb_local_kit.commands.common import add_target_options

    add_target_options(p)  # --url, --ca-file, --compose-dir, --env-file
    p.add_argument("--only", help="comma-separated checks to run")
    p.add_argument("--skip", help="comma-separated checks to leave out")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--parallel", type=_at_least_one, default=4, help="checks at once (default 4)")
    p.add_argument("--project", default="wandb-kit-smoke", help="project the runs go to")
    p.add_argument("--entity", default=None, help="entity (default: the key's default)")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the runs, and the checks' local files and logs (default: delete them)",
    )
    p.add_argument("--strict", action="store_true", help="a skipped check fails the suite")
    p.add_argument("--json", type=output_file, help="write the results as JSON here")
    p.add_argument(
        "--junit", type=output_file, help="write JUnit XML here (one testcase per check)"
    )
    p.add_argument(
        "--html",
        type=output_file,
        help="write one self-contained HTML page here: every check, and for media what "
        "was logged beside what was read back",
    )
    p.add_argument(
        "--large-artifact-mib",
        type=_at_least_one,
        default=64,
        help="size of the large-artifact check's file in MiB (default 64)",
    )
    p.add_argument(
        "--concurrency", type=_at_least_one, default=8, help="runs at once in 'concurrency'"
    )
    p.add_argument(
        "--check-timeout",
        type=positive_seconds,
        default=CHECK_TIMEOUT_S,
        help="seconds after which a check that has not finished fails, showing where it "
        f"waited (default {CHECK_TIMEOUT_S:.0f})",
    )


def _at_least_one(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def resolve_server(args) -> tuple[str, str, str | None]:
    """(url, key, CA file): the same resolution as `health` and `login` (server.client)."""
    from wandb_local_kit.commands.common import target as target_from_args
    from wandb_local_kit.server.client import find_key, no_key_message

    target = target_from_args(args)
    key, _ = find_key(target)
    if not key:
        raise KitError(
            f"no API key for {target.url}", fix=no_key_message(target).split("\n", 1)[1].strip()
        )
    return target.url, key, target.verify if isinstance(target.verify, str) else None


def _write_reports(args, results, meta, counts, key: str = "") -> None:
    """The reports the user asked for, through core/files. Their places were checked
    before the checks ran; one that still fails (the disk filled meanwhile) says the
    checks ran and how they ended, exit 1."""
    from functools import partial

    from wandb_local_kit.core import files
    from wandb_local_kit.core.htmlpage import write
    from wandb_local_kit.core.redact import redact
    from wandb_local_kit.smoke import report

    done = (
        f"the checks ran ({counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped); run smoke again for the report"
    )
    # As in the support bundle: a report is sent on, a check's message may quote the key.
    hide = partial(redact, extra=[key])
    if args.json:
        files.write_text(args.json, hide(report.to_json(results, meta)), what="--json",
                         exit_code=EXIT_FAILED, done=done)  # fmt: skip
    if args.junit:
        files.write_text(args.junit, hide(report.to_junit(results, meta)), what="--junit",
                         exit_code=EXIT_FAILED, done=done)  # fmt: skip
    if args.html:
        from wandb_local_kit.smoke.html import smoke_page

        write(args.html, smoke_page(results, meta, kept=args.keep), EXIT_FAILED, done)


def run(args) -> int:
    from rich.console import Console

    from wandb_local_kit.smoke import registry, runner

    # soft_wrap: in a pipe or a log, a long line (a URL) stays one line, unbroken.
    console = Console(stderr=False, soft_wrap=True)
    if args.list:
        for c in registry.CHECKS:
            console.print(f"  {c.name:<16} {c.covers}")
        return EXIT_OK
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None  # noqa: E731
    checks = registry.select(split(args.only), split(args.skip))
    if not checks:
        raise KitError("no checks selected", fix="see `wandb-kit smoke --list`")
    url, key, ca_file = resolve_server(args)
    ensure_reachable(url, key, ca_file)
    tag = f"smoke-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    ctx = SmokeContext(
        base_url=url,
        api_key=key,
        project=args.project,
        tag=tag,
        workdir=tempfile.mkdtemp(prefix="wandb-kit-smoke-"),
        entity=args.entity,
        large_artifact_mib=args.large_artifact_mib,
        concurrency=args.concurrency,
        ca_file=ca_file,
    )
    console.print(
        f"smoke: {len(checks)} checks against {url}, project {args.project}, "
        f"tag {tag}, {args.parallel} at a time"
    )
    started = time.monotonic()
    try:
        results, vanished = _run_live(console, args, checks, ctx)
    except runner.SmokeInterrupted as stop:
        _finish(console, args, ctx, stop.results, started, interrupted=True)
        return EXIT_INTERRUPTED
    counts = _finish(console, args, ctx, results, started, vanished=vanished)
    if vanished:
        raise KitError(
            vanished,
            fix="`wandb-kit status` and `wandb-kit logs wandb` show why it stopped; "
            "`wandb-kit up` starts it again",
            exit_code=EXIT_UNREACHABLE,
        )
    failed = counts[FAIL] or (args.strict and counts[SKIP])
    return EXIT_FAILED if failed else EXIT_OK


def _run_live(console, args, checks, ctx: SmokeContext) -> tuple[list, str]:
    """The checks with a live display on a terminal (through a pipe, a line per finished
    check instead, so a log shows progress): (results, why the server vanished or "")."""
    from rich.live import Live

    from wandb_local_kit.smoke import runner
    from wandb_local_kit.smoke.watchdog import Watchdog

    states: dict[str, str] = {c.name: "queued" for c in checks}
    started = time.monotonic()

    def render():
        from rich.table import Table

        from wandb_local_kit.smoke import status

        t = Table.grid(padding=(0, 2))
        for name, state in states.items():
            # A long check says what it is doing (wandb_local_kit.smoke.status): bytes and rate.
            now = None
            if state == "running":
                for workdir in Path(ctx.workdir).glob(f"smoke-{name}-*"):
                    now = status.read(workdir) or now
            t.add_row(name, f"{state}: {status.describe(now)}" if now else state)
        t.add_row("", f"{time.monotonic() - started:.0f} s")
        return t

    with Live(console=console, refresh_per_second=2, transient=True, get_renderable=render) as live:

        def update(name: str, state: str) -> None:
            states[name] = state
            live.update(render())
            if not console.is_terminal and state != "running":
                console.print(f"{name}: {state}", highlight=False)
                console.file.flush()  # a pipe buffers: a log shows it when it happens

        with Watchdog(ctx.base_url, ctx.ca_file) as watchdog:
            results = runner.run_checks(
                checks, ctx, args.parallel, update, args.check_timeout, watchdog
            )
    return results, watchdog.vanished


def _finish(console, args, ctx, results, started, interrupted=False, vanished="") -> dict:
    """The verdict, the reports asked for, then the runs deleted (unless --keep) and the
    scratch directory with them; returns the counts."""
    from wandb_local_kit.smoke import report

    wall = time.monotonic() - started
    console.print(report.console_table(results))
    counts = report.summary_counts(results)
    meta = {"server": ctx.base_url, "project": ctx.project, "tag": ctx.tag,
            "wall_seconds": round(wall, 2)}  # fmt: skip
    if interrupted:
        meta["interrupted"] = True
    if args.json or args.junit or args.html:
        meta.update(_tested(ctx, asked=not vanished))
    _write_reports(args, results, meta, counts, ctx.api_key)
    cut = f", {counts[INTERRUPTED]} interrupted" if interrupted else ""
    console.print(
        f"{counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped, {counts['warning']} with warnings{cut} "
        f"in {wall:.1f} s"
    )
    if vanished:
        # Nothing to delete on a server that is gone; its runs stay for the next smoke.
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    elif args.keep:
        console.print(
            f"kept the runs (project {ctx.project}, tag {ctx.tag}), and the checks' files "
            f"and logs in {ctx.workdir}"
        )
    else:
        try:
            _delete_runs(console, ctx)
        finally:
            # What the checks wrote and downloaded (a large artifact twice) is no use after.
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    if interrupted:
        finished = len(results) - counts[INTERRUPTED]
        console.print(
            f"smoke interrupted: {finished} of {len(results)} checks finished"
            + (", reports written" if args.json or args.junit or args.html else ""),
            style="yellow",
        )
    return counts


def _tested(ctx: SmokeContext, asked: bool) -> dict:
    """What a report says was tested: the kit's version and the server's own (its
    serverInfo), as the benchmarks record it; "unknown" when it did not say, or is gone."""
    from wandb_local_kit import __version__
    from wandb_local_kit.bench.identify import identify

    who = (
        identify(ctx.base_url, ctx.api_key, ctx.ca_file or True, timeout=10)
        if asked
        else {"version": None, "kind": "unknown", "why": "the server stopped answering"}
    )
    return {
        "kit_version": __version__,
        "server_version": who["version"] or "unknown",
        "server_kind": who["kind"],
    }


def _delete_runs(console, ctx: SmokeContext) -> None:
    """Deletes this invocation's runs; when that cannot finish (the server refused, or a
    second Ctrl-C), says how to remove the rest: the verdict stands either way."""
    from wandb_local_kit.smoke import runner

    stopped = False
    try:
        console.print(f"deleted {runner.cleanup(ctx)} smoke runs (--keep keeps them)")
        return
    except KeyboardInterrupt:  # Ctrl-C while deleting: say what is left, then end as Ctrl-C
        why, stopped = "interrupted", True
    except Exception as err:  # cleanup must never hide the verdict
        why = str(err)
    project = json.dumps(f"{ctx.entity}/{ctx.project}" if ctx.entity else f"/{ctx.project}")
    where = project if ctx.entity else f"api.default_entity + {project}"
    code = (
        "import wandb; api = wandb.Api(); [r.delete(delete_artifacts=True) for r in "
        f'api.runs({where}, filters={{"tags": {{"$in": [{json.dumps(ctx.tag)}]}}}})]'
    )
    # The key comes from the user's own login (WANDB_API_KEY or .netrc): never printed.
    console.print(
        f"could not delete the smoke runs ({why}); those left are in project {ctx.project}, "
        f"tagged {ctx.tag}. Remove them with: WANDB_BASE_URL={ctx.base_url} python -c "
        f"{shlex.quote(code)}",
        style="yellow",
        highlight=False,
        markup=False,
    )
    if stopped:
        raise KeyboardInterrupt
