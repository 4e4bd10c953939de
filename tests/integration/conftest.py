"""Fixtures for integration tests: a real Docker engine and the offline test images.

Without Docker these tests skip with a how-to, except when KIT_REQUIRE_DOCKER=1
(CI), where a missing engine or image fails loudly instead.
"""

from __future__ import annotations

import os

import pytest

from tests.require import unavailable

# testcontainers reads these at import time. Ryuk (its reaper) cannot be pulled on
# offline hosts, and inside a container it would otherwise report the docker0
# gateway instead of the published loopback ports.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

IMAGE_PREFIX = os.environ.get("KIT_IMAGE_PREFIX", "wandb-kit-test/")
HOW_TO = (
    "start Docker (e.g. `sudo scripts/provision-docker.sh`), then build the test images "
    "with `scripts/make-base-image.sh && scripts/build-images.sh` (or run `make test`)"
)


def _require_docker() -> bool:
    return os.environ.get("KIT_REQUIRE_DOCKER") == "1"


def _unavailable(reason: str):
    unavailable(reason, HOW_TO)


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as err:  # any failure to reach the engine means "no Docker here"
        _unavailable(f"no Docker engine answered ({type(err).__name__})")
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client):
    """Returns a function giving the tag of a built offline test image, e.g. 'mysql'."""
    import docker.errors

    def get(name: str) -> str:
        tag = f"{IMAGE_PREFIX}{name}:test"
        try:
            docker_client.images.get(tag)
        except docker.errors.ImageNotFound:
            _unavailable(f"test image {tag} is not built")
        return tag

    return get


@pytest.fixture(scope="session")
def server_image(test_image) -> str:
    """The W&B image for a test that picks its image itself (`init --image`, a user's own
    suite): the real-server lane's (KIT_REAL_IMAGE, wandb_local_kit.testing.real_lane),
    otherwise the stand-in's, which must be built. A portable test asks for this instead of
    naming the stand-in's image (tests/lanes.py holds it to that)."""
    from wandb_local_kit.testing import real_lane

    return real_lane().image or test_image("wandb-standin")


@pytest.fixture(scope="session")
def server_license() -> str:
    """The license for such a test's .env: the real-server lane's (KIT_REAL_LICENSE_FILE),
    or "" (the stand-in runs unlicensed, as a default `init` leaves it)."""
    from wandb_local_kit.testing import real_lane

    return real_lane().license


@pytest.fixture(scope="session")
def stacks(wandb_stack_factory, docker_client, test_image, server_image):
    """The kit's pytest plugin factory, running the kit's compose files with the
    offline stand-in images; in the real-server lane, that lane's W&B image and the
    production images of the stores and Caddy (KIT_REAL_STORES=offline: the offline ones).
    The private ACME CA that stands for Let's Encrypt runs the offline Caddy image in
    both."""
    from wandb_local_kit.testing import real_lane

    lane = real_lane()
    if lane.image and lane.stores == "production":
        _require_production_images(docker_client, wandb_stack_factory.compose_dir)
        needed = ("caddy",)
    else:
        needed = ("mysql", "s3", "aws-cli", "caddy")
    for name in needed:
        test_image(name)
    wandb_stack_factory.test_images = True
    return wandb_stack_factory


def _require_production_images(docker_client, compose_dir) -> None:
    """Fails every test that starts a stack, naming the fix, when a production image the
    lane runs beside W&B is not on this engine (the tests never pull)."""
    import docker.errors
    from wandb_local_kit.testing import production_store_images

    missing = []
    for image in production_store_images(compose_dir):
        try:
            docker_client.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        pytest.fail(
            "the real-server lane runs MySQL, SeaweedFS, the AWS CLI and Caddy on their "
            f"production images, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on this Docker engine: "
            f"`docker pull {' '.join(missing)}` (or load them), or run the lane with "
            "KIT_REAL_STORES=offline for the kit's offline test images "
            "(docs/real-server-lane.md)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def wheelhouse():
    """The kit's wheel and every dependency's, in a directory any account can read
    (as on an air-gapped host: root's Python under /root is not other accounts' to run)."""
    import shutil
    import tempfile
    from pathlib import Path

    from tests.wheel_build import build_kit_wheel

    where = Path(tempfile.mkdtemp(prefix="kit-wheelhouse-"))
    where.chmod(0o755)
    build_kit_wheel(where, with_deps=True)
    for wheel in where.iterdir():
        wheel.chmod(0o644)
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def lab_member():
    """A fresh non-root account in the docker group, removed afterwards: (name, home)."""
    import pwd
    import shutil
    import subprocess
    import uuid
    from pathlib import Path

    from tests.integration.helpers import SYSTEM_PYTHON

    if os.geteuid() != 0:
        unavailable("creating the test account needs root (CI runs as root)")
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: install Debian's python3 (and python3-venv)")
    name = f"kit{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--create-home", "--groups", "docker", name], check=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    yield name, home
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)
