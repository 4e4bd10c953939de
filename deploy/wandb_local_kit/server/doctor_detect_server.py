"""doctor's detectors of the server's answers: the API key, readiness and migrations, TLS
trust, the SDK's supported range, the server's clock."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

from wandb_local_kit.server import health
from wandb_local_kit.server.doctor_catalogue import FAIL, WARN
from wandb_local_kit.server.doctor_findings import Evidence, Finding, detector, layer


@detector("wrong-key")
def _wrong_key(ev: Evidence) -> Finding | None:
    ly = layer(ev, "viewer")
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
    ly = layer(ev, "viewer")
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
    hz, rd = layer(ev, "healthz"), layer(ev, "ready")
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
    ly = layer(ev, "tls")
    if ly and ly.status == health.FAIL and "not trusted" in ly.detail:
        return Finding("untrusted-cert", FAIL, f"TLS handshake with {ev.target.netloc}", ly.detail)
    if ly and ly.status == health.WARN:
        return Finding(
            "untrusted-cert", WARN, f"certificate of {ev.target.netloc}", ly.detail, ly.fix
        )
    return None


@detector("sdk-version-range")
def _versions(ev: Evidence) -> Finding | None:
    ly = layer(ev, "versions")
    if ly and ly.status == health.WARN:
        return Finding(
            "sdk-version-range",
            WARN,
            "the installed wandb SDK against serverInfo.cliVersionInfo",
            ly.detail,
            ly.fix,
        )
    return None


@detector("clock-skew")
def _clock(ev: Evidence) -> Finding | None:
    hz = layer(ev, "healthz")
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
