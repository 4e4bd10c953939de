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
