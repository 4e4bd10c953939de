"""doctor's detectors of the license (missing, expiry, seats, unreadable) and of SSO's
OIDC provider (discovery, issuer, method, redirect URI)."""

from __future__ import annotations

from wandb_local_kit.server import health, sso
from wandb_local_kit.server.doctor_catalogue import FAIL, NOTE, WARN
from wandb_local_kit.server.doctor_findings import Evidence, Finding, detector, layer


@detector("license-missing")
def _license(ev: Evidence) -> Finding | None:
    if ev.values and not ev.values.get("WANDB_LICENSE"):
        return Finding("license-missing", WARN, "WANDB_LICENSE in .env", "it is empty")
    return None


def _license_layer(ev: Evidence) -> health.Layer | None:
    return layer(ev, "license")


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
