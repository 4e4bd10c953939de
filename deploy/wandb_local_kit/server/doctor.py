"""`wandb-kit doctor`: health plus local checks, turned into known pitfalls with fixes.

PITFALLS is the table of self-hosting problems users hit again and again (HOST
mismatch, a bucket URL clients cannot reach, missing CORS, a proxy's 413, license,
ARM hosts, wrong key, SDK/server versions, volume permissions, disk, ...). Each
detector looks at the evidence (the health report, the kit's .env, and facts about
this machine and the compose project) and returns a Finding: what was checked, what
was found, and the fix. README.md's "Troubleshooting" section is rendered from the
same table (`wandb-kit doctor --markdown`), and a unit test keeps the two equal.

Detectors are pure functions of the evidence; `observe_local()` gathers the facts.
"""

from __future__ import annotations

import platform
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from wandb_local_kit.core import net
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, KitError
from wandb_local_kit.server import client, health, sso
from wandb_local_kit.stack.compose import docker_data_root
from wandb_local_kit.stack.deployment import Deployment

FAIL, WARN, NOTE = "fail", "warn", "note"
SEVERITIES = (FAIL, WARN, NOTE)
GIB = 1024**3


@dataclass(frozen=True)
class Pitfall:
    id: str
    title: str
    symptom: str
    cause: str
    fix: str


