"""How much disk the deployment's data takes, and how much is left, read inside its
containers (`docker compose exec ... df, du`): the volume's filesystem is the one that
fills, and a non-root user of the kit cannot stat Docker's data root from the host.

Embedded storage: /vol of the wandb service. External storage: the bundled SeaweedFS's
/data and the bundled MySQL's /var/lib/mysql (your own MySQL or bucket are measured by
their owners' tools; the bucket's bytes by project come from server/usage_breakdown).
Read-only: nothing is deleted or changed. Standard library only (the daily timer).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.usage_samples import Sample
from wandb_local_kit.stack.deployment import Deployment

MEASURE_TIMEOUT_S = 300  # du over a large volume takes a while; never forever
# One line each: `df -Pk` (POSIX, 1 KiB blocks) of the path, then `du -sk` of it.
_DF = 'df -Pk "$0" | tail -n 1'
_DU = '; du -sk "$0" 2>/dev/null | tail -n 1'


@dataclass(frozen=True)
class Part:
    service: str
    path: str
    used: int | None  # bytes under path (du); None when only df was asked
    fs_total: int
    fs_free: int

    @property
    def label(self) -> str:
        return f"{self.service}:{self.path}"


def parts_of(dep: Deployment) -> list[tuple[str, str]]:
    if dep.storage != "external":
        return [("wandb", "/vol")]
    out = []
    if dep.bundled_s3:
        out.append(("seaweedfs", "/data"))
    if dep.bundled_mysql:
        out.append(("mysql", "/var/lib/mysql"))
    return out


def parse_df_du(text: str, with_du: bool = True) -> tuple[int | None, int, int] | None:
    """(used by du, filesystem total, filesystem free) in bytes, from the script's
    output; used is None without du."""
    lines = [line.split() for line in text.strip().splitlines() if line.strip()]
    if not lines or len(lines[0]) < 4 or not (lines[0][1].isdigit() and lines[0][3].isdigit()):
        return None
    df = lines[0]
    if not with_du:
        return None, int(df[1]) * 1024, int(df[3]) * 1024
    if len(lines) < 2 or not lines[1][0].isdigit():
        return None
    return int(lines[1][0]) * 1024, int(df[1]) * 1024, int(df[3]) * 1024


def measure_part(dep: Deployment, service: str, path: str, with_du: bool = True) -> Part | None:
    """None when the service is not running or its container has no df/du."""
    script = _DF + (_DU if with_du else "")
    try:
        result = dep.compose.run(
            "exec", "-T", "--user", "0", service, "sh", "-c", script, path,
            capture=True, check=False, timeout=MEASURE_TIMEOUT_S,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError, KitError):  # no engine, a timeout
        return None
    if result.returncode != 0 and not result.stdout.strip():
        return None
    parsed = parse_df_du(result.stdout, with_du)
    return Part(service, path, *parsed) if parsed else None


def measure(
    dep: Deployment, now: float | None = None, with_du: bool = True
) -> tuple[Sample | None, list[Part]]:
    """A sample of the deployment's disk (None if no part could be read) and its parts;
    without du (quick: health, doctor) the sample's `used` is None."""
    parts = [p for s, path in parts_of(dep) if (p := measure_part(dep, s, path, with_du))]
    if not parts:
        return None, []
    fullest = min(parts, key=lambda p: p.fs_free)
    sample = Sample(
        time.time() if now is None else now,
        sum(p.used for p in parts if p.used is not None) if with_du else None,
        fullest.fs_free,
        fullest.fs_total,
    )
    return sample, parts
