"""Logs a run with an image through the real wandb SDK, or reads one back.

Run as a subprocess by the integration tests so every test gets a clean SDK state
and its own environment (server URL, key, CA file):
  python sdk_roundtrip.py log PROJECT   -> prints {"path": ..., "debug_log": ...}
  python sdk_roundtrip.py check PATH    -> prints {"summary": ..., "image_ok": ...}
The image is derived from a fixed seed, so `check` can regenerate and compare it.
"""

from __future__ import annotations

import glob
import io
import json
import os
import sys

import numpy as np

SEED = 20261124


def pixels() -> np.ndarray:
    return np.random.default_rng(SEED).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)


def log(project: str) -> dict:
    import wandb

    fast_fail = os.environ.get("KIT_FAST_FAIL") == "1"
    settings = wandb.Settings(
        silent=True,
        # When a test expects uploads to fail, give up quickly instead of retrying.
        x_file_transfer_retry_max=1 if fast_fail else None,
        x_file_transfer_retry_wait_max_seconds=1 if fast_fail else None,
    )
    run = wandb.init(project=project, config={"kit": "roundtrip"}, settings=settings)
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.log({"sample": wandb.Image(pixels(), caption="seeded")}, step=5)
    path = f"{run.entity}/{run.project}/{run.id}"
    run_dir = run.dir
    run.finish()
    # The run's own log (debug-internal.log) records its upload failures.
    logs = sorted(glob.glob(os.path.join(os.path.dirname(run_dir), "logs", "debug*.log")))
    return {"path": path, "debug_log": "".join(open(f).read() for f in logs)}


def check(path: str) -> dict:
    import wandb
    from PIL import Image

    run = wandb.Api(timeout=30).run(path)
    out = {"summary_loss": run.summary.get("loss"), "config": dict(run.config), "image_ok": False}
    image_ref = run.summary.get("sample") or {}
    out["image_path"] = image_ref.get("path")
    names = [f.name for f in run.files()]
    out["files"] = names
    if out["image_path"] in names:
        # The URL clients fetch the file from (presigned, on the bucket endpoint when
        # storage is external).
        out["image_url"] = run.file(out["image_path"]).url
        buf = run.file(out["image_path"]).download(root=os.environ["KIT_TMP"], replace=True)
        buf.close()
        with open(os.path.join(os.environ["KIT_TMP"], out["image_path"]), "rb") as f:
            img = np.array(Image.open(io.BytesIO(f.read())).convert("RGB"))
        out["image_ok"] = bool(img.shape == pixels().shape and (img == pixels()).all())
    return out


def steps(project: str, count: str, pause: str) -> dict:
    """Logs `count` steps slowly, so a test can break the server while it runs."""
    import time

    import wandb

    run = wandb.init(project=project, settings=wandb.Settings(silent=True))
    print(f"KIT-STARTED {run.entity}/{run.project}/{run.id}", flush=True)
    for step in range(int(count)):
        run.log({"step_value": step * 3}, step=step)
        time.sleep(float(pause))
    path = f"{run.entity}/{run.project}/{run.id}"
    run.finish()
    return {"path": path}


def step_values(path: str) -> dict:
    import wandb

    run = wandb.Api(timeout=60).run(path)
    rows = sorted(run.scan_history(keys=["step_value"]), key=lambda r: r["_step"])
    return {
        "steps": [r["_step"] for r in rows],
        "values": [r["step_value"] for r in rows],
        "state": run.state,
    }


if __name__ == "__main__":
    import sdk_exit  # beside this file (its folder is sys.path[0])

    sdk_exit.arm_watchdog()
    action, args = sys.argv[1], sys.argv[2:]
    actions = {"log": log, "check": check, "steps": steps, "step_values": step_values}
    result = actions[action](*args)
    print("KIT-RESULT " + json.dumps(result))
    sdk_exit.exit_after_report()
