"""Running `docker compose` and `docker` for the kit: the one place either is called.

The CLI, the pytest plugin and Ansible all run the same files in compose/; this
module builds the command line (project, env file, files), runs it, and passes
everything Docker prints through one redaction of the secrets the kit knows:
compose quotes .env lines in its errors (an unterminated quote shows the NEXT line,
often a password or the admin key), and that must never reach a terminal or a log.
Standard library only (scripts/backup.py runs it on servers without the kit's deps).
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_USAGE, KitError
from wandb_local_kit.core.redact import redact

# First boot runs database migrations: W&B's own probes allow 10 minutes. `up --wait`
# gets that plus margin; interrupting migrations can leave a "dirty" database.
UP_WAIT_TIMEOUT_S = 900
# On every throwaway container the kit starts, with the project as value: what
# `docker ps --filter label=...` lists if one ever outlives its command.
ONE_OFF_LABEL = "io.wandb-kit.one-off"
# compose.yaml's `name: ${COMPOSE_PROJECT_NAME:-wandb}`: the project when .env names none.
DEFAULT_PROJECT = "wandb"
# How a process ended by Ctrl-C exits: 128+SIGINT from compose's own handler, or
# killed by the signal (Popen's returncode -SIGINT).
_CTRL_C = (128 + signal.SIGINT, -signal.SIGINT)
_ENGINE_DOWN = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "Is the docker daemon running",
    "permission denied while trying to connect to the Docker daemon",
)
_PULL_FAILED = (
    "pull access denied",
    "manifest unknown",
    "failed to resolve reference",
    "error pulling image",
    'error response from daemon: get "https://',
)


def _require_docker() -> None:
    if shutil.which("docker") is None:
        raise KitError(
            "the docker command is not installed",
            fix="install Docker Engine with the compose v2 plugin",
        )


def engine_problem(stderr: str) -> KitError | None:
    """A clear error when Docker's message says the engine cannot be reached."""
    if "permission denied" in stderr and "docker" in stderr.lower() and ".sock" in stderr:
        return KitError(
            "this user may not talk to the Docker engine (permission denied on its socket)",
            fix="add the user to the docker group (`sudo usermod -aG docker $USER`, then log "
            "in again), or run as a user who may",
        )
    if any(marker in stderr for marker in _ENGINE_DOWN):
        return KitError(
            "the Docker engine is not reachable (DOCKER_HOST or the default socket "
            "/var/run/docker.sock)",
            fix="start Docker (`sudo systemctl start docker`), or point DOCKER_HOST at a "
            "running engine; `docker info` must answer",
        )
    return None


def pull_problem(stderr: str) -> KitError | None:
    """A clear error when an image could not be pulled: offline hosts and mirrors."""
    lowered = stderr.lower()
    if not any(marker in lowered for marker in _PULL_FAILED):
        return None
    return KitError(
        "an image of the stack could not be pulled (offline host, a registry that is not "
        "reachable, or a tag that does not exist):\n" + stderr.strip()[-600:],
        fix="on an offline host bring the images with `wandb-kit bundle load FILE` (made by "
        "`wandb-kit bundle save` where the registry is reachable); to pull from another "
        "registry or mirror set WANDB_IMAGE (and the other *_IMAGE settings) in .env",
        exit_code=EXIT_FAILED,
    )


