"""`make lint` keeps the layers of deploy/ honest: an import against the data flow,
or argparse in a domain module, fails it (pyproject's [tool.importlinter])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree / "deploy"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the package and its lint settings, to break on purpose."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("_*cache*"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layers(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_against_the_data_flow_fails_lint(tree):
    with (tree / "deploy" / "wandb_local_kit" / "stack" / "settings.py").open("a") as f:
        f.write("\nfrom wandb_local_kit.server import client  # noqa: E402,F401\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "wandb_local_kit.stack.settings -> wandb_local_kit.server.client" in result.stdout


def test_argparse_in_a_domain_module_fails_lint(tree):
    with (tree / "deploy" / "wandb_local_kit" / "ops" / "backup.py").open("a") as f:
        f.write("\nimport argparse  # noqa: E402,F401\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "wandb_local_kit.ops.backup -> argparse" in result.stdout
