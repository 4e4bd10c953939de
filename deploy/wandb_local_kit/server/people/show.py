"""The server's people as a lab file (`show`): what `apply` takes back with 0 changes."""

from __future__ import annotations

from .labfile import LabFile, Member, ServiceAccount, Team, User
from .remote import Remote


def from_remote(remote: Remote) -> LabFile:
    users = tuple(
        User(email=u.email, username=u.username, admin=u.admin)
        for u in sorted(remote.users, key=lambda u: u.username)
        if u.active and u.email
    )
    known = {u.username for u in users}
    teams = []
    sas = []
    for name in sorted(remote.teams):
        members = []
        for m in remote.teams[name]:
            if m.service:
                sas.append(ServiceAccount(m.name, name))
            elif not m.pending and m.username in known:
                members.append(Member(m.username, m.role))
        teams.append(Team(name, tuple(members)))
    return LabFile(users=users, teams=tuple(teams), service_accounts=tuple(sas))
