"""One Docker engine, two accounts (a shared lab host's goal): root (a checkout, its kit
home in WANDB_KIT_HOME) and a fresh member of the docker group (the kit installed from a
wheelhouse into their own virtualenv, its home the default ~/.config/wandb-kit) each run
a DEFAULT `init` and `up`. Only the server image is chosen (--image: the offline
stand-in); the project name and the port are init's own picks.

Both stacks serve, each with its own runs and its own key; the second `up` does not
recreate the first stack's server; each `down --volumes` removes its own volumes only.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import urllib.request

import pytest
from wandb_local_kit.core.envfile import read_env

from tests.integration.helpers import (
    ROOT,
    default_project_slot,
    install_kit_as,
    runner_as,
    wait_for,
    with_license,
)

pytestmark = pytest.mark.portable

PROJECT = "two-accounts"
# Logs one run marked with the account's name, then prints what its server holds in the
# project: both accounts use the same email, so on one shared server both runs would be
# under the same entity and project.
LOG_AND_LIST = f"""
import sys, wandb

run = wandb.init(project={PROJECT!r}, config={{"account": sys.argv[1]}})
run.log({{"loss": 0.5}})
run.finish()
api = wandb.Api(timeout=30)
runs = api.runs(f"{{api.default_entity}}/{PROJECT}")
print("ACCOUNTS", sorted(r.config.get("account") for r in runs))
"""


def _ready(url: str) -> int:
    with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
        return response.status


def _wandb_container(docker_client, project: str):
    (container,) = docker_client.containers.list(
        all=True,
        filters={"label": [f"com.docker.compose.project={project}",
                           "com.docker.compose.service=wandb"]},
    )  # fmt: skip
    return container


def _volumes(docker_client, project: str) -> set[str]:
    found = docker_client.volumes.list(filters={"label": f"com.docker.compose.project={project}"})
    return {v.name for v in found}


def test_two_accounts_share_one_engine(
    docker_client, server_image, server_license, lab_member, wheelhouse, tmp_path
):
    image = server_image
    user, home = lab_member

    # root: the checkout's kit, its home in a folder of its own (not the checkout's compose/).
    root_home = tmp_path / "root-kit"
    root_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WANDB_")},
        "HOME": str(tmp_path),
        "WANDB_KIT_HOME": str(root_home),
        "WANDB_DIR": str(tmp_path),
        "WANDB_SILENT": "true",
        "PYTHONPATH": f"{ROOT / 'deploy'}:{ROOT}",
    }

    def as_root(*cmd, timeout=600):
        result = subprocess.run(
            [*map(str, cmd)], cwd=tmp_path, env=root_env,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    def root_kit(*args, timeout=600):
        return as_root(sys.executable, "-m", "wandb_local_kit", *args, timeout=timeout)

    # the member: their own venv, the default kit home (~/.config/wandb-kit).
    member_env = {
        "HOME": str(home),
        "USER": user,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WANDB_DIR": str(home),
        "WANDB_SILENT": "true",
    }

    as_member = runner_as(user, home, member_env)
    bin_dir = install_kit_as(as_member, home, wheelhouse)

    def member_kit(*args, timeout=600):
        return as_member(bin_dir / "wandb-kit", *args, timeout=timeout)

    root_file, member_file = root_home / ".env", home / ".config" / "wandb-kit" / ".env"
    projects: list[str] = []
    # Init's default project (wandb) and port (8080) are shared by every default
    # deployment on this engine: hold the slot so that no other test's "default"
    # deployment comes and goes while ours are up (see default_project_slot).
    with default_project_slot():
        try:
            made = root_kit("init", "--image", image)
            assert made.returncode == 0, made.stdout + made.stderr
            root_file.write_text(with_license(root_file.read_text(), server_license))
            first = read_env(root_file)
            projects.append(first["COMPOSE_PROJECT_NAME"])
            up = root_kit("up", timeout=900)
            assert up.returncode == 0, up.stdout + up.stderr
            first_url = first["WANDB_HOST"]
            assert wait_for(lambda: _ready(first_url), 120, "root's server") == 200
            before = _wandb_container(docker_client, projects[0])
            started = before.attrs["State"]["StartedAt"]
            first_volumes = _volumes(docker_client, projects[0])
            assert first_volumes, "root's stack has no labelled volume"

            made = member_kit("init", "--image", image)
            assert made.returncode == 0, made.stdout + made.stderr
            member_file.write_text(with_license(member_file.read_text(), server_license))
            assert member_file.stat().st_uid == pwd.getpwnam(user).pw_uid
            second = read_env(member_file)
            projects.append(second["COMPOSE_PROJECT_NAME"])
            assert second["COMPOSE_PROJECT_NAME"] != first["COMPOSE_PROJECT_NAME"]
            assert second["WANDB_PORT"] != first["WANDB_PORT"]
            assert second["WANDB_HOST"] != first_url
            assert "picked project" in made.stdout and "picked port" in made.stdout
            up = member_kit("up", timeout=900)
            assert up.returncode == 0, up.stdout + up.stderr
            second_url = second["WANDB_HOST"]
            assert wait_for(lambda: _ready(second_url), 120, "the member's server") == 200

            # The second `up` left the first server alone: same container, same start.
            after = _wandb_container(docker_client, projects[0])
            assert after.id == before.id
            assert after.attrs["State"]["StartedAt"] == started
            assert after.attrs["State"]["Running"]
            second_volumes = _volumes(docker_client, projects[1])
            assert second_volumes and not second_volumes & first_volumes

            # Each account: a first user and key on its own server, a run logged with the
            # SDK, and that server holds that account's run only.
            for kit, run_as, python, who, url in (
                (root_kit, as_root, sys.executable, "root", first_url),
                (member_kit, as_member, bin_dir / "python", user, second_url),
            ):
                boot = kit("login", "--bootstrap", "--email", "ada@lab.test")
                assert boot.returncode == 0, boot.stdout + boot.stderr
                env = root_env if run_as is as_root else member_env
                env["WANDB_BASE_URL"] = url
                logged = run_as(python, "-c", LOG_AND_LIST, who, timeout=300)
                assert logged.returncode == 0, logged.stdout + logged.stderr
                assert f"ACCOUNTS {[who]!r}" in logged.stdout, logged.stdout

            # (--bootstrap restarted root's server with the admin API on and off again.)
            serving = _wandb_container(docker_client, projects[0]).id

            # The member's `down --volumes` removes the member's volumes only.
            down = member_kit("down", "--volumes", "--yes")
            assert down.returncode == 0, down.stdout + down.stderr
            assert _volumes(docker_client, projects[1]) == set()
            assert _volumes(docker_client, projects[0]) == first_volumes
            assert _ready(first_url) == 200
            assert _wandb_container(docker_client, projects[0]).id == serving

            down = root_kit("down", "--volumes", "--yes")
            assert down.returncode == 0, down.stdout + down.stderr
            assert _volumes(docker_client, projects[0]) == set()
        finally:
            for project in projects:  # whatever a failed step left behind
                subprocess.run(
                    ["docker", "compose", "-p", project, "down", "--volumes", "--timeout", "5"],
                    capture_output=True, timeout=300,
                )  # fmt: skip
