"""Runs a real OpenID provider (tests/oidc/provider.js: panva's oidc-provider, OpenID
Certified) as a process on this machine, for doctor's SSO checks. Test
infrastructure only.

Its npm packages are installed with `npm ci` from tests/oidc/package-lock.json into
build/oidc-provider (once; again when the lock file changes), so every run uses the
same pinned versions. Needs node (>= 20) and npm; without them tests skip with a
how-to, except under KIT_REQUIRE_DOCKER=1 (CI), where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.require import unavailable

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "oidc"
INSTALL = ROOT / "build" / "oidc-provider"
HOW_TO = (
    "install Node.js >= 20 with npm (e.g. `apt-get install nodejs npm`); npm needs the registry"
)


def _unavailable(reason: str):
    unavailable(reason, HOW_TO)


def install() -> Path:
    """build/oidc-provider with the pinned packages and provider.js (idempotent,
    safe for parallel test workers)."""
    if not shutil.which("node") or not shutil.which("npm"):
        _unavailable("node or npm is not installed")
    INSTALL.mkdir(parents=True, exist_ok=True)
    with open(INSTALL / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = (SOURCE / "package-lock.json").read_bytes()
        have = INSTALL / "package-lock.json"
        done = INSTALL / "node_modules" / ".package-lock.json"
        if not done.exists() or not have.exists() or have.read_bytes() != wanted:
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(SOURCE / name, INSTALL / name)
            r = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=INSTALL, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            if r.returncode != 0:
                _unavailable(f"`npm ci` of the test OpenID provider failed: {r.stderr[-500:]}")
        shutil.copyfile(SOURCE / "provider.js", INSTALL / "provider.js")
    return INSTALL


@dataclass(frozen=True)
class Provider:
    issuer: str
    port: int

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@contextmanager
def running(**settings: str) -> Iterator[Provider]:
    """A provider configured by provider.js' OIDC_* variables (see there), on a free
    port; stopped on exit."""
    where = install()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    env.update(settings)
    proc = subprocess.Popen(
        ["node", "provider.js"], cwd=where, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not line:
            proc.kill()
            raise RuntimeError(f"the test OpenID provider did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
        info = json.loads(line)
        yield Provider(info["issuer"], info["port"])
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
