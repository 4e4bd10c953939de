"""Which server each integration and SDK test needs: the first step of a real-server lane.

Every test under tests/integration and tests/sdk carries exactly one of two marks
(registered in pyproject.toml):

- `portable`: it needs only a W&B server with the container interface of `wandb/local`
  (port 8080, /vol, the documented env vars, /healthz, /ready, GraphQL), nothing the
  stand-in alone has; `make test-portable` runs these (`-m portable`), the set a real
  server will be pointed at;
- `standin_only(reason)`: it injects a fault, sets a `STANDIN_*` knob or a test
  overlay's stand-in-only setting, runs the stand-in as a process of its own, or asserts
  the stand-in's own behaviour; the reason says which.

Collection fails (a collection error naming each test) when a test there carries neither
mark, both, or a `standin_only` without a reason; the summary says `portable N of M`.

The real-server lane (`make test-real`): when KIT_REAL_IMAGE or KIT_REAL_URL is set
(wandb_local_kit.testing.real_lane), every `standin_only` test is deselected and the summary
says `real-server lane: N portable tests against <image or url>`; a half-set switch (an
image without its license file, a URL without its admin key) stops the run at once.
`portable_knob_mentions` is the static side, run by tests/unit/test_lanes.py: a portable
test whose source (the test function and the module's fixtures it uses) names a
stand-in knob is no portable test.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

import pytest

LANE_DIRS = (("tests", "integration"), ("tests", "sdk"))
PORTABLE, STANDIN_ONLY = "portable", "standin_only"
# What only the stand-in has: its env knobs, its package, its fault mode, the test
# overlays' settings, and its image by name (a portable test that picks its image asks for
# the `server_image` fixture, which is the real-server lane's image when the switch is on).
KNOBS = re.compile(r"STANDIN_|tests[./]standin|\bfaults\b|KIT_TEST_|wandb-standin")

_COUNTS = pytest.StashKey[tuple[int, int]]()
_REAL = pytest.StashKey[str]()  # the real-server lane's summary line
_REAL_OUTPUT = "kit_real_lane"  # the same line, from an xdist worker to the controller


def pytest_configure(config):
    from wandb_local_kit.testing import RealLaneError, real_lane

    try:
        real_lane()
    except RealLaneError as err:
        raise pytest.UsageError(f"{err} (docs/testing.md: The real-server lane)") from None


def real_lane_line(portable: int) -> str | None:
    """`real-server lane: N portable tests against <target>`, or None with the switch off."""
    from wandb_local_kit.testing import real_lane

    lane = real_lane()
    if not lane.on:
        return None
    return f"real-server lane: {portable} portable tests against {lane.target}"


def in_lanes(path: Path, rootpath: Path) -> bool:
    """Whether a test file lies under tests/integration or tests/sdk of this rootdir."""
    try:
        parts = path.relative_to(rootpath).parts
    except ValueError:
        return False
    return parts[:2] in LANE_DIRS


def standin_reason(mark) -> str:
    reason = mark.kwargs.get("reason", mark.args[0] if mark.args else "")
    return reason.strip() if isinstance(reason, str) else ""


def lane_problem(item) -> str | None:
    """What is wrong with an item's lane marks, or None."""
    portable = list(item.iter_markers(PORTABLE))
    standin = list(item.iter_markers(STANDIN_ONLY))
    if portable and standin:
        return "is marked both portable and standin_only: choose one"
    if not portable and not standin:
        return "carries neither portable nor standin_only(reason)"
    if standin and not all(standin_reason(m) for m in standin):
        return "is standin_only without a reason: standin_only(reason=...) says what it needs"
    return None


