"""The real-server lane's report (tests/lane_report.py): one file naming the server, each
portable test's outcome and each assumption's verdict, with no secret in it even when a
failure's message carries the admin key or the license; and docs/assumptions.md names
every test of tests/integration/test_assumptions.py, so each has its assumption."""

from __future__ import annotations

import ast
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.lane_report import DEFAULT_NAME, assumptions

REPO = Path(__file__).resolve().parents[2]

LANE_TESTS = """
import os
from urllib.parse import quote

import pytest

portable = pytest.mark.portable


@portable
def test_confirms():
    pass


@portable
@pytest.mark.xdist_group("shared")  # under --dist loadgroup its ids end "@shared"
@pytest.mark.parametrize("n", [1, 2])
def test_refutes(n):
    key = os.environ["KIT_REAL_ADMIN_KEY"]
    license = open(os.environ["KIT_REAL_LICENSE_FILE"]).read().strip()
    assert n == 1, f"the server answered key={key} for {license} ({quote(license)})"


@portable
def test_skipped():
    pytest.skip("needs what this server lacks")


@pytest.mark.standin_only("fault mode")
def test_standin_only():
    pass
"""

DOC = """# Assumptions

## The assumptions

1. **It works.** Test: `tests/sdk/test_lane.py::test_confirms`.
2. **Another works.** Code leans on it.
   Test: `tests/sdk/test_lane.py::test_refutes`.
3. **Unsettled.** Nothing runs it: `tests/sdk/test_lane.py::test_skipped`.
4. **Placeholder.** Nothing to settle.

What the lane cannot settle: `tests/sdk/test_lane.py::test_confirms` (prose, no entry).
"""

INI = """[pytest]
addopts = -p tests.lanes -p tests.lane_report -p no:cacheprovider -p no:randomly
markers =
    portable: scratch
    standin_only(reason): scratch
"""


def _scratch(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for where, text in (
        ("tests/sdk/test_lane.py", LANE_TESTS),
        ("docs/assumptions.md", DOC),
        ("pytest.ini", INI),
    ):
        (root / where).parent.mkdir(parents=True, exist_ok=True)
        (root / where).write_text(text)
    return root


def _run(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KIT_REAL", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=root,
        env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def switch(tmp_path):
    """The switch with both halves: an image (none the engine has) and its license, and a
    URL where nothing answers with an admin key."""
    license = "lic" + secrets.token_hex(32)  # no shape redact would catch without being told
    (tmp_path / "license").write_text(license + "\n")
    key = "local-" + secrets.token_hex(20)
    env = {
        "KIT_REAL_IMAGE": "registry.example/wandb/local:0.0.0",
        "KIT_REAL_LICENSE_FILE": str(tmp_path / "license"),
        "KIT_REAL_URL": "http://127.0.0.1:9",
        "KIT_REAL_ADMIN_KEY": key,
    }
    return env, license, key


@pytest.mark.parametrize(
    "workers", [[], ["-n", "2", "--dist", "loadgroup"]], ids=["one-process", "xdist"]
)
def test_the_report_names_outcomes_and_verdicts_and_holds_no_secret(tmp_path, switch, workers):
    env, license, key = switch
    root = _scratch(tmp_path)
    ran = _run(root, env, *workers)
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out  # test_refutes[2] failed
    report = root / DEFAULT_NAME
    assert f"real-server lane report: {report}" in ran.stdout, out
    text = report.read_text()
    for secret in (license, key, quote(license)):
        assert secret not in text
    data = json.loads(text)
    assert data["target"]["image"] == "registry.example/wandb/local:0.0.0"
    assert data["target"]["url"] == "http://127.0.0.1:9"
    assert data["kit_version"] and data["run_date"].endswith("+00:00")
    (server,) = data["servers"]  # nothing answers there: said so, not guessed
    assert server["kind"] == "unknown" and server["version"] is None and server["servers"] == 1
    lane = "tests/sdk/test_lane.py"
    assert data["tests"]["passed"] == [f"{lane}::test_confirms", f"{lane}::test_refutes[1]"]
    (failed,) = data["tests"]["failed"]
    assert failed["test"] == f"{lane}::test_refutes[2]"
    assert "the server answered key=" in failed["message"] and "<redacted>" in failed["message"]
    assert [s["test"] for s in data["tests"]["skipped"]] == [f"{lane}::test_skipped"]
    assert "needs what this server lacks" in data["tests"]["skipped"][0]["reason"]
    assert "test_standin_only" not in text  # deselected in the lane: not part of it
    assert data["summary"] == {"passed": 2, "failed": 1, "error": 0, "skipped": 1, "tests": 4}
    verdicts = {a["id"]: a["verdict"] for a in data["assumptions"]}
    assert verdicts == {1: "confirmed", 2: "refuted", 3: "not settled", 4: "not settled"}
    assert data["assumptions"][1]["by"] == [f"{lane}::test_refutes"]


def test_the_report_goes_where_it_is_told_and_nowhere_without_the_switch(tmp_path, switch):
    env, _, _ = switch
    root = _scratch(tmp_path)
    elsewhere = tmp_path / "out" / "lab-report.json"
    elsewhere.parent.mkdir()
    ran = _run(root, {**env, "KIT_REAL_REPORT": str(elsewhere)}, "-k", "confirms")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(elsewhere.read_text())["tests"]["passed"]
    assert not (root / DEFAULT_NAME).exists()
    off = _run(root, {}, "-k", "confirms")
    assert off.returncode == 0, off.stdout + off.stderr
    assert not (root / DEFAULT_NAME).exists() and "lane report" not in off.stdout


def test_every_assumption_test_is_named_by_its_entry_and_exists():
    entries = assumptions((REPO / "docs" / "assumptions.md").read_text())
    assert [e["id"] for e in entries] == list(range(1, len(entries) + 1))
    named = {t for e in entries for t in e["tests"]}
    module = REPO / "tests" / "integration" / "test_assumptions.py"
    defined = {
        f"tests/integration/test_assumptions.py::{node.name}"
        for node in ast.parse(module.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    assert defined - named == set(), "a test of test_assumptions.py no entry names"
    for test in named:
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text(), f"{test} does not exist"
