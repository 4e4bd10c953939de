"""Sweeps: wandb.sweep + wandb.agent(count=N), grid and random, read back with wandb.Api.

The SDK's agent polls the server every 5 s for its next run, so a sweep costs about 5 s per
run; both sweeps run at once, in processes of their own, to keep the test short.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.portable

AGENT = textwrap.dedent("""
    import json, sys, wandb
    project, config, count = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    sweep_id = wandb.sweep(sweep=config, project=project)

    def train():
        with wandb.init() as run:
            x, y = run.config["x"], run.config["y"]
            run.log({"score": x * 10 + y})

    wandb.agent(sweep_id, function=train, count=count)
    print("SWEEP_ID=" + sweep_id)
""")


@pytest.mark.slow
def test_sweeps_grid_and_random(wandb_env, api, project, tmp_path):
    import json
    import os

    grid = {
        "method": "grid",
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"x": {"values": [1, 2]}, "y": {"values": [0.5, 0.25]}},
    }
    rand = {
        "method": "random",
        "metric": {"name": "score", "goal": "minimize"},
        "parameters": {
            "x": {"min": 0, "max": 9},
            "y": {"distribution": "uniform", "min": 0.0, "max": 1.0},
        },
    }
    env = {k: v for k, v in os.environ.items()}
    procs = {}
    for name, cfg, count in (("grid", grid, 4), ("random", rand, 3)):
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", AGENT, f"{project}-{name}", json.dumps(cfg), str(count)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    ids = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, f"{name} agent failed:\n{out}\n{err}"
        ids[name] = next(
            line.split("=", 1)[1] for line in out.splitlines() if line.startswith("SWEEP_ID=")
        )

    sweep = api.sweep(f"admin/{project}-grid/{ids['grid']}")
    runs = list(sweep.runs)
    points = sorted((r.config["x"], r.config["y"]) for r in runs)
    assert points == sorted(itertools.product([1, 2], [0.5, 0.25]))  # every grid point, once
    for r in runs:
        assert r.state == "finished" and r.sweep.id == ids["grid"]
        assert r.summary["score"] == r.config["x"] * 10 + r.config["y"]
    assert sweep.config["method"] == "grid"

    sweep = api.sweep(f"admin/{project}-random/{ids['random']}")
    runs = list(sweep.runs)
    assert len(runs) == 3
    for r in runs:
        assert isinstance(r.config["x"], int) and 0 <= r.config["x"] <= 9
        assert 0.0 <= r.config["y"] <= 1.0
        assert r.summary["score"] == pytest.approx(r.config["x"] * 10 + r.config["y"])
    assert len({(r.config["x"], r.config["y"]) for r in runs}) == 3