def docker(
    *args: str, secrets: tuple[str, ...] = (), stdin=None, stdout=None, check: bool = True
) -> str:
    """Runs `docker ARGS`, returns its stdout (text) unless stdout is given (a file);
    a failure raises a KitError with Docker's message, redacted."""
    _require_docker()
    result = subprocess.run(
        ["docker", *args],
        text=stdout is None,
        stdin=stdin,
        stdout=stdout or subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if check and result.returncode != 0:
        err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
        err = redact(err, extra=secrets)
        raise engine_problem(err) or KitError(
            f"`docker {args[0]}` failed: {err.strip()[-800:]}",
            fix="see the message; `wandb-kit status` shows the stack",
            exit_code=EXIT_FAILED,
        )
    return result.stdout if stdout is None else ""


def docker_watched(
    args: list[str], path: Path, total: int | None, label: str, secrets: tuple[str, ...] = ()
) -> None:
    """Runs `docker ARGS` while a progress bar follows the growth of `path`, the file
    it writes (a backup archive); a failure raises a KitError with Docker's redacted
    message."""
    import tempfile

    from wandb_local_kit.core import progress

    _require_docker()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(["docker", *args], stdout=subprocess.DEVNULL, stderr=err)
        code = progress.watch_file(path, total, label, proc)
        if code != 0:
            err.seek(0)
            text = redact(err.read().decode(errors="replace"), extra=secrets)
            raise engine_problem(text) or KitError(
                f"`docker {args[0]}` failed: {text.strip()[-800:]}",
                fix="see the message; `wandb-kit status` shows the stack",
                exit_code=EXIT_FAILED,
            )


def one_off_name(project: str, what: str) -> str:
    """A name for a throwaway container, unique on the engine, so it can be removed by
    name when the command that started it is interrupted."""
    return f"{project}-{what}-run-{secrets.token_hex(6)}"


@contextmanager
def removed_if_interrupted(name: str) -> Iterator[None]:
    """Removes the container `name` at once if the block ends in an exception (Ctrl-C,
    SIGTERM, a timeout). Killing `docker run` or `docker compose run` does not stop
    its container: the script inside is PID 1, which ignores SIGINT, and the CLI is
    killed before it can clean up; the copy would go on writing into a backup folder
    the kit is deleting, or into the bucket or volume it was told to leave alone.
    Ended normally, `--rm` has removed it already."""
    try:
        yield
    except BaseException:
        # Own session: a second Ctrl-C at the terminal does not cut the removal short.
        subprocess.run(
            ["docker", "rm", "--force", name], capture_output=True, start_new_session=True
        )
        raise


def engine_available() -> bool:
    """True when a Docker engine answers (DOCKER_HOST or the default socket)."""
    if shutil.which("docker") is None:
        return False
    return bool(docker("version", "--format", "{{.Server.Version}}", check=False).strip())


def image_present(image: str) -> bool:
    """True when the image is on this host's engine."""
    _require_docker()
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
    return found.returncode == 0


def require_engine() -> None:
    """A KitError naming the engine (and DOCKER_HOST) unless a Docker engine answers;
    for operations that would otherwise misread its absence (an image "not on this
    host", a pull that "failed")."""
    docker("version", "--format", "{{.Server.Version}}")


def docker_data_root() -> str | None:
    """Docker's data root (where images and volumes grow), or None without an engine."""
    if shutil.which("docker") is None:
        return None
    path = docker("info", "--format", "{{.DockerRootDir}}", check=False).strip()
    return path if path.startswith("/") else None


def _pump(source, sink, secrets: tuple[str, ...], keep: list[str]) -> None:
    for line in iter(source.readline, ""):
        clean = redact(line, extra=secrets)
        keep.append(clean)
        del keep[:-200]
        sink.write(clean)
        sink.flush()


@dataclass
class Compose:
    directory: Path
    env_file: Path
    project: str | None = None
    files: list[str] = field(default_factory=list)  # empty: COMPOSE_FILE from env_file
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def command(self, *args: str) -> list[str]:
        cmd = [
            "docker",
            "compose",
            "--project-directory",
            str(self.directory),
            "--env-file",
            str(self.env_file),
        ]
        if self.project:
            cmd += ["--project-name", self.project]
        for f in self.files:
            cmd += ["--file", str(self.directory / f)]
        return cmd + list(args)

    def run(
        self, *args: str, capture: bool = False, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        """Runs `docker compose ARGS`. Captured or streamed to this terminal, the output
        is redacted either way."""
        _require_docker()
        if capture:
            result = subprocess.run(
                self.command(*args),
                cwd=self.directory,
                text=True,
                capture_output=True,
                timeout=timeout,
                errors="replace",
            )
            result.stdout = redact(result.stdout, extra=self.secrets)
            result.stderr = redact(result.stderr, extra=self.secrets)
        else:
            result = self._stream(args, timeout)
        if check and result.returncode in _CTRL_C:
            # compose ended by Ctrl-C (the kit may see only its exit status when compose
            # exits before the kit's own interrupt runs): an interruption, with the
            # caller's way back, not a failure pointing at the logs.
            raise KeyboardInterrupt
        if check and result.returncode != 0:
            raise self.failure(args, result)
        return result

    def run_once(
        self, service: str, *args: str, options: tuple[str, ...] = (), capture: bool = True
    ) -> subprocess.CompletedProcess:
        """`docker compose run --rm --no-deps [options] service [args]`: a one-off
        container of service that never outlives this call (see removed_if_interrupted)."""
        project = self.project or DEFAULT_PROJECT
        name = one_off_name(project, service)
        with removed_if_interrupted(name):
            return self.run(
                "run", "--rm", "--no-deps", "--name", name,
                "--label", f"{ONE_OFF_LABEL}={project}", *options, service, *args,
                capture=capture,
            )  # fmt: skip

    def _stream(self, args, timeout) -> subprocess.CompletedProcess:
        """Streams compose's output line by line through the redaction (for `logs -f`,
        `up`), keeping the last lines of stderr for the error message."""
        proc = subprocess.Popen(
            self.command(*args),
            cwd=self.directory,
            text=True,
            errors="replace",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out: list[str] = []
        err: list[str] = []
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, self.secrets, out)),
            threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, self.secrets, err)),
        ]
        for t in pumps:
            t.daemon = True
            t.start()
        try:
            code = proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        for t in pumps:
            t.join(timeout=5)
        return subprocess.CompletedProcess(proc.args, code, "".join(out), "".join(err))

    def failure(self, args, result: subprocess.CompletedProcess) -> KitError:
        detail = (result.stderr or "").strip()
        known = engine_problem(detail) or pull_problem(detail)
        if known:
            return known
        if "env file" in detail or "failed to read" in detail or "unexpected character" in detail:
            return KitError(
                f"docker compose cannot read {self.env_file}: {detail[-600:]}",
                fix=f"fix the line it names in {self.env_file} (an unterminated quote, or a "
                "line without KEY=value); `wandb-kit preflight` names the problem",
                exit_code=EXIT_USAGE,
            )
        return KitError(
            f"`docker compose {' '.join(args)}` failed (exit {result.returncode})"
            + (f":\n{detail[-2000:]}" if detail else ""),
            fix="see the output above; `wandb-kit logs` shows the services' logs",
            exit_code=EXIT_FAILED,
        )

    def up(self, timeout_s: int = UP_WAIT_TIMEOUT_S) -> None:
        self.run("up", "--detach", "--wait", "--wait-timeout", str(timeout_s))

    def down(self, volumes: bool = False) -> None:
        self.run("down", "--remove-orphans", *(["--volumes"] if volumes else []))

    def services(self) -> list[dict]:
        """`docker compose ps` as dicts (Service, State, Health, Publishers...)."""
        out = self.run("ps", "--all", "--format", "json", capture=True).stdout.strip()
        if not out:
            return []
        # compose prints one JSON object per line (older versions: one JSON array).
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def service_names(self) -> list[str]:
        """The services the files define (running or not)."""
        out = self.run("config", "--services", capture=True).stdout
        return [s for s in out.split() if s]

    def container(self, service: str) -> str | None:
        out = self.run("ps", "--all", "-q", service, capture=True).stdout.split()
        return out[0] if out else None