PITFALLS: list[Pitfall] = [
    Pitfall(
        "host-mismatch",
        "HOST is not the URL clients use",
        "runs appear but files, media and artifacts never arrive; 403 on /local-files "
        "uploads; signup or 'Unable to reach the backend api' in the browser",
        "W&B builds and signs upload/download URLs from HOST (WANDB_HOST in .env); a client "
        "that reaches the server under another name or port gets URLs it cannot use",
        "set WANDB_HOST in .env to exactly the URL clients use (scheme, host, port), then "
        "`wandb-kit up`; every client must use that same URL",
    ),
    Pitfall(
        "bucket-unreachable",
        "Bucket endpoint not reachable from clients (split horizon)",
        "metrics arrive, media and artifacts do not; the SDK's debug log shows connection "
        "errors to the bucket host (e.g. seaweedfs:8333)",
        "the bucket URL the server signs (WANDB_BUCKET_PUBLIC_URL) names a host that only "
        "containers resolve (like `seaweedfs`), or a port that is not published to clients",
        "set WANDB_BUCKET_PUBLIC_URL to this server's DNS name or LAN address (never "
        "`seaweedfs` or localhost), publish the port (WANDB_BUCKET_BIND), then `wandb-kit init "
        "&& wandb-kit up`",
    ),
    Pitfall(
        "cors-missing",
        "Storage without CORS for the W&B origin",
        "the UI shows broken images, empty media panels, failed artifact file views",
        "browsers fetch media straight from the bucket; without a CORS rule allowing the "
        "W&B origin they refuse",
        "allow GET, PUT and HEAD from the W&B origin on the bucket (S3 PutBucketCors); "
        "the kit's storage-init job sets it on every `wandb-kit up`, from WANDB_HOST",
    ),
    Pitfall(
        "own-storage",
        "Your own MySQL or bucket does not meet W&B's needs",
        "W&B does not start (migrations fail), or uploads, media and artifacts fail",
        "WANDB_EXTERNAL_MYSQL_URL / WANDB_EXTERNAL_BUCKET_URL name a service that is "
        "unreachable under that name, refuses the credentials, or lacks a setting, grant, "
        "CORS rule or S3 feature W&B needs",
        "the finding names what was found and the fix; `wandb-kit preflight` runs the same "
        "checks before `up`",
    ),
    Pitfall(
        "body-limit",
        "A proxy limits request bodies (413)",
        "HTTP 413 Request Entity Too Large; `wandb verify` fails the large-payload check; "
        "runs with big configs or many metrics stall",
        "nginx defaults to client_max_body_size 1m, ingress-nginx to proxy-body-size 1m; "
        "the SDK sends up to 10 MB per request",
        health.BODY_LIMIT_FIX,
    ),
    Pitfall(
        "wrong-key",
        "API key rejected",
        "401 Unauthorized; `wandb login` or `wandb.init` fails with an authentication error",
        "the key belongs to another server (e.g. api.wandb.ai), was deleted, or was mistyped",
        "get a key from <server>/authorize and run `wandb-kit login`; keys are per server "
        "and stored per host:port in .netrc",
    ),
    Pitfall(
        "no-key",
        "No API key for this server on this machine",
        "`wandb.init` prompts for a key or falls back to offline mode",
        "nothing in WANDB_API_KEY or .netrc for this host:port",
        "`wandb-kit login` (or `wandb-kit login --bootstrap` on a fresh kit server)",
    ),
    Pitfall(
        "not-ready",
        "Server alive but not ready (migrations, database)",
        "/healthz answers, /ready does not; the UI or SDK get 502/503",
        "first boot or an upgrade is running database migrations, or the database is "
        "unreachable; an interrupted migration leaves 'Dirty database version N'",
        "wait for migrations (minutes; never interrupt them); if it stays not ready, read "
        "`wandb-kit logs wandb`; a dirty migration needs a restore from backup "
        "(`wandb-kit restore`)",
    ),
    Pitfall(
        "dirty-migration",
        "Interrupted database migration",
        "the server restarts or stays not ready; logs show 'Dirty database version'",
        "the container was stopped or killed while migrations ran",
        "restore the last backup (`wandb-kit restore`), then start it and let migrations "
        "finish; give the container memory and time (the kit's healthcheck allows 10 min)",
    ),
    Pitfall(
        "untrusted-cert",
        "TLS certificate not trusted by this client",
        "SSL: CERTIFICATE_VERIFY_FAILED from the SDK or requests",
        "a private CA (like Caddy's internal one) or a self-signed certificate that this "
        "machine does not trust",
        'export SSL_CERT_FILE=CA.pem REQUESTS_CA_BUNDLE=CA.pem (`eval "$(wandb-kit env)"`), '
        "or add the CA to the system store; the kit exports its internal CA to "
        "compose/certs/wandb-root-ca.crt",
    ),
    Pitfall(
        "sdk-version-range",
        "SDK outside the server's supported range",
        "`wandb verify` warns about the wandb version; newer SDK features fail on the server",
        "the server supports SDK versions min_cli_version..max_cli_version (serverInfo)",
        "pin the SDK into the range (pip install 'wandb<=MAX') or upgrade the server",
    ),
    Pitfall(
        "license-missing",
        "No license configured",
        "the server refuses to start or shows 'You need a license for this instance'",
        "current wandb/local releases need a license (free ones from W&B's Deploy Manager)",
        "get one at https://deploy.wandb.ai/deploy and set WANDB_LICENSE in .env, then "
        "`wandb-kit up`",
    ),
    Pitfall(
        "license-expiry",
        "License expiring or expired",
        "'You need to renew your license immediately'; after W&B's 3-day grace period the "
        "UI is locked for everyone (logging goes on)",
        "the license JWT's expiry date (expiresAt/exp) is near or past; the kit warns 30 "
        "and again 7 days ahead",
        "renew the license with W&B, put it in WANDB_LICENSE in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "license-seats",
        "The lab needs more seats than the license grants",
        "new users cannot be added or activated; SCIM answers 'Seat limit reached'",
        "the lab file lists more users than the license's maxUsers/seats claim",
        "ask W&B for more seats, or list fewer users (service accounts take no seat)",
    ),
    Pitfall(
        "license-unread",
        "License contents not readable here",
        "doctor cannot tell when the license expires or how many seats it grants",
        "the license is not a JWT with the claims the kit knows (expiresAt/exp, "
        "maxUsers/seats); W&B does not document them",
        "check expiry and seats in the System Console's License tab (/system-admin)",
    ),
    Pitfall(
        "oidc-discovery",
        "OIDC discovery document unreachable",
        "SSO login fails or the server logs OIDC errors at start; users cannot sign in",
        "W&B fetches $OIDC_ISSUER/.well-known/openid-configuration from inside its "
        "container: the issuer names a host that container cannot reach (localhost, a name "
        "only this machine resolves, a firewall) or a CA it does not trust",
        "set WANDB_OIDC_ISSUER to the provider's issuer under a name and port both this "
        "machine and the wandb container reach (`wandb-kit init --oidc-issuer URL`), then "
        "`wandb-kit up`",
    ),
    Pitfall(
        "oidc-issuer",
        "OIDC issuer differs from the provider's (trailing slash)",
        "login redirects back with an error; token validation fails on 'iss'",
        "the ID token's iss is the provider's exact issuer; a configured issuer that "
        "differs even by a trailing slash does not match",
        "copy `issuer` from the provider's discovery document exactly into "
        "`wandb-kit init --oidc-issuer URL`, then `wandb-kit up`",
    ),
    Pitfall(
        "oidc-method",
        "OIDC provider does not support the chosen method",
        "the provider rejects the login request (unsupported_response_type or invalid_request)",
        "pkce needs the code flow with S256 challenges; implicit (W&B's default) needs "
        "id_token responses with response_mode=form_post; W&B asks for openid profile email",
        "enable the flow at the provider for this client, or `wandb-kit init --oidc-method "
        "pkce|implicit` to the one it supports, then `wandb-kit up`",
    ),
    Pitfall(
        "oidc-redirect",
        "OIDC redirect URI to register",
        "the provider says the redirect_uri is not allowed (redirect_uri_mismatch)",
        "W&B sends users back to <HOST>/oidc/callback; the provider must know that URI",
        "register the redirect URI doctor prints for the client id at the provider",
    ),
    Pitfall(
        "arm-host",
        "ARM host",
        "the wandb/local image will not start or runs very slowly under emulation",
        "wandb/local is published for linux/amd64 only; W&B does not support ARM",
        "run the server on an x86_64 host (clients may be ARM)",
    ),
    Pitfall(
        "disk-low",
        "Disk nearly full",
        "uploads fail, the embedded MySQL stops, the server becomes unready",
        "runs, media and artifacts fill the Docker volume; W&B recommends >= 100 GB",
        "free space or move Docker's data root to a larger disk; `wandb-kit backup` first; "
        "then delete old runs/artifacts",
    ),
    Pitfall(
        "memory-low",
        "Too little memory",
        "the server is killed (OOM) and restarts; slow or unready UI",
        "wandb/local runs MySQL, MinIO, Redis and the app in one container; W&B recommends 8 GB",
        "give the host (and WANDB_MEMORY in .env) at least 8 GB",
    ),
    Pitfall(
        "volume-permissions",
        "Volume ownership or permissions",
        "'permission denied' on /vol/minio or /vol/mysql, 'chmod: changing permissions of "
        "/vol/env' in the logs",
        "the data volume was copied or bind-mounted with another owner; wandb/local runs as "
        "UID 999 and needs group 0",
        "fix ownership inside the volume: `docker run --rm -v VOLUME:/vol debian:bookworm-slim "
        "sh -c 'chown -R 999:0 /vol && chmod -R g+rwX /vol'`, then `wandb-kit up`",
    ),
    Pitfall(
        "container-restarts",
        "Server container restarting",
        "the server comes and goes; requests fail intermittently",
        "the process crashes (often out of memory: OOMKilled) and Docker restarts it",
        "read the last log lines below (`wandb-kit logs wandb`); if OOMKilled, raise "
        "WANDB_MEMORY in .env and `wandb-kit up`",
    ),
    Pitfall(
        "stack-not-running",
        "The kit's stack is not running",
        "connection refused on the W&B port",
        "the compose project is stopped (or was never started) on this machine",
        "`wandb-kit up` (and `wandb-kit status` to see the services)",
    ),
    Pitfall(
        "unreachable",
        "Server unreachable from this client",
        "connection refused / timed out / host not found",
        "wrong URL or port, a firewall, or the server is down",
        "check the URL (`wandb-kit env`), that the server runs, and the network path; on the "
        "server, WANDB_BIND=0.0.0.0 for other machines",
    ),
    Pitfall(
        "bind-loopback",
        "Published on loopback only but named for the network",
        "the server works on its own machine, other machines get 'connection refused'",
        "WANDB_BIND=127.0.0.1 publishes the port on loopback only, while WANDB_HOST names "
        "another address",
        "set WANDB_BIND=0.0.0.0 (or the LAN address) in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "clock-skew",
        "Clock offset between client and server",
        "403 'RequestTimeTooSkewed' or expired signatures on uploads",
        "presigned URLs carry a time; S3/MinIO reject requests more than 15 min off",
        "run NTP (chrony/systemd-timesyncd) on the server, storage and clients",
    ),
    Pitfall(
        "admin-api-on",
        "Admin API key access still enabled",
        "anyone with the admin key from .env has full admin rights over the API",
        "WANDB_ADMIN_API_ENABLED=true is for the headless first-user bootstrap only",
        "once the first user exists: WANDB_ADMIN_API_ENABLED=false in .env, then `wandb-kit up`",
    ),
    Pitfall(
        "bucket-controls",
        "Bucket versioning, object lock, lifecycle rules or a foreign CORS rule",
        "deleting runs and artifacts frees no disk space; objects cannot be deleted; files "
        "vanish after some days; another site's pages can use the bucket",
        "W&B's key needs write access to its bucket, and most S3 stores let that key (or "
        "anyone with the admin's) turn these bucket settings on; versioning and "
        "COMPLIANCE object lock cannot be undone",
        "the finding names the setting and the admin command that clears it; the bundled "
        "SeaweedFS denies W&B's key these changes with a bucket policy set by storage-init",
    ),
]
PITFALL = {p.id: p for p in PITFALLS}


