"""doctor's detectors of the addresses in the kit's settings: HOST against the URL clients
use, the bucket's URL and CORS, a proxy's body limit, the bind address, the admin API."""

from __future__ import annotations

from urllib.parse import urlsplit

from wandb_local_kit.core import net
from wandb_local_kit.server import client, health
from wandb_local_kit.server.doctor_catalogue import FAIL, NOTE, WARN
from wandb_local_kit.server.doctor_findings import Evidence, Finding, detector, layer


def _published_port(values: dict[str, str]) -> int | None:
    key = "WANDB_PORT" if values.get("WANDB_TLS", "off") == "off" else "WANDB_HTTPS_PORT"
    try:
        return int(values.get(key, ""))
    except ValueError:
        return None


def _port_of(url: str) -> int:
    p = urlsplit(url)
    return p.port or (443 if p.scheme == "https" else 80)


@detector("host-mismatch")
def _host_mismatch(ev: Evidence) -> Finding | None:
    used = ev.target.origin
    fix = (
        f"set WANDB_HOST={used} in .env (the URL you use), then `wandb-kit up`; or reach "
        "the server at its HOST everywhere"
    )
    versions = layer(ev, "versions")
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
    signed = layer(ev, "signed-url")
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
    signed = layer(ev, "signed-url")
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
    ly = layer(ev, "cors")
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
    ly = layer(ev, "large-post")
    if ly and ly.status == health.FAIL:
        return Finding(
            "body-limit", FAIL, "a 10 MB GraphQL POST (as `wandb verify` sends)", ly.detail
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


@detector("admin-api-on")
def _admin_api(ev: Evidence) -> Finding | None:
    if ev.values.get("WANDB_ADMIN_API_ENABLED") == "true":
        return Finding("admin-api-on", NOTE, "WANDB_ADMIN_API_ENABLED in .env", "true")
    return None
