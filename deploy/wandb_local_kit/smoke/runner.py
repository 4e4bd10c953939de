"""Runs the selected checks concurrently, each in its own worker process."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from wandb_local_kit.smoke import processes
from wandb_local_kit.smoke.context import (
    CHECK_TIMEOUT_S,
    FAIL,
    INTERRUPTED,
    CheckFailed,
    Result,
    SmokeContext,
)
from wandb_local_kit.smoke.registry import Check
from wandb_local_kit.smoke.watchdog import Watchdog


def worker_env(ctx: SmokeContext, scratch: str) -> dict[str, str]:
    """The SDK environment of a worker: this server, this key, and private SDK dirs so
    the user's own wandb settings and caches are neither read nor written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    for d in ("config", "cache", "data"):
        os.makedirs(os.path.join(scratch, d), exist_ok=True)
    env.update(
        WANDB_BASE_URL=ctx.base_url,
        WANDB_API_KEY=ctx.api_key,
        WANDB_SILENT="true",
        WANDB_CONSOLE="off",
        WANDB_DISABLE_GIT="true",
        WANDB_CONFIG_DIR=os.path.join(scratch, "config"),
        WANDB_CACHE_DIR=os.path.join(scratch, "cache"),
        WANDB_DATA_DIR=os.path.join(scratch, "data"),
        WANDB_ARTIFACT_DIR=os.path.join(scratch, "artifacts"),
        MPLBACKEND="Agg",
    )
    if ctx.ca_file:
        env.update(SSL_CERT_FILE=ctx.ca_file, REQUESTS_CA_BUNDLE=ctx.ca_file)
    return env


def run_one(
    check: Check, ctx: SmokeContext, timeout: float = CHECK_TIMEOUT_S, watchdog=None
) -> Result:
    workdir = tempfile.mkdtemp(prefix=f"smoke-{check.name}-", dir=ctx.workdir)
    cctx = replace(ctx, workdir=workdir)
    started = time.monotonic()
    worker = processes.spawn(
        [sys.executable, "-m", "wandb_local_kit.smoke.worker", check.name, str(timeout)],
        what=f"check {check.name}",
        workdir=workdir,
        name="worker",
        env=worker_env(cctx, workdir),
        ctx=cctx,
    )
    if watchdog:
        watchdog.watch(worker)
    try:
        return Result(**processes.result(worker, timeout))
    except CheckFailed as err:
        detail = watchdog.vanished if watchdog and watchdog.vanished else str(err)
        return Result(check.name, FAIL, round(time.monotonic() - started, 2), detail=detail)
    finally:
        if watchdog:
            watchdog.forget(worker)


class SmokeInterrupted(KeyboardInterrupt):
    """Ctrl-C while the checks ran: `results` holds every selected check, those that had
    not finished marked INTERRUPTED. A KeyboardInterrupt, so a caller that does not
    handle it still ends as Ctrl-C."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("interrupted")
        self.results = results


INTERRUPTED_DETAIL = "interrupted (Ctrl-C) before it finished: it proves nothing either way"


def run_checks(
    checks: list[Check],
    ctx: SmokeContext,
    parallel: int,
    on_update: Callable[[str, str], None] = lambda name, state: None,
    timeout: float = CHECK_TIMEOUT_S,
    watchdog=None,
) -> list[Result]:
    """Runs the checks, `parallel` at a time, each ended after `timeout` seconds (or
    when the watchdog finds the server gone); on_update(name, state) reports progress.
    On Ctrl-C the running checks are ended, no other starts, and SmokeInterrupted
    carries what finished."""
    # Without a watchdog, one that is never started: it only ends the running workers.
    guard = watchdog or Watchdog(ctx.base_url)
    stopping = threading.Event()

    def task(check: Check) -> Result:
        if stopping.is_set():
            return Result(check.name, INTERRUPTED, detail=INTERRUPTED_DETAIL)
        on_update(check.name, "running")
        result = run_one(check, ctx, timeout, guard)
        if stopping.is_set() and result.status == FAIL:
            # Ended by the Ctrl-C (its worker got SIGINT too), not a finding about the server.
            result = Result(check.name, INTERRUPTED, result.seconds, detail=INTERRUPTED_DETAIL)
        on_update(check.name, result.status)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(task, c) for c in checks]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        stopping.set()
        for f in futures:
            f.cancel()
        guard.end_all()
        pool.shutdown(wait=True)
        raise SmokeInterrupted(
            [_outcome(f, c) for f, c in zip(futures, checks, strict=True)]
        ) from None
    finally:
        pool.shutdown(wait=False)


def _outcome(future: Future, check: Check) -> Result:
    if future.done() and not future.cancelled() and future.exception() is None:
        return future.result()
    return Result(check.name, INTERRUPTED, detail=INTERRUPTED_DETAIL)


def cleanup(ctx: SmokeContext) -> int:
    """Deletes every run this invocation created (found by its tag), trusting the same
    CA the checks trusted (wandb.Api and its wandb-core read it from the environment)."""
    import wandb

    saved = {k: os.environ.get(k) for k in _CA_VARS}
    if ctx.ca_file:
        os.environ.update(dict.fromkeys(_CA_VARS, ctx.ca_file))
    try:
        api = wandb.Api(api_key=ctx.api_key, overrides={"base_url": ctx.base_url}, timeout=60)
        entity = ctx.entity or api.default_entity
        deleted = 0
        for run in api.runs(f"{entity}/{ctx.project}", filters={"tags": {"$in": [ctx.tag]}}):
            run.delete(delete_artifacts=True)
            deleted += 1
        return deleted
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_CA_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
