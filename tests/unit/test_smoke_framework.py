"""The smoke suite's framework: comparisons name what differed, selection, reports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.smoke import registry, report
from wandb_local_kit.smoke.context import FAIL, PASS, SKIP, WARN, CheckFailed, Result, diff, expect


def test_diff_names_the_path_of_each_difference():
    want = {"a": 1, "b": {"c": [1, 2, 3]}, "d": "x"}
    got = {"a": 1, "b": {"c": [1, 5, 3]}}
    assert diff(want, got) == [".b.c[1]: got 5, expected 2", ".d: missing"]


def test_diff_counts_list_length_mismatch():
    assert diff([1, 2, 3], [1, 2]) == [": 2 items, expected 3"]


def test_diff_tolerates_float_noise_but_not_real_changes():
    assert diff([0.1 + 0.2], [0.3]) == []
    assert diff([0.3], [0.31]) != []
    assert diff(True, 1) != []  # a bool is not a number here


def test_expect_raises_with_what_and_first_differences():
    with pytest.raises(CheckFailed) as err:
        expect("history values", list(range(10)), [0] * 10)
    message = str(err.value)
    assert message.startswith("history values differs: [1]: got 0, expected 1")
    assert "(and 4 more)" in message


def test_select_orders_heaviest_first_and_honours_only_and_skip():
    chosen = registry.select(None, ["sweeps"])
    assert "sweeps" not in [c.name for c in chosen]
    assert chosen[0].weight == max(c.weight for c in chosen)
    assert [c.name for c in registry.select(["html", "basics"], None)] == ["basics", "html"]


def test_select_rejects_unknown_names():
    with pytest.raises(KitError) as err:
        registry.select(["imagez"], None)
    assert "imagez" in err.value.problem and "images" in err.value.fix


def test_every_registered_check_resolves_to_a_function():
    import importlib

    for check in registry.CHECKS:
        module, func = check.target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), check.name


RESULTS = [
    Result("basics", PASS, 1.5, "config; history", "", ["http://w/e/p/runs/1"]),
    Result("images", FAIL, 2.0, "", "img_numpy pixels: 12 of 9216 values differ"),
    Result("torch", SKIP, 0.1, "", "needs torch; install: pip install ..."),
    Result("transport", WARN, 1.0, "10 MB POST", "plain http", warnings=["plain http"]),
]


def test_junit_is_one_testcase_per_check_with_failures_and_skips():
    root = ET.fromstring(report.to_junit(RESULTS, {"server": "http://w"}))
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["basics", "images", "torch", "transport"]
    assert "12 of 9216" in cases["images"].find("failure").get("message")
    assert cases["torch"].find("skipped") is not None
    assert cases["basics"].find("failure") is None


def test_junit_parses_with_a_standard_junit_parser(tmp_path):
    import junitparser  # in the test extra

    path = tmp_path / "smoke.xml"
    path.write_text(report.to_junit(RESULTS, {}))
    suites = junitparser.JUnitXml.fromfile(str(path))
    cases = [case for suite in suites for case in suite]
    assert [c.name for c in cases] == ["basics", "images", "torch", "transport"]
    assert [bool(c.result) for c in cases] == [False, True, True, False]


def test_json_report_round_trips():
    data = json.loads(report.to_json(RESULTS, {"tag": "t"}))
    assert data["summary"] == {
        "passed": 1,
        "warning": 1,
        "failed": 1,
        "skipped": 1,
        "interrupted": 0,
    }
    assert data["checks"][1]["detail"].startswith("img_numpy pixels")


@pytest.mark.parametrize(
    "command", [["smoke", "--only", "basics"], ["bench"]], ids=["smoke", "bench"]
)
def test_against_a_stopped_server_exits_3_without_traceback(command):
    from wandb_local_kit.testing import free_loopback_port

    port = free_loopback_port()
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *command, "--url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "WANDB_API_KEY": "local-" + "0" * 40},
    )
    assert result.returncode == 3, result.stderr
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_bench_refuses_unbounded_sizes():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wandb_local_kit",
            "bench",
            "--url",
            "http://127.0.0.1:9",
            "--runs",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "WANDB_API_KEY": "local-" + "0" * 40},
    )
    assert result.returncode == 2 and "--runs 0 is out of range" in result.stderr


def test_smoke_refuses_a_check_timeout_that_is_not_positive():
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", "http://127.0.0.1:9"]
        + ["--check-timeout", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "WANDB_API_KEY": "local-" + "0" * 40},
    )
    assert result.returncode == 2
    assert "'0' is not a positive number of seconds" in result.stderr
    assert "Traceback" not in result.stderr