@pytest.hookimpl(tryfirst=True)  # before -m or -k deselect anything: all of the lane counts
def pytest_collection_modifyitems(session, config, items):
    """A collection error for each module with a test whose marks are wrong: the run stops
    before any test, as for an import error, under pytest-xdist too (its workers pass
    failed collect reports on; an exception here would only crash them)."""
    lane = [item for item in items if in_lanes(Path(str(item.path)), config.rootpath)]
    problems: dict[str, list[str]] = {}
    for item in lane:
        why = lane_problem(item)
        if why:
            problems.setdefault(item.nodeid.split("::")[0], []).append(f"{item.name} {why}")
    for module, lines in problems.items():
        longrepr = (
            "every test under tests/integration and tests/sdk is marked portable (needs only "
            "a W&B server with wandb/local's container interface) or standin_only(reason) "
            "(tests/lanes.py):\n" + "\n".join(f"  {line}" for line in lines)
        )
        report = pytest.CollectReport(module, "failed", longrepr, [])
        config.hook.pytest_collectreport(report=report)
    portable = sum(1 for item in lane if item.get_closest_marker(PORTABLE))
    config.stash[_COUNTS] = (portable, len(lane))
    line = real_lane_line(portable)
    if line:
        # A real server has none of the stand-in's knobs, faults or processes.
        kept = [item for item in items if not item.get_closest_marker(STANDIN_ONLY)]
        dropped = [item for item in items if item.get_closest_marker(STANDIN_ONLY)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
        config.stash[_REAL] = line
        if hasattr(config, "workeroutput"):
            config.workeroutput[_REAL_OUTPUT] = line


def pytest_report_collectionfinish(config):
    portable, total = config.stash.get(_COUNTS, (0, 0))
    lines = []
    if total:
        lines.append(f"portable {portable} of {total} (tests/integration, tests/sdk; -m portable)")
    if _REAL in config.stash:
        lines.append(config.stash[_REAL])
    return lines or None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Under pytest-xdist the controller collects nothing: a worker's lane line comes back."""
    line = getattr(node, "workeroutput", {}).get(_REAL_OUTPUT)
    if line:
        node.config.stash[_REAL] = line


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    if _REAL in config.stash and not hasattr(config, "workeroutput"):
        terminalreporter.write_line(config.stash[_REAL])


# --- the static side ---------------------------------------------------------------------------


def _segment(lines: list[str], node: ast.AST) -> str:
    """A function's source with its decorators, dedented to parse on its own."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return textwrap.dedent("".join(lines[first - 1 : node.end_lineno]))


def _code_only(source: str) -> str:
    """The source without its comments and docstrings: a knob named in prose is no use."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.add((value.lineno, value.col_offset))
    lines = source.splitlines(keepends=True)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        prose = tok.type == tokenize.COMMENT or (
            tok.type == tokenize.STRING and tok.start in docstrings
        )
        if not prose:
            continue
        (row, col), (end_row, end_col) = tok.start, tok.end
        for r in range(row, end_row + 1):
            line = lines[r - 1]
            a = col if r == row else 0
            b = end_col if r == end_row else len(line.rstrip("\n"))
            lines[r - 1] = line[:a] + " " * (b - a) + line[b:]
    return "".join(lines)


def _marks(decorators: list[ast.expr]) -> set[str]:
    """The names of `pytest.mark.NAME` marks among decorators or a pytestmark value."""
    names = set()
    for node in decorators:
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Attribute)
                and sub.value.attr == "mark"
            ):
                names.add(sub.attr)
    return names


def _fixture_name(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for dec in fn.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        target = call.func if call else dec
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            for kw in call.keywords if call else []:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    return kw.value.value
            return fn.name
    return None


def _args(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


def _autouse(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(dec, ast.Call)
        and any(kw.arg == "autouse" and getattr(kw.value, "value", False) for kw in dec.keywords)
        for dec in fn.decorator_list
    )


def portable_knob_mentions(path: Path) -> list[str]:
    """`<file>::<test> (via <fixture>) names <knob>` for each portable test in the file
    whose own source, or that of a fixture of the module it uses (directly or through
    another), names a stand-in knob."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    module_marks: set[str] = set()
    fixtures: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    tests: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, set[str]]] = []

    def scan(body: list[ast.stmt], inherited: set[str]) -> None:
        for node in body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                inherited |= _marks([node.value])
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                scan(node.body, inherited | _marks(node.decorator_list))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = _fixture_name(node)
                if name:
                    fixtures[name] = node
                elif node.name.startswith("test"):
                    tests.append((node, _marks(node.decorator_list)))

    scan(tree.body, module_marks)
    found = []
    for fn, marks in tests:
        if PORTABLE not in marks | module_marks or STANDIN_ONLY in marks | module_marks:
            continue  # (both marks at once: the collection check names that)
        seen: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        todo = [*_args(fn), *(n for n, f in fixtures.items() if _autouse(f))]
        while todo:
            name = todo.pop()
            if name in fixtures and name not in seen:
                seen[name] = fixtures[name]
                todo.extend(_args(fixtures[name]))
        for via, node in [(None, fn), *seen.items()]:
            code = _code_only(_segment(lines, node))
            knobs = sorted(set(KNOBS.findall(code)))
            if knobs:
                where = f" (via fixture {via})" if via else ""
                found.append(f"{path.name}::{fn.name}{where} names {', '.join(knobs)}")
    return found
