"""Sweeps: grid and random with wandb.agent, and two agents in parallel processes
on one sweep (a launcher's distributed search).

wandb.agent asks the server for one trial per heartbeat, every 5 s, whatever the
server; so the scenarios run side by side and the single-agent grid is small."""

from __future__ import annotations

import itertools

from wandb_local_kit.smoke import sdk
from wandb_local_kit.smoke.context import Recorder, SmokeContext, expect, expect_true
from wandb_local_kit.smoke.processes import collect, start_actor

A_VALUES, B_VALUES = [1, 2, 3], ["x", "y"]


def _sweep(ctx: SmokeContext, method: str, a_values=A_VALUES) -> str:
    import wandb

    params = {"a": {"values": list(a_values)}, "b": {"values": B_VALUES}}
    config = {
        "name": f"smoke-{method}-{ctx.tag}",
        "method": method,
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": params,
    }
    return wandb.sweep(config, project=ctx.project, entity=ctx.entity)


def _score(a, b) -> float:
    return float(a) * 10 + (1 if b == "y" else 0)


def _check_sweep(ctx, rec, sweep_id: str, runs: list[dict], label: str, grid: bool) -> None:
    expect_true(f"{label}: agents ran trials", bool(runs), "no run was started")
    combos = [(r["a"], r["b"]) for r in runs]
    for a, b in combos:
        expect_true(
            f"{label}: parameters in the search space",
            a in A_VALUES and b in B_VALUES,
            f"got a={a!r}, b={b!r}",
        )
    if grid:
        expect_true(
            f"{label}: no grid point twice", len(set(combos)) == len(combos), f"runs had {combos}"
        )
    entity, project, _ = runs[0]["path"].split("/")
    sweep = sdk.api().sweep(f"{entity}/{project}/{sweep_id}")
    server_runs = {r.id: r for r in sweep.runs}
    for r in runs:
        rid = r["path"].split("/")[-1]
        expect_true(
            f"{label}: run {rid} belongs to the sweep",
            rid in server_runs,
            f"sweep lists {sorted(server_runs)}",
        )
        cfg = server_runs[rid].config
        expect(
            f"{label}: run {rid} swept parameters",
            {"a": r["a"], "b": r["b"]},
            {"a": cfg.get("a"), "b": cfg.get("b")},
        )
    best = sweep.best_run()
    top = max(_score(r["a"], r["b"]) for r in runs)
    # A random search may draw the best point twice: either run is the best.
    best_ids = {r["path"].split("/")[-1] for r in runs if _score(r["a"], r["b"]) == top}
    expect_true(
        f"{label}: best run by score",
        best is not None and best.id in best_ids,
        f"server says {best.id if best else None}, expected one of {sorted(best_ids)}",
    )
    rec.run_urls += [sdk.run_url(ctx, r["path"]) for r in runs]


def run_sweeps(ctx: SmokeContext, rec: Recorder) -> None:
    small_a = A_VALUES[:2]
    small, full = len(small_a) * len(B_VALUES), len(A_VALUES) * len(B_VALUES)
    grid_id, random_id = _sweep(ctx, "grid", small_a), _sweep(ctx, "random")
    shared_id = _sweep(ctx, "grid")
    grid_agent = start_actor(ctx, "sweep", grid_id, str(small))
    random_agent = start_actor(ctx, "sweep", random_id, str(ctx.sweep_count))
    shared_agents = [start_actor(ctx, "sweep", shared_id, str(full // 2)) for _ in range(2)]

    grid = collect(grid_agent, "grid agent")["runs"]
    _check_sweep(ctx, rec, grid_id, grid, "grid", grid=True)
    expect(
        "grid: every point once",
        sorted(itertools.product(small_a, B_VALUES)),
        sorted((r["a"], r["b"]) for r in grid),
    )
    rec.compared_(f"grid sweep: all {small} points once, parameters, best run")

    rnd = collect(random_agent, "random agent")["runs"]
    expect("random: trials run", ctx.sweep_count, len(rnd))
    _check_sweep(ctx, rec, random_id, rnd, "random", grid=False)
    rec.compared_(f"random sweep: {ctx.sweep_count} trials, parameters, best run")

    runs = [
        r for i, p in enumerate(shared_agents) for r in collect(p, f"parallel agent {i}")["runs"]
    ]
    _check_sweep(ctx, rec, shared_id, runs, "two parallel agents", grid=True)
    expect(
        "two parallel agents: every grid point once",
        sorted(itertools.product(A_VALUES, B_VALUES)),
        sorted((r["a"], r["b"]) for r in runs),
    )
    rec.compared_(f"two agents in parallel processes: {full} grid points, none twice")
