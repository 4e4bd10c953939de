"""Every smoke check FAILS when the server loses or corrupts the data it checks.

The stand-in runs in its fault mode (tests/standin/faults.py): one kind of file
corrupted or truncated per media type, artifact files lost, history rows and keys
dropped, groups lost, a grid point repeated, a proxy-like body limit. The whole suite
runs once against it, and each check must fail naming what differed. (That the same
checks pass against an intact server is tests/integration/test_smoke_stack.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from wandb_local_kit.smoke.registry import CHECKS

from tests import require
from tests.sdk.conftest import REPO, StandIn
from tests.sdk.test_people import license_token

pytestmark = pytest.mark.standin_only(
    "fault mode: STANDIN_FAULTS breaks the data of every smoke check"
)

FAULTS = ",".join(
    [
        "corrupt-files:*/media/images/*",
        "truncate-files:*/media/videos/*",
        "corrupt-files:*/media/plotly/*",
        "corrupt-files:*/media/table/*",
        "corrupt-files:*/media/html/*",
        "corrupt-files:*/media/audio/*",
        "corrupt-files:*/results (v1)*",
        # every stored artifact file and manifest: the SDK keeps the blobs it uploaded in
        # its cache, so a client that logged an artifact only notices the lost manifest
        "lose-files:wandb_artifacts/*",
        "lose-files:wandb_manifests/*",
        "drop-history:7",
        "drop-history-keys:gradients/",
        "drop-group",
        "repeat-grid",
        "max-body:1048576",
        "leak-private-projects",
    ]
)

CHECK_TIMEOUT_S = 240

# What each check's failure must say: the thing that differed, by name.
EXPECTED = {
    "basics": "run.history() steps differs",
    "images": "img_numpy: stored file media/images/",
    "video": "clip_gif: stored file media/videos/",
    "plots": "plot_plotly: stored file media/plotly/",
    "table": "results: stored file media/table/",
    "html": "html_string: stored file media/html/",
    "audio-histogram": "tone: stored file media/audio/",
    "group": "group differs: value: got None",
    "torch": "gradients/0.weight histogram: missing from history",
    "files": "downloaded bytes (sha256) differs",
    "artifacts": "dataset v0: download failed",
    "large-artifact": "large artifact: download failed",
    "sweeps": "no grid point twice",
    "offline": "synced history differs",
    "transport": "413 Request Entity Too Large",
    "concurrency": "history differs",
    "teams": "outsider refused",
}


def test_every_check_has_a_fault_that_breaks_it():
    assert set(EXPECTED) == {c.name for c in CHECKS}


@pytest.fixture(scope="module")
def faulty_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faulty")
    # an Enterprise-tier license (standin/license.py), so the teams check can run
    server = StandIn(
        vol=tmp / "vol",
        extra_env={"STANDIN_FAULTS": FAULTS, "LICENSE": license_token(flags=["enterprise"])},
    ).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env["WANDB_API_KEY"] = server.admin_key
        report = tmp / "smoke.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "wandb_local_kit",
                "smoke",
                "--url",
                server.url,
                "--json",
                str(report),
                "--large-artifact-mib",
                "4",
                # A check that hangs instead of failing is a bug this test must name.
                "--check-timeout",
                str(CHECK_TIMEOUT_S),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            # 16 checks, 4 at a time: at worst four rounds of timeouts, then cleanup.
            timeout=4 * CHECK_TIMEOUT_S + 300,
        )
        assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
        return {c["check"]: c for c in json.loads(report.read_text())["checks"]}
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("check", sorted(EXPECTED))
def test_check_fails_naming_what_differed(faulty_results, check):
    if check == "torch":
        require.torch()
    result = faulty_results[check]
    assert result["status"] == "failed", against_broken_data(check, result)
    assert EXPECTED[check] in result["detail"], result["detail"]


def against_broken_data(check: str, result: dict) -> str:
    """Why a check did not fail against the broken server, in its own words: a skipped
    check never looked at the data, so it proves nothing (it did not pass)."""
    if result["status"] == "skipped":
        return (
            f"{check} was skipped ({result['detail']}), so it proves nothing against "
            "broken data: give it what it needs and run again"
        )
    return f"{check} {result['status']} against broken data"


def test_a_skipped_check_is_not_said_to_have_passed_against_broken_data():
    skipped = {"status": "skipped", "detail": "needs torch (not installed); install: x"}
    said = against_broken_data("torch", skipped)
    assert "passed" not in said and "was skipped" in said and "proves nothing" in said
    assert "needs torch" in said
    assert against_broken_data("basics", {"status": "passed"}) == (
        "basics passed against broken data"
    )
