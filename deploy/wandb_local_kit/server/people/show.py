"""The server's people as a lab file (`show`): what `apply` takes back with 0 changes."""

from __future__ import annotations

from .labfile import LabFile, Member, ServiceAccount, Team, User, dump
from .remote import Remote, is_kit_account


def from_remote(remote: Remote, without_kit: bool = False) -> LabFile:
    """without_kit: the kit's own accounts left out (and their team places), for a file
    of the lab's people only; `apply --prune` keeps those accounts all the same."""
    users = tuple(
        User(email=u.email, username=u.username, admin=u.admin)
        for u in sorted(remote.users, key=lambda u: u.username)
        if u.active and u.email and not (without_kit and is_kit_account(u))
    )
    known = {u.username for u in users}
    teams = []
    sas = []
    for name in sorted(remote.teams):
        members = []
        for m in remote.teams[name]:
            if m.service:
                sas.append(ServiceAccount(m.name, name))
            elif not m.pending and m.username is not None and m.username in known:
                members.append(Member(m.username, m.role))
        teams.append(Team(name, tuple(members)))
    return LabFile(users=users, teams=tuple(teams), service_accounts=tuple(sas))


def text(remote: Remote, without_kit: bool = False) -> str:
    """The lab file's text, the kit's own accounts marked with a comment."""
    kit = frozenset(u.email.lower() for u in remote.users if is_kit_account(u))
    return dump(from_remote(remote, without_kit), kit)
