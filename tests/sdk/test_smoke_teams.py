"""The `teams` smoke check proves team permissions: it passes against a server that keeps a
team's projects private, fails when the server leaks them (the stand-in's
`leak-private-projects` fault), and is skipped, saying why, without an Enterprise license."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from tests.sdk.conftest import REPO, StandIn
from tests.sdk.test_people import license_token


def smoke_teams(tmp_path, extra_env: dict) -> tuple[dict, StandIn]:
    server = StandIn(vol=tmp_path / "vol", extra_env=extra_env).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(
            WANDB_API_KEY=server.admin_key,
            HOME=str(tmp_path / "home"),
            PYTHONPATH=os.pathsep.join([str(REPO / "deploy"), str(REPO)]),
        )
        report = tmp_path / "smoke.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "wandb_local_kit.cli",
                "smoke",
                "--url",
                server.url,
                "--only",
                "teams",
                "--json",
                str(report),
                "--check-timeout",
                "180",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert report.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
        result = json.loads(report.read_text())["checks"][0]
        result["returncode"] = proc.returncode
        result["output"] = proc.stdout + proc.stderr
        return result, server
    finally:
        server.stop()


def team_members(server: StandIn, team: str) -> list[str]:
    q = "query($n: String!) { entity(name: $n) { members { username accountType } } }"
    r = requests.post(
        f"{server.url}/graphql",
        json={"query": q, "variables": {"n": team}},
        auth=("api", server.admin_key),
        timeout=30,
    )
    return [m["username"] for m in r.json()["data"]["entity"]["members"]]


ENTERPRISE = {"LICENSE": license_token(flags=["enterprise"])}


@pytest.mark.standin_only("own stand-in process: a fresh stand-in, restarted on its volume")
def test_teams_check_passes_and_removes_its_accounts(tmp_path):
    result, server = smoke_teams(tmp_path, ENTERPRISE)
    assert result["status"] == "passed", result
    assert result["returncode"] == 0
    assert "refused to an outsider" in result["compared"]
    server.start()  # same volume: the service accounts it made are gone again
    try:
        assert team_members(server, "wandb-kit-smoke") == ["admin"]
        assert team_members(server, "wandb-kit-smoke-outside") == ["admin"]
    finally:
        server.stop()


@pytest.mark.standin_only("fault mode: STANDIN_FAULTS=leak-private-projects")
def test_teams_check_fails_when_the_server_leaks_a_private_project(tmp_path):
    result, _ = smoke_teams(tmp_path, {**ENTERPRISE, "STANDIN_FAULTS": "leak-private-projects"})
    assert result["status"] == "failed", result
    assert "outsider refused" in result["detail"] and "read" in result["detail"]
    assert result["returncode"] == 1


@pytest.mark.standin_only(
    "own stand-in process: a fresh stand-in with the stand-in's test-license convention"
)
@pytest.mark.parametrize("license_claims", [None, {"flags": []}], ids=["none", "free"])
def test_teams_check_skips_without_enterprise_license(tmp_path, license_claims):
    env = {"LICENSE": license_token(**license_claims)} if license_claims is not None else {}
    result, _ = smoke_teams(tmp_path, env)
    assert result["status"] == "skipped", result
    assert "Enterprise license" in result["detail"]
