"""Ctrl-C on `wandb-kit smoke` (SIGINT to its process group, as a terminal sends it) after
a check finished: the reports asked for are written with what finished (the rest marked
interrupted), the runs it created are deleted, and it exits 130 saying so."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from tests.sdk.conftest import REPO

pytestmark = pytest.mark.portable

# In the order they run (the suite's order: all of the same weight); basics first.
CHECKS = ["basics", "images", "table", "html", "audio-histogram", "files"]


def _default_sigint() -> None:
    # A background test run may leave SIGINT ignored for its children, as a shell does for
    # a background job; a terminal's foreground command has it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _runs(standin, project: str) -> list[str]:
    import wandb

    api = wandb.Api(api_key=standin.admin_key, overrides={"base_url": standin.url}, timeout=60)
    return [r.name for r in api.runs(f"admin/{project}")]


def test_ctrl_c_writes_the_reports_deletes_the_runs_and_exits_130(standin, tmp_path):
    project = "p-" + uuid.uuid4().hex[:10]
    report, junit = tmp_path / "smoke.json", tmp_path / "smoke.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_API_KEY=standin.admin_key, TMPDIR=str(tmp_path), COLUMNS="200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", standin.url]
        # One at a time, quick ones (about a second each): when the first has finished,
        # the next is starting and the rest wait.
        + ["--only", ",".join(CHECKS), "--parallel", "1", "--project", project]
        + ["--json", str(report), "--junit", str(junit)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_default_sigint,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        # Through a pipe `smoke` prints a line per finished check; its worker's result file
        # says the same to a reader of the disk.
        deadline = time.monotonic() + 120
        while not any(line.startswith("basics: ") for line in seen) and not list(
            tmp_path.glob("wandb-kit-smoke-*/smoke-basics-*/worker.result.json")
        ):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=180)
        reader.join(timeout=10)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out = "".join(seen)
    assert proc.returncode == 130, out[-3000:] + err[-3000:]
    assert "Traceback" not in out + err, err[-3000:]
    checks = {c["check"]: c for c in json.loads(report.read_text())["checks"]}
    assert sorted(checks) == sorted(CHECKS)
    assert checks["basics"]["status"] == "passed" and checks["basics"]["run_urls"]
    assert checks["files"]["status"] == "interrupted", checks["files"]  # never started
    assert all(c["status"] in ("passed", "interrupted") for c in checks.values()), checks
    assert json.loads(report.read_text())["meta"]["interrupted"] is True
    assert 'type="interrupted"' in junit.read_text()
    assert "smoke interrupted:" in out, out
    deleted = re.search(r"deleted (\d+) smoke runs", out)
    assert deleted and int(deleted.group(1)) >= 1, out  # basics' run at least
    assert _runs(standin, project) == []  # nothing left on the server
    assert list(tmp_path.glob("wandb-kit-smoke-*")) == []  # nor on the client
    assert "basics: passed" in out  # a log showed it when it finished
