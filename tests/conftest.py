"""Session-wide test isolation: no test reads or writes the wandb SDK's global settings
of the user running the tests (~/.config/wandb/settings). A base_url left there by one
test (or by the developer) would point another test's SDK at a server long gone."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

os.environ.setdefault("WANDB_CONFIG_DIR", tempfile.mkdtemp(prefix="kit-tests-wandb-config-"))


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


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs with -n), tests that share a module-scoped
    fixture (a compose stack, a built wheel, a lab host) go to one worker: spread over
    several, each worker would build or start that fixture again. Each parameter of
    such a fixture is a group of its own, so the embedded and external stacks of one
    module still run side by side. Needs --dist loadgroup (the Makefile passes it)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        shared = []
        for name in info.names_closure:
            defs = info.name2fixturedefs.get(name) or ()
            if defs and defs[-1].scope in _SHARED_SCOPES:
                param = getattr(getattr(item, "callspec", None), "params", {}).get(name)
                shared.append(name if param is None else f"{name}={param}")
        if shared:
            group = item.nodeid.split("::")[0] + ":" + ",".join(sorted(shared))
            item.add_marker(pytest.mark.xdist_group(group))
