"""Is this host able to run the stack? Decisions over observed host facts.

`observe()` gathers the facts (Docker, compose, CPU, memory, disk, ports); `check()`
decides on them and is pure, so every decision is unit-tested on simulated hosts.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wandb_local_kit.core import net
from wandb_local_kit.core.checks import FAIL, OK, WARN, Check
from wandb_local_kit.stack.compose import docker_data_root
from wandb_local_kit.stack.settings import (
    DOCKER_MAX_BYTES,
    cpu_limit,
    memory_bytes,
    unjudged,
    validate,
)

GIB = 1024**3

# W&B's published minimums for a Docker host (4 vCPU, 8 GB RAM, 100 GB for /vol),
# and a floor below which the stack will not run at all.
RECOMMENDED = {"cpus": 4, "memory": 8 * GIB, "disk": 100 * GIB}
FLOOR = {"cpus": 2, "memory": 4 * GIB, "disk": 10 * GIB}
MIN_ENGINE = (20, 10)
MIN_COMPOSE = (2, 24)  # `!reset` in overlays, `up --wait --wait-timeout`


@dataclass
class HostFacts:
    arch: str
    cpus: int
    memory: int
    disk_free: int
    engine_version: str | None  # None: no engine answered
    compose_version: str | None  # None: no compose v2 plugin
    busy_ports: set[tuple[str, int]] = field(default_factory=set)
    stack_running: bool = False
    env_mode: int | None = None  # permission bits of .env; None when not known


def _version(text: str | None) -> tuple[int, ...] | None:
    m = re.search(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _size(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def published_ports(values: dict[str, str]) -> list[tuple[str, int, str]]:
    bind = values.get("WANDB_BIND", "127.0.0.1")
    ports = []
    if values.get("WANDB_TLS", "off") == "off":
        ports.append((bind, int(values.get("WANDB_PORT", "8080") or 0), "WANDB_PORT"))
    else:
        ports.append((bind, int(values.get("WANDB_HTTPS_PORT", "443") or 0), "WANDB_HTTPS_PORT"))
        ports.append((bind, int(values.get("WANDB_HTTP_PORT", "80") or 0), "WANDB_HTTP_PORT"))
    if values.get("WANDB_STORAGE") == "external" and not values.get("WANDB_EXTERNAL_BUCKET_URL"):
        # The bundled store's S3 port (your own bucket is served elsewhere).
        ports.append(
            (
                values.get("WANDB_BUCKET_BIND", "0.0.0.0"),
                int(values.get("WANDB_BUCKET_PORT", "9000") or 0),
                "WANDB_BUCKET_PORT",
            )
        )
    return ports


def check(facts: HostFacts, values: dict[str, str], compose_dir: Path | None = None) -> list[Check]:
    out = _tools(facts) + _capacity(facts)
    out.extend(_cpu_limit(facts, values))
    out.extend(_memory_limit(facts, values))
    out.extend(_settings(facts, values, compose_dir))
    if facts.env_mode is not None and facts.env_mode & 0o077:
        out.append(
            Check(
                ".env mode",
                WARN,
                f"the settings file is readable by other users (mode {facts.env_mode:04o}); it "
                "holds the database and storage passwords and the admin API key",
                "chmod 600 the .env file (wandb-kit init writes it 0600)",
            )
        )
    if not values.get("WANDB_LICENSE"):
        out.append(
            Check(
                "license",
                WARN,
                "WANDB_LICENSE is empty; current wandb/local versions need a license to start",
                "get one from W&B's Deploy Manager and set WANDB_LICENSE in .env",
            )
        )
    return out


def _tools(facts: HostFacts) -> list[Check]:
    """Docker Engine, compose v2 and the architecture wandb/local is published for."""
    out: list[Check] = []
    engine = _version(facts.engine_version)
    if engine is None:
        out.append(
            Check(
                "docker engine",
                FAIL,
                "no Docker engine answered",
                "install Docker Engine and start it (systemctl start docker)",
            )
        )
    elif engine < MIN_ENGINE:
        out.append(
            Check(
                "docker engine",
                FAIL,
                f"version {facts.engine_version} is too old",
                "upgrade Docker Engine to 20.10 or newer",
            )
        )
    else:
        out.append(Check("docker engine", OK, f"version {facts.engine_version}"))
    comp = _version(facts.compose_version)
    if comp is None:
        out.append(
            Check(
                "compose v2",
                FAIL,
                "`docker compose` is not available",
                "install the compose v2 plugin (package docker-compose-plugin)",
            )
        )
    elif comp < MIN_COMPOSE:
        out.append(
            Check(
                "compose v2",
                FAIL,
                f"version {facts.compose_version} is too old",
                "install compose v2.24 or newer",
            )
        )
    else:
        out.append(Check("compose v2", OK, f"version {facts.compose_version}"))

    if facts.arch.lower() in ("x86_64", "amd64"):
        out.append(Check("architecture", OK, facts.arch))
    else:
        out.append(
            Check(
                "architecture",
                WARN,
                f"{facts.arch}: wandb/local is published for linux/amd64 only and "
                "W&B does not support ARM; it would run under slow emulation if at all",
                "run the server on an x86_64 host",
            )
        )
    return out


def _capacity(facts: HostFacts) -> list[Check]:
    """CPU cores, memory and disk against W&B's recommendation and the kit's floor."""
    out: list[Check] = []
    for name, have, unit in (
        ("cpus", facts.cpus, str),
        ("memory", facts.memory, _size),
        ("disk", facts.disk_free, _size),
    ):
        label = {"cpus": "CPU cores", "memory": "memory", "disk": "free disk"}[name]
        if have < FLOOR[name]:
            out.append(
                Check(
                    label,
                    FAIL,
                    f"{unit(have)}, below the floor of {unit(FLOOR[name])}",
                    f"use a host with at least {unit(RECOMMENDED[name])}",
                )
            )
        elif have < RECOMMENDED[name]:
            out.append(
                Check(
                    label,
                    WARN,
                    f"{unit(have)}, below W&B's recommended {unit(RECOMMENDED[name])}",
                    "fine for a trial; size up for a lab",
                )
            )
        else:
            out.append(Check(label, OK, unit(have)))
    return out


def _settings(facts: HostFacts, values: dict[str, str], compose_dir: Path | None) -> list[Check]:
    """The .env as compose and Docker will read it; then, on valid settings only, WANDB_HOST
    against the published port and the ports against this host. Whatever is not judged
    is named, so a clean result never reads as "everything checked"."""
    problems = validate(values, compose_dir)
    if problems:
        return [
            Check(
                ".env",
                FAIL,
                "; ".join(f"{x.key}: {x.problem}" for x in problems)
                + " (WANDB_HOST and the ports are not checked until these are fixed)",
                "; ".join(sorted({x.fix for x in problems})),
            )
        ]
    detail = "every value is one compose and Docker accept"
    out = [
        Check(".env", OK, f"{detail}; not judged here: {'; '.join(unjudged(values, compose_dir))}")
    ]
    out.extend(_host_consistency(values))
    if facts.stack_running:
        return out + [Check("ports", OK, "not checked: this stack is running and holds them")]
    for bind, port, key in published_ports(values):
        if (bind, port) in facts.busy_ports:
            out.append(
                Check(
                    f"port {port}",
                    FAIL,
                    f"{bind}:{port} is in use",
                    f"stop what holds it, or change {key} in .env",
                )
            )
    return out


def _host_consistency(values: dict[str, str]) -> list[Check]:
    host = urlsplit(values["WANDB_HOST"])
    tls = values.get("WANDB_TLS", "off")
    port = host.port or (443 if host.scheme == "https" else 80)
    expected_key = "WANDB_PORT" if tls == "off" else "WANDB_HTTPS_PORT"
    expected = int(values.get(expected_key, "0"))
    out = []
    if port != expected:
        out.append(
            Check(
                "HOST",
                FAIL,
                f"WANDB_HOST uses port {port} but the server is "
                f"published on {expected_key}={expected}",
                f"make WANDB_HOST's port and {expected_key} the same",
            )
        )
    bind = values.get("WANDB_BIND", "127.0.0.1")
    if net.is_loopback(bind) and not net.is_loopback(host.hostname):
        out.append(
            Check(
                "HOST",
                WARN,
                f"WANDB_HOST names {host.hostname} but the server "
                f"listens on {bind} only; other machines cannot reach it",
                "set WANDB_BIND=0.0.0.0 (or this server's LAN address)",
            )
        )
    if not out:
        out.append(Check("HOST", OK, f"{values['WANDB_HOST']} matches the published port"))
    return out


def _cpu_limit(facts: HostFacts, values: dict[str, str]) -> list[Check]:
    """Docker refuses to start a container whose CPU limit exceeds the host's CPUs."""
    wanted = cpu_limit(values.get("WANDB_CPUS"))
    if wanted is None:
        return []  # validate() names it
    if wanted > facts.cpus:
        return [
            Check(
                "WANDB_CPUS",
                FAIL,
                f"{values['WANDB_CPUS']} CPUs asked for the wandb container, but this host "
                f"has {facts.cpus}: Docker refuses to start it",
                f"set WANDB_CPUS={facts.cpus} (or fewer) in .env",
            )
        ]
    return []


