"""One Docker engine, many deployments: whose containers and volumes are these?

Every deployment is a compose project on the engine. Compose labels each container with
the settings file it was started with (com.docker.compose.project.environment_file), and
that label says whose a project is. Two `.env` files naming the same project would
otherwise share containers and volumes: the second `up` recreated the first person's
server with the second person's secrets on the first person's data.

Volumes carry only their project's name (the kit's compose files give them no settings
file label), so a volume shows that its project name is taken but never whose it is.
Containers without the label (made by other tools) and volumes are nobody's in
particular and never refused. Without a reachable engine there is nothing to protect.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wandb_local_kit.core.errors import KitError

ENV_LABEL = "com.docker.compose.project.environment_file"
PROJECT_LABEL = "com.docker.compose.project"


@dataclass(frozen=True)
class Owned:
    kind: str  # "container" or "volume"
    name: str
    project: str
    env_file: str  # "" when unlabelled


def _docker(*args: str) -> list[str] | None:
    """Lines of `docker ARGS`, or None when there is no engine to ask."""
    try:
        result = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=30, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return [line for line in result.stdout.splitlines() if line.strip()]


def on_engine(project: str | None = None) -> list[Owned] | None:
    """Compose-made containers and volumes on the engine (of one project, or all)."""
    flt = f"label={PROJECT_LABEL}" + (f"={project}" if project else "")
    sep = "\t"

    def fields(name: str, *labels: str) -> str:
        return sep.join(["{{." + name + "}}"] + ['{{.Label "' + la + '"}}' for la in labels])

    containers = _docker(
        "ps", "--all", "--filter", flt, "--format", fields("Names", PROJECT_LABEL, ENV_LABEL)
    )
    volumes = _docker("volume", "ls", "--filter", flt, "--format", fields("Name", PROJECT_LABEL))
    if containers is None or volumes is None:
        return None
    found = []
    for kind, lines in (("container", containers), ("volume", volumes)):
        for line in lines:
            name, proj, env = (line.split(sep) + ["", ""])[:3]
            found.append(Owned(kind, name, proj, env.split(",")[0].strip()))
    return found


def _same_file(a: str, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def foreign(project: str, env_file: Path) -> list[Owned]:
    """This project's containers and volumes that another settings file made."""
    return [
        o for o in on_engine(project) or [] if o.env_file and not _same_file(o.env_file, env_file)
    ]


def refuse_foreign(project: str, env_file: Path, operation: str) -> None:
    """Raises a KitError naming the other deployment when `operation` would touch it."""
    others = foreign(project, env_file)
    if not others:
        return
    other_env = others[0].env_file
    names = ", ".join(f"{o.kind} {o.name}" for o in others[:4])
    more = f" and {len(others) - 4} more" if len(others) > 4 else ""
    raise KitError(
        f"`{operation}` refused: project {project!r} on this Docker engine belongs to another "
        f"deployment, the one whose settings are {other_env} ({names}{more}); this "
        f"deployment's settings are {env_file}. Nothing was changed.",
        fix=f"give this deployment its own project and port (`wandb-kit init --env-file "
        f"{env_file} --project NAME --host http://HOST:PORT`; a fresh init picks free ones), "
        f"or act on that deployment with --env-file {other_env} as its owner",
    )


def projects_in_use(env_file: Path) -> set[str] | None:
    """Compose projects on the engine that are not this settings file's own."""
    found = on_engine()
    if found is None:
        return None
    return {o.project for o in found if not (o.env_file and _same_file(o.env_file, env_file))}


def free_project(base: str, env_file: Path) -> str:
    """BASE, or BASE-2, BASE-3, ...: the first name no other deployment on the engine has."""
    taken = projects_in_use(env_file) or set()
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def published_ports() -> set[int]:
    """Host ports any container on the engine publishes (running or not: a stopped
    stack takes its ports back when it starts)."""
    lines = _docker("ps", "--all", "--format", "{{.ID}}") or []
    if not lines:
        return set()
    inspect = _docker(
        "inspect", "--format",
        "{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostPort}} {{end}}{{end}}",
        *lines,
    )  # fmt: skip
    return {int(p) for line in inspect or [] for p in line.split() if p.isdigit()}


def free_port(start: int, bind: str = "127.0.0.1") -> int:
    """START, or the next port that no container publishes and nothing here listens on."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(bind)
    except ValueError:  # not an address (validate() names it): test loopback
        bind = "127.0.0.1"
    taken = published_ports()
    for port in range(start, min(start + 200, 65536)):
        if port not in taken:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind((bind if bind != "0.0.0.0" else "", port))
                    return port
                except OSError:
                    pass
    return start


def pick_free(
    existing: dict[str, str], defaults: dict[str, str], choices: dict, env_file: Path
) -> tuple[dict, list[str]]:
    """A fresh `init`'s project name and port, chosen so that no other deployment on this
    engine has them (an existing .env keeps its own; options always win). Returns the
    choices to use and a note for each thing picked."""
    out, notes = dict(choices), []
    base = defaults.get("COMPOSE_PROJECT_NAME") or "wandb"
    if not out.get("project") and not existing.get("COMPOSE_PROJECT_NAME"):
        name = free_project(base, env_file)
        if name != base:
            out["project"] = name
            notes.append(f"project {name} ({base} is another deployment's on this engine)")
    tls = out.get("tls") or existing.get("WANDB_TLS") or defaults.get("WANDB_TLS") or "off"
    default_host = defaults.get("WANDB_HOST", "")
    if not out.get("host") and not existing.get("WANDB_HOST") and tls == "off":
        from urllib.parse import urlsplit

        parts = urlsplit(default_host)
        start = parts.port or 8080
        bind = out.get("bind") or existing.get("WANDB_BIND") or defaults.get("WANDB_BIND") or ""
        port = free_port(start, bind or "127.0.0.1")
        if port != start and parts.hostname:
            out["host"] = f"{parts.scheme}://{parts.hostname}:{port}"
            notes.append(f"port {port} ({start} is taken on this host)")
    return out, notes
