"""`wandb-kit storage`, and doctor's disk warning, on a real compose stack whose /vol is
a 64 MiB tmpfs volume (created before compose, which then uses it): runs logged with the
real SDK, one deleted through the public API, its space kept until the retention period
has passed, then given back; and a disk filled past the threshold by one project."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from tests import childproc

from .helpers import ROOT, kit
from .sdk import sdk_env

# The stand-in's retention knob is seconds; W&B's period is whole hours.
pytestmark = pytest.mark.standin_only(
    reason="sets STANDIN_DATA_RETENTION_SECONDS (a retention period a test can wait out)"
)

RETENTION_S = 5
VOLUME_MIB = 64

LOG = """
import sys, numpy as np, wandb
project, count, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = []
for n in range(count):
    with wandb.init(project=project) as run:
        pixels = (np.random.default_rng(n).random((128, 128, 3)) * 255).astype("uint8")
        run.log({"img": wandb.Image(pixels), "loss": 1.0 / (n + 1)})
        if mib:
            with open("blob.bin", "wb") as f:
                f.write(np.random.default_rng(n).bytes(mib * 1024 * 1024))
            run.save("blob.bin", policy="now")
        ids.append(run.id)
print("KIT-IDS " + " ".join(ids))
"""


def _sdk(env, *args: str) -> str:
    result = childproc.run(
        [sys.executable, "-c", childproc.sdk_code(LOG), *args], env=env, timeout=300,
        cwd=env["KIT_TMP"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return next(x for x in result.stdout.splitlines() if x.startswith("KIT-IDS "))[8:]


def _storage(server) -> dict:
    result = kit(server, "storage", "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _project_bytes(report: dict, project: str) -> int:
    return {p["project"]: p["bytes"] for p in report["projects"]}.get(f"admin/{project}", 0)


@pytest.fixture(scope="module")
def stack(stacks, monkeypatch_module):
    project = f"kit-test-growth-{uuid.uuid4().hex[:6]}"
    volume = f"{project}_wandb-data"
    subprocess.run(
        ["docker", "volume", "create", "--driver", "local", "--opt", "type=tmpfs",
         "--opt", "device=tmpfs", "--opt", f"o=size={VOLUME_MIB}m,mode=1777",
         "--label", f"com.docker.compose.project={project}",
         "--label", "com.docker.compose.volume=wandb-data", volume],
        check=True, capture_output=True,
    )  # fmt: skip
    # compose reads it from the environment into the stand-in's (test.yaml).
    monkeypatch_module.setenv("STANDIN_DATA_RETENTION_SECONDS", str(RETENTION_S))
    try:
        server = stacks.start(COMPOSE_PROJECT_NAME=project)
    except BaseException:
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)
        raise
    yield server
    stacks.stop(server)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_storage_shows_projects_and_the_space_comes_back_after_the_retention(stack, tmp_path):
    env = sdk_env(stack, tmp_path)
    first, _second = _sdk(env, "growth", "2", "0").split()
    before = _storage(stack)
    logged = _project_bytes(before, "growth")
    assert logged > 0, before["projects"]
    assert before["disk_bytes"] <= VOLUME_MIB * 1024 * 1024 and before["used_bytes"] > 0
    assert before["samples"] >= 1 and before["forecast"]["full_at"] is None  # too few samples
    assert any("unconfirmed for the embedded store" in n for n in before["notes"])

    deleted_at = time.monotonic()
    delete = f"import wandb\nwandb.Api().run('admin/growth/{first}').delete()"
    assert childproc.run([sys.executable, "-c", delete], env=env, timeout=120).returncode == 0
    kept = _storage(stack)
    if time.monotonic() - deleted_at < RETENTION_S - 1:  # still inside the period
        assert _project_bytes(kept, "growth") == logged, "a deleted run's files stay"
    deadline = time.monotonic() + RETENTION_S + 30
    while time.monotonic() < deadline:
        after = _storage(stack)
        if _project_bytes(after, "growth") < logged:
            break
        time.sleep(1)
    assert 0 < _project_bytes(after, "growth") < logged, after["projects"]
    html = tmp_path / "storage.html"
    assert kit(stack, "storage", "--html", str(html)).returncode in (0, 1)
    assert "<svg" in html.read_text(encoding="utf-8")
    assert after["samples"] >= 3  # each run recorded one, beside .env
    samples = stack.env_file.parent / f".{stack.env_file.name}.usage.jsonl"
    lines = len(samples.read_text(encoding="utf-8").splitlines())
    # The daily timer's sampler (standard library only) adds to the same file.
    sampler = childproc.run(
        [sys.executable, "-S", "scripts/usage_sample.py", "--compose-dir",
         str(stack.compose_dir), "--env-file", str(stack.env_file)],
        timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert sampler.returncode == 0, sampler.stderr
    assert len(samples.read_text(encoding="utf-8").splitlines()) == lines + 1


def test_doctor_warns_on_a_full_disk_naming_the_project(stack, tmp_path):
    env = sdk_env(stack, tmp_path)
    _sdk(env, "bulky", "1", str(VOLUME_MIB - 5))  # leaves under a tenth of 64 MiB free
    result = kit(stack, "doctor", "--json", "--no-deep")
    report = json.loads(result.stdout)
    found = [f for f in report["findings"] if f["pitfall"] == "disk-low"]
    assert len(found) == 1, report["local"]["usage"]
    disk = found[0]
    assert disk["severity"] == "warn" and "admin/bulky" in disk["found"], disk
    assert "WANDB_DATA_RETENTION_PERIOD" in disk["fix"]
    assert result.returncode == 1
    health = kit(stack, "health", "--json")
    [layer] = [ly for ly in json.loads(health.stdout)["layers"] if ly["name"] == "disk"]
    assert layer["status"] == "warn" and "admin/bulky" in layer["detail"], layer
    assert health.returncode == 1
