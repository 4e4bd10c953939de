"""Logs the migration fixture into a server (WANDB_BASE_URL / WANDB_API_KEY): scalars over
many steps, every media type the smoke suite logs (image, video, plotly and matplotlib
plots, table, html, audio, histogram), a process group of separate processes, a sweep
run by an agent, and an artifact chain with lineage (dataset v0, v1 with an alias ->
model -> evaluation). Prints `KIT-FIXTURE {json}` with what it made.

Usage: python migrate_fixture.py PROJECT STEPS
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path


def settings():
    import wandb

    return wandb.Settings(silent=True, console="off", x_disable_stats=True)


def group_member(project: str, index: int) -> None:
    import wandb

    run = wandb.init(
        project=project,
        group="ddp",
        job_type="worker",
        name=f"rank-{index}",
        config={"rank": index},
        settings=settings(),
    )
    for step in range(20):
        run.log({"value": index * 1000 + step}, step=step)
    run.finish()


def media_run(project: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import plotly.graph_objects as go
    import wandb

    rng = np.random.default_rng(7)
    run = wandb.init(
        project=project,
        name="media",
        tags=["media", "fixture"],
        notes="every media type",
        settings=settings(),
    )
    video = rng.integers(0, 255, size=(4, 3, 16, 16), dtype=np.uint8)
    plt.figure()
    plt.plot([1, 2, 3], [3, 1, 2])
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype(np.float32)
    run.log(
        {
            "image": wandb.Image(rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8), caption="c"),
            "clip_gif": wandb.Video(video, fps=4, format="gif"),
            "plot_plotly": wandb.Plotly(go.Figure(data=go.Scatter(x=[1, 2], y=[2, 1]))),
            "plot_matplotlib": wandb.Plotly(plt.gcf()),
            "table": wandb.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]]),
            "html": wandb.Html("<h1>hello</h1>", inject=False),
            "tone": wandb.Audio(tone, sample_rate=8000, caption="440 Hz"),
            "weights": wandb.Histogram(rng.normal(size=200), num_bins=16),
        },
        step=0,
    )
    extra = Path(tempfile.mkdtemp()) / "notes.txt"
    extra.write_text("a user file\n")
    run.save(str(extra), base_path=str(extra.parent), policy="now")
    run.finish()
    return run.id


def scalars_run(project: str, steps: int) -> str:
    import wandb

    run = wandb.init(
        project=project,
        name="scalars",
        config={"lr": 0.01, "opt": {"b1": 0.9}},
        job_type="train",
        settings=settings(),
    )
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "acc": step / steps, "sub/x": step * 0.5}, step=step)
    run.summary["best_acc"] = 0.99
    run.finish(exit_code=1)  # a failed run keeps its state
    return run.id


def artifact_chain(project: str) -> list[str]:
    import wandb

    root = Path(tempfile.mkdtemp())
    ids = []
    run = wandb.init(project=project, name="prepare", job_type="data", settings=settings())
    for version in range(2):
        (root / "data.csv").write_text(f"x,y\n{version},1\n")
        art = wandb.Artifact(
            "dataset", type="dataset", description=f"v{version}", metadata={"rows": version + 1}
        )
        art.add_file(str(root / "data.csv"))
        run.log_artifact(art, aliases=["best"] if version == 1 else []).wait()
    run.finish()
    ids.append(run.id)
    run = wandb.init(project=project, name="train", job_type="train", settings=settings())
    run.use_artifact("dataset:best").download(root=str(root / "dl"))
    (root / "model.bin").write_bytes(os.urandom(4096))
    art = wandb.Artifact("model", type="model", metadata={"acc": 0.9})
    art.add_file(str(root / "model.bin"))
    run.log_artifact(art).wait()
    run.finish()
    ids.append(run.id)
    run = wandb.init(project=project, name="evaluate", job_type="eval", settings=settings())
    run.use_artifact("model:latest")
    run.log({"eval_acc": 0.9})
    run.finish()
    ids.append(run.id)
    return ids


def sweep(project: str) -> str:
    import wandb

    sweep_id = wandb.sweep(
        {
            "method": "grid",
            "metric": {"name": "score", "goal": "maximize"},
            "parameters": {"a": {"values": [1, 2]}},
        },
        project=project,
    )

    def train():
        run = wandb.init(settings=settings())
        run.log({"score": run.config["a"] * 2})
        run.finish()

    wandb.agent(sweep_id, function=train, count=2, project=project)
    return sweep_id


def main() -> None:
    project, steps = sys.argv[1], int(sys.argv[2])
    made = {"scalars": scalars_run(project, steps), "media": media_run(project)}
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=group_member, args=(project, i)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0, f"group member exited {p.exitcode}"
    made["chain"] = artifact_chain(project)
    made["sweep"] = sweep(project)
    print("KIT-FIXTURE " + json.dumps(made), flush=True)


if __name__ == "__main__":
    import sdk_exit  # beside this file (its folder is sys.path[0])

    sdk_exit.arm_watchdog()
    main()
    sdk_exit.exit_after_report()
