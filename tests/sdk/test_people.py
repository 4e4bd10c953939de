"""`wandb-kit people plan|apply|show` against the stand-in, driven as a user would: the CLI in
a process of its own, the real wandb SDK for runs and checks, SCIM read back over HTTP.

A fresh server per test (an Enterprise-licensed stand-in, `lab`), so each test stands alone;
the free-tier test uses the session's unlicensed stand-in.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import requests

from tests.sdk.conftest import StandIn, new_api_key

pytestmark = pytest.mark.standin_only(
    "own stand-in process: a fresh one per test, users seeded by STANDIN_USERS, its test licenses"
)

REPO = Path(__file__).resolve().parents[2]


def license_token(**claims) -> str:
    """A license in the stand-in's test convention (standin/license.py)."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.x"


LAB = """\
users:
  - email: admin@localhost
    username: admin
    admin: true
  - email: bob@localhost
    username: bob
  - email: eve@localhost
    username: eve
  - {email: ana@lab.org, username: ana}
  - {email: cy@lab.org, username: cy}
  - {email: dan@lab.org}
  - {email: eli@lab.org, username: eli}
  - {email: fay@lab.org, username: fay}
  - {email: gus@lab.org, username: gus}
  - {email: hal@lab.org, username: hal, admin: true}
teams:
  - name: vision
    members:
      - {user: ana, role: admin}
      - {user: bob, role: member}
      - {user: cy, role: viewer}
      - {user: dan@lab.org, role: member}
  - name: nlp
    members:
      - {user: eli, role: admin}
      - {user: fay, role: member}
      - {user: bob, role: viewer}
  - name: robots
    members:
      - {user: gus, role: admin}
      - {user: hal, role: member}
      - {user: ana, role: member}
service_accounts:
  - {name: ci-vision, team: vision}
  - {name: ci-nlp, team: nlp}
"""


