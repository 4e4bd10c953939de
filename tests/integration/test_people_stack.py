"""`wandb-kit people` against the kit's own compose stack (the stand-in image, embedded
storage, the test stacks' Enterprise-tier stand-in license): the lab file of 3 teams,
10 people and 2 service accounts applies, a second apply and the file `show` writes
change nothing, and a service account's key logs a run to its team."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.sdk.test_people import LAB

pytestmark = pytest.mark.portable

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kit(server, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        WANDB_API_KEY=server.api_key,
        WANDB_KIT_HOME=str(tmp_path / "kit-home"),
        PYTHONPATH=os.pathsep.join([os.path.join(REPO, "deploy"), REPO]),
    )
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "people", *args, "--url", server.base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )


def test_people_file_on_the_kits_stack(stacks, tmp_path):
    server = stacks.start("embedded", "off")
    try:
        lab = tmp_path / "lab.yaml"
        lab.write_text(LAB)
        first = kit(server, tmp_path, "apply", str(lab), "--json")
        assert first.returncode == 0, first.stdout + first.stderr
        # bob and eve are new on this server too: 9 users, 3 teams, 7 members, 2 accounts
        assert json.loads(first.stdout)["changes"] == 21, first.stdout
        second = kit(server, tmp_path, "apply", str(lab), "--json")
        assert json.loads(second.stdout)["changes"] == 0, second.stdout

        shown = tmp_path / "shown.yaml"
        assert kit(server, tmp_path, "show", "-o", str(shown)).returncode == 0
        again = kit(server, tmp_path, "apply", str(shown), "--json")
        assert json.loads(again.stdout)["changes"] == 0, again.stdout

        key_file = tmp_path / "kit-home" / "service-accounts" / "vision--ci-vision.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        for proc in (first, second, again):
            assert key not in proc.stdout + proc.stderr
        code = textwrap.dedent("""
            import wandb
            with wandb.init(entity="vision", project="ci") as run:
                run.log({"acc": 0.9})
            api = wandb.Api()
            assert api.runs("vision/ci")[0].summary["acc"] == 0.9
        """)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(
            WANDB_API_KEY=key,
            WANDB_BASE_URL=server.base_url,
            WANDB_SILENT="true",
            WANDB_DIR=str(tmp_path),
            WANDB_CONFIG_DIR=str(tmp_path / "cfg"),
            WANDB_CACHE_DIR=str(tmp_path / "cache"),
            WANDB_DATA_DIR=str(tmp_path / "data"),
        )
        run = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        stacks.stop(server)
