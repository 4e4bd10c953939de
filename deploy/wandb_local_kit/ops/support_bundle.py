"""`wandb-kit support-bundle`: one archive to attach to an issue report.

Versions (kit, SDK, Docker, compose, server), the compose config and .env with every
secret replaced, the services' states, restarts and health, the last lines of each
service's log, preflight/health/doctor as JSON, and host facts. Every text goes
through wandb_local_kit.core.redact before it is written; the archive has a size cap.

Each part is gathered on its own, with a time limit: when the stack or Docker is
down, the bundle holds what could be gathered, and gathered.json says what could
not and why.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from wandb_local_kit.core.redact import redact, redact_env

LOG_LINES = 500  # per service
FILE_MAX_BYTES = 4 * 1024 * 1024  # per file: a log beyond this keeps its end
TOTAL_MAX_BYTES = 20 * 1024 * 1024  # the whole archive, before compression
COMMAND_TIMEOUT_S = 60
REPORT_TIMEOUT_S = 180  # health and doctor: a slow server is itself the news


@dataclass
class Bundle:
    """The files of the archive (name -> text), all redacted, and what failed."""

    values: dict[str, str]
    extra_secrets: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    gathered: dict[str, str] = field(default_factory=dict)  # part -> "ok" or why not
    limit: int = TOTAL_MAX_BYTES
    reports: dict[str, dict] = field(default_factory=dict)  # health/doctor, parsed

    def add(self, name: str, text: str, capped: bool = True) -> None:
        data = redact(text, self.values, self.extra_secrets).encode("utf-8", "replace")
        if not capped:  # the bundle's own small index files
            self.files[name] = data
            return
        if len(data) > FILE_MAX_BYTES:
            data = b"[... cut: kept the last bytes ...]\n" + data[-FILE_MAX_BYTES:]
        room = self.limit - sum(len(v) for v in self.files.values())
        if len(data) > room:
            if room < 1024:
                self.gathered[name] = "left out: the bundle reached its size cap"
                return
            data = b"[... cut at the bundle's size cap ...]\n" + data[-(room - 64) :]
        self.files[name] = data

    def add_json(self, name: str, value) -> None:
        self.add(name, json.dumps(value, indent=2, default=str))

    def part(self, name: str, produce: Callable[[], None]) -> None:
        """Runs one gathering step; its failure is recorded, never raised."""
        try:
            produce()
            self.gathered.setdefault(name, "ok")
        except Exception as err:  # a missing part must not cost the others
            self.gathered[name] = f"not gathered: {type(err).__name__}: {err}"

    def write(self, path: Path) -> int:
        self.add("gathered.json", json.dumps(self.gathered, indent=2), capped=False)
        self.add("README.txt", README, capped=False)
        root = path.name.removesuffix(".tar.gz")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, data in sorted(self.files.items()):
                info = tarfile.TarInfo(f"{root}/{name}")
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(data))
        # Redacted, but still a description of someone's server: owner-only.
        from wandb_local_kit.core import files

        files.write_bytes(path, buf.getvalue(), private=True, what="the support bundle")
        return len(buf.getvalue())


README = """\
wandb-kit support bundle

Every secret the kit knows (passwords, API keys, the license, presigned-URL
signatures, private keys, and any value whose name looks secret) is replaced by
<redacted>. Please still look through it before attaching it to a public issue.

