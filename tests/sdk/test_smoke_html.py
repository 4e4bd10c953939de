"""`wandb-kit smoke --html` opened in a real browser (headless Chromium).

The suite's media checks run against the stand-in (the real SDK, logging and reading
back), write the page, and Chromium loads it from disk: every check is on the page
with its status, every picture decodes, and the page fetches nothing from the network.
Against the stand-in in its fault mode, a broken media check shows as failed with the
difference. Screenshots are kept with the test output (tests/browser.py says where;
KIT_UPDATE_DOCS=1 refreshes docs/smoke-report.png, the README's picture).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import assert_self_contained, chromium, keep_screenshot, open_report
from tests.sdk.conftest import REPO, StandIn

MEDIA = ["basics", "images", "video", "plots", "table", "html", "audio-histogram"]
# Checks whose evidence is pictures: thumbnails, frames, figures rebuilt from the data.
PICTURES = {"images": 10, "video": 4, "plots": 4, "audio-histogram": 4, "basics": 2}
FAULTS = "corrupt-files:*/media/images/*,corrupt-files:*/media/plotly/*"


def smoke(server: StandIn, out: Path, checks: list[str], keep: bool = False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["WANDB_API_KEY"] = server.admin_key
    argv = [
        sys.executable,
        "-m",
        "wandb_local_kit",
        "smoke",
        "--url",
        server.url,
        "--only",
        ",".join(checks),
        "--json",
        str(out / "smoke.json"),
        "--html",
        str(out / "smoke.html"),
        "--check-timeout",
        "240",
    ] + (["--keep"] if keep else [])
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    results = {}
    if (out / "smoke.json").exists():
        results = {c["check"]: c for c in json.loads((out / "smoke.json").read_text())["checks"]}
    return proc, results


@pytest.fixture(scope="module")
def intact(tmp_path_factory, standin):
    out = tmp_path_factory.mktemp("smoke-html")
    proc, results = smoke(standin, out, MEDIA, keep=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, results


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke-html-faults")
    server = StandIn(vol=out / "vol", extra_env={"STANDIN_FAULTS": FAULTS}).start()
    try:
        proc, results = smoke(server, out, ["images", "plots", "table"])
    finally:
        server.stop()
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, results


@pytest.mark.slow
def test_report_shows_every_check_with_media_side_by_side(intact, tmp_path):
    out, results = intact
    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, out / "smoke.html")
        assert_self_contained(page)
        cards = page.cards()
        assert sorted(cards) == sorted(MEDIA)
        for name, card in cards.items():
            assert card["status"] == results[name]["status"] == "passed", card["text"][:500]
            assert results[name]["compared"].split(";")[0] in card["text"]
        pictures = page.js(
            "const n = {}; document.querySelectorAll('section.card').forEach(s => "
            "n[s.dataset.check] = s.querySelectorAll('.evidence img').length); return n"
        )
        for name, least in PICTURES.items():
            assert pictures[name] >= least, f"{name}: {pictures[name]} pictures, want {least}"
        # what was logged beside what was read back: both sides of every media record
        sides = page.js(
            "return Array.from(document.querySelectorAll('.evidence')).map(e => "
            "e.querySelectorAll('figure').length)"
        )
        assert sides and min(sides) >= 2, sides
        assert "item-0 ✓" in cards["table"]["text"]  # a table's first rows, as read back
        assert page.js("return document.querySelectorAll('.missing').length") == 0
        links = page.js(
            "return Array.from(document.querySelectorAll('section.card a')).map(a => a.href)"
        )
        assert any("/runs/" in u for u in links), "kept runs are not linked"
        keep_screenshot(page, tmp_path, "smoke-report.png")


@pytest.mark.slow
def test_broken_media_shows_failed_with_the_difference(broken, tmp_path):
    out, results = broken
    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, out / "smoke.html")
        assert_self_contained(page)
        cards = page.cards()
        for name in ("images", "plots"):
            assert cards[name]["status"] == "failed", cards[name]["text"][:500]
            difference = page.js(
                f"const d = document.querySelector('#check-{name} .difference');"
                "return d ? d.innerText : ''"
            )
            assert difference == results[name]["detail"]
        assert "img_numpy: stored file media/images/" in cards["images"]["text"]
        # the corrupted PNG is shown as what came back: unreadable, or its pixels differ
        images_card = cards["images"]["text"]
        assert "nothing readable came back" in images_card or "pixels differ" in images_card
        assert cards["table"]["status"] == "passed"  # intact data stays green
        keep_screenshot(page, tmp_path, "smoke-report-failed.png")
