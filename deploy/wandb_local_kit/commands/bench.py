"""`wandb-kit bench`: options, the phases in order within a time bound, the report."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import tempfile
import time

from wandb_local_kit.commands.argtypes import output_file
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, KitError


def configure(p: argparse.ArgumentParser) -> None:
    from wandb_local_kit.commands.common import add_target_options

    add_target_options(p)
    p.add_argument("--runs", type=int, default=4, help="concurrent runs (processes)")
    p.add_argument("--steps", type=int, default=200, help="steps per run")
    p.add_argument("--keys", type=int, default=10, help="scalars per step")
    p.add_argument("--images", type=int, default=50, help="images in the media phase")
    p.add_argument("--artifact-mib", type=int, default=64, help="artifact size (MiB)")
    p.add_argument(
        "--duration",
        type=float,
        default=900,
        help="upper bound for the whole benchmark in seconds (default 900)",
    )
    p.add_argument(
        "--ramp",
        action="store_true",
        help="raise --runs (1, 2, 4, ...) until errors or lag exceed the bounds",
    )
    p.add_argument("--max-runs", type=int, default=64, help="ramp: largest N tried")
    p.add_argument(
        "--max-lag",
        type=float,
        default=30.0,
        help="ramp: readable lag (s) above which N is past the knee",
    )
    p.add_argument("--project", default="wandb-kit-bench")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the runs and their local files (default: delete them)",
    )
    p.add_argument("--json", type=output_file, help="write the results as JSON here")
    p.add_argument(
        "--html",
        type=output_file,
        help="write one self-contained HTML page here: rate over concurrency with the "
        "knee, latency percentiles, server CPU and memory, as plots",
    )


def _check_bounds(args) -> None:
    for name in ("runs", "steps", "keys", "images", "artifact_mib", "max_runs"):
        value = getattr(args, name)
        if value < 1 or value > 100_000:
            raise KitError(
                f"--{name.replace('_', '-')} {value} is out of range",
                fix="use a value from 1 to 100000",
            )
    if args.duration <= 0:
        raise KitError("--duration must be positive", fix="e.g. --duration 600")


def run(args) -> int:
    from rich.console import Console

    from wandb_local_kit.bench import phases
    from wandb_local_kit.bench.resources import Sampler
    from wandb_local_kit.commands.common import target as target_from_args
    from wandb_local_kit.server.client import ensure_reachable, find_key
    from wandb_local_kit.smoke.context import SmokeContext
    from wandb_local_kit.smoke.runner import cleanup, worker_env

    _check_bounds(args)
    console = Console(soft_wrap=True)  # a URL in a pipe stays on one line
    target = target_from_args(args)
    key, _ = find_key(target)
    if not key:
        raise KitError(f"no API key for {target.url}", fix="run `wandb-kit login` first")
    ca = target.verify if isinstance(target.verify, str) else None
    ensure_reachable(target.url, key, ca)
    tag = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    ctx = SmokeContext(
        base_url=target.url,
        api_key=key,
        project=args.project,
        tag=tag,
        workdir=tempfile.mkdtemp(prefix="wandb-kit-bench-"),
        ca_file=ca,
    )
    # This process reads back through wandb.Api too: same private SDK environment as
    # the benchmark's child processes (this server, this key, no user settings).
    os.environ.update(worker_env(ctx, ctx.workdir))
    deadline = time.monotonic() + args.duration
    project = target.values.get("COMPOSE_PROJECT_NAME") if target.is_local_stack else None
    from wandb_local_kit.bench.identify import identify

    result: dict = {
        "server": target.url,
        # which server was measured: version, stand-in or W&B server as far as can be told
        "server_identity": identify(target.url, key, target.verify),
        "tag": tag,
        "parameters": {
            k: getattr(args, k)
            for k in ("runs", "steps", "keys", "images", "artifact_mib", "duration", "ramp")
        },
    }
    started = time.monotonic()
    try:
        with Sampler(project) as sampler:
            _phases(ctx, args, target, deadline, console, phases, result)
        result["resources"] = sampler.summary() if project else "not a local stack"
    except phases.PhaseError as err:
        raise KitError(
            f"benchmark stopped: {err}",
            fix="raise --duration or lower the sizes; `wandb-kit health` checks the server",
            exit_code=EXIT_FAILED,
        )
    finally:
        if not args.keep:
            try:
                cleanup(ctx)
            except Exception as err:  # cleanup must not hide the results
                console.print(f"could not delete the bench runs: {err}", style="yellow")
            # The runs' local files and the artifact blob (--artifact-mib) are no use after.
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    console.print(_table(result))
    _write_reports(args, result)
    ok = result["ingest"]["errors"] == 0 and result["ingest"]["unreadable_runs"] == 0
    return EXIT_OK if ok else EXIT_FAILED


def _phases(ctx, args, target, deadline, console, phases, result: dict) -> None:
    """The measured phases, in order, each filling its part of result."""
    console.print(f"bench: ingest {args.runs} runs x {args.steps} steps x {args.keys} scalars")
    result["ingest"] = phases.ingest(ctx, args.runs, args.steps, args.keys, deadline)
    if args.ramp:
        result["ramp"] = _ramp(ctx, args, deadline, console, phases)
    console.print(f"bench: media ({args.images} images)")
    result["media"] = phases.media(ctx, args.images, deadline)
    console.print(
        f"bench: artifact {args.artifact_mib} MiB through the SDK, then "
        "the same bytes by raw presigned PUT"
    )
    sdk_up = phases.artifact(ctx, args.artifact_mib, deadline)
    raw = phases.raw_put(ctx, args.artifact_mib, target.verify)
    result["artifact"] = {
        "sdk": sdk_up,
        "raw_put": raw,
        "sdk_over_raw": round(sdk_up["mib_per_second"] / raw["mib_per_second"], 3),
    }
    paths = result["ingest"].get("paths") or []
    if paths:
        result["readback"] = phases.readback(ctx, paths[0], result["media"]["path"])


def _write_reports(args, result: dict) -> None:
    """--json and --html, after the table is printed."""
    done = "the bench ran (its table is above); run it again for the file"
    if args.json:
        from wandb_local_kit.core import files

        files.write_text(args.json, json.dumps(result, indent=2), what="--json",
                         exit_code=EXIT_FAILED, done=done)  # fmt: skip
    if args.html:
        from wandb_local_kit.bench.html import bench_page
        from wandb_local_kit.core.htmlpage import write

        write(args.html, bench_page(result), EXIT_FAILED, done)


def _ramp(ctx, args, deadline, console, phases) -> dict:
    n, knee, tried = 1, None, []
    while n <= args.max_runs and time.monotonic() < deadline:
        console.print(f"bench: ramp N={n}")
        r = phases.ingest(ctx, n, args.steps, args.keys, deadline)
        ok = (
            r["errors"] == 0
            and r["readable_lag_seconds"] is not None
            and r["readable_lag_seconds"] <= args.max_lag
        )
        tried.append(
            {
                "runs": n,
                "steps_per_second": r["steps_per_second"],
                "readable_lag_seconds": r["readable_lag_seconds"],
                "errors": r["errors"],
                "within_bounds": ok,
            }
        )
        if not ok:
            break
        knee = n
        n *= 2
    return {"knee_runs": knee, "max_lag_seconds": args.max_lag, "tried": tried}


def _table(result: dict):
    from rich.table import Table

    t = Table(title="wandb-kit bench", show_header=True)
    t.add_column("measure")
    t.add_column("value", justify="right")
    who = result.get("server_identity") or {}
    t.add_row("server", f"{who.get('version') or 'unknown'} ({who.get('kind', 'unknown')})")
    i = result["ingest"]
    t.add_row(
        f"ingest: {i['runs']} runs x {i['steps']} steps x {i['keys']} scalars",
        f"{i['steps_per_second']} steps/s ({i.get('scalars_per_second', 0)} scalars/s)",
    )
    t.add_row(
        "ingest: lag until every step is readable",
        f"{i['readable_lag_seconds']} s"
        if i["readable_lag_seconds"] is not None
        else "NOT readable within --duration",
    )
    m = result["media"]
    t.add_row(
        "media: images logged and stored",
        f"{m['images_per_second']} images/s ({m['stored']}/{m['images']} stored)",
    )
    a = result["artifact"]
    t.add_row(
        f"artifact upload via SDK ({a['sdk']['mib']} MiB)", f"{a['sdk']['mib_per_second']} MiB/s"
    )
    t.add_row("raw presigned PUT, same bytes", f"{a['raw_put']['mib_per_second']} MiB/s")
    t.add_row("SDK / raw", f"{a['sdk_over_raw']}")
    if "readback" in result:
        r = result["readback"]
        t.add_row("read-back: run.history()", f"{r['history_ms_median']} ms (median)")
        t.add_row("read-back: file download", f"{r['file_download_ms_median']} ms (median)")
    if "ramp" in result:
        t.add_row("ramp: knee (largest N within bounds)", str(result["ramp"]["knee_runs"]))
    if isinstance(result.get("resources"), dict):
        for name, r in result["resources"].items():
            t.add_row(
                f"server {name}: CPU mean/peak, memory peak",
                f"{r['cpu_percent_mean']}% / {r['cpu_percent_peak']}%, {r['memory_mib_peak']} MiB",
            )
    t.add_row("wall time", f"{result['wall_seconds']} s")
    return t
