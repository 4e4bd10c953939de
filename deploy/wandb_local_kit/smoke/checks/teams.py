"""Team permissions on the user's own server: a member's run in a private team project is
readable by a teammate and refused to someone outside the team.

A W&B admin cannot obtain another person's API key through any API (generateApiKey always
makes a key for the caller), so the check acts as three team service accounts: two in the
team `wandb-kit-smoke`, one outsider in `wandb-kit-smoke-outside`. The two teams are made
once and reused (W&B's APIs cannot delete teams); the service accounts are removed at the
end. Its preconditions are decided before anything is created (teams cannot be deleted
again): a key that is not an instance admin's, or a server without an Enterprise license
(which team service accounts need on Self-Managed servers), SKIPS the check with the reason
and the fix, as does any later refusal ("not allowed" is not a broken server).
"""

from __future__ import annotations

from wandb_local_kit.smoke import evidence, sdk
from wandb_local_kit.smoke.context import (
    CheckFailed,
    Recorder,
    Skipped,
    SmokeContext,
    expect,
    expect_true,
)

TEAM = "wandb-kit-smoke"
OUTSIDE = "wandb-kit-smoke-outside"

NEEDS_ADMIN = (
    "needs an instance admin's key: it creates two teams and team service accounts, which "
    "only an instance admin may; the key given ({who}) is not one. Run smoke with an "
    "instance admin's key (WANDB_API_KEY, or `wandb-kit login` as an admin), or leave the "
    "check out with --skip teams"
)
NEEDS_LICENSE = (
    "needs an Enterprise license: it acts as team service accounts, which Self-Managed "
    "servers offer only with one ({why}). Set WANDB_LICENSE in the kit's .env to an "
    "Enterprise license and run `wandb-kit up`, or leave the check out with --skip teams"
)
# Words of a server's or the SDK's answer that mean "not allowed" (not "broken"): the
# check cannot prove anything with this key or license, which is a skip, not a failure.
REFUSED = ("permission", "forbidden", "not allowed", "unauthorized", "403", "license",
           "enterprise", "admin", "turned off", "disabled")  # fmt: skip


def _preconditions(ctx: SmokeContext, api) -> None:
    """Skips before anything is created (teams cannot be deleted again): the key must be an
    instance admin's, and the server must offer Enterprise features."""
    try:
        viewer = api.viewer._attrs  # noqa: SLF001 - the SDK's parsed UserFragment
    except Exception as err:  # noqa: BLE001 - the SDK raises several types for one cause
        raise CheckFailed(f"could not ask the server who the smoke key belongs to: {err}")
    if not viewer.get("admin"):
        raise Skipped(NEEDS_ADMIN.format(who=f"user {viewer.get('username') or '?'}"))
    why = _enterprise_missing(ctx, viewer.get("username") or "")
    if why:
        raise Skipped(NEEDS_LICENSE.format(why=why))


def _enterprise_missing(ctx: SmokeContext, username: str) -> str:
    """Why the server lacks Enterprise features, or "" when it has them. W&B's SCIM API is
    one of them on Self-Managed servers, as team service accounts are, and it can be asked
    without changing anything: an instance admin gets HTTP 200 only with the license."""
    import requests

    try:
        r = requests.get(
            f"{ctx.base_url.rstrip('/')}/scim/Users",
            params={"filter": f'userName eq "{username}"'},
            auth=(username, ctx.api_key),
            verify=ctx.ca_file or True,
            timeout=60,
        )
    except requests.RequestException as err:
        raise CheckFailed(f"could not ask the server's SCIM API whether it is licensed: {err}")
    if r.status_code == 200:
        return ""
    try:
        said = str(r.json().get("detail") or "")[:200]
    except ValueError:
        said = ""
    return f"its SCIM API, also an Enterprise feature, answered HTTP {r.status_code}" + (
        f": {said}" if said else ""
    )


def _refused(err: Exception) -> bool:
    text = f"{type(err).__name__} {err}".lower()
    return any(word in text for word in REFUSED)


