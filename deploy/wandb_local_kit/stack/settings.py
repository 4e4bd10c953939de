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

from wandb_local_kit.core import files
from wandb_local_kit.core.envfile import read_env
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.net import is_loopback
from wandb_local_kit.core.storage_urls import URLProblem, parse_bucket_url, parse_mysql_url
from wandb_local_kit.stack import cleanup

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


def url_host(hostname: str) -> str:
    """A host as a URL writes it: an IPv6 address in brackets (urlsplit's .hostname
    drops them), anything else as it is."""
    return f"[{hostname}]" if ":" in hostname else hostname


def compose_files(
    storage: str, tls: str, test: bool = False, own_bucket: bool = False
) -> list[str]:
    """The compose files of a setup, base first; test overlays follow their base.
    With your own bucket (own_bucket) nothing of the kit's sits in front of it.

    A base's test overlays come in two kinds: test-images-NAME.yaml swaps the offline
    test images in for the production ones and does nothing else (the real-server lane
    drops it to run the production images: TEST_IMAGE_OVERLAY_PREFIX), and test-NAME.yaml
    shortens health checks and swaps no image of a production service."""

    def with_tests(base: str, health: bool = True) -> list[str]:
        if not test:
            return [base]
        name = base.removesuffix(".yaml")
        files = [base, f"{TEST_IMAGE_OVERLAY_PREFIX}{name}.yaml"]
        return files + ([f"test-{name}.yaml"] if health else [])

    files = ["compose.yaml"] + (["test.yaml"] if test else [])
    if storage == "external":
        files += with_tests("external.yaml")
    if tls != "off":
        files += with_tests("tls.yaml")
    if tls == "acme" and test:
        files += ["test-acme.yaml"]  # a private ACME CA in place of Let's Encrypt
    if storage == "external" and tls != "off" and not own_bucket:
        # The bucket endpoint behind Caddy as well.
        files += with_tests("external-tls.yaml", health=False)
    return files


# The test overlays that only swap offline test images in for production ones.
TEST_IMAGE_OVERLAY_PREFIX = "test-images-"


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
    # W&B's own clean-up (stack/cleanup.py validates them).
    "data_retention_period": cleanup.RETENTION,
    "artifact_gc": cleanup.GC,
    "bucket_noncurrent_days": cleanup.NONCURRENT_DAYS,
}


# Trying the kit without the real image (`init --standin`): the project's W&B stand-in,
# built by `scripts/build-images.sh wandb-standin`, with the test overlays. Its
# Enterprise tier is a placeholder license only the stand-in understands (an unsigned
# token whose payload lists the "enterprise" flag); the real server refuses it.
STANDIN_IMAGE = "wandb-kit-test/wandb-standin:test"
STANDIN_ENTERPRISE_LICENSE = "eyJhbGciOiJub25lIn0.eyJmbGFncyI6WyJlbnRlcnByaXNlIl19.test"
STANDIN_TIERS = ("free", "enterprise", "off")


def _standin(
    values: dict[str, str], choices: dict[str, str | None], defaults: dict[str, str]
) -> None:
    """init --standin[=enterprise]: the stand-in image (unless --image chose another),
    the test overlays, and for the Enterprise tier the stand-in's placeholder license."""
    tier = choices.get("standin")
    if not tier:
        return
    if tier == "off":  # back to the real server: its image and no test overlay
        values["KIT_STANDIN"] = "false"
        if values.get("WANDB_IMAGE") == STANDIN_IMAGE and not choices.get("image"):
            values["WANDB_IMAGE"] = defaults.get("WANDB_IMAGE", "")
        if values.get("WANDB_LICENSE") == STANDIN_ENTERPRISE_LICENSE:
            values["WANDB_LICENSE"] = ""
        return
    values["KIT_STANDIN"] = "true"
    if not choices.get("image"):
        values["WANDB_IMAGE"] = STANDIN_IMAGE
    if tier == "enterprise":
        values["WANDB_LICENSE"] = STANDIN_ENTERPRISE_LICENSE
    elif values.get("WANDB_LICENSE") == STANDIN_ENTERPRISE_LICENSE:
        values["WANDB_LICENSE"] = ""


def is_standin(values: dict[str, str]) -> bool:
    return values.get("KIT_STANDIN", "").lower() == "true"


