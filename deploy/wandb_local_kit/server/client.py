"""`wandb-kit configure / env / login`: point this machine's wandb SDK at the server.

Where the server is (first that is set): `--url`, the WANDB_BASE_URL environment
variable, WANDB_HOST in the kit's `.env`. Settings and keys are written with the SDK's
own helpers (its settings-file writer and .netrc writer), exactly where `wandb login
--host` puts them, so a plain `wandb.init()` then reaches this server.

Keys are checked with the GraphQL `viewer` query (HTTP Basic `api:<key>`, as the SDK
sends it) and never printed. This module's top level imports only the standard
library: `requests` and `wandb` load inside the functions that need them.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wandb_local_kit.core.documents import VIEWER_QUERY
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_UNREACHABLE, KitError
from wandb_local_kit.core.redact import redact
from wandb_local_kit.stack.deployment import Deployment

DEFAULT_TIMEOUT_S = 10.0
# On-prem API keys (`local-<40 hex>`); anything shaped like one is redacted in output.


# --- where the server is ---------------------------------------------------------------


@dataclass
class Target:
    """The server this command talks to, and how we found it."""

    url: str  # scheme://host[:port][/path], no trailing slash
    source: str  # "--url", "WANDB_BASE_URL" or ".env WANDB_HOST"
    values: dict[str, str] = field(default_factory=dict)  # the kit's .env ({} if none)
    env_path: Path | None = None
    verify: bool | str = True  # requests' verify: True or a CA bundle path
    ca_hint: str | None = None  # a CA file the SDK must be told about (--ca-file, kit's CA)
    ca_source: str = "the certifi bundle requests uses"  # for messages about trust

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def origin(self) -> str:
        p = urlsplit(self.url)
        return f"{p.scheme}://{p.netloc}"

    @property
    def is_local_stack(self) -> bool:
        """True when the URL is this kit's own stack (the one in .env)."""
        host = self.values.get("WANDB_HOST", "")
        return bool(host) and normalize_url(host) == self.url


def shown_url(raw: str, limit: int = 80) -> str:
    """A URL as an error message shows it: whatever precedes an @ masked (a password, or
    a key given as the user name), other secrets redacted, cut short when long."""
    text = redact(re.sub(r"^([A-Za-z][\w+.-]*://)?[^@/]*@", r"\1<redacted>@", raw))
    return (
        repr(text)
        if len(text) <= limit
        else repr(text[:limit] + "...") + f" ({len(raw)} characters)"
    )


