"""No test skips silently in CI: every skip for a missing prerequisite goes through
tests/require.py, which fails instead when KIT_REQUIRE_DOCKER=1. A `pytest.skip`, a
`skipif` or an `importorskip` anywhere else is found here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.require import unavailable

TESTS = Path(__file__).resolve().parents[1]
# Skips that are not about this machine, each with its reason.
ALLOWED = {
    "require.py": "the one place that decides skip or fail",
    # A run mode, not a prerequisite: with STANDIN_TEST_BUCKET the stand-in hands out S3
    # URLs, and the tests of its own URL signing have nothing to test.
    "sdk/conftest.py": "needs_local_files",
}


def _skips(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("skip", "skipif", "importorskip"):
            if ast.unparse(node.value) in ("pytest", "pytest.mark"):
                found.append(node.lineno)
    return found


def test_every_skip_goes_through_require():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS).as_posix()
        if rel in ALLOWED or rel == "unit/test_skips_obey_ci.py" or "node_modules" in rel:
            continue
        offenders += [f"{rel}:{line}" for line in _skips(ast.parse(path.read_text()))]
    assert not offenders, f"use tests.require.unavailable instead: {offenders}"


def test_the_scan_finds_each_kind_of_skip():
    code = 'pytest.skip("x")\n@pytest.mark.skipif(True, reason="y")\ndef f(): pass\n'
    code += 'pytest.importorskip("torch")\n'
    assert len(_skips(ast.parse(code))) == 3


def test_unavailable_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("KIT_REQUIRE_DOCKER", "1")
    with pytest.raises(pytest.fail.Exception, match="no browser"):
        unavailable("no browser")
    monkeypatch.delenv("KIT_REQUIRE_DOCKER")
    with pytest.raises(pytest.skip.Exception, match="no browser: apt-get install chromium"):
        unavailable("no browser", "apt-get install chromium")