@dataclass
class Finding:
    pitfall: str
    severity: str
    checked: str
    found: str
    fix: str = ""  # specific fix; the pitfall's generic one when empty

    def render(self) -> str:
        p = PITFALL[self.pitfall]
        return "\n".join(
            [
                f"[{self.severity.upper()}] {p.title} ({p.id})",
                f"  checked: {self.checked}",
                f"  found:   {self.found}",
                f"  symptom: {p.symptom}",
                f"  cause:   {p.cause}",
                f"  fix:     {self.fix or p.fix}",
            ]
        )


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

    @property
    def stack_running(self) -> bool:
        return any(s.get("State") == "running" for s in self.services or [])


@dataclass
class Evidence:
    target: client.Target
    report: health.Report
    local: LocalFacts
    values: dict[str, str]


Detector = Callable[[Evidence], "Finding | None"]
DETECTORS: dict[str, Detector] = {}


def detector(pitfall_id: str):
    def register(fn: Detector) -> Detector:
        assert pitfall_id in PITFALL, pitfall_id
        DETECTORS[pitfall_id] = fn
        return fn

    return register


def _layer(ev: Evidence, name: str) -> health.Layer | None:
    return ev.report.layer(name)


def _published_port(values: dict[str, str]) -> int | None:
    key = "WANDB_PORT" if values.get("WANDB_TLS", "off") == "off" else "WANDB_HTTPS_PORT"
    try:
        return int(values.get(key, ""))
    except ValueError:
        return None


