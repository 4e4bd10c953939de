"""`wandb-kit migrate-minio`: move a kit deployment's files off MinIO, once.

Older kits kept the bucket in MinIO (volume `<project>_minio-data`); MinIO's
images are gone from Docker Hub and the last frozen one has unpatched advisories. This
reads the old volume ONE time through that frozen image (from quay.io, where it still
pulls), copies every object into the bundled SeaweedFS bucket, and compares each
object's sha256 as read back from the new store with the one read from MinIO.
Nothing is deleted: the old volume stays as it was until you remove it yourself,
after the comparison passed (the command prints how).

Run it after `wandb-kit init` has rewritten .env for SeaweedFS (init keeps the old
MINIO_ROOT_USER / MINIO_ROOT_PASSWORD at the end of .env; that is where they are read
from) and before `wandb-kit up`. Credentials reach the MinIO container through the
environment, never its command line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from wandb_local_kit.core import files
from wandb_local_kit.core.errors import EXIT_FAILED, KitError
from wandb_local_kit.stack.deployment import Deployment

# The last official MinIO image (2025-09-07), frozen on quay.io; for reading old data.
MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
CHUNK = 4 * 1024 * 1024


def _docker(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise KitError(
            f"`docker {args[0]}` failed: {done.stderr.strip()[-600:]}",
            fix="see the message; the old volume was not changed",
            exit_code=EXIT_FAILED,
        )
    return done.stdout.strip()


def _client(endpoint: str, key: str, secret: str, region: str, verify):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=region,
        verify=verify,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def _sha256_of(body) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: body.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def copy_and_compare(src, src_bucket: str, dst, dst_bucket: str, log=print) -> list[dict]:
    """Copies every object; returns one record per object (key, size, sha256) after
    each was read back from the destination with an equal sha256. Raises on the first
    difference; deletes nothing anywhere."""
    records = []
    for page in src.get_paginator("list_objects_v2").paginate(Bucket=src_bucket):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            with tempfile.TemporaryFile() as tmp:
                body = src.get_object(Bucket=src_bucket, Key=key)["Body"]
                digest, size = hashlib.sha256(), 0
                for chunk in iter(functools.partial(body.read, CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    tmp.write(chunk)
                tmp.seek(0)
                dst.upload_fileobj(tmp, dst_bucket, key)
            back, back_size = _sha256_of(dst.get_object(Bucket=dst_bucket, Key=key)["Body"])
            if back != digest.hexdigest() or back_size != size:
                raise KitError(
                    f"object {key!r} differs after the copy ({size} bytes sha256 "
                    f"{digest.hexdigest()[:12]}, read back {back_size} bytes {back[:12]})",
                    fix="nothing was deleted; check the new store's logs "
                    "(`wandb-kit logs seaweedfs`) and run migrate-minio again",
                    exit_code=EXIT_FAILED,
                )
            records.append({"key": key, "size": size, "sha256": back})
            if len(records) % 100 == 0:
                log(f"  {len(records)} objects copied and compared")
    return records


def migrate(
    stack: Deployment,
    volume: str | None = None,
    minio_image: str = MINIO_IMAGE,
    old_bucket: str | None = None,
    ca_file: Path | None = None,
) -> Path:
    """Copies every object of the old MinIO volume into the bundled store, sha256
    compared; returns the report listing them. Deletes nothing."""
    env_file = stack.env_file
    v = stack.values
    if not stack.bundled_s3:
        raise KitError(
            "this stack does not run the bundled store (WANDB_STORAGE=external with "
            "SeaweedFS); there is nothing to migrate into",
            fix="wandb-kit init --storage external (without --external-bucket-url), then retry",
        )
    user, password = v.get("MINIO_ROOT_USER", ""), v.get("MINIO_ROOT_PASSWORD", "")
    if not user or not password:
        raise KitError(
            f"{env_file} has no MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (the old MinIO's root)",
            fix="add the two lines from your previous .env (wandb-kit init keeps them)",
        )
    volume = volume or f"{stack.project}_minio-data"
    _docker("volume", "inspect", volume)
    bucket = old_bucket or v.get("WANDB_BUCKET_NAME", "wandb")

    print("starting the new store and creating its bucket (storage-init)")
    stack.compose.run("up", "--detach", "--wait", "seaweedfs", capture=True)
    stack.compose.run_once("storage-init")

    name = f"{stack.project}-minio-migration"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    print(f"reading {volume} through {minio_image}")
    child_env = {**os.environ, "MINIO_ROOT_USER": user, "MINIO_ROOT_PASSWORD": password}
    _docker(
        "run", "-d", "--name", name, "-p", "127.0.0.1::9000",
        # Names only: docker takes the values from its own environment.
        "-e", "MINIO_ROOT_USER", "-e", "MINIO_ROOT_PASSWORD",
        "-v", f"{volume}:/data", minio_image, "server", "/data", "--address", ":9000",
        env=child_env,
    )  # fmt: skip
    try:
        port = _docker("port", name, "9000/tcp").splitlines()[0].rsplit(":", 1)[1]
        region = v.get("AWS_REGION", "us-east-1")
        verify = str(ca_file) if ca_file else True
        src = _client(f"http://127.0.0.1:{port}", user, password, region, True)
        _wait(src, bucket)
        dst = _client(
            v["WANDB_BUCKET_PUBLIC_URL"],
            v["STORAGE_ADMIN_ACCESS_KEY"],
            v["STORAGE_ADMIN_SECRET_KEY"],
            region,
            verify,
        )
        started = time.monotonic()
        records = copy_and_compare(src, bucket, dst, v["WANDB_BUCKET_NAME"])
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    report = env_file.with_name(f"minio-migration-{time.strftime('%Y%m%dT%H%M%SZ')}.json")
    files.write_text(
        report, json.dumps({"volume": volume, "bucket": bucket, "objects": records}, indent=2),
        what="the migration's list", exit_code=1,
        done="every object was copied and compared; only its list could not be written",
    )  # fmt: skip
    total = sum(r["size"] for r in records)
    print(
        f"migrated {len(records)} objects ({total // 1024} KiB) in "
        f"{time.monotonic() - started:.0f} s; every sha256 equal after reading back; "
        f"list: {report}"
    )
    print(
        f"the old volume {volume} was not changed or deleted; once W&B works "
        f"(wandb-kit up && wandb-kit smoke), remove it with: docker volume rm {volume}"
    )
    return report


def _wait(client, bucket: str, timeout: float = 60.0) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout
    while True:
        try:
            client.head_bucket(Bucket=bucket)
            return
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                raise KitError(
                    f"the old MinIO has no bucket {bucket!r}",
                    fix="pass --old-bucket NAME (the bucket W&B used)",
                ) from None
            if time.monotonic() > deadline:
                raise KitError(
                    f"the old MinIO refused the credentials ({code})",
                    fix="set MINIO_ROOT_USER / MINIO_ROOT_PASSWORD in .env to the old values",
                ) from None
        except BotoCoreError:
            if time.monotonic() > deadline:
                raise KitError(
                    "the old MinIO did not start within 60 s",
                    fix="check `docker logs` of the migration container and the volume name",
                    exit_code=EXIT_FAILED,
                ) from None
        time.sleep(1)
