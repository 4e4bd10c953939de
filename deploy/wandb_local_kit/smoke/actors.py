"""Child processes some checks start: group members, sweep agents, concurrent runs.

    python -m wandb_local_kit.smoke.actors ACTOR [ARGS...]   (context: see processes.spawn)
Each writes what it did as JSON to its result file, for processes.collect().
"""

from __future__ import annotations

import sys
import time

from wandb_local_kit.smoke import processes, sdk
from wandb_local_kit.smoke.context import SmokeContext

GROUP_STEPS = 20


def group_member(ctx: SmokeContext, group: str, index: str) -> dict:
    i = int(index)
    run = sdk.init(ctx, f"group-{i}", group=group, job_type="worker", tags=["group"])
    for step in range(GROUP_STEPS):
        run.log({"value": i * 1000 + step}, step=step)
    out = {"path": sdk.run_path(run), "index": i}
    run.finish()
    return out


def concurrent_member(ctx: SmokeContext, index: str, steps: str) -> dict:
    i = int(index)
    started = time.time()  # for the report's timeline of the runs that overlapped
    run = sdk.init(ctx, f"concurrent-{i}", tags=["concurrency"], config={"member": i})
    for step in range(int(steps)):
        run.log({"x": i + step / 1000.0}, step=step)
    out = {"path": sdk.run_path(run), "index": i}
    run.finish()
    return {**out, "started": started, "ended": time.time()}


def sweep_agent(ctx: SmokeContext, sweep_id: str, count: str) -> dict:
    import wandb

    seen = []

    def train():
        run = sdk.init(ctx, "sweep-trial", tags=["sweep"])
        a, b = run.config["a"], run.config["b"]
        run.log({"score": float(a) * 10 + (1 if b == "y" else 0)})
        seen.append({"path": sdk.run_path(run), "a": a, "b": b})
        run.finish()

    wandb.agent(sweep_id, function=train, count=int(count), project=ctx.project, entity=ctx.entity)
    return {"runs": seen}


ACTORS = {"group": group_member, "concurrent": concurrent_member, "sweep": sweep_agent}


if __name__ == "__main__":
    actor, *args = sys.argv[1:]
    processes.run_as_child(lambda ctx: ACTORS[actor](ctx, *args))