def _port_of(url: str) -> int:
    p = urlsplit(url)
    return p.port or (443 if p.scheme == "https" else 80)


# --- detectors --------------------------------------------------------------------------------


@detector("host-mismatch")
def _host_mismatch(ev: Evidence) -> Finding | None:
    used = ev.target.origin
    fix = (
        f"set WANDB_HOST={used} in .env (the URL you use), then `wandb-kit up`; or reach "
        "the server at its HOST everywhere"
    )
    versions = _layer(ev, "versions")
    front = (versions.facts.get("frontend_host") if versions else None) or ""
    if front and urlsplit(front).scheme not in ("http", "https"):
        # HOST without a scheme (e.g. `wandb.lab:8080`): the server builds broken
        # upload URLs from it. Exactly the mistake to name, never a reason to abort.
        return Finding(
            "host-mismatch",
            FAIL,
            "the server's HOST (serverInfo.frontendHost)",
            f"HOST is {front!r}, without http:// or https://; clients use {ev.target.url}",
            f"set WANDB_HOST={used} in .env (scheme, host and port), then `wandb-kit up`",
        )
    if front and front.rstrip("/") != ev.target.url:
        front_origin = "{0.scheme}://{0.netloc}".format(urlsplit(front))
        if front_origin != used:
            return Finding(
                "host-mismatch",
                FAIL,
                "the server's HOST (serverInfo.frontendHost) against the URL this client uses",
                f"HOST is {front}, you reach the server at {ev.target.url}",
                fix,
            )
    signed = _layer(ev, "signed-url")
    if signed and signed.facts.get("upload_netloc"):
        up = signed.facts.get("upload_url", "")
        served_by_wandb = urlsplit(up).path.startswith("/local-files/")
        if served_by_wandb and signed.facts["upload_netloc"] != ev.target.netloc:
            return Finding(
                "host-mismatch",
                FAIL,
                "the host of the signed upload URL the server handed out",
                f"uploads go to {signed.facts['upload_netloc']} (HOST), you reach the server "
                f"at {ev.target.netloc}"
                + (f"; upload failed ({signed.detail})" if signed.status == health.FAIL else ""),
                fix,
            )
    host = ev.values.get("WANDB_HOST")
    if (
        host
        and ev.local.stack_running
        and _published_port(ev.values) == _port_of(ev.target.url)
        and client.normalize_url(host) != ev.target.url
    ):
        return Finding(
            "host-mismatch",
            FAIL,
            "WANDB_HOST in .env against the URL this client uses for the same port",
            f".env says {host}, you reach the server at {ev.target.url}",
            fix,
        )
    return None


