"""Soft-deleted runs and the retention period, as W&B documents them.

Deleting a run hides it at once, but its files stay in the file store until
GORILLA_DATA_RETENTION_PERIOD has passed (W&B's default 168h); then a background job
removes them. The stand-in keeps a `deletedrun` record per deleted run (when, and the
bytes its files took) and a purger thread removes the files of those past the period.

GORILLA_DATA_RETENTION_PERIOD is read as W&B documents it (hours with an `h`; the
stand-in also takes Go's m and s). STANDIN_DATA_RETENTION_SECONDS is a test knob: a
few seconds, so a test can watch the space come back (the kit's own settings accept
whole hours only, as W&B documents).

Entity.storageBytes: the bytes of an entity's run files, live and soft-deleted alike
(the real server's exact accounting is not public: a modelling choice, see README.md).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

log = logging.getLogger("standin.retention")
DEFAULT_PERIOD_S = 168 * 3600
_DURATION = re.compile(r"^([0-9]+)(h|m|s)$")
_UNITS = {"h": 3600, "m": 60, "s": 1}


def period_seconds(env: dict[str, str] | None = None) -> float:
    env = dict(os.environ) if env is None else env
    knob = env.get("STANDIN_DATA_RETENTION_SECONDS", "")
    if knob:
        return float(knob)
    found = _DURATION.match(env.get("GORILLA_DATA_RETENTION_PERIOD", "").strip())
    return int(found.group(1)) * _UNITS[found.group(2)] if found else DEFAULT_PERIOD_S


def soft_delete(store, key: str, entity: str, project: str, size: int) -> None:
    """Remember a deleted run whose files stay until the period has passed."""
    doc = {"key": key, "entity": entity, "project": project, "bytes": size, "at": time.time()}
    store.put("deletedrun", key, doc)


def purge(store, files, now: float | None = None, period: float | None = None) -> int:
    """Removes the files of runs deleted more than the period ago; how many runs."""
    now = time.time() if now is None else now
    period = period_seconds() if period is None else period
    done = 0
    for doc in store.list("deletedrun"):
        if doc["at"] + period <= now:
            files.delete_prefix(doc["key"])
            store.delete("deletedrun", doc["key"])
            done += 1
    return done


def storage_bytes(store, entity: str) -> int:
    """Bytes of the entity's run files: live runs' plus soft-deleted ones' not yet purged."""
    live = 0
    for project in store.list("project"):
        if project.get("entity") != entity:
            continue
        for run in store.list("run", parent=f"{entity}/{project['name']}"):
            key = f"{entity}/{project['name']}/{run['name']}"
            live += sum(int(f.get("size") or 0) for f in store.list("runfile", parent=key))
    deleted = sum(
        int(d.get("bytes") or 0) for d in store.list("deletedrun") if d["entity"] == entity
    )
    return live + deleted


def start_purger(store, files, stop: threading.Event, every_s: float = 1.0) -> None:
    def loop() -> None:
        while not stop.wait(every_s):
            try:
                with store.lock:
                    n = purge(store, files)
                if n:
                    log.info("retention: removed the files of %d deleted run(s)", n)
            except Exception:  # keep purging later; a failed pass is only logged
                log.exception("retention pass failed")

    threading.Thread(target=loop, daemon=True, name="retention").start()
