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


def _every_kind() -> list[dict]:
    """One record of each evidence kind the checks make beyond the media ones."""
    from wandb_local_kit.smoke import testmedia

    video = testmedia.frames("video", 3, 16, 24)
    frame_file = _gif(video[:2])  # one frame lost on the way back
    return [
        evidence.video("clip frames", video, frame_file, ".gif"),
        evidence.histograms(
            "gradients/0.weight",
            {0: ([1, 2], [0.0, 0.5, 1.0]), 1: ([2, 1], [0.0, 0.5, 1.0])},
            {0: ([1, 2], [0.0, 0.5, 1.0]), 1: ([0, 3], [0.0, 0.5, 1.0])},
        ),
        evidence.points(
            "sweep",
            ("a", "score"),
            [{"x": 1, "y": 10, "group": "agent 0", "best": True, "duplicate": False}],
            [{"x": 1, "y": 10, "group": "agent 0", "best": True, "duplicate": True}],
        ),
        evidence.graph(
            "lineage",
            [("producer", "dataset:v0", "logged")],
            [("producer", "dataset:v0", "logged")],
        ),
        evidence.timeline(
            "runs at once",
            [{"name": "run 0", "start": 10.0, "end": 12.0, "steps": 5}],
            [{"name": "run 0", "start": 100.0, "end": 101.5, "steps": 4}],
        ),
        evidence.table(
            "files",
            ["name", "sha256"],
            [["a", "11"], ["b", "22"]],
            ["name", "sha256"],
            [["a", "11"], ["b", "33"]],
            sides=("offline run, before sync", "after sync"),
        ),
    ]


def _gif(tchw) -> bytes:
    import io

    import imageio

    buf = io.BytesIO()
    imageio.v3.imwrite(buf, np.transpose(tchw, (0, 2, 3, 1)), extension=".gif")
    return buf.getvalue()


def test_every_evidence_kind_is_drawn_with_both_sides_and_differences_marked():
    page = smoke_page([Result("x", "failed", 1.0, evidence=_every_kind())], {}, kept=True)
    for kind in ("frames", "histograms", "points", "graph", "timeline", "table"):
        assert f'data-kind="{kind}"' in page
    # video: each frame on its own, numbered, and the count on both sides
    assert "logged: 3 frames" in page and "read back: 2 frames" in page
    assert "2 frames read back, 3 logged" in page
    assert page.count("<figcaption>frame ") == 5
    # a read-back row that is not among the logged rows is marked
    assert page.count('<tr class="differs">') == 1
    assert "offline run, before sync" in page and "after sync" in page
    assert "nothing readable came back" not in page
    assert not re.search(r'src="(?!data:)', page)


def test_overview_has_the_wall_time():
    page = smoke_page(_results(), {"wall_seconds": 12.5}, kept=True)
    assert "wall time 12.5 s" in page


def test_json_report_carries_the_evidence_as_data_without_pictures():
    import json

    from wandb_local_kit.smoke.report import to_json

    results = _results()
    results[1].evidence = _every_kind()
    data = json.loads(to_json(results, {}))
    kinds = [e["kind"] for e in data["checks"][1]["evidence"]]
    assert kinds == ["frames", "histograms", "points", "graph", "timeline", "table"]
    frames = data["checks"][1]["evidence"][0]
    assert frames["logged"]["count"] == 3 and frames["read"]["count"] == 2
    # no image inlined in the JSON (a PNG's base64 starts with iVBORw0KGgo; the letters
    # "png" may well occur in a random run id)
    assert "iVBORw0KGgo" not in json.dumps(data["checks"][1]["evidence"][0])
    assert "png" not in data["checks"][1]["evidence"][0]["logged"]
    table = data["checks"][1]["evidence"][5]
    assert table["read"]["rows"] == [["a", "11"], ["b", "33"]]
    assert data["checks"][0]["evidence"][0]["logged"]["width"] == 8  # image size kept


def test_bench_page_names_the_server_and_marks_percentiles_from_few_samples():
    from wandb_local_kit.bench.identify import classify

    result = {
        "server": "http://w",
        "server_identity": {
            "version": "0.0.0-standin",
            "server_header": "wandb-standin Python/3.12",
            **classify("0.0.0-standin", "wandb-standin Python/3.12"),
        },
        "readback": {"history_ms": [1, 2, 3], "file_download_ms": list(range(1, 31))},
    }
    page = bench_page(result)
    assert "0.0.0-standin" in page and "stand-in" in page
    assert "these figures are of the test stand-in" in page
    assert page.count('class="few"') == 3  # p50/p90/p99 of the 3-sample row only
    assert "fewer than 20 samples (history read (ms))" in page
    assert classify("0.61.0", "nginx")["kind"] == "W&B server"
    assert classify(None, None, ["serverInfo: ConnectionError"])["kind"] == "unknown"
