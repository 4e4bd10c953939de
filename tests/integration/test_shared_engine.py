"""One Docker engine, many deployments (a lab host several people share): a deployment never acts on
containers that another `.env` made under the same project name, and a fresh `init`
picks a project name and a port that no other deployment on the engine uses.

"Another deployment" here is a real container on the engine labelled as compose labels
the containers it starts (project, settings file), created but never started: the
refusals must leave it exactly as it was.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from wandb_local_kit.core.envfile import read_env
from wandb_local_kit.stack import identity

from tests.integration.helpers import default_project_slot

pytestmark = pytest.mark.portable

OPERATIONS = [
    ("up",),
    ("down", "--volumes", "--yes"),
    ("backup",),
    ("restore", "{backup}", "--force"),
    ("upgrade", "--to", "0.99.0", "--skip-preflight"),
]


@pytest.fixture
def other_deployment(docker_client, test_image, tmp_path):
    """A container of project P made with someone else's settings file."""
    project = f"h25-shared-{uuid.uuid4().hex[:8]}"
    other_env = tmp_path / "someone-else" / ".env"
    container = docker_client.containers.create(
        test_image("s3"),
        name=f"{project}-wandb-1",
        labels={
            identity.PROJECT_LABEL: project,
            identity.ENV_LABEL: str(other_env),
            "com.docker.compose.service": "wandb",
        },
    )
    try:
        yield project, other_env, container
    finally:
        container.remove(force=True)


def _kit(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**base, "HOME": str(cwd), **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_an_operation_on_another_deployments_project_is_refused(
    operation, other_deployment, tmp_path
):
    project, other_env, container = other_deployment
    mine = tmp_path / "me" / ".env"
    made = _kit("init", "--env-file", str(mine), "--project", project, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    backup = tmp_path / "backups" / f"{project}-20260101T000000Z"
    args = [a.format(backup=backup) for a in operation]
    before = container.attrs
    result = _kit(*args, "--env-file", str(mine), cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out
    assert f"project {project!r}" in out and str(other_env) in out and str(mine) in out
    assert "--project NAME" in out
    container.reload()
    assert container.attrs["State"] == before["State"]  # never started, stopped or removed
    assert container.attrs["Id"] == before["Id"]


def test_preflight_names_the_other_deployment(other_deployment, tmp_path):
    project, other_env, _ = other_deployment
    mine = tmp_path / "me" / ".env"
    assert _kit("init", "--env-file", str(mine), "--project", project, cwd=tmp_path).returncode == 0
    result = _kit("preflight", "--env-file", str(mine), cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert (
        "[FAIL] project" in result.stdout.replace("[fail]", "[FAIL]") or "project" in result.stdout
    )
    assert str(other_env) in result.stdout


def test_a_fresh_init_picks_a_project_and_a_port_nobody_uses(docker_client, test_image, tmp_path):
    # A pretend deployment under the default project name would be "someone else's" to a
    # test running a real default deployment meanwhile (test_two_accounts): take turns.
    with default_project_slot():
        _fresh_init_picks_free_ones(docker_client, test_image, tmp_path)


def _fresh_init_picks_free_ones(docker_client, test_image, tmp_path):
    # Someone's deployment holds the default project name and the default port.
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", 8080))
        holder.listen()
    except OSError:
        holder.close()
        holder = None  # already held by something else on this host: just as good
    container = docker_client.containers.create(
        test_image("s3"),
        labels={identity.PROJECT_LABEL: "wandb", identity.ENV_LABEL: "/srv/alice/.env"},
    )
    try:
        result = _kit("init", "--env-file", "bob.env", cwd=tmp_path)
        again = _kit("init", "--env-file", "bob.env", cwd=tmp_path)  # keeps what it picked
    finally:
        container.remove(force=True)
        if holder:
            holder.close()
    assert result.returncode == 0, result.stderr
    values = read_env(tmp_path / "bob.env")
    assert values["COMPOSE_PROJECT_NAME"] != "wandb"
    assert values["COMPOSE_PROJECT_NAME"].startswith("wandb-")
    assert values["WANDB_PORT"] != "8080"
    assert values["WANDB_HOST"] == f"http://localhost:{values['WANDB_PORT']}"
    assert "picked project" in result.stdout and "picked port" in result.stdout
    assert again.returncode == 0
    assert read_env(tmp_path / "bob.env")["COMPOSE_PROJECT_NAME"] == values["COMPOSE_PROJECT_NAME"]
    assert read_env(tmp_path / "bob.env")["WANDB_PORT"] == values["WANDB_PORT"]
