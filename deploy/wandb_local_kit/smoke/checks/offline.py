"""Offline: a run logged with mode=offline, then `wandb sync`, reads back like an
online run."""

from __future__ import annotations

import glob
import io
import os
import sys

from wandb_local_kit.smoke import evidence, offline_log, processes, sdk, testmedia
from wandb_local_kit.smoke.context import CheckFailed, Recorder, SmokeContext, expect

STEPS = 30


def run_offline(ctx: SmokeContext, rec: Recorder) -> None:
    import numpy as np
    import wandb
    from PIL import Image

    pixels = testmedia.pattern("offline", 48, 64, hue=120)
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
    rows = sorted((r for r in back.scan_history(keys=["y"])), key=lambda r: r["_step"])
    _show(ctx, rec, dirs[0], run_id, back, rows)
    expect("synced config", {"mode": "offline"}, {"mode": back.config.get("mode")})
    expect("synced history", [s * s for s in range(STEPS)], [r.get("y") for r in rows])
    image = sdk.download_media(
        back, back.summary.get("still"), "synced image", sdk.scratch(ctx, "offline-down")
    )
    got = np.array(Image.open(io.BytesIO(image)).convert("RGB"))
    expect("synced image pixels", pixels.tolist(), got.tolist())
    rec.compared_(f"offline run + wandb sync: config, {STEPS} steps, image pixels")


SIDES = ("offline run, before sync", "synced run, after sync")


def _show(ctx: SmokeContext, rec: Recorder, run_dir: str, run_id: str, back, rows) -> None:
    """The offline run as its directory holds it (the history in its .wandb file, the
    image in its media folder) beside the run the server has after `wandb sync`."""
    before, note = [], ""
    try:
        before = offline_log.history(glob.glob(os.path.join(run_dir, "*.wandb"))[0])
    except Exception as err:  # what could not be read is what the report says
        note = f"the offline run's .wandb file could not be read ({type(err).__name__}: {err})"
    ys = [(r["_step"], r["y"]) for r in before if "y" in r and "_step" in r]
    after = [(r["_step"], r.get("y")) for r in rows if r.get("y") is not None]
    rec.show(
        evidence.plot(
            "y over steps",
            evidence.series([s for s, _ in ys], [y for _, y in ys]),
            evidence.series([s for s, _ in after], [y for _, y in after]),
            note,
            sides=SIDES,
        )
    )
    columns = ["run", "config.mode", "history rows"]
    rec.show(
        evidence.table(
            "the run",
            columns,
            [[run_id, "offline", len(ys)]],
            columns,
            [[back.id, back.config.get("mode"), len(after)]],
            sides=SIDES,
        )
    )
    still = next((r for r in before if "still.path" in r), {})
    local = os.path.join(run_dir, "files", str(still.get("still.path", "")))
    ref = back.summary.get("still")
    synced = None
    try:
        if hasattr(ref, "get") and ref.get("path"):
            synced = sdk.download(back, ref["path"], sdk.scratch(ctx, "offline-shown"))
    except CheckFailed:
        synced = None
    rec.show(_image_sides(local, synced))


def _image_sides(local: str, synced: bytes | None) -> dict:
    import numpy as np
    from PIL import Image

    try:
        before = np.array(Image.open(local).convert("RGB"))
    except OSError:
        return evidence.text("still image", f"no image file in {local}", None)
    ev = evidence.image("still image", before, synced, "" if synced else "not read back")
    return {**ev, "sides": list(SIDES)}
