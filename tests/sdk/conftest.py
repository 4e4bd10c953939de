"""Fixtures: the W&B stand-in as a subprocess, and an isolated wandb environment per test.

The stand-in (tests/standin) runs as `python -m tests.standin` on an ephemeral loopback port
with a temporary data dir; tests drive the real wandb SDK against it over HTTP, unpatched.
One server serves the whole session; tests stay independent by using their own projects.

The real-server lane (wandb_local_kit.testing.real_lane, `make test-real`): with KIT_REAL_URL
(and KIT_REAL_ADMIN_KEY) the `standin` fixture is that running server; with KIT_REAL_IMAGE
(and KIT_REAL_LICENSE_FILE) it is the session's kit stack of that image (embedded storage,
no test overlay for the W&B service). Either way it is a `RealServer`, with the attributes
portable tests use (url, admin_key); standin_only tests are deselected (tests/lanes.py).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from wandb_local_kit.testing import STANDIN_ENTERPRISE_LICENSE, real_lane

from tests import childproc

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_api_key() -> str:
    return "local-" + secrets.token_hex(20)


@dataclass
class StandIn:
    """A stand-in process. `start()` waits for /ready; `stop()` ends it (SIGTERM)."""

    vol: Path
    port: int = field(default_factory=free_port)
    admin_key: str = field(default_factory=new_api_key)
    # a second, ordinary user with a personal entity of its own (entity/permission tests)
    user_name: str = "bob"
    user_key: str = field(default_factory=new_api_key)
    host: str | None = None  # HOST; defaults to the URL clients use
    extra_env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30, wait_ready: bool = True) -> StandIn:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(
            STANDIN_VOL=str(self.vol),
            HOST=self.host or self.url,
            GLOBAL_ADMIN_API_KEY=self.admin_key,
            GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS="true",
            STANDIN_USERS=f"{self.user_name}:{self.user_key}",
        )
        env.update(self.extra_env)
        self.vol.mkdir(parents=True, exist_ok=True)
        self.log_path = self.vol.parent / f"{self.vol.name}-standin.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.standin",
                "--port",
                str(self.port),
                "--host-bind",
                "127.0.0.1",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if not wait_ready:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stand-in exited early; log:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"stand-in not ready after {timeout}s; log:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def peak_rss_mib(self) -> float:
        """Peak resident memory of the server process so far (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("VmHWM not found")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@dataclass
class RealServer:
    """A W&B server this session did not start (the real-server lane): where it is and
    an instance admin's API key. No second user, no data dir, no log of its own: tests
    that need those are standin_only and deselected in this lane."""

    url: str
    admin_key: str = field(repr=False)
    user_name: str | None = None
    user_key: str | None = field(default=None, repr=False)
    vol: Path | None = None
    host: str | None = None

    @property
    def port(self) -> int:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def log(self) -> str:
        return ""  # the server's log is its operator's, not this session's

    def stop(self) -> None:
        pass  # not ours to stop


def external_backends() -> dict:
    """STANDIN_TEST_MYSQL / STANDIN_TEST_BUCKET run the suite with MYSQL / BUCKET set
    (e.g. against the MySQL and S3 stand-in containers); unset means embedded mode."""
    env = {}
    if os.environ.get("STANDIN_TEST_MYSQL"):
        env["MYSQL"] = os.environ["STANDIN_TEST_MYSQL"]
    if os.environ.get("STANDIN_TEST_BUCKET"):
        env.update(
            BUCKET=os.environ["STANDIN_TEST_BUCKET"],
            BUCKET_QUEUE="internal://",
            AWS_REGION=os.environ.get("STANDIN_TEST_AWS_REGION", "us-east-1"),
        )
    return env


needs_local_files = pytest.mark.skipif(
    bool(os.environ.get("STANDIN_TEST_BUCKET")),
    reason="with BUCKET set, clients get presigned S3 URLs: HOST and the stand-in's own "
    "URL signing are not involved",
)


@pytest.fixture(scope="session")
def standin(request, tmp_path_factory):
    lane = real_lane()
    if lane.url:  # a server already running
        yield RealServer(url=lane.url, admin_key=lane.admin_key)
        return
    if lane.image:  # the session's stack of that image (testing.py applies the switch)
        stack = request.getfixturevalue("_wandb_session_server")
        yield RealServer(url=stack.base_url, admin_key=stack.api_key, host=stack.base_url)
        return
    # Licensed like the kit's test stacks (Enterprise tier in the stand-in's convention), so
    # the whole smoke suite, teams included, runs against it.
    server = StandIn(
        vol=tmp_path_factory.mktemp("standin") / "vol",
        extra_env={**external_backends(), "LICENSE": STANDIN_ENTERPRISE_LICENSE},
    ).start()
    yield server
    server.stop()


@pytest.fixture
def wandb_env(tmp_path, monkeypatch, standin):
    """Point the SDK at the stand-in; keep every file it writes inside tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    for k in list(os.environ):
        if k.startswith("WANDB_"):
            monkeypatch.delenv(k)
    env = {
        "HOME": str(home),
        "NETRC": str(home / ".netrc"),
        "WANDB_DIR": str(tmp_path),
        "WANDB_CONFIG_DIR": str(home / ".config" / "wandb"),
        "WANDB_CACHE_DIR": str(home / ".cache" / "wandb"),
        "WANDB_DATA_DIR": str(home / ".local" / "share" / "wandb"),
        "WANDB_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "WANDB_BASE_URL": standin.url,
        "WANDB_API_KEY": standin.admin_key,
        "WANDB_SILENT": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_X_DISABLE_STATS": "true",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    yield env
    import wandb

    wandb.teardown()  # the next test starts with a fresh SDK singleton and sidecar


@pytest.fixture
def project() -> str:
    """A project of its own for each test, so tests sharing the server stay independent."""
    return "p-" + uuid.uuid4().hex[:10]


@pytest.fixture
def api(wandb_env):
    import wandb

    return wandb.Api(timeout=60)


def run_python(
    code: str, env: dict, cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run SDK code in a child process (a process of its own, like a user's script)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    full_env.update(env)
    proc = childproc.run(
        [sys.executable, "-c", childproc.sdk_code(code)], env=full_env, cwd=cwd, timeout=timeout
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc
