"""Multi-process checks: process groups and concurrent runs."""

from __future__ import annotations

from wandb_local_kit.smoke import sdk
from wandb_local_kit.smoke.actors import GROUP_STEPS
from wandb_local_kit.smoke.context import Recorder, SmokeContext, expect, expect_true
from wandb_local_kit.smoke.processes import collect, start_actor

GROUP_SIZE = 3


def run_group(ctx: SmokeContext, rec: Recorder) -> None:
    group = f"smoke-group-{ctx.tag}"
    procs = [start_actor(ctx, "group", group, str(i)) for i in range(GROUP_SIZE)]
    members = [collect(p, f"group member {i}") for i, p in enumerate(procs)]
    by_path = {m["path"]: m["index"] for m in members}
    entity, project, _ = members[0]["path"].split("/")
    found = list(sdk.api().runs(f"{entity}/{project}", filters={"group": group}))
    rec.run_urls += [sdk.run_url(ctx, m["path"]) for m in members]
    expect(
        "runs found by group", sorted(by_path), sorted(f"{entity}/{project}/{r.id}" for r in found)
    )
    for run in found:
        i = by_path[f"{entity}/{project}/{run.id}"]
        expect(f"member {i} group", group, run.group)
        expect(f"member {i} job_type", "worker", run.job_type)
        rows = sorted(run.scan_history(keys=["value"]), key=lambda r: r["_step"])
        expect(
            f"member {i} history",
            [i * 1000 + s for s in range(GROUP_STEPS)],
            [r.get("value") for r in rows],
        )
    rec.compared_(f"{GROUP_SIZE} processes in one group: membership, job type, own history")


def run_concurrency(ctx: SmokeContext, rec: Recorder) -> None:
    steps = 50
    procs = [start_actor(ctx, "concurrent", str(i), str(steps)) for i in range(ctx.concurrency)]
    members = [collect(p, f"concurrent run {i}") for i, p in enumerate(procs)]
    expect_true("all concurrent runs finished", len(members) == ctx.concurrency)
    for m in members:
        run = sdk.fetch_run(m["path"])
        i = m["index"]
        expect(f"concurrent run {i} config", {"member": i}, {"member": run.config.get("member")})
        rows = sorted(run.scan_history(keys=["x"]), key=lambda r: r["_step"])
        expect(
            f"concurrent run {i} history",
            [i + s / 1000.0 for s in range(steps)],
            [r.get("x") for r in rows],
        )
    rec.compared_(f"{ctx.concurrency} runs at once: every step of each read back")
