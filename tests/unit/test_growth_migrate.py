"""The pieces of `wandb-kit migrate` that need no server: keys only from the environment,
the state file, and what a copy's state can be."""

from __future__ import annotations

import json

import pytest
from wandb_local_kit import cli
from wandb_local_kit.commands import migrate as migrate_command
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.growth import migrate_copy
from wandb_local_kit.growth.migrate_state import State


def test_keys_come_from_the_environment_only(monkeypatch, capsys):
    monkeypatch.delenv("WANDB_FROM_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_TO_API_KEY", raising=False)
    code = cli.main(["migrate", "--from", "http://a:8080", "--to", "http://b:8080"])
    err = capsys.readouterr().err
    assert code == 2 and "WANDB_FROM_API_KEY and WANDB_TO_API_KEY not set" in err
    assert "Traceback" not in err
    # There is no option that takes a key.
    with pytest.raises(SystemExit):
        cli.main(["migrate", "--from", "http://a", "--to", "http://b", "--from-key", "x"])
    assert migrate_command.keys_from_env({"WANDB_FROM_API_KEY": "a", "WANDB_TO_API_KEY": "b"}) == (
        "a",
        "b",
    )


def test_same_server_twice_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("WANDB_FROM_API_KEY", "a")
    monkeypatch.setenv("WANDB_TO_API_KEY", "b")
    assert cli.main(["migrate", "--from", "http://a:8080/", "--to", "http://a:8080"]) == 2
    assert "same server" in capsys.readouterr().err


def test_state_file_round_trip_and_belongs_to_one_pair(tmp_path):
    path = tmp_path / "state.json"
    state = State.load(path, "http://a", "http://b")
    state.runs["e/p/r1"] = {"status": "done", "rows": 3}
    state.runs["e/p/r2"] = {"status": "started"}
    state.sweeps["e/p/s1"] = "new1"
    state.save()
    again = State.load(path, "http://a", "http://b")
    assert again.done("e/p/r1") and not again.done("e/p/r2") and not again.done("e/p/r3")
    assert again.sweeps == {"e/p/s1": "new1"}
    assert not path.with_name("state.json.tmp").exists()
    with pytest.raises(KitError, match="belongs to a migration"):
        State.load(path, "http://a", "http://c")
    path.write_text("{not json")
    with pytest.raises(KitError, match="not JSON"):
        State.load(path, "http://a", "http://b")
    assert json.loads(json.dumps(again.runs))  # plain JSON


def test_what_a_copy_can_be():
    assert migrate_copy.target_state("finished") == "finished"
    assert migrate_copy.target_state("running") == "finished"
    for state in ("failed", "crashed", "killed", "preempted"):
        assert migrate_copy.target_state(state) == "failed"
    summary = {
        "loss": 0.1,
        "_runtime": 3.2,
        "_timestamp": 1.0,
        "_wandb": {"runtime": 3},
        "_step": 9,
        "img": {"_type": "image-file", "path": "media/x.png"},
    }
    assert migrate_copy.clean_summary(summary) == {
        "loss": 0.1,
        "_step": 9,
        "img": {"_type": "image-file", "path": "media/x.png"},
    }
    assert migrate_copy.clean_config({"lr": 1, "_wandb": {}}) == {"lr": 1}