@detector("bucket-unreachable")
def _bucket_unreachable(ev: Evidence) -> Finding | None:
    signed = _layer(ev, "signed-url")
    if (
        signed
        and signed.status == health.FAIL
        and (signed.facts.get("upload_error") or signed.facts.get("download_error"))
    ):
        up = signed.facts.get("upload_url") or signed.facts.get("download_url") or ""
        if not urlsplit(up).path.startswith("/local-files/"):
            host = urlsplit(up).netloc
            return Finding(
                "bucket-unreachable",
                FAIL,
                "upload through the signed URL the server handed out",
                f"this client cannot reach the bucket at {host} ({signed.detail})",
                f"set WANDB_BUCKET_PUBLIC_URL to a URL clients reach (not {host}), then "
                "`wandb-kit init && wandb-kit up`",
            )
    if ev.local.bucket_error:
        host = urlsplit(ev.local.bucket_url).netloc
        return Finding(
            "bucket-unreachable",
            FAIL,
            f"reaching WANDB_BUCKET_PUBLIC_URL ({ev.local.bucket_url}) from this machine",
            f"{host}: {ev.local.bucket_error}",
            "",
        )
    return None


@detector("cors-missing")
def _cors(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "cors")
    if ly and ly.status in (health.WARN, health.FAIL) and "no CORS" in ly.detail:
        return Finding(
            "cors-missing",
            WARN,
            f"CORS preflight (OPTIONS, Origin {ev.target.origin}) on the storage URL",
            ly.detail,
        )
    return None


@detector("body-limit")
def _body_limit(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "large-post")
    if ly and ly.status == health.FAIL:
        return Finding(
            "body-limit", FAIL, "a 10 MB GraphQL POST (as `wandb verify` sends)", ly.detail
        )
    return None


@detector("wrong-key")
def _wrong_key(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "viewer")
    if ly and ly.status == health.FAIL and ly.facts.get("status_code") == 401:
        return Finding(
            "wrong-key",
            FAIL,
            f"GraphQL viewer with the key from {ev.report.key_source}",
            "the server answered 401 Unauthorized",
            f"get a key at {ev.target.origin}/authorize and run `wandb-kit login`",
        )
    return None


@detector("no-key")
def _no_key(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "viewer")
    if ly and ly.status == health.WARN and not ev.report.key_source:
        return Finding(
            "no-key",
            WARN,
            f"WANDB_API_KEY and .netrc (machine {ev.target.netloc})",
            "no API key for this server",
        )
    return None


@detector("not-ready")
def _not_ready(ev: Evidence) -> Finding | None:
    hz, rd = _layer(ev, "healthz"), _layer(ev, "ready")
    if hz and rd and hz.status == health.OK and rd.status == health.FAIL:
        return Finding("not-ready", FAIL, "GET /healthz and GET /ready", f"alive, but {rd.detail}")
    return None


@detector("dirty-migration")
def _dirty(ev: Evidence) -> Finding | None:
    m = re.search(r"[Dd]irty database version \d+", ev.local.logs)
    if m:
        return Finding(
            "dirty-migration", FAIL, "the wandb service's last log lines", f"'{m.group(0)}'"
        )
    return None


@detector("untrusted-cert")
def _untrusted(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "tls")
    if ly and ly.status == health.FAIL and "not trusted" in ly.detail:
        return Finding("untrusted-cert", FAIL, f"TLS handshake with {ev.target.netloc}", ly.detail)
    if ly and ly.status == health.WARN:
        return Finding(
            "untrusted-cert", WARN, f"certificate of {ev.target.netloc}", ly.detail, ly.fix
        )
    return None


@detector("sdk-version-range")
def _versions(ev: Evidence) -> Finding | None:
    ly = _layer(ev, "versions")
    if ly and ly.status == health.WARN:
        return Finding(
            "sdk-version-range",
            WARN,
            "the installed wandb SDK against serverInfo.cliVersionInfo",
            ly.detail,
            ly.fix,
        )
    return None


@detector("license-missing")
def _license(ev: Evidence) -> Finding | None:
    if ev.values and not ev.values.get("WANDB_LICENSE"):
        return Finding("license-missing", WARN, "WANDB_LICENSE in .env", "it is empty")
    return None


def _license_layer(ev: Evidence) -> health.Layer | None:
    return _layer(ev, "license")


