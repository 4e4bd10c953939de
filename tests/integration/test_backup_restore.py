"""Backups that restore, and restores that refuse what they must.

Round trip for each storage: runs with history, every media type and artifacts are
logged by the smoke suite (--keep), backed up with scripts/backup.py run WITHOUT the
kit's dependencies (python -S: standard library only), the stack is destroyed with
`down --volumes`, restored with `wandb-kit restore`, and everything reads back equal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from wandb_local_kit.stack import settings

from tests.integration.helpers import kit
from tests.integration.sdk import sdk_env, smoke, snapshot

pytestmark = pytest.mark.portable

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = settings.default_compose_dir()
DATA_CHECKS = "basics,images,video,plots,table,html,audio-histogram,files,artifacts"


def backup_script(server, dest: Path, *extra: str) -> subprocess.CompletedProcess:
    # -S: no site-packages at all, as on a server with only python3 and docker.
    return subprocess.run(
        [
            sys.executable,
            "-S",
            str(ROOT / "scripts" / "backup.py"),
            "backup",
            "--compose-dir",
            str(COMPOSE_DIR),
            "--env-file",
            str(server.env_file),
            "--dest",
            str(dest),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def only_backup(dest: Path) -> Path:
    found = [p for p in dest.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("storage", ["embedded", "external"])
def test_backup_destroy_restore_reads_back_identical(stacks, storage, tmp_path):
    server = stacks.start(storage, "off")
    try:
        env = sdk_env(server, tmp_path / "sdk")
        logged = smoke(
            server,
            env,
            "--only",
            DATA_CHECKS,
            "--keep",
            "--project",
            "backup-rt",
            "--large-artifact-mib",
            "1",
        )
        assert logged.returncode == 0, logged.stdout[-3000:]
        before = snapshot(env, "backup-rt")
        assert len(before["runs"]) >= 10 and len(before["artifacts"]) >= 5

        made = backup_script(server, tmp_path / "backups", "--keep", "3")
        assert made.returncode == 0, made.stderr
        backup = only_backup(tmp_path / "backups")
        manifest = json.loads((backup / "manifest.json").read_text())
        assert manifest["storage"] == storage and manifest["files"]
        assert all(len(f["sha256"]) == 64 for f in manifest["files"])
        # Private: it holds the whole database and the URL-signing secret.
        assert backup.stat().st_mode & 0o777 == 0o700
        for path in backup.rglob("*"):
            want = 0o700 if path.is_dir() else 0o600
            assert path.stat().st_mode & 0o777 == want, f"{path} is {path.stat().st_mode:o}"
            assert path.stat().st_uid == os.getuid()
        if storage == "external":
            # The bundled bucket, copied object by object through the S3 API (no mc).
            assert "S3 API" in manifest["method"] and manifest["bundled"] == ["mysql", "bucket"]
            assert len([f for f in manifest["files"] if f["path"].startswith("bucket/")]) >= 20

        server.down(volumes=True)
        restored = kit(server, "restore", str(backup))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        server.export_ca()
        after = snapshot(sdk_env(server, tmp_path / "sdk-after"), "backup-rt")
        assert sorted(after["runs"]) == sorted(before["runs"])
        for run_id, run in before["runs"].items():
            assert after["runs"][run_id] == run, f"run {run_id} differs after restore"
        assert after["artifacts"] == before["artifacts"]

        # The stack now holds data: a second restore must not overwrite it unasked.
        again = kit(server, "restore", str(backup))
        assert again.returncode == 2
        assert "--force" in again.stderr and "Traceback" not in again.stderr
        # ... and the refusal left the server running, as it found it.
        ready = requests.get(f"{server.base_url}/ready", timeout=10)
        assert ready.status_code == 200
    finally:
        stacks.stop(server)


@pytest.fixture(scope="module")
def embedded(stacks):
    server = stacks.start("embedded", "off")
    yield server
    stacks.stop(server)


@pytest.fixture(scope="module")
def good_backup(embedded, tmp_path_factory):
    dest = tmp_path_factory.mktemp("good-backups")
    made = kit(embedded, "backup", "--dest", str(dest))
    assert made.returncode == 0, made.stderr
    return only_backup(dest)


def _copy(backup: Path, tmp_path: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or backup.name)
    shutil.copytree(backup, target)
    return target


@pytest.mark.parametrize(
    "damage,message",
    [
        ("flip-byte", "sha256 differs"),
        ("truncate", "bytes, manifest says"),
        ("delete-file", "is missing"),
        ("no-manifest", "has no manifest.json"),
        ("partial", "unfinished backup"),
    ],
)
def test_corrupt_or_partial_backup_is_refused(embedded, good_backup, tmp_path, damage, message):
    copy = _copy(
        good_backup, tmp_path, good_backup.name + (".partial" if damage == "partial" else "")
    )
    tar = copy / "vol.tar"
    if damage == "flip-byte":
        data = bytearray(tar.read_bytes())
        data[len(data) // 2] ^= 0xFF
        tar.write_bytes(bytes(data))
    elif damage == "truncate":
        tar.write_bytes(tar.read_bytes()[:-1024])
    elif damage == "delete-file":
        tar.unlink()
    elif damage == "no-manifest":
        (copy / "manifest.json").unlink()
    result = kit(embedded, "restore", str(copy), "--force")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "nothing was changed" in result.stderr or "use a complete backup" in result.stderr
    # The running server was not touched.
    import requests

    assert requests.get(f"{embedded.base_url}/ready", timeout=10).status_code == 200


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)


def test_backup_to_a_full_or_read_only_disk_fails_clearly_and_keeps_old_backups(
    embedded, good_backup, tmp_path
):
    small = tmp_path / "small"
    _mount_tmpfs(small, "size=4m")
    readonly = tmp_path / "readonly"
    try:
        # An older, complete backup sits on the small disk already.
        old = small / "wandb-20200101T000000Z"
        old.mkdir()
        (old / "manifest.json").write_text('{"files": []}')
        before = sorted(p.name for p in small.iterdir())
        result = kit(embedded, "backup", "--dest", str(small), "--keep", "1")
        assert result.returncode == 2, result.stderr
        assert "backup needs about" in result.stderr and "MiB free" in result.stderr
        assert sorted(p.name for p in small.iterdir()) == before  # untouched, no .partial
        assert (old / "manifest.json").read_text() == '{"files": []}'

        _mount_tmpfs(readonly, "ro,size=1m")
        result = kit(embedded, "backup", "--dest", str(readonly))
        assert result.returncode == 2
        assert "not writable" in result.stderr and "Traceback" not in result.stderr
    finally:
        subprocess.run(["umount", str(small)], check=False)
        subprocess.run(["umount", str(readonly)], check=False)


def test_retention_keeps_the_newest_n(embedded, tmp_path):
    dest = tmp_path / "rotating"
    names = []
    for _ in range(3):
        made = kit(embedded, "backup", "--dest", str(dest), "--keep", "2")
        assert made.returncode == 0, made.stderr
        names.append(sorted(p.name for p in dest.iterdir()))
        import time

        time.sleep(1.1)  # backup names carry the second
    assert len(names[-1]) == 2
    assert names[-1] == sorted(set(names[1]) | set(names[2]))[-2:]


def test_an_external_restore_whose_load_fails_leaves_the_data_as_it_was(stacks, tmp_path):
    """mysql refuses the dump half way: the user gets mysql's own error (no
    BrokenPipeError), the database is put back from the safety dump, and wandb runs
    again on it."""
    import gzip

    from wandb_local_kit.ops.backup import write_manifest

    server = stacks.start("external", "off")
    try:
        env = sdk_env(server, tmp_path / "sdk")
        logged = smoke(server, env, "--only", "basics", "--keep", "--project", "fail-rt")
        assert logged.returncode == 0, logged.stdout[-3000:]
        before = snapshot(env, "fail-rt")
        made = kit(server, "backup", "--dest", str(tmp_path / "b"))
        assert made.returncode == 0, made.stderr
        backup = only_backup(tmp_path / "b")
        # A dump that starts well, then holds SQL mysql refuses; the manifest is made to
        # match, so it is the load that fails, after the safety dump was taken.
        good = gzip.open(backup / "wandb.sql.gz").read()
        with gzip.open(backup / "wandb.sql.gz", "wb") as f:
            f.write(good[: len(good) // 2] + b"\nTHIS IS NOT SQL;\n")
        meta = json.loads((backup / "manifest.json").read_text())
        write_manifest(backup, {k: v for k, v in meta.items() if k not in ("files", "total_bytes")})

        failed = kit(server, "restore", str(backup), "--force")
        out = failed.stdout + failed.stderr
        assert failed.returncode == 1, out
        assert "loading the dump failed" in out and "ERROR" in out
        assert "Traceback" not in out and "BrokenPipe" not in out
        assert "putting the database back as it was" in out
        assert requests.get(f"{server.base_url}/ready", timeout=30).status_code == 200
        after = snapshot(sdk_env(server, tmp_path / "sdk-after"), "fail-rt")
        assert after == before
    finally:
        stacks.stop(server)
