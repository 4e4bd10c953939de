"""doctor's detectors of this machine and the compose project: CPU architecture, disk,
memory, volume permissions, restarts, a stack that is not running or not reachable."""

from __future__ import annotations

import re

from wandb_local_kit.server import health
from wandb_local_kit.server.doctor_catalogue import FAIL, WARN
from wandb_local_kit.server.doctor_findings import Evidence, Finding, detector, layer

GIB = 1024**3


@detector("arm-host")
def _arm(ev: Evidence) -> Finding | None:
    arch = ev.local.arch.lower()
    if ev.values and arch and arch not in ("x86_64", "amd64"):
        return Finding(
            "arm-host",
            WARN,
            "this machine's architecture (it runs the stack)",
            f"{ev.local.arch}, not x86_64",
        )
    return None


@detector("disk-low")
def _disk(ev: Evidence) -> Finding | None:
    host = _host_disk(ev)
    if (host is not None and host.severity == FAIL) or not ev.local.usage_warnings:
        return host
    # The deployment's own disk, measured inside its containers, with its forecast.
    return Finding(
        "disk-low",
        WARN,
        "the deployment's disk (df and du inside its containers) and its growth "
        "(wandb-kit storage)",
        "; ".join(w for w, _fix in ev.local.usage_warnings),
        ev.local.usage_warnings[0][1],
    )


def _host_disk(ev: Evidence) -> Finding | None:
    free, total = ev.local.disk_free, ev.local.disk_total
    if free is None or not total:
        return None
    share = free / total
    where = f"free space on {ev.local.disk_path} (Docker's volumes)"
    found = f"{free / GIB:.1f} GiB free of {total / GIB:.0f} GiB ({share:.0%})"
    if free < 2 * GIB or share < 0.02:
        return Finding("disk-low", FAIL, where, found)
    if free < 10 * GIB or share < 0.10:
        return Finding("disk-low", WARN, where, found)
    return None


@detector("memory-low")
def _memory(ev: Evidence) -> Finding | None:
    mem = ev.local.memory
    if ev.values and mem is not None and mem < 4 * GIB:
        return Finding("memory-low", WARN, "this machine's memory", f"{mem / GIB:.1f} GiB")
    return None


_PERMISSION = re.compile(
    r"(permission denied|operation not permitted|chmod: changing permissions)", re.I
)


@detector("volume-permissions")
def _permissions(ev: Evidence) -> Finding | None:
    for line in ev.local.logs.splitlines():
        if _PERMISSION.search(line) and "/vol" in line:
            return Finding(
                "volume-permissions",
                FAIL,
                "the wandb service's last log lines",
                line.strip()[-300:],
            )
    return None


@detector("container-restarts")
def _restarts(ev: Evidence) -> Finding | None:
    bad = {s: n for s, n in ev.local.restarts.items() if n > 0}
    states = {s.get("Service"): s.get("State") for s in ev.local.services or []}
    restarting = [s for s, st in states.items() if st == "restarting"]
    if not bad and not restarting:
        return None
    oom = [s for s, v in ev.local.oom_killed.items() if v]
    parts = [f"{s} restarted {n} time(s)" for s, n in bad.items()]
    parts += [f"{s} is restarting now" for s in restarting if s not in bad]
    if oom:
        parts.append(f"OOMKilled: {', '.join(oom)}")
    tail = [ln for ln in ev.local.logs.strip().splitlines() if ln.strip()][-5:]
    found = "; ".join(parts) + ("\n  last log lines:\n    " + "\n    ".join(tail) if tail else "")
    fix = (
        "raise WANDB_MEMORY in .env (the container ran out of memory), then `wandb-kit up`"
        if oom
        else ""
    )
    return Finding(
        "container-restarts",
        FAIL if restarting or oom else WARN,
        "the compose project's containers (docker inspect)",
        found,
        fix,
    )


@detector("stack-not-running")
def _stack(ev: Evidence) -> Finding | None:
    tcp = layer(ev, "tcp")
    if (
        ev.values
        and ev.target.is_local_stack
        and tcp is not None
        and tcp.status == health.FAIL
        and ev.local.services is not None
        and not ev.local.stack_running
    ):
        stopped = (
            ", ".join(f"{s.get('Service')} {s.get('State')}" for s in ev.local.services)
            or "no containers"
        )
        return Finding(
            "stack-not-running",
            FAIL,
            f"compose project {ev.values.get('COMPOSE_PROJECT_NAME', 'wandb')}",
            stopped,
        )
    return None


@detector("unreachable")
def _unreachable(ev: Evidence) -> Finding | None:
    tcp = layer(ev, "tcp")
    if tcp and tcp.status == health.FAIL and _stack(ev) is None:
        return Finding(
            "unreachable", FAIL, f"TCP connect to {ev.target.netloc}", tcp.detail, tcp.fix
        )
    return None
