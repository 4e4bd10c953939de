"""Offline: a run logged with mode=offline, then `wandb sync`, reads back like an
online run."""

from __future__ import annotations

import glob
import io
import os
import sys

from wandb_local_kit.smoke import processes, sdk
from wandb_local_kit.smoke.context import CheckFailed, Recorder, SmokeContext, expect

STEPS = 30


def run_offline(ctx: SmokeContext, rec: Recorder) -> None:
    import numpy as np
    import wandb
    from PIL import Image

    pixels = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    run = sdk.init(ctx, "offline", tags=["offline"], config={"mode": "offline"}, mode="offline")
    for step in range(STEPS):
        run.log({"y": step * step}, step=step)
    run.log({"still": wandb.Image(pixels)}, step=STEPS)
    run_id = run.id
    run.finish()
    dirs = glob.glob(os.path.join(ctx.workdir, "wandb", f"offline-run-*-{run_id}"))
    if not dirs:
        raise CheckFailed(f"offline run directory for {run_id} not found under {ctx.workdir}")
    sync = processes.spawn(
        [
            sys.executable,
            "-m",
            "wandb",
            "sync",
            "--project",
            ctx.project,
            *(["--entity", ctx.entity] if ctx.entity else []),
            dirs[0],
        ],
        what="`wandb sync`",
        workdir=ctx.workdir,
        name="wandb-sync",
    )
    code = processes.wait(sync, timeout=300)
    if code != 0:
        raise CheckFailed(f"`wandb sync` exited {code}: {sync.log_tail(400)}")
    entity = ctx.entity or sdk.api().default_entity
    path = f"{entity}/{ctx.project}/{run_id}"
    rec.run_urls.append(sdk.run_url(ctx, path))
    back = sdk.fetch_run(path)
    expect("synced config", {"mode": "offline"}, {"mode": back.config.get("mode")})
    rows = sorted((r for r in back.scan_history(keys=["y"])), key=lambda r: r["_step"])
    expect("synced history", [s * s for s in range(STEPS)], [r.get("y") for r in rows])
    image = sdk.download_media(
        back, back.summary.get("still"), "synced image", sdk.scratch(ctx, "offline-down")
    )
    got = np.array(Image.open(io.BytesIO(image)).convert("RGB"))
    expect("synced image pixels", pixels.tolist(), got.tolist())
    rec.compared_(f"offline run + wandb sync: config, {STEPS} steps, image pixels")
