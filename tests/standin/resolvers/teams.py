"""Teams, members, roles, invites and team service accounts (stand-in).

Documents: `team` (key: name), `member` (key `<team>/<username>`, or `<team>/invite:<email>`
for an invite to someone without an account yet; parent: the team) with `role` admin,
member or viewer. Service accounts are `user` documents with `account_type: SERVICE`,
their team as default entity, and a membership in that team.

Rules (docs.wandb.ai: manage-organization, service-accounts, env-vars):
* creating a team needs an instance admin, unless GORILLA_ALLOW_USER_TEAM_CREATION=true;
* inviting and removing members, and creating service accounts, needs an instance admin or
  an admin of that team;
* team members read and write the team's projects, viewers only read, others are refused;
* service accounts and the View-Only role need an Enterprise license (license.py).
"""

from __future__ import annotations

import re

from .. import auth
from ..faults import FAULTS
from ..graphql_exec import GqlError
from ..license import ENTERPRISE_ONLY, tier
from .base import Ctx, decode_id, encode_id, entity_exists, now

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ROLES = ("admin", "member", "viewer")


def membership(store, team: str, username: str) -> dict | None:
    m = store.get("member", f"{team}/{username}")
    return m if m and not m.get("pending") else None


def may_use(ctx: Ctx, entity: str) -> bool:
    """Whether the caller may use a team entity's projects (reads; writes when ctx.write)."""
    if ctx.store.get("team", entity) is None:
        return False
    m = membership(ctx.store, entity, ctx.username)
    if m is not None:
        return m.get("role") != "viewer" or not ctx.write
    return bool(FAULTS.leak_private and not ctx.write)


def is_team_admin(ctx: Ctx, team: str) -> bool:
    if ctx.user.get("admin"):
        return True
    m = membership(ctx.store, team, ctx.username)
    return bool(m and m.get("role") == "admin")


def require_team_admin(ctx: Ctx, team: str) -> None:
    if ctx.store.get("team", team) is None:
        raise GqlError(f"team {team} not found", status=404, code="NOT_FOUND")
    if not is_team_admin(ctx, team):
        raise GqlError(
            f"permission denied: {ctx.username} is not an admin of team {team}",
            status=403,
            code="PERMISSION_ERROR",
        )


def add_member(store, team: str, username: str, role: str) -> dict:
    doc = {"team": team, "user": username, "role": role, "pending": False, "created": now()}
    doc["_seq"] = store.put("member", f"{team}/{username}", doc, parent=team)
    return doc


def members(store, team: str) -> list[dict]:
    return store.list("member", parent=team)


def user_teams(store, username: str) -> list[str]:
    return [
        t["name"] for t in store.list("team") if membership(store, t["name"], username) is not None
    ]


def active_users(store) -> int:
    return sum(
        1
        for u in store.list("user")
        if u.get("account_type") != "SERVICE" and u.get("active") is not False
    )


def check_seat(ctx: Ctx) -> None:
    seats = tier(ctx.settings).max_users
    if seats is not None and active_users(ctx.store) >= seats:
        raise GqlError(f"Seat limit reached: the license allows {seats} users")


class Member:
    """A row of `entity { members { ... } }` (GetTeamEntity)."""

    typename = "Member"

    def __init__(self, ctx: Ctx, doc: dict) -> None:
        user = ctx.store.get("user", doc["user"]) if doc.get("user") else None
        self.f_id = encode_id("Member", doc["_seq"])
        self.f_admin = doc.get("role") == "admin"
        self.f_role = doc.get("role")
        self.f_pending = bool(doc.get("pending"))
        self.f_email = (user or {}).get("email") or doc.get("email")
        self.f_username = (user or {}).get("username")
        self.f_name = (user or {}).get("name") or self.f_username or doc.get("email") or "?"
        self.f_photoUrl = None
        service = bool(user and user.get("account_type") == "SERVICE")
        self.f_accountType = "SERVICE" if service else "USER"
        # a team service account's key is shown to the team's admins (the SDK's
        # create_service_account reads it here); a person's key never is
        self.f_apiKey = user.get("sa_key") if service and is_team_admin(ctx, doc["team"]) else None


