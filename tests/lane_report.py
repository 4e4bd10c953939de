"""The real-server lane's report (docs/real-server-lane.md): one JSON file a licensed lab
can send back, saying which server was tested, which portable tests passed, failed or were
skipped, and which assumptions of docs/assumptions.md that confirmed or refuted.

Written by the controller at the end of a run with the switch on
(wandb_local_kit.testing.real_lane) to `--kit-real-report` (KIT_REAL_REPORT), by default
`real-server-report.json` in the pytest rootdir (the checkout). It lives here, not in the
kit's pytest plugin, because it reads the checkout's docs/assumptions.md and names the
checkout's tests.

Redaction as in the support bundle (wandb_local_kit.core.redact): every string in the file
goes through `redact` with the lane's license and admin key as extra secrets, and a failed
test's message is first redacted where it ran, with the .env of each stack the test used
(passwords, storage keys). What the server says of itself (its serverInfo version, its
Server header) comes from wandb_local_kit.bench.identify, asked once per server by the
worker that used it.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.lanes import in_lanes

REPORT_ENV = "KIT_REAL_REPORT"
DEFAULT_NAME = "real-server-report.json"
ASSUMPTIONS_DOC = Path("docs", "assumptions.md")
# Carried from a worker to the controller on the test's report (user_properties).
_SERVER_PROP, _MESSAGE_PROP = "kit_real_server", "kit_real_message"
OUTCOMES = ("passed", "failed", "error", "skipped")
# A test that waits out an hour-long server period: it runs only with KIT_REAL_LONG=1
# (tests/conftest.py deselects it otherwise).
LONG_WAIT, LONG_WAIT_SWITCH = "long_wait", "KIT_REAL_LONG"
_MESSAGE_CHARS = 600  # a failure's gist; the full text stays in the run's own output

_OUTCOMES = pytest.StashKey[dict]()  # node id -> {"outcome", "message"}
_SERVERS = pytest.StashKey[dict]()  # url -> what it said of itself
_WRITTEN = pytest.StashKey[Path]()
_IDENTIFIED: set[str] = set()  # servers this process has asked already


def pytest_addoption(parser):
    parser.getgroup("wandb-kit").addoption(
        "--kit-real-report",
        default=None,
        help=f"where the real-server lane writes its report (default ${REPORT_ENV}, else "
        f"{DEFAULT_NAME} in the rootdir)",
    )


def report_path(config) -> Path:
    import os

    chosen = config.getoption("kit_real_report") or os.environ.get(REPORT_ENV, "").strip()
    return Path(chosen) if chosen else config.rootpath / DEFAULT_NAME


def _lane():
    from wandb_local_kit.testing import real_lane

    return real_lane()


def lane_secrets(lane) -> list[str]:
    """The lane's own secrets, as written and URL-quoted (a message may carry either)."""
    found: set[str] = set()
    for value in (lane.license, lane.admin_key):
        if value:
            found |= {value, quote(value, safe=""), quote(value)}
    return sorted(found, key=len, reverse=True)


def scrub(data, secrets: list[str], values: dict | None = None):
    """`data` with every string in it redacted (core.redact) with these extra secrets."""
    from wandb_local_kit.core.redact import redact

    if isinstance(data, str):
        return redact(data, values, secrets)
    if isinstance(data, dict):
        return {k: scrub(v, secrets, values) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, secrets, values) for v in data]
    return data


# --- in the process that ran the test (an xdist worker, or the only one) ---------------------


def _servers_of(item) -> list[tuple[str, str, dict]]:
    """(url, key, .env values) of each server among the test's fixture values: the kit's
    stacks (LiveServer) and the SDK tests' server (RealServer, the stand-in)."""
    found = []
    for value in list(getattr(item, "funcargs", {}).values()):
        for obj in value if isinstance(value, (tuple, list)) else [value]:
            url = getattr(obj, "base_url", None) or getattr(obj, "url", None)
            key = getattr(obj, "api_key", None) or getattr(obj, "admin_key", None)
            if isinstance(url, str) and isinstance(key, str) and url.startswith("http"):
                found.append((url, key, dict(getattr(obj, "values", None) or {})))
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not _lane().on:
        return
    lane = _lane()
    servers = _servers_of(item)
    # Asked right after setup, while the server is as its fixture made it (a test may stop it).
    for url, key, _ in servers if report.when == "setup" and report.passed else []:
        if url not in _IDENTIFIED:
            _IDENTIFIED.add(url)
            from wandb_local_kit.bench.identify import identify

            report.user_properties.append((_SERVER_PROP, {"url": url, **identify(url, key)}))
    if report.failed and report.when == "call":
        values: dict = {}
        for _, _, env in servers:
            values.update(env)
        keys = [key for _, key, _ in servers]
        report.user_properties.append(
            (_MESSAGE_PROP, scrub(_gist(report), [*lane_secrets(lane), *keys], values))
        )


