"""A user's parallel suite starts one server: a user's pytest file, run with
`-n 4` against the `wandb_server` fixture, gets one stack shared by all four workers,
each logging into a project of its own, and the stack is gone once the session ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import childproc

pytestmark = pytest.mark.portable

USER_TESTS = """
import json, os, uuid

import pytest


@pytest.mark.parametrize("n", range(8))
def test_logs_a_run(wandb_server, monkeypatch, tmp_path, n):
    for key, value in wandb_server.sdk_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    import wandb

    run = wandb.init(settings=wandb.Settings(silent=True))  # the worker's WANDB_PROJECT
    run.log({"n": n})
    path = f"{run.entity}/{run.project}/{run.id}"
    run.finish()
    back = wandb.Api(timeout=60).run(path)
    record = {
        "worker": os.environ["PYTEST_XDIST_WORKER"],
        "stack": wandb_server.project,
        "url": wandb_server.base_url,
        "project": run.project,
        "path": path,
        "n_back": back.summary.get("n"),
        "n": n,
    }
    out = os.path.join(os.environ["KIT_RECORDS"], uuid.uuid4().hex + ".json")
    with open(out, "w") as f:
        json.dump(record, f)
"""


def _compose_projects() -> set[str]:
    out = subprocess.run(
        ["docker", "compose", "ls", "-a", "-q"], capture_output=True, text=True, timeout=60
    ).stdout
    return set(out.split())


@pytest.mark.slow
def test_a_users_suite_under_xdist_starts_one_stack_for_all_workers(
    test_image, server_image, tmp_path
):
    # The user's suite inherits the environment: in the real-server lane its plugin runs
    # KIT_REAL_IMAGE as every stack does (wandb_local_kit.testing.StackFactory).
    for name in ("mysql", "s3", "aws-cli"):
        test_image(name)
    suite, records = tmp_path / "user-suite", tmp_path / "records"
    suite.mkdir()
    records.mkdir()
    (suite / "test_user.py").write_text(USER_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "PYTEST_"))}
    env.update(KIT_RECORDS=str(records), HOME=str(tmp_path))
    before = _compose_projects()
    result = childproc.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "4",
         "--wandb-kit-test-images", str(suite)],
        env=env,
        cwd=suite,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    rows = [json.loads(p.read_text()) for p in records.iterdir()]
    assert sorted(r["n"] for r in rows) == list(range(8))
    # Exactly one stack served every worker ...
    assert {r["worker"] for r in rows} == {"gw0", "gw1", "gw2", "gw3"}
    assert len({(r["stack"], r["url"]) for r in rows}) == 1, rows
    stack = rows[0]["stack"]
    assert stack not in before
    # ... each worker wrote into its own project, and every run arrived there.
    for r in rows:
        assert r["project"] == f"tests-{r['worker']}"
        assert r["path"].split("/")[1] == r["project"]
        assert r["n_back"] == r["n"]
    # The last one out tore it down.
    assert stack not in _compose_projects()
