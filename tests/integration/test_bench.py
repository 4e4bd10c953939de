"""`wandb-kit bench` against the stand-in stack at a small size: every figure docs/commands.md
lists for it is in its JSON; against a stopped server it fails cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wandb_local_kit.stack import settings

pytestmark = pytest.mark.standin_only(
    "stand-in behaviour: asserts bench names the server it measured as the test stand-in"
)

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def test_bench_reports_every_figure_for_a_local_stack(stacks, tmp_path):
    server = stacks.start("embedded", "off")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        out = tmp_path / "bench.json"
        result = bench(
            "--compose-dir",
            str(settings.default_compose_dir()),
            "--env-file",
            str(server.env_file),
            "--runs",
            "2",
            "--steps",
            "40",
            "--images",
            "8",
            "--artifact-mib",
            "4",
            "--ramp",
            "--max-runs",
            "2",
            "--duration",
            "400",
            "--json",
            str(out),
            "--html",
            str(tmp_path / "bench.html"),
            env=env,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        data = json.loads(out.read_text())
        ingest = data["ingest"]
        assert ingest["errors"] == 0 and ingest["unreadable_runs"] == 0
        assert ingest["steps_per_second"] > 0 and ingest["readable_lag_seconds"] >= 0
        assert data["media"]["stored"] == 8 and data["media"]["images_per_second"] > 0
        art = data["artifact"]
        assert art["sdk"]["mib_per_second"] > 0 and art["raw_put"]["mib_per_second"] > 0
        assert art["sdk_over_raw"] == round(
            art["sdk"]["mib_per_second"] / art["raw_put"]["mib_per_second"], 3
        )
        assert data["readback"]["history_ms_median"] > 0
        assert data["readback"]["file_download_ms_median"] > 0
        assert data["resources"]["wandb"]["memory_mib_peak"] > 0
        assert [t["runs"] for t in data["ramp"]["tried"]] == [1, 2]
        assert data["ramp"]["knee_runs"] in (1, 2, None)
        # It cleans up after itself: no bench run is left on the server.
        left = subprocess.run(
            [
                sys.executable,
                "-c",
                "import wandb; a = wandb.Api(); "
                "print(len(list(a.runs(a.default_entity + '/wandb-kit-bench'))))",
            ],
            capture_output=True,
            text=True,
            env={**env, **server.sdk_env(), "WANDB_CONFIG_DIR": str(tmp_path)},
        )
        assert left.stdout.strip() == "0", left.stderr[-1000:]
        bench_page_in_a_browser(tmp_path, data)
    finally:
        stacks.stop(server)


def bench_page_in_a_browser(tmp_path, data: dict) -> None:
    """`bench --html` in headless Chromium: the plots are there and decode, the knee is
    named, and the page fetches nothing."""
    from tests.browser import chromium, keep_screenshot, open_report, remote

    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, tmp_path / "bench.html")
        assert page.requests and remote(page.requests) == [], remote(page.requests)
        images = page.images()
        assert {i["alt"] for i in images} >= {
            "ingest rate over concurrency",
            "latency percentiles",
            "server CPU (%) over the benchmark",
            "server memory (MiB) over the benchmark",
        }
        assert all(i["decoded"] and i["width"] for i in images), images
        text = page.js("return document.body.innerText")
        knee = data["ramp"]["knee_runs"]
        assert f"knee: {knee if knee else 'none within bounds'}" in text
        assert "history read (ms)" in text and "p99" in text
        # which server was measured: the stand-in says so of itself, and the page says it
        assert data["server_identity"]["kind"] == "stand-in", data["server_identity"]
        assert "these figures are of the test stand-in" in text
        keep_screenshot(page, tmp_path, "bench-report.png")
