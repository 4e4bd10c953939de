"""The deployment's disk use over time: samples in a small file, and the day it fills.

Each `storage`, `health` and `doctor` run (and the Ansible role's daily timer, through
scripts/usage_sample.py) appends one sample to a JSON-lines file beside .env:
`.ENVNAME.usage.jsonl`, one object a line:

    {"t": 1796650000.0, "used": 5368709120, "free": 96636764160, "total": 107374182400}

`t` is seconds since the epoch (UTC), `used` the bytes the deployment's data takes (its
volumes; null when only the free space was read, as health and doctor do: `du` over a
large volume takes minutes), `free` and `total` the filesystem holding them (the
fullest one when the data spans several). The file stays small: samples of the last
FULL_DAYS are kept as they are, older ones thinned to one a day, and at most
MAX_SAMPLES in all.

The forecast is a least-squares line through the filesystem's use (total - free) in
the samples of the last FIT_DAYS: the day the growth would use up today's free space
(whatever fills the disk, the deployment or anything else on it). It is "unknown",
never a wrong date, with fewer than MIN_SAMPLES samples, less than MIN_SPAN_S between
the first and the last, or no growth. The clock is a parameter, so tests can move it.
Standard library only: the daily timer runs on servers without the kit's dependencies.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wandb_local_kit.core import files

DAY_S = 86400.0
FULL_DAYS = 30  # samples this recent are all kept
FIT_DAYS = 30  # the forecast's window
MAX_SAMPLES = 2000  # ~ 30 days at one an hour plus a year of daily ones
MIN_SAMPLES = 3
MIN_SPAN_S = 3600.0  # an hour: two runs a minute apart say nothing about growth
READ_LIMIT = 4 * files.MIB


@dataclass(frozen=True)
class Sample:
    t: float
    used: int | None
    free: int
    total: int

    @property
    def disk_used(self) -> int:
        return self.total - self.free

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass(frozen=True)
class Forecast:
    full_at: float | None  # epoch seconds, or None: unknown
    bytes_per_day: float | None
    reason: str  # why unknown, or how it was computed

    @property
    def known(self) -> bool:
        return self.full_at is not None

    def days_left(self, now: float) -> float | None:
        return None if self.full_at is None else max(0.0, (self.full_at - now) / DAY_S)

    def to_json(self, now: float) -> dict:
        return {
            "full_at": iso_utc(self.full_at) if self.full_at is not None else None,
            "days_left": _round(self.days_left(now)),
            "bytes_per_day": _round(self.bytes_per_day),
            "reason": self.reason,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def samples_file(env_file: Path) -> Path:
    """Where the samples of the deployment of `env_file` live: beside it."""
    return env_file.parent / f".{env_file.name}.usage.jsonl"


def parse(text: str) -> list[Sample]:
    """The samples of a file's text, oldest first; lines that are not a sample (a
    torn last line, an edit by hand) are skipped, not fatal."""
    out = []
    for line in text.splitlines():
        try:
            d = json.loads(line)
            used = None if d.get("used") is None else int(d["used"])
            out.append(Sample(float(d["t"]), used, int(d["free"]), int(d["total"])))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(out, key=lambda s: s.t)


def load(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    return parse(files.read_text(path, "the usage samples", limit=READ_LIMIT))


def thin(samples: list[Sample], now: float) -> list[Sample]:
    """Recent samples as they are; older ones one a day (the last of each day)."""
    recent = [s for s in samples if s.t >= now - FULL_DAYS * DAY_S]
    by_day: dict[int, Sample] = {}
    for s in samples:
        if s.t < now - FULL_DAYS * DAY_S:
            by_day[int(s.t // DAY_S)] = s
    return (sorted(by_day.values(), key=lambda s: s.t) + recent)[-MAX_SAMPLES:]


def record(path: Path, sample: Sample) -> list[Sample]:
    """Adds a sample to the file (atomically, through the file door); all kept samples."""
    kept = thin(load(path) + [sample], sample.t)
    files.write_text(path, "".join(s.line() + "\n" for s in kept), private=True)
    return kept


def forecast(samples: list[Sample], now: float) -> Forecast:
    window = [s for s in samples if now - FIT_DAYS * DAY_S <= s.t <= now]
    if len(window) < MIN_SAMPLES:
        return Forecast(None, None, f"unknown: {len(window)} sample(s) in the last "
                        f"{FIT_DAYS} days, at least {MIN_SAMPLES} are needed")  # fmt: skip
    span = window[-1].t - window[0].t
    if span < MIN_SPAN_S:
        return Forecast(None, None, "unknown: the samples span less than an hour")
    mean_t = sum(s.t for s in window) / len(window)
    mean_u = sum(s.disk_used for s in window) / len(window)
    var = sum((s.t - mean_t) ** 2 for s in window)
    slope = sum((s.t - mean_t) * (s.disk_used - mean_u) for s in window) / var  # bytes/s
    per_day = slope * DAY_S
    if slope <= 0:
        return Forecast(None, per_day, "unknown: usage does not grow")
    last = window[-1]
    full_at = last.t + last.free / slope
    return Forecast(
        full_at, per_day, f"a straight line through {len(window)} samples over "
        f"{span / DAY_S:.1f} days"
    )  # fmt: skip
