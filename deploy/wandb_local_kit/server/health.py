"""`wandb-kit health`: a layered check of a W&B server, each layer with status, time
and detail, so a failure names the layer that broke.

Layers: TCP connect; TLS certificate (https only); /healthz; /ready; GraphQL `viewer`
with the API key; `serverInfo` (server version, the SDK range it supports); with
--deep also a signed-URL upload and download of a small file (the GraphQL the SDK
uses: UpsertBucket, CreateRunFiles, MarkRunFilesUploaded, RunFiles), a CORS preflight
from the server's origin against the storage URL, and a 10 MB GraphQL POST (a proxy
body limit shows as 413), as `wandb verify` does.

The plain path imports neither wandb nor torch: the SDK's version comes from package
metadata, the key from WANDB_API_KEY, .netrc or the kit's .env.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wandb_local_kit.core import net
from wandb_local_kit.core.documents import (
    DELETE_RUN,
    FRONTEND_HOST,
    LARGE_POST,
    MARK_UPLOADED,
    RUN_FILES,
    SERVER_INFO,
)
from wandb_local_kit.core.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    KitError,
)
from wandb_local_kit.core.redact import redact
from wandb_local_kit.server import client
from wandb_local_kit.server import license as lic

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STATUS_WORDS = {
    EXIT_OK: "healthy",
    EXIT_FAILED: "degraded",
    EXIT_USAGE: "failing",
    EXIT_UNREACHABLE: "unreachable",
}
HEALTH_EXIT_CODES = """\
exit codes of health:
  0    healthy: every layer passed
  1    degraded: warnings only (e.g. no API key to test with, SDK outside the
       server's supported range, storage without CORS, certificate expiring soon)
  2    failing: a layer failed (not ready, key rejected, TLS untrusted, signed URL
       upload broken, 413 from a proxy, ...)
  3    unreachable: no TCP connection to the server"""

LARGE_POST_BYTES = 10**7  # what `wandb verify` sends
CERT_WARN_DAYS = 14


def renewal_overdue(not_before: float, not_after: float, now: float) -> bool:
    """Whether a certificate should have been renewed by now: less than 14 days left,
    or, for short-lived ones (Caddy's internal CA issues 12-hour certificates), less
    than the last third of its lifetime, when ACME clients and Caddy renew."""
    lifetime = max(not_after - not_before, 0)
    return not_after - now < min(CERT_WARN_DAYS * 86400, lifetime / 3)


def _remaining(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} more days"
    return f"{max(seconds, 0) / 3600:.1f} more hours"


HEALTH_PROJECT = "wandb-kit-health"
PROBE_CONTENT = b"wandb-kit signed URL probe\n"

BODY_LIMIT_FIX = (
    "lift the request body limit of the proxy in front of W&B: nginx "
    "`client_max_body_size 0;`, Kubernetes ingress-nginx annotation "
    '`nginx.ingress.kubernetes.io/proxy-body-size: "0"`, Caddy `request_body { max_size 0 }` '
    "(or at least several GB when the bucket is proxied too)"
)


@dataclass
class Layer:
    name: str
    status: str
    seconds: float
    detail: str
    fix: str = ""
    facts: dict = field(default_factory=dict)  # raw observations, for doctor and --json


@dataclass
class Report:
    url: str
    source: str
    key_source: str
    deep: bool
    layers: list[Layer] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(ly.name == "tcp" and ly.status == FAIL for ly in self.layers):
            return EXIT_UNREACHABLE
        if any(ly.status == FAIL for ly in self.layers):
            return EXIT_USAGE
        if any(ly.status == WARN for ly in self.layers):
            return EXIT_FAILED
        return EXIT_OK

    @property
    def status(self) -> str:
        return STATUS_WORDS[self.exit_code]

    def layer(self, name: str) -> Layer | None:
        return next((ly for ly in self.layers if ly.name == name), None)

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "url_source": self.source,
            "key_source": self.key_source or None,
            "deep": self.deep,
            "status": self.status,
            "exit_code": self.exit_code,
            "layers": [{**asdict(ly), "seconds": round(ly.seconds, 4)} for ly in self.layers],
        }


class _Timer:
    """Wall time of a block; `seconds` is also right inside it (early returns)."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        self._stop: float | None = None
        return self

    def __exit__(self, *exc):
        self._stop = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self._stop or time.perf_counter()) - self.t0


def sdk_version() -> str | None:
    """The installed wandb SDK's version, from package metadata (no import of wandb)."""
    from importlib import metadata

    try:
        return metadata.version("wandb")
    except metadata.PackageNotFoundError:
        return None


# --- the layers ---------------------------------------------------------------------------------


def check_tcp(url: str, timeout: float) -> Layer:
    with _Timer() as t:
        result = net.reach(url, timeout)
    return Layer("tcp", OK if result.ok else FAIL, t.seconds, result.detail, result.fix)


def check_tls(url: str, verify: bool | str, timeout: float, ca_source: str = "") -> Layer:
    """The handshake, verified against the same CA bundle the HTTP layers use (requests:
    the bundle named, else certifi's), so both layers agree on trust."""
    p = urlsplit(url)
    port = p.port or 443
    if isinstance(verify, str):
        cafile = verify
    else:
        import certifi

        cafile = certifi.where()
    with _Timer() as t:
        try:
            ctx = ssl.create_default_context(cafile=cafile)
            with socket.create_connection((p.hostname, port), timeout=timeout) as raw:
                with ctx.wrap_socket(raw, server_hostname=p.hostname) as tls:
                    # A verified handshake (CERT_REQUIRED): the peer's certificate, a dict.
                    cert: dict[str, Any] = tls.getpeercert() or {}
            not_after = ssl.cert_time_to_seconds(cert["notAfter"])
            not_before = ssl.cert_time_to_seconds(cert["notBefore"])
            now = time.time()
            days = (not_after - now) / 86400
            issuer = dict(x[0] for x in cert.get("issuer", ()))
            who = issuer.get("organizationName") or issuer.get("commonName") or "?"
            detail = (
                f"certificate for {p.hostname} trusted (issuer {who}), valid "
                f"{_remaining(not_after - now)}"
            )
            if renewal_overdue(not_before, not_after, now):
                status = WARN
                fix = "renew the certificate (Caddy renews ACME/internal certificates itself)"
            else:
                status, fix = OK, ""
            facts = {"days_left": round(days, 1), "issuer": who}
        except ssl.SSLCertVerificationError as err:
            status = FAIL
            detail = f"certificate not trusted: {err.verify_message or err.reason}" + (
                f" (checked against {ca_source})" if ca_source else ""
            )
            fix = (
                "trust the server's CA on this machine: export SSL_CERT_FILE=CA.pem "
                "REQUESTS_CA_BUNDLE=CA.pem (the kit's internal CA: compose/certs/"
                "wandb-root-ca.crt after `wandb-kit up`), pass --ca-file, or add it to the "
                "system store (update-ca-certificates)"
            )
            facts = {"verify_message": err.verify_message}
        except (ssl.SSLError, OSError) as err:
            status, detail = FAIL, f"TLS handshake failed: {err}"
            fix = "check that the port speaks https (or use an http:// URL)"
            facts = {}
    return Layer("tls", status, t.seconds, detail, fix, facts)


def _get(sess, url: str, timeout: float):
    import requests

    try:
        return sess.get(url, timeout=timeout), None
    except requests.exceptions.RequestException as err:
        return None, client.reason(err)


def check_healthz(sess, url: str, timeout: float) -> Layer:
    with _Timer() as t:
        resp, err = _get(sess, f"{url}/healthz", timeout)
    if resp is None:
        return Layer(
            "healthz",
            FAIL,
            t.seconds,
            f"GET /healthz failed: {err}",
            "check the URL; `wandb-kit logs wandb` shows the server's side",
        )
    facts = {"date": resp.headers.get("Date"), "local_time": time.time()}
    if resp.status_code == 200:
        return Layer("healthz", OK, t.seconds, "HTTP 200 (alive)", facts=facts)
    return Layer(
        "healthz",
        FAIL,
        t.seconds,
        f"HTTP {resp.status_code} from /healthz",
        "the process answers but is not alive: `wandb-kit logs wandb`; check the URL points "
        "at W&B itself",
        facts,
    )


def check_ready(sess, url: str, timeout: float) -> Layer:
    with _Timer() as t:
        resp, err = _get(sess, f"{url}/ready", timeout)
    if resp is None:
        return Layer(
            "ready",
            FAIL,
            t.seconds,
            f"GET /ready failed: {err}",
            "`wandb-kit logs wandb` shows why",
        )
    if resp.status_code == 200:
        return Layer("ready", OK, t.seconds, "HTTP 200 (ready to serve)")
    return Layer(
        "ready",
        FAIL,
        t.seconds,
        f"HTTP {resp.status_code}: not ready (starting, or running database migrations)",
        "wait: first boot and upgrades run migrations that can take minutes; never "
        "interrupt them. If it stays so, `wandb-kit logs wandb` (look for 'Dirty database "
        "version' or database connection errors) and `wandb-kit doctor`",
        {"status_code": resp.status_code},
    )


def check_viewer(sess, url: str, key: str | None, key_source: str, timeout: float):
    if not key:
        return Layer(
            "viewer",
            WARN,
            0.0,
            "no API key found (WANDB_API_KEY, .netrc, or the kit's .env admin key); GraphQL "
            "not checked",
            "`wandb-kit login` (or set WANDB_API_KEY)",
        ), None
    with _Timer() as t:
        try:
            who = client.viewer(sess, url, key, timeout=timeout)
        except client.GraphQLError as err:
            fix = f"`wandb-kit login` with a key from {url}/authorize"
            if err.status != 401:
                fix = "`wandb-kit logs wandb`; the server's GraphQL API is not answering"
            return Layer(
                "viewer",
                FAIL,
                t.seconds,
                f"{err} (key from {key_source})",
                fix,
                {"status_code": err.status},
            ), None
    return Layer(
        "viewer",
        OK,
        t.seconds,
        f"key from {key_source} belongs to {who.username}" + (" (admin)" if who.admin else ""),
        facts={"username": who.username, "entity": who.entity, "admin": who.admin},
    ), who


def _version_tuple(text: str):
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


def check_versions(sess, url: str, key: str, timeout: float) -> Layer:
    sdk = sdk_version()
    with _Timer() as t:
        try:
            info = (client.graphql(sess, url, key, SERVER_INFO, timeout=timeout) or {}).get(
                "serverInfo"
            ) or {}
        except client.GraphQLError as err:
            return Layer(
                "versions", FAIL, t.seconds, f"serverInfo failed: {err}", "`wandb-kit logs wandb`"
            )
        try:
            front = (client.graphql(sess, url, key, FRONTEND_HOST, timeout=timeout) or {}).get(
                "serverInfo"
            ) or {}
        except client.GraphQLError:
            front = {}
    cli = info.get("cliVersionInfo") or {}
    if isinstance(cli, str):
        try:
            cli = json.loads(cli)
        except ValueError:
            cli = {}
    local = info.get("latestLocalVersionInfo") or {}
    server = local.get("versionOnThisInstanceString") or "unknown"
    lo, hi = cli.get("min_cli_version"), cli.get("max_cli_version")
    facts = {
        "server_version": server,
        "sdk_version": sdk,
        "min_cli_version": lo,
        "max_cli_version": hi,
        "out_of_date": local.get("outOfDate"),
        "latest_version": local.get("latestVersionString"),
        "frontend_host": front.get("frontendHost"),
    }
    detail = (
        f"server {server}, SDK {sdk or 'not installed'}, "
        f"server supports SDK {lo or '?'}..{hi or '?'}"
    )
    status, fix = OK, ""
    v, vlo, vhi = _version_tuple(sdk or ""), _version_tuple(lo or ""), _version_tuple(hi or "")
    if v and vlo and v < vlo:
        status = WARN
        fix = f"upgrade the SDK: pip install 'wandb>={lo},<={hi or lo}'"
        detail += ": this SDK is older than the server supports"
    elif v and vhi and v > vhi:
        status = WARN
        fix = (
            f"pin the SDK to the server's range (pip install 'wandb<={hi}') or upgrade the "
            "server (wandb-kit upgrade)"
        )
        detail += ": this SDK is newer than the server supports"
    if local.get("outOfDate") and status == OK:
        detail += f"; a newer server exists ({local.get('latestVersionString')})"
    return Layer("versions", status, t.seconds, detail, fix, facts)


def check_signed_url(
    sess, url: str, key: str, entity: str, timeout: float
) -> tuple[Layer, str | None]:
    """Creates a run, uploads a small file through its signed URL, reads it back through
    the download URL the server hands out, then deletes the run. Returns the download URL
    for the CORS check."""
    import requests

    run_name = f"health-{uuid.uuid4().hex[:10]}"
    fname = "wandb-kit-probe.txt"
    facts: dict = {"project": HEALTH_PROJECT, "run": run_name}
    download_url = None
    run_id = None
    with _Timer() as t:
        try:
            signed = client.signed_upload(
                sess, url, key, entity, HEALTH_PROJECT, run_name, fname, timeout
            )
            run_id, upload, headers = signed.run_id, signed.url, signed.headers
            facts["upload_url"] = client.strip_query(upload)
            facts["upload_netloc"] = urlsplit(upload).netloc
            try:
                put = sess.put(upload, data=PROBE_CONTENT, headers=headers, timeout=timeout)
            except requests.exceptions.RequestException as err:
                facts["upload_error"] = "connect"
                return _signed_fail(
                    t, facts, f"upload to {facts['upload_url']} failed: {client.reason(err)}"
                ), None
            facts["upload_status"] = put.status_code
            if put.status_code >= 300:
                return _signed_fail(
                    t,
                    facts,
                    f"upload to {facts['upload_url']} answered HTTP {put.status_code}"
                    f" {put.text[:80].strip()!r}",
                ), None
            edges, download_url = _listed_file(sess, url, key, entity, run_name, fname, timeout)
            if not edges or not download_url:
                return _signed_fail(
                    t,
                    facts,
                    "uploaded, but the server does not list the file"
                    + (" with a download URL" if edges else "")
                    + " (bucket notifications / markRunFilesUploaded)",
                ), None
            facts["download_url"] = client.strip_query(download_url)
            facts["download_netloc"] = urlsplit(download_url).netloc
            try:
                got = sess.get(download_url, timeout=timeout)
            except requests.exceptions.RequestException as err:
                facts["download_error"] = "connect"
                return _signed_fail(
                    t, facts, f"download from {facts['download_url']} failed: {client.reason(err)}"
                ), None
            facts["download_status"] = got.status_code
            if got.status_code != 200 or got.content != PROBE_CONTENT:
                return _signed_fail(
                    t,
                    facts,
                    f"download from {facts['download_url']} answered "
                    f"HTTP {got.status_code}"
                    + ("" if got.status_code != 200 else " with other content"),
                ), None
        except client.GraphQLError as err:
            return _signed_fail(t, facts, f"GraphQL step failed: {err}"), None
        except (KeyError, IndexError, TypeError) as err:
            return _signed_fail(t, facts, f"unexpected GraphQL answer ({err!r})"), None
        finally:
            if run_id:
                try:
                    client.graphql(sess, url, key, DELETE_RUN, {"id": run_id}, timeout)
                except client.GraphQLError:
                    pass
    return Layer(
        "signed-url",
        OK,
        t.seconds,
        f"uploaded and read back {len(PROBE_CONTENT)} bytes via {facts['upload_netloc']}",
        facts=facts,
    ), download_url


def _listed_file(
    sess, url: str, key: str, entity: str, run_name: str, fname: str, timeout: float
) -> tuple[list[dict[str, Any]], str | None]:
    """check_signed_url's middle step: mark the uploaded file, then poll (ten tries) for
    the server to list it; its file edges and download URL (absolute; None when not
    listed)."""
    try:
        client.graphql(
            sess,
            url,
            key,
            MARK_UPLOADED,
            {
                "entity": entity,
                "project": HEALTH_PROJECT,
                "run": run_name,
                "files": [fname],
            },
            timeout,
        )
    except client.GraphQLError:
        pass  # older servers lack it; the bucket notification commits the file there
    edges: list[dict[str, Any]] = []
    for _ in range(10):  # the file shows up once the server has committed it
        data = client.graphql(
            sess,
            url,
            key,
            RUN_FILES,
            {
                "project": HEALTH_PROJECT,
                "entity": entity,
                "name": run_name,
                "fileNames": [fname],
            },
            timeout,
        )
        run = ((data.get("project") or {}).get("run")) or {}
        edges = ((run.get("files") or {}).get("edges")) or []
        node = edges[0]["node"] if edges else {}
        if node.get("directUrl") or node.get("url"):
            break
        time.sleep(0.3)
    found = node.get("directUrl") or node.get("url") if edges else None
    return edges, (url + found if found and found.startswith("/") else found)


def _signed_fail(t: _Timer, facts: dict, detail: str) -> Layer:
    return Layer(
        "signed-url",
        FAIL,
        t.seconds,
        detail,
        "the upload/download URLs are built from HOST (WANDB_HOST) or, with external "
        "storage, from the bucket endpoint (WANDB_BUCKET_PUBLIC_URL): both must be URLs this "
        "client can reach; `wandb-kit doctor` names which",
        facts,
    )


def check_cors(sess, download_url: str | None, origin: str, timeout: float) -> Layer:
    import requests

    if not download_url:
        return Layer("cors", SKIP, 0.0, "no storage URL (signed-URL check did not pass)")
    with _Timer() as t:
        try:
            resp = sess.options(
                download_url,
                headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
                timeout=timeout,
            )
        except requests.exceptions.RequestException as err:
            return Layer(
                "cors",
                FAIL,
                t.seconds,
                f"preflight failed: {client.reason(err)}",
                "the storage endpoint is unreachable from here (see signed-url)",
            )
    allowed = resp.headers.get("Access-Control-Allow-Origin")
    where = client.strip_query(download_url)
    if allowed in (origin, "*"):
        return Layer("cors", OK, t.seconds, f"storage allows GET from {origin}")
    return Layer(
        "cors",
        WARN,
        t.seconds,
        f"storage at {urlsplit(where).netloc} sends no CORS allowance for {origin} "
        f"(HTTP {resp.status_code}); browsers cannot show media, files or artifacts",
        "allow GET, PUT and HEAD from the W&B origin on the bucket (the kit's storage-init "
        "job sets it on `wandb-kit up`, from WANDB_HOST; elsewhere S3 PutBucketCors as the "
        "bucket's owner)",
        {"status_code": resp.status_code, "allow_origin": allowed},
    )


def check_large_post(sess, url: str, key: str, entity: str, timeout: float) -> Layer:
    import requests

    body = {
        "query": LARGE_POST,
        "variables": {
            "entity": entity,
            "name": HEALTH_PROJECT,
            "runName": "",
            "desc": "a" * LARGE_POST_BYTES,
        },
    }
    with _Timer() as t:
        try:
            resp = sess.post(
                f"{url}/graphql", json=body, auth=("api", key), timeout=max(timeout, 60)
            )
        except requests.exceptions.RequestException as err:
            return Layer(
                "large-post",
                FAIL,
                t.seconds,
                f"10 MB POST broke off: {client.reason(err)}",
                BODY_LIMIT_FIX,
            )
    if resp.status_code == 413:
        return Layer(
            "large-post",
            FAIL,
            t.seconds,
            "HTTP 413 Request Entity Too Large: a proxy limits request bodies; the "
            "SDK sends up to 10 MB (file stream, large configs)",
            BODY_LIMIT_FIX,
            {"status_code": 413},
        )
    code = resp.status_code
    if code in (401, 403):
        return Layer(
            "large-post",
            FAIL,
            t.seconds,
            f"HTTP {code}: the server refused the API key, so the 10 MB POST proves nothing",
            "check the key (`wandb-kit login`), then run `wandb-kit health --deep` again",
            {"status_code": code},
        )
    if code == 200 or (code == 400 and _graphql_answer(resp)):
        # 400 with a GraphQL error: the whole body reached W&B, which parsed it.
        return Layer(
            "large-post",
            OK,
            t.seconds,
            f"10 MB GraphQL POST reached the server and was parsed (HTTP {code})",
            facts={"status_code": code},
        )
    return Layer(
        "large-post",
        FAIL,
        t.seconds,
        f"HTTP {code} for a 10 MB POST: not accepted",
        BODY_LIMIT_FIX if code >= 500 else "read the server's logs (`wandb-kit logs wandb`)",
        {"status_code": code},
    )


def _graphql_answer(resp) -> bool:
    """True when the answer is W&B's GraphQL JSON (errors or data), not a proxy's page."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and ("errors" in body or "data" in body)


MAX_URL_CHARS = 2048  # far longer than any server's URL; what browsers and proxies allow


def url_problem(url: str) -> str | None:
    """Why URL cannot be asked at all (None if it can): too long, not parseable, or a host
    name no resolver takes (labels of 1-63 characters, 253 in all). Names it shortened."""
    shown = url if len(url) <= 80 else f"{url[:60]}... ({len(url)} characters)"
    if len(url) > MAX_URL_CHARS:
        return f"{shown} is longer than any server URL ({MAX_URL_CHARS} characters at most)"
    try:
        host = urlsplit(url).hostname or ""
    except ValueError as err:
        return f"{shown} is not a usable URL ({err})"
    if host and ":" not in host:  # an IPv6 address needs no DNS
        try:
            host.encode("idna")
        except UnicodeError:
            return (
                f"{shown} is not a usable URL: its host name is not one DNS can look up "
                "(each dot-separated part 1 to 63 characters, 253 in all)"
            )
    return None


def refuse_unusable_url(url: str, source: str) -> None:
    """Raises the KitError (exit 2) of url_problem, naming where the URL came from."""
    problem = url_problem(url)
    if problem:
        raise KitError(
            f"{source}: {problem}",
            fix="give the URL clients use, e.g. http://wandb.lab.example:8080",
        )


def check_license(
    values: dict[str, str], users: int | None = None, lab_file: str = "", now=None
) -> Layer:
    """The license the kit was given (WANDB_LICENSE), read offline: expiry (warn at
    30 and at 7 days, fail once expired) and seats against a lab file's users."""
    from datetime import datetime, timezone

    t0 = time.monotonic()
    token = values.get("WANDB_LICENSE", "")
    if not token:
        return Layer("license", SKIP, 0.0, "no license given to the kit (WANDB_LICENSE is empty)")
    info = lic.parse(token)
    expiry = lic.judge_expiry(info, now or datetime.now(timezone.utc))
    facts = info.facts() | {
        "lab_users": users,
        "expiry_status": expiry.status if expiry else None,
        "expiry_detail": expiry.detail if expiry else "",
    }
    verdicts = [v for v in (expiry, lic.judge_seats(info, users, lab_file)) if v is not None]
    bad = [v for v in verdicts if v.status != OK]
    status = FAIL if any(v.status == FAIL for v in bad) else WARN if bad else OK
    said = [v.detail for v in (bad or verdicts)]
    if info.seats is not None and users is None:
        said.append(f"{info.seats} seats")
    if info.unread:
        said.append("not read: " + "; ".join(info.unread))
    if not verdicts:  # nothing could be judged: said so, not called ok
        status = SKIP
    return Layer(
        "license",
        status,
        time.monotonic() - t0,
        "; ".join(said),
        "; ".join(dict.fromkeys(v.fix for v in bad if v.fix)),
        facts,
    )


# --- running them -----------------------------------------------------------------------------


def run(
    target: client.Target,
    key: str | None,
    key_source: str,
    deep: bool = False,
    timeout: float = client.DEFAULT_TIMEOUT_S,
) -> Report:
    report = Report(target.url, target.source, key_source, deep)
    add = report.layers.append
    tcp = check_tcp(target.url, timeout)
    add(tcp)
    names = ["tls"] if target.url.startswith("https://") else []
    names += ["healthz", "ready", "viewer", "versions"]
    if deep:
        names += ["signed-url", "cors", "large-post"]
    if tcp.status == FAIL:
        for n in names:
            add(Layer(n, SKIP, 0.0, "server unreachable"))
        return report
    verify = target.verify
    if target.url.startswith("https://"):
        tls = check_tls(target.url, verify, timeout, target.ca_source)
        add(tls)
        if tls.status == FAIL:
            verify = False  # go on, to tell what else works; the failure stays reported
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    sess = client.session(verify, retries=1)
    add(check_healthz(sess, target.url, timeout))
    add(check_ready(sess, target.url, timeout))
    view, who = check_viewer(sess, target.url, key, key_source, timeout)
    add(view)
    graph_names = ["versions"] + (["signed-url", "cors", "large-post"] if deep else [])
    if who is None or not key:  # no key: no viewer either
        why = "no API key" if not key else "viewer failed"
        for n in graph_names:
            add(Layer(n, SKIP, 0.0, why))
        return report
    add(check_versions(sess, target.url, key, timeout))
    if deep:
        signed, download_url = check_signed_url(sess, target.url, key, who.entity, timeout)
        add(signed)
        add(check_cors(sess, download_url, target.origin, timeout))
        add(check_large_post(sess, target.url, key, who.entity, timeout))
    return report


def bucket_controls_layer(target: client.Target, timeout: float) -> Layer | None:
    """--deep on a kit deployment with a bucket: W&B's bucket has no versioning,
    object lock, lifecycle rule or CORS rule for another origin (read with W&B's key)."""
    from wandb_local_kit.stack.bucket_controls import bucket_controls_for

    with _Timer() as t:
        ca = target.verify if isinstance(target.verify, str) else None
        checks = bucket_controls_for(target.values, min(timeout, 5.0), ca)
    if not checks:
        return None
    bad = [c for c in checks if c.status != OK]
    if not bad:
        return Layer(
            "bucket-controls",
            OK,
            t.seconds,
            "; ".join(f"{c.name.removeprefix('bucket ')}: {c.detail}" for c in checks),
            facts={c.name: c.status for c in checks},
        )
    return Layer(
        "bucket-controls",
        FAIL if any(c.status == FAIL for c in bad) else WARN,
        t.seconds,
        "; ".join(c.detail for c in bad),
        "; ".join(c.fix for c in bad if c.fix),
        {c.name: c.status for c in checks},
    )


SYMBOLS = {OK: " ok ", WARN: "warn", FAIL: "FAIL", SKIP: "skip"}


def render(report: Report, secrets: tuple[str, ...] = ()) -> str:
    lines = [f"W&B server {report.url} (from {report.source})"]
    width = max(len(ly.name) for ly in report.layers)
    for ly in report.layers:
        ms = f"{ly.seconds * 1000:6.0f} ms" if ly.status != SKIP else " " * 9
        lines.append(f"  [{SYMBOLS[ly.status]}] {ly.name:<{width}} {ms}  {ly.detail}")
        if ly.fix and ly.status in (WARN, FAIL):
            lines.append(f"  {'':6} {'':<{width}} {'':9}  fix: {ly.fix}")
    lines.append(f"{report.status} (exit {report.exit_code})")
    return redact("\n".join(lines), extra=secrets)
