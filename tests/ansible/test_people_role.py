"""The server role applies a lab's people file from a variable (tasks/people.yml).

The role's `validate` and `people` tasks run on the controller (`-c local`), as in a real
play, against the stand-in as a process with an Enterprise-tier license: the first run
reports changed, the second changed=0, check mode plans without changing, and neither the
admin key nor a service-account key reaches the output (no_log).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from tests.ansible.conftest import ANSIBLE_DIR, REPO, run_playbook, write_vars
from tests.sdk.conftest import StandIn
from tests.sdk.test_people import LAB, license_token


@pytest.fixture
def standin(tmp_path):
    server = StandIn(
        vol=tmp_path / "vol", extra_env={"LICENSE": license_token(flags=["enterprise"])}
    ).start()
    yield server
    server.stop()


KIT = [sys.executable, "-m", "wandb_local_kit"]


def play(
    tmp_path: Path,
    server: StandIn,
    lab: Path,
    keys: Path,
    *args: str,
    kit: list[str] | None = KIT,
    path: str | None = None,
):
    book = tmp_path / "people.yml"
    book.write_text(
        json.dumps(
            [
                {
                    "name": "People like the server role",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.include_role": {
                                "name": str(ANSIBLE_DIR / "roles" / "wandb_server"),
                                "tasks_from": name,
                            }
                        }
                        for name in ("validate", "people")
                    ],
                }
            ]
        )
    )
    vars_file = write_vars(
        tmp_path / "vars.json",
        {
            "ansible_python_interpreter": sys.executable,
            "wandb_server_host": server.url,
            "wandb_server_people_file": str(lab),
            "wandb_server_people_api_key": server.admin_key,
            "wandb_server_people_keys_dir": str(keys),
            **({"wandb_server_people_kit": kit} if kit is not None else {}),
        },
    )
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO / "deploy"), str(REPO)])
    return run_playbook(
        None,
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"@{vars_file}",
        *args,
        playbook=book,
        timeout=600,
        path=path,
    )


def test_role_applies_the_people_file_and_the_second_run_changes_nothing(tmp_path, standin):
    lab, keys = tmp_path / "lab.yaml", tmp_path / "keys"
    lab.write_text(LAB)

    # 20 changes: LAB's 19 plus eve, who is not a stand-in user on this server
    planned = play(tmp_path, standin, lab, keys, "--check")
    assert planned.returncode == 0, planned.explain()
    assert "20 change(s) planned" in planned.output
    # --check says what a real run would: changed, with the plan as the reason.
    assert planned.recap.get("changed") == 1, planned.explain()
    assert not keys.exists()

    first = play(tmp_path, standin, lab, keys)
    assert first.returncode == 0, first.explain()
    changed = first.changed_tasks()
    assert len(changed) == 1 and changed[0].endswith(
        "Apply the lab's people file (users, teams, roles, service accounts)."
    ), changed
    assert "20 change(s):" in first.output

    second = play(tmp_path, standin, lab, keys)
    assert second.returncode == 0, second.explain()
    assert second.recap.get("changed") == 0, second.explain()
    assert "0 change(s)" in second.output

    key_files = sorted(keys.iterdir())
    assert [p.name for p in key_files] == ["nlp--ci-nlp.key", "vision--ci-vision.key"]
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = path.read_text().strip()
        for run in (planned, first, second):
            assert key not in run.output
    for run in (planned, first, second):
        assert standin.admin_key not in run.output


def test_role_fails_naming_what_the_file_asks_that_the_server_cannot(tmp_path):
    server = StandIn(vol=tmp_path / "vol").start()  # no license: no service accounts
    try:
        lab = tmp_path / "lab.yaml"
        lab.write_text(LAB)
        run = play(tmp_path, server, lab, tmp_path / "keys")
        assert run.returncode != 0
        assert "not possible on this server" in run.output and "Enterprise" in run.output
        assert server.admin_key not in run.output
    finally:
        server.stop()


def test_role_finds_the_kit_next_to_ansible_playbook_without_an_activated_venv(tmp_path, standin):
    """venv/bin/ansible-playbook called directly: wandb-kit is not on PATH, yet the role
    finds the kit's command in the same venv."""
    lab, keys = tmp_path / "lab.yaml", tmp_path / "keys"
    lab.write_text(LAB)
    beside = Path(sys.executable).with_name("wandb-kit")
    assert beside.exists(), "the kit's venv has no wandb-kit script"
    run = play(tmp_path, standin, lab, keys, "--check", kit=None, path="/usr/bin:/bin")
    assert run.returncode == 0, run.explain()
    assert "20 change(s) planned" in run.output


def test_a_failure_says_why_and_how_to_fix_it(tmp_path, standin):
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB)
    missing = str(tmp_path / "nowhere" / "wandb-kit")
    run = play(tmp_path, standin, lab, tmp_path / "keys", kit=[missing])
    assert run.returncode != 0
    assert f"could not run {missing}" in run.output, run.explain()
    assert "wandb_server_people_kit" in run.output, run.explain()
    assert standin.admin_key not in run.output
    # The kit's own message (exit 2, bad input), never an empty reason.
    (tmp_path / "bad.yaml").write_text("users: [{email: not-an-email}]\n")
    bad = play(tmp_path, standin, tmp_path / "bad.yaml", tmp_path / "keys")
    assert bad.returncode != 0
    reason = re.search(r"people apply exited 2:\s*(\S.*)", bad.output)
    assert reason and "it printed no reason" not in reason.group(1), bad.explain()
    assert standin.admin_key not in bad.output
