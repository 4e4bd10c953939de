"""`make test` runs on several xdist workers; tests that share a module-scoped fixture
(a lab server, a compose stack) must run on one worker, or each worker starts that
fixture again (in one CI run the Ansible lab server was deployed six times) and a test
that reads what an earlier one left (the reboot test) finds nothing. tests/conftest.py
groups them; this runs a small suite of that shape the way `make test` does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MODULE = """
import os
import pytest

def _note(what):
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(f"{what} {os.getpid()}\\n")

@pytest.fixture(scope="module")
def deployed():
    _note("deployed-NAME")

@pytest.fixture(scope="module")
def second_run(deployed):
    _note("second-NAME")

def test_alone(): pass
@pytest.mark.parametrize("x", [1, 2, 3])
def test_params(x): pass
def test_first(deployed): pass
def test_again(deployed, second_run): pass
def test_last(deployed): pass
"""


def test_tests_sharing_a_module_fixture_run_on_one_worker(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    for name in ("lab", "stack"):
        (tmp_path / f"test_{name}.py").write_text(textwrap.dedent(MODULE.replace("NAME", name)))
    log = tmp_path / "setups.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PROBE_LOG=str(log))
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "3",
         "--dist", "loadgroup", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    setups = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(setups) == ["deployed-lab", "deployed-stack", "second-lab", "second-stack"], (
        "a module fixture was set up on more than one worker: " + ", ".join(setups)
    )
