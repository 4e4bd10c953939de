"""The kit as a user gets it from `pip install wandb-local-kit`: the wheel, installed
into a fresh virtualenv, run from a directory outside the checkout with the checkout
nowhere on sys.path: init, up (the stand-in server image), login --bootstrap, health,
smoke --only basics, down --volumes --yes, and a user's own pytest file using the
`wandb_server` fixture."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import venv
from pathlib import Path

import pytest
from wandb_local_kit.testing import free_loopback_port

from tests.integration.helpers import with_license
from tests.wheel_build import build_kit_wheel

pytestmark = pytest.mark.portable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, server_image):
    """A fresh virtualenv with the wheel (and its `testing` extra) installed."""
    # Asked for so that a missing stand-in image skips (or fails in CI) with its how-to
    # before the wheel is built; in the real-server lane it is the lane's image.
    del server_image
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_kit_wheel(base / "dist")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         f"{wheel}[testing]"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


def _user_env(home: Path) -> dict[str, str]:
    """A user's shell: no checkout on PYTHONPATH, own HOME and kit home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WANDB_"))}
    env.update(
        HOME=str(home),
        WANDB_KIT_HOME=str(home / "kit"),
        NETRC=str(home / ".netrc"),
        WANDB_CONFIG_DIR=str(home / ".config" / "wandb"),
        WANDB_DIR=str(home),
        WANDB_SILENT="true",
    )
    return env


def test_the_installed_wheel_runs_the_whole_journey_outside_the_checkout(
    installed, tmp_path, server_image, server_license
):
    home = tmp_path / "user"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = _user_env(home)
    kit = installed / "bin" / "wandb-kit"

    def run(*args, timeout=600):
        result = subprocess.run(
            [str(kit), *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
        )
        return result

    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c",
         "import wandb_local_kit as k, wandb_local_kit.core.locations as l; "
         "print(k.__file__); print(l.compose_dir())"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    module_path, compose_dir = where.stdout.split()
    assert str(installed) in module_path and str(ROOT) not in module_path
    assert compose_dir.startswith(str(installed)) and compose_dir.endswith("_compose")

    port = free_loopback_port()
    project = f"kit-test-wheel-{port}"
    init = run(
        "init",
        "--host", f"http://localhost:{port}",
        "--image", server_image,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    env_file = home / "kit" / ".env"
    assert env_file.is_file() and oct(env_file.stat().st_mode & 0o777) == "0o600"
    text = env_file.read_text()
    assert f"WANDB_PORT='{port}'" in text
    # Whatever init picked (`wandb-2` when the README journey's `wandb` runs alongside).
    text = re.sub(
        r"^COMPOSE_PROJECT_NAME=.*$", f"COMPOSE_PROJECT_NAME='{project}'", text, flags=re.M
    )
    env_file.write_text(with_license(text, server_license))
    try:
        up = run("up", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        boot = run("login", "--bootstrap", "--email", "ada@lab.test")
        assert boot.returncode == 0, boot.stdout + boot.stderr
        health = run("health")
        assert health.returncode in (0, 1), health.stdout + health.stderr  # 1: plain http
        smoke = run("smoke", "--only", "basics", timeout=900)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    finally:
        down = run("down", "--volumes", "--yes")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "data volumes deleted" in down.stdout


def test_a_users_pytest_file_gets_a_live_server_from_the_plugin(installed, tmp_path):
    home = tmp_path / "user"
    home.mkdir()
    users_tests = tmp_path / "their-project"
    users_tests.mkdir()
    (users_tests / "test_logging.py").write_text(
        textwrap.dedent(
            """
            import os

            import wandb


            def test_my_logging(wandb_server):
                os.environ.update(wandb_server.sdk_env())
                run = wandb.init(project="p", mode="online")
                run.log({"x": 1})
                run.finish()
                api = wandb.Api()
                assert api.run(f"{run.entity}/p/{run.id}").summary["x"] == 1
            """
        )
    )
    env = _user_env(home)
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--wandb-kit-test-images", "test_logging.py"],
        cwd=users_tests, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
