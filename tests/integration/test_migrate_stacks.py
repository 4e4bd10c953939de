"""`wandb-kit migrate` between two real compose stacks of the kit, embedded -> external
storage (MySQL + S3 stand-ins), the path a lab takes before `export operator`.

One test, because two stacks are slow to start: the fixture (scalars over many steps, every
media type the smoke suite logs, a process group, a sweep, an artifact chain with lineage)
is migrated by a migration that is SIGKILLed halfway and run again: zero differences, no
duplicates; a second run copies nothing; a change made on the target by hand is named.
"""

from __future__ import annotations

import pytest

from tests.integration import migrate_helpers as mh

pytestmark = pytest.mark.portable

PROJECT = "lab"
STEPS = 20000


def test_embedded_to_external_killed_halfway_verifies_clean(stacks, tmp_path):
    src = stacks.start("embedded", "off")
    dst = None
    try:
        dst = stacks.start("external", "off")
        made = mh.log_fixture(src.base_url, src.api_key, tmp_path / "fx", PROJECT, STEPS)
        env = mh.migrate_env(tmp_path / "m", src.api_key, dst.api_key)
        entity = mh.inventory_entity(src.base_url, src.api_key, tmp_path)
        state = tmp_path / "state.json"
        scalars = f"{entity}/{PROJECT}/{made['scalars']}"
        seen = {}

        def mid_run(runs: dict) -> bool:
            if runs.get(scalars, {}).get("status") != "started":
                return False
            seen["rows"] = mh.rows_on(dst.base_url, dst.api_key, scalars)
            return 0 <= seen["rows"] < STEPS

        mh.kill_halfway(src.base_url, dst.base_url, state, env, until=mid_run)
        result = mh.migrate(src.base_url, dst.base_url, state, env)
        out = result.stdout + result.stderr
        assert result.returncode == 0, out[-6000:]
        assert "verification: 0 differences" in result.stdout
        resumed = [ln for ln in result.stderr.splitlines() if scalars in ln]
        assert resumed and "(resumed)" in resumed[0], result.stderr
        assert src.api_key not in out and dst.api_key not in out

        before = mh.inventory(src.base_url, src.api_key, f"{entity}/{PROJECT}", tmp_path)
        after = mh.inventory(dst.base_url, dst.api_key, f"{entity}/{PROJECT}", tmp_path)
        assert sorted(after["runs"]) == sorted(before["runs"]) and len(after["runs"]) == 9
        assert after["versions"] == before["versions"]
        assert after["rows"] == before["rows"] and after["rows"][made["scalars"]] == STEPS

        again = mh.migrate(src.base_url, dst.base_url, state, env)
        assert again.returncode == 0 and "0 to copy" in again.stderr, again.stderr[-3000:]

        mh.edit_by_hand(dst.base_url, dst.api_key, scalars, tmp_path)
        check = mh.migrate(src.base_url, dst.base_url, state, env, "--verify-only")
        assert check.returncode == 1, check.stdout + check.stderr
        lines = [ln for ln in check.stdout.splitlines() if ln.startswith("difference:")]
        assert any(scalars in ln and "summary.best_acc" in ln for ln in lines), lines
        assert any(scalars in ln and "tags" in ln for ln in lines), lines
    finally:
        stacks.stop(src)
        if dst is not None:
            stacks.stop(dst)
