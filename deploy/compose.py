"""Running `docker compose` on the kit's compose directory.

The CLI, the pytest plugin and Ansible all run the same files in compose/; this
module only builds the command line (project, env file, files) and runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from deploy.errors import EXIT_FAILED, KitError

# First boot runs database migrations: W&B's own probes allow 10 minutes. `up --wait`
# gets that plus margin; interrupting migrations can leave a "dirty" database.
UP_WAIT_TIMEOUT_S = 900


@dataclass
class Compose:
    directory: Path
    env_file: Path
    project: str | None = None
    files: list[str] = field(default_factory=list)  # empty: COMPOSE_FILE from env_file

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
        if shutil.which("docker") is None:
            raise KitError(
                "the docker command is not installed",
                fix="install Docker Engine with the compose v2 plugin",
            )
        result = subprocess.run(
            self.command(*args),
            cwd=self.directory,
            text=True,
            capture_output=capture,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or "").strip()[-2000:] if capture else ""
            raise KitError(
                f"`docker compose {' '.join(args)}` failed (exit {result.returncode})"
                + (f":\n{detail}" if detail else ""),
                fix="see the output above; `wandb-kit logs` shows the services' logs",
                exit_code=EXIT_FAILED,
            )
        return result

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