@detector("license-expiry")
def _license_expiry(ev: Evidence) -> Finding | None:
    ly = _license_layer(ev)
    status = ly.facts.get("expiry_status") if ly else None
    if ly is None or status not in (health.WARN, health.FAIL):
        return None
    return Finding(
        "license-expiry",
        FAIL if status == health.FAIL else WARN,
        "the expiry date in WANDB_LICENSE (read offline, signature not checked)",
        ly.facts["expiry_detail"],
    )


@detector("license-seats")
def _license_seats(ev: Evidence) -> Finding | None:
    ly = _license_layer(ev)
    f = ly.facts if ly else {}
    if f.get("seats") is None or f.get("lab_users") is None or f["lab_users"] <= f["seats"]:
        return None
    return Finding(
        "license-seats",
        WARN,
        "users in the lab file against the seats in WANDB_LICENSE",
        f"{f['lab_users']} users listed, {f['seats']} seats granted",
    )


@detector("license-unread")
def _license_unread(ev: Evidence) -> Finding | None:
    ly = _license_layer(ev)
    if ly is None or not ly.facts.get("unread"):
        return None
    return Finding("license-unread", NOTE, "WANDB_LICENSE's payload", "; ".join(ly.facts["unread"]))


@detector("oidc-discovery")
def _oidc_discovery(ev: Evidence) -> Finding | None:
    bad = [d for d in ev.local.oidc.fetched if d.checked and d.doc is None]
    if not bad:
        return None
    where = ", ".join(d.where for d in ev.local.oidc.fetched if d.checked)
    fix = ""
    if [d.where for d in bad] == ["the wandb container"]:
        fix = (
            "this machine reaches the provider, the wandb container does not: use a name "
            "and port the container reaches too (not localhost, which is the container "
            "itself), set it with `wandb-kit init --oidc-issuer URL`, then `wandb-kit up`"
        )
    return Finding(
        "oidc-discovery",
        FAIL,
        f"GET {bad[0].url} from {where}",
        "; ".join(f"from {d.where}: {d.error}" for d in bad),
        fix,
    )


@detector("oidc-issuer")
def _oidc_issuer(ev: Evidence) -> Finding | None:
    o = ev.local.oidc
    doc = o.document()
    why = sso.issuer_mismatch(o.issuer, doc) if doc is not None else ""
    if not why or doc is None:  # a mismatch needs a document
        return None
    found = doc.get("issuer") if isinstance(doc.get("issuer"), str) else ""
    return Finding(
        "oidc-issuer",
        FAIL,
        "the discovery document's issuer against WANDB_OIDC_ISSUER, exactly",
        why,
        f"`wandb-kit init --oidc-issuer {found}`, then `wandb-kit up`" if found else "",
    )


@detector("oidc-method")
def _oidc_method(ev: Evidence) -> Finding | None:
    o = ev.local.oidc
    doc = o.document()
    if doc is None:
        return None
    gaps = sso.method_gaps(o.method, doc)
    scopes = sso.missing_scopes(doc)
    if scopes:
        gaps.append(f"scopes W&B requests are not listed: {', '.join(scopes)}")
    if not gaps:
        return None
    unsupported = any("not supported" in g for g in gaps)
    return Finding(
        "oidc-method",
        FAIL if unsupported else WARN,
        f"the discovery document against WANDB_OIDC_AUTH_METHOD={o.method}",
        "; ".join(gaps),
    )


@detector("oidc-redirect")
def _oidc_redirect(ev: Evidence) -> Finding | None:
    o = ev.local.oidc
    if not o.issuer:
        return None
    skipped = [d for d in o.fetched if not d.checked]
    found = f"register {o.redirect_uri} for client {ev.values.get(sso.CLIENT_ID, '?')}"
    if skipped:
        found += f" (not checked from {skipped[0].where}: {skipped[0].error})"
    return Finding("oidc-redirect", NOTE, "WANDB_HOST and WANDB_OIDC_* in .env", found)


@detector("arm-host")
def _arm(ev: Evidence) -> Finding | None:
    arch = ev.local.arch.lower()
    if ev.values and arch and arch not in ("x86_64", "amd64"):
        return Finding(
            "arm-host",
            WARN,
            "this machine's architecture (it runs the stack)",
            f"{ev.local.arch}, not x86_64",
        )
    return None


