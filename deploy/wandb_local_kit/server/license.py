"""What the W&B license the kit was given says, as far as it can be read offline.

A wandb/local license is a JWT (LICENSE / WANDB_LICENSE). Its payload is plain
base64url JSON, so expiry and seats can be read without W&B's key; the signature is
NOT checked (the server does that with its baked-in key). The claim names below come
from a third-party open-source decoder of W&B licenses; W&B publishes none (its page
docs.wandb.ai/platform/hosting/enterprise-licenses says only where a license goes):
`expiresAt` (RFC 3339) or `exp` (unix seconds), `maxUsers`/`seats`,
`maxViewOnlyUsers`/`viewOnlySeats`, `maxTeams`/`teams`, `trial`, `flags`,
`deploymentId`. Whatever is absent or of another shape is reported as unread, never
guessed, and nothing here raises on a malformed license. Nor is a value that cannot mean
what the kit would make of it: an expiry before W&B existed (a claim in another
unit would give one, and a false "expired") and a seat count of 0 (a server with no
users; 0 may well mean "no limit") are unread too (docs/assumptions.md).

Expiry: W&B's UI locks 3 days after expiry (logging goes on); W&B warns customers 30
days ahead. The kit warns at 30 days, again (louder) at 7, and fails once expired.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from wandb_local_kit.core import files

WARN_DAYS = 30
URGENT_DAYS = 7
GRACE_DAYS = 3  # W&B's grace period after expiry, then the UI locks

_EXPIRY_CLAIMS = ("expiresAt", "exp")
_SEAT_CLAIMS = ("maxUsers", "seats")
_VIEWER_CLAIMS = ("maxViewOnlyUsers", "viewOnlySeats")
_TEAM_CLAIMS = ("maxTeams", "teams")
# No W&B license expired before W&B existed (founded 2017): an earlier date is a claim of
# another meaning or unit (days, say, read as seconds), not an expiry.
_EARLIEST_EXPIRY = datetime(2017, 1, 1, tzinfo=timezone.utc)


@dataclass
class LicenseInfo:
    """What could be read (None: not read) and, in words, what could not."""

    readable: bool = False  # the payload decoded to a JSON object
    expires: datetime | None = None
    seats: int | None = None
    view_only_seats: int | None = None
    teams: int | None = None
    trial: bool | None = None
    flags: list[str] = field(default_factory=list)
    deployment_id: str = ""
    unread: list[str] = field(default_factory=list)

    def facts(self) -> dict:
        return {
            "readable": self.readable,
            "expires": self.expires.isoformat() if self.expires else None,
            "seats": self.seats,
            "view_only_seats": self.view_only_seats,
            "teams": self.teams,
            "trial": self.trial,
            "flags": self.flags,
            "deployment_id": self.deployment_id,
            "unread": self.unread,
        }


_TOO_DEEP = object()  # a payload too deep for the JSON reader itself


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parse(token: str) -> LicenseInfo:
    """Reads a license's payload; a license of unknown format gives readable=False
    and the reason in unread."""
    info = LicenseInfo()
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        info.unread.append(
            "everything: the license is not a JWT (three dot-separated base64url parts), "
            "so its expiry and seats cannot be read here; the server may still accept it"
        )
        return info
    try:
        payload = json.loads(_b64url(parts[1]))
    except RecursionError:
        payload = _TOO_DEEP
    except (binascii.Error, ValueError, UnicodeDecodeError):
        info.unread.append("everything: the license's payload is not base64url-encoded JSON")
        return info
    if payload is _TOO_DEEP or files.depth_problem(payload):
        info.unread.append(
            f"everything: the license's payload nests lists or mappings more than "
            f"{files.MAX_DEPTH} levels deep, which no license does; it is not a W&B license"
        )
        return info
    if not isinstance(payload, dict):
        info.unread.append("everything: the license's payload is not a JSON object")
        return info
    info.readable = True
    info.expires = _expiry(payload, info.unread)
    info.seats = _count(payload, _SEAT_CLAIMS, "seats", info.unread)
    if info.seats == 0:
        info.seats = None
        info.unread.append("seats: the claim is 0, which may mean no limit; not judged")
    info.view_only_seats = _count(payload, _VIEWER_CLAIMS, "view-only seats", info.unread)
    info.teams = _count(payload, _TEAM_CLAIMS, "team limit", info.unread)
    trial = payload.get("trial")
    info.trial = trial if isinstance(trial, bool) else None
    flags = payload.get("flags")
    info.flags = [f for f in flags if isinstance(f, str)] if isinstance(flags, list) else []
    dep = payload.get("deploymentId")
    info.deployment_id = dep if isinstance(dep, str) else ""
    return info


def _expiry(payload: dict, unread: list[str]) -> datetime | None:
    when = _expiry_claim(payload)
    if when is not None and when < _EARLIEST_EXPIRY:
        unread.append(
            f"expiry: the claim reads as {when.date().isoformat()}, before W&B existed: "
            "a claim of another meaning or unit, not judged"
        )
        return None
    if when is None:
        unread.append("expiry: no readable expiresAt (RFC 3339) or exp (unix time) claim")
    return when


def _expiry_claim(payload: dict) -> datetime | None:
    raw = payload.get("expiresAt")
    if isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    raw = payload.get("exp")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw, timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    return None


def _count(payload: dict, names: tuple[str, ...], what: str, unread: list[str]) -> int | None:
    for name in names:
        value = payload.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    unread.append(f"{what}: no {' or '.join(names)} claim holding a whole number")
    return None


def days_left(info: LicenseInfo, now: datetime) -> float | None:
    if info.expires is None:
        return None
    return (info.expires - now).total_seconds() / 86400


@dataclass(frozen=True)
class Verdict:
    """One statement about the license: severity ok|warn|fail, what, and the fix."""

    status: str
    detail: str
    fix: str = ""


RENEW = (
    "renew the license with W&B (Deploy Manager / your account team), put the new one "
    "in WANDB_LICENSE in .env, then `wandb-kit up`"
)


def judge_expiry(info: LicenseInfo, now: datetime) -> Verdict | None:
    left = days_left(info, now)
    if left is None or info.expires is None:  # None together
        return None
    day = info.expires.date().isoformat()
    if left < 0:
        locked = -left > GRACE_DAYS
        return Verdict(
            "fail",
            f"the license expired on {day}"
            + (
                f": past W&B's {GRACE_DAYS}-day grace period, the UI is locked (logging goes on)"
                if locked
                else f"; W&B's {GRACE_DAYS}-day grace period ends, then the UI locks"
            ),
            RENEW,
        )
    if left <= URGENT_DAYS:
        return Verdict(
            "warn", f"the license expires on {day}, in {left:.0f} day(s): renew now", RENEW
        )
    if left <= WARN_DAYS:
        return Verdict("warn", f"the license expires on {day}, in {left:.0f} days", RENEW)
    return Verdict("ok", f"expires on {day}, in {left:.0f} days")


def judge_seats(info: LicenseInfo, wanted: int | None, lab_file: str = "") -> Verdict | None:
    if wanted is None or info.seats is None:
        return None
    if wanted > info.seats:
        return Verdict(
            "warn",
            f"the lab file {lab_file} lists {wanted} users, the license grants {info.seats} seats",
            "ask W&B for more seats, or list fewer users (service accounts take no seat)",
        )
    return Verdict("ok", f"{wanted} users in {lab_file} fit the license's {info.seats} seats")


class LabFileError(ValueError):
    """The lab file could not be read or has no users list."""


def count_users(path: Path) -> int:
    """How many people a lab file (YAML, a top-level `users:` list, or a mapping keyed
    by user) lists. Only the count: the file itself is `people`' business. Read through
    the door: a file that is no regular file, not UTF-8 or too large raises its KitError."""
    import yaml

    text = files.read_text(path, "the lab file")
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise LabFileError(files.too_deep("the lab file", path).problem) from None
    except yaml.YAMLError as err:
        raise LabFileError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if files.depth_problem(data):
        raise LabFileError(files.too_deep("the lab file", path).problem)
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list | dict):
        raise LabFileError(f"{path} has no top-level `users:` list")
    return len(users)
