"""Child processes some checks start: group members, sweep agents, concurrent runs.

    python -m wandb_local_kit.smoke.actors ACTOR [ARGS...]   (context: see processes.spawn)
Each writes what it did as JSON to its result file, for processes.collect().
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

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


def sweep_agent(
    ctx: SmokeContext, sweep_id: str, count: str, grid: str = "", ran: str = ""
) -> dict:
    """wandb.agent on the sweep, for `count` trials, or with a count of 0 until the server
    says the sweep is done: agents sharing a grid cannot know their shares, and an agent
    that stops at a count can leave a point the server handed it never run.

    Agents sharing a grid of `grid` points also note each point they finish in the
    directory `ran`, and stop once together they have run them all. pyagent itself
    notices the server's `exit` only 5-10 s after its last trial (a queue poll, then a
    sleep), as long as the rest of the check. What the server recorded is still what
    the check compares."""
    import threading

    import wandb

    seen, trial = [], threading.Lock()

    def train():
        with trial:
            run = sdk.init(ctx, "sweep-trial", tags=["sweep"])
            a, b = run.config["a"], run.config["b"]
            run.log({"score": float(a) * 10 + (1 if b == "y" else 0)})
            seen.append({"path": sdk.run_path(run), "a": a, "b": b})
            run.finish()
            if ran:
                Path(ran, f"{a}-{b}").touch()

    failed: list[BaseException] = []

    def work():
        try:
            wandb.agent(
                sweep_id,
                function=train,
                count=int(count) or None,
                project=ctx.project,
                entity=ctx.entity,
            )
        except BaseException as err:  # raised again in the actor's main thread
            failed.append(err)

    # A daemon: an idle agent waiting on its next poll ends with the process.
    agent = threading.Thread(target=work, daemon=True)
    agent.start()
    while agent.is_alive():
        agent.join(SWEEP_POLL_S)
        with trial:  # never leave while a trial of this agent runs
            if grid and len(os.listdir(ran)) >= int(grid):
                break
    if failed:
        raise failed[0]
    return {"runs": seen}


SWEEP_POLL_S = 0.5


ACTORS = {"group": group_member, "concurrent": concurrent_member, "sweep": sweep_agent}


if __name__ == "__main__":
    actor, *args = sys.argv[1:]
    processes.run_as_child(lambda ctx: ACTORS[actor](ctx, *args))