@detector("disk-low")
def _disk(ev: Evidence) -> Finding | None:
    free, total = ev.local.disk_free, ev.local.disk_total
    if free is None or not total:
        return None
    share = free / total
    where = f"free space on {ev.local.disk_path} (Docker's volumes)"
    found = f"{free / GIB:.1f} GiB free of {total / GIB:.0f} GiB ({share:.0%})"
    if free < 2 * GIB or share < 0.02:
        return Finding("disk-low", FAIL, where, found)
    if free < 10 * GIB or share < 0.10:
        return Finding("disk-low", WARN, where, found)
    return None


@detector("memory-low")
def _memory(ev: Evidence) -> Finding | None:
    mem = ev.local.memory
    if ev.values and mem is not None and mem < 4 * GIB:
        return Finding("memory-low", WARN, "this machine's memory", f"{mem / GIB:.1f} GiB")
    return None


_PERMISSION = re.compile(
    r"(permission denied|operation not permitted|chmod: changing permissions)", re.I
)


@detector("volume-permissions")
def _permissions(ev: Evidence) -> Finding | None:
    for line in ev.local.logs.splitlines():
        if _PERMISSION.search(line) and "/vol" in line:
            return Finding(
                "volume-permissions",
                FAIL,
                "the wandb service's last log lines",
                line.strip()[-300:],
            )
    return None


@detector("container-restarts")
def _restarts(ev: Evidence) -> Finding | None:
    bad = {s: n for s, n in ev.local.restarts.items() if n > 0}
    states = {s.get("Service"): s.get("State") for s in ev.local.services or []}
    restarting = [s for s, st in states.items() if st == "restarting"]
    if not bad and not restarting:
        return None
    oom = [s for s, v in ev.local.oom_killed.items() if v]
    parts = [f"{s} restarted {n} time(s)" for s, n in bad.items()]
    parts += [f"{s} is restarting now" for s in restarting if s not in bad]
    if oom:
        parts.append(f"OOMKilled: {', '.join(oom)}")
    tail = [ln for ln in ev.local.logs.strip().splitlines() if ln.strip()][-5:]
    found = "; ".join(parts) + ("\n  last log lines:\n    " + "\n    ".join(tail) if tail else "")
    fix = (
        "raise WANDB_MEMORY in .env (the container ran out of memory), then `wandb-kit up`"
        if oom
        else ""
    )
    return Finding(
        "container-restarts",
        FAIL if restarting or oom else WARN,
        "the compose project's containers (docker inspect)",
        found,
        fix,
    )


@detector("stack-not-running")
def _stack(ev: Evidence) -> Finding | None:
    tcp = _layer(ev, "tcp")
    if (
        ev.values
        and ev.target.is_local_stack
        and tcp is not None
        and tcp.status == health.FAIL
        and ev.local.services is not None
        and not ev.local.stack_running
    ):
        stopped = (
            ", ".join(f"{s.get('Service')} {s.get('State')}" for s in ev.local.services)
            or "no containers"
        )
        return Finding(
            "stack-not-running",
            FAIL,
            f"compose project {ev.values.get('COMPOSE_PROJECT_NAME', 'wandb')}",
            stopped,
        )
    return None


@detector("unreachable")
def _unreachable(ev: Evidence) -> Finding | None:
    tcp = _layer(ev, "tcp")
    if tcp and tcp.status == health.FAIL and _stack(ev) is None:
        return Finding(
            "unreachable", FAIL, f"TCP connect to {ev.target.netloc}", tcp.detail, tcp.fix
        )
    return None


@detector("bind-loopback")
def _bind(ev: Evidence) -> Finding | None:
    v = ev.values
    host = urlsplit(v.get("WANDB_HOST", "")).hostname or ""
    if v and net.is_loopback(v.get("WANDB_BIND")) and host and not net.is_loopback(host):
        return Finding(
            "bind-loopback",
            WARN,
            "WANDB_BIND and WANDB_HOST in .env",
            f"WANDB_BIND={v['WANDB_BIND']}, WANDB_HOST names {host}",
        )
    return None


@detector("clock-skew")
def _clock(ev: Evidence) -> Finding | None:
    hz = _layer(ev, "healthz")
    if not hz or not hz.facts.get("date"):
        return None
    try:
        server = parsedate_to_datetime(hz.facts["date"]).timestamp()
    except (TypeError, ValueError):
        return None
    skew = server - hz.facts.get("local_time", time.time())
    if abs(skew) < 60:
        return None
    sev = FAIL if abs(skew) > 900 else WARN
    return Finding(
        "clock-skew",
        sev,
        "the server's Date header against this machine's clock",
        f"the server's clock is {skew:+.0f} s off this machine's",
    )