class TeamMutations:
    def f_createTeam(self, input):  # noqa: A002
        ctx: Ctx = self.ctx
        inp = input or {}
        if not ctx.user.get("admin") and not ctx.settings.allow_user_team_creation:
            raise GqlError(
                "permission denied: only instance admins can create teams "
                "(GORILLA_ALLOW_USER_TEAM_CREATION is off)",
                status=403,
                code="PERMISSION_ERROR",
            )
        name = inp.get("teamName") or ""
        if not NAME.match(name):
            raise GqlError(f"invalid team name {name!r}: letters, digits, '-' and '_' only")
        admin_name = inp.get("teamAdminUserName") or ctx.username
        store = ctx.store
        with store.lock:
            if entity_exists(store, name):
                raise GqlError(f"entity name {name} is already taken")
            admin = store.get("user", admin_name)
            if admin is None or admin.get("account_type") == "SERVICE":
                raise GqlError(f"user {admin_name} not found")
            seq = store.put("team", name, {"name": name, "created": now()})
            add_member(store, name, admin_name, "admin")
        from .users import Entity

        ent = Entity(ctx, name)
        ent.f_id = encode_id("Entity", seq)
        return {"__typename": "CreateTeamPayload", "entity": ent}

    def f_createInvite(self, input):  # noqa: A002
        """An existing user joins at once; an email without an account gets a pending invite."""
        ctx: Ctx = self.ctx
        inp = input or {}
        team = inp.get("entityName") or ""
        require_team_admin(ctx, team)
        role = "admin" if inp.get("admin") else "member"
        store = ctx.store
        with store.lock:
            user = None
            if inp.get("username"):
                user = store.get("user", inp["username"])
                if user is None:
                    raise GqlError(f"user {inp['username']} not found")
            elif inp.get("email"):
                user = next((u for u in store.list("user") if u.get("email") == inp["email"]), None)
            else:
                raise GqlError("createInvite needs an email or a username")
            if user is not None:
                if user.get("active") is False:
                    raise GqlError(f"user {user['username']} is deactivated")
                if store.get("member", f"{team}/{user['username']}") is not None:
                    raise GqlError(f"{user['username']} is already a member of team {team}")
                doc = add_member(store, team, user["username"], role)
            else:
                key = f"{team}/invite:{inp['email']}"
                if store.get("member", key) is not None:
                    raise GqlError(f"{inp['email']} was already invited to team {team}")
                doc = {"team": team, "email": inp["email"], "role": role, "pending": True}
                doc["_seq"] = store.put("member", key, doc, parent=team)
        invite = {
            "__typename": "Invite",
            "id": encode_id("Invite", doc["_seq"]),
            "name": (user or {}).get("username") or inp.get("email"),
            "email": (user or {}).get("email") or inp.get("email"),
            "createdAt": now(),
            "toUser": {"__typename": "User", "name": user["name"]} if user else None,
        }
        return {"__typename": "CreateInvitePayload", "invite": invite}

    def f_deleteInvite(self, input):  # noqa: A002
        """Removes a member or a pending invite (Member.delete()); runs stay in the team."""
        ctx: Ctx = self.ctx
        inp = input or {}
        team = inp.get("entityName") or ""
        require_team_admin(ctx, team)
        seq = decode_id(inp.get("id"), "Member") or decode_id(inp.get("id"), "Invite")
        for doc in members(ctx.store, team):
            if doc["_seq"] == seq:
                key = (
                    f"{team}/{doc['user']}" if doc.get("user") else f"{team}/invite:{doc['email']}"
                )
                ctx.store.delete("member", key)
                return {"__typename": "DeleteInvitePayload", "success": True}
        raise GqlError(f"no member or invite {inp.get('id')} in team {team}")

    def f_createServiceAccount(self, input):  # noqa: A002
        ctx: Ctx = self.ctx
        inp = input or {}
        team = inp.get("entityName") or ""
        if not tier(ctx.settings).enterprise:
            raise GqlError(ENTERPRISE_ONLY.format(what="Service accounts"), status=403)
        if ctx.settings.disable_team_service_accounts:
            raise GqlError(
                "team service accounts are turned off on this server "
                "(GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION)",
                status=403,
            )
        require_team_admin(ctx, team)
        description = (inp.get("description") or "").strip()
        if not description:
            raise GqlError("createServiceAccount: description is required")
        store = ctx.store
        with store.lock:
            base = re.sub(r"[^a-z0-9_-]", "-", description.lower())[:40] or "service"
            username, n = base, 1
            while entity_exists(store, username):
                n += 1
                username = f"{base}-{n}"
            secret = auth.new_key()
            rec = {
                "username": username,
                "name": description,
                "email": None,
                "admin": False,
                "account_type": "SERVICE",
                "default_entity": team,
                "sa_key": secret,
                "created": now(),
            }
            rec["_seq"] = store.put("user", username, rec)
            auth.add_key(store, username, secret, f"service account of {team}")
            add_member(store, team, username, "member")
        return {
            "__typename": "CreateServiceAccountPayload",
            "user": {"__typename": "User", "id": encode_id("User", rec["_seq"])},
        }