def _memory_limit(facts: HostFacts, values: dict[str, str]) -> list[Check]:
    """A memory limit above the host's memory: Docker takes it, and it limits nothing
    (the server can take all of the host's memory before the limit would apply)."""
    wanted = memory_bytes(values.get("WANDB_MEMORY"))
    if wanted is None or wanted > DOCKER_MAX_BYTES or not facts.memory:
        return []  # validate() names a bad size
    if wanted <= facts.memory:
        return []
    return [
        Check(
            "WANDB_MEMORY",
            WARN,
            f"{values['WANDB_MEMORY']} asked for the wandb container, but this host has "
            f"{_size(facts.memory)}: the limit would never apply",
            f"set WANDB_MEMORY={facts.memory // 1024**2}m (or less) in .env",
        )
    ]


def run(deployment) -> list[Check]:
    """Observes this host for the deployment and decides on every check."""
    from wandb_local_kit.core.errors import KitError
    from wandb_local_kit.stack import identity

    others = identity.foreign(deployment.project, deployment.env_file)
    try:
        # Another deployment's containers under this project name are not this stack:
        # their ports count as taken.
        running = not others and any(
            s.get("State") == "running" for s in deployment.compose.services()
        )
    except KitError:
        running = False
    from wandb_local_kit.stack.storage_checks import check_own_storage

    facts = observe(deployment.values, deployment.home, stack_running=running)
    if deployment.env_file.exists():
        facts.env_mode = deployment.env_file.stat().st_mode & 0o777
    # Your own MySQL / bucket (bring your own), checked as W&B will use them.
    shared = [
        Check(
            "project",
            FAIL,
            f"project {deployment.project!r} is another deployment's on this engine (settings "
            f"{others[0].env_file}; {len(others)} of its containers); `up` would take them over",
            f"give this deployment its own: wandb-kit init --env-file {deployment.env_file} "
            "--project NAME --host http://HOST:PORT",
        )
    ] if others else []  # fmt: skip
    return (
        check(facts, deployment.values, deployment.compose_dir)
        + shared
        + check_own_storage(deployment.values)
    )


def observe(values: dict[str, str], compose_dir: Path, stack_running: bool = False) -> HostFacts:
    def run(*cmd: str) -> str | None:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    busy = set()
    for bind, port, _ in published_ports(values) if not validate(values) else []:
        if not _port_free(bind, port):
            busy.add((bind, port))
    return HostFacts(
        arch=platform.machine(),
        cpus=os.cpu_count() or 1,
        memory=_memory_total(),
        disk_free=shutil.disk_usage(docker_data_root() or compose_dir).free,
        engine_version=run("docker", "version", "--format", "{{.Server.Version}}"),
        compose_version=run("docker", "compose", "version", "--short"),
        busy_ports=busy,
        stack_running=stack_running,
    )


def _memory_total() -> int:
    import psutil

    return psutil.virtual_memory().total


def _port_free(bind: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR: a connection closed by `down` a minute ago lingers in
        # TIME-WAIT, which Docker's own bind ignores; on Linux this bind still
        # fails while a socket LISTENs there, which is what "in use" means.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except PermissionError:
            # A port below 1024 for a non-root user: Docker binds it, not this user,
            # so it tells nothing about whether the port is in use.
            return True
        except OSError:
            return False
    return True
