"""A deployment of the kit: built once from the compose directory and the settings
file, then handed to every command.

It holds the settings as read from `.env`, every fact derived from them (URL,
project, storage, TLS, ports, where certificates and backups go), the only compose
runner (with every secret of `.env` registered for redaction), the only writer of
`.env`, and the lock that serializes operations that change the deployment.
Standard library only: scripts/backup.py builds one on servers without the kit's
dependencies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from wandb_local_kit.core import files, locations, lock
from wandb_local_kit.core.envfile import read_env, read_text, render, syntax_problems, write_private
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.redact import secret_values
from wandb_local_kit.stack.compose import DEFAULT_PROJECT, Compose, docker

CA_EXPORT_NAME = "wandb-root-ca.crt"
CADDY_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"


def _check_places(compose_dir: Path, env_file: Path, need_compose: bool) -> None:
    """The compose folder holds compose.yaml and the settings' folder is a folder: named
    here, not as a traceback from wherever compose or a write first trips over them.
    (A client command with no deployment here, e.g. `health --url`, needs no compose.)"""
    if need_compose:
        check_compose_dir(compose_dir)
    for folder in (env_file.parent, *env_file.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise KitError(
                    f"{folder} is a file, but the settings file {env_file} needs it to be a folder",
                    fix=f"point ${locations.HOME_ENV} (or --env-file) at a folder, not a file",
                )
            break


def check_compose_dir(compose_dir: Path) -> None:
    """Refuses a compose folder that does not exist or has no compose.yaml."""
    fix = (
        "give the folder that holds the kit's compose.yaml with --compose-dir, or leave "
        f"the option out to use the kit's own ({locations.compose_dir()})"
    )
    if not compose_dir.is_dir():
        what = "is not a folder" if compose_dir.exists() else "does not exist"
        raise KitError(f"the compose folder {compose_dir} {what}", fix=fix)
    if not (compose_dir / "compose.yaml").is_file():
        raise KitError(f"the compose folder {compose_dir} has no compose.yaml", fix=fix)


@dataclass
class Deployment:
    compose_dir: Path
    env_file: Path
    values: dict[str, str] = field(repr=False)

    @classmethod
    def load(
        cls, compose_dir: Path | None = None, env_file: Path | None = None, must_exist=True
    ) -> Deployment:
        """The deployment whose compose files are in compose_dir (default: the kit's
        own) and whose settings are env_file (default: the home's .env)."""
        compose_dir = compose_dir or locations.compose_dir()
        env_file = env_file or locations.default_env_file(compose_dir)
        _check_places(compose_dir, env_file, need_compose=must_exist)
        if must_exist and not env_file.exists():
            raise KitError(f"{env_file} does not exist", fix="run `wandb-kit init` first")
        found = files.kind(env_file)
        if found == "a folder":
            raise KitError(f"{env_file} is a directory", fix="give the path of the .env file")
        if found not in (None, "a regular file"):
            # A device or a pipe: never read (a fifo hangs), never advised to chmod or to
            # `init` over (a rename would replace /dev/null for the whole machine).
            raise KitError(
                f"the settings file {env_file} is {found}, not a regular file",
                fix="give the path of a .env file with --env-file (or $WANDB_KIT_HOME); "
                "`wandb-kit init --env-file PATH` creates one",
            )
        if found:
            problems = syntax_problems(read_text(env_file))
            if problems:
                raise KitError(
                    f"{env_file} cannot be read as compose reads it: " + "; ".join(problems),
                    fix=f"edit {env_file}: one KEY=value per line, quotes closed on the same "
                    "line, each key once",
                )
        return cls(compose_dir, env_file, read_env(env_file))

    # --- facts derived from the settings ------------------------------------------------

    @property
    def home(self) -> Path:
        """Where the user's own files live: .env, certs/, the lock."""
        return self.env_file.parent

    @property
    def project(self) -> str:
        return self.values.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT

    @property
    def storage(self) -> str:
        return self.values.get("WANDB_STORAGE") or "embedded"

    @property
    def tls(self) -> str:
        return self.values.get("WANDB_TLS") or "off"

    @property
    def bundled_mysql(self) -> bool:
        """External storage with the kit's own MySQL (not the lab's)."""
        return self.storage == "external" and not self.values.get("WANDB_EXTERNAL_MYSQL_URL")

    @property
    def bundled_s3(self) -> bool:
        """External storage with the kit's own SeaweedFS (not the lab's bucket)."""
        return self.storage == "external" and not self.values.get("WANDB_EXTERNAL_BUCKET_URL")

    @property
    def url(self) -> str:
        """The URL clients use (WANDB_HOST)."""
        return self.values.get("WANDB_HOST", "")

    @property
    def files(self) -> list[str]:
        return [f for f in self.values.get("COMPOSE_FILE", "compose.yaml").split(":") if f]

    @property
    def certs_dir(self) -> Path:
        return self.home / "certs"

    @property
    def ca_export(self) -> Path:
        """Where `up` exports Caddy's internal root CA for clients to trust."""
        return self.certs_dir / CA_EXPORT_NAME

    @property
    def backups_dir(self) -> Path:
        return locations.default_backups_dir(self.compose_dir)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret of the settings, for redaction."""
        return tuple(secret_values(self.values))

    @cached_property
    def compose(self) -> Compose:
        return Compose(
            self.compose_dir,
            self.env_file,
            self.values.get("COMPOSE_PROJECT_NAME") or None,
            self.files,
            secrets=self.secrets,
        )

    # --- containers ----------------------------------------------------------------------

    def container(self, service: str) -> str | None:
        return self.compose.container(service)

    def inspect(self, service: str, template: str) -> str:
        cid = self.container(service)
        if cid is None:
            raise KitError(
                f"the {service} container does not exist (the stack was never started, or "
                "`wandb-kit down` removed it)",
                fix="run `wandb-kit up` first (or `docker compose up --no-start`)",
            )
        return docker("inspect", "--format", template, cid, secrets=self.secrets).strip()

    def volume_of(self, service: str, path: str) -> str:
        for m in json.loads(self.inspect(service, "{{json .Mounts}}")):
            if m.get("Destination") == path and m.get("Type") == "volume":
                return m["Name"]
        raise KitError(f"{service} has no volume at {path}", fix="check compose.yaml")

    def image_of(self, service: str) -> str:
        return self.inspect(service, "{{.Config.Image}}")

    def export_internal_ca(self) -> Path:
        """Copies Caddy's internal root CA (TLS=internal) out for clients to trust."""
        self.certs_dir.mkdir(parents=True, exist_ok=True)
        self.compose.run("cp", f"caddy:{CADDY_ROOT_CA}", str(self.ca_export))
        return self.ca_export

    def docker(self, *args: str, **kwargs) -> str:
        return docker(*args, secrets=self.secrets, **kwargs)

    # --- the settings file -----------------------------------------------------------------

    def unwritable(self) -> KitError | None:
        """Why this user could not create or replace the settings file (None if it can):
        asked before anything is written, so a refused `init` leaves no half-made folder."""
        import os

        folder = self.env_file.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if folder == self.env_file.parent:
            # core/files judges the place itself: a device, a pipe, a full disk.
            problem = files.output_problem(self.env_file)
            if problem and "not writable by this user" not in problem:
                return KitError(
                    f"the settings file cannot be written: {problem}",
                    fix="choose another path with --env-file (or $WANDB_KIT_HOME); "
                    "nothing was written",
                )
        if os.access(folder, os.W_OK | os.X_OK) and (
            not self.env_file.exists() or os.access(self.env_file, os.W_OK)
        ):
            return None
        return KitError(
            f"this user may not write {self.env_file} ({folder} is not writable by it)",
            fix="choose a folder you own with --env-file or $WANDB_KIT_HOME, or run as the "
            f"owner of {folder}",
        )

    def write(self, values: dict[str, str], template: str) -> Path:
        """Writes the whole settings file from the template (.env.example), mode 0600;
        returns where it landed (the target, when .env is a link)."""
        landed = write_private(self.env_file, render(template, values))
        self.values = dict(values)
        self.__dict__.pop("compose", None)
        return landed

    def set_value(self, key: str, value: str) -> None:
        """Changes one setting in place, keeping every other line and comment."""
        from wandb_local_kit.core.envfile import quote

        text = read_text(self.env_file)
        line = f"{key}={quote(key, value)}"
        text, n = re.subn(rf"^{re.escape(key)}=.*$", lambda _: line, text, flags=re.M)
        write_private(self.env_file, text if n else text + line + "\n")
        self.values[key] = value
        self.__dict__.pop("compose", None)

    # --- serializing changes ---------------------------------------------------------------

    @contextmanager
    def locked(self, operation: str, wait_s: float | None = None) -> Iterator[None]:
        """Holds this deployment's lock while `operation` changes it."""
        from wandb_local_kit.stack import identity

        wait = lock.wait_seconds() if wait_s is None else wait_s
        with lock.hold(self.home / f".{self.env_file.name}.lock", operation, wait):
            # The lock is per .env; another .env naming the same project shares its
            # containers: refuse before touching them (one engine, many deployments).
            identity.refuse_foreign(self.project, self.env_file, operation)
            yield

    def describe(self) -> str:
        host = urlsplit(self.url)
        return f"{self.project} ({self.storage}, TLS {self.tls}, {host.netloc or '?'})"
