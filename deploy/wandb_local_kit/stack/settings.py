"""The kit's settings: defaults from .env.example, generated secrets, values derived
with proper URL-quoting, and validation that names each bad value and its fix.

Pure functions over a dict of strings, so every decision is unit-testable.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from wandb_local_kit.core.envfile import read_env
from wandb_local_kit.core.net import is_loopback
from wandb_local_kit.core.storage_urls import URLProblem, parse_bucket_url, parse_mysql_url

STORAGE_CHOICES = ("embedded", "external")
TLS_CHOICES = ("off", "internal", "files", "acme")
OIDC_METHODS = ("pkce", "implicit")
OIDC_DEFAULT_METHOD = "implicit"  # W&B's default when OIDC_AUTH_METHOD is unset


def _token(nbytes: int) -> str:
    """A URL-safe secret that never starts with '-' (a tool would read it as an option)
    and needs no escaping in JSON (SeaweedFS's identities file)."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if token[0].isalnum():
            return token


# Secrets generated when empty; re-running init keeps existing ones.
SECRET_FACTORIES = {
    # On-prem API keys: a prefix, a dash, then >= 40 characters (SDK validation).
    "WANDB_ADMIN_API_KEY": lambda: "local-" + secrets.token_hex(20),
    "MYSQL_PASSWORD": lambda: _token(24),
    "MYSQL_ROOT_PASSWORD": lambda: _token(24),
    # The bundled store's admin identity: held only by the storage-init job.
    "STORAGE_ADMIN_ACCESS_KEY": lambda: "kitadmin" + secrets.token_hex(8),
    "STORAGE_ADMIN_SECRET_KEY": lambda: _token(30),
    # W&B's own identity on the bundled store, limited to its bucket.
    "WANDB_S3_ACCESS_KEY": lambda: "wandb" + secrets.token_hex(8),
    "WANDB_S3_SECRET_KEY": lambda: _token(30),
}
SECRET_KEYS = frozenset(SECRET_FACTORIES) | {
    "WANDB_LICENSE",
    "WANDB_MYSQL_URL",
    "WANDB_BUCKET_URL",
    "WANDB_EXTERNAL_MYSQL_URL",
    "WANDB_EXTERNAL_BUCKET_URL",
    "STORAGE_INIT_SECRET_KEY",
    "WANDB_OIDC_CLIENT_SECRET",
}
# SeaweedFS's own ports inside its container: the S3 port must not take one.
SEAWEEDFS_INTERNAL_PORTS = {"8080", "8888", "9333", "18080", "18888", "19333"}
_S3_KEY = re.compile(r"^[A-Za-z0-9_.+/=-]{3,128}$")


@dataclass(frozen=True)
class Problem:
    key: str
    problem: str
    fix: str

    def render(self) -> str:
        return f"{self.key}: {self.problem}\n  fix: {self.fix}"


def default_compose_dir() -> Path:
    from wandb_local_kit.core import locations

    return locations.compose_dir()


def example_values(compose_dir: Path) -> dict[str, str]:
    return read_env(compose_dir / ".env.example")


def compose_files(
    storage: str, tls: str, test: bool = False, own_bucket: bool = False
) -> list[str]:
    """The compose files of a setup, base first; test overlays follow their base.
    With your own bucket (own_bucket) nothing of the kit's sits in front of it."""
    files = ["compose.yaml"] + (["test.yaml"] if test else [])
    if storage == "external":
        files += ["external.yaml"] + (["test-external.yaml"] if test else [])
    if tls != "off":
        files += ["tls.yaml"] + (["test-tls.yaml"] if test else [])
    if tls == "acme" and test:
        files += ["test-acme.yaml"]  # a private ACME CA in place of Let's Encrypt
    if storage == "external" and tls != "off" and not own_bucket:
        # The bucket endpoint behind Caddy as well.
        files += ["external-tls.yaml"] + (["test-external-tls.yaml"] if test else [])
    return files


# init's flags and the settings they set.
CHOICE_KEYS = {
    "storage": "WANDB_STORAGE",
    "tls": "WANDB_TLS",
    "acme_email": "WANDB_ACME_EMAIL",
    "project": "COMPOSE_PROJECT_NAME",
    "host": "WANDB_HOST",
    "bind": "WANDB_BIND",
    "bucket_url": "WANDB_BUCKET_PUBLIC_URL",
    "image": "WANDB_IMAGE",
    "external_mysql_url": "WANDB_EXTERNAL_MYSQL_URL",
    "external_bucket_url": "WANDB_EXTERNAL_BUCKET_URL",
    # SSO (server/sso.py validates them; the secret comes from --oidc-secret-file).
    "oidc_issuer": "WANDB_OIDC_ISSUER",
    "oidc_client_id": "WANDB_OIDC_CLIENT_ID",
    "oidc_client_secret": "WANDB_OIDC_CLIENT_SECRET",
    "oidc_method": "WANDB_OIDC_AUTH_METHOD",
}


def build_values(
    existing: dict[str, str],
    defaults: dict[str, str],
    choices: dict[str, str | None],
    host_cpus: int | None = None,
) -> dict[str, str]:
    """init's result: the defaults, overlaid by the existing .env, overlaid by the
    choices (CHOICE_KEYS' names; None = not given), with derived values filled in.
    host_cpus caps the default CPU limit: Docker refuses a limit above the host's."""
    values = {**defaults, **{k: v for k, v in existing.items() if v != ""}}
    for flag, key in CHOICE_KEYS.items():
        if choices.get(flag):
            values[key] = choices[flag]
    if host_cpus and not existing.get("WANDB_CPUS") and _number(values.get("WANDB_CPUS")):
        values["WANDB_CPUS"] = _cpus(min(float(values["WANDB_CPUS"]), host_cpus))
    if choices.get("host"):
        values.update(_published_port_for(choices["host"], values.get("WANDB_TLS", "off")))
    host = urlsplit(values.get("WANDB_HOST", ""))
    tls = values.get("WANDB_TLS", "off")
    if tls != "off" and host.scheme == "http" and not choices.get("host"):
        # Turning TLS on: clients now come through the proxy's HTTPS port.
        port = values.get("WANDB_HTTPS_PORT", "443")
        netloc = host.hostname + ("" if port == "443" else f":{port}")
        values["WANDB_HOST"] = urlunsplit(("https", netloc, "", "", ""))
    bucket = urlsplit(values.get("WANDB_BUCKET_PUBLIC_URL", ""))
    wanted = bucket_scheme(tls)
    if (
        bucket.scheme in ("http", "https")
        and bucket.scheme != wanted
        and not choices.get("bucket_url")
    ):
        # TLS turned on or off: the bucket endpoint moves behind Caddy or back.
        values["WANDB_BUCKET_PUBLIC_URL"] = urlunsplit((wanted, bucket.netloc, "", "", ""))
    return derive(generate_secrets(values))


def place_user_files(values: dict[str, str], home: Path, compose_dir: Path) -> dict[str, str]:
    """When the user's home is not the compose directory (an installed kit, whose
    compose files are read-only in site-packages), a relative certificate directory
    would point into the package: it moves to the home, as an absolute path."""
    out = dict(values)
    cert_dir = out.get("WANDB_TLS_CERT_DIR", "")
    if home.resolve() != compose_dir.resolve() and cert_dir and not Path(cert_dir).is_absolute():
        out["WANDB_TLS_CERT_DIR"] = str(home / "tls")
    return out


def _number(text: str | None) -> bool:
    try:
        return float(text or "") > 0
    except ValueError:
        return False


def _cpus(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


def _published_port_for(host_url: str, tls: str) -> dict[str, str]:
    """The port a --host URL names is the port to publish: WANDB_PORT without TLS,
    WANDB_HTTPS_PORT with it (a bad port is left to validate() to name)."""
    parts = urlsplit(host_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return {}
    if not 0 < port < 65536:
        return {}
    if tls == "off" and parts.scheme == "http":
        return {"WANDB_PORT": str(port)}
    if tls != "off" and parts.scheme == "https":
        return {"WANDB_HTTPS_PORT": str(port)}
    return {}


def generate_secrets(values: dict[str, str]) -> dict[str, str]:
    out = dict(values)
    for key, make in SECRET_FACTORIES.items():
        if not out.get(key):
            out[key] = make()
    return out


def bucket_scheme(tls: str) -> str:
    """With TLS on, Caddy serves the bucket over https (external-tls.yaml); without,
    clients talk to SeaweedFS's plain http S3 port."""
    return "http" if tls == "off" else "https"


def default_bucket_url(wandb_host: str, tls: str = "off") -> str:
    host = urlsplit(wandb_host).hostname or "localhost"
    if is_loopback(host):
        # localhost means a different machine inside the wandb container; this
        # machine's name resolves to it on the host and is aliased to SeaweedFS (or,
        # with TLS, to Caddy) inside.
        host = socket.gethostname()
    return f"{bucket_scheme(tls)}://{host}:8333"


def derive(values: dict[str, str], test: bool = False) -> dict[str, str]:
    """Fills the derived keys (URLs built from parts, with URL-quoting)."""
    out = dict(values)
    storage, tls = out.get("WANDB_STORAGE", "embedded"), out.get("WANDB_TLS", "off")
    own_bucket = bool(out.get("WANDB_EXTERNAL_BUCKET_URL")) and storage == "external"
    files = compose_files(storage, tls, test, own_bucket)
    if out.get("WANDB_OIDC_ISSUER"):
        # SSO's variables reach the server only when set: with SSO off the server's
        # environment stays exactly as without it.
        files.append("sso.yaml")
    out["COMPOSE_FILE"] = ":".join(files)
    host = urlsplit(out.get("WANDB_HOST", ""))
    out["WANDB_TLS_HOSTNAME"] = host.hostname or ""
    if storage == "external":
        _derive_external(out)
    return out


def _derive_external(out: dict[str, str]) -> None:
    """MySQL and bucket: the bundled services' addresses and identities, or yours."""
    tls = out.get("WANDB_TLS", "off")
    # W&B URL-decodes these; quote every reserved character, including '+'.
    q = lambda s: quote(s, safe="")  # noqa: E731
    out["WANDB_BUCKET_CORS_ORIGINS"] = origin(out.get("WANDB_HOST", ""))
    profiles = []
    own_mysql = out.get("WANDB_EXTERNAL_MYSQL_URL", "")
    if own_mysql:
        try:
            out["WANDB_MYSQL_URL"] = parse_mysql_url(own_mysql).for_wandb()
        except URLProblem:
            pass  # validate() names it
    else:
        profiles.append("bundled-mysql")
        out["WANDB_MYSQL_URL"] = (
            f"mysql://{q(out.get('MYSQL_USER', ''))}:{q(out.get('MYSQL_PASSWORD', ''))}"
            f"@mysql:3306/{q(out.get('MYSQL_DATABASE', ''))}"
        )
    own_bucket = out.get("WANDB_EXTERNAL_BUCKET_URL", "")
    if own_bucket:
        try:
            b = parse_bucket_url(own_bucket, out.get("AWS_REGION") or "us-east-1")
        except URLProblem:
            b = None  # validate() names it
        if b is not None:
            out.update(
                WANDB_BUCKET_PUBLIC_URL=b.endpoint,
                WANDB_BUCKET_HOSTNAME=b.host,
                WANDB_BUCKET_PORT=str(b.port),
                WANDB_BUCKET_NAME=b.bucket,
                AWS_REGION=b.region,
                WANDB_BUCKET_URL=b.for_wandb(),
                # Your store: storage-init reaches it under its public name, with W&B's
                # own identity (it creates nothing when the bucket exists already).
                STORAGE_INIT_ENDPOINT=b.endpoint,
                STORAGE_INIT_ACCESS_KEY=b.access_key,
                STORAGE_INIT_SECRET_KEY=b.secret_key,
            )
    else:
        profiles.append("bundled-s3")
        if not out.get("WANDB_BUCKET_PUBLIC_URL"):
            out["WANDB_BUCKET_PUBLIC_URL"] = default_bucket_url(out.get("WANDB_HOST", ""), tls)
        bucket = urlsplit(out["WANDB_BUCKET_PUBLIC_URL"])
        try:
            port = bucket.port or (443 if bucket.scheme == "https" else 80)
        except ValueError:
            port = 0  # validate() names it
        out["WANDB_BUCKET_HOSTNAME"] = bucket.hostname or ""
        out["WANDB_BUCKET_PORT"] = str(port)
        out["WANDB_BUCKET_URL"] = (
            f"s3://{q(out.get('WANDB_S3_ACCESS_KEY', ''))}:{q(out.get('WANDB_S3_SECRET_KEY', ''))}"
            f"@{bucket.hostname}:{port}/{out.get('WANDB_BUCKET_NAME', '')}"
            + ("?tls=true" if bucket.scheme == "https" else "")
        )
        # The init job talks to the store inside the network, as its admin.
        out["STORAGE_INIT_ENDPOINT"] = f"http://seaweedfs:{port}"
        out["STORAGE_INIT_ACCESS_KEY"] = out.get("STORAGE_ADMIN_ACCESS_KEY", "")
        out["STORAGE_INIT_SECRET_KEY"] = out.get("STORAGE_ADMIN_SECRET_KEY", "")
    out["COMPOSE_PROFILES"] = ",".join(profiles)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# --- validation -----------------------------------------------------------------------

_MEMORY = re.compile(r"^\d+(\.\d+)?[kmgtKMGT]?[bB]?$")
_IDENT = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_API_KEY = re.compile(r"^[A-Za-z0-9]+-[\w-]{40,}$")


# --- validation: a table of rules, each one concern, each naming the key and the fix ----

Rule = Callable[[dict[str, str], "Path | None"], Iterable[Problem]]


def _choices(v: dict[str, str], _dir) -> Iterator[Problem]:
    storage, tls = v.get("WANDB_STORAGE", ""), v.get("WANDB_TLS", "")
    if storage not in STORAGE_CHOICES:
        yield Problem(
            "WANDB_STORAGE",
            f"{storage!r} is not a storage choice",
            f"use one of {', '.join(STORAGE_CHOICES)}",
        )
    if tls not in TLS_CHOICES:
        yield Problem(
            "WANDB_TLS", f"{tls!r} is not a TLS choice", f"use one of {', '.join(TLS_CHOICES)}"
        )


def _host(v: dict[str, str], _dir) -> Iterator[Problem]:
    """WANDB_HOST: the one URL clients use; the first problem found is the one named."""
    raw, tls = v.get("WANDB_HOST", ""), v.get("WANDB_TLS", "")
    host = urlsplit(raw)
    raw = _without_credentials(raw)  # what the messages below may show
    if host.username is not None or host.password is not None:
        # Never echoed: the part before @ is someone's password.
        yield Problem(
            "WANDB_HOST",
            "has a user name or password before @ (clients log in with an API key, and "
            "the URL is printed and shared)",
            "give scheme://host[:port] only, e.g. http://wandb.lab.example:8080",
        )
    elif host.scheme not in ("http", "https") or not host.hostname:
        yield Problem(
            "WANDB_HOST",
            f"{raw!r} is not an http(s) URL",
            "set it to the URL clients use, e.g. http://wandb.lab.example:8080",
        )
    elif host.query or host.fragment or host.path not in ("", "/"):
        yield Problem(
            "WANDB_HOST",
            f"{raw!r} has a path, query or fragment (W&B serves from the root of its host)",
            "use scheme://host[:port] only, e.g. http://wandb.lab.example:8080",
        )
    elif _bad_port(host):
        yield Problem(
            "WANDB_HOST",
            f"{raw!r} has no valid port ({_bad_port(host)})",
            "use a port from 1 to 65535, e.g. http://wandb.lab.example:8080",
        )
    elif not _HOSTNAME.match(host.hostname) and not _is_ip(host.hostname):
        yield Problem(
            "WANDB_HOST",
            f"{host.hostname!r} is not a host name (letters, digits, dots and hyphens only)",
            "use the name or address clients reach, e.g. http://wandb.lab.example:8080",
        )
    elif _is_ip(host.hostname) and ipaddress.ip_address(host.hostname).is_unspecified:
        yield Problem(
            "WANDB_HOST",
            f"{host.hostname} is an address to listen on, not one clients can reach",
            "use this machine's name or IP as clients see it, e.g. http://wandb.lab.example:8080 "
            "(--bind 0.0.0.0 is what publishes on every interface)",
        )
    elif tls in ("internal", "files", "acme") and host.scheme != "https":
        yield Problem(
            "WANDB_HOST",
            f"is {host.scheme}:// but WANDB_TLS={tls}",
            "use https:// with TLS on, or set WANDB_TLS=off",
        )
    elif tls == "acme" and (is_loopback(host.hostname) or _is_ip(host.hostname)):
        yield Problem(
            "WANDB_HOST",
            "ACME needs a public DNS name, not an address",
            "use WANDB_TLS=internal for a lab without public DNS",
        )


def _without_credentials(url: str) -> str:
    """URL with anything before an @ masked, scheme or not ("bob:pw@host" too)."""
    return re.sub(r"^([A-Za-z][\w+.-]*://)?[^@]*@", r"\1<redacted>@", url)


_HOSTNAME = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$"
)
# docker compose's own rule for project names.
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _project_and_unused(v: dict[str, str], _dir) -> Iterator[Problem]:
    """A project name compose accepts, and no setting that would be silently ignored."""
    project = v.get("COMPOSE_PROJECT_NAME", "")
    if project and not _PROJECT.match(project):
        yield Problem(
            "COMPOSE_PROJECT_NAME",
            f"{project!r} is not a name docker compose accepts",
            "use lower-case letters, digits, - and _, starting with a letter or digit, "
            "e.g. wandb-lab",
        )
    if v.get("WANDB_STORAGE") != "external":
        for key in ("WANDB_EXTERNAL_MYSQL_URL", "WANDB_EXTERNAL_BUCKET_URL"):
            if v.get(key):  # never echoed: it holds a password
                yield Problem(
                    key,
                    f"is set but WANDB_STORAGE={v.get('WANDB_STORAGE')}: it would be ignored",
                    "add --storage external (WANDB_STORAGE=external), or leave the URL out",
                )


def _ports_and_binds(v: dict[str, str], _dir) -> Iterator[Problem]:
    for key in ("WANDB_PORT", "WANDB_HTTPS_PORT", "WANDB_HTTP_PORT"):
        raw = v.get(key, "")
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            yield Problem(key, f"{raw!r} is not a port number", f"set {key} to 1-65535")
    for key in ("WANDB_BIND", "WANDB_BUCKET_BIND"):
        if not _is_ip(v.get(key, "")):
            yield Problem(
                key,
                f"{v.get(key, '')!r} is not an IP address",
                "use 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)",
            )


def _images(v: dict[str, str], _dir) -> Iterator[Problem]:
    for key in (
        "WANDB_IMAGE",
        "MYSQL_IMAGE",
        "SEAWEEDFS_IMAGE",
        "STORAGE_INIT_IMAGE",
        "CADDY_IMAGE",
    ):
        image = v.get(key, "")
        _, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        if not tag or tag == "latest":
            yield Problem(
                key, f"{image!r} has no pinned tag", f"set {key} to a release tag, never latest"
            )


def _admin_api(v: dict[str, str], _dir) -> Iterator[Problem]:
    if not _API_KEY.match(v.get("WANDB_ADMIN_API_KEY", "")):
        yield Problem(
            "WANDB_ADMIN_API_KEY",
            "is not an on-prem API key (prefix-<40+ chars>)",
            "clear it and run wandb-kit init to generate one",
        )
    if v.get("WANDB_ADMIN_API_ENABLED", "") not in ("true", "false"):
        yield Problem("WANDB_ADMIN_API_ENABLED", "must be true or false", "set true or false")


def _resources(v: dict[str, str], _dir) -> Iterator[Problem]:
    if not _MEMORY.match(v.get("WANDB_MEMORY", "")):
        yield Problem(
            "WANDB_MEMORY", f"{v.get('WANDB_MEMORY', '')!r} is not a size", "use e.g. 8g or 8192m"
        )
    if not _number(v.get("WANDB_CPUS")):
        yield Problem(
            "WANDB_CPUS", f"{v.get('WANDB_CPUS', '')!r} is not a CPU count", "use e.g. 4 or 2.5"
        )


def _external(v: dict[str, str], _dir) -> Iterable[Problem]:
    if v.get("WANDB_STORAGE") == "external":
        return _validate_external(v, v.get("WANDB_TLS", ""))
    return ()


def _tls_files(v: dict[str, str], compose_dir: Path | None) -> Iterator[Problem]:
    if v.get("WANDB_TLS") != "files" or compose_dir is None:
        return
    cert_dir = (compose_dir / v.get("WANDB_TLS_CERT_DIR", "")).resolve()
    missing = [n for n in ("cert.pem", "key.pem") if not (cert_dir / n).is_file()]
    if missing:
        yield Problem(
            "WANDB_TLS_CERT_DIR",
            f"{cert_dir} lacks {', '.join(missing)}",
            "put your certificate pair there as cert.pem and key.pem",
        )


def _acme(v: dict[str, str], _dir) -> Iterator[Problem]:
    if v.get("WANDB_TLS") != "acme":
        return
    if "@" not in v.get("WANDB_ACME_EMAIL", ""):
        yield Problem(
            "WANDB_ACME_EMAIL",
            "is required for ACME (the CA's account and expiry notices)",
            "pass your email address to wandb-kit init as --acme-email YOU@LAB.EXAMPLE "
            "(WANDB_ACME_EMAIL in .env)",
        )
    acme_ca = urlsplit(v.get("WANDB_ACME_CA", ""))
    if acme_ca.scheme != "https" or not acme_ca.hostname:
        yield Problem(
            "WANDB_ACME_CA",
            f"{v.get('WANDB_ACME_CA', '')!r} is not an https:// ACME directory URL "
            "(Caddy refuses plain http)",
            "use https://acme-v02.api.letsencrypt.org/directory, or your ACME CA's directory",
        )


def oidc_problems(v: dict[str, str], _dir=None) -> list[Problem]:
    """SSO's settings (server/sso.py uses them): an issuer that is https (plain http
    only on loopback), a client id, a known method; nothing when SSO is off."""
    issuer = v.get("WANDB_OIDC_ISSUER", "")
    if not issuer:
        extra = [
            k
            for k in ("WANDB_OIDC_CLIENT_ID", "WANDB_OIDC_CLIENT_SECRET", "WANDB_OIDC_AUTH_METHOD")
            if v.get(k)
        ]
        if extra:
            return [
                Problem(
                    "WANDB_OIDC_ISSUER",
                    f"is empty while {', '.join(extra)} is set",
                    "pass --oidc-issuer URL (or --no-oidc to turn SSO off)",
                )
            ]
        return []
    out: list[Problem] = []
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        out.append(
            Problem(
                "WANDB_OIDC_ISSUER",
                f"{issuer!r} is not an https URL",
                "pass the provider's issuer URL",
            )
        )
    elif parts.scheme == "http" and not is_loopback(parts.hostname):
        out.append(
            Problem(
                "WANDB_OIDC_ISSUER",
                f"{issuer!r} is plain http on another machine: ID tokens would travel unencrypted",
                "use the provider's https:// issuer (http only for a provider on loopback)",
            )
        )
    elif parts.query or parts.fragment:
        out.append(
            Problem(
                "WANDB_OIDC_ISSUER",
                f"{issuer!r} has a query or fragment",
                "pass the issuer URL only",
            )
        )
    if not v.get("WANDB_OIDC_CLIENT_ID"):
        out.append(
            Problem(
                "WANDB_OIDC_CLIENT_ID",
                "is empty",
                "pass --oidc-client-id with the provider's client id",
            )
        )
    method = v.get("WANDB_OIDC_AUTH_METHOD") or OIDC_DEFAULT_METHOD
    if method not in OIDC_METHODS:
        out.append(
            Problem("WANDB_OIDC_AUTH_METHOD", f"{method!r} is not a method", "use pkce or implicit")
        )
    return out


RULES: tuple[Rule, ...] = (
    _choices,
    _host,
    _project_and_unused,
    _ports_and_binds,
    _images,
    _admin_api,
    _resources,
    _external,
    _tls_files,
    _acme,
    oidc_problems,
)


def validate(values: dict[str, str], compose_dir: Path | None = None) -> list[Problem]:
    """Every problem with the settings, each naming the key and the fix (RULES, in order)."""
    return [problem for rule in RULES for problem in rule(values, compose_dir)]


def _validate_external(values: dict[str, str], tls: str) -> list[Problem]:
    p: list[Problem] = []
    own_mysql, own_bucket = (
        values.get("WANDB_EXTERNAL_MYSQL_URL", ""),
        values.get("WANDB_EXTERNAL_BUCKET_URL", ""),
    )
    if own_mysql:
        try:
            parse_mysql_url(own_mysql)
        except URLProblem as err:
            p.append(
                Problem(
                    "WANDB_EXTERNAL_MYSQL_URL",
                    str(err),
                    "pass --external-mysql-url mysql://USER:PASSWORD@HOST:3306/DATABASE "
                    "(percent-encode @ : / in the password)",
                )
            )
    else:
        for key in ("MYSQL_DATABASE", "MYSQL_USER"):
            if not _IDENT.match(values.get(key, "")):
                p.append(
                    Problem(
                        key,
                        f"{values.get(key, '')!r} is not a plain MySQL name",
                        "use letters, digits and _ only",
                    )
                )
        for key in ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"):
            if not values.get(key):
                p.append(
                    Problem(key, "is empty", "clear it and run wandb-kit init to generate one")
                )
    if own_bucket:
        try:
            parse_bucket_url(own_bucket)
        except URLProblem as err:
            p.append(
                Problem(
                    "WANDB_EXTERNAL_BUCKET_URL",
                    str(err),
                    "pass --external-bucket-url "
                    "s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET?region=REGION&tls=true",
                )
            )
            return p
    else:
        for key in (
            "STORAGE_ADMIN_ACCESS_KEY",
            "STORAGE_ADMIN_SECRET_KEY",
            "WANDB_S3_ACCESS_KEY",
            "WANDB_S3_SECRET_KEY",
        ):
            value = values.get(key, "")
            if not _S3_KEY.match(value) or value.startswith("-"):
                p.append(
                    Problem(
                        key,
                        "is empty, too long, starts with '-' or holds a character other than "
                        "letters, digits and _ . + / = - (it goes into SeaweedFS's JSON "
                        "identities file)",
                        "clear it and run wandb-kit init to generate one",
                    )
                )
        if values.get("STORAGE_ADMIN_ACCESS_KEY") and values.get(
            "STORAGE_ADMIN_ACCESS_KEY"
        ) == values.get("WANDB_S3_ACCESS_KEY"):
            p.append(
                Problem(
                    "WANDB_S3_ACCESS_KEY",
                    "is the store admin's access key: W&B must get its own, bucket-limited one",
                    "clear it and run wandb-kit init to generate one",
                )
            )
    if not _BUCKET.match(values.get("WANDB_BUCKET_NAME", "")):
        p.append(
            Problem(
                "WANDB_BUCKET_NAME",
                "is not a valid S3 bucket name",
                "use 3-63 lowercase letters, digits, dots and hyphens",
            )
        )
    if own_bucket:
        return p
    bucket = urlsplit(values.get("WANDB_BUCKET_PUBLIC_URL", ""))
    try:
        port = bucket.port
    except ValueError:
        port = -1
    if (
        bucket.scheme not in ("http", "https")
        or not bucket.hostname
        or bucket.path not in ("", "/")
        or port == -1
    ):
        p.append(
            Problem(
                "WANDB_BUCKET_PUBLIC_URL",
                "is not an http(s)://host:port URL",
                "set it to this server's name or LAN address, e.g. http://wandb.lab.example:8333",
            )
        )
    elif is_loopback(bucket.hostname):
        p.append(
            Problem(
                "WANDB_BUCKET_PUBLIC_URL",
                f"names {bucket.hostname}, which inside the wandb container is that "
                "container itself",
                "use this server's DNS name or LAN address, reachable from clients "
                "and containers alike",
            )
        )
    elif tls in TLS_CHOICES and bucket.scheme != bucket_scheme(tls):
        p.append(_bucket_scheme_problem(bucket.scheme, tls))
    elif str(port or (443 if bucket.scheme == "https" else 80)) in SEAWEEDFS_INTERNAL_PORTS:
        p.append(
            Problem(
                "WANDB_BUCKET_PUBLIC_URL",
                f"uses port {port}, which SeaweedFS uses inside for its master, volume or filer",
                "give the bucket another port, e.g. :8333",
            )
        )
    elif tls in TLS_CHOICES and tls != "off":
        p.extend(_bucket_port_clashes(values, port or 443))
    return p


def _bucket_scheme_problem(scheme: str, tls: str) -> Problem:
    if tls == "off":
        return Problem(
            "WANDB_BUCKET_PUBLIC_URL",
            "is https:// but WANDB_TLS=off: SeaweedFS serves plain http, and only Caddy "
            "(TLS on) puts https in front of it",
            "use http://, or turn TLS on (wandb-kit init --tls internal|files|acme)",
        )
    return Problem(
        "WANDB_BUCKET_PUBLIC_URL",
        f"is {scheme}:// but WANDB_TLS={tls}: browsers on the https W&B page block "
        "plain-http media and uploads, and Caddy serves the bucket over https only",
        "use https:// (or clear it and run wandb-kit init to derive it)",
    )


def _bucket_port_clashes(values: dict[str, str], port: int) -> list[Problem]:
    """Caddy listens on the bucket port next to its own 80/443 and publishes it on
    the host next to WANDB_HTTPS_PORT/WANDB_HTTP_PORT: none may be the same."""
    taken = {"443": "Caddy's W&B site (inside)", "80": "Caddy's HTTP site (inside)"}
    for key in ("WANDB_HTTPS_PORT", "WANDB_HTTP_PORT"):
        taken.setdefault(values.get(key, ""), key)
    if str(port) not in taken:
        return []
    return [
        Problem(
            "WANDB_BUCKET_PUBLIC_URL",
            f"uses port {port}, which {taken[str(port)]} uses already",
            "give the bucket its own port, e.g. https://NAME:8333",
        )
    ]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _bad_port(parts) -> str:
    """Why a URL's port is unusable, or '' when it is fine (or absent)."""
    try:
        port = parts.port
    except ValueError as err:
        return str(err)
    if port == 0:
        return "port 0 means 'any free port' and cannot be published"
    return ""
