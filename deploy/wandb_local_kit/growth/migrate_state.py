"""The migration's state file: what is done, so a second run skips it and a run killed
halfway redoes only what was unfinished.

One JSON file, rewritten atomically (temp file + rename) after every finished item, so a
SIGKILL at any moment leaves either the old or the new state, never a torn one. Only the
parent process writes it; workers report back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass
class State:
    path: Path | None
    source: str = ""
    target: str = ""
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # src path -> result
    sweeps: dict[str, str] = field(default_factory=dict)  # src e/p/sweep -> target sweep id
    projects: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None, source: str, target: str) -> State:
        from wandb_local_kit.core import files
        from wandb_local_kit.core.errors import KitError

        if path is None or (files.kind(path) is None and not path.is_symlink()):
            return cls(path, source, target)
        try:
            data = files.load_json(path, what="the state file", limit=256 * files.MIB)
        except KitError as err:
            raise KitError(
                f"state file {path} cannot be used: {err.problem}",
                fix="move it away to start over",
            ) from None
        if not isinstance(data, dict):
            raise KitError(f"state file {path} is not a migration's state",
                           fix="move it away to start over")  # fmt: skip
        if (data.get("source"), data.get("target")) != (source, target):
            raise KitError(
                f"state file {path} belongs to a migration from {data.get('source')} to "
                f"{data.get('target')}",
                fix="pass another --state FILE for this pair of servers",
            )
        return cls(
            path,
            source,
            target,
            runs=data.get("runs", {}),
            sweeps=data.get("sweeps", {}),
            projects=data.get("projects", []),
        )

    def done(self, run_path: str) -> bool:
        return self.runs.get(run_path, {}).get("status") == "done"

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": VERSION,
            "source": self.source,
            "target": self.target,
            "projects": self.projects,
            "sweeps": self.sweeps,
            "runs": self.runs,
        }
        from wandb_local_kit.core import files

        files.write_text(self.path, json.dumps(data, indent=1, sort_keys=True),
                         what="the state file", exit_code=1,
                         done="the runs migrated so far are on the target; "
                         "run migrate again with another --state to go on")  # fmt: skip
