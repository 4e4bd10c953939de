"""Multi-process checks: process groups and concurrent runs."""

from __future__ import annotations

from wandb_local_kit.smoke import evidence, sdk
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
    histories = {
        run.id: sorted(run.scan_history(keys=["value"]), key=lambda r: r["_step"]) for run in found
    }
    _show_group(rec, group, members, found, histories)
    expect(
        "runs found by group", sorted(by_path), sorted(f"{entity}/{project}/{r.id}" for r in found)
    )
    for run in found:
        i = by_path[f"{entity}/{project}/{run.id}"]
        expect(f"member {i} group", group, run.group)
        expect(f"member {i} job_type", "worker", run.job_type)
        rows = histories[run.id]
        expect(
            f"member {i} history",
            [i * 1000 + s for s in range(GROUP_STEPS)],
            [r.get("value") for r in rows],
        )
    rec.compared_(f"{GROUP_SIZE} processes in one group: membership, job type, own history")


def _show_group(rec: Recorder, group: str, members: list[dict], found, histories) -> None:
    """The group's runs with their job types (as the members logged them, as the server
    lists them by group) and each member's history as a small chart."""
    columns = ["run", "group", "job type", "steps"]
    logged = sorted([m["path"].split("/")[-1], group, "worker", GROUP_STEPS] for m in members)
    read = sorted([r.id, r.group, r.job_type, len(histories[r.id])] for r in found)
    rec.show(evidence.table(f"runs in group {group}", columns, logged, columns, read))
    by_id = {r.id: r for r in found}
    for m in sorted(members, key=lambda m: m["index"]):
        i, rid = m["index"], m["path"].split("/")[-1]
        rows = histories.get(rid) if rid in by_id else None
        rec.show(
            evidence.plot(
                f"member {i} ({rid}): value over steps",
                evidence.series(range(GROUP_STEPS), [i * 1000 + s for s in range(GROUP_STEPS)]),
                None
                if rows is None
                else evidence.series([r["_step"] for r in rows], [r.get("value") for r in rows]),
                "" if rows is not None else "the server does not list this run in the group",
            )
        )


def run_concurrency(ctx: SmokeContext, rec: Recorder) -> None:
    steps = 50
    procs = [start_actor(ctx, "concurrent", str(i), str(steps)) for i in range(ctx.concurrency)]
    members = [collect(p, f"concurrent run {i}") for i, p in enumerate(procs)]
    expect_true("all concurrent runs finished", len(members) == ctx.concurrency)
    backs = {m["path"]: sdk.fetch_run(m["path"]) for m in members}
    histories = {
        p: sorted(run.scan_history(keys=["x"]), key=lambda r: r["_step"])
        for p, run in backs.items()
    }
    _show_timeline(rec, members, backs, histories, steps)
    for m in members:
        run = backs[m["path"]]
        i = m["index"]
        expect(f"concurrent run {i} config", {"member": i}, {"member": run.config.get("member")})
        rows = histories[m["path"]]
        expect(
            f"concurrent run {i} history",
            [i + s / 1000.0 for s in range(steps)],
            [r.get("x") for r in rows],
        )
    rec.compared_(f"{ctx.concurrency} runs at once: every step of each read back")


def _when(value) -> float | None:
    """A server timestamp (ISO 8601, UTC) as seconds since the epoch."""
    from datetime import datetime, timezone

    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _show_timeline(rec: Recorder, members, backs, histories, steps: int) -> None:
    """The runs that overlapped: from when each member started its run to when it
    finished (as the members timed it), beside the server's created/heartbeat times
    with the steps each run read back."""
    logged = [
        {"name": f"run {m['index']}", "start": m["started"], "end": m["ended"], "steps": steps}
        for m in members
        if "started" in m
    ]
    read = []
    for m in members:
        run = backs[m["path"]]
        start = _when(getattr(run, "created_at", None))
        end = _when(run._attrs.get("heartbeatAt")) if hasattr(run, "_attrs") else None
        if start is None:
            continue
        read.append(
            {
                "name": f"run {m['index']}",
                "start": start,
                "end": end if end and end >= start else start,
                "steps": len(histories[m["path"]]),
            }
        )
    rec.show(
        evidence.timeline(
            f"{len(members)} runs at once",
            logged or None,
            read or None,
            "" if read else "the server gave no creation times",
        )
    )
    rec.show(
        evidence.table(
            "steps each run read back",
            ["run", "steps"],
            [[f"run {m['index']}", steps] for m in members],
            ["run", "steps"],
            [[f"run {m['index']}", len(histories[m["path"]])] for m in members],
        )
    )
