"""Everything a server holds for one project, as comparable JSON.

    python snapshot.py ENTITY/PROJECT  -> prints {"runs": {...}, "artifacts": {...}}
Run in a subprocess with a clean SDK environment (see tests/integration/sdk.py).
Files are compared by sha256 of their downloaded bytes; history by every row.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile

VOLATILE = {"_runtime", "_timestamp", "_wandb"}


def sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(project_path: str) -> dict:
    import wandb

    api = wandb.Api(timeout=60)
    if "/" not in project_path:
        project_path = f"{api.default_entity}/{project_path}"
    out: dict = {"runs": {}, "artifacts": {}}
    tmp = tempfile.mkdtemp()
    for run in api.runs(project_path):
        files = {}
        for f in run.files():
            f.download(root=os.path.join(tmp, run.id), replace=True).close()
            files[f.name] = sha(os.path.join(tmp, run.id, f.name))
        history = [
            {k: v for k, v in row.items() if k not in VOLATILE} for row in run.scan_history()
        ]
        out["runs"][run.id] = {
            "name": run.name,
            "state": run.state,
            "group": run.group,
            "tags": sorted(run.tags),
            "config": dict(run.config),
            "summary": {k: v for k, v in dict(run.summary).items() if k not in VOLATILE},
            "history": history,
            "files": files,
        }
        for art in run.logged_artifacts():
            root = art.download(root=os.path.join(tmp, "art", art.name.replace(":", "_")))
            out["artifacts"][art.name] = {
                "digest": art.digest,
                "aliases": sorted(art.aliases),
                "files": {
                    os.path.relpath(os.path.join(d, n), root): sha(os.path.join(d, n))
                    for d, _, names in os.walk(root)
                    for n in names
                },
            }
    return json.loads(json.dumps(out, default=str))


if __name__ == "__main__":
    import sdk_exit  # beside this file (its folder is sys.path[0])

    sdk_exit.arm_watchdog()
    print("KIT-SNAPSHOT " + json.dumps(snapshot(sys.argv[1]), sort_keys=True))
    sdk_exit.exit_after_report()
