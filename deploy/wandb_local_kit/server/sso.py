"""SSO with OpenID Connect for wandb/local: the kit's settings, their validation, and
what doctor checks against the identity provider's discovery document.

wandb/local reads OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_AUTH_METHOD (implicit, W&B's
default, or pkce) and the client secret (GORILLA_OIDC_SECRET in current docs,
OIDC_CLIENT_SECRET in the older chart: compose/sso.yaml sets both). It fetches
`$OIDC_ISSUER/.well-known/openid-configuration` from inside its container, and the
ID token's `iss` must equal the issuer exactly: `https://idp/realms/lab/` is not
`https://idp/realms/lab`. Sources: W&B's SSO guide (docs.wandb.ai/platform/hosting/iam/sso)
and its environment variables page (docs.wandb.ai/platform/hosting/env-vars). W&B says
nothing of a trailing slash: the exact match is the OIDC rule, not a W&B statement.

The checks here are pure functions of a discovery document; fetching it (from this
machine, and from inside the wandb container, where the server itself fetches it) is
kept apart so that each finding can be tested against a real provider's document.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

from wandb_local_kit.core import files, net
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack import settings
from wandb_local_kit.stack.settings import Problem, origin

DEFAULT_METHOD = settings.OIDC_DEFAULT_METHOD
REQUIRED_SCOPES = ("openid", "profile", "email")
WELL_KNOWN = "/.well-known/openid-configuration"
# The .env keys (init's --oidc-* flags set them; compose/sso.yaml passes them on).
ISSUER, CLIENT_ID, SECRET, METHOD = (
    "WANDB_OIDC_ISSUER",
    "WANDB_OIDC_CLIENT_ID",
    "WANDB_OIDC_CLIENT_SECRET",
    "WANDB_OIDC_AUTH_METHOD",
)
KEYS = (ISSUER, CLIENT_ID, SECRET, METHOD)


def enabled(values: dict[str, str]) -> bool:
    return bool(values.get(ISSUER))


def method_of(values: dict[str, str]) -> str:
    return values.get(METHOD) or DEFAULT_METHOD


def discovery_url(issuer: str) -> str:
    """Where OpenID Connect Discovery puts the document: the issuer, without a
    trailing slash, plus /.well-known/openid-configuration."""
    return issuer.rstrip("/") + WELL_KNOWN


def redirect_uri(host: str) -> str:
    """The callback W&B uses: register exactly this at the provider."""
    return origin(host) + "/oidc/callback"


# --- init: settings and the secret file ---------------------------------------------------


def read_secret_file(path: Path) -> str:
    """The client secret from a file only its owner can read; a Problem otherwise
    (raised as ValueError with the Problem in args[0])."""
    key = "--oidc-secret-file"
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ValueError(
            Problem(key, f"{path} does not exist", "write the client secret into that file")
        ) from None
    except OSError as err:
        raise ValueError(Problem(key, f"cannot read {path}: {err.strerror}", "check the path"))
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(Problem(key, f"{path} is not a regular file", "name the secret's file"))
    if st.st_mode & 0o077:
        raise ValueError(
            Problem(
                key,
                f"{path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
                "a client secret must be private",
                f"chmod 600 {path}",
            )
        )
    try:
        secret = files.read_text(path, key, limit=64 * 1024).strip()
    except KitError as err:
        raise ValueError(Problem(key, err.problem, err.fix or "check the file")) from None
    if not secret or "\n" in secret or "'" in secret:
        raise ValueError(
            Problem(
                key,
                f"{path} is empty, holds more than one line, or a single quote",
                "put only the client secret, on one line, in the file",
            )
        )
    return secret


def problems(values: dict[str, str]) -> list[Problem]:
    """The OIDC settings' problems (settings' rule: init, preflight and up refuse them)."""
    return settings.oidc_problems(values)


# --- doctor: the discovery document --------------------------------------------------------


@dataclass
class Discovery:
    """The discovery document as fetched from one place (doc None: not fetched)."""

    where: str  # "this machine" or "the wandb container"
    url: str
    doc: dict | None = None
    error: str = ""  # why it could not be fetched or read
    checked: bool = True  # False: could not even try (e.g. the container is not running)


# The fields doctor judges; only these are kept (and shown in `doctor --json`).
FIELDS = (
    "issuer",
    "authorization_endpoint",
    "response_types_supported",
    "response_modes_supported",
    "code_challenge_methods_supported",
    "scopes_supported",
)


def read_document(text: str) -> dict:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return {k: doc[k] for k in FIELDS if k in doc}


def fetch_from_host(url: str, timeout: float = 5.0, verify: bool | str = True) -> Discovery:
    import requests

    where = "this machine"
    try:
        r = requests.get(url, timeout=timeout, verify=verify)
    except requests.exceptions.SSLError as err:
        return Discovery(where, url, error=f"TLS: {_short(err)}")
    except requests.RequestException as err:
        tcp = net.reach(url, timeout)  # names refusal, DNS or silence the way health does
        return Discovery(where, url, error=_short(err) if tcp.ok else tcp.detail)
    if r.status_code != 200:
        return Discovery(where, url, error=f"HTTP {r.status_code} (is the issuer's path right?)")
    try:
        return Discovery(where, url, read_document(r.text))
    except ValueError as err:
        return Discovery(where, url, error=f"the answer is not a JSON document ({err})")


# Runs inside the wandb container: curl when it has it, else wget (the image's
# healthcheck relies on one of the two). The URL is $1, never part of the script.
_IN_CONTAINER = (
    'if command -v curl >/dev/null 2>&1; then curl -fsSL --max-time "$2" "$1"; '
    'else wget -q -T "$2" -O - "$1"; fi'
)


def fetch_in_container(deployment, url: str, timeout: float = 5.0) -> Discovery:
    """Fetches the document where W&B does: inside the running wandb container
    (same network, same DNS, same CA store). Through `docker exec`, whose output is
    not redacted: a discovery document is public, and redaction would mangle its
    JSON (`token_endpoint_auth_...` looks like a secret's name)."""
    where = "the wandb container"
    try:
        cid = deployment.container("wandb")
        if cid is None:
            return Discovery(where, url, error="the wandb service has no container", checked=False)
        out = deployment.docker(
            "exec", cid, "sh", "-c", _IN_CONTAINER, "sh", url, str(max(1, int(timeout)))
        )
    except KitError as err:
        lines = [ln for ln in err.problem.strip().splitlines() if ln.strip()]
        text = lines[-1].strip() if lines else "docker exec failed"
        if "is not running" in text or "No such container" in text:
            return Discovery(where, url, error=text, checked=False)
        return Discovery(where, url, error=text.removeprefix("`docker exec` failed: "))
    try:
        return Discovery(where, url, read_document(out))
    except ValueError as err:
        return Discovery(where, url, error=f"the answer is not a JSON document ({err})")


def _short(err: BaseException) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__


def issuer_mismatch(configured: str, doc: dict) -> str:
    """'' when the document's issuer equals the configured one exactly; else why not."""
    found = doc.get("issuer")
    if found == configured:
        return ""
    if not isinstance(found, str):
        return "the discovery document has no issuer"
    if found.rstrip("/") == configured.rstrip("/"):
        return (
            f"the provider's issuer is {found!r}, the configured one {configured!r}: they differ "
            "only in the trailing slash, and ID tokens carry the provider's exact issuer"
        )
    return f"the provider's issuer is {found!r}, the configured one {configured!r}"


def method_gaps(method: str, doc: dict) -> list[str]:
    """What the provider does not announce that the chosen method needs (empty: all)."""
    types = _strings(doc, "response_types_supported")
    gaps = []
    if method == "pkce":
        if "code" not in types:
            gaps.append("response type `code` (authorization code flow) is not supported")
        methods = doc.get("code_challenge_methods_supported")
        if methods is None:
            gaps.append(
                "code_challenge_methods_supported is absent: the provider does not announce "
                "PKCE, so S256 support could not be confirmed"
            )
        elif "S256" not in _strings(doc, "code_challenge_methods_supported"):
            gaps.append(f"PKCE method S256 is not supported (only {', '.join(methods) or 'none'})")
    else:
        if not any(set(t.split()) == {"id_token"} for t in types):
            gaps.append("response type `id_token` (implicit flow) is not supported")
        modes = doc.get("response_modes_supported")
        # Absent means the spec's default, query and fragment: no form_post.
        if modes is None or "form_post" not in _strings(doc, "response_modes_supported"):
            gaps.append(
                "response mode `form_post` is not announced (response_modes_supported is absent)"
                if modes is None
                else "response mode `form_post` is not supported"
            )
    return gaps


def missing_scopes(doc: dict) -> list[str]:
    """Scopes W&B requests that the provider does not list (only when it lists any)."""
    if "scopes_supported" not in doc:
        return []
    have = _strings(doc, "scopes_supported")
    return [s for s in REQUIRED_SCOPES if s not in have]


def _strings(doc: dict, key: str) -> list[str]:
    value = doc.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass
class OidcFacts:
    """What doctor saw of the configured provider (empty issuer: SSO is off)."""

    issuer: str = ""
    method: str = DEFAULT_METHOD
    redirect_uri: str = ""
    fetched: list[Discovery] = field(default_factory=list)

    def document(self) -> dict | None:
        """The document to judge: this machine's copy, else the container's."""
        for d in self.fetched:
            if d.doc is not None:
                return d.doc
        return None


def observe(values: dict[str, str], deployment=None, timeout: float = 5.0) -> OidcFacts:
    """Fetches the discovery document from this machine and, with a deployment given
    (its wandb service running), from inside its wandb container."""
    if not enabled(values):
        return OidcFacts()
    issuer = values[ISSUER]
    facts = OidcFacts(issuer, method_of(values), redirect_uri(values.get("WANDB_HOST", "")))
    url = discovery_url(issuer)
    facts.fetched.append(fetch_from_host(url, timeout))
    if deployment is not None:
        facts.fetched.append(fetch_in_container(deployment, url, timeout))
    return facts
