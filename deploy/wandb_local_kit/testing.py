"""pytest plugin: a live W&B server for tests, from the kit's own compose files.

Registered through the `pytest11` entry point, so any project that installs the
kit can write:

    def test_my_logging(wandb_server):
        os.environ.update(wandb_server.sdk_env())
        run = wandb.init(project="p"); run.log({"x": 1}); run.finish()
        assert wandb.Api().run(f"{run.entity}/p/{run.id}").summary["x"] == 1

`wandb_server` is session-scoped: one stack per test session, brought up with
testcontainers' DockerCompose under a unique project name on free loopback ports,
torn down (volumes included) at the end, with every service's logs printed when a
test that used it failed. Options: --wandb-kit-storage, --wandb-kit-tls,
--wandb-kit-test-images (use the offline stand-in images instead of the real ones).

The real-server lane (`real_lane`, `make test-real`): KIT_REAL_IMAGE=<image> with
KIT_REAL_LICENSE_FILE=<path> makes every stack run that W&B image with that license and
the kit's production compose files and no test overlay (lane_compose_files): the bundled
stores and Caddy on their production images (MySQL, SeaweedFS, the AWS CLI, Caddy: the
images .env.example names, pulled beforehand), or on the offline test images with
KIT_REAL_STORES=offline; KIT_REAL_URL=<url> with
KIT_REAL_ADMIN_KEY (environment only) names a server already running, for the SDK tests.

Under pytest-xdist the workers of one session share one stack: the first worker that
needs it starts it under a file lock and records it in a private state file, the
others read it; the controller process tears it down once every worker has ended.
Each worker gets a W&B project of its own (`wandb_project`, WANDB_PROJECT in sdk_env).

The kit's own integration tests use `wandb_stack_factory` to run several setups.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.stack import settings

# The private ACME CA of test-acme.yaml (host:port inside the stack).
TEST_ACME_CA = "acme-ca:9443"
# base64url of {"alg":"none"} . {"flags":["enterprise"]} . "test": not a real W&B license
STANDIN_ENTERPRISE_LICENSE = settings.STANDIN_ENTERPRISE_LICENSE

# The real-server lane's switch (environment variables; docs/testing.md, "The real-server lane").
REAL_IMAGE_ENV, REAL_LICENSE_FILE_ENV = "KIT_REAL_IMAGE", "KIT_REAL_LICENSE_FILE"
REAL_URL_ENV, REAL_ADMIN_KEY_ENV = "KIT_REAL_URL", "KIT_REAL_ADMIN_KEY"
# Which images the bundled stores and Caddy run in the lane: production (as a lab runs
# them) or offline (the kit's test images, for a machine that cannot pull).
REAL_STORES_ENV, REAL_STORES_CHOICES = "KIT_REAL_STORES", ("production", "offline")
# The .env keys naming the production images of the services beside W&B.
STORE_IMAGE_KEYS = ("MYSQL_IMAGE", "SEAWEEDFS_IMAGE", "STORAGE_INIT_IMAGE", "CADDY_IMAGE")


class RealLaneError(ValueError):
    """The switch is half set: what is missing, and how to set it."""


@dataclass(frozen=True)
class RealLane:
    """The real-server lane as the environment sets it; off when neither image nor url."""

    image: str = ""
    license: str = field(default="", repr=False)
    url: str = ""
    admin_key: str = field(default="", repr=False)
    stores: str = "production"

    @property
    def on(self) -> bool:
        return bool(self.image or self.url)

    @property
    def target(self) -> str:
        """What the lane runs against, in words: the image, the URL, or both."""
        return " and ".join(x for x in (self.image, self.url) if x)


def real_lane(environ: dict[str, str] | None = None) -> RealLane:
    """The switch read from the environment; RealLaneError when it is half set (an image
    without a readable, non-empty license file, a URL without its admin key)."""
    env = os.environ if environ is None else environ
    image = env.get(REAL_IMAGE_ENV, "").strip()
    url = env.get(REAL_URL_ENV, "").strip().rstrip("/")
    license_file = env.get(REAL_LICENSE_FILE_ENV, "").strip()
    admin_key = env.get(REAL_ADMIN_KEY_ENV, "").strip()
    stores = env.get(REAL_STORES_ENV, "").strip() or REAL_STORES_CHOICES[0]
    problems, license = [], ""
    if stores not in REAL_STORES_CHOICES:
        problems.append(
            f"{REAL_STORES_ENV}={stores} is neither production (the stores' production "
            "images, pulled beforehand) nor offline (the kit's offline test images)"
        )
    if image:
        if not license_file:
            problems.append(
                f"{REAL_IMAGE_ENV} needs {REAL_LICENSE_FILE_ENV}=<path of a file holding "
                "the server's license>"
            )
        else:
            try:
                license = Path(license_file).read_text().strip()
            except (OSError, UnicodeDecodeError) as err:
                problems.append(f"{REAL_LICENSE_FILE_ENV}={license_file} cannot be read: {err}")
            else:
                if not license:
                    problems.append(f"{REAL_LICENSE_FILE_ENV}={license_file} is empty")
    if url:
        if not url.startswith(("http://", "https://")):
            problems.append(f"{REAL_URL_ENV}={url} is no http:// or https:// URL")
        if not admin_key:
            problems.append(
                f"{REAL_URL_ENV} needs {REAL_ADMIN_KEY_ENV} in the environment: the API key "
                "of an instance admin of that server"
            )
    if problems:
        raise RealLaneError("the real-server lane is half set: " + "; ".join(problems))
    return RealLane(image=image, license=license, url=url, admin_key=admin_key, stores=stores)


def production_store_images(compose_dir: Path) -> list[str]:
    """The production images of MySQL, SeaweedFS, the AWS CLI and Caddy, as the kit pins
    them in .env.example: what the real-server lane's stacks run beside W&B."""
    example = settings.example_values(compose_dir)
    return [example[key] for key in STORE_IMAGE_KEYS]