def build_values(
    existing: dict[str, str],
    defaults: dict[str, str],
    choices: dict[str, str | None],
    host_cpus: int | None = None,
) -> dict[str, str]:
    """init's result: the defaults, overlaid by the existing .env, overlaid by the
    choices (CHOICE_KEYS' names; None = not given), with derived values filled in.
    host_cpus caps the default CPU limit: Docker refuses a limit above the host's.
    An option given as an empty string is refused by name (it used to mean "not given")."""
    _refuse_empty_choices(choices)
    values = {**defaults, **{k: v for k, v in existing.items() if v != ""}}
    for flag, key in CHOICE_KEYS.items():
        choice = choices.get(flag)
        if choice:
            values[key] = choice
    _standin(values, choices, defaults)
    if host_cpus and not existing.get("WANDB_CPUS") and cpu_limit(values.get("WANDB_CPUS")):
        values["WANDB_CPUS"] = _cpus(min(float(values["WANDB_CPUS"]), host_cpus))
    host_choice = choices.get("host")
    if host_choice:
        values.update(_published_port_for(host_choice, values.get("WANDB_TLS", "off")))
    host = urlsplit(values.get("WANDB_HOST", ""))
    tls = values.get("WANDB_TLS", "off")
    # A URL without a host name (http://:8080) stays as it is, for validate() to name.
    if tls != "off" and host.scheme == "http" and host.hostname and not host_choice:
        # Turning TLS on: clients now come through the proxy's HTTPS port.
        port = values.get("WANDB_HTTPS_PORT", "443")
        netloc = url_host(host.hostname) + ("" if port == "443" else f":{port}")
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
    return derive(generate_secrets(values), test=is_standin(values))


def place_user_files(values: dict[str, str], home: Path, compose_dir: Path) -> dict[str, str]:
    """When the user's home is not the compose directory (an installed kit, whose
    compose files are read-only in site-packages), a relative certificate directory
    would point into the package: it moves to the home, as an absolute path."""
    out = dict(values)
    cert_dir = out.get("WANDB_TLS_CERT_DIR", "")
    if home.resolve() != compose_dir.resolve() and cert_dir and not Path(cert_dir).is_absolute():
        out["WANDB_TLS_CERT_DIR"] = str(home / "tls")
    return out


# What an empty option would be, as an example of a value (the OIDC client secret may
# be empty: a provider's public client has none).
_CHOICE_EXAMPLES = {
    "storage": "embedded",
    "tls": "internal",
    "acme_email": "you@lab.example",
    "project": "wandb-lab",
    "host": "http://wandb.lab.example:8080",
    "bind": "127.0.0.1",
    "bucket_url": "http://wandb.lab.example:8333",
    "image": "wandb/local:0.83.0",
    "external_mysql_url": "-",
    "external_bucket_url": "-",
    "oidc_issuer": "https://idp.lab.example/realms/lab",
    "oidc_client_id": "wandb",
    "oidc_method": "pkce",
    "data_retention_period": "168h",
    "artifact_gc": "false",
    "bucket_noncurrent_days": "7",
}


def _refuse_empty_choices(choices: dict[str, str | None]) -> None:
    for flag, example in _CHOICE_EXAMPLES.items():
        given = choices.get(flag)
        if given is not None and not str(given).strip():
            option = "--" + flag.replace("_", "-")
            raise KitError(
                f"an empty {option} ({CHOICE_KEYS[flag]})",
                fix=f"give {option} a value, e.g. {option} {example}, or leave {option} out "
                "to keep the current (or default) one",
            )


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
    return f"{bucket_scheme(tls)}://{url_host(host)}:8333"


def derive(values: dict[str, str], test: bool = False) -> dict[str, str]:
    """Fills the derived keys (URLs built from parts, with URL-quoting)."""
    out = dict(values)
    test = test or is_standin(out)
    storage, tls = out.get("WANDB_STORAGE", "embedded"), out.get("WANDB_TLS", "off")
    own_bucket = bool(out.get("WANDB_EXTERNAL_BUCKET_URL")) and storage == "external"
    files = compose_files(storage, tls, test, own_bucket)
    if out.get("WANDB_OIDC_ISSUER"):
        # SSO's variables reach the server only when set: with SSO off the server's
        # environment stays exactly as without it.
        files.append("sso.yaml")
    out["COMPOSE_FILE"] = ":".join(files)
    host = urlsplit(out.get("WANDB_HOST", ""))
    # As a URL writes it: Caddy reads an unbracketed IPv6 site address's last group as
    # its port (https://fd00::5:443 names the host "fd00::5:443").
    out["WANDB_TLS_HOSTNAME"] = url_host(host.hostname or "")
    if storage == "external":
        _derive_external(out)
    out["WANDB_TLS_DEFAULT_SNI"] = default_sni(
        host.hostname or "", out.get("WANDB_BUCKET_HOSTNAME", ""), "external-tls.yaml" in files
    )
    return out


