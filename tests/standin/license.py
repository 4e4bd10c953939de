"""License tiers of the stand-in: what works without an Enterprise license.

wandb/local reads its license from `LICENSE`, a JWT. W&B documents that SCIM, service
accounts, the View-Only team role and custom roles are Enterprise features on Self-Managed
servers ("Without an Enterprise license, Enterprise features are unavailable"); users,
teams with Admin/Member roles, invites and project permissions work on every tier.

The claim names W&B uses are not published (W&B documents none; third-party decoders of
its license tokens disagree), so the stand-in
reads the payload (no signature check) by this test convention:

    {"flags": ["enterprise", ...], "maxUsers": N, "expiresAt": "RFC3339"}

`enterprise` in `flags` is the Enterprise tier; `maxUsers` caps active users ("Seat limit
reached"); no license, or one without the flag, is the free tier.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    enterprise: bool
    max_users: int | None


def claims(token: str | None) -> dict:
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def tier(settings) -> Tier:
    c = claims(getattr(settings, "license", None))
    flags = [str(f).lower() for f in c.get("flags") or []]
    seats = c.get("maxUsers", c.get("seats"))
    return Tier(enterprise="enterprise" in flags, max_users=int(seats) if seats else None)


ENTERPRISE_ONLY = (
    "{what} needs an Enterprise license on a Self-Managed W&B server "
    "(this server's license has no Enterprise entitlement)"
)
