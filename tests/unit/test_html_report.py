"""The HTML pages without a browser (tests/sdk/test_smoke_html.py opens them in one):
self-contained, every check and evidence kind drawn, failures with their difference."""

from __future__ import annotations

import re

import numpy as np
from wandb_local_kit.bench.html import bench_page, percentile
from wandb_local_kit.core.htmlpage import CSP
from wandb_local_kit.smoke import evidence
from wandb_local_kit.smoke.context import Result
from wandb_local_kit.smoke.html import smoke_page


def _png_bytes(array) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _results() -> list[Result]:
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    changed = img.copy()
    changed[2, 3] = 255
    return [
        Result(
            "images",
            "failed",
            1.0,
            detail="img_numpy pixels: 1 of 192 values differ <b>",
            evidence=[
                evidence.image("same", img, _png_bytes(img)),
                evidence.image("changed", img, _png_bytes(changed)),
                evidence.image("lost", img, None, "file 'x' is missing"),
                evidence.image("broken", img, b"\x89PNG garbage"),
            ],
        ),
        Result(
            "plots",
            "passed",
            2.0,
            compared="trace x/y",
            run_urls=["http://w/e/p/runs/r"],
            evidence=[
                evidence.plot(
                    "p", evidence.series([0, 1], [1, 2]), evidence.series([0, 1], [1, 2])
                ),
                evidence.audio("tone", 8000, [0.0, 0.5, -0.5], [0.0, 0.5, -0.5]),
                evidence.histogram("h", [1, 2], [0.0, 0.5, 1.0], [1, 2], [0.0, 0.5, 1.0]),
                evidence.table("t", ["a"], [[1], [2]], ["a"], [[1], [2]]),
                evidence.text("html", "<h1>x</h1>", "<h1>x</h1>"),
            ],
        ),
        Result("torch", "skipped", 0.0, detail="needs torch"),
    ]


def test_smoke_page_is_self_contained_and_shows_every_check_and_the_difference():
    page = smoke_page(_results(), {"server": "http://w"}, kept=True)
    assert f'content="{CSP}"' in page
    assert not re.search(r'src="(?!data:)', page), "a picture that is not inline"
    for check in ("images", "plots", "torch"):
        assert f'data-check="{check}"' in page
    assert "1 of 192 values differ &lt;b&gt;" in page  # the difference, escaped
    assert "difference (1 pixels differ)" in page  # where the pixels differ
    assert page.count("nothing readable came back") == 2  # lost, and not decodable
    assert "file &#x27;x&#x27; is missing" in page
    assert 'href="http://w/e/p/runs/r"' in page
    assert page.count("<img") >= 9  # 2+3+1+1 images, 2 plots, 2 waveforms, 2 histograms
    assert smoke_page(_results(), {}, kept=False).count("--keep keeps them") == 1


def test_bench_page_marks_the_knee_and_draws_every_plot():
    result = {
        "ingest": {
            "runs": 2,
            "steps": 10,
            "keys": 1,
            "steps_per_second": 5.0,
            "errors": 0,
            "run_seconds": [0.5, 0.7],
        },
        "ramp": {
            "knee_runs": 2,
            "max_lag_seconds": 30,
            "tried": [
                {"runs": 1, "steps_per_second": 3, "within_bounds": True},
                {"runs": 2, "steps_per_second": 5, "within_bounds": True},
                {"runs": 4, "steps_per_second": 4, "within_bounds": False},
            ],
        },
        "readback": {"history_ms": [1, 2, 3], "file_download_ms": [4, 5, 6]},
        "resources": {
            "wandb": {
                "cpu_percent_mean": 1,
                "cpu_percent_peak": 2,
                "memory_mib_peak": 3,
                "series": [[0, 1, 3], [1, 2, 3]],
            }
        },
    }
    page = bench_page(result)
    assert "knee: <b>2</b>" in page
    assert page.count('<img src="data:image/png;base64,') == 4
    assert not re.search(r'src="(?!data:)', page)


def test_percentile_is_a_measured_value():
    assert percentile([10, 20, 30, 40], 50) == 20
    assert percentile([10, 20, 30, 40], 99) == 40
    assert percentile([7], 90) == 7
