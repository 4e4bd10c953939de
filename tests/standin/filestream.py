"""POST /files/<entity>/<project>/<run>/file_stream: history, summary, console, events.

The SDK sends `{"files": {name: {"offset": n, "content": [lines]}}, "complete": bool,
"exitcode": int, ...}`; offsets are line numbers, so a retried request overwrites the same
lines instead of duplicating them.
"""

from __future__ import annotations

import json
import logging

from .resolvers.base import Ctx, now
from .resolvers.runs import get_run, save_run

log = logging.getLogger("standin.filestream")

STREAMS = {
    "wandb-history.jsonl": "history",
    "wandb-events.jsonl": "events",
    "output.log": "output",
}


def handle(ctx: Ctx, entity: str, project: str, run_name: str, payload: dict) -> tuple[int, dict]:
    run = get_run(ctx, entity, project, run_name)
    if run is None:
        return 404, {"error": f"run {entity}/{project}/{run_name} not found"}
    files = payload.get("files") or {}
    for fname, chunk in files.items():
        offset = int(chunk.get("offset") or 0)
        content = chunk.get("content") or []
        if fname in STREAMS:
            ctx.store.put_lines(run["_seq"], STREAMS[fname], offset, list(content))
        elif fname == "wandb-summary.json":
            pass  # applied below, under the lock
        else:
            log.info("file_stream: ignoring unknown file %s", fname)
    with ctx.store.lock:
        run = get_run(ctx, entity, project, run_name) or run
        if "wandb-summary.json" in files:
            content = files["wandb-summary.json"].get("content") or []
            if content:
                try:
                    run["summary"] = json.loads(content[-1])
                except ValueError:
                    log.warning("file_stream: bad summary JSON for %s", run_name)
        run["heartbeatAt"] = now()
        if payload.get("complete"):
            code = payload.get("exitcode")
            run["exitcode"] = code
            run["state"] = "finished" if code in (0, None) else "failed"
        elif run.get("state") in (None, "crashed"):
            run["state"] = "running"
        save_run(ctx, run)
    return 200, {"exitcode": None, "limits": {}}
