"""A smoke check whose precondition is missing is SKIPPED, saying what is missing and how
to get it; never a failure, never a raw exception text.

* `teams` decides before it creates anything: a key that is not an instance admin's, or a
  server without an Enterprise license (team service accounts need one), is a skip with
  the reason and the fix; the two teams are not created on such a server.
* A check whose optional library is absent, or installed but failing to import (a missing
  shared library: libsndfile, libtorch), is a skip naming the extra to install, in the
  JSON report and on the console alike.

Everything runs against the stand-in process and the real SDK, `wandb-kit smoke` in a
subprocess; the missing libraries are made missing in that subprocess (and its workers)
by a sitecustomize on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests

from tests.sdk.conftest import REPO, StandIn
from tests.sdk.test_people import license_token

ENTERPRISE = {"LICENSE": license_token(flags=["enterprise"])}

# Imported by every Python process started with this directory on PYTHONPATH (the smoke
# command and each of its workers): BLOCK_MODULES are absent, as if not installed;
# BROKEN_MODULES are installed but their import fails as a missing shared library makes it.
SITECUSTOMIZE = textwrap.dedent(
    """
    import os, sys

    for name in filter(None, os.environ.get("BLOCK_MODULES", "").split(",")):
        sys.modules[name] = None

    class _Broken:
        names = set(filter(None, os.environ.get("BROKEN_MODULES", "").split(",")))

        def find_spec(self, name, path=None, target=None):
            if name in self.names:
                raise OSError(f"cannot load library 'lib{name}.so': no such file")
            return None

    sys.meta_path.insert(0, _Broken())
    """
)


def smoke(server: StandIn, tmp_path, key: str, only: str, extra_env: dict | None = None):
    """`wandb-kit smoke --only ONLY` with this key: (JSON checks by name, process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_API_KEY=key, HOME=str(tmp_path / "home"), COLUMNS="250")
    env.update(extra_env or {})
    report = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", server.url]
        + ["--only", only, "--json", str(report), "--check-timeout", "300"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {c["check"]: c for c in json.loads(report.read_text())["checks"]}, proc


def entity_exists(server: StandIn, name: str) -> bool:
    query = "query($n: String!) { entity(name: $n) { name } }"
    r = requests.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": {"n": name}},
        auth=("api", server.admin_key),
        timeout=30,
    )
    return r.json()["data"]["entity"] is not None


@pytest.mark.standin_only(
    "STANDIN_ knob: a fresh stand-in and the ordinary user STANDIN_USERS seeds (server.user_key)"
)
def test_teams_with_a_key_that_is_not_an_instance_admins_is_skipped(tmp_path):
    # bob: an ordinary user of a licensed server (the stand-in's second user).
    server = StandIn(vol=tmp_path / "vol", extra_env=ENTERPRISE).start()
    try:
        checks, proc = smoke(server, tmp_path, server.user_key, "teams")
        teams = checks["teams"]
        assert teams["status"] == "skipped", teams
        assert "needs an instance admin's key" in teams["detail"], teams["detail"]
        assert "KeyError" not in teams["detail"] and "'members'" not in teams["detail"]
        assert "wandb-kit login" in teams["detail"]  # how to use an admin's key
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert not entity_exists(server, "wandb-kit-smoke")
    finally:
        server.stop()


@pytest.mark.standin_only("own stand-in process: a fresh, unlicensed stand-in")
def test_teams_without_an_enterprise_license_is_skipped_before_creating_teams(tmp_path):
    server = StandIn(vol=tmp_path / "vol").start()  # no LICENSE: the free tier
    try:
        checks, proc = smoke(server, tmp_path, server.admin_key, "teams")
        teams = checks["teams"]
        assert teams["status"] == "skipped", teams
        assert "needs an Enterprise license" in teams["detail"], teams["detail"]
        assert "WANDB_LICENSE" in teams["detail"], teams["detail"]  # how to give one
        assert proc.returncode == 0
        # Decided before acting: teams cannot be deleted, so none may be left behind.
        assert not entity_exists(server, "wandb-kit-smoke")
        assert not entity_exists(server, "wandb-kit-smoke-outside")
    finally:
        server.stop()


@pytest.mark.standin_only(
    "own stand-in process: a fresh stand-in with GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION"
)
def test_teams_refused_service_accounts_are_a_skip_with_the_reason(tmp_path):
    # Licensed, but the server turns team service accounts off: known only by asking.
    env = {**ENTERPRISE, "GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION": "true"}
    server = StandIn(vol=tmp_path / "vol", extra_env=env).start()
    try:
        checks, proc = smoke(server, tmp_path, server.admin_key, "teams")
        teams = checks["teams"]
        assert teams["status"] == "skipped", teams
        assert "service account" in teams["detail"], teams["detail"]
        assert "Traceback" not in proc.stdout + proc.stderr
    finally:
        server.stop()


@pytest.mark.portable
def test_missing_or_broken_optional_libraries_skip_naming_the_extra(standin, tmp_path):
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {
        "PYTHONPATH": str(block),
        "BLOCK_MODULES": "torch,moviepy",  # not installed
        "BROKEN_MODULES": "soundfile,plotly",  # installed, but their import fails
    }
    checks, proc = smoke(
        standin, tmp_path, standin.admin_key, "torch,video,audio-histogram,plots,html", env
    )
    out = proc.stdout + proc.stderr
    for name, extra in (
        ("torch", "torch"),
        ("video", "media"),
        ("audio-histogram", "media"),
        ("plots", "media"),
    ):
        check = checks[name]
        assert check["status"] == "skipped", check
        assert f"pip install 'wandb-local-kit[{extra}]'" in check["detail"], check["detail"]
    assert "cannot load library" in checks["audio-histogram"]["detail"]  # why it is missing
    assert checks["html"]["status"] == "passed"  # the checks that need nothing still run
    assert proc.returncode == 0, out[-3000:]
    # The console names the extra too (not eaten as markup by the table).
    assert "pip install 'wandb-local-kit[torch]'" in proc.stdout, proc.stdout[-3000:]
    assert "pip install 'wandb-local-kit[media]'" in proc.stdout, proc.stdout[-3000:]
