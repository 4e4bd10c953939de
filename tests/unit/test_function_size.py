"""No function in deploy/ runs over MAX_LINES lines unless the line directly above it
(above its decorators) says why: `# long: <reason>`. A long function is split into
named steps; the comment is for the few where a split would hurt."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 80
REASON = "# long:"


def too_long(tree_root: Path) -> list[str]:
    """path:line name (N lines) for every function over MAX_LINES without a reason."""
    out = []
    for path in sorted(tree_root.rglob("*.py")):
        if "__pycache__" in path.parts or ".egg-info" in str(path):
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length <= MAX_LINES:
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            above = lines[first - 2].strip() if first >= 2 else ""
            if above.startswith(REASON) and above[len(REASON) :].strip():
                continue
            rel = path.relative_to(tree_root)
            out.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_function_in_deploy_runs_over_the_limit_without_a_reason():
    assert too_long(ROOT / "deploy") == [], (
        f"split these into named steps, or write `{REASON} <why>` directly above the def"
    )


def _body(n: int) -> str:
    return "".join(f"    x{i} = {i}\n" for i in range(n))


def test_a_long_function_without_a_reason_is_caught(tmp_path):
    (tmp_path / "scratch.py").write_text(
        "def short():\n" + _body(MAX_LINES - 1) + "\n\n"
        "def long_one():\n" + _body(MAX_LINES) + "\n\n"
        "class K:\n    @staticmethod\n    def method():\n"
        + _body(MAX_LINES).replace("    ", "        ")
    )
    assert too_long(tmp_path) == [
        "scratch.py:83 long_one (81 lines)",
        "scratch.py:168 method (81 lines)",
    ]


def test_a_reason_above_the_def_or_its_decorators_lets_it_pass(tmp_path):
    (tmp_path / "scratch.py").write_text(
        "# long: a table\ndef long_one():\n" + _body(MAX_LINES) + "\n\n"
        "# long: one step\n@staticmethod\ndef other():\n" + _body(MAX_LINES) + "\n\n"
        "# long:\ndef no_reason_given():\n" + _body(MAX_LINES)
    )
    assert [p.split(" ")[1] for p in too_long(tmp_path)] == ["no_reason_given"]
