"""Child processes of the benchmark (one wandb run each), started by phases.py.

    python -m wandb_local_kit.bench.actor ingest INDEX STEPS KEYS
    python -m wandb_local_kit.bench.actor media  COUNT
    python -m wandb_local_kit.bench.actor artifact MIB
Each writes its timings to its result file (context and result: smoke.processes.spawn).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from wandb_local_kit.smoke import processes, sdk
from wandb_local_kit.smoke.context import SmokeContext


def ingest(ctx: SmokeContext, index: str, steps: str, keys: str) -> dict:
    run = sdk.init(ctx, f"bench-ingest-{index}", tags=["bench"])
    names = [f"m{k}" for k in range(int(keys))]
    started = time.monotonic()
    for step in range(int(steps)):
        run.log({n: step + k / 100 for k, n in enumerate(names)}, step=step)
    logged = time.monotonic()
    path = sdk.run_path(run)
    run.finish()
    done = time.monotonic()
    return {
        "path": path,
        "log_seconds": logged - started,
        "finish_seconds": done - logged,
        "finished_at": time.time(),
    }


def media(ctx: SmokeContext, count: str) -> dict:
    import numpy as np
    import wandb

    rng = np.random.default_rng(7)
    run = sdk.init(ctx, "bench-media", tags=["bench"])
    started = time.monotonic()
    for i in range(int(count)):
        run.log({"img": wandb.Image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))}, step=i)
    path = sdk.run_path(run)
    run.finish()
    return {"path": path, "seconds": time.monotonic() - started}


def artifact(ctx: SmokeContext, mib: str) -> dict:
    import wandb

    blob = os.path.join(sdk.scratch(ctx, "bench-art"), "blob.bin")
    with open(blob, "wb") as f:
        for _ in range(int(mib)):
            f.write(os.urandom(1 << 20))
    run = sdk.init(ctx, "bench-artifact", tags=["bench"])
    art = wandb.Artifact(f"bench-{ctx.tag}", type="bench")
    art.add_file(blob)
    started = time.monotonic()
    run.log_artifact(art)
    art.wait()
    seconds = time.monotonic() - started
    path = sdk.run_path(run)
    run.finish()
    return {"path": path, "seconds": seconds, "bytes": int(mib) << 20}


ACTIONS: dict[str, Callable[..., dict]] = {"ingest": ingest, "media": media, "artifact": artifact}


if __name__ == "__main__":
    action, *args = sys.argv[1:]
    processes.run_as_child(lambda ctx: ACTIONS[action](ctx, *args))
