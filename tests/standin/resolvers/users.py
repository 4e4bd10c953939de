"""Users, API keys, entities and organizations (viewer, createUser, generateApiKey)."""

from __future__ import annotations

import re

from .. import auth, retention
from ..graphql_exec import GqlError
from .base import Ctx, check_entity, connection, encode_id, entity_exists, require_admin


class ApiKey:
    typename = "ApiKey"

    def __init__(self, rec: dict, secret: str | None = None) -> None:
        self.f_id = encode_id("ApiKey", rec["_seq"])
        # The full secret is shown once, when generated; listings only show a prefix.
        self.f_name = secret or rec["name"]
        self.f_description = rec.get("description")


class User:
    typename = "User"

    def __init__(self, ctx: Ctx, rec: dict) -> None:
        self.ctx = ctx
        self.rec = rec
        self.f_id = encode_id("User", rec["_seq"])
        self.f_name = rec.get("name") or rec["username"]
        self.f_username = rec["username"]
        self.f_email = rec.get("email")
        self.f_admin = bool(rec.get("admin"))
        self.f_flags = "{}"
        self.f_entity = rec.get("default_entity") or rec["username"]
        # a deactivated user (SCIM active:false) keeps its record: deletedAt says when
        self.f_deletedAt = rec.get("deactivated") if rec.get("active") is False else None
        self.f_photoUrl = None
        self.f_accountType = "SERVICE" if rec.get("account_type") == "SERVICE" else "USER"
        self.f_organizations = []
        self.f_userInfo = None

    def f_teams(self, **kw):
        from .teams import user_teams

        names = user_teams(self.ctx.store, self.rec["username"])
        return connection([{"__typename": "Entity", "name": n} for n in names], kw.get("first"))

    def f_apiKeys(self, **_):
        keys = [ApiKey(k) for k in self.ctx.store.list("apikey", parent=self.rec["username"])]
        return connection(keys)

    def f_defaultEntity(self):
        return Entity(self.ctx, self.rec["username"])


class Organization:
    typename = "Organization"

    def __init__(self, name: str) -> None:
        self.f_id = encode_id("Organization", 1)
        self.f_name = name
        self.f_orgEntity = {"__typename": "Entity", "id": encode_id("Entity", 0), "name": name}
        self.f_coreWeaveOrganizationId = None

    def f_featureFlags(self, **_):
        return []


class Entity:
    typename = "Entity"

    def __init__(self, ctx: Ctx, name: str) -> None:
        self.ctx = ctx
        self.f_id = encode_id("Entity", abs(hash(name)) % 10**9)
        self.f_name = name
        self.f_isTeam = ctx.store.get("team", name) is not None
        self.f_entityType = "TEAM" if self.f_isTeam else "USER"
        self.f_available = False  # the name is taken
        self.f_photoUrl = None
        self.f_limits = "{}"
        self.f_readOnlyAdmin = False
        self.f_defaultAccess = "PRIVATE"
        self.f_readOnly = False
        self.f_isPaid = False
        self.f_xxhashDigestsEnabled = False
        self.f_claimingEntity = None
        self.f_organization = None  # single-user instance: no organizations
        self.f_codeSavingEnabled = True
        self.f_privateOnly = False

    def f_storageBytes(self, **_):
        return retention.storage_bytes(self.ctx.store, self.f_name)

    def f_user(self):
        rec = self.ctx.store.get("user", self.f_name)
        return User(self.ctx, rec) if rec else None

    def f_members(self, **_):
        """A team's members and pending invites, oldest first (the SDK's
        create_service_account takes the last one as the new account)."""
        from .teams import Member, members

        if not self.f_isTeam:
            return []
        # members are visible to the team and to instance admins
        check_entity(self.ctx, self.f_name)
        return [Member(self.ctx, d) for d in members(self.ctx.store, self.f_name)]

    def f_projects(self, **kw):
        from .runs import Project

        check_entity(self.ctx, self.f_name)
        docs = [d for d in self.ctx.store.list("project") if d["entity"] == self.f_name]
        return connection([Project(self.ctx, d) for d in docs], kw.get("first"), kw.get("after"))

    def f_project(self, name):
        from .runs import Project

        check_entity(self.ctx, self.f_name)
        doc = self.ctx.store.get("project", f"{self.f_name}/{name}")
        return Project(self.ctx, doc) if doc else None


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class UserQueries:
    def f_viewer(self, **_):
        return User(self.ctx, self.ctx.user)

    def f_entity(self, name=None, **_):
        # an entity's name and kind are visible to any user (the SDK probes them); its
        # projects are not (Entity.f_projects / f_project check access)
        name = name or self.ctx.user.get("default_entity") or self.ctx.username
        return Entity(self.ctx, name) if entity_exists(self.ctx.store, name) else None

    def f_user(self, userName=None, id=None, **_):  # noqa: A002
        rec = self.ctx.store.get("user", userName or self.ctx.username)
        return User(self.ctx, rec) if rec else None

    def f_users(self, query=None, **kw):
        require_admin(self.ctx)
        users = [
            User(self.ctx, u)
            for u in self.ctx.store.list("user")
            # service accounts are not users (SCIM lists leave them out too)
            if u.get("account_type") != "SERVICE"
            and (not query or query in u["username"] or query in (u.get("email") or ""))
        ]
        return connection(users, kw.get("first"), kw.get("after"))

    def f_organization(self, name=None, **_):
        return None


class UserMutations:
    def f_createUser(self, input):  # noqa: A002
        """Admin only: a user named after the email's local part, with a first API key."""
        require_admin(self.ctx)
        email = (input or {}).get("email") or ""
        if not EMAIL.match(email):
            raise GqlError(f"invalid email {email!r}")
        store = self.ctx.store
        with store.lock:
            from .teams import check_seat

            check_seat(self.ctx)
            base = re.sub(r"[^a-z0-9_-]", "-", email.split("@")[0].lower()) or "user"
            for u in store.list("user"):
                if u.get("email") == email:
                    raise GqlError(f"user with email {email} already exists")
            username, n = base, 1
            while entity_exists(store, username):
                n += 1
                username = f"{base}{n}"
            rec = auth.ensure_user(store, username, email, bool(input.get("admin")))
            auth.add_key(store, username, auth.new_key(), "created by createUser")
        return {"__typename": "CreateUserPayload", "user": User(self.ctx, rec)}

    def f_generateApiKey(self, input=None):  # noqa: A002
        """A new key for the calling user; its full secret is returned this once."""
        secret = auth.new_key()
        rec = auth.add_key(
            self.ctx.store, self.ctx.username, secret, (input or {}).get("description")
        )
        return {"__typename": "GenerateApiKeyPayload", "apiKey": ApiKey(rec, secret=secret)}

    def f_deleteApiKey(self, input):  # noqa: A002
        from .base import decode_id

        seq = decode_id((input or {}).get("id"), "ApiKey")
        store = self.ctx.store
        for k in store.list("apikey"):
            if k["_seq"] == seq and (k["user"] == self.ctx.username or self.ctx.user.get("admin")):
                # the key's hash is its store key; find it by listing rows of this user
                for row_key in _apikey_keys(store, k["user"], seq):
                    store.delete("apikey", row_key)
                return {"success": True}
        raise GqlError("API key not found")


def _apikey_keys(store, username: str, seq: int) -> list[str]:
    rows = store._execute(  # noqa: SLF001 - small helper, both SQL backends share it
        "SELECT k FROM docs WHERE kind=? AND seq=?", ("apikey", seq)
    )
    return [r[0] for r in rows]
