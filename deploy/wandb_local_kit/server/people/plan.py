"""Compare the lab file with the server; apply exactly that difference.

Rules: people absent from the file are kept (with `--prune`: deactivated through SCIM,
never deleted, so their runs stay) and keep their team places; a member listed under a
team is added, given the listed role, or removed from it when the team no longer lists
them; teams are never deleted (W&B's APIs cannot). Where the server lacks an interface
(no Enterprise license: no SCIM, no service accounts, no View-Only role) the item is
reported with what to do instead, and the rest is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_FAILED, KitError

from .keys import key_path, write_key
from .labfile import LabFile, User
from .remote import Remote, RemoteMember, Server, is_kit_account

NEEDS_SCIM = "needs W&B's SCIM API, an Enterprise feature ({reason})"


@dataclass
class Applying:
    server: Server
    remote: Remote
    keys_dir: Path
    usernames: dict[str, str] = field(default_factory=dict)  # email -> username
    new_users: list[tuple[str, str]] = field(default_factory=list)  # (email, username)
    key_files: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass
class Change:
    symbol: str  # "+" add, "~" change, "-" remove or deactivate
    text: str
    step: Callable[[Applying], None]
    server: bool = True  # False: only a local file (a service account's key)
    pruning: bool = False  # made only because of --prune: `apply` asks first

    def line(self) -> str:
        return f"{self.symbol} {self.text}"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # in the file, but not possible here
    notes: list[str] = field(default_factory=list)
    # the file asks for what another account holds (a username, a name): refused whole
    conflicts: list[str] = field(default_factory=list)

    def pruning(self) -> list[Change]:
        return [c for c in self.changes if c.pruning]


def compute(lab: LabFile, remote: Remote, prune: bool, keys_dir: Path) -> Plan:
    plan = Plan()
    scim_why = NEEDS_SCIM.format(reason=remote.scim_reason or "unknown")
    _conflicts(lab, remote, plan)
    _users(lab, remote, prune, plan, scim_why)
    _teams(lab, remote, prune, plan, scim_why)
    _service_accounts(lab, remote, prune, keys_dir, plan)
    return plan


def _conflicts(lab: LabFile, remote: Remote, plan: Plan) -> None:
    """What the file asks for that another account on the server already holds: SCIM
    would answer 409 in the middle of `apply`, after the changes before it. Deactivated
    accounts count: they keep their username and email."""
    for u in lab.users:
        by_email = remote.user_by_email(u.email)
        holder = remote.user_by_name(u.username) if u.username else None
        where = f"{lab.source} line {u.line}"
        if holder is not None and holder is not by_email:
            plan.conflicts.append(
                f"{where}: username {u.username!r} ({u.email}) is held by another account "
                f"on the server, {holder.email or '(no email)'}"
                f"{'' if holder.active else ' (deactivated)'}\n"
                f"    fix: give {u.email} another username (or none: the server derives "
                f"one), or, if {holder.email or u.username} is this person, use that email"
            )
        elif by_email is not None and u.username and by_email.username != u.username:
            plan.conflicts.append(
                f"{where}: {u.email} is already the account {by_email.username!r} on the "
                f"server, the file names it {u.username!r}\n"
                f"    fix: write username: {by_email.username} (W&B's APIs cannot rename a "
                "user), or leave the username out"
            )
    for t in lab.teams:
        holder = remote.user_by_name(t.name)
        if t.name not in remote.teams and holder is not None:
            plan.conflicts.append(
                f"{lab.source} line {t.line}: team name {t.name!r} is the username of "
                f"{holder.email or 'an account'} on the server (one namespace on W&B)\n"
                "    fix: rename the team in the file"
            )


def _username(a: Applying, email: str) -> str:
    if email.lower() in a.usernames:
        return a.usernames[email.lower()]
    user = a.remote.user_by_email(email)
    if user is None:  # pragma: no cover - the plan creates users before using them
        raise RuntimeError(f"no user {email}")
    return user.username


def _users(lab: LabFile, remote: Remote, prune: bool, plan: Plan, scim_why: str) -> None:
    listed = {u.email.lower() for u in lab.users}
    for u in lab.users:
        r = remote.user_by_email(u.email)
        if r is None:
            how = "SCIM" if remote.scim and u.username else "Api.create_user"
            plan.changes.append(
                Change(
                    "+",
                    f"user {u.email}{' (instance admin)' if u.admin else ''} [{how}]",
                    _create_user(u.email, u.username, u.admin),
                )
            )
            if u.username and not remote.scim:
                plan.notes.append(
                    f"user {u.email}: the username is chosen by the server from the email "
                    f"(choosing {u.username!r} {scim_why})"
                )
            continue
        if not r.active:
            if remote.scim:
                plan.changes.append(
                    Change(
                        "~",
                        f"user {u.email}: reactivate",
                        _scim_user(r.username, [{"op": "replace", "value": {"active": True}}]),
                    )
                )
            else:
                plan.blocked.append(
                    f"reactivating {u.email} {scim_why}; reactivate them in /admin/users"
                )
        if r.admin != u.admin:
            role = "admin" if u.admin else "member"
            if r.username == remote.caller and not u.admin:
                plan.blocked.append(
                    f"{u.email} is the identity applying this file; it keeps its instance-admin "
                    "role (change it from another admin's key)"
                )
            elif remote.scim:
                plan.changes.append(
                    Change(
                        "~",
                        f"user {u.email}: instance admin {r.admin} -> {u.admin}",
                        _scim_user(
                            r.username,
                            [{"op": "replace", "path": "organizationRole", "value": role}],
                        ),
                    )
                )
            else:
                plan.blocked.append(
                    f"making {u.email} instance admin={u.admin} {scim_why}; "
                    "change it in /admin/users"
                )
    _absent_users(listed, remote, prune, plan, scim_why)


def _absent_users(listed: set[str], remote: Remote, prune: bool, plan: Plan, scim_why: str):
    """Users the file does not list: kept, or with --prune deactivated; never the identity
    applying the file (its own key would stop working mid-apply) nor the kit's own account
    (`login --bootstrap` and `--admin-api` act as it)."""
    for r in remote.users:
        if r.email.lower() in listed or not r.active:
            continue
        if r.username == remote.caller:
            plan.notes.append(
                f"{r.email or r.username} (the identity applying this file) is not in the "
                "file; kept (never deactivated by its own key)"
            )
        elif is_kit_account(r):
            plan.notes.append(
                f"{r.email} (the kit's own account: the admin API key's identity) is not in "
                "the file; kept (--prune never deactivates it)"
            )
        elif not prune:
            plan.notes.append(
                f"{r.email or r.username} is not in the file; kept (--prune deactivates)"
            )
        elif remote.scim:
            plan.changes.append(
                Change(
                    "-",
                    f"user {r.email or r.username}: deactivate (record and runs stay)",
                    _scim_user(r.username, [{"op": "replace", "value": {"active": False}}]),
                    pruning=True,
                )
            )
        else:
            plan.blocked.append(
                f"deactivating {r.email or r.username} {scim_why}; deactivate them in /admin/users"
            )


def _known(lab: LabFile, team: str, ref: str) -> User:
    """The user a team member names. labfile.load refuses a file naming anyone else, so
    only a LabFile built in code gets here without one: an error, not an AttributeError."""
    user = lab.user(ref)
    if user is None:
        raise KitError(
            f"team {team}: unknown user {ref!r}", fix="add them under users: in the lab file"
        )
    return user


def _teams(lab: LabFile, remote: Remote, prune: bool, plan: Plan, scim_why: str) -> None:
    listed_emails = {u.email.lower() for u in lab.users}
    for t in lab.teams:
        existing = remote.teams.get(t.name)
        wanted = [(_known(lab, t.name, m.user), m.role) for m in t.members]
        if existing is None:
            first_admin = next((u for u, role in wanted if role == "admin"), None)
            plan.changes.append(
                Change(
                    "+",
                    f"team {t.name}"
                    + (f" (team admin {first_admin.email})" if first_admin else ""),
                    _create_team(t.name, first_admin.email if first_admin else None),
                )
            )
            existing = []
            if first_admin is not None:
                # createTeam makes that user the team's admin
                existing = [
                    RemoteMember(t.name, None, first_admin.email, "", "admin", False, False)
                ]
        people = [m for m in existing if not m.service]
        for user, role in wanted:
            cur = next((m for m in people if _same(m, user.email, remote)), None)
            if cur is None:
                if role == "viewer" and not remote.scim:
                    plan.blocked.append(
                        f"team {t.name}: {user.email} as viewer: the View-Only role {scim_why}; "
                        "not added (list them as member, or add a license)"
                    )
                    continue
                plan.changes.append(
                    Change(
                        "+",
                        f"team {t.name}: {user.email} as {role}",
                        _add_member(t.name, user.email, role, remote.scim),
                    )
                )
            elif cur.role != role:
                if remote.scim:
                    step = _scim_role(t.name, user.email, role)
                elif "viewer" in (role, cur.role):
                    plan.blocked.append(
                        f"team {t.name}: {user.email} {cur.role} -> {role}: "
                        f"the View-Only role {scim_why}"
                    )
                    continue
                else:
                    step = _readd(t.name, user.email, role, cur)
                plan.changes.append(
                    Change("~", f"team {t.name}: {user.email} {cur.role} -> {role}", step)
                )
        wanted_emails = {u.email.lower() for u, _ in wanted}
        for m in people:
            email = (m.email or "").lower()
            if email in wanted_emails or (
                m.username and _file_email(lab, m.username) in wanted_emails
            ):
                continue
            who = m.email or m.username or m.name
            in_file = email in listed_emails or (m.username and _file_email(lab, m.username))
            if m.username == remote.caller:
                plan.notes.append(f"team {t.name}: {who} (the identity applying this file) kept")
            elif in_file or prune:
                plan.changes.append(
                    Change(
                        "-",
                        f"team {t.name}: remove {who} (their runs stay)",
                        _remove(m),
                        pruning=not in_file,
                    )
                )
            else:
                plan.notes.append(
                    f"team {t.name}: {who} is not in the file; kept (--prune removes)"
                )
    for name in sorted(set(remote.teams) - {t.name for t in lab.teams}):
        plan.notes.append(f"team {name} is not in the file; kept (W&B's APIs cannot delete teams)")


def _service_accounts(
    lab: LabFile, remote: Remote, prune: bool, keys_dir: Path, plan: Plan
) -> None:
    for sa in lab.service_accounts:
        members = remote.teams.get(sa.team) or []
        cur = next((m for m in members if m.service and m.name == sa.name), None)
        if cur is None:
            plan.changes.append(
                Change(
                    "+",
                    f"service account {sa.name} in team {sa.team} "
                    f"(key to {key_path(keys_dir, sa.team, sa.name)})",
                    _create_sa(sa.team, sa.name),
                )
            )
        elif not key_path(keys_dir, sa.team, sa.name).exists() and cur.api_key:
            key = cur.api_key
            plan.changes.append(
                Change(
                    "+",
                    f"service account {sa.name}: key file {key_path(keys_dir, sa.team, sa.name)}",
                    partial(_save_key, team=sa.team, name=sa.name, key=key, created=False),
                    server=False,
                )
            )
    wanted = {(s.team, s.name) for s in lab.service_accounts}
    for team in sorted({t.name for t in lab.teams} & set(remote.teams)):
        for m in remote.teams[team]:
            if not m.service or (team, m.name) in wanted:
                continue
            if prune:
                plan.changes.append(
                    Change(
                        "-",
                        f"service account {m.name} in team {team}: remove",
                        _remove(m),
                        pruning=True,
                    )
                )
            else:
                plan.notes.append(
                    f"service account {m.name} in team {team} is not in the file; "
                    "kept (--prune removes it)"
                )


def _same(m: RemoteMember, email: str, remote: Remote) -> bool:
    if m.email and m.email.lower() == email.lower():
        return True
    user = remote.user_by_email(email)
    return bool(user and m.username and m.username == user.username)


def _file_email(lab: LabFile, username: str) -> str:
    u = lab.user(username)
    return u.email.lower() if u else ""


# -- steps (closures run by apply, in plan order) -------------------------------------------


def _create_user(email: str, username: str | None, admin: bool):
    def step(a: Applying) -> None:
        name = a.server.create_user(email, username, admin, a.remote.scim)
        a.usernames[email.lower()] = name
        a.new_users.append((email, name))

    return step


def _scim_user(username: str, ops: list[dict]):
    def step(a: Applying) -> None:
        a.server.scim_patch_user(a.server.scim_id(username), ops, username)

    return step


def _create_team(name: str, admin_email: str | None):
    def step(a: Applying) -> None:
        a.server.create_team(name, _username(a, admin_email) if admin_email else None)

    return step


def _add_member(team: str, email: str, role: str, scim: bool):
    def step(a: Applying) -> None:
        username = _username(a, email)
        a.server.invite(team, username, admin=role == "admin")
        if role == "viewer" and scim:
            _set_role(a, team, username, role)

    return step


def _set_role(a: Applying, team: str, username: str, role: str) -> None:
    a.server.scim_patch_user(
        a.server.scim_id(username),
        [{"op": "replace", "path": "teamRoles", "value": [{"teamName": team, "roleName": role}]}],
        username,
    )


def _scim_role(team: str, email: str, role: str):
    return lambda a: _set_role(a, team, _username(a, email), role)


def _readd(team: str, email: str, role: str, cur: RemoteMember):
    """Without SCIM the SDK only knows admin or not: remove, then invite with the new role."""

    def step(a: Applying) -> None:
        a.server.remove(cur)
        a.server.invite(team, _username(a, email), admin=role == "admin")

    return step


def _remove(m: RemoteMember):
    return lambda a: a.server.remove(m)


def _create_sa(team: str, name: str):
    def step(a: Applying) -> None:
        key = a.server.create_service_account(team, name)
        if key is None:
            a.refused.append(
                f"service account {name} in team {team}: the server refused it. Team service "
                "accounts need an Enterprise license on Self-Managed servers (and "
                "GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION off); until then use a "
                "team member's personal API key in CI"
            )
            return
        _save_key(a, team, name, key, created=True)

    return step


def _save_key(a: Applying, team: str, name: str, key: str, created: bool) -> None:
    """The key to its file. The folder was checked before the first change; if the write
    still fails (the disk filled, the folder went), the server keeps the account and its
    key, and `people apply` run again writes the file from there."""
    try:
        a.key_files.append(write_key(a.keys_dir, team, name, key))
    except KitError as err:
        done = "was created on the server" if created else "exists on the server"
        raise KitError(
            f"service account {name} in team {team} {done}, but its key could not be "
            f"written: {err.problem}; the changes printed above are done",
            fix=f"{err.fix or 'fix the keys folder'}, then run `wandb-kit people apply` "
            "again: it writes the key file from the server and changes nothing twice",
            exit_code=EXIT_FAILED,
        ) from None


def apply(plan: Plan, applying: Applying, report: Callable[[str], None]) -> int:
    """Run the plan's steps in order; returns how many were done. A failure raises
    (KitError) after the steps before it, which a re-run does not repeat."""
    done = 0
    for change in plan.changes:
        before = len(applying.refused)
        change.step(applying)
        if len(applying.refused) == before:
            done += 1
            report(change.line())
    return done
