"""Sweeps: grid and random with wandb.agent, and two agents in parallel processes
on one sweep (a launcher's distributed search).

wandb.agent asks the server for one trial per heartbeat, every 5 s, whatever the
server; so the scenarios run side by side, each agent runs two or three trials, and the
single-agent grid has two points."""

from __future__ import annotations

import itertools

from wandb_local_kit.smoke import evidence, sdk
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


def _check_sweep(
    ctx, rec, sweep_id: str, runs: list[dict], label: str, grid: bool, space=None
) -> None:
    space = list(space) if space is not None else None  # a grid's points
    _show_sweep(ctx, rec, sweep_id, runs, label, space)
    expect_true(f"{label}: agents ran trials", bool(runs), "no run was started")
    combos = [(r["a"], r["b"]) for r in runs]
    for a, b in combos:
        expect_true(
            f"{label}: parameters in the search space",
            (a, b) in space if space else (a in A_VALUES and b in B_VALUES),
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


# long: one table built in one pass from both sides (agents' points, server's runs)
def _show_sweep(ctx, rec: Recorder, sweep_id: str, runs: list[dict], label: str, space) -> None:
    """The points each agent ran (parameters and score) as the agents logged them, beside
    the sweep's runs as the server lists them, with the best run marked, a point run
    twice flagged and, for a grid, a point never run listed as missing."""
    space = list(space or ())  # the grid's points (an iterator), used for both sides
    columns = ["agent", "run", "a", "b", "score", "mark"]
    agent_of = {r["path"].split("/")[-1]: r.get("agent", "agent 0") for r in runs}

    def rows_and_points(trials, best_id):
        seen: dict = {}
        for t in trials:
            seen[(t["a"], t["b"])] = seen.get((t["a"], t["b"]), 0) + 1
        rows, pts = [], []
        for t in sorted(trials, key=lambda t: (str(t["agent"]), str(t["a"]), str(t["b"]))):
            twice = seen[(t["a"], t["b"])] > 1
            best = t["run"] == best_id
            mark = ", ".join(filter(None, ["best" if best else "", "twice" if twice else ""]))
            rows.append([t["agent"], t["run"], t["a"], t["b"], t["score"], mark])
            if isinstance(t["a"], (int, float)) and isinstance(t["score"], (int, float)):
                pts.append(
                    {
                        "x": t["a"],
                        "y": t["score"],
                        "group": t["agent"],
                        "best": best,
                        "duplicate": twice,
                    }
                )
        for a, b in sorted(set(space) - set(seen), key=str):
            rows.append(["-", "-", a, b, "-", "missing"])
        return rows, pts

    logged = [
        {
            "agent": agent_of[r["path"].split("/")[-1]],
            "run": r["path"].split("/")[-1],
            "a": r["a"],
            "b": r["b"],
            "score": _score(r["a"], r["b"]),
        }
        for r in runs
    ]
    top = max((t["score"] for t in logged), default=None)
    best_logged = next((t["run"] for t in logged if t["score"] == top), None)
    read, best_read, note = None, None, ""
    if runs:
        entity, project, _ = runs[0]["path"].split("/")
        try:
            sweep = sdk.api().sweep(f"{entity}/{project}/{sweep_id}")
            best = sweep.best_run()
            best_read = best.id if best else None
            read = [
                {
                    "agent": agent_of.get(r.id, "?"),
                    "run": r.id,
                    "a": r.config.get("a"),
                    "b": r.config.get("b"),
                    "score": r.summary.get("score"),
                }
                for r in sweep.runs
            ]
        except Exception as err:  # what the server could not answer is what the report says
            note = f"the server could not list the sweep ({type(err).__name__}: {err})"
    logged_rows, logged_pts = rows_and_points(logged, best_logged)
    read_rows, read_pts = rows_and_points(read, best_read) if read is not None else (None, None)
    what = f"{label}: points each agent ran"
    rec.show(
        evidence.table(
            what,
            columns,
            logged_rows,
            columns,
            read_rows,
            note,
            # the mark says which is best and what ran twice; a tie may be either
            compare=columns[:5],
            max_rows=40,
        )
    )
    rec.show(
        evidence.points(
            f"{label}: a against score", ("a (b=y adds 1)", "score"), logged_pts, read_pts, note
        )
    )


def run_sweeps(ctx: SmokeContext, rec: Recorder) -> None:
    one_agent_a, two_agents_a = A_VALUES[:1], A_VALUES[:2]
    small = list(itertools.product(one_agent_a, B_VALUES))
    shared = list(itertools.product(two_agents_a, B_VALUES))
    grid_id, random_id = _sweep(ctx, "grid", one_agent_a), _sweep(ctx, "random")
    shared_id = _sweep(ctx, "grid", two_agents_a)
    # One agent can take a count: it is handed every point of its small grid.
    grid_agent = start_actor(ctx, "sweep", grid_id, str(len(small)))
    random_agent = start_actor(ctx, "sweep", random_id, str(ctx.sweep_count))
    ran = sdk.scratch(ctx, "shared-grid-ran")
    shared_agents = [
        start_actor(ctx, "sweep", shared_id, "0", str(len(shared)), ran) for _ in range(2)
    ]

    grid = collect(grid_agent, "grid agent")["runs"]
    _check_sweep(ctx, rec, grid_id, grid, "grid", grid=True, space=small)
    expect("grid: every point once", sorted(small), sorted((r["a"], r["b"]) for r in grid))
    rec.compared_(f"grid sweep: all {len(small)} points once, parameters, best run")

    rnd = collect(random_agent, "random agent")["runs"]
    expect("random: trials run", ctx.sweep_count, len(rnd))
    _check_sweep(ctx, rec, random_id, rnd, "random", grid=False)
    rec.compared_(f"random sweep: {ctx.sweep_count} trials, parameters, best run")

    runs = [
        {**r, "agent": f"agent {i}"}
        for i, p in enumerate(shared_agents)
        for r in collect(p, f"parallel agent {i}")["runs"]
    ]
    _check_sweep(ctx, rec, shared_id, runs, "two parallel agents", grid=True, space=shared)
    expect(
        "two parallel agents: every grid point once",
        sorted(shared),
        sorted((r["a"], r["b"]) for r in runs),
    )
    rec.compared_(f"two agents in parallel processes: {len(shared)} grid points, none twice")
