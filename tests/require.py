"""A prerequisite a test cannot find on this machine (Docker, a browser, ansible, git,
IPv6, root): the test skips with the reason and the way to get it on a developer's
machine, and fails in CI (KIT_REQUIRE_DOCKER=1), where every test must run."""

from __future__ import annotations

import os

import pytest


def required() -> bool:
    return os.environ.get("KIT_REQUIRE_DOCKER") == "1"


def unavailable(reason: str, how_to: str = "") -> None:
    """Skips (a developer's machine) or fails (CI) naming what is missing."""
    text = f"{reason}: {how_to}" if how_to else reason
    if required():
        pytest.fail(f"{text} (KIT_REQUIRE_DOCKER=1: every test must run)", pytrace=False)
    pytest.skip(text)


def torch() -> None:
    """torch is its own extra (large): a laptop without it skips what needs it."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        unavailable(
            "torch is not installed", "pip install -e '.[torch]' (see scripts/setup-venv.sh)"
        )
