"""Team permissions on the user's own server: a member's run in a private team project is
readable by a teammate and refused to someone outside the team.

A W&B admin cannot obtain another person's API key through any API (generateApiKey always
makes a key for the caller), so the check acts as three team service accounts: two in the
team `wandb-kit-smoke`, one outsider in `wandb-kit-smoke-outside`. The two teams are made
once and reused (W&B's APIs cannot delete teams); the service accounts are removed at the
end. Team service accounts need an Enterprise license on Self-Managed servers: without one
the check is SKIPPED, saying so.
"""

from __future__ import annotations

from wandb_local_kit.smoke import sdk
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


def _team(api, name: str):
    try:
        team = api.team(name)
        team.members  # noqa: B018 - a missing team is KeyError('members')
        return team
    except KeyError:
        pass
    api.create_team(name)
    try:
        team = api.team(name)
        team.members  # noqa: B018
        return team
    except KeyError as err:
        raise CheckFailed(
            f"team {name} could not be created with the smoke key (createTeam); "
            "the teams check needs an instance admin's key"
        ) from err


def run_teams(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    admin = wandb.Api(api_key=ctx.api_key, overrides={"base_url": ctx.base_url}, timeout=60)
    team, outside = _team(admin, TEAM), _team(admin, OUTSIDE)
    created = []
    try:
        for where, label in ((team, "a"), (team, "b"), (outside, "outsider")):
            member = where.create_service_account(f"smoke-{ctx.tag}-{label}")
            if member is None:
                raise Skipped(
                    "needs team service accounts to act as several people (an admin cannot "
                    "get another user's API key); the server refused one: team service "
                    "accounts need an Enterprise license on Self-Managed servers"
                )
            created.append(member)
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
        expect("teammate reads the run (summary.secret)", 42, mate.run(path).summary.get("secret"))
        rec.compared_("a member's run in a private team project, read by a teammate")

        stranger = wandb.Api(api_key=keys[2], overrides={"base_url": ctx.base_url}, timeout=60)
        try:
            leaked = stranger.run(path).summary.get("secret")
        except Exception:  # noqa: BLE001 - refused: the SDK raises its own error types
            leaked = None
        expect_true(
            "outsider refused",
            leaked is None,
            f"a service account outside team {TEAM} read {path} (summary.secret={leaked}): "
            "the server does not keep team projects private",
        )
        rec.compared_("the same run refused to an outsider")
    finally:
        for member in created:
            member.delete()
