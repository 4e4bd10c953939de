"""What takes the deployment's disk, how fast it grows, and when it is full.

`survey()` measures the disk (stack/usage_measure), records a sample
(core/usage_samples), computes the forecast, and asks who takes the space:
- by team, the server's own count (GraphQL `Entity.storageBytes`, the field the wandb
  SDK reads for a team), when an API key is at hand;
- by project, the files under ENTITY/PROJECT/: in the embedded store's bucket folder
  (/vol/minio/local-files, where wandb/local's MinIO keeps bucket local-files), or in
  the bucket itself (listed with W&B's key, read-only).
`warnings()` turns it into what health and doctor say: free space under
WARN_FREE_FRACTION of the disk, or a forecast under WARN_DAYS, each naming the largest
projects and the ways out. Nothing here deletes anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from wandb_local_kit.core import usage_samples as us
from wandb_local_kit.server import client
from wandb_local_kit.stack import usage_measure
from wandb_local_kit.stack.deployment import Deployment

WARN_FREE_FRACTION = 0.10  # under a tenth of the disk free: warn
WARN_DAYS = 14.0  # the disk fills within two weeks: warn
TOP = 5  # projects named in a warning
MAX_OBJECTS = 200_000  # objects listed per survey of a bucket: bounded time
EMBEDDED_BUCKET_DIR = "/vol/minio/local-files"
ARTIFACTS_PREFIX = "wandb_artifacts"  # artifact blobs: not by project in the key
GIB = 1024**3

EMBEDDED_UNCONFIRMED = (
    "unconfirmed for the embedded store: that W&B removes a deleted run's files from /vol "
    "once WANDB_DATA_RETENTION_PERIOD has passed; how to check: docs/assumptions.md, entry 12"
)

TEAMS_QUERY = "query KitTeams { viewer { entity teams { edges { node { name } } } } }"
ENTITY_BYTES = "query KitEntityBytes($name: String!) { entity(name: $name) { storageBytes } }"


@dataclass
class Usage:
    sample: us.Sample | None
    parts: list[usage_measure.Part]
    samples: list[us.Sample]
    forecast: us.Forecast
    now: float
    teams: list[tuple[str, int]] = field(default_factory=list)
    projects: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read, and why

    def to_json(self) -> dict:
        s = self.sample
        return {
            "measured_at": us.iso_utc(self.now),
            "used_bytes": s.used if s else None,
            "free_bytes": s.free if s else None,
            "disk_bytes": s.total if s else None,
            "parts": [
                {
                    "where": p.label,
                    "used_bytes": p.used,
                    "disk_bytes": p.fs_total,
                    "free_bytes": p.fs_free,
                }
                for p in self.parts
            ],  # fmt: skip
            "teams": [{"entity": n, "bytes": b} for n, b in self.teams],
            "projects": [{"project": n, "bytes": b} for n, b in self.projects],
            "forecast": self.forecast.to_json(self.now),
            "samples": len(self.samples),
            "warnings": [w for w, _fix in warnings(self)],
            "notes": self.notes,
        }


def size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, step in (("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(n) >= step:
            return f"{n / step:.1f} {unit}"
    return f"{int(n)} B"


def _teams(target: client.Target, key: str, timeout: float) -> list[tuple[str, int]]:
    sess = client.session(target.verify)
    data = client.graphql(sess, target.url, key, TEAMS_QUERY, timeout=timeout)
    viewer = data.get("viewer") or {}
    names = [viewer.get("entity")] + [
        (e.get("node") or {}).get("name") for e in (viewer.get("teams") or {}).get("edges", [])
    ]
    out = []
    for name in dict.fromkeys(n for n in names if n):
        entity = client.graphql(
            sess, target.url, key, ENTITY_BYTES, {"name": name}, timeout=timeout
        ).get("entity")
        if entity and entity.get("storageBytes") is not None:
            out.append((name, int(entity["storageBytes"])))
    return sorted(out, key=lambda x: -x[1])


def parse_du_lines(text: str) -> list[tuple[str, int]]:
    """`du -sk ENTITY/PROJECT` lines -> [(ENTITY/PROJECT, bytes)], largest first."""
    out = []
    for line in text.splitlines():
        kib, _, name = line.partition("\t")
        if kib.strip().isdigit() and name.count("/") == 1:
            out.append((name.strip(), int(kib) * 1024))
    return sorted(out, key=lambda x: -x[1])


def _embedded_projects(dep: Deployment) -> list[tuple[str, int]]:
    script = f"cd {EMBEDDED_BUCKET_DIR} 2>/dev/null && du -sk -- */* 2>/dev/null; true"
    result = dep.compose.run(
        "exec", "-T", "--user", "0", "wandb", "sh", "-c", script,
        capture=True, check=False, timeout=usage_measure.MEASURE_TIMEOUT_S,
    )  # fmt: skip
    return parse_du_lines(result.stdout)


def group_keys(objects, limit: int = MAX_OBJECTS) -> tuple[list[tuple[str, int]], bool]:
    """(key, size) pairs -> bytes by ENTITY/PROJECT (artifact blobs as one line),
    largest first, and whether the listing stopped at `limit`."""
    totals: dict[str, int] = {}
    for n, (key, nbytes) in enumerate(objects):
        if n >= limit:
            return sorted(totals.items(), key=lambda x: -x[1]), True
        parts = key.split("/")
        if parts[0] == ARTIFACTS_PREFIX:
            name = f"{ARTIFACTS_PREFIX}/ (artifact files, by content)"
        elif len(parts) >= 3:
            name = f"{parts[0]}/{parts[1]}"
        else:
            name = "(other)"
        totals[name] = totals.get(name, 0) + int(nbytes)
    return sorted(totals.items(), key=lambda x: -x[1]), False


def _bucket_objects(values: dict[str, str], timeout: float, ca_file: str | None):
    from wandb_local_kit.core.storage_urls import parse_bucket_url
    from wandb_local_kit.stack.bucket_controls import _client

    b = parse_bucket_url(values["WANDB_BUCKET_URL"], values.get("AWS_REGION") or "us-east-1")
    s3 = _client(b, timeout, ca_file)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b.bucket):
        for obj in page.get("Contents", []):
            yield obj["Key"], obj.get("Size", 0)


def _projects(
    dep: Deployment, timeout: float, notes: list[str], ca_file: str | None
) -> list[tuple[str, int]]:
    if dep.storage != "external":
        return _embedded_projects(dep)
    if not dep.values.get("WANDB_BUCKET_URL"):
        return []
    try:
        projects, partial = group_keys(_bucket_objects(dep.values, timeout, ca_file))
    except Exception as err:  # boto3's many errors: the survey goes on without it
        notes.append(f"bytes by project: the bucket could not be listed ({type(err).__name__})")
        return []
    if partial:
        notes.append(f"bytes by project: the first {MAX_OBJECTS} objects only")
    return projects


def survey(
    dep: Deployment,
    target: client.Target | None = None,
    key: str | None = None,
    timeout: float = 10.0,
    record: bool = True,
    clock=time.time,
    quick: bool = False,
) -> Usage:
    """quick (health, doctor): the free space only, and the projects only when there is
    a warning to name them in (`du` over a large volume takes minutes)."""
    now = clock()
    sample, parts = usage_measure.measure(dep, now, with_du=not quick)
    path = us.samples_file(dep.env_file)
    notes: list[str] = [] if dep.storage == "external" else [EMBEDDED_UNCONFIRMED]
    if sample is None:
        notes.append("no container of the stack answered df and du (is it running?)")
        samples = us.load(path)
    elif record:
        samples = us.record(path, sample)
    else:
        samples = us.load(path) + [sample]
    usage = Usage(sample, parts, samples, us.forecast(samples, now), now, notes=notes)
    if sample is not None and (not quick or warnings(usage)):
        # The bucket behind the kit's TLS proxy has the server's certificate: its CA.
        ca_file = target.verify if target and isinstance(target.verify, str) else None
        usage.projects = _projects(dep, timeout, notes, ca_file)
    if target is not None and key:
        try:
            usage.teams = _teams(target, key, timeout)
        except client.GraphQLError as err:
            notes.append(f"bytes by team: the server did not say ({err})")
    return usage


def warnings(u: Usage) -> list[tuple[str, str]]:
    """(what, fix) for a disk that is nearly full or filling within WARN_DAYS."""
    s = u.sample
    out: list[tuple[str, str]] = []
    if s is None:
        return out
    top = ", ".join(f"{n} {size(b)}" for n, b in (u.projects or u.teams)[:TOP])
    takes = f"; the most space: {top}" if top else ""
    way_out = (
        "delete runs and artifacts you no longer need in W&B (their files go after "
        "WANDB_DATA_RETENTION_PERIOD, and artifacts' with WANDB_ARTIFACT_GC), or grow "
        "the disk; never delete files under /vol or in the bucket by hand "
        "(docs/storage-growth.md)"
    )
    if s.total and s.free < WARN_FREE_FRACTION * s.total:
        out.append((
            f"{size(s.free)} free of {size(s.total)} ({100 * s.free / s.total:.0f}%, "
            f"under {100 * WARN_FREE_FRACTION:.0f}%){takes}", way_out,
        ))  # fmt: skip
    days = u.forecast.days_left(u.now)
    if days is not None and days < WARN_DAYS:
        out.append((
            f"at {size(u.forecast.bytes_per_day)} a day the disk is full in "
            f"{days:.1f} days ({us.iso_utc(u.forecast.full_at or 0)[:10]}){takes}", way_out,
        ))  # fmt: skip
    return out
