"""Moving a previous kit deployment's files off MinIO (the bundled store is SeaweedFS now).

The previous layout kept the bucket in MinIO, in the volume `<project>_minio-data`.
Here a stack logs runs, media, files and artifacts; its bucket is then put where the
previous layout had it (a MinIO volume, written by the stand-in playing MinIO with
MinIO's command line and root credentials), and the new store is emptied, as after
`wandb-kit init` moved .env to SeaweedFS. `wandb-kit migrate-minio` reads that volume
once through the MinIO image, copies and compares every object; afterwards every run,
file and artifact reads back equal, and the old volume is still there.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.integration.helpers import kit, s3_client, wait_for
from tests.integration.sdk import sdk_env, smoke, snapshot

pytestmark = pytest.mark.portable

CHECKS = "basics,images,files,artifacts"


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_stack_with_minio_data_migrates_and_reads_back(stacks, test_image, tmp_path):
    server = stacks.start("external", "off")
    volume = f"{server.project}_minio-data"
    old_root = ("old-minio-root", "old-minio-pass-" + uuid.uuid4().hex[:10])
    try:
        env = sdk_env(server, tmp_path / "sdk")
        logged = smoke(
            server, env, "--only", CHECKS, "--keep", "--project", "minio-mig",
            "--large-artifact-mib", "1",
        )  # fmt: skip
        assert logged.returncode == 0, logged.stdout[-3000:]
        before = snapshot(env, "minio-mig")
        assert before["runs"] and before["artifacts"]

        v = server.values
        bucket = v["WANDB_BUCKET_NAME"]
        new = s3_client(v["WANDB_BUCKET_PUBLIC_URL"], v["STORAGE_ADMIN_ACCESS_KEY"],
                  v["STORAGE_ADMIN_SECRET_KEY"])  # fmt: skip
        keys = [o["Key"] for p in new.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in p.get("Contents", [])]  # fmt: skip
        assert len(keys) >= 10

        # The previous layout: the same bucket, held by MinIO in <project>_minio-data.
        _docker("volume", "create", volume)
        minio = _docker(
            "run", "-d", "-p", "127.0.0.1::9000",
            "-e", f"MINIO_ROOT_USER={old_root[0]}", "-e", f"MINIO_ROOT_PASSWORD={old_root[1]}",
            "-v", f"{volume}:/data", test_image("minio"), "server", "/data", "--address", ":9000",
        )  # fmt: skip
        try:
            port = _docker("port", minio, "9000/tcp").splitlines()[0].rsplit(":", 1)[1]
            old = s3_client(f"http://127.0.0.1:{port}", *old_root)
            wait_for(lambda: old.list_buckets(), what="MinIO stand-in")
            old.create_bucket(Bucket=bucket)
            for key in keys:
                body = new.get_object(Bucket=bucket, Key=key)["Body"].read()
                old.put_object(Bucket=bucket, Key=key, Body=body)
        finally:
            _docker("stop", "-t", "10", minio)  # saves its state to the volume
            _docker("rm", minio)
        # The new store starts empty, as after `wandb-kit init` moved .env to SeaweedFS;
        # init keeps the old root credentials at the end of .env.
        compose = server.compose()
        compose.run("rm", "--stop", "--force", "wandb", "seaweedfs", capture=True)
        _docker("volume", "rm", f"{server.project}_seaweedfs-data")
        with server.env_file.open("a") as f:
            f.write(f"MINIO_ROOT_USER='{old_root[0]}'\nMINIO_ROOT_PASSWORD='{old_root[1]}'\n")

        moved = kit(server, "migrate-minio", "--minio-image", test_image("minio"))
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert f"migrated {len(keys)} objects" in moved.stdout, moved.stdout
        assert "every sha256 equal" in moved.stdout
        assert old_root[1] not in moved.stdout + moved.stderr
        report = json.loads(next(server.env_file.parent.glob("minio-migration-*.json")).read_text())
        assert sorted(r["key"] for r in report["objects"]) == sorted(keys)
        assert all(len(r["sha256"]) == 64 for r in report["objects"])
        # Nothing was deleted: the old volume is still there.
        assert _docker("volume", "inspect", "-f", "{{.Name}}", volume) == volume

        server.up()
        after = snapshot(sdk_env(server, tmp_path / "sdk-after"), "minio-mig")
        assert sorted(after["runs"]) == sorted(before["runs"])
        for run_id, run in before["runs"].items():
            assert after["runs"][run_id] == run, f"run {run_id} differs after the migration"
        assert after["artifacts"] == before["artifacts"]
    finally:
        stacks.stop(server)
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)
