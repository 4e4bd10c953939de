"""The headless first-user bootstrap on the kit's own server, with the admin API on
only while it runs.

The admin API (GLOBAL_ADMIN_API_KEY with GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS)
gives whoever holds the key from .env full admin rights, so the kit keeps it off. A
bootstrap turns it on (recreating the wandb container), creates the user and key,
and turns it off again whatever happened, under the deployment's lock.
"""

from __future__ import annotations

from dataclasses import replace

from wandb_local_kit.core.errors import KitError
from wandb_local_kit.server import client
from wandb_local_kit.stack.deployment import Deployment

ADMIN_SWITCH = "WANDB_ADMIN_API_ENABLED"


def run(deployment: Deployment, target: client.Target, email: str | None) -> dict:
    if not deployment.values:
        raise KitError(
            "--bootstrap needs the kit's .env (it holds the admin API key)",
            fix="run it on the server's machine, with --compose-dir/--env-file if elsewhere",
        )
    if deployment.values.get(ADMIN_SWITCH) == "true" or not target.is_local_stack:
        # On already (the user chose so), or not the stack this .env describes.
        result = client.bootstrap(target, email)
        result["admin_api"] = "left on (WANDB_ADMIN_API_ENABLED=true in .env)"
        return result
    client.check_bootstrap_email(email, deployment.values)
    if not _server_runs_here(deployment):
        raise KitError(
            "the admin API is off in .env, and the kit's stack does not run on this machine "
            "to turn it on for the bootstrap",
            fix=f"start it here with `wandb-kit up` first, or sign up in the browser at "
            f"{target.origin}/signup",
        )
    with deployment.locked("login --bootstrap"):
        print("turning the admin API on for the bootstrap (recreates the wandb container)")
        deployment.set_value(ADMIN_SWITCH, "true")
        try:
            deployment.compose.up()
            # The target was resolved before the switch: it must see the admin API on.
            result = client.bootstrap(replace(target, values=dict(deployment.values)), email)
        finally:
            deployment.set_value(ADMIN_SWITCH, "false")
            print("turning the admin API off again")
            try:
                deployment.compose.up()
            except KitError as err:
                print(
                    f"warning: could not restart without the admin API ({err.problem}); "
                    "run `wandb-kit up` now: until then the server accepts the admin key"
                )
    result["admin_api"] = "turned off again"
    return result


def _server_runs_here(deployment: Deployment) -> bool:
    try:
        services = deployment.compose.services()
    except KitError:
        return False
    return any(s.get("Service") == "wandb" and s.get("State") == "running" for s in services)
