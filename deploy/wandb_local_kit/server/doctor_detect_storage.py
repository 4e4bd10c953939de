"""doctor's detectors of storage you bring or W&B's bucket: storage_checks' and
bucket_controls' results, as observed by observe_local()."""

from __future__ import annotations

from wandb_local_kit.server.doctor_catalogue import FAIL, WARN
from wandb_local_kit.server.doctor_findings import Evidence, Finding, detector


@detector("own-storage")
def _own_storage(ev: Evidence) -> Finding | None:
    bad = [c for c in ev.local.own_storage if c.status != "ok"]
    if not bad:
        return None
    return Finding(
        "own-storage",
        FAIL if any(c.status == "fail" for c in bad) else WARN,
        "your MySQL / bucket from .env: " + ", ".join(c.name for c in bad),
        "; ".join(c.detail for c in bad),
        "; ".join(c.fix for c in bad if c.fix),
    )


@detector("bucket-controls")
def _bucket_controls(ev: Evidence) -> Finding | None:
    bad = [c for c in ev.local.bucket_controls if c.status != "ok"]
    if not bad:
        return None
    return Finding(
        "bucket-controls",
        FAIL if any(c.status == "fail" for c in bad) else WARN,
        "W&B's bucket, read with W&B's key: " + ", ".join(c.name for c in bad),
        "; ".join(c.detail for c in bad),
        "; ".join(c.fix for c in bad if c.fix),
    )