@detector("admin-api-on")
def _admin_api(ev: Evidence) -> Finding | None:
    if ev.values.get("WANDB_ADMIN_API_ENABLED") == "true":
        return Finding("admin-api-on", NOTE, "WANDB_ADMIN_API_ENABLED in .env", "true")
    return None


@detector("own-storage")
def _own_storage(ev: Evidence) -> Finding | None:
    bad = [c for c in ev.local.own_storage if c.status != "ok"]
    if not bad:
        return None
    return Finding(
        "own-storage",
        FAIL if any(c.status == "fail" for c in bad) else WARN,
        "your MySQL / bucket from .env: " + ", ".join(c.name for c in bad),
        "; ".join(c.detail for c in bad),
        "; ".join(c.fix for c in bad if c.fix),
    )


@detector("bucket-controls")
def _bucket_controls(ev: Evidence) -> Finding | None:
    bad = [c for c in ev.local.bucket_controls if c.status != "ok"]
    if not bad:
        return None
    return Finding(
        "bucket-controls",
        FAIL if any(c.status == "fail" for c in bad) else WARN,
        "W&B's bucket, read with W&B's key: " + ", ".join(c.name for c in bad),
        "; ".join(c.detail for c in bad),
        "; ".join(c.fix for c in bad if c.fix),
    )


def diagnose(ev: Evidence) -> list[Finding]:
    out = []
    for fn in DETECTORS.values():
        f = fn(ev)
        if f is not None:
            out.append(f)
    order = {FAIL: 0, WARN: 1, NOTE: 2}
    return sorted(out, key=lambda f: order[f.severity])


# --- observing this machine ---------------------------------------------------------------------


def _reach(url: str, timeout: float = 3.0) -> str | None:
    result = net.reach(url, timeout)
    return None if result.ok else result.detail


def _bucket_controls_of(target: client.Target, timeout: float) -> list:
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


# --- the command --------------------------------------------------------------------------------


def render_markdown() -> str:
    """The README's Troubleshooting table, rendered from PITFALLS."""
    rows = [
        "| pitfall | symptom | cause | fix |",
        "|---|---|---|---|",
    ]
    for p in PITFALLS:
        cells = [f"**{p.title}** (`{p.id}`)", p.symptom, p.cause, p.fix]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


DOCTOR_EXIT_CODES = """\
exit codes of doctor:
  0    no problem found (notes only)
  1    warnings only
  2    at least one failure found
  3    server unreachable"""


def exit_code(findings: list[Finding], report: health.Report) -> int:
    if report.exit_code == EXIT_UNREACHABLE:
        return EXIT_UNREACHABLE
    if any(f.severity == FAIL for f in findings) or report.exit_code == EXIT_USAGE:
        return EXIT_USAGE
    if any(f.severity == WARN for f in findings) or report.exit_code == EXIT_FAILED:
        return EXIT_FAILED
    return EXIT_OK


@dataclass
class Examination:
    report: health.Report
    local: LocalFacts
    findings: list[Finding]
    exit_code: int
    secrets: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "health": self.report.to_json(),
            "local": {k: v for k, v in asdict(self.local).items() if k != "logs"},
            "compose_error": self.local.compose_error,
            "findings": [
                {
                    **asdict(f),
                    **{k: getattr(PITFALL[f.pitfall], k) for k in ("title", "symptom", "cause")},
                    "fix": f.fix or PITFALL[f.pitfall].fix,
                }
                for f in self.findings
            ],
            "exit_code": self.exit_code,
        }


def examine(
    deployment: Deployment,
    target: client.Target,
    deep: bool = True,
    timeout: float = 10.0,
    lab_users: int | None = None,
    lab_file: str = "",
) -> Examination:
    """health (deep by default), this machine and the compose project, then every
    pitfall the evidence shows. lab_users: how many users a lab file lists (seats)."""
    key, key_source = client.find_key(target)
    report = health.run(target, key, key_source, deep=deep, timeout=timeout)
    if target.values:
        report.layers.append(health.check_license(target.values, lab_users, lab_file))
    local = observe_local(deployment, target.values)
    local.bucket_controls = _bucket_controls_of(target, timeout)
    findings = diagnose(Evidence(target, report, local, target.values))
    secrets = tuple(s for s in (key, *deployment.secrets) if s)
    return Examination(report, local, findings, exit_code(findings, report), secrets)
