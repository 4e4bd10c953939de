"""Session-wide test isolation: no test reads or writes the wandb SDK's global settings
of the user running the tests (~/.config/wandb/settings). A base_url left there by one
test (or by the developer) would point another test's SDK at a server long gone."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

# Every integration and SDK test is marked portable or standin_only(reason); the lanes'
# collection check and the `portable N of M` count live there. The real-server lane's
# report (real-server-report.json) is written by the second.
pytest_plugins = ["tests.lanes", "tests.lane_report"]

os.environ.setdefault("WANDB_CONFIG_DIR", tempfile.mkdtemp(prefix="kit-tests-wandb-config-"))
# As in an activated virtualenv: the kit's own `wandb-kit` is on PATH, so hints name it
# plainly (`make test` runs .venv/bin/python without activating .venv). The hints for a
# shell without it on PATH are tested in tests/unit/test_invocation.py.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])


@pytest.fixture(autouse=True)
def _no_sdk_service_outlives_its_test():
    """A test that uses wandb.Api in this process starts a wandb-core service and
    records it in WANDB_SERVICE, which every later test and child would inherit; once
    that service is gone they fail with 'Failed to connect to service on socket' or
    fall back to the SDK's default cloud URL. Each test ends with the SDK torn down."""
    yield
    os.environ.pop("WANDB_SERVICE", None)
    helpers = sys.modules.get("tests.integration.migrate_helpers")
    if helpers is not None and hasattr(helpers, "_api"):
        helpers._api.cache_clear()
    wandb = sys.modules.get("wandb")
    if wandb is not None and hasattr(wandb, "teardown"):
        try:
            wandb.teardown()
        except Exception:  # a service already gone: nothing left to tear down
            pass


_SHARED_SCOPES = ("module", "package", "class")


def _shared_fixture_keys(item) -> list[str]:
    """The module-or-wider fixtures an item uses, each parameter a key of its own."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    keys = []
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name) or ()
        if defs and defs[-1].scope in _SHARED_SCOPES:
            param = getattr(getattr(item, "callspec", None), "params", {}).get(name)
            keys.append(name if param is None else f"{name}={param}")
    return keys


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into @group ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs with -n), tests that share a module-scoped
    fixture (a compose stack, a built wheel, a lab host) go to one worker: spread over
    several, each worker would build or start that fixture again, and a test that reads
    what an earlier one left on it (the Ansible reboot test) would find nothing. Tests are
    grouped by what they share, transitively: a test using `deployed` and `backed_up` joins
    every test using `deployed`. Each parameter of such a fixture is a key of its own, so
    the embedded and external stacks of one module still run side by side. Needs
    --dist loadgroup (the Makefile passes it)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    keyed = []
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.split("::")[0]
        keys = [f"{module}:{key}" for key in _shared_fixture_keys(item)]
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        if keys:
            keyed.append((item, keys[0]))
    for item, key in keyed:
        item.add_marker(pytest.mark.xdist_group(root(key)))


LONG_WAIT_SWITCH = "KIT_REAL_LONG"
_LONG_WAITS_DROPPED = pytest.StashKey[int]()
_LONG_WAITS_OUTPUT = "kit_long_waits_dropped"  # from an xdist worker to the controller


# Around every other collection hook, tests/lanes.py's too; a name of its own (the one
# above is taken) with the pytest_ prefix pytest looks for.
@pytest.hookimpl(wrapper=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_deselect_long_waits(config, items):
    """A `long_wait` test waits out a period the server counts in hours (the retention
    test of docs/assumptions.md: over an hour); it runs with KIT_REAL_LONG=1
    (`KIT_REAL_LONG=1 make test-real`) and is deselected otherwise, counted in the
    summary's "deselected" as `platform_matrix` is. Dropped before the lanes count, so
    `portable N of M` and the real-server lane's line count what will run."""
    if os.environ.get(LONG_WAIT_SWITCH) != "1":
        dropped = [item for item in items if item.get_closest_marker("long_wait")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
            config.stash[_LONG_WAITS_DROPPED] = len(dropped)
            if hasattr(config, "workeroutput"):
                config.workeroutput[_LONG_WAITS_OUTPUT] = len(dropped)
    return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Under pytest-xdist the workers collect and deselect; the controller, which prints
    the summary, hears of it here (every worker collects the same tests)."""
    dropped = getattr(node, "workeroutput", {}).get(_LONG_WAITS_OUTPUT)
    if dropped:
        node.config.stash[_LONG_WAITS_DROPPED] = dropped


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    dropped = config.stash.get(_LONG_WAITS_DROPPED, 0)
    if dropped and not hasattr(config, "workeroutput"):
        terminalreporter.write_line(
            f"long_wait: {dropped} deselected, each waits out an hour or more; "
            f"{LONG_WAIT_SWITCH}=1 runs them"
        )