versions.json       kit, Python, wandb SDK, Docker, compose, server
host.json           OS, CPUs, memory, disks, clock
env.redacted        the settings (.env), secrets replaced
compose-config.yaml `docker compose config` (what compose would run), redacted
services.json       each service: state, health, restarts, image
logs/SERVICE.log    the last lines of each service's log, redacted
preflight.json      `wandb-kit preflight`
health.json         `wandb-kit health --json`
doctor.json         `wandb-kit doctor --json --no-deep`
gathered.json       which parts were gathered, and why others were not
"""


def _run(cmd: list[str], timeout: float = COMMAND_TIMEOUT_S, env=None) -> str:
    r = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env
    )
    if r.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd[:4])} ...` exit {r.returncode}: {r.stderr[-400:]}")
    return r.stdout


def _versions(b: Bundle, compose) -> None:
    from importlib.metadata import PackageNotFoundError, version

    from wandb_local_kit import __version__

    out: dict = {"kit": __version__, "python": sys.version.split()[0]}
    try:
        out["wandb_sdk"] = version("wandb")
    except PackageNotFoundError:
        out["wandb_sdk"] = None
    for key, cmd in (
        ("docker", ["docker", "version", "--format", "{{json .}}"]),
        ("compose", ["docker", "compose", "version", "--short"]),
    ):
        try:
            text = _run(cmd, timeout=20).strip()
            out[key] = json.loads(text) if text.startswith("{") else text
        except Exception as err:  # Docker down: say so, keep the rest
            out[key] = f"not available: {err}"
    out["server_image"] = b.values.get("WANDB_IMAGE")
    # What the server says it runs: health's versions layer (None when unreachable).
    layers = (b.reports.get("health") or {}).get("layers") or []
    facts = next((la.get("facts") or {} for la in layers if la.get("name") == "versions"), {})
    out["server"] = {k: facts.get(k) for k in ("server_version", "min_cli_version")} or None
    b.add_json("versions.json", out)


def _host(b: Bundle, compose_dir: Path) -> None:
    import shutil

    import psutil

    disks = {}
    for label, path in (("compose_dir", compose_dir), ("docker_root", Path("/var/lib/docker"))):
        if path.exists():
            usage = shutil.disk_usage(path)
            disks[label] = {"path": str(path), "total": usage.total, "free": usage.free}
    b.add_json(
        "host.json",
        {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_total": psutil.virtual_memory().total,
            "memory_available": psutil.virtual_memory().available,
            "load_average": os.getloadavg(),
            "boot_time": psutil.boot_time(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timezone": time.tzname,
            "uid": os.getuid(),
            "disks": disks,
            "docker_host": os.environ.get("DOCKER_HOST"),
        },
    )


def _env(b: Bundle, env_file: Path) -> None:
    if not env_file.exists():
        raise FileNotFoundError(f"{env_file} does not exist (`wandb-kit init` creates it)")
    lines = [f"{k}={v}" for k, v in redact_env(b.values).items()]
    b.add("env.redacted", "\n".join(lines) + "\n")


def _services(b: Bundle, compose) -> list[str]:
    services = compose.services()
    out = []
    for s in services:
        entry = {k: s.get(k) for k in ("Service", "Name", "State", "Health", "Status", "Image")}
        name = s.get("Name")
        if name:
            try:
                inspect = json.loads(_run(["docker", "inspect", name], timeout=20))[0]
                state = inspect.get("State", {})
                health = state.get("Health") or {}
                entry.update(
                    restart_count=inspect.get("RestartCount"),
                    started_at=state.get("StartedAt"),
                    finished_at=state.get("FinishedAt"),
                    exit_code=state.get("ExitCode"),
                    oom_killed=state.get("OOMKilled"),
                    error=state.get("Error"),
                    # The last probes' output: why a service is (un)healthy.
                    health_log=[
                        {"exit": h.get("ExitCode"), "output": (h.get("Output") or "")[-500:]}
                        for h in (health.get("Log") or [])[-3:]
                    ],
                )
            except Exception as err:  # the container may be gone between ps and inspect
                entry["inspect_error"] = str(err)
        out.append(entry)
    b.add_json("services.json", out)
    return sorted({s.get("Service") for s in services if s.get("Service")})


def _logs(b: Bundle, compose, services: list[str]) -> None:
    for service in services:
        result = compose.run(
            "logs",
            "--no-color",
            "--timestamps",
            "--tail",
            str(LOG_LINES),
            service,
            capture=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
        )
        b.add(f"logs/{service}.log", result.stdout + result.stderr)


def _preflight(b: Bundle, compose_dir: Path, running: bool) -> None:
    from wandb_local_kit.stack import preflight as pf

    facts = pf.observe(b.values, compose_dir, stack_running=running)
    checks = pf.check(facts, b.values, compose_dir)
    b.add_json(
        "preflight.json",
        {
            "facts": {**asdict(facts), "busy_ports": sorted(facts.busy_ports)},
            "checks": [asdict(c) for c in checks],
        },
    )


def _cli_json(b: Bundle, name: str, args: list[str], compose_dir: Path, env_file: Path) -> None:
    """`wandb-kit health/doctor --json` in a child process: its own time limit, and a
    failure there (the server down) is part of the report, not of this command."""
    cmd = [sys.executable, "-m", "wandb_local_kit", *args, "--compose-dir", str(compose_dir)]
    cmd += ["--env-file", str(env_file), "--json"]
    r = subprocess.run(
        cmd, capture_output=True, text=True, timeout=REPORT_TIMEOUT_S, stdin=subprocess.DEVNULL
    )
    try:
        b.reports[name] = json.loads(r.stdout)
        b.add_json(f"{name}.json", {"exit_code": r.returncode, "report": b.reports[name]})
    except ValueError:
        b.add_json(
            f"{name}.json",
            {"exit_code": r.returncode, "stdout": r.stdout[-4000:], "stderr": r.stderr[-4000:]},
        )


def gather(compose_dir: Path, env_file: Path, limit: int = TOTAL_MAX_BYTES) -> Bundle:
    from wandb_local_kit.core.envfile import read_env
    from wandb_local_kit.stack.deployment import Deployment

    # compose runs in the compose directory: relative paths would point elsewhere there.
    compose_dir, env_file = compose_dir.resolve(), env_file.resolve()
    values = read_env(env_file) if env_file.exists() else {}
    b = Bundle(values=values, limit=limit)
    # Built directly, not with Deployment.load: a .env that load refuses (a syntax
    # problem) is exactly what a support bundle must still gather around.
    compose = Deployment(compose_dir, env_file, values).compose
    b.part("host", lambda: _host(b, compose_dir))
    b.part("env", lambda: _env(b, env_file))
    if env_file.exists():
        b.part(
            "compose-config",
            lambda: b.add(
                "compose-config.yaml",
                compose.run("config", capture=True, timeout=COMMAND_TIMEOUT_S).stdout,
            ),
        )
    services: list[str] = []

    def services_part() -> None:
        services.extend(_services(b, compose))

    b.part("services", services_part)
    if services:
        b.part("logs", lambda: _logs(b, compose, services))
    else:
        b.gathered["logs"] = "not gathered: no service of the stack found"
    b.part("preflight", lambda: _preflight(b, compose_dir, bool(services)))
    for name, args in (("health", ["health"]), ("doctor", ["doctor", "--no-deep"])):
        b.part(name, partial(_cli_json, b, name, args, compose_dir, env_file))
    b.part("versions", lambda: _versions(b, compose))
    return b