def _gist(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " [...]"


# --- in the controller -----------------------------------------------------------------------


def pytest_configure(config):
    config.stash[_OUTCOMES] = {}
    config.stash[_SERVERS] = {}
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Recorder(config), "kit-real-recorder")


class _Recorder:
    """Each test's outcome as the controller learns it (xdist forwards workers' reports;
    pytest_runtest_logreport gets no config, hence an object holding it)."""

    def __init__(self, config):
        self.config = config

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report):
        if not in_lanes(self.config.rootpath / report.nodeid.split("::")[0], self.config.rootpath):
            return
        tests = self.config.stash[_OUTCOMES]
        # pytest-xdist's --dist loadgroup appends "@<group>" to a node id: not the test's name.
        nodeid = re.sub(r"@[^\]]*$", "", report.nodeid)
        props = dict(report.user_properties)
        if _SERVER_PROP in props:
            server = props[_SERVER_PROP]
            self.config.stash[_SERVERS][server["url"]] = server
        entry = tests.setdefault(nodeid, {"outcome": None})
        if report.failed:
            outcome = "failed" if report.when == "call" else "error"
            if entry["outcome"] not in ("failed", "error"):
                message = props.get(_MESSAGE_PROP) or _gist(report)
                entry.update(outcome=outcome, message=message)
        elif report.skipped and entry["outcome"] is None:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            entry.update(outcome="skipped", message=str(reason))
        elif report.passed and report.when == "call" and entry["outcome"] is None:
            entry["outcome"] = "passed"


# --- the report ------------------------------------------------------------------------------


def assumptions(doc_text: str) -> list[dict]:
    """Each numbered entry of docs/assumptions.md's "The assumptions": its number, its
    bold title, and the test ids (tests/...py::test_...) it names."""
    section = doc_text.split("## The assumptions", 1)[-1]
    entries: list[dict] = []
    for line in section.splitlines():
        start = re.match(r"^(\d+)\. \*\*(.+?)\*\*", line)
        if start:
            entries.append({"id": int(start.group(1)), "title": start.group(2), "text": line})
        elif entries and line.startswith(" ") and line.strip():
            entries[-1]["text"] += " " + line.strip()
        elif line.strip() and entries:
            break  # prose after the list ends it
    for entry in entries:
        named = re.findall(r"tests/[\w/]+\.py::\w+", entry.pop("text"))
        entry["tests"] = list(dict.fromkeys(named))
    return entries


def long_waits(root: Path, tests: list[str]) -> set[str]:
    """Which of these test ids carry the long_wait mark, read from their source: under
    pytest-xdist the controller, which writes the report, collects no test to ask."""
    found = set()
    for test in tests:
        path, _, name = test.partition("::")
        try:
            tree = ast.parse((root / path).read_text())
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                marks = {
                    sub.attr
                    for dec in node.decorator_list
                    for sub in ast.walk(dec)
                    if isinstance(sub, ast.Attribute)
                }
                if LONG_WAIT in marks:
                    found.add(test)
    return found


