"""`wandb-kit migrate` between two W&B stand-in processes (the fast variant; the same flow
between two real compose stacks, embedded -> external, is in
tests/integration/test_migrate_stacks.py). Real SDK, real CLI, real HTTP."""

from __future__ import annotations

import json

import pytest

from tests.integration import migrate_helpers as mh
from tests.sdk.conftest import StandIn

pytestmark = pytest.mark.standin_only(
    "own stand-in process: a source and a target stand-in process of its own"
)

PROJECT = "lab"
STEPS = 20000


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    src = StandIn(vol=tmp_path_factory.mktemp("src") / "vol").start()
    dst = StandIn(vol=tmp_path_factory.mktemp("dst") / "vol").start()
    made = mh.log_fixture(src.url, src.admin_key, tmp_path_factory.mktemp("fx"), PROJECT, STEPS)
    yield src, dst, made
    src.stop()
    dst.stop()


def test_dry_run_counts_and_changes_nothing(servers, tmp_path):
    src, dst, _ = servers
    env = mh.migrate_env(tmp_path, src.admin_key, dst.admin_key)
    result = mh.migrate(
        src.url, dst.url, tmp_path / "state.json", env, "--dry-run", "--project", PROJECT
    )
    assert result.returncode == 0, result.stderr
    # scalars STEPS + media 1 + 2 group members x 20 + eval 1 + 2 sweep runs x 1
    assert "9 run(s)" in result.stderr and f"{STEPS + 44} history rows" in result.stderr
    assert "4 artifact versions" in result.stderr and "1 sweep(s)" in result.stderr
    assert not (tmp_path / "state.json").exists()
    assert mh.inventory(dst.url, dst.admin_key, f"admin/{PROJECT}", tmp_path)["runs"] == []


def test_killed_halfway_then_rerun_verifies_with_no_duplicates(servers, tmp_path):
    src, dst, made = servers
    env = mh.migrate_env(tmp_path, src.admin_key, dst.admin_key)
    state = tmp_path / "state.json"
    scalars = f"admin/{PROJECT}/{made['scalars']}"

    seen = {}

    def mid_run(runs: dict) -> bool:
        # Killed while the 20000-step run is being written: it exists on the target, and
        # its history is not complete there (the SDK streams rows in batches, so
        # between none and most of them have arrived).
        if runs.get(scalars, {}).get("status") != "started":
            return False
        seen["rows"] = mh.rows_on(dst.url, dst.admin_key, scalars)
        return 0 <= seen["rows"] < STEPS

    at_kill = mh.kill_halfway(src.url, dst.url, state, env, until=mid_run)
    assert at_kill[scalars]["status"] == "started"

    result = mh.migrate(src.url, dst.url, state, env)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-5000:]
    assert "verification: 0 differences" in result.stdout
    # The run cut off by the kill was resumed: only the missing rows were logged.
    resumed = [ln for ln in result.stderr.splitlines() if scalars in ln]
    assert resumed and "(resumed)" in resumed[0], result.stderr
    # Rows that reached the target before the kill are not logged again (they may have
    # grown a little after the check, while the kill landed).
    redone = int(resumed[0].split(": ")[1].split(" rows")[0])
    assert redone <= STEPS - seen["rows"], (redone, seen)
    assert "done before" in result.stderr
    for secret in (src.admin_key, dst.admin_key):
        assert secret not in out

    before = mh.inventory(src.url, src.admin_key, f"admin/{PROJECT}", tmp_path)
    after = mh.inventory(dst.url, dst.admin_key, f"admin/{PROJECT}", tmp_path)
    assert sorted(after["runs"]) == sorted(before["runs"])
    assert after["versions"] == before["versions"]  # dataset v0,v1; model v0; run table
    assert after["rows"] == before["rows"]
    assert after["rows"][made["scalars"]] == STEPS

    # A second run skips everything and still verifies clean.
    again = mh.migrate(src.url, dst.url, state, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 to copy" in again.stderr
    assert json.loads(state.read_text())["runs"]
    assert mh.inventory(dst.url, dst.admin_key, f"admin/{PROJECT}", tmp_path) == after

    # A change made on the target by hand is named by the verification.
    mh.edit_by_hand(dst.url, dst.admin_key, f"admin/{PROJECT}/{made['scalars']}", tmp_path)
    check = mh.migrate(src.url, dst.url, state, env, "--verify-only")
    assert check.returncode == 1, check.stdout + check.stderr
    lines = [ln for ln in check.stdout.splitlines() if ln.startswith("difference:")]
    run = f"admin/{PROJECT}/{made['scalars']}"
    assert any(run in ln and "summary.best_acc" in ln and "0.5" in ln for ln in lines), lines
    assert any(run in ln and "tags" in ln for ln in lines), lines
    assert "verification: 2 difference(s)" in check.stdout, check.stdout


def test_keys_only_from_the_environment(servers, tmp_path):
    src, dst, _ = servers
    env = mh.clean_env(tmp_path)
    result = mh.migrate(src.url, dst.url, tmp_path / "s.json", env)
    assert result.returncode == 2
    assert "WANDB_FROM_API_KEY" in result.stderr and "Traceback" not in result.stderr
