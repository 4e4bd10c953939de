"""Air-gapped bundles and upgrades."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.ops import bundle
from wandb_local_kit.stack import settings

from tests.integration.helpers import kit
from tests.integration.sdk import run_sdk, sdk_env, smoke

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = settings.default_compose_dir()


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.portable
def test_bundle_saves_loads_and_refuses_damage(test_image, tmp_path):
    tag = "kit-bundle-test/caddy:1"
    docker("tag", test_image("caddy"), tag)
    target = tmp_path / "images.tar"
    manifest = bundle.save([tag], target, log=lambda *_: None)
    assert manifest["images"] == [tag] and manifest["members"]
    assert all(len(d) == 64 for d in manifest["members"].values())
    docker("rmi", tag)  # the air-gapped host does not have it
    bundle.load(target, log=lambda *_: None)
    assert tag in docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")

    # Damage one byte inside the largest member's data (a layer), as a bad copy would.
    with tarfile.open(target) as tar:
        layer = max(tar.getmembers(), key=lambda m: m.size)
    damaged = tmp_path / "damaged.tar"
    data = bytearray(target.read_bytes())
    data[layer.offset_data + layer.size // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "bundle", "load", str(damaged)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "do not match their checksum" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(KitError, match="not on this host"):
        bundle.save(["kit-bundle-test/never-built:1"], tmp_path / "x.tar")
    docker("rmi", tag)


def _env_value(server, key: str) -> str:
    return re.search(rf"^{key}='([^']*)'", server.env_file.read_text(), re.M).group(1)


def _running_image(server) -> str:
    cid = server.compose().run("ps", "-q", "wandb", capture=True).stdout.split()[0]
    return docker("inspect", "--format", "{{.Config.Image}}", cid).strip()


MIGRATION_SECONDS = 12


def _build_slow_migrating(base: str, tag: str) -> None:
    """The stand-in whose first start takes MIGRATION_SECONDS, like a real upgrade."""
    dockerfile = f"FROM {base}\nENV STANDIN_MIGRATION_SECONDS={MIGRATION_SECONDS}\n"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"],
        input=dockerfile,
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.mark.standin_only(
    "STANDIN_ knob: a stand-in image with STANDIN_MIGRATION_SECONDS, its log line asserted"
)
def test_upgrade_keeps_data_and_a_failed_one_prints_a_working_rollback(
    stacks, test_image, tmp_path
):
    standin = test_image("wandb-standin")
    old, new = "kit-upgrade/wandb-standin:1.0", "kit-upgrade/wandb-standin:1.1"
    broken = "kit-upgrade/wandb-standin:broken"
    docker("tag", standin, old)
    _build_slow_migrating(standin, new)  # the new version migrates for a while
    docker("tag", test_image("caddy"), broken)  # starts, but never serves /ready
    server = stacks.start("embedded", "off", WANDB_IMAGE=old)
    try:
        env = sdk_env(server, tmp_path / "sdk")
        logged = run_sdk("log", "upgrade", env)

        # The new tag comes from a bundle, as on an air-gapped host.
        bundle.save([new], tmp_path / "new.tar", log=lambda *_: None)
        docker("rmi", new)
        up = kit(
            server,
            "upgrade",
            "--to",
            "1.1",
            "--bundle",
            str(tmp_path / "new.tar"),
            "--dest",
            str(tmp_path / "backups"),
        )
        assert up.returncode == 0, up.stdout + up.stderr
        assert "do not stop" in up.stdout.lower()
        assert _running_image(server) == new and _env_value(server, "WANDB_IMAGE") == new
        logs = server.compose().run("logs", "wandb", capture=True).stdout
        assert f"simulating a {MIGRATION_SECONDS} s database migration" in logs
        assert run_sdk("check", logged["path"], env)["image_ok"]
        subset = smoke(server, env, "--only", "basics,images,artifacts")
        assert subset.returncode == 0, subset.stdout[-2000:]

        # A tag that does not exist: refused before anything changes.
        missing = kit(server, "upgrade", "--to", "9.9.9", "--dest", str(tmp_path / "b2"))
        assert missing.returncode == 2 and "nothing was changed" in missing.stderr
        assert _running_image(server) == new and _env_value(server, "WANDB_IMAGE") == new

        # An image that never becomes ready: the upgrade fails and prints the rollback.
        bad = kit(
            server,
            "upgrade",
            "--to",
            "broken",
            "--dest",
            str(tmp_path / "b3"),
            "--wait-timeout",
            "15",
        )
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert f"set WANDB_IMAGE='{new}'" in bad.stderr and "restore" in bad.stderr
        backup_dir = re.search(r"wandb-kit restore (\S+) --force", bad.stderr).group(1)

        # Following the printed rollback brings the data back.
        text = server.env_file.read_text()
        server.env_file.write_text(text.replace(f"WANDB_IMAGE='{broken}'", f"WANDB_IMAGE='{new}'"))
        rolled = kit(server, "restore", backup_dir, "--force")
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        assert requests.get(f"{server.base_url}/ready", timeout=10).status_code == 200
        assert _running_image(server) == new
        assert run_sdk("check", logged["path"], env)["image_ok"]
    finally:
        stacks.stop(server)
        for tag in (old, new, broken):
            subprocess.run(["docker", "rmi", tag], capture_output=True)