# The one test overlay the real-server lane keeps: the private ACME CA that stands for
# Let's Encrypt, which cannot reach a test machine (test-acme.yaml, the ACME test only).
LANE_HARNESS = frozenset({"test-acme.yaml"})


def lane_compose_files(files: list[str], stores: str) -> list[str]:
    """The compose files of a real-server lane's stack: the kit's production files, the
    ACME test's CA, and with offline stores (KIT_REAL_STORES=offline) the overlays that
    swap the stores' and Caddy's offline images in (test-images-*.yaml). No other test
    overlay: not the stand-in's (test.yaml), not the harness's faster health checks."""
    return [
        f
        for f in files
        if not f.startswith("test")
        or f in LANE_HARNESS
        or (stores == "offline" and f.startswith(settings.TEST_IMAGE_OVERLAY_PREFIX))
    ]


def free_port(address: str) -> int:
    """A port the OS considers free on address right now (the OS picks it, so tests
    never hard-code one); compose publishes on it moments later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def free_loopback_port() -> int:
    """A free port on 127.0.0.1 (free_port)."""
    return free_port("127.0.0.1")


@dataclass
class LiveServer:
    """A running stack: where it is, how to log in, and how to reach its parts."""

    base_url: str
    api_key: str = field(repr=False)
    project: str
    values: dict[str, str] = field(repr=False)  # the whole .env: passwords, keys
    env_file: Path
    compose_dir: Path
    files: list[str]
    ca_file: Path | None = None
    _compose: object = field(default=None, repr=False)
    # Under pytest-xdist, the W&B project of this worker (WANDB_PROJECT in sdk_env), so
    # workers sharing the stack never write into each other's project.
    wandb_project: str | None = None
    # Set by start(): seconds from `compose up` to a healthy stack.
    startup_seconds: float = 0.0

    def sdk_env(self) -> dict[str, str]:
        """Environment that points the wandb SDK at this server."""
        env = {"WANDB_BASE_URL": self.base_url, "WANDB_API_KEY": self.api_key}
        if self.wandb_project:
            env["WANDB_PROJECT"] = self.wandb_project
        if self.ca_file:
            env.update(SSL_CERT_FILE=str(self.ca_file), REQUESTS_CA_BUNDLE=str(self.ca_file))
        return env

    def deployment(self):
        """The stack as every kit command sees it (wandb_local_kit.stack.deployment.Deployment)."""
        from wandb_local_kit.stack.deployment import Deployment

        return Deployment.load(self.compose_dir, self.env_file)

    def compose(self):
        return self.deployment().compose

    def logs(self) -> str:
        result = self.compose().run(
            "logs", "--no-color", "--tail", "300", capture=True, check=False
        )
        return result.stdout + result.stderr

    def down(self, volumes: bool = False) -> None:
        self.compose().down(volumes=volumes)

    def up(self) -> None:
        self.compose().up(timeout_s=300)
        self.export_ca()

    def export_ca(self) -> None:
        """Copies out the root CA clients must trust: Caddy's internal one (TLS=internal)
        or the test ACME CA's (TLS=acme with test-acme.yaml). A new data volume means
        a new CA, so this runs after every start."""
        from wandb_local_kit.stack.deployment import CADDY_ROOT_CA

        tls = self.values.get("WANDB_TLS")
        if tls == "internal":
            service = "caddy"
        elif tls == "acme" and "test-acme.yaml" in self.files:
            service = "acme-ca"
        else:
            return
        self.ca_file = self.env_file.with_name(f"{self.project}-root-ca.crt")
        self.compose().run("cp", f"{service}:{CADDY_ROOT_CA}", str(self.ca_file))


def _state(server: LiveServer) -> dict:
    return {
        "base_url": server.base_url,
        "api_key": server.api_key,
        "project": server.project,
        "values": server.values,
        "env_file": str(server.env_file),
        "compose_dir": str(server.compose_dir),
        "files": server.files,
        "ca_file": str(server.ca_file) if server.ca_file else None,
    }


def _from_state(state: dict) -> LiveServer:
    ca = state.get("ca_file")
    return LiveServer(
        base_url=state["base_url"],
        api_key=state["api_key"],
        project=state["project"],
        values=state["values"],
        env_file=Path(state["env_file"]),
        compose_dir=Path(state["compose_dir"]),
        files=state["files"],
        ca_file=Path(ca) if ca else None,
    )


def docker_host_address() -> str:
    """This machine's address on Docker's default bridge (docker0's gateway, e.g.
    172.17.0.1). Processes on this machine and containers on any of its networks reach a
    port published there; the LAN does not. A test stack serves its bucket there, on a
    free port of its own, as a lab server serves it on its LAN address: one name that
    clients and the wandb container both reach, and no test overlay."""
    import docker
    import docker.errors

    client = docker.from_env()
    try:
        bridge = client.networks.get("bridge")
    except docker.errors.NotFound:
        raise RuntimeError(
            "this Docker engine has no default bridge network (docker0), where the kit's "
            "test stacks publish their bucket: start dockerd without --bridge=none"
        ) from None
    finally:
        client.close()
    address = bridge_ipv4((bridge.attrs.get("IPAM") or {}).get("Config") or [])
    if not address:
        raise RuntimeError("Docker's default bridge network has no IPv4 address on this machine")
    return address


def bridge_ipv4(ipam_configs: list[dict]) -> str | None:
    """The IPv4 gateway among a network's IPAM configs (an IPv6-enabled bridge lists its
    IPv6 subnet too, in either order); the subnet's first host when the engine leaves the
    gateway out."""
    for cfg in ipam_configs:
        try:
            subnet = ipaddress.ip_network(cfg.get("Subnet", ""), strict=False)
        except ValueError:
            continue
        if subnet.version == 4:
            return str(cfg.get("Gateway") or next(subnet.hosts()))
    return None


class StackFactory:
    def __init__(self, compose_dir: Path, test_images: bool, keep: bool = False):
        self.compose_dir = compose_dir
        self.test_images = test_images
        self.keep = keep
        self.stacks: list[LiveServer] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="wandb-kit-stacks-"))

    def env_values(
        self, storage: str = "embedded", tls: str = "off", **overrides: str
    ) -> dict[str, str]:
        project = f"kit-test-{uuid.uuid4().hex[:8]}"
        values = settings.example_values(self.compose_dir)
        values.update(
            COMPOSE_PROJECT_NAME=project,
            WANDB_STORAGE=storage,
            WANDB_TLS=tls,
            WANDB_BIND="127.0.0.1",
            # a placeholder; in the stand-in's convention (tests/standin/license.py) an
            # Enterprise-tier license, so team service accounts and SCIM can be tested
            WANDB_LICENSE=STANDIN_ENTERPRISE_LICENSE,
            WANDB_CPUS="2",
            WANDB_MEMORY="2g",
            # A throwaway test server: its admin API key is the tests' API key
            # (LiveServer.api_key), so the admin API stays on, unlike the kit's default.
            WANDB_ADMIN_API_ENABLED="true",
        )
        if tls == "off":
            port = free_loopback_port()
            values.update(WANDB_PORT=str(port), WANDB_HOST=f"http://localhost:{port}")
        else:
            https, http = free_loopback_port(), free_loopback_port()
            # ACME needs a DNS name (test-acme.yaml resolves it inside the stack).
            name = "wandb.kit-acme.test" if tls == "acme" else "localhost"
            values.update(
                WANDB_HTTPS_PORT=str(https),
                WANDB_HTTP_PORT=str(http),
                WANDB_HOST=f"https://{name}:{https}",
            )
        if tls == "acme" and self.test_images:
            values.update(
                WANDB_ACME_EMAIL="admin@kit-acme.test",
                WANDB_ACME_CA=f"https://{TEST_ACME_CA}/acme/local/directory",
            )
        if storage == "external":
            # The bucket on this machine's Docker bridge address, on a port of its own
            # (docker_host_address): stacks side by side never collide, and nothing
            # outside the machine reaches it.
            address = docker_host_address()
            port = free_port(address)
            values.update(
                WANDB_BUCKET_BIND=address,
                WANDB_BUCKET_PUBLIC_URL=f"{settings.bucket_scheme(tls)}://{address}:{port}",
            )
        if self.test_images:
            prefix = os.environ.get("KIT_IMAGE_PREFIX", "wandb-kit-test/")
            values["KIT_TEST_IMAGE_PREFIX"] = prefix
            values["WANDB_IMAGE"] = f"{prefix}wandb-standin:test"
        lane = real_lane()
        if lane.image:
            # The real-server lane: that image and license, the kit's production settings
            # for the W&B service (an override, as a test's own image, still wins).
            values.update(WANDB_IMAGE=lane.image, WANDB_LICENSE=lane.license, KIT_STANDIN="false")
        values.update(overrides)
        out = settings.derive(settings.generate_secrets(values), test=self.test_images)
        if lane.image:
            files = lane_compose_files(out["COMPOSE_FILE"].split(":"), lane.stores)
            out["COMPOSE_FILE"] = ":".join(files)
        return out

    def start(self, storage: str = "embedded", tls: str = "off", **overrides: str) -> LiveServer:
        from testcontainers.compose import DockerCompose

        values = self.env_values(storage, tls, **overrides)
        project = values["COMPOSE_PROJECT_NAME"]
        env_file = self._tmp / f"{project}.env"
        write_private(env_file, render((self.compose_dir / ".env.example").read_text(), values))
        files = values["COMPOSE_FILE"].split(":")
        compose = DockerCompose(
            context=str(self.compose_dir),
            compose_file_name=files,
            env_file=str(env_file),
            wait=True,
        )
        server = LiveServer(
            base_url=values["WANDB_HOST"],
            api_key=values["WANDB_ADMIN_API_KEY"],
            project=project,
            values=values,
            env_file=env_file,
            compose_dir=self.compose_dir,
            files=files,
            _compose=compose,
        )
        self.stacks.append(server)
        started = time.monotonic()
        compose.start()
        server.startup_seconds = time.monotonic() - started
        server.export_ca()
        return server

    def stop(self, server: LiveServer) -> None:
        if server in self.stacks:
            self.stacks.remove(server)
        if not self.keep:
            server.down(volumes=True)

    def close(self) -> None:
        for server in list(self.stacks):
            try:
                self.stop(server)
            except Exception as err:  # teardown must go on for the other stacks
                print(f"wandb-kit: could not tear down {server.project}: {err}")


def pytest_addoption(parser):
    group = parser.getgroup("wandb-kit", "live W&B server (wandb-local-kit)")
    group.addoption(
        "--wandb-kit-storage",
        default="embedded",
        choices=settings.STORAGE_CHOICES,
        help="storage of the wandb_server stack",
    )
    group.addoption(
        "--wandb-kit-tls",
        default="off",
        choices=settings.TLS_CHOICES,
        help="TLS of the wandb_server stack",
    )
    group.addoption(
        "--wandb-kit-test-images",
        action="store_true",
        default=os.environ.get("KIT_TEST_IMAGES") == "1",
        help="use the offline stand-in images (KIT_TEST_IMAGES=1)",
    )
    group.addoption(
        "--wandb-kit-compose-dir",
        default=str(settings.default_compose_dir()),
        help="the kit's compose directory",
    )
    group.addoption(
        "--wandb-kit-keep",
        action="store_true",
        help="leave stacks running after the session (for debugging)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for server in getattr(item, "_wandb_kit_servers", []):
            report.sections.append((f"wandb-kit logs: {server.project}", server.logs()))


@pytest.fixture(scope="session")
def wandb_stack_factory(request):
    opts = request.config.option
    factory = StackFactory(
        Path(opts.wandb_kit_compose_dir), opts.wandb_kit_test_images, keep=opts.wandb_kit_keep
    )
    yield factory
    factory.close()


# Set by the xdist controller before its workers start (they inherit it): the private
# directory holding the shared stack's lock and state file.
SHARED_DIR_ENV = "WANDB_KIT_XDIST_DIR"


def _is_xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", 0))


def pytest_configure(config):
    if _is_xdist_controller(config) and SHARED_DIR_ENV not in os.environ:
        shared = Path(tempfile.mkdtemp(prefix="wandb-kit-xdist-"))  # mode 0700
        os.environ[SHARED_DIR_ENV] = str(shared)
        config._wandb_kit_shared_dir = shared


def pytest_unconfigure(config):
    """The controller ends after every worker: the last one out tears the stack down."""
    shared = getattr(config, "_wandb_kit_shared_dir", None)
    if shared is None:
        return
    os.environ.pop(SHARED_DIR_ENV, None)
    state = shared / "server.json"
    try:
        if state.exists() and not config.option.wandb_kit_keep:
            _from_state(json.loads(state.read_text())).down(volumes=True)
    except Exception as err:  # report it; the rest of the session's teardown goes on
        print(f"wandb-kit: could not tear down the shared stack: {err}")
    finally:
        if not config.option.wandb_kit_keep:
            shutil.rmtree(shared, ignore_errors=True)


def _shared_server(shared: Path, start) -> LiveServer:
    """The session's one stack: started by the first worker that asks (under an
    exclusive flock), read from the state file by every other."""
    fd = os.open(shared / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = shared / "server.json"
        if state.exists():
            return _from_state(json.loads(state.read_text()))
        server = start()
        write_private(state, json.dumps(_state(server)))
        with open(shared / "started.log", "a") as log:  # one line per stack started
            log.write(f"{server.project} {os.environ.get('PYTEST_XDIST_WORKER', '')}\n")
        return server
    finally:
        os.close(fd)


@pytest.fixture(scope="session")
def _wandb_session_server(request, wandb_stack_factory):
    opts = request.config.option

    def start() -> LiveServer:
        return wandb_stack_factory.start(opts.wandb_kit_storage, opts.wandb_kit_tls)

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = os.environ.get(SHARED_DIR_ENV)
    if not (worker and shared and hasattr(request.config, "workerinput")):
        return start()
    server = _shared_server(Path(shared), start)
    # The factory must not tear it down with this worker: the controller does.
    if server in wandb_stack_factory.stacks:
        wandb_stack_factory.stacks.remove(server)
    server.wandb_project = f"tests-{worker}"
    return server


@pytest.fixture
def wandb_server(request, _wandb_session_server):
    """The session's live W&B server (see the module docstring)."""
    request.node._wandb_kit_servers = [_wandb_session_server]
    return _wandb_session_server


__all__ = [
    "LiveServer",
    "RealLane",
    "RealLaneError",
    "StackFactory",
    "docker_host_address",
    "free_loopback_port",
    "free_port",
    "real_lane",
]
