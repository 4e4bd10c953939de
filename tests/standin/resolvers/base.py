"""What every resolver needs: the request context, ids, JSON helpers and connections."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ..graphql_exec import GqlError


@dataclass
class Ctx:
    """One request's view of the server: storage, settings and the authenticated user."""

    store: Any
    files: Any
    settings: Any
    user: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: True while a mutation runs (set by graphql_exec) or for file_stream / uploads:
    #: a team's viewers may read its projects but not write to them
    write: bool = False

    @property
    def username(self) -> str:
        return self.user["username"]

    def entity_or_default(self, entity: str | None, project: str | None = None) -> str:
        """The named entity (default: the caller's own), after the access check; with a
        project, that project's visibility may let others in (see project_open)."""
        # a service account's default entity is its team (it has no personal entity)
        name = entity or self.user.get("default_entity") or self.username
        if not (project and entity_exists(self.store, name) and project_open(self, name, project)):
            check_entity(self, name)
        return name

    def can_access(self, entity: str) -> bool:
        if self.user.get("admin") or entity == self.username:
            return True
        from . import teams  # teams imports this module

        return teams.may_use(self, entity)


# Project visibility (docs: restricted-projects): PRIVATE ("Team": only the entity's members),
# USER_READ ("Public": anyone signed in reads, the team writes), USER_WRITE ("Open": anyone
# signed in reads and writes). These GraphQL `access` strings are the stand-in's reading of
# W&B's (UNCONFIRMED: W&B's docs name the visibilities, not these strings); Restricted
# projects are not modelled.
OPEN_FOR = {"USER_READ": ("read",), "USER_WRITE": ("read", "write")}


def project_open(ctx: Ctx, entity: str, project: str) -> bool:
    """Whether the project's visibility admits this caller for this kind of access."""
    doc = ctx.store.get("project", f"{entity}/{project}")
    allowed = OPEN_FOR.get((doc or {}).get("access") or "PRIVATE", ())
    return ("write" if ctx.write else "read") in allowed


def entity_exists(store, name: str) -> bool:
    """A user's personal entity or a team."""
    return store.get("user", name) is not None or store.get("team", name) is not None


def check_entity(ctx: Ctx, entity: str) -> None:
    """Entity rules of a real server: personal entities and teams.

    Naming an entity that does not exist is "not found" (404); a user other than its owner,
    or who is not a member of the team, gets PERMISSION_ERROR (403); a team's viewer may
    read but not write; an instance admin (GLOBAL_ADMIN_API_KEY with admin access) reaches
    every entity.
    """
    if not entity_exists(ctx.store, entity):
        raise GqlError(f"entity {entity} not found", status=404, code="NOT_FOUND")
    if not ctx.can_access(entity):
        raise permission_denied(ctx, entity)


def readable_entity(ctx: Ctx, entity: str | None, project: str | None = None) -> str | None:
    """For reads: an unknown entity is simply absent (null), another user's is refused
    (unless the named project is Public or Open)."""
    name = entity or ctx.user.get("default_entity") or ctx.username
    if not entity_exists(ctx.store, name):
        return None
    if not (project and project_open(ctx, name, project)):
        check_entity(ctx, name)
    return name


def guard(ctx: Ctx, doc: dict | None) -> dict | None:
    """A document found by id is only returned to a caller who may access its entity."""
    if doc is not None and not ctx.can_access(doc.get("entity", "")):
        if not (doc.get("project") and project_open(ctx, doc["entity"], doc["project"])):
            raise permission_denied(ctx, doc.get("entity", ""))
    return doc


def permission_denied(ctx: Ctx, entity: str) -> GqlError:
    return GqlError(
        f"permission denied: user {ctx.username} cannot access entity {entity}",
        status=403,
        code="PERMISSION_ERROR",
    )


def now() -> str:
    """Timestamps as the real server prints them (UTC, no zone suffix)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def encode_id(kind: str, seq: int) -> str:
    """Opaque ids shaped like W&B's: base64("<Type>:<number>")."""
    return base64.b64encode(f"{kind}:{seq}".encode()).decode()


def decode_id(value: str | None, kind: str) -> int | None:
    if not value:
        return None
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4)).decode()
        k, _, seq = text.rpartition(":")
        return int(seq) if k == kind else None
    except (ValueError, UnicodeDecodeError):
        return None


def loads(value: Any, default: Any = None) -> Any:
    """Decode a JSONString argument (the SDK sends JSON text); pass dicts through."""
    if value is None or value == "":
        return default
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError) as e:
        raise GqlError(f"invalid JSONString: {e}") from e


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def connection(
    items: list[Any],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    total: bool = True,
) -> dict[str, Any]:
    """A Relay connection over an in-memory list; cursors are positions."""
    start = 0
    if after:
        try:
            start = int(base64.b64decode(after).decode().split(":")[1]) + 1
        except (ValueError, IndexError):
            start = 0
    page = items[start:]
    if last is not None and first is None:
        page = page[-last:] if last else []
        start = len(items) - len(page)
    if first is not None:
        page = page[: max(first, 0)]
    edges = [
        {"node": n, "cursor": base64.b64encode(f"cursor:{start + i}".encode()).decode()}
        for i, n in enumerate(page)
    ]
    end = start + len(page)
    return {
        "__typename": "Connection",
        "edges": edges,
        "totalCount": len(items),
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "endCursor": edges[-1]["cursor"] if edges else after,
            "startCursor": edges[0]["cursor"] if edges else None,
        },
    }


def require_admin(ctx: Ctx) -> None:
    if not ctx.user.get("admin"):
        raise GqlError("permission denied: this operation needs an instance admin", status=None)