def verdict(entry: dict, outcomes: dict[str, str], long_wait: set[str] | None = None) -> dict:
    """confirmed (each of its tests passed), refuted (one failed), or not settled; a
    long_wait test that did not run is named with the switch that runs it."""

    def of(test: str) -> list[str]:
        return [o for node, o in outcomes.items() if node.split("[")[0] == test]

    seen = {t: of(t) for t in entry["tests"]}
    failed = [t for t, os_ in seen.items() if {"failed", "error"} & set(os_)]
    if failed:
        return {**entry, "verdict": "refuted", "by": failed}
    if entry["tests"] and all(os_ and set(os_) == {"passed"} for os_ in seen.values()):
        return {**entry, "verdict": "confirmed"}
    why = "no test settles it" if not entry["tests"] else "its tests did not all run and pass"
    waiting = [t for t, os_ in seen.items() if not os_ and t in (long_wait or set())]
    if waiting:
        why += (
            f"; {', '.join(waiting)} waits out an hour-long period and runs only with "
            f"{LONG_WAIT_SWITCH}=1 (docs/real-server-lane.md)"
        )
    return {**entry, "verdict": "not settled", "why": why}


def _image_id(image: str) -> str | None:
    """The image's id (sha256) as the local engine knows it, or None."""
    import subprocess

    try:
        r = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return r.stdout.strip() or None


def _distinct(servers) -> list[dict]:
    """Each distinct answer once, with how many of the run's servers gave it (every test
    stack is a server of its own, on a loopback port of no interest)."""
    seen: dict[tuple, dict] = {}
    for s in servers:
        said = {k: v for k, v in s.items() if k != "url"}
        key = tuple(sorted((k, str(v)) for k, v in said.items()))
        seen.setdefault(key, {**said, "servers": 0})["servers"] += 1
    return sorted(seen.values(), key=lambda s: -s["servers"])


def build(lane, outcomes: dict, servers: dict, doc_text: str, root: Path | None = None) -> dict:
    """The report's content, before redaction; root: the checkout whose tests the
    assumptions name (to tell a long_wait test that did not run)."""
    from importlib.metadata import PackageNotFoundError, version

    from wandb_local_kit import __version__

    entries = assumptions(doc_text)
    named = [t for e in entries for t in e["tests"]]
    long_wait = long_waits(root, named) if root else set()
    tests = {k: v for k, v in outcomes.items() if v["outcome"]}
    plain = {k: v["outcome"] for k, v in tests.items()}
    by = {o: sorted(k for k, v in plain.items() if v == o) for o in OUTCOMES}
    try:
        sdk = version("wandb")
    except PackageNotFoundError:
        sdk = None
    return {
        "report": "wandb-local-kit real-server lane",
        "format": 1,
        "run_date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kit_version": __version__,
        "wandb_sdk_version": sdk,
        "target": {
            "image": lane.image or None,
            "image_id": _image_id(lane.image) if lane.image else None,
            "url": lane.url or None,
        },
        "servers": _distinct(servers.values()),
        "summary": {**{o: len(ids) for o, ids in by.items()}, "tests": len(tests)},
        "tests": {
            "passed": by["passed"],
            "failed": [
                {"test": k, "message": tests[k].get("message", "")}
                for k in by["failed"] + by["error"]
            ],  # fmt: skip
            "skipped": [{"test": k, "reason": tests[k].get("message", "")} for k in by["skipped"]],
        },
        "assumptions": [verdict(e, plain, long_wait) for e in entries],
        "left_out": "no API key, password, license or other secret (redacted as in the support "
        "bundle), no server log, no test output beyond each failure's first "
        f"{_MESSAGE_CHARS} characters",
    }


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if hasattr(config, "workerinput"):
        return
    try:
        lane = _lane()
    except ValueError:
        return  # a half-set switch stopped the run before any test
    if not lane.on:
        return
    from wandb_local_kit.core import files

    if lane.url and lane.url not in config.stash[_SERVERS]:
        from wandb_local_kit.bench.identify import identify

        config.stash[_SERVERS][lane.url] = {"url": lane.url, **identify(lane.url, lane.admin_key)}
    doc = config.rootpath / ASSUMPTIONS_DOC
    doc_text = doc.read_text() if doc.is_file() else ""
    data = build(lane, config.stash[_OUTCOMES], config.stash[_SERVERS], doc_text, config.rootpath)
    text = json.dumps(scrub(data, lane_secrets(lane)), indent=2) + "\n"
    config.stash[_WRITTEN] = files.write_text(report_path(config), text, what="the lane's report")


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    where = config.stash.get(_WRITTEN, None)
    if where:
        terminalreporter.write_line(
            f"real-server lane report: {where} (docs/real-server-lane.md says where to send it)"
        )