def default_sni(wandb_host: str, bucket_host: str, bucket_behind_caddy: bool) -> str:
    """The name Caddy answers a client that sends none (TLS SNI), which is every client
    connecting by IP address. Caddy would pick the certificate by the address the
    connection reached, and behind Docker's published ports that is its container's, not
    the server's: no certificate matches and the handshake fails (seen with the real
    Caddy). So: the W&B host when it is an address, else the bucket's when Caddy serves
    it at an address, else the W&B host (clients of a DNS name send it anyway)."""
    bucket = bucket_host.strip("[]") if bucket_behind_caddy else ""
    return next((n for n in (wandb_host, bucket) if _is_ip(n)), wandb_host or "localhost")


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
        out["WANDB_BUCKET_HOSTNAME"] = url_host(bucket.hostname or "")
        out["WANDB_BUCKET_PORT"] = str(port)
        out["WANDB_BUCKET_URL"] = (
            f"s3://{q(out.get('WANDB_S3_ACCESS_KEY', ''))}:{q(out.get('WANDB_S3_SECRET_KEY', ''))}"
            f"@{url_host(bucket.hostname or '')}:{port}/{out.get('WANDB_BUCKET_NAME', '')}"
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

_IDENT = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_API_KEY = re.compile(r"^[A-Za-z0-9]+-[\w-]{40,}$", re.ASCII)


# --- values as compose and Docker read them (ASCII digits: int() and float() also take
# fullwidth ones, compose does not) -----------------------------------------------------

_PORT = re.compile(r"[0-9]+")
# Docker's size format: a number, then b, k, m, g or t (any case), optionally b after.
_MEMORY = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kmgt]?)b?", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
DOCKER_MIN_MEMORY = 6 * 1024**2  # the engine refuses a smaller limit
DOCKER_MAX_BYTES = 2**63 - 1  # sizes are 64-bit signed byte counts
_CPUS = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
DOCKER_MIN_CPUS = 0.01  # the engine's smallest CPU limit


