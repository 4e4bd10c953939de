"""The benchmark's phases: ingest (N runs x M steps x K scalars, and the lag until
every step is readable), media, artifact upload through the SDK next to raw presigned
PUTs of the same bytes, and read-back latencies."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid

from wandb_local_kit.smoke import processes, sdk
from wandb_local_kit.smoke.context import CheckFailed, SmokeContext
from wandb_local_kit.smoke.runner import worker_env


class PhaseError(Exception):
    pass


def _start(ctx: SmokeContext, action: str, *args) -> processes.Child:
    scratch = tempfile.mkdtemp(prefix=f"bench-{action}-", dir=ctx.workdir)
    return processes.spawn(
        [sys.executable, "-m", "wandb_local_kit.bench.actor", action, *map(str, args)],
        what=f"benchmark {action} process",
        workdir=scratch,
        name=action,
        env=worker_env(ctx, scratch),
        ctx=ctx,
    )


def _collect(child: processes.Child, timeout: float) -> dict:
    """The child's timings; past the --duration bound it is ended and the phase fails."""
    try:
        return processes.result(child, max(1.0, timeout))
    except CheckFailed as err:
        raise PhaseError(str(err))


def _left(deadline: float) -> float:
    return deadline - time.monotonic()


def ingest(ctx: SmokeContext, runs: int, steps: int, keys: int, deadline: float) -> dict:
    procs = [_start(ctx, "ingest", i, steps, keys) for i in range(runs)]
    results, errors = [], []
    for p in procs:
        try:
            results.append(_collect(p, _left(deadline)))
        except PhaseError as err:
            errors.append(str(err))
    out = {
        "runs": runs,
        "steps": steps,
        "keys": keys,
        "errors": len(errors),
        "error_samples": errors[:3],
    }
    if not results:
        return {**out, "steps_per_second": 0.0, "readable_lag_seconds": None}
    # Accepted rate: every step logged and flushed (finish returned), over the span
    # from the first log call to the last finish, so process start-up is not counted.
    span = max(r["finished_at"] for r in results) - min(
        r["finished_at"] - r["log_seconds"] - r["finish_seconds"] for r in results
    )
    out["steps_per_second"] = round(len(results) * steps / span, 1)
    out["scalars_per_second"] = round(len(results) * steps * keys / span, 1)
    # End-to-end lag: from the last finish until wandb.Api reads every last step.
    api, pending = sdk.api(), {r["path"] for r in results}
    last_finish = max(r["finished_at"] for r in results)
    while pending and _left(deadline) > 0:
        for path in list(pending):
            if api.run(path).lastHistoryStep >= steps - 1:
                pending.discard(path)
        if pending:
            time.sleep(0.2)
    out["readable_lag_seconds"] = round(time.time() - last_finish, 2) if not pending else None
    out["unreadable_runs"] = len(pending)
    # Per run: from its first log call until finish() returned (every step flushed).
    out["run_seconds"] = sorted(round(r["log_seconds"] + r["finish_seconds"], 3) for r in results)
    out["paths"] = sorted(r["path"] for r in results)
    return out


def media(ctx: SmokeContext, images: int, deadline: float) -> dict:
    r = _collect(_start(ctx, "media", images), _left(deadline))
    run = sdk.fetch_run(r["path"])
    stored = sum(1 for f in run.files() if f.name.startswith("media/images/"))
    return {
        "images": images,
        "stored": stored,
        "seconds": round(r["seconds"], 2),
        "images_per_second": round(images / r["seconds"], 1),
        "path": r["path"],
    }


def artifact(ctx: SmokeContext, mib: int, deadline: float) -> dict:
    r = _collect(_start(ctx, "artifact", mib), _left(deadline))
    return {
        "mib": mib,
        "seconds": round(r["seconds"], 2),
        "mib_per_second": round(mib / r["seconds"], 1),
        "path": r["path"],
    }


def raw_put(ctx: SmokeContext, mib: int, verify) -> dict:
    """PUTs the same number of bytes to a presigned upload URL the server hands out
    (the storage endpoint the SDK uploads to), without the SDK in between. Any failure
    on the way is a PhaseError naming the step."""
    import requests

    from wandb_local_kit.server import client

    sess = client.session(verify=verify)
    step = "asking the server for an upload URL"
    try:
        entity = client.graphql(sess, ctx.base_url, ctx.api_key, "query { viewer { entity } }")[
            "viewer"
        ]["entity"]
        name = f"bench-raw-{uuid.uuid4().hex[:8]}"
        upload = client.signed_upload(
            sess, ctx.base_url, ctx.api_key, entity, ctx.project, name, "raw.bin"
        )
        path = os.path.join(ctx.workdir, "raw.bin")
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        step = f"PUT to {client.strip_query(upload.url)}"
        with open(path, "rb") as f:
            started = time.monotonic()
            resp = sess.put(
                upload.url,
                data=f,
                headers={**upload.headers, "Content-Length": str(mib << 20)},
                timeout=600,
            )
            seconds = time.monotonic() - started
        step = "deleting the probe run"
        # The probe run carries no tag for cleanup to find: delete it here.
        sdk.api().run(f"{entity}/{ctx.project}/{name}").delete()
    except (client.GraphQLError, requests.RequestException, OSError) as err:
        raise PhaseError(f"raw PUT phase failed while {step}: {client.reason(err)}")
    except (KeyError, IndexError, TypeError) as err:
        raise PhaseError(f"raw PUT phase: unexpected answer while {step} ({err!r})")
    except Exception as err:  # the SDK's own errors (CommError, ...) while deleting
        raise PhaseError(f"raw PUT phase failed while {step}: {type(err).__name__}: {err}")
    if resp.status_code >= 300:
        raise PhaseError(f"raw PUT answered HTTP {resp.status_code}")
    return {
        "mib": mib,
        "seconds": round(seconds, 2),
        "mib_per_second": round(mib / seconds, 1),
    }


def readback(ctx: SmokeContext, history_path: str, file_path: str, repeats: int = 5) -> dict:
    api = sdk.api()
    hist, down = [], []
    for _ in range(repeats):
        started = time.monotonic()
        api.run(history_path).history(pandas=False)
        hist.append(time.monotonic() - started)
    run = api.run(file_path)
    name = next(f.name for f in run.files() if f.name.startswith("media/images/"))
    for i in range(repeats):
        started = time.monotonic()
        sdk.download(run, name, sdk.scratch(ctx, f"readback-{i}"))
        down.append(time.monotonic() - started)
    return {
        "history_ms_median": round(statistics.median(hist) * 1000, 1),
        "file_download_ms_median": round(statistics.median(down) * 1000, 1),
        "repeats": repeats,
        "history_ms": [round(h * 1000, 1) for h in hist],
        "file_download_ms": [round(d * 1000, 1) for d in down],
    }
