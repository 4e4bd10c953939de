"""The lab file: who has an account, which teams exist, who is in them with which role.

    users:
      - email: ana@lab.org
        username: ana        # optional; the server derives one from the email otherwise
        admin: true          # instance admin (default false)
    teams:
      - name: vision
        members:
          - user: ana        # a username or email from users:
            role: admin      # admin | member | viewer
    service_accounts:
      - name: ci-vision
        team: vision

Every problem is reported with its line and the fix, all at once, before any change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb_local_kit.core import files
from wandb_local_kit.core.errors import EXIT_USAGE, KitError

ROLES = ("admin", "member", "viewer")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
TOP_KEYS = ("users", "teams", "service_accounts")
USER_KEYS = ("email", "username", "admin")
TEAM_KEYS = ("name", "members")
MEMBER_KEYS = ("user", "role")
SA_KEYS = ("name", "team")


@dataclass(frozen=True)
class User:
    email: str
    username: str | None = None
    admin: bool = False
    line: int = field(default=0, compare=False)  # where the file lists them (0: not a file)


@dataclass(frozen=True)
class Member:
    user: str  # the username or email as written in the file
    role: str = "member"


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[Member, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ServiceAccount:
    name: str
    team: str


@dataclass(frozen=True)
class LabFile:
    users: tuple[User, ...] = ()
    teams: tuple[Team, ...] = ()
    service_accounts: tuple[ServiceAccount, ...] = ()
    source: str = "the lab file"

    def user(self, ref: str) -> User | None:
        """The user a member entry names, by email or username."""
        for u in self.users:
            if ref == u.email or (u.username and ref == u.username):
                return u
        return None


@dataclass
class _Problems:
    source: str
    items: list[str] = field(default_factory=list)

    def add(self, node, problem: str, fix: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.items.append(f"{self.source} line {line}: {problem}\n    fix: {fix}")


def load(path: Path) -> LabFile:
    """Read and check a lab file; a KitError (exit 2) lists every problem with its line.
    Read through the door: a regular file only (a named pipe is refused, never waited
    on), UTF-8 (the line of a byte that is not), within the size limit."""
    return parse(files.read_text(path, "the lab file"), str(path))


def parse(text: str, source: str = "the lab file") -> LabFile:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # the reader recurses once per level: thousands exhaust it
        raise files.too_deep(source, None) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise KitError(
            f"{source}{where} is not valid YAML: {getattr(err, 'problem', None) or err}",
            fix="fix the YAML syntax there (indentation, a missing ':' or quote)",
        ) from err
    if _too_deep(root):
        raise files.too_deep(source, None)
    p = _Problems(source)
    if root is None:
        return LabFile(source=source)
    if not isinstance(root, yaml.MappingNode):
        raise KitError(
            f"{source} line {root.start_mark.line + 1}: the file must be a mapping with "
            f"{', '.join(TOP_KEYS)}",
            fix="start the file with `users:` (see `wandb-kit people show` for an example)",
        )
    top = _mapping(p, root, TOP_KEYS, "the file")
    users = [_user(p, n) for n in _seq(p, top.get("users"), "users")]
    teams = [_team(p, n) for n in _seq(p, top.get("teams"), "teams")]
    sas = [_sa(p, n) for n in _seq(p, top.get("service_accounts"), "service_accounts")]
    _cross_check(p, users, teams, sas)
    if p.items:
        raise KitError(
            f"{source} has {len(p.items)} problem(s); nothing was changed:\n  "
            + "\n  ".join(p.items),
            fix="correct the lines named above, then run `wandb-kit people plan` again",
            exit_code=EXIT_USAGE,
        )
    return LabFile(
        users=tuple(u for u, _ in users if u),
        teams=tuple(t for t, _ in teams if t),
        service_accounts=tuple(s for s, _ in sas if s),
        source=source,
    )


def _too_deep(root, limit: int = files.MAX_DEPTH) -> bool:
    """files.depth_problem for YAML nodes: walked without recursion, each node once (an
    alias can make a node its own child)."""
    import yaml

    stack, seen = [(root, 1)], set()
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _mapping(p: _Problems, node, allowed: tuple[str, ...], what: str) -> dict:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        p.add(
            node,
            f"{what} must be a mapping of {', '.join(allowed)}",
            f"write {what} as key: value lines",
        )
        return {}
    out: dict = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
        if name not in allowed:
            close = [a for a in allowed if a[:2] == name[:2]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            p.add(key, f"unknown key {name!r} in {what}{hint}", f"use only: {', '.join(allowed)}")
        elif name in out:
            p.add(key, f"{name!r} appears twice in {what}", "keep one of them")
        else:
            out[name] = value
    return out


def _seq(p: _Problems, node, what: str) -> list:
    import yaml

    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~")):
        return []
    if not isinstance(node, yaml.SequenceNode):
        p.add(
            node,
            f"{what} must be a list",
            f"write each entry of {what} on a line starting with '- '",
        )
        return []
    return list(node.value)


def _str(p: _Problems, node, what: str) -> str | None:
    import yaml

    if node is None:
        return None
    if not isinstance(node, yaml.ScalarNode) or node.value == "":
        p.add(node, f"{what} must be a text value", f"write {what}: VALUE")
        return None
    return node.value


def _bool(p: _Problems, node, what: str) -> bool:
    import yaml

    if node is None:
        return False
    if isinstance(node, yaml.ScalarNode) and node.value.lower() in ("true", "false"):
        return node.value.lower() == "true"
    p.add(node, f"{what} must be true or false", f"write {what}: true (or false)")
    return False


def _user(p: _Problems, node):
    m = _mapping(p, node, USER_KEYS, "a user")
    email = _str(p, m.get("email"), "email")
    if m and email is None and "email" not in m:
        p.add(node, "a user without an email", "add email: NAME@DOMAIN to this user")
    elif email is not None and not EMAIL.match(email):
        p.add(m["email"], f"{email!r} is not an email address", "write it as name@domain")
        email = None
    username = _str(p, m.get("username"), "username")
    if username is not None and not NAME.match(username):
        p.add(
            m["username"],
            f"username {username!r} has characters W&B does not allow",
            "use letters, digits, '-' and '_' only",
        )
        username = None
    admin = _bool(p, m.get("admin"), "admin")
    line = node.start_mark.line + 1
    return (User(email, username, admin, line) if email else None), node


def _team(p: _Problems, node):
    m = _mapping(p, node, TEAM_KEYS, "a team")
    name = _str(p, m.get("name"), "name")
    if m and "name" not in m:
        p.add(node, "a team without a name", "add name: TEAM to this team")
    elif name is not None and not NAME.match(name):
        p.add(
            m["name"],
            f"team name {name!r} has characters W&B does not allow",
            "use letters, digits, '-' and '_' only",
        )
        name = None
    members = []
    for mn in _seq(p, m.get("members"), "members"):
        mm = _mapping(p, mn, MEMBER_KEYS, "a team member")
        user = _str(p, mm.get("user"), "user")
        if mm and "user" not in mm:
            p.add(mn, "a team member without a user", "add user: USERNAME_OR_EMAIL")
        role = _str(p, mm.get("role"), "role") or "member"
        if role not in ROLES:
            p.add(mm.get("role"), f"invalid role {role!r}", f"use one of: {', '.join(ROLES)}")
        if user:
            members.append((Member(user, role), mn))
    team = Team(name, tuple(x for x, _ in members), node.start_mark.line + 1) if name else None
    return team, (node, members)


def _sa(p: _Problems, node):
    m = _mapping(p, node, SA_KEYS, "a service account")
    name = _str(p, m.get("name"), "name")
    team = _str(p, m.get("team"), "team")
    for key in SA_KEYS:
        if m and key not in m:
            p.add(node, f"a service account without {key}", f"add {key}: ... to it")
    return (ServiceAccount(name, team) if name and team else None), node


def _cross_check(p: _Problems, users, teams, sas) -> None:
    seen_email: dict[str, Any] = {}  # a yaml node (untyped)
    seen_name: dict[str, Any] = {}
    for u, node in users:
        if u is None:
            continue
        key = u.email.lower()
        if key in seen_email:
            p.add(
                node,
                f"duplicate email {u.email} (first at line {seen_email[key].start_mark.line + 1})",
                "list each person once",
            )
        seen_email.setdefault(key, node)
        if u.username:
            if u.username in seen_name:
                p.add(
                    node, f"duplicate username {u.username}", "give each person their own username"
                )
            seen_name.setdefault(u.username, node)
    lookup = LabFile(users=tuple(u for u, _ in users if u))
    team_names: dict[str, Any] = {}
    for t, (node, members) in teams:
        if t is None:
            continue
        if t.name in team_names:
            p.add(node, f"team {t.name} is listed twice", "merge the two entries into one")
        team_names.setdefault(t.name, node)
        if t.name in seen_name:
            p.add(
                node,
                f"team {t.name} has the name of a user (one namespace on W&B)",
                "rename the team or the user",
            )
        in_team: dict[str, Any] = {}
        for member, mnode in members:
            user = lookup.user(member.user)
            if user is None:
                p.add(
                    mnode,
                    f"team {t.name}: unknown user {member.user!r}",
                    "add them under users: (email, optional username), or fix the spelling",
                )
                continue
            if user.email in in_team:
                p.add(
                    mnode,
                    f"team {t.name}: {member.user} is listed twice (first at line "
                    f"{in_team[user.email].start_mark.line + 1})",
                    "keep one entry with the role they need",
                )
            in_team.setdefault(user.email, mnode)
    sa_seen: set[tuple[str, str]] = set()
    for sa, node in sas:
        if sa is None:
            continue
        if sa.team not in team_names:
            p.add(
                node,
                f"service account {sa.name}: unknown team {sa.team!r}",
                "add the team under teams:, or fix the team name",
            )
        if (sa.team, sa.name) in sa_seen:
            p.add(node, f"service account {sa.name} is listed twice for team {sa.team}", "keep one")
        sa_seen.add((sa.team, sa.name))


def refuse_empty(lab: LabFile, allow_flag: str = "--allow-empty") -> None:
    """A file with no users and no teams (empty, only comments, a stray `users:`) is far
    more often a mistake than a lab of nobody, and with --prune it would deactivate every
    user: refused (exit 2) unless the caller passed allow_flag."""
    if lab.users or lab.teams:
        return
    raise KitError(
        f"{lab.source} lists no users and no teams; nothing was changed (with --prune "
        "it would deactivate every user but the one applying it)",
        fix="list the lab's people under users: (`wandb-kit people show -o FILE` writes "
        f"the server's current ones to start from); if an empty lab is meant, add {allow_flag}",
        exit_code=EXIT_USAGE,
    )


KIT_NOTE = (
    "# the kit's own account (the admin API key's identity), not one of the lab's people; "
    "--prune keeps it\n"
)


def dump(lab: LabFile, kit_emails: frozenset[str] = frozenset()) -> str:
    """The file `show` writes: what `load` reads back to the same LabFile. A user whose
    email is in kit_emails gets a comment (not a field: the file stays one `apply` takes
    back with 0 changes, and older kits read it too)."""
    import yaml

    def block(u: User) -> str:
        entry = {"email": u.email, **({"username": u.username} if u.username else {})}
        text = yaml.safe_dump([{**entry, "admin": u.admin}], sort_keys=False)
        return (KIT_NOTE if u.email.lower() in kit_emails else "") + text

    users = "users:\n" + "".join(block(u) for u in lab.users) if lab.users else "users: []\n"
    data: dict = {
        "teams": [
            {"name": t.name, "members": [{"user": m.user, "role": m.role} for m in t.members]}
            for t in lab.teams
        ],
        "service_accounts": [{"name": s.name, "team": s.team} for s in lab.service_accounts],
    }
    head = (
        "# A lab's people on a W&B server (wandb-kit people show). Apply with:\n"
        "#   wandb-kit people plan FILE; wandb-kit people apply FILE\n"
    )
    return head + users + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
