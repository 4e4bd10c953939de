"""doctor's observation of this machine and the compose project: LocalFacts, gathered
by observe_local() for the detectors to judge."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field

from wandb_local_kit.core import net
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.server import client, sso
from wandb_local_kit.stack.compose import docker_data_root
from wandb_local_kit.stack.deployment import Deployment


@dataclass
class LocalFacts:
    """What doctor saw on this machine (None: not observed)."""

    arch: str = ""
    memory: int | None = None
    disk_path: str = ""
    disk_free: int | None = None
    disk_total: int | None = None
    compose_error: str | None = None  # why the compose project could not be read
    services: list[dict] | None = None  # `docker compose ps` rows
    restarts: dict[str, int] = field(default_factory=dict)
    oom_killed: dict[str, bool] = field(default_factory=dict)
    logs: str = ""  # last lines of the wandb service
    bucket_error: str | None = None  # reaching WANDB_BUCKET_PUBLIC_URL from here
    # Bring your own MySQL / bucket: storage_checks' results (name, status, detail, fix).
    own_storage: list = field(default_factory=list)
    bucket_url: str = ""
    oidc: sso.OidcFacts = field(default_factory=sso.OidcFacts)  # SSO's provider, as seen
    # Versioning, object lock, lifecycle, CORS of W&B's bucket (bucket_controls' checks).
    bucket_controls: list = field(default_factory=list)
    # The deployment's disk as `wandb-kit storage` reports it (server/usage), and its
    # warnings as [what, fix] pairs: little free space, or full within two weeks.
    usage: dict = field(default_factory=dict)
    usage_warnings: list = field(default_factory=list)

    @property
    def stack_running(self) -> bool:
        return any(s.get("State") == "running" for s in self.services or [])


def _reach(url: str, timeout: float = 3.0) -> str | None:
    result = net.reach(url, timeout)
    return None if result.ok else result.detail


def bucket_controls_of(target: client.Target, timeout: float) -> list:
    from wandb_local_kit.stack.bucket_controls import bucket_controls_for

    ca = target.verify if isinstance(target.verify, str) else None
    return bucket_controls_for(target.values, min(timeout, 5.0), ca) if target.values else []


def observe_local(deployment: Deployment, values: dict[str, str]) -> LocalFacts:
    facts = LocalFacts(arch=platform.machine())
    from wandb_local_kit.stack.storage_checks import check_own_storage

    facts.own_storage = check_own_storage(values) if values else []
    try:
        import psutil

        facts.memory = psutil.virtual_memory().total
    except Exception:  # psutil missing or restricted: memory stays unobserved
        facts.memory = None
    if values:
        disk = docker_data_root() or str(deployment.home)
        try:
            usage = shutil.disk_usage(disk)
            facts.disk_path, facts.disk_free, facts.disk_total = disk, usage.free, usage.total
        except OSError:
            pass
        if values.get("WANDB_STORAGE") == "external" and values.get("WANDB_BUCKET_PUBLIC_URL"):
            facts.bucket_url = values["WANDB_BUCKET_PUBLIC_URL"]
            facts.bucket_error = _reach(facts.bucket_url)
        _observe_compose(deployment, facts)
        wandb_up = any(
            x.get("Service") == "wandb" and x.get("State") == "running"
            for x in facts.services or []
        )
        facts.oidc = sso.observe(values, deployment if wandb_up else None)
        if sso.enabled(values) and not wandb_up:
            facts.oidc.fetched.append(
                sso.Discovery(
                    "the wandb container",
                    sso.discovery_url(values[sso.ISSUER]),
                    error=facts.compose_error or "the wandb service is not running",
                    checked=False,
                )
            )
    return facts


def _observe_compose(deployment: Deployment, facts: LocalFacts) -> None:
    if shutil.which("docker") is None:
        facts.compose_error = "the docker command is not installed"
        return
    compose = deployment.compose
    try:
        facts.services = compose.services()
    except KitError as err:
        facts.compose_error = err.problem.splitlines()[0]
        return
    except Exception as err:  # unexpected compose output: not fatal for a diagnosis
        facts.compose_error = f"{type(err).__name__}: {err}"
        return
    for s in facts.services:
        name, service = s.get("Name"), s.get("Service")
        if not name or not service:
            continue
        out = deployment.docker(
            "inspect", "--format", "{{.RestartCount}} {{.State.OOMKilled}}", name, check=False
        )
        if out.split():
            count, oom = (out.split() + ["false"])[:2]
            facts.restarts[service] = int(count) if count.isdigit() else 0
            facts.oom_killed[service] = oom == "true"
    if any(s.get("Service") == "wandb" for s in facts.services):
        r = compose.run(
            "logs",
            "--no-color",
            "--no-log-prefix",
            "--tail",
            "200",
            "wandb",
            capture=True,
            check=False,
            timeout=60,
        )
        facts.logs = (r.stdout or "") + (r.stderr or "")
