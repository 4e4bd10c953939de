"""The headless first-user bootstrap on the kit's own server, with the admin API on
only while it runs.

The admin API (GLOBAL_ADMIN_API_KEY with GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS)
gives whoever holds the key from .env full admin rights, so the kit keeps it off. A
bootstrap (and `people --admin-api`) turns it on (recreating the wandb container), does
its work with the key from .env, and turns it off again whatever happened, under the
deployment's lock (`admin_api_on`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from wandb_local_kit.core.errors import KitError
from wandb_local_kit.server import client
from wandb_local_kit.stack.deployment import Deployment

ADMIN_SWITCH = "WANDB_ADMIN_API_ENABLED"


def run(deployment: Deployment, target: client.Target, email: str | None) -> dict:
    need_env(deployment, "--bootstrap")
    if deployment.values.get(ADMIN_SWITCH) == "true" or not target.is_local_stack:
        # On already (the user chose so), or not the stack this .env describes.
        result = client.bootstrap(target, email)
        result["admin_api"] = "left on (WANDB_ADMIN_API_ENABLED=true in .env)"
        return result
    client.check_bootstrap_email(email, deployment.values)
    instead = f"or sign up in the browser at {target.origin}/signup"
    with admin_api_on(deployment, target, "login --bootstrap", instead) as on:
        result = client.bootstrap(on, email)
    result["admin_api"] = "turned off again"
    return result


def need_env(deployment: Deployment, option: str) -> None:
    if not deployment.values:
        raise KitError(
            f"{option} needs the kit's .env (it holds the admin API key)",
            fix="run it on the server's machine, with --compose-dir/--env-file if elsewhere",
        )


@contextmanager
def admin_api_on(
    deployment: Deployment,
    target: client.Target,
    operation: str,
    instead: str,
    say: Callable[[str], None] = print,
) -> Iterator[client.Target]:
    """The admin API on for the body, under the deployment's lock, and off again however
    the body ends (an error, Ctrl-C): the key in .env must not stay an admin's. Yields the
    target as the server now runs (its values with the switch on). Left alone when .env
    has it on already (the user chose so). `instead`: the fix when the stack does not run
    here (the way without the admin API); `say`: where progress goes (stderr when
    standard output is JSON)."""
    if deployment.values.get(ADMIN_SWITCH) == "true":
        yield replace(target, values=dict(deployment.values))
        return
    if not _server_runs_here(deployment):
        raise KitError(
            "the admin API is off in .env, and the kit's stack does not run on this machine "
            f"to turn it on for `{operation}`",
            fix=f"start it here with `wandb-kit up` first, {instead}",
        )
    with deployment.locked(operation):
        say(f"turning the admin API on for `{operation}` (recreates the wandb container)")
        deployment.set_value(ADMIN_SWITCH, "true")
        try:
            deployment.compose.up()
            # The target was resolved before the switch: it must see the admin API on.
            yield replace(target, values=dict(deployment.values))
        finally:
            deployment.set_value(ADMIN_SWITCH, "false")
            say("turning the admin API off again")
            try:
                deployment.compose.up()
            except KitError as err:
                say(
                    f"warning: could not restart without the admin API ({err.problem}); "
                    "run `wandb-kit up` now: until then the server accepts the admin key"
                )


def _server_runs_here(deployment: Deployment) -> bool:
    try:
        services = deployment.compose.services()
    except KitError:
        return False
    return any(s.get("Service") == "wandb" and s.get("State") == "running" for s in services)