class Lab:
    """One server, its known keys, and every output the kit printed (for the secret scan)."""

    def __init__(self, server: StandIn, tmp: Path, bob: str, eve: str) -> None:
        self.server, self.tmp, self.bob, self.eve = server, tmp, bob, eve
        self.home = tmp / "kit-home"
        self.outputs: list[str] = []

    def kit(self, *args: str, text: str | None = None) -> subprocess.CompletedProcess:
        argv = list(args)
        if text is not None:
            path = self.tmp / f"lab-{uuid.uuid4().hex[:6]}.yaml"
            path.write_text(text)
            argv.insert(1, str(path))
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(
            WANDB_API_KEY=self.server.admin_key,
            WANDB_KIT_HOME=str(self.home),
            HOME=str(self.tmp / "home"),
            PYTHONPATH=os.pathsep.join([str(REPO / "deploy"), str(REPO)]),
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "wandb_local_kit.cli",
                "people",
                *argv,
                "--url",
                self.server.url,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.tmp,
        )
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def apply(self, text: str, *extra: str, code: int = 0) -> dict:
        proc = self.kit("apply", "--json", *extra, text=text)
        assert proc.returncode == code, proc.stdout + proc.stderr
        return json.loads(proc.stdout)

    def scim_user(self, username: str) -> dict:
        r = requests.get(
            f"{self.server.url}/scim/Users",
            params={"filter": f'userName eq "{username}"'},
            auth=("admin", self.server.admin_key),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()["Resources"][0]

    def roles(self, username: str) -> dict[str, str]:
        return {t["teamName"]: t["roleName"] for t in self.scim_user(username)["teamRoles"]}

    def sdk_env(self, key: str) -> dict:
        home = self.tmp / f"sdk-{uuid.uuid4().hex[:6]}"
        home.mkdir()
        return {
            "HOME": str(home),
            "WANDB_DIR": str(home),
            "WANDB_CONFIG_DIR": str(home / "cfg"),
            "WANDB_CACHE_DIR": str(home / "cache"),
            "WANDB_DATA_DIR": str(home / "data"),
            "WANDB_BASE_URL": self.server.url,
            "WANDB_API_KEY": key,
            "WANDB_SILENT": "true",
            "WANDB_DISABLE_GIT": "true",
            "WANDB_X_DISABLE_STATS": "true",
        }

    def log_run(self, key: str, entity: str, project: str) -> subprocess.CompletedProcess:
        code = textwrap.dedent(f"""
            import wandb
            with wandb.init(entity={entity!r}, project={project!r},
                            settings=wandb.Settings(init_timeout=60)) as run:
                run.log({{"loss": 0.5}})
                print("RUN=" + run.path if isinstance(run.path, str) else "/".join(run.path))
        """)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(self.sdk_env(key))
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.fixture
def lab(tmp_path):
    bob, eve = new_api_key(), new_api_key()
    server = StandIn(
        vol=tmp_path / "vol",
        extra_env={
            "LICENSE": license_token(flags=["enterprise"], maxUsers=50),
            "STANDIN_USERS": f"bob:{bob},eve:{eve}",
        },
    ).start()
    yield Lab(server, tmp_path, bob, eve)
    server.stop()


def api_for(lab: Lab):
    import wandb

    return wandb.Api(api_key=lab.server.admin_key, overrides={"base_url": lab.server.url})


def test_lab_file_applies_and_a_second_apply_changes_nothing(lab):
    first = lab.apply(LAB)
    # 7 new users, 3 teams, 10 members less the 3 teams' creators, 2 service accounts
    assert first["changes"] == 7 + 3 + 7 + 2, first
    assert first["not_possible"] == []
    assert {u["email"] for u in first["new_users"]} == {
        f"{n}@lab.org" for n in ("ana", "cy", "dan", "eli", "fay", "gus", "hal")
    }
    assert lab.roles("ana") == {"vision": "admin", "robots": "member"}
    assert lab.roles("bob") == {"vision": "member", "nlp": "viewer"}
    assert lab.roles("cy") == {"vision": "viewer"}
    assert lab.scim_user("hal")["organizationRole"] == "admin"
    members = {m.name for m in api_for(lab).team("nlp").members}
    assert members == {"eli", "fay", "bob", "ci-nlp"}

    second = lab.apply(LAB)
    assert second["changes"] == 0 and second["applied"] == [], second
    plan = lab.kit("plan", text=LAB)
    assert plan.returncode == 0 and "0 change(s) planned" in plan.stdout


def test_role_change_is_applied_and_then_stable(lab):
    lab.apply(LAB)
    changed = LAB.replace("{user: bob, role: member}", "{user: bob, role: admin}").replace(
        "{user: cy, role: viewer}", "{user: cy, role: member}"
    )
    plan = lab.kit("plan", text=changed)
    assert "~ team vision: bob@localhost member -> admin" in plan.stdout, plan.stdout
    assert "~ team vision: cy@lab.org viewer -> member" in plan.stdout
    assert "2 change(s) planned" in plan.stdout
    assert lab.roles("bob")["vision"] == "member"  # plan changed nothing
    result = lab.apply(changed)
    assert result["changes"] == 2, result
    assert lab.roles("bob") == {"vision": "admin", "nlp": "viewer"}
    assert lab.roles("cy") == {"vision": "member"}
    assert lab.apply(changed)["changes"] == 0


def test_removal_keeps_people_without_prune_and_deactivates_with_it(lab):
    lab.apply(LAB)
    run = lab.log_run(lab.bob, "vision", "p-removal")
    assert run.returncode == 0, run.stderr
    without_bob = "\n".join(line for line in LAB.splitlines() if "bob" not in line) + "\n"

    kept = lab.apply(without_bob)
    assert kept["changes"] == 0, kept
    assert any("bob@localhost is not in the file; kept" in n for n in kept["notes"])
    assert lab.scim_user("bob")["active"] is True
    assert lab.roles("bob") == {"vision": "member", "nlp": "viewer"}

    pruned = lab.apply(without_bob, "--prune", "--yes")  # no terminal here: --yes
    assert "- user bob@localhost: deactivate (record and runs stay)" in pruned["applied"]
    assert lab.scim_user("bob")["active"] is False  # deactivated, not deleted
    assert lab.roles("bob") == {}
    # a deactivated user's key no longer works; the run they logged stays in the team
    r = requests.post(
        f"{lab.server.url}/graphql",
        json={"query": "{ viewer { id } }"},
        auth=("api", lab.bob),
        timeout=30,
    )
    assert r.status_code == 401
    runs = api_for(lab).runs("vision/p-removal")
    assert len(runs) == 1 and runs[0].summary["loss"] == 0.5
    assert lab.apply(without_bob, "--prune")["changes"] == 0


def test_show_writes_a_file_that_applies_with_zero_changes(lab):
    lab.apply(LAB)
    out = lab.tmp / "shown.yaml"
    proc = lab.kit("show", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "ci-vision" in text and "role: viewer" in text
    assert lab.apply(text)["changes"] == 0
    # and it is the same lab: every user, team, role and service account
    from wandb_local_kit.server.people import labfile

    shown, original = labfile.parse(text), labfile.parse(LAB)
    assert {u.email for u in shown.users} == {u.email for u in original.users}
    assert set(shown.service_accounts) == set(original.service_accounts)
    for team in original.teams:
        got = next(t for t in shown.teams if t.name == team.name)
        want = {(original.user(m.user).username or m.user, m.role) for m in team.members}
        assert {(m.user, m.role) for m in got.members} == {
            (u if u != "dan@lab.org" else "dan", r) for u, r in want
        }


BAD_FILES = [
    (
        "unknown key",
        ("{email: fay@lab.org, username: fay}", "{emial: fay@lab.org}"),
        "unknown key 'emial'",
    ),
    (
        "duplicate email",
        ("{email: gus@lab.org, username: gus}", "{email: eli@lab.org}"),
        "duplicate email eli@lab.org",
    ),
    (
        "unknown team",
        ("{name: ci-nlp, team: nlp}", "{name: ci-nlp, team: nlpp}"),
        "unknown team 'nlpp'",
    ),
    (
        "invalid role",
        ("{user: fay, role: member}", "{user: fay, role: owner}"),
        "invalid role 'owner'",
    ),
    (
        "member twice",
        ("{user: hal, role: member}", "{user: gus, role: member}"),
        "gus is listed twice",
    ),
]


@pytest.mark.parametrize(("what", "edit", "words"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_refused_before_any_change(lab, what, edit, words):
    before = lab.kit("show").stdout
    bad = LAB.replace(*edit)
    assert bad != LAB
    # the line the edit made (its last occurrence: a duplicate is reported where it repeats)
    line = max(i for i, text in enumerate(bad.splitlines(), 1) if edit[1] in text)
    for action in ("plan", "apply"):
        proc = lab.kit(action, text=bad)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"line {line}:" in proc.stderr and words in proc.stderr, proc.stderr
        assert "fix:" in proc.stderr and "nothing was changed" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert lab.kit("show").stdout == before  # not one user or team was created


def test_service_account_key_is_private_and_logs_to_its_team(lab):
    lab.apply(LAB)
    key_file = lab.home / "service-accounts" / "vision--ci-vision.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    key = key_file.read_text().strip()
    assert key.startswith("local-") and len(key) > 40
    lab.kit("plan", text=LAB)
    lab.kit("show")
    lab.kit("apply", text=LAB)
    for out in lab.outputs + [lab.server.log()]:
        assert key not in out  # planted-secret scan: the key is in no output and no log

    run = lab.log_run(key, "vision", "p-ci")
    assert run.returncode == 0, run.stderr
    runs = api_for(lab).runs("vision/p-ci")
    assert len(runs) == 1 and runs[0].summary["loss"] == 0.5
    # its team only: another team's project is refused
    assert lab.log_run(key, "robots", "p-ci").returncode != 0


def test_team_flow_member_logs_to_the_team_outsider_refused(lab):
    lab.apply(LAB)
    ok = lab.log_run(lab.bob, "vision", "tutorial")
    assert ok.returncode == 0, ok.stderr
    refused = lab.log_run(lab.eve, "vision", "tutorial")  # eve is in no team
    assert refused.returncode != 0
    assert "permission" in (refused.stderr + refused.stdout).lower()
    import wandb

    eve_api = wandb.Api(api_key=lab.eve, overrides={"base_url": lab.server.url})
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error types
        list(eve_api.runs("vision/tutorial"))
    assert len(api_for(lab).runs("vision/tutorial")) == 1
    # a viewer (bob in nlp) reads but cannot log
    assert lab.log_run(lab.bob, "nlp", "tutorial").returncode != 0


def test_free_tier_applies_what_it_can_and_names_the_rest(tmp_path):
    # A server with no license: the free tier (the shared `standin` is Enterprise-licensed).
    server = StandIn(vol=tmp_path / "vol").start()
    try:
        _free_tier_applies_what_it_can(Lab(server, tmp_path, server.user_key, ""))
    finally:
        server.stop()


def _free_tier_applies_what_it_can(lab: Lab):
    team = "t" + uuid.uuid4().hex[:8]
    text = textwrap.dedent(f"""\
        users:
          - {{email: admin@localhost, username: admin, admin: true}}
          - {{email: {team}-a@lab.org}}
          - {{email: {team}-b@lab.org}}
        teams:
          - name: {team}
            members:
              - {{user: {team}-a@lab.org, role: admin}}
              - {{user: {team}-b@lab.org, role: viewer}}
        service_accounts:
          - {{name: ci, team: {team}}}
    """)
    result = lab.apply(text, code=1)
    assert f"+ team {team} (team admin {team}-a@lab.org)" in result["applied"]
    blocked = " ".join(result["not_possible"])
    assert "View-Only role" in blocked and "Enterprise" in blocked
    assert "service account ci" in blocked and "Enterprise license" in blocked
    assert [m.name for m in api_for(lab).team(team).members] == [f"{team}-a"]
    again = lab.apply(text, code=1)
    assert again["changes"] == 0


def test_wrong_key_or_no_server_refused_without_traceback(lab):
    bad_key = new_api_key()
    env_key = lab.server.admin_key
    try:
        lab.server.admin_key = bad_key  # the kit sends WANDB_API_KEY=<this>
        proc = lab.kit("plan", text=LAB)
    finally:
        lab.server.admin_key = env_key
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "could not sign in" in proc.stderr and "fix:" in proc.stderr
    assert bad_key not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    # a key of someone who is not an instance admin: listing users is refused
    lab.server.admin_key = lab.bob
    try:
        proc = lab.kit("show")
    finally:
        lab.server.admin_key = env_key
    assert proc.returncode == 1 and "instance admin" in proc.stderr, proc.stderr
    lab.server.stop()
    proc = lab.kit("apply", text=LAB)
    assert proc.returncode == 3 and "does not answer" in proc.stderr, proc.stderr
