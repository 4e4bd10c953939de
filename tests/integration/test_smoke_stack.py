"""The full smoke suite against the stand-in stacks (embedded and external storage):
every check passes, nothing is skipped (torch and the media extras are installed)."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest
from wandb_local_kit.smoke.registry import CHECKS

from tests import childproc, require
from tests.browser import assert_self_contained, chromium, keep_screenshot, open_report

pytestmark = pytest.mark.portable


@pytest.fixture(scope="module", params=["embedded", "external"])
def stack(request, wandb_stack_factory, test_image, server_image):
    for name in ("mysql", "s3", "aws-cli"):
        test_image(name)
    wandb_stack_factory.test_images = True
    server = wandb_stack_factory.start(request.param, "off")
    yield server
    wandb_stack_factory.stop(server)


def test_full_suite_passes_with_nothing_skipped(stack, tmp_path):
    require.torch()  # "nothing skipped" needs the torch extra
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["WANDB_API_KEY"] = stack.api_key
    report, junit = tmp_path / "smoke.json", tmp_path / "smoke.xml"
    result = childproc.run(
        [
            sys.executable,
            "-m",
            "wandb_local_kit",
            "smoke",
            "--url",
            stack.base_url,
            "--strict",
            "--json",
            str(report),
            "--junit",
            str(junit),
            "--large-artifact-mib",
            "16",
            "--html",
            str(tmp_path / "smoke.html"),
        ],
        env=env,
        timeout=900,
    )
    data = json.loads(report.read_text())
    failed = {c["check"]: c["detail"] for c in data["checks"] if c["status"] == "failed"}
    assert result.returncode == 0, f"failed checks: {failed}\n{result.stdout[-3000:]}"
    assert data["summary"]["failed"] == 0 and data["summary"]["skipped"] == 0
    assert sorted(c["check"] for c in data["checks"]) == sorted(c.name for c in CHECKS)
    cases = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert sorted(cases) == sorted(c.name for c in CHECKS)
    print(f"{stack.values['WANDB_STORAGE']}: smoke wall {data['meta']['wall_seconds']} s")
    # The same run as one page, in a real browser: every check, every picture decoded,
    # nothing fetched.
    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, tmp_path / "smoke.html")
        assert_self_contained(page)
        cards = page.cards()
        assert {n: c["status"] for n, c in cards.items()} == {
            c["check"]: c["status"] for c in data["checks"]
        }
        keep_screenshot(page, tmp_path, f"smoke-report-{stack.values['WANDB_STORAGE']}.png")
