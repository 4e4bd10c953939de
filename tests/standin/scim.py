"""W&B's SCIM API at /scim/Users and /scim/Groups (teams), as documented for Self-Managed.

Source: W&B's SCIM API page, https://docs.wandb.ai/guides/hosting/iam/scim/. An
Enterprise feature: without an Enterprise license every call is 403 (what an unlicensed
wandb/local answers is not documented; 403 is the stand-in's choice). Callers: instance
admins, by `Authorization: Basic base64(user:KEY)`, `Basic base64(:KEY)` or `Bearer KEY`.
Deactivation (`active: false`) keeps the user's record and runs; the user can no longer
sign in. Deleting a team is not supported, as documented.
"""

from __future__ import annotations

import re
from typing import Any

from . import auth
from .license import ENTERPRISE_ONLY, tier
from .resolvers.base import decode_id, encode_id, entity_exists, now
from .resolvers.teams import ROLES, add_member, members, membership, user_teams

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
FILTER = re.compile(r'^\s*([\w.]+)\s+eq\s+"([^"]*)"\s*$')


class ScimError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def error(status: int, detail: str) -> dict:
    return {"schemas": [ERROR], "detail": detail, "status": str(status)}


def caller(store, headers) -> dict | None:
    value = headers.get("Authorization") or ""
    key = value.split(None, 1)[1].strip() if value.lower().startswith("bearer ") else None
    return auth.lookup(store, key or auth.parse_basic(value))


def handle(app, method: str, path: str, query: dict, body: Any, headers) -> tuple[int, dict | None]:
    """Answer one SCIM request: (status, JSON body or None for 204)."""
    user = caller(app.store, headers)
    if user is None:
        return 401, error(401, "invalid or missing API key")
    if not tier(app.settings).enterprise:
        return 403, error(403, ENTERPRISE_ONLY.format(what="The SCIM API"))
    if not user.get("admin"):
        return 403, error(403, "SCIM needs an instance (organization) admin")
    parts = [p for p in path.split("/") if p][1:]  # drop "scim"
    try:
        if parts[:1] == ["Users"]:
            return _users(app, method, parts[1:], query, body)
        if parts[:1] == ["Groups"]:
            return _groups(app, method, parts[1:], query, body)
    except ScimError as e:
        return e.status, error(e.status, str(e))
    return 404, error(404, f"no SCIM resource {path}")


def _listing(items: list[dict]) -> dict:
    return {
        "schemas": [LIST],
        "Resources": items,
        "itemsPerPage": 9999,
        "startIndex": 1,
        "totalResults": len(items),
    }


def _filter(query: dict) -> tuple[str, str] | None:
    text = query.get("filter")
    if not text:
        return None
    m = FILTER.match(text)
    if not m:
        raise ScimError(400, f'unsupported filter {text!r} (use: attribute eq "value")')
    return m.group(1), m.group(2)


# -- Users ------------------------------------------------------------------------------------


def user_doc(store, rec: dict) -> dict:
    roles = []
    for team in user_teams(store, rec["username"]):
        m = membership(store, team, rec["username"])
        roles.append({"teamName": team, "roleName": m["role"]})
    uid = encode_id("User", rec["_seq"])
    return {
        "schemas": [USER_SCHEMA],
        "id": uid,
        "userName": rec["username"],
        "displayName": rec.get("name") or rec["username"],
        # Self-Managed answers one email as an object with capitalised keys
        "emails": {"Value": rec.get("email") or "", "Display": "", "Type": "", "Primary": True},
        "active": rec.get("active") is not False,
        "organizationRole": "admin" if rec.get("admin") else "member",
        "modelsSeat": "full",
        "weaveRole": "full",
        "teamRoles": roles,
        "meta": {
            "resourceType": "User",
            "created": rec.get("created"),
            "lastModified": rec.get("modified") or rec.get("created"),
            "location": f"Users/{uid}",
        },
    }


