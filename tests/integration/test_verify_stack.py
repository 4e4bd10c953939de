"""The SDK's own installation check against the stand-in image with external storage:
`wandb verify` exits 0 with MYSQL and BUCKET pointing at the MySQL and S3 stand-ins
(embedded process mode is covered in tests/sdk)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.sdk import sdk_env

pytestmark = pytest.mark.portable


@pytest.mark.slow
def test_wandb_verify_passes_against_external_storage_stack(stacks, tmp_path):
    server = stacks.start("external", "off")
    try:
        env = sdk_env(server, tmp_path)
        started = time.monotonic()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "wandb"), "verify", "--host", server.base_url],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        print(f"wandb verify against the external stack: {time.monotonic() - started:.1f} s")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "Checking artifact save and download workflows" in result.stdout
    finally:
        stacks.stop(server)