def normalize_url(url: str) -> str:
    """Checks an http(s) base URL and strips the trailing slash; KitError when it is not one."""
    raw = (url or "").strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KitError(
            f"{shown_url(raw)} is not an http(s) URL of a W&B server",
            fix="give the URL clients use, e.g. http://wandb.lab.example:8080",
        )
    if parts.query or parts.fragment:
        raise KitError(
            f"{shown_url(raw)} has a query or fragment", fix="use scheme://host[:port] only"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise KitError(
            f"{shown_url(raw)} has an invalid port", fix="use a port from 1 to 65535"
        ) from None
    return raw.rstrip("/")


def resolve_url(
    flag: str | None, environ: dict[str, str], values: dict[str, str]
) -> tuple[str, str]:
    """(url, source): the flag, else WANDB_BASE_URL, else .env WANDB_HOST."""
    if flag:
        return normalize_url(flag), "--url"
    if environ.get("WANDB_BASE_URL"):
        return normalize_url(environ["WANDB_BASE_URL"]), "WANDB_BASE_URL"
    if values.get("WANDB_HOST"):
        return normalize_url(values["WANDB_HOST"]), ".env WANDB_HOST"
    raise KitError(
        "no server URL: no --url, no WANDB_BASE_URL in the environment, and no WANDB_HOST "
        "in the kit's .env",
        fix="pass --url http://HOST:PORT, or run `wandb-kit init` to create .env",
    )


def ca_bundle(url: str, values: dict[str, str], ca_export: Path, environ: dict[str, str]):
    """What requests should verify https against: for the kit's own TLS=internal stack
    the CA the kit exported (no other CA can have signed its certificate, so a bundle
    preset in the environment must not hide it); else the CA the environment names;
    else certifi's bundle, as requests uses (True)."""
    return ca_choice(url, values, ca_export, environ)[0]


def ca_choice(
    url: str, values: dict[str, str], ca_export: Path, environ: dict[str, str]
) -> tuple[bool | str, str]:
    """(verify, where it came from) for ca_bundle, the source named in messages."""
    own_internal = (
        url.startswith("https://")
        and values.get("WANDB_TLS") == "internal"
        and normalize_url(values.get("WANDB_HOST", "http://x")) == url
    )
    if own_internal and ca_export.is_file():
        return str(ca_export), "the kit's exported internal CA"
    for key in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if environ.get(key):
            return environ[key], f"{key}={environ[key]} from the environment"
    return True, "the certifi bundle requests uses"


def target_for(
    deployment: Deployment,
    url: str | None = None,
    ca_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Target:
    """The server to talk to: url, else WANDB_BASE_URL, else the deployment's WANDB_HOST;
    trusting ca_file, else the CA the environment names, else the kit's exported CA."""
    environ = dict(os.environ if environ is None else environ)
    env_path = deployment.env_file
    values = deployment.values
    url, source = resolve_url(url, environ, values)
    ca = ca_file
    if ca is not None and not ca.is_file():
        raise KitError(f"--ca-file {ca} does not exist", fix="give the path of a PEM file")
    verify: bool | str
    if ca:
        verify, ca_source = str(ca), f"--ca-file {ca}"
    else:
        verify, ca_source = ca_choice(url, values, deployment.ca_export, environ)
    from_env = any(environ.get(k) == verify for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"))
    return Target(
        url=url,
        source=source,
        values=values,
        env_path=env_path if env_path.exists() else None,
        verify=verify,
        ca_hint=verify
        if isinstance(verify, str) and url.startswith("https://") and not from_env
        else None,
        ca_source=ca_source,
    )


# --- secrets never leave in output --------------------------------------------------------


def strip_query(url: str) -> str:
    """A signed URL without its signature (query), for messages."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}{p.path}" + ("?<signature>" if p.query else "")


# --- HTTP and GraphQL -----------------------------------------------------------------------


def session(verify: bool | str = True, retries: int = 2, retry_status: bool = False):
    """A requests session with urllib3 retries on connection errors (and, when asked,
    on 502/503/504 with backoff). Health checks keep retry_status off: a 503 is news."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=0,
        status=retries if retry_status else 0,
        other=0,
        status_forcelist=(502, 503, 504) if retry_status else (),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT"}),
        backoff_factor=0.3,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    s = _session_class()()
    s.verify = verify
    s.headers["User-Agent"] = "wandb-kit"
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def _session_class():
    import requests

    class Session(requests.Session):
        # requests lets REQUESTS_CA_BUNDLE override session.verify; pass it per request.
        def request(self, *args, **kwargs):
            kwargs.setdefault("verify", self.verify)
            return super().request(*args, **kwargs)

    return Session


class GraphQLError(Exception):
    """A GraphQL call that did not return data: HTTP status (0: no response) and why."""

    def __init__(self, message: str, status: int = 0, unreachable: bool = False):
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable


def graphql(
    sess,
    url: str,
    key: str,
    query: str,
    variables: dict | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict:
    """POSTs a GraphQL document the way the SDK does (Basic api:<key>); returns `data`."""
    import requests

    body = {"query": query, "variables": variables or {}}
    try:
        resp = sess.post(f"{url}/graphql", json=body, auth=("api", key), timeout=timeout)
    except requests.exceptions.SSLError as err:
        raise GraphQLError(f"TLS failed: {reason(err)}", unreachable=True) from None
    except requests.exceptions.ConnectionError as err:
        raise GraphQLError(f"cannot connect: {reason(err)}", unreachable=True) from None
    except requests.exceptions.Timeout:
        raise GraphQLError(f"no answer within {timeout:.0f} s") from None
    except requests.exceptions.RequestException as err:
        # e.g. ChunkedEncodingError: the server (or a proxy) closed the connection in
        # the middle of its answer; a finding for the person, not a traceback.
        raise GraphQLError(f"the answer broke off: {reason(err)}") from None
    payload = None
    try:
        payload = resp.json()
    except ValueError:
        pass
    errors = (payload or {}).get("errors") if isinstance(payload, dict) else None
    if resp.status_code == 401:
        raise GraphQLError("the server rejected the API key (HTTP 401 Unauthorized)", 401)
    if resp.status_code == 403:
        raise GraphQLError("the server refused access (HTTP 403 Forbidden)", 403)
    if resp.status_code == 413:
        raise GraphQLError("request body too large (HTTP 413)", 413)
    data = (payload or {}).get("data") if isinstance(payload, dict) else None
    if errors and (not data or all(v is None for v in data.values())):
        msg = "; ".join(str(e.get("message", e)) for e in errors)[:500]
        raise GraphQLError(f"GraphQL error: {redact(msg, extra=(key,))}", resp.status_code)
    if resp.status_code >= 400 or not isinstance(payload, dict):
        snippet = redact((resp.text or "")[:200].strip(), extra=(key,))
        raise GraphQLError(f"HTTP {resp.status_code} from /graphql: {snippet!r}", resp.status_code)
    return payload.get("data") or {}


def reason(err: Exception) -> str:
    """The innermost useful words of a requests/urllib3 error (no URL with secrets)."""
    text = str(err)
    m = re.search(r"certificate verify failed: ([^(]+)", text)
    if m:
        return f"certificate verify failed: {m.group(1).strip()}"
    for marker in ("Caused by ", "Failed to establish a new connection: ", "SSLError("):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"<urllib3\.connection\.\w+ object at 0x[0-9a-f]+>: ", "", text)
    return redact(text.strip("()'\" "))[:300]


@dataclass
class Viewer:
    username: str
    entity: str
    email: str | None
    admin: bool


def viewer(sess, url: str, key: str, timeout: float = DEFAULT_TIMEOUT_S) -> Viewer:
    data = graphql(sess, url, key, VIEWER_QUERY, timeout=timeout)
    v = data.get("viewer")
    if not v:
        raise GraphQLError("the server answered but knows no user for this key (viewer is null)")
    return Viewer(
        username=v.get("username") or "?",
        entity=v.get("entity") or v.get("username") or "?",
        email=v.get("email"),
        admin=bool(v.get("admin")),
    )


def verify_key(sess, target: Target, key: str) -> Viewer:
    """The viewer for a key, or a KitError naming what failed (exit 2 or 3)."""
    problem = check_key_format(key)
    if problem:
        raise KitError(f"that is not a W&B API key: {problem}", fix=_get_key_fix(target))
    try:
        return viewer(sess, target.url, key)
    except GraphQLError as err:
        if err.unreachable:
            raise KitError(
                f"could not reach {target.url} ({err})",
                fix="check the URL and that the server runs (`wandb-kit health`)",
                exit_code=EXIT_UNREACHABLE,
            ) from None
        if err.status == 401:
            raise KitError(
                f"{target.url} rejected the API key (HTTP 401); nothing was stored",
                fix=_get_key_fix(target),
            ) from None
        raise KitError(f"could not verify the key with {target.url}: {err}") from None


def check_key_format(key: str) -> str | None:
    """The SDK's own API-key format check (None when the format is valid)."""
    from wandb.sdk.lib.wbauth.validation import check_api_key

    return check_api_key(key)


def _get_key_fix(target: Target) -> str:
    return (
        f"copy a key from {target.origin}/authorize (sign up first at {target.origin}/signup), "
        "then run `wandb-kit login` again"
    )


# --- the SDK's settings and .netrc ------------------------------------------------------------


def sdk_settings_files():
    """The SDK's settings files (global and this directory's), as `wandb login` sees them."""
    from wandb.sdk import wandb_setup

    return wandb_setup.singleton().settings.read_system_settings()


def sdk_host_url(url: str) -> str:
    """The URL normalized by the SDK itself (what `wandb login --host` stores)."""
    from wandb.sdk.lib import wbauth

    try:
        return wbauth.HostUrl(url).url
    except ValueError as err:
        raise KitError(f"the wandb SDK refuses {url!r}: {err}", fix="check the URL") from None


def write_base_url(url: str, local: bool) -> Path:
    """Sets base_url as `wandb login --host` does: the global settings file, or with
    local=True this directory's ./wandb/settings. Returns the file written."""
    from wandb.sdk.lib import settings_file, urls

    files = sdk_settings_files()
    if url == urls.DEFAULT_BASE_URL:
        files.clear("base_url", globally=not local)
    else:
        files.set("base_url", url, globally=not local)
    try:
        files.save()
    except settings_file.SaveSettingsError as err:
        raise KitError(str(err), fix="check that the file and its directory are writable") from None
    if local or not files._global_path:  # noqa: SLF001 - the SDK exposes no getter
        return Path(files._local_path)  # noqa: SLF001
    return Path(files._global_path)  # noqa: SLF001


def configured_base_url() -> str | None:
    return sdk_settings_files().all().get("base_url")


def netrc_path() -> Path:
    from wandb.sdk.lib.wbauth import wbnetrc

    return wbnetrc._get_netrc_file_path()  # noqa: SLF001 - the SDK's own path logic


def store_key(url: str, key: str) -> Path:
    """Writes the key to .netrc with the SDK's writer (machine = host:port)."""
    from wandb.sdk.lib import wbauth

    try:
        wbauth.write_netrc_auth(host=url, api_key=key)
    except wbauth.WriteNetrcError as err:
        raise KitError(
            f"could not store the key: {redact(str(err), extra=(key,))}",
            fix="make the .netrc file writable, or set NETRC to a writable path",
        ) from None
    return netrc_path()


def netrc_key(url: str, environ: dict[str, str] | None = None) -> str | None:
    """The key stored in .netrc for this server, read with the standard library
    (the same file and machine name as the SDK, without importing wandb)."""
    import netrc

    env = os.environ if environ is None else environ
    if env.get("NETRC"):
        path = Path(env["NETRC"]).expanduser()
    else:
        path = Path("~/.netrc").expanduser()
        if not path.exists() and Path("~/_netrc").expanduser().exists():
            path = Path("~/_netrc").expanduser()
    try:
        creds = netrc.netrc(str(path)).authenticators(urlsplit(url).netloc)
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return None
    return creds[2] if creds and creds[2] else None


def find_key(
    target: Target, environ: dict[str, str] | None = None, admin_fallback: bool = True
) -> tuple[str | None, str]:
    """(key, where it came from): WANDB_API_KEY, .netrc for this host, or for the kit's
    own stack with the admin API on, the admin key in .env."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get("WANDB_API_KEY"):
        return environ["WANDB_API_KEY"], "WANDB_API_KEY"
    key = netrc_key(target.url, environ)
    if key:
        return key, f".netrc ({target.netloc})"
    if (
        admin_fallback
        and target.is_local_stack
        and target.values.get("WANDB_ADMIN_API_ENABLED") == "true"
        and target.values.get("WANDB_ADMIN_API_KEY")
    ):
        return target.values["WANDB_ADMIN_API_KEY"], ".env WANDB_ADMIN_API_KEY"
    return None, ""


# --- configure / env ---------------------------------------------------------------------------


def probe(target: Target, timeout: float = 5.0) -> str | None:
    """None when /healthz answers 200, else a short reason."""
    import requests

    try:
        r = session(target.verify, retries=1).get(f"{target.url}/healthz", timeout=timeout)
    except requests.exceptions.RequestException as err:
        return reason(err)
    return None if r.status_code == 200 else f"/healthz answered HTTP {r.status_code}"


def env_lines(target: Target) -> list[str]:
    lines = [f"export WANDB_BASE_URL={shlex.quote(target.url)}"]
    if target.ca_hint:
        q = shlex.quote(target.ca_hint)
        lines.append(f"export SSL_CERT_FILE={q} REQUESTS_CA_BUNDLE={q}")
    return lines


# --- login -------------------------------------------------------------------------------------


def _prompt_key(target: Target) -> str | None:
    if not sys.stdin.isatty():
        return None
    print(f"Paste an API key from {target.origin}/authorize (input is hidden):", file=sys.stderr)
    try:
        return getpass.getpass("API key: ").strip() or None
    except EOFError:
        return None


def no_key_message(target: Target) -> str:
    return (
        f"no API key given for {target.url}.\n"
        f"  1. open {target.origin}/signup and create an account (on a fresh server the "
        "first account becomes the admin), or log in at "
        f"{target.origin}/login\n"
        f"  2. copy an API key from {target.origin}/authorize\n"
        "  3. run `wandb-kit login` and paste it at the prompt (or set WANDB_API_KEY)\n"
        "  headless, on the kit's own fresh server: `wandb-kit login --bootstrap --email YOU@LAB`"
    )


def base_url_note(target: Target) -> str | None:
    """A note when the SDK on this machine points elsewhere than target."""
    try:
        current = os.environ.get("WANDB_BASE_URL") or configured_base_url()
    except Exception:  # reading settings is advisory here
        return None
    if (current or "").rstrip("/") == target.url:
        return None
    from wandb.sdk.lib import urls

    return (
        f"  note: the SDK points at {current or urls.DEFAULT_BASE_URL + ' (its default)'}; "
        f"run `wandb-kit configure` to use {target.url}"
    )


def login(target: Target, key: str, source: str) -> dict:
    """Verifies the key against the server and stores it where the SDK looks."""
    key = key.strip()
    sess = session(target.verify, retries=2, retry_status=True)
    who = verify_key(sess, target, key)
    path = store_key(sdk_host_url(target.url), key)
    return {
        "url": target.url,
        "username": who.username,
        "entity": who.entity,
        "key_source": source,
        "netrc": str(path),
        "machine": target.netloc,
    }


# --- bootstrap ---------------------------------------------------------------------------------

ADMIN_OFF_FIX = (
    "set WANDB_ADMIN_API_ENABLED=false in .env, then `wandb-kit up` (it recreates the "
    "server without admin API access; the personal key keeps working)"
)


def check_bootstrap_email(flag: str | None, values: dict[str, str]) -> str:
    email = flag or values.get("WANDB_BOOTSTRAP_EMAIL") or ""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise KitError(
            "--bootstrap needs the first user's email"
            + (f" ({email!r} is not an email address)" if email else ""),
            fix="pass --email you@lab.example (or set WANDB_BOOTSTRAP_EMAIL in .env)",
        )
    return email


def bootstrap(target: Target, email: str | None = None) -> dict:
    """Creates the first user and a personal API key with the admin API key, through
    the SDK's documented GraphQL (CreateUserFromAdmin, GenerateApiKey), and stores it."""
    from wandb.apis._generated.operations import (
        CREATE_USER_FROM_ADMIN_GQL,
        GENERATE_API_KEY_GQL,
    )

    values = target.values
    if not values:
        raise KitError(
            "--bootstrap needs the kit's .env (it holds the admin API key)",
            fix="run it on the server's machine, with --compose-dir/--env-file if elsewhere",
        )
    admin_key = values.get("WANDB_ADMIN_API_KEY", "")
    if values.get("WANDB_ADMIN_API_ENABLED") != "true" or not admin_key:
        raise KitError(
            "the admin API is off in .env (WANDB_ADMIN_API_ENABLED is not true)",
            fix="set WANDB_ADMIN_API_ENABLED=true, `wandb-kit up`, bootstrap, then turn it off "
            "again; or sign up in the browser at " + f"{target.origin}/signup",
        )
    email = check_bootstrap_email(email, values)
    sess = session(target.verify, retries=2, retry_status=True)
    secrets = (admin_key,)
    _check_admin(sess, target, admin_key)

    created = True
    try:
        data = graphql(
            sess, target.url, admin_key, CREATE_USER_FROM_ADMIN_GQL, {"email": email, "admin": True}
        )
        user = ((data.get("result") or {}).get("user")) or {}
    except GraphQLError as err:
        if "exist" not in str(err).lower():
            raise KitError(
                f"createUser for {email} failed: {redact(str(err), extra=secrets)}",
                fix="check the server's logs (`wandb-kit logs wandb`)",
                exit_code=EXIT_FAILED,
            ) from None
        created, user = False, {"email": email}

    try:
        data = graphql(
            sess,
            target.url,
            admin_key,
            GENERATE_API_KEY_GQL,
            {"description": f"wandb-kit bootstrap for {email}"},
        )
        new_key = (((data.get("result") or {}).get("apiKey")) or {}).get("name") or ""
    except GraphQLError as err:
        raise KitError(
            f"generateApiKey failed: {redact(str(err), extra=secrets)}",
            fix="check the server's logs (`wandb-kit logs wandb`)",
            exit_code=EXIT_FAILED,
        ) from None
    if check_key_format(new_key):
        raise KitError(
            "the server did not return a usable API key from generateApiKey",
            fix=f"create one in the browser at {target.origin}/authorize",
            exit_code=EXIT_FAILED,
        )
    who = verify_key(sess, target, new_key)
    path = store_key(sdk_host_url(target.url), new_key)
    result = {
        "url": target.url,
        "user_email": email,
        "user_created": created,
        "user_username": user.get("username"),
        "key_owner": who.username,
        "netrc": str(path),
        "machine": target.netloc,
    }
    return result


def _check_admin(sess, target: Target, admin_key: str) -> None:
    """bootstrap's first step: the admin API key from .env reaches the server as an admin."""
    try:
        admin = viewer(sess, target.url, admin_key)
    except GraphQLError as err:
        if err.unreachable:
            raise KitError(
                f"could not reach {target.url} ({err})",
                fix="start it with `wandb-kit up`; `wandb-kit health` shows what fails",
                exit_code=EXIT_UNREACHABLE,
            ) from None
        if err.status == 401:
            raise KitError(
                f"{target.url} rejects the admin API key from .env (HTTP 401)",
                fix="the server runs with other settings: `wandb-kit up` recreates it with "
                "this .env (GLOBAL_ADMIN_API_KEY comes from WANDB_ADMIN_API_KEY)",
            ) from None
        raise KitError(f"admin API key check failed: {err}") from None
    if not admin.admin:
        raise KitError(
            "the admin API key is accepted but has no admin rights "
            "(GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS is off on the server)",
            fix="set WANDB_ADMIN_API_ENABLED=true in .env and run `wandb-kit up`",
        )


def ensure_reachable(url: str, key: str, ca_file: str | None) -> None:
    """Raises a KitError naming the fix unless the server answers GraphQL with the key."""
    import requests

    try:
        r = requests.post(
            f"{url}/graphql",
            json={"query": "query { viewer { id } }"},
            auth=("api", key),
            timeout=20,
            verify=ca_file or True,
        )
    except requests.RequestException as err:
        raise KitError(
            f"cannot reach {url} ({type(err).__name__})",
            fix="is the server up? `wandb-kit health` tells which layer fails",
            exit_code=EXIT_UNREACHABLE,
        )
    if r.status_code == 401:
        raise KitError(f"{url} refused the API key (401)", fix="run `wandb-kit login` again")
    if r.status_code != 200:
        raise KitError(
            f"{url}/graphql answered {r.status_code}",
            fix="run `wandb-kit doctor`",
            exit_code=EXIT_FAILED,
        )


@dataclass
class SignedUpload:
    """Where to PUT a run file: the URL and headers the server hands out, as the SDK
    gets them (upsertBucket, then createRunFiles), and the run that owns the file."""

    url: str
    headers: dict[str, str]
    run_id: str | None


def signed_upload(
    sess, base_url: str, key: str, entity: str, project: str, run: str, filename: str,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> SignedUpload:  # fmt: skip
    """Creates (or updates) run `run` and asks for an upload URL for `filename`.
    Raises GraphQLError, or KeyError/IndexError/TypeError on an unexpected answer."""
    from wandb_local_kit.core.documents import CREATE_RUN_FILES, UPSERT_BUCKET

    data = graphql(
        sess, base_url, key, UPSERT_BUCKET,
        {"project": project, "entity": entity, "name": run, "state": "finished"}, timeout,
    )  # fmt: skip
    run_id = ((data.get("upsertBucket") or {}).get("bucket") or {}).get("id")
    files = graphql(
        sess, base_url, key, CREATE_RUN_FILES,
        {"entity": entity, "project": project, "run": run, "files": [filename]}, timeout,
    )["createRunFiles"]  # fmt: skip
    url = files["files"][0]["uploadUrl"]
    if url.startswith("/"):
        url = base_url + url
    headers = dict(h.split(":", 1) for h in (files.get("uploadHeaders") or []) if ":" in h)
    return SignedUpload(url, headers, run_id)