def _people(store) -> list[dict]:
    # "This operation does not retrieve service accounts"
    return [u for u in store.list("user") if u.get("account_type") != "SERVICE"]


def _find_user(store, uid: str) -> dict:
    seq = decode_id(uid, "User")
    for u in _people(store):
        if u["_seq"] == seq:
            return u
    raise ScimError(404, f"user {uid} not found")


def _users(app, method, rest, query, body):
    store = app.store
    if not rest and method == "GET":
        people = _people(store)
        flt = _filter(query)
        if flt:
            attr, value = flt
            if attr == "userName":
                people = [u for u in people if u["username"] == value]
            elif attr in ("emails.value", "emails"):
                people = [u for u in people if (u.get("email") or "") == value]
            else:
                raise ScimError(400, f"unsupported filter attribute {attr}")
        return 200, _listing([user_doc(store, u) for u in people])
    if not rest and method == "POST":
        return _create_user(app, body or {})
    if len(rest) != 1:
        raise ScimError(404, "not found")
    rec = _find_user(store, rest[0])
    if method == "GET":
        return 200, user_doc(store, rec)
    if method == "PATCH":
        return 200, _patch_user(app, rec, body or {})
    if method == "DELETE":
        with store.lock:
            for team in user_teams(store, rec["username"]):
                store.delete("member", f"{team}/{rec['username']}")
            store.delete("user", rec["username"])
        return 204, None
    raise ScimError(405, f"{method} is not supported on a user")


def _email(body: dict) -> str:
    emails = body.get("emails") or []
    if isinstance(emails, dict):
        emails = [emails]
    values = [e.get("value") or e.get("Value") for e in emails if isinstance(e, dict)]
    if len(values) != 1 or not values[0] or "@" not in values[0]:
        raise ScimError(400, "exactly one email is required (Self-Managed: one email per user)")
    return values[0]


def _create_user(app, body: dict):
    store = app.store
    email = _email(body)
    username = body.get("userName") or re.sub(r"[^a-z0-9_-]", "-", email.split("@")[0].lower())
    if not re.match(r"^[A-Za-z0-9_-]{1,64}$", username):
        raise ScimError(400, f"invalid userName {username!r}")
    with store.lock:
        if any(u.get("email") == email for u in store.list("user")) or entity_exists(
            store, username
        ):
            raise ScimError(409, "Resource already exists")
        seats = tier(app.settings).max_users
        active = sum(1 for u in _people(store) if u.get("active") is not False)
        if seats is not None and active >= seats:
            raise ScimError(400, f"Seat limit reached: the license allows {seats} users")
        rec = auth.ensure_user(store, username, email, False)
        if body.get("displayName"):
            rec["name"] = body["displayName"]
            rec["_seq"] = store.put("user", username, rec)
    return 201, user_doc(store, rec)


def _patch_user(app, rec: dict, body: dict) -> dict:
    store = app.store
    with store.lock:
        for op in body.get("Operations") or []:
            kind, path, value = (op.get("op") or "").lower(), op.get("path"), op.get("value")
            if kind != "replace" and not (kind == "add" and path == "teamRoles"):
                raise ScimError(400, f"unsupported operation {kind} {path}")
            if path is None and isinstance(value, dict) and "active" in value:
                if value["active"] is False and rec.get("admin"):
                    admins = [
                        u for u in _people(store) if u.get("admin") and u.get("active") is not False
                    ]
                    if len(admins) <= 1:
                        raise ScimError(400, "cannot deactivate the last admin")
                rec["active"] = bool(value["active"])
                rec["deactivated"] = None if rec["active"] else now()
            elif path == "organizationRole":
                if value not in ("admin", "member"):
                    raise ScimError(400, f"organizationRole must be admin or member, not {value!r}")
                rec["admin"] = value == "admin"
            elif path == "teamRoles":
                for item in value or []:
                    team, role = item.get("teamName"), item.get("roleName")
                    if store.get("team", team or "") is None:
                        raise ScimError(404, f"team {team} not found")
                    if role not in ROLES:
                        raise ScimError(400, f"unknown role {role!r} (admin, member or viewer)")
                    add_member(store, team, rec["username"], role)
            elif path == "displayName":
                rec["name"] = value
            else:
                raise ScimError(400, f"unsupported path {path!r}")
        rec["modified"] = now()
        rec["_seq"] = store.put("user", rec["username"], rec)
    return user_doc(store, rec)


