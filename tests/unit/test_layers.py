"""`make lint` keeps the layers of deploy/ honest: an import against the data flow,
or argparse in a domain module, fails it (pyproject's [tool.importlinter])."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

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


def _layer_modules(pyproject: Path) -> list[str]:
    """Every module named by the layers contracts, `a | b` (or `a : b`) entries split as
    import-linter splits them."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    names = []
    for contract in config["contracts"]:
        if contract["type"] != "layers":
            continue
        for layer in contract["layers"]:
            names += [n.strip() for n in re.split(r"[|:]", layer) if n.strip()]
    return names


def _package_modules(package: Path) -> dict[str, Path]:
    """Every module under the package folder, by dotted name (a package by its __init__)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports_the_kit(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            if any(a.name.split(".")[0] == "wandb_local_kit" for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] == "wandb_local_kit":
                return True
    return False


def _outside_every_layer(tree: Path) -> list[str]:
    """Modules no layer holds. A layer holds its module and everything under it, as in
    import-linter. A package that only holds layers (its __init__ imports nothing of the
    kit, like wandb_local_kit.core) cannot be a layer itself and is not a hole."""
    layers = _layer_modules(tree / "pyproject.toml")
    modules = _package_modules(tree / "deploy" / "wandb_local_kit")
    missing = []
    for name, path in modules.items():
        if any(name == layer or name.startswith(layer + ".") for layer in layers):
            continue
        if path.name == "__init__.py" and not _imports_the_kit(path):
            continue
        missing.append(name)
    return missing


def test_every_module_of_the_package_is_in_a_layer():
    """A module outside every layer may import anything: import-linter checks no import
    from or to it, so it is a hole in the layers."""
    assert _outside_every_layer(ROOT) == [], "add these to a layer in pyproject.toml"


def test_a_module_in_no_layer_is_found(tree):
    (tree / "deploy" / "wandb_local_kit" / "core" / "stray.py").write_text("X = 1\n")
    (tree / "deploy" / "wandb_local_kit" / "stack" / "__init__.py").write_text(
        "from wandb_local_kit.cli import main  # noqa: F401\n"
    )
    assert _outside_every_layer(tree) == ["wandb_local_kit.core.stray", "wandb_local_kit.stack"]


def test_every_layer_names_a_module_that_exists():
    modules = _package_modules(ROOT / "deploy" / "wandb_local_kit")
    assert [name for name in _layer_modules(ROOT / "pyproject.toml") if name not in modules] == []