def _team(api, name: str):
    """Team `name`, created when absent. The SDK answers a team it cannot read (absent, or
    hidden from this key) with KeyError('members'); a refusal is a skip with the reason."""
    for attempt in ("read", "create"):
        try:
            if attempt == "create":
                api.create_team(name)
            team = api.team(name)
            team.members  # noqa: B018 - loads it
            return team
        except KeyError:
            continue
        except Exception as err:  # noqa: BLE001 - the SDK raises its own error types
            if _refused(err):
                raise Skipped(
                    f"the server refused to {attempt} team {name} with the smoke key "
                    f"({_short(err)}); the check needs an instance admin's key"
                )
            raise CheckFailed(f"could not {attempt} team {name}: {_short(err)}")
    raise Skipped(
        f"the server did not create team {name} for the smoke key (createTeam was refused "
        "or ignored); the check needs an instance admin's key, and teams must be allowed "
        "on this server"
    )


def _short(err: Exception, limit: int = 300) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _service_accounts(ctx: SmokeContext, team, outside) -> list:
    """Two members of `team` and one of `outside`; the server refusing one is a skip."""
    created = []
    try:
        for where, label in ((team, "a"), (team, "b"), (outside, "outsider")):
            try:
                member = where.create_service_account(f"smoke-{ctx.tag}-{label}")
            except KeyError:  # the team listing came back empty: not for this key
                member = None
            if member is None:
                raise Skipped(
                    "needs team service accounts to act as several people (an admin cannot "
                    "get another user's API key); the server refused one: team service "
                    "accounts need an Enterprise license on Self-Managed servers, and must "
                    "not be turned off (GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION)"
                )
            created.append(member)
    except BaseException:
        _remove(created)
        raise
    return created


def _remove(members: list) -> None:
    for member in members:
        try:
            member.delete()
        except Exception:  # noqa: BLE001, S110 - removal is best effort; the verdict stands
            pass


def run_teams(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    admin = wandb.Api(api_key=ctx.api_key, overrides={"base_url": ctx.base_url}, timeout=60)
    _preconditions(ctx, admin)
    team, outside = _team(admin, TEAM), _team(admin, OUTSIDE)
    created = _service_accounts(ctx, team, outside)
    try:
        keys = [m._attrs.get("apiKey") for m in created]  # noqa: SLF001 - never printed
        expect_true("service-account keys", all(keys), "the team listing gave no apiKey")
        rec.compared_("2 team members and 1 outsider (team service accounts)")

        with wandb.init(
            entity=TEAM,
            project=ctx.project,
            name=f"teams-{ctx.tag}",
            tags=[ctx.tag, "wandb-kit-smoke"],
            dir=ctx.workdir,
            settings=sdk.settings(api_key=keys[0], base_url=ctx.base_url),
        ) as run:
            run.log({"secret": 42})
            path = sdk.run_path(run)
        rec.run_urls.append(sdk.run_url(ctx, path))

        mate = wandb.Api(api_key=keys[1], overrides={"base_url": ctx.base_url}, timeout=60)
        read_by_mate = _read_secret(mate, path)
        stranger = wandb.Api(api_key=keys[2], overrides={"base_url": ctx.base_url}, timeout=60)
        leaked = _read_secret(stranger, path)
        # Shown before the assertions, so a failing check still shows who read what.
        columns = ["reader", "their team", "summary.secret"]
        rec.show(
            evidence.table(
                f"who may read {path}, a private project of team {TEAM}",
                columns,
                [["teammate", TEAM, 42], ["outsider", OUTSIDE, "refused"]],
                columns,
                [
                    ["teammate", TEAM, "refused" if read_by_mate is None else read_by_mate],
                    ["outsider", OUTSIDE, "refused" if leaked is None else leaked],
                ],
                sides=("the permission rule", "what the server answered"),
            )
        )
        expect("teammate reads the run (summary.secret)", 42, read_by_mate)
        rec.compared_("a member's run in a private team project, read by a teammate")
        expect_true(
            "outsider refused",
            leaked is None,
            f"a service account outside team {TEAM} read {path} (summary.secret={leaked}): "
            "the server does not keep team projects private",
        )
        rec.compared_("the same run refused to an outsider")
    finally:
        _remove(created)


def _read_secret(api, path: str):
    """summary.secret of the run as this key sees it; None when the server refuses."""
    try:
        return api.run(path).summary.get("secret")
    except Exception:  # noqa: BLE001 - refused: the SDK raises its own error types
        return None
