"""A deleted run's files stay until the retention period has passed (W&B's soft delete),
seen the way `wandb-kit storage` sees them: the server's Entity.storageBytes and the
bytes under ENTITY/PROJECT in the embedded store's bucket folder."""

from __future__ import annotations

import subprocess
import time

import pytest

from .conftest import StandIn, run_python

# W&B's period is whole hours; a test cannot wait one.
pytestmark = pytest.mark.standin_only(
    reason="sets STANDIN_DATA_RETENTION_SECONDS (a retention period of seconds)"
)

RETENTION_S = 4

LOG_TWO_RUNS = """
import numpy as np
import wandb
ids = []
for n in range(2):
    with wandb.init(project=PROJECT) as run:
        pixels = (np.random.default_rng(n).random((64, 64, 3)) * 255).astype("uint8")
        run.log({"img": wandb.Image(pixels), "loss": 0.5})
        ids.append(run.id)
print(" ".join(ids))
"""


def _project_bytes(vol, project: str) -> int:
    """What the kit's storage command runs in the container, run here on the folder."""
    from wandb_local_kit.server import usage

    root = vol / "minio" / "local-files"
    out = subprocess.run(
        ["sh", "-c", "du -sk -- */* 2>/dev/null; true"], cwd=root, capture_output=True, text=True
    ).stdout
    return dict(usage.parse_du_lines(out)).get(f"admin/{project}", 0)


def test_deleted_run_keeps_its_space_until_the_retention_period(tmp_path):
    from wandb_local_kit.server import client, usage

    server = StandIn(
        vol=tmp_path / "vol", extra_env={"STANDIN_DATA_RETENTION_SECONDS": str(RETENTION_S)}
    ).start()
    try:
        env = {
            "HOME": str(tmp_path), "WANDB_DIR": str(tmp_path), "WANDB_BASE_URL": server.url,
            "WANDB_API_KEY": server.admin_key, "WANDB_SILENT": "true",
            "WANDB_DISABLE_GIT": "true", "WANDB_X_DISABLE_STATS": "true",
        }  # fmt: skip
        project = "growth"
        code = f"PROJECT = {project!r}\n" + LOG_TWO_RUNS
        first, _second = run_python(code, env, tmp_path).stdout.split()[-2:]
        target = client.Target(url=server.url, source="test")

        def team_bytes() -> int:
            return dict(usage._teams(target, server.admin_key, 10))["admin"]

        before, on_disk = team_bytes(), _project_bytes(server.vol, project)
        assert before > 0 and on_disk > 0

        deleted_at = time.monotonic()
        run_python(
            f"import wandb\nwandb.Api().run('admin/{project}/{first}').delete()", env, tmp_path
        )
        # Deleted: gone from the project at once, but its files still take the space.
        listing = run_python(
            f"import wandb\nprint(len(wandb.Api().runs('admin/{project}')))", env, tmp_path
        )
        assert listing.stdout.split()[-1] == "1"
        if time.monotonic() - deleted_at < RETENTION_S - 1:
            assert team_bytes() == before and _project_bytes(server.vol, project) == on_disk
        # After the period, the server removes them (the purger polls every second).
        deadline = time.monotonic() + RETENTION_S + 15
        while time.monotonic() < deadline and team_bytes() == before:
            time.sleep(0.5)
        assert 0 < team_bytes() < before
        assert 0 < _project_bytes(server.vol, project) < on_disk
        assert not (server.vol / "minio" / "local-files" / "admin" / project / first).exists()
    finally:
        server.stop()
