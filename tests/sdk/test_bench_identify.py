"""`bench` names the server it measured: against the stand-in (a real HTTP server, the
real serverInfo query), the label says stand-in with its version; a server that does not
answer is "unknown", never an error that would cost the benchmark its figures."""

from __future__ import annotations

import pytest
from wandb_local_kit.bench.identify import identify

from tests.sdk.conftest import free_port


@pytest.mark.standin_only(
    "stand-in behaviour: asserts the stand-in's identity (0.0.0-standin, its Server header)"
)
def test_the_stand_in_is_named_as_such_with_its_version(standin):
    who = identify(standin.url, standin.admin_key)
    assert who["kind"] == "stand-in", who
    assert who["version"] == "0.0.0-standin"
    assert "wandb-standin" in (who["server_header"] or "")
    assert "not wandb/local" in who["why"]


@pytest.mark.portable
def test_a_server_that_does_not_answer_is_unknown():
    who = identify(f"http://127.0.0.1:{free_port()}", "local-x", timeout=2)
    assert who["kind"] == "unknown" and who["version"] is None
    assert "serverInfo" in who["why"]
