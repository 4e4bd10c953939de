"""`wandb-kit smoke` leaves nothing behind on the client: its scratch directory (the
checks' files, downloads and logs) is deleted, unless --keep asks to keep it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.portable


@pytest.mark.parametrize("keep", [False, True], ids=["default", "keep"])
def test_smoke_deletes_its_scratch_directory_unless_keep(standin, tmp_path, keep):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_API_KEY=standin.admin_key, TMPDIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", standin.url, "--only", "files"]
        + (["--keep"] if keep else []),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    scratch = list(tmp_path.glob("wandb-kit-smoke-*"))
    if keep:
        assert len(scratch) == 1 and str(scratch[0]) in result.stdout.replace("\n", "")
        assert list(scratch[0].glob("smoke-files-*/worker.log"))
    else:
        assert scratch == []