def shown(text: str, limit: int = 60) -> str:
    """A value as a message shows it: quoted, and cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def is_port(raw: str) -> bool:
    return bool(_PORT.fullmatch(raw)) and 0 < int(raw) < 65536


def memory_bytes(text: str | None) -> int | None:
    """WANDB_MEMORY in bytes, as Docker reads it (binary units); None if it cannot."""
    m = _MEMORY.fullmatch(text or "")
    if not m:
        return None
    from decimal import Decimal

    return int(Decimal(m.group(1)) * _MEMORY_UNITS[m.group(2).lower()])


def cpu_limit(text: str | None) -> float | None:
    """WANDB_CPUS as Docker reads it: a positive decimal in ASCII digits; None if not."""
    if text is None or not _CPUS.fullmatch(text) or float(text) <= 0:
        return None
    return float(text)


_IMAGE_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_IMAGE_REGISTRY = re.compile(
    rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
)
_IMAGE_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_problem(ref: str) -> str:
    """Why Docker would refuse REF as an image reference ('' when it would not):
    [REGISTRY[:PORT]/]PATH[:TAG][@ALGORITHM:HEX], the path in lower case."""
    if not ref:
        return "is empty"
    if any(c.isspace() or not c.isprintable() for c in ref):
        return "has spaces or control characters (one image reference, nothing else)"
    name, _, digest = ref.partition("@")
    if digest:
        algorithm, _, hexes = digest.partition(":")
        if len(hexes) != _DIGEST_HEX.get(algorithm) or not re.fullmatch(r"[0-9a-f]+", hexes):
            return "has a digest Docker refuses (sha256: and 64 lower-case hex digits)"
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
        if not _IMAGE_TAG.fullmatch(tag):
            return (
                "has a tag Docker refuses (up to 128 letters, digits, _ . and -, "
                "not starting with . or -)"
            )
    path = name.split("/")
    first = path[0]
    # Docker's rule: a first part with '.' or ':', localhost, or upper case is a registry.
    registry = set(first) & {".", ":"} or first == "localhost" or first != first.lower()
    if len(path) > 1 and registry:
        if not _IMAGE_REGISTRY.fullmatch(first):
            return "has a registry host Docker refuses"
        path = path[1:]
    if any(part != part.lower() for part in path):
        return "has upper-case letters in its repository path (Docker takes lower case only)"
    if len(name) > 255 or not all(_IMAGE_COMPONENT.fullmatch(part) for part in path):
        return "is not an image reference Docker accepts"
    return ""


def dns_problem(host: str) -> str:
    """Why HOST is neither a DNS name nor an IP address ('' when it is one)."""
    if _is_ip(host.strip("[]")):
        return ""
    name = host[:-1] if host.endswith(".") else host
    if not name.isascii():
        return "it has characters other than ASCII letters, digits and hyphens"
    if len(name) > 253:
        return f"it is {len(name)} characters long, more than DNS's 253"
    labels = name.split(".")
    if any(len(label) > 63 for label in labels):
        return "it has a label (a part between dots) longer than DNS's 63 characters"
    if not _HOSTNAME.fullmatch(host):
        return (
            "a DNS name has 1-63 ASCII letters, digits and hyphens between its dots, none "
            "starting or ending with a hyphen"
        )
    return ""


def dns_fix(host: str) -> str:
    """DNS's limits, and HOST in punycode when it is an international name."""
    fix = "labels of 1-63 ASCII letters, digits and hyphens, 253 characters at most"
    try:
        puny = host.encode("idna").decode("ascii") if not host.isascii() else ""
    except UnicodeError:
        puny = ""
    return fix + (f"; an international name goes in punycode, here {puny}" if puny else "")


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
    elif dns_problem(host.hostname):
        yield Problem(
            "WANDB_HOST",
            f"{shown(host.hostname)} is not a host name ({dns_problem(host.hostname)})",
            "use the name or address clients reach, e.g. http://wandb.lab.example:8080 "
            f"({dns_fix(host.hostname)})",
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
        if not is_port(raw):
            yield Problem(
                key,
                f"{shown(raw)} is not a port number (ASCII digits, 1-65535, as compose reads it)",
                f"set {key} to 1-65535 in ASCII digits, e.g. {key}=8080",
            )
    yield from _bucket_port(v)
    for key in ("WANDB_BIND", "WANDB_BUCKET_BIND"):
        if not _is_ip(v.get(key, "")):
            yield Problem(
                key,
                f"{v.get(key, '')!r} is not an IP address",
                "use 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)",
            )


def _bucket_port(v: dict[str, str]) -> Iterator[Problem]:
    """WANDB_BUCKET_PORT, derived from the bucket's URL: judged when set, except the 0
    derive() writes for a URL whose port is bad (that URL is named instead)."""
    raw = v.get("WANDB_BUCKET_PORT", "")
    if v.get("WANDB_STORAGE") != "external" or not raw or is_port(raw):
        return
    if raw == "0" and _bad_port(urlsplit(v.get("WANDB_BUCKET_PUBLIC_URL", ""))):
        return
    yield Problem(
        "WANDB_BUCKET_PORT",
        f"{shown(raw)} is not a port number (ASCII digits, 1-65535, as compose reads it)",
        "clear it and run wandb-kit init to derive it from WANDB_BUCKET_PUBLIC_URL "
        "(a port of 1-65535)",
    )


IMAGE_KEYS = ("WANDB_IMAGE", "MYSQL_IMAGE", "SEAWEEDFS_IMAGE", "STORAGE_INIT_IMAGE", "CADDY_IMAGE")


def _images(v: dict[str, str], _dir) -> Iterator[Problem]:
    for key in IMAGE_KEYS:
        image = v.get(key, "")
        problem = image_problem(image) if image else ""
        if problem:
            yield Problem(
                key,
                f"{shown(image)} {problem}",
                f"set {key} to one image reference in lower case, REPOSITORY:TAG, e.g. "
                "wandb/local:0.83.0 (a mirror: REGISTRY[:PORT]/wandb/local:0.83.0; a digest: "
                "@sha256: and its 64 hex digits)",
            )
            continue
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
    """The wandb container's limits, as Docker reads them (the host's share: preflight)."""
    memory, size = v.get("WANDB_MEMORY", ""), memory_bytes(v.get("WANDB_MEMORY"))
    why = (
        "is not a size Docker reads (ASCII digits, then b, k, m, g or t)"
        if size is None
        else "is below Docker's minimum of 6 MiB (6m)"
        if size < DOCKER_MIN_MEMORY
        else "is more than Docker can hold (a 64-bit count of bytes)"
        if size > DOCKER_MAX_BYTES
        else ""
    )
    if why:
        yield Problem(
            "WANDB_MEMORY", f"{shown(memory)} {why}", "use e.g. 8g or 8192m (at most this host's)"
        )
    cpus, count = v.get("WANDB_CPUS", ""), cpu_limit(v.get("WANDB_CPUS"))
    if count is None:
        yield Problem(
            "WANDB_CPUS",
            f"{shown(cpus)} is not a CPU count (a positive decimal in ASCII digits)",
            "use e.g. 4 or 2.5",
        )
    elif count < DOCKER_MIN_CPUS:
        yield Problem(
            "WANDB_CPUS",
            f"{shown(cpus)} is below Docker's minimum of {DOCKER_MIN_CPUS} CPUs",
            "use e.g. 4 or 2.5",
        )


def _cleanup(v: dict[str, str], _dir) -> Iterator[Problem]:
    for key, problem, fix in cleanup.problems(v):
        yield Problem(key, problem, fix)


def _external(v: dict[str, str], _dir) -> Iterable[Problem]:
    if v.get("WANDB_STORAGE") == "external":
        return _validate_external(v, v.get("WANDB_TLS", ""))
    return ()


# Every compose file the kit ships (compose_files() and sso.yaml choose among them).
KIT_COMPOSE_FILES = frozenset(
    name
    for storage in STORAGE_CHOICES
    for tls in TLS_CHOICES
    for test in (False, True)
    for own in (False, True)
    for name in compose_files(storage, tls, test, own)
) | {"sso.yaml"}


def _compose_file(v: dict[str, str], compose_dir: Path | None) -> Iterator[Problem]:
    """Every COMPOSE_FILE entry, split as the kit splits it (':') and as plain `docker
    compose` does (COMPOSE_PATH_SEPARATOR): a compose file inside the compose folder."""
    raw = v.get("COMPOSE_FILE", "")
    if compose_dir is None or not raw:
        return  # unjudged() says so
    entries = raw.split(":")
    separator = v.get("COMPOSE_PATH_SEPARATOR") or ":"
    if separator != ":":
        entries += raw.split(separator)
    for entry in dict.fromkeys(e for e in entries if e):
        why = _compose_entry_problem(entry, compose_dir)
        if why:
            yield Problem(
                "COMPOSE_FILE",
                f"names {shown(entry)}, {why}",
                "clear it and run wandb-kit init to set it (the compose folder's files, "
                "':'-separated, e.g. compose.yaml:tls.yaml)",
            )


def _compose_entry_problem(entry: str, compose_dir: Path) -> str:
    try:
        folder = compose_dir.resolve()
        path = (compose_dir / entry).resolve()
        if not path.is_relative_to(folder):
            return f"which is outside the compose folder {compose_dir}"
        if not path.exists():
            return f"which does not exist in the compose folder {compose_dir}"
        if not path.is_file():
            return "which is not a file"
    except (OSError, RuntimeError, ValueError) as err:  # a link loop, a NUL, a long name
        return f"which cannot be looked at ({err})"
    if entry in KIT_COMPOSE_FILES and path == folder / entry:
        return ""
    return "" if _looks_like_compose(path) else "which is not a compose file (no services:)"


def _looks_like_compose(path: Path) -> bool:
    """A YAML mapping with a services: mapping, as compose needs."""
    import yaml

    try:
        data = yaml.safe_load(files.read_bytes(path, "the compose file", limit=1 << 20))
    except (KitError, yaml.YAMLError, ValueError, RecursionError):
        return False  # unreadable, not YAML or nested past the parser's depth: not compose
    return isinstance(data, dict) and isinstance(data.get("services"), dict)


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


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _acme(v: dict[str, str], _dir) -> Iterator[Problem]:
    if v.get("WANDB_TLS") != "acme":
        return
    email = v.get("WANDB_ACME_EMAIL", "")
    if not _EMAIL.fullmatch(email):
        yield Problem(
            "WANDB_ACME_EMAIL",
            f"{shown(email)} is not an email address (the CA's account and expiry notices)"
            if email.strip()
            else "is required for ACME (the CA's account and expiry notices)",
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
    _compose_file,
    _ports_and_binds,
    _images,
    _admin_api,
    _resources,
    _cleanup,
    _external,
    _tls_files,
    _acme,
    oidc_problems,
)


def validate(values: dict[str, str], compose_dir: Path | None = None) -> list[Problem]:
    """Every problem with the settings, each naming the key and the fix (RULES, in order)."""
    return [problem for rule in RULES for problem in rule(values, compose_dir)]


def unjudged(values: dict[str, str], compose_dir: Path | None = None) -> list[str]:
    """What validate() could not judge for these settings, each with the reason: said
    next to a clean result, so that no one reads it as "everything checked"."""
    out = []
    if compose_dir is None:
        out.append("COMPOSE_FILE and WANDB_TLS_CERT_DIR (no compose folder to look in)")
    if values.get("WANDB_LICENSE"):
        out.append("WANDB_LICENSE (the server checks it when it starts)")
    if values.get("WANDB_OIDC_ISSUER"):
        out.append("the SSO provider (wandb-kit doctor asks it)")
    out.append("whether the image tags exist (up pulls them)")
    return out


def _validate_external(values: dict[str, str], tls: str) -> list[Problem]:
    p = _external_mysql(values)
    own_bucket = values.get("WANDB_EXTERNAL_BUCKET_URL", "")
    if own_bucket:
        problems, parsed = _own_bucket(own_bucket)
        p.extend(problems)
        if not parsed:
            return p
    else:
        p.extend(_bundled_store_keys(values))
    if not _BUCKET.match(values.get("WANDB_BUCKET_NAME", "")):
        p.append(
            Problem(
                "WANDB_BUCKET_NAME",
                "is not a valid S3 bucket name",
                "use 3-63 lowercase letters, digits, dots and hyphens",
            )
        )
    if not own_bucket:
        p.extend(_bucket_public_url(values, tls))
    return p


def _external_mysql(values: dict[str, str]) -> list[Problem]:
    """Your MySQL's URL, or the bundled MySQL's names and passwords."""
    p: list[Problem] = []
    own_mysql = values.get("WANDB_EXTERNAL_MYSQL_URL", "")
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
        return p
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
            p.append(Problem(key, "is empty", "clear it and run wandb-kit init to generate one"))
    return p


def _own_bucket(url: str) -> tuple[list[Problem], bool]:
    """Your bucket's URL: its problems (never the URL itself: it holds the secret key),
    and whether it could be read at all."""
    key = "WANDB_EXTERNAL_BUCKET_URL"
    try:
        host = parse_bucket_url(url).host
    except URLProblem as err:
        fix = "s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET?region=REGION&tls=true"
        return [Problem(key, str(err), f"pass --external-bucket-url {fix}")], False
    if not dns_problem(host):
        return [], True
    return [
        Problem(
            key,
            f"names the host {shown(host)}, which is not a DNS name ({dns_problem(host)})",
            f"pass --external-bucket-url with the store's DNS name or IP address ({dns_fix(host)})",
        )
    ], True


def _bundled_store_keys(values: dict[str, str]) -> list[Problem]:
    """The bundled store's two identities: fit for its JSON file, and not the same."""
    p: list[Problem] = []
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
    return p


def _bucket_public_url(values: dict[str, str], tls: str) -> list[Problem]:
    """The bundled bucket's one URL for clients and containers; the first problem found."""
    key = "WANDB_BUCKET_PUBLIC_URL"
    bucket = urlsplit(values.get(key, ""))
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
        return [
            Problem(
                key,
                "is not an http(s)://host:port URL",
                "set it to this server's name or LAN address, e.g. http://wandb.lab.example:8333",
            )
        ]
    if dns_problem(bucket.hostname):
        return [
            Problem(
                key,
                f"names the host {shown(bucket.hostname)}, which is not a DNS name "
                f"({dns_problem(bucket.hostname)})",
                "use this server's DNS name or LAN address, e.g. http://wandb.lab.example:8333 "
                f"({dns_fix(bucket.hostname)})",
            )
        ]
    if is_loopback(bucket.hostname):
        return [
            Problem(
                key,
                f"names {bucket.hostname}, which inside the wandb container is that "
                "container itself",
                "use this server's DNS name or LAN address, reachable from clients "
                "and containers alike",
            )
        ]
    if tls in TLS_CHOICES and bucket.scheme != bucket_scheme(tls):
        return [_bucket_scheme_problem(bucket.scheme, tls)]
    if str(port or (443 if bucket.scheme == "https" else 80)) in SEAWEEDFS_INTERNAL_PORTS:
        return [
            Problem(
                key,
                f"uses port {port}, which SeaweedFS uses inside for its master, volume or filer",
                "give the bucket another port, e.g. :8333",
            )
        ]
    if tls in TLS_CHOICES and tls != "off":
        return _bucket_port_clashes(values, port or 443)
    return []


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
