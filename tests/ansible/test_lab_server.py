"""`make lab-server`: one command gives a newcomer a local lab server to try the
playbook on, reachable over ssh with the inventory it prints; `make lab-server-stop`
removes it."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from wandb_local_kit.testing import free_loopback_port

from tests.ansible.conftest import ANSIBLE_DIR, REPO, ansible_playbook_bin
from tests.integration.conftest import docker_client, test_image  # noqa: F401

SCRIPT = REPO / "tests" / "images" / "lab-server" / "lab-server.sh"


@pytest.mark.integration
def test_make_lab_server_starts_one_the_playbook_reaches_and_stop_removes_it(
    test_image,  # noqa: F811
    tmp_path,
):
    test_image("lab-server")  # built (or the test says how to build it)
    name = f"kit-test-labsrv-{uuid.uuid4().hex[:6]}"
    env = dict(
        os.environ,
        KIT_LAB_NAME=name,
        KIT_LAB_SSH_PORT=str(free_loopback_port()),
        KIT_LAB_WANDB_PORT=str(free_loopback_port()),
        KIT_LAB_DIR=str(tmp_path / "lab"),  # not a newcomer's own build/lab-server
    )
    try:
        started = subprocess.run(
            ["make", "-s", "lab-server"], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
        inventory = tmp_path / "lab" / "inventory.ini"
        assert f"inventory: {inventory}" in started.stdout
        ping = subprocess.run(
            [str(ansible_playbook_bin()).replace("ansible-playbook", "ansible"), "-i",
             str(inventory), "wandb_servers", "-b", "-m", "ansible.builtin.ping"],
            cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=120,
            env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False"),
        )  # fmt: skip
        assert ping.returncode == 0 and '"pong"' in ping.stdout, ping.stdout + ping.stderr
    finally:
        stopped = subprocess.run(
            ["make", "-s", "lab-server-stop"], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert stopped.returncode == 0, stopped.stderr
    gone = subprocess.run(["docker", "container", "inspect", name], capture_output=True)
    assert gone.returncode != 0, f"{name} is still there"
