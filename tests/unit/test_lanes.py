"""The lanes of tests/lanes.py: no portable test names a stand-in knob (static, over the
real files), and both checks fail on scratch examples that break them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lanes import portable_knob_mentions

REPO = Path(__file__).resolve().parents[2]
LANE_FILES = sorted([*REPO.glob("tests/integration/test_*.py"), *REPO.glob("tests/sdk/test_*.py")])


def test_the_lanes_hold_test_modules():
    assert len(LANE_FILES) > 40, LANE_FILES


@pytest.mark.parametrize("path", LANE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_portable_test_names_a_standin_knob(path):
    assert portable_knob_mentions(path) == []


SCRATCH_STATIC = '''
"""Docstrings and comments may name STANDIN_FAULTS: prose is no knob."""

import os

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.portable]


@pytest.fixture
def faulty_env(tmp_path):
    return {"STANDIN_FAULTS": "drop-history"}


@pytest.fixture
def through(faulty_env):
    return faulty_env


@pytest.fixture
def subnet():
    return os.environ["KIT_TEST_SUBNET"]


def test_fault_through_a_fixture(through):
    assert through


def test_imports_the_standin():
    from tests.standin import VERSION

    assert VERSION


def test_overlay_setting(subnet):
    assert subnet


@pytest.mark.parametrize("mode", ["faults"])
def test_fault_in_a_parameter(mode):
    assert mode


@pytest.fixture
def own_image(test_image):
    return test_image("wandb-standin")


def test_hard_codes_the_standin_image(own_image):
    assert own_image


def test_clean(tmp_path):
    """Needs nothing of the stand-in's (not even STANDIN_VOL)."""
    assert tmp_path  # tests.standin is not imported


@pytest.mark.standin_only("fault mode")
def test_standin_only_may(faulty_env):
    assert faulty_env
'''


def test_the_static_check_names_each_knob_of_a_portable_test(tmp_path):
    scratch = tmp_path / "test_scratch.py"
    scratch.write_text(SCRATCH_STATIC)
    # portable by the module's mark; the last test, standin_only by its own, is not checked
    assert portable_knob_mentions(scratch) == [
        "test_scratch.py::test_fault_through_a_fixture (via fixture faulty_env) names STANDIN_",
        "test_scratch.py::test_imports_the_standin names tests.standin",
        "test_scratch.py::test_overlay_setting (via fixture subnet) names KIT_TEST_",
        "test_scratch.py::test_fault_in_a_parameter names faults",
        "test_scratch.py::test_hard_codes_the_standin_image (via fixture own_image) names "
        "wandb-standin",
    ]


SCRATCH_MARKS = """
import pytest


def test_unmarked():
    pass


@pytest.mark.portable
@pytest.mark.standin_only("fault mode")
def test_both():
    pass


@pytest.mark.standin_only
def test_no_reason():
    pass


@pytest.mark.standin_only(reason="  ")
def test_blank_reason():
    pass


@pytest.mark.standin_only(reason="fault mode: STANDIN_FAULTS")
def test_good_standin_only():
    pass


@pytest.mark.portable
@pytest.mark.parametrize("n", [1, 2])
def test_good_portable(n):
    pass
"""

INI = """[pytest]
addopts = --strict-markers -p tests.lanes -p no:cacheprovider
markers =
    portable: scratch
    standin_only(reason): scratch
"""


def _collect(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _scratch_tree(tmp_path: Path, integration: str) -> Path:
    root = tmp_path / "scratch"
    for where, text in (
        ("tests/integration/test_marks.py", integration),
        ("tests/unit/test_out_of_scope.py", "def test_unit_needs_no_lane():\n    pass\n"),
        ("pytest.ini", INI),
    ):
        (root / where).parent.mkdir(parents=True, exist_ok=True)
        (root / where).write_text(text)
    return root


@pytest.mark.parametrize("select", [[], ["-m", "portable"]], ids=["all", "m-portable"])
def test_collection_fails_naming_each_badly_marked_test(tmp_path, select):
    root = _scratch_tree(tmp_path, SCRATCH_MARKS)
    ran = _collect(root, *select)
    out = ran.stdout + ran.stderr
    assert ran.returncode != 0, out
    assert "ERROR collecting tests/integration/test_marks.py" in out, out
    assert "test_unmarked carries neither portable nor standin_only(reason)" in out
    assert "test_both is marked both portable and standin_only" in out
    assert "test_no_reason is standin_only without a reason" in out
    assert "test_blank_reason is standin_only without a reason" in out
    named = out.split("ERROR collecting", 1)[1].split("short test summary")[0]
    for fine in ("test_good_standin_only", "test_good_portable", "test_unit_needs_no_lane"):
        assert fine not in named, named


WELL_MARKED = """
import pytest


@pytest.mark.standin_only(reason="fault mode: STANDIN_FAULTS")
def test_good_standin_only():
    pass


@pytest.mark.portable
@pytest.mark.parametrize("n", [1, 2])
def test_good_portable(n):
    pass
"""


def test_a_well_marked_lane_collects_and_is_counted(tmp_path):
    ran = _collect(_scratch_tree(tmp_path, WELL_MARKED))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # 1 standin_only and 2 portable cases in the lane; the unit test is not counted
    assert "portable 2 of 3" in ran.stdout, ran.stdout
    assert "4 tests collected" in ran.stdout, ran.stdout