# -- Groups (teams) ---------------------------------------------------------------------------


def group_doc(store, team: dict) -> dict:
    gid = encode_id("Group", team["_seq"])
    rows = []
    for m in members(store, team["name"]):
        u = store.get("user", m["user"]) if m.get("user") else None
        if u is None or m.get("pending") or u.get("account_type") == "SERVICE":
            continue  # groups list users only: "Update a team's service accounts in the app"
        rows.append(
            {"Value": encode_id("User", u["_seq"]), "Ref": "", "Type": "", "Display": u["username"]}
        )
    return {
        "schemas": [GROUP_SCHEMA],
        "id": gid,
        "displayName": team["name"],
        "members": rows,
        "meta": {
            "resourceType": "Group",
            "created": team.get("created"),
            "location": f"Groups/{gid}",
        },
    }


def _member_user(store, value: str) -> dict:
    """Member ops accept a W&B user id or an email."""
    for u in _people(store):
        if value in (u.get("email"), encode_id("User", u["_seq"])):
            return u
    raise ScimError(404, f"user {value} not found")


def _groups(app, method, rest, query, body):
    store = app.store
    if not rest and method == "GET":
        teams = store.list("team")
        flt = _filter(query)
        if flt:
            if flt[0] != "displayName":
                raise ScimError(400, f"unsupported filter attribute {flt[0]}")
            teams = [t for t in teams if t["name"] == flt[1]]
        return 200, _listing([group_doc(store, t) for t in teams])
    if not rest and method == "POST":
        body = body or {}
        name = body.get("displayName") or ""
        if not re.match(r"^[A-Za-z0-9_-]{1,64}$", name):
            raise ScimError(400, f"invalid displayName {name!r}")
        if "members" not in body:
            raise ScimError(400, "members is required")
        with store.lock:
            if entity_exists(store, name):
                raise ScimError(409, "Resource already exists")
            users = [_member_user(store, m.get("value", "")) for m in body["members"]]
            store.put("team", name, {"name": name, "created": now()})
            for u in users:
                add_member(store, name, u["username"], "member")
        return 201, group_doc(store, store.get("team", name))
    if len(rest) != 1:
        raise ScimError(404, "not found")
    seq = decode_id(rest[0], "Group")
    team = next((t for t in store.list("team") if t["_seq"] == seq), None)
    if team is None:
        raise ScimError(404, f"group {rest[0]} not found")
    if method == "GET":
        return 200, group_doc(store, team)
    if method == "DELETE":
        raise ScimError(400, "Deleting teams is currently unsupported by the SCIM API")
    if method != "PATCH":
        raise ScimError(405, f"{method} is not supported on a group")
    with store.lock:
        for op in (body or {}).get("Operations") or []:
            kind, path = (op.get("op") or "").lower(), op.get("path") or ""
            if kind == "add" and path == "members":
                for item in op.get("value") or []:
                    u = _member_user(store, item.get("value", ""))
                    if membership(store, team["name"], u["username"]) is None:
                        add_member(store, team["name"], u["username"], "member")
            elif kind == "remove" and path == "members":
                for m in members(store, team["name"]):
                    if m.get("user"):
                        store.delete("member", f"{team['name']}/{m['user']}")
            elif kind == "remove" and (m := re.match(r'^members\[value eq "(.+)"\]$', path)):
                u = _member_user(store, m.group(1))
                store.delete("member", f"{team['name']}/{u['username']}")
            else:
                raise ScimError(400, f"unsupported operation {kind} {path}")
    return 200, group_doc(store, team)
