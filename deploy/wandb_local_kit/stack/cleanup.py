"""W&B's own clean-up, as settings of .env: how long deleted runs' data stays, and
artifact garbage collection (GC) with the bucket settings it needs.

W&B deletes softly: a deleted run's files stay until GORILLA_DATA_RETENTION_PERIOD has
passed (W&B's default 168h), and a deleted artifact's files stay until artifact GC
(GORILLA_ARTIFACT_GC_ENABLED) removes them. W&B runs GC only on a versioned bucket,
and on a versioned bucket a delete frees nothing until a lifecycle rule expires the
old (non-current) versions: so GC on means versioning on AND an expiry rule, both set
by the store's admin (storage-init), never by W&B's key.

The bundled SeaweedFS is refused GC: its `weed server` runs no lifecycle worker, so
an expiry rule is stored but old versions stay (docs/storage-growth.md says why and
how to check). The kit itself never deletes anything from /vol or the bucket.
Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

RETENTION = "WANDB_DATA_RETENTION_PERIOD"
GC = "WANDB_ARTIFACT_GC"
NONCURRENT_DAYS = "WANDB_BUCKET_NONCURRENT_DAYS"
KEYS = (RETENTION, GC, NONCURRENT_DAYS)
SERVER_DEFAULT_RETENTION_H = 168  # W&B's documented default, a week
MAX_NONCURRENT_DAYS = 3650
# W&B documents hours with an `h` suffix ("24h", "336h"); the server parses a Go
# duration, so minutes or days are not offered. A year in hours is plenty of room.
_HOURS = re.compile(r"^([0-9]{1,6})h$", re.ASCII)

BUNDLED_GC_REFUSAL = (
    "the bundled SeaweedFS stores a lifecycle rule but its `weed server` runs no "
    "lifecycle worker, so old versions are never expired: with GC on, the bucket "
    "would be versioned and every delete would keep its bytes"
)


def retention_hours(text: str) -> int | None:
    """Hours of a WANDB_DATA_RETENTION_PERIOD value ("24h" -> 24); None if malformed.
    Empty means the server's default."""
    if text == "":
        return SERVER_DEFAULT_RETENTION_H
    found = _HOURS.match(text)
    return int(found.group(1)) if found else None


def gc_on(values: dict[str, str]) -> bool:
    return values.get(GC, "false") == "true"


def noncurrent_days(values: dict[str, str]) -> int:
    text = values.get(NONCURRENT_DAYS, "") or "7"
    return int(text) if text.isdigit() else 7


def bundled_store(values: dict[str, str]) -> bool:
    return values.get("WANDB_STORAGE") == "external" and not values.get("WANDB_EXTERNAL_BUCKET_URL")


def problems(values: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(key, problem, fix) for each clean-up setting that is wrong."""
    retention = values.get(RETENTION, "")
    hours = retention_hours(retention)
    if hours is None or hours < 1:
        yield (
            RETENTION,
            f"{retention[:40]!r} is not a period W&B reads (whole hours with an h suffix)",
            "use e.g. 168h (a week, the server's default) or 720h (30 days), or leave it "
            "empty for the server's default",
        )
    if values.get(GC, "false") not in ("true", "false"):
        yield (GC, "must be true or false", "set true or false (default false)")
    days = values.get(NONCURRENT_DAYS, "") or "7"
    if not days.isdigit() or not 1 <= int(days) <= MAX_NONCURRENT_DAYS:
        yield (
            NONCURRENT_DAYS,
            f"{days[:40]!r} is not a number of days from 1 to {MAX_NONCURRENT_DAYS}",
            "use e.g. 7 (old versions of deleted files are expired a week after the delete)",
        )
    if gc_on(values) and bundled_store(values):
        yield (
            GC,
            "artifact GC is not offered with the bundled SeaweedFS: " + BUNDLED_GC_REFUSAL,
            f"set {GC}=false (deleted runs' files still go after {RETENTION}), or bring "
            "your own bucket whose store expires non-current versions "
            "(--external-bucket-url); see docs/storage-growth.md",
        )
    if gc_on(values) and values.get("WANDB_STORAGE", "embedded") != "external":
        yield (
            GC,
            "artifact GC needs a versioned bucket, and the embedded store's bucket is "
            "inside the wandb/local container where the kit cannot set versioning",
            f"set {GC}=false, or use --storage external with your own bucket; see "
            "docs/storage-growth.md (what is unconfirmed for the embedded store)",
        )


def lifecycle_rule(days: int) -> dict:
    """The one rule storage-init sets with GC on: non-current versions expire `days`
    after they stopped being current; delete markers left alone are cleaned too."""
    return {
        "ID": "wandb-kit-expire-noncurrent",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": days},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    }
