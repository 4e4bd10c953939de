"""The server's people, read and changed through W&B's supported interfaces.

The wandb SDK's public API (`Api.users`, `Api.create_user`, `Api.create_team`, `Api.team`,
`Team.invite`, `Team.create_service_account`, `Member.delete`) does what it can; W&B's SCIM
API (`/scim/Users`, `/scim/Groups`) does what the SDK has no call for: choosing a username,
the instance-admin flag, team roles (View-Only), deactivation. SCIM needs an Enterprise
license on Self-Managed servers; without it those items are reported, not attempted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wandb_local_kit.core.errors import EXIT_FAILED, KitError

SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
# The kit's own accounts, not a lab's people: the identity of the admin API key
# (GLOBAL_ADMIN_API_KEY) that `login --bootstrap` and `people --admin-api` use.
KIT_EMAILS = frozenset({"admin@localhost"})


@dataclass
class RemoteUser:
    username: str
    email: str
    admin: bool
    active: bool
    scim_id: str | None = None


@dataclass
class RemoteMember:
    team: str
    username: str | None
    email: str | None
    name: str
    role: str  # admin | member | viewer
    service: bool
    pending: bool
    handle: Any = None  # the SDK's Member, for delete()
    api_key: str | None = None  # service accounts only; never printed


@dataclass
class Remote:
    caller: str
    users: list[RemoteUser] = field(default_factory=list)
    teams: dict[str, list[RemoteMember]] = field(default_factory=dict)
    scim: bool = False
    scim_reason: str = ""

    def user_by_email(self, email: str) -> RemoteUser | None:
        return next((u for u in self.users if u.email.lower() == email.lower()), None)

    def user_by_name(self, username: str) -> RemoteUser | None:
        return next((u for u in self.users if u.username == username), None)


class Server:
    """One server, one admin API key. `wandb` is imported here, only when a command runs."""

    def __init__(self, url: str, key: str, verify: bool | str = True, timeout: int = 60) -> None:
        import requests
        import wandb

        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.verify = verify
        self.key = key
        try:
            self.api = wandb.Api(api_key=key, overrides={"base_url": self.url}, timeout=timeout)
            self.caller = self.api.viewer.username
        except Exception as err:  # the SDK raises several types for a bad key or URL
            raise KitError(
                f"could not sign in to {self.url} with the given API key: {_short(err)}",
                fix="set WANDB_API_KEY to an instance admin's key (or `wandb-kit login`)",
                exit_code=EXIT_FAILED,
            ) from err
        self.http.auth = (self.caller, key)  # SCIM: Basic base64(username:API-KEY)

    # -- reading ------------------------------------------------------------------------------
    def scim_status(self) -> tuple[bool, str]:
        import requests

        try:
            r = self.http.get(
                f"{self.url}/scim/Users",
                params={"filter": f'userName eq "{self.caller}"'},
                timeout=30,
            )
        except requests.RequestException as err:
            return False, f"/scim/Users did not answer ({_short(err)})"
        if r.status_code == 200:
            return True, ""
        return False, f"/scim/Users answered HTTP {r.status_code}"

    def read(self, team_names: set[str]) -> Remote:
        from wandb.errors import CommError

        remote = Remote(self.caller)
        remote.scim, remote.scim_reason = self.scim_status()
        try:
            sdk_users = self.api.users("")
        except (CommError, Exception) as err:
            raise KitError(
                f"listing users on {self.url} failed: {_short(err)}",
                fix="people commands need an instance admin's API key (WANDB_API_KEY)",
                exit_code=EXIT_FAILED,
            ) from err
        scim_users = self._scim_users() if remote.scim else {}
        names = set(team_names)
        for u in sdk_users:
            attrs = u._attrs  # noqa: SLF001 - the SDK's own parsed fields (UserFragment)
            names.update(u.teams or [])
            s = scim_users.get(attrs.get("username"))
            remote.users.append(
                RemoteUser(
                    username=attrs.get("username") or "",
                    email=attrs.get("email") or "",
                    admin=bool(s["organizationRole"] == "admin") if s else bool(attrs.get("admin")),
                    active=bool(s["active"]) if s else attrs.get("deletedAt") is None,
                    scim_id=s["id"] if s else None,
                )
            )
        if remote.scim:
            names.update(g["displayName"] for g in self._scim_list("Groups"))
        roles = {
            (t["teamName"], name): t["roleName"]
            for name, s in scim_users.items()
            for t in s.get("teamRoles") or []
        }
        for name in sorted(names):
            team = self.team(name)
            if team is None:
                continue
            rows = []
            for m in team.members:
                a = m._attrs  # noqa: SLF001
                service = a.get("accountType") == "SERVICE"
                role = "admin" if a.get("admin") else "member"
                role = roles.get((name, a.get("username")), role)
                rows.append(
                    RemoteMember(
                        team=name,
                        username=a.get("username"),
                        email=a.get("email"),
                        name=a.get("name") or "",
                        role=role,
                        service=service,
                        pending=bool(a.get("pending")),
                        handle=m,
                        api_key=a.get("apiKey") if service else None,
                    )
                )
            remote.teams[name] = rows
        service_names = {m.username for ms in remote.teams.values() for m in ms if m.service}
        remote.users = [u for u in remote.users if u.username not in service_names]
        return remote

    def team(self, name: str):
        try:
            team = self.api.team(name)
            team.members  # noqa: B018 - loads it; a missing team is KeyError('members')
        except KeyError:
            return None
        except Exception:  # noqa: BLE001 - unreadable (not found / refused) is "absent"
            return None
        return team

    def _scim_list(self, kind: str) -> list[dict]:
        r = self.http.get(f"{self.url}/scim/{kind}", params={"count": 9999}, timeout=60)
        self._scim_ok(r, f"GET /scim/{kind}")
        return r.json().get("Resources") or []

    def _scim_users(self) -> dict[str | None, dict]:  # a null userName reads as None
        return {u["userName"]: u for u in self._scim_list("Users")}

    def _scim_ok(self, r, what: str) -> None:
        if r.status_code not in (200, 201, 204):
            try:
                detail = r.json().get("detail") or r.text[:200]
            except ValueError:
                detail = r.text[:200]
            raise KitError(
                f"SCIM {what} answered HTTP {r.status_code}: {detail}",
                fix="check the server's log; re-run `wandb-kit people apply` once fixed "
                "(it continues where it stopped)",
                exit_code=EXIT_FAILED,
            )

    # -- changing -----------------------------------------------------------------------------
    def create_user(self, email: str, username: str | None, admin: bool, scim: bool) -> str:
        """Returns the new user's username."""
        if scim and username:
            r = self.http.post(
                f"{self.url}/scim/Users",
                json={
                    "schemas": [SCIM_USER],
                    "userName": username,
                    "emails": [{"primary": True, "value": email}],
                },
                timeout=60,
            )
            self._scim_ok(r, f"POST /scim/Users ({email})")
            if admin:
                self.scim_patch_user(
                    r.json()["id"],
                    [{"op": "replace", "path": "organizationRole", "value": "admin"}],
                    email,
                )
            return r.json()["userName"]
        try:
            user = self.api.create_user(email, admin=admin)
        except Exception as err:
            raise KitError(
                f"creating user {email} failed: {_short(err)}",
                fix="check the server's seat limit and log; re-run apply when fixed",
                exit_code=EXIT_FAILED,
            ) from err
        return user.username

    def scim_id(self, username: str) -> str:
        r = self.http.get(
            f"{self.url}/scim/Users", params={"filter": f'userName eq "{username}"'}, timeout=60
        )
        self._scim_ok(r, "GET /scim/Users")
        found = r.json().get("Resources") or []
        if not found:
            raise KitError(f"SCIM does not know user {username}", exit_code=EXIT_FAILED)
        return found[0]["id"]

    def scim_patch_user(self, scim_id: str, operations: list[dict], who: str) -> None:
        r = self.http.patch(
            f"{self.url}/scim/Users/{scim_id}",
            json={"schemas": [SCIM_PATCH], "Operations": operations},
            timeout=60,
        )
        self._scim_ok(r, f"PATCH /scim/Users ({who})")

    def create_team(self, name: str, admin_username: str | None) -> None:
        self.api.create_team(name, admin_username=admin_username)  # swallows its errors
        if self.team(name) is None:
            raise KitError(
                f"team {name} could not be created (createTeam gave no error, and the team "
                "cannot be read)",
                fix="the name may be taken by a user, or the key may not be an instance "
                "admin's; pick another team name or use an admin key",
                exit_code=EXIT_FAILED,
            )

    def invite(self, team: str, username: str, admin: bool) -> None:
        t = self.team(team)
        if t is None or not t.invite(username, admin=admin):
            raise KitError(
                f"adding {username} to team {team} failed (Team.invite returned False)",
                fix="check that the user exists and is active, and the server's log",
                exit_code=EXIT_FAILED,
            )

    def remove(self, member: RemoteMember) -> None:
        if not member.handle.delete():
            raise KitError(
                f"removing {member.username or member.email or member.name} from team "
                f"{member.team} failed (Member.delete returned False)",
                fix="check the server's log; remove them in the team's settings page",
                exit_code=EXIT_FAILED,
            )

    def create_service_account(self, team: str, name: str) -> str | None:
        """Returns its API key (kept out of every output), or None if the server refused."""
        t = self.team(team)
        member = t.create_service_account(name) if t is not None else None
        if member is None:
            return None
        return member._attrs.get("apiKey")  # noqa: SLF001


def is_kit_account(user: RemoteUser) -> bool:
    return user.email.lower() in KIT_EMAILS


def _short(err: Exception) -> str:
    from wandb_local_kit.core.redact import redact

    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return redact(text)[:300]
