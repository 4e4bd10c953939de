"""Least privilege of the bundled object store (issue #13), on a running stack.

- W&B's credentials (the BUCKET URL's) work on W&B's bucket and nowhere else: they
  cannot create a bucket, nor read, list or write another one;
- the wandb container's environment holds no store-admin secret;
- no secret is on the command line of any process in any container of the stack (read
  from /proc inside each), of any container's configured command (storage-init's
  too, which has exited), or of any `docker` command the kit runs for a backup.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError
from wandb_local_kit.stack import settings

from tests.integration.helpers import kit


def _s3(server, access_key: str, secret_key: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server.values["WANDB_BUCKET_PUBLIC_URL"],
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=server.values.get("AWS_REGION", "us-east-1"),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _code(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def stack(stacks):
    server = stacks.start("external", "off")
    yield server
    stacks.stop(server)


def _secrets(values: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in values.items()
        if (k in settings.SECRET_KEYS or k.endswith(("_SECRET_KEY", "_PASSWORD"))) and len(v) >= 8
    }


def test_wandb_credentials_are_limited_to_wandb_bucket(stack):
    v = stack.values
    wandb = _s3(stack, v["WANDB_S3_ACCESS_KEY"], v["WANDB_S3_SECRET_KEY"])
    admin = _s3(stack, v["STORAGE_ADMIN_ACCESS_KEY"], v["STORAGE_ADMIN_SECRET_KEY"])
    bucket, other = v["WANDB_BUCKET_NAME"], f"other-{uuid.uuid4().hex[:8]}"

    # What W&B needs works: write, read, list its own bucket (made by storage-init).
    wandb.put_object(Bucket=bucket, Key="lp/probe.txt", Body=b"mine")
    assert wandb.get_object(Bucket=bucket, Key="lp/probe.txt")["Body"].read() == b"mine"
    assert wandb.list_objects_v2(Bucket=bucket, Prefix="lp/")["KeyCount"] == 1

    # Another bucket, made by the admin, holding data.
    admin.create_bucket(Bucket=other)
    admin.put_object(Bucket=other, Key="private.txt", Body=b"not for wandb")

    assert _code(lambda: wandb.create_bucket(Bucket=f"new-{uuid.uuid4().hex[:8]}")) == (
        "AccessDenied"
    )
    assert _code(lambda: wandb.get_object(Bucket=other, Key="private.txt")) == "AccessDenied"
    assert _code(lambda: wandb.list_objects_v2(Bucket=other)) == "AccessDenied"
    assert _code(lambda: wandb.put_object(Bucket=other, Key="x", Body=b"x")) == "AccessDenied"
    assert _code(lambda: wandb.delete_bucket(Bucket=other)) == "AccessDenied"
    # W&B does not even see the other bucket.
    names = [b["Name"] for b in wandb.list_buckets()["Buckets"]]
    assert other not in names and bucket in names
    # And a wrong secret gets nothing at all.
    wrong = _s3(stack, v["WANDB_S3_ACCESS_KEY"], "not-the-secret-key")
    assert _code(lambda: wrong.list_objects_v2(Bucket=bucket)) == "SignatureDoesNotMatch"


def _containers(stack) -> list[str]:
    out = stack.compose().run("ps", "--all", "-q", capture=True).stdout.split()
    assert out, "the stack has no containers"
    return out


def test_wandb_container_holds_no_store_admin_secret(stack):
    cid = stack.compose().run("ps", "-q", "wandb", capture=True).stdout.strip()
    environ = subprocess.run(
        ["docker", "exec", cid, "cat", "/proc/1/environ"], capture_output=True, check=True
    ).stdout.decode(errors="replace")
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Config.Env}}", cid],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for text in (environ, inspected):
        assert stack.values["STORAGE_ADMIN_SECRET_KEY"] not in text
        assert stack.values["STORAGE_ADMIN_ACCESS_KEY"] not in text
        assert stack.values["MYSQL_ROOT_PASSWORD"] not in text
        # What it does hold is its own, bucket-limited identity.
        assert stack.values["WANDB_S3_SECRET_KEY"] in text


def test_no_secret_on_any_container_command_line(stack):
    secrets = _secrets(stack.values)
    assert {"STORAGE_ADMIN_SECRET_KEY", "WANDB_S3_SECRET_KEY", "MYSQL_PASSWORD"} <= set(secrets)
    seen = 0
    for cid in _containers(stack):
        info = json.loads(
            subprocess.run(
                ["docker", "inspect", cid], capture_output=True, text=True, check=True
            ).stdout
        )[0]
        configured = json.dumps(
            [
                info["Path"],
                info["Args"],
                info["Config"].get("Cmd"),
                info["Config"].get("Entrypoint"),
            ]
        )
        running = ""
        if info["State"]["Running"]:
            # Every process's argv, read from /proc inside the container.
            running = subprocess.run(
                [
                    "docker",
                    "exec",
                    cid,
                    "sh",
                    "-c",
                    'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done',
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seen += len([line for line in running.splitlines() if line.strip()])
        for key, value in secrets.items():
            assert value not in configured, f"{key} in the command of {info['Name']}"
            assert value not in running, f"{key} in a process's argv in {info['Name']}"
    assert seen >= 4  # wandb, mysql, seaweedfs each have at least one process


def test_no_secret_on_the_command_line_of_kit_subprocesses(stack, tmp_path):
    """Every `docker` command the kit runs for a backup (compose exec/run, docker run
    of volume tools...) is recorded by a shim first in PATH: none carries a secret."""
    shim_dir, record = tmp_path / "shim", tmp_path / "argv.log"
    shim_dir.mkdir()
    real = shutil.which("docker")
    shim = shim_dir / "docker"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{record}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{shim_dir}:{os.environ['PATH']}"}
    made = kit(stack, "backup", "--dest", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    argv = record.read_text()
    assert "compose" in argv and "storage-init" in argv  # the shim saw the kit's calls
    for key, value in _secrets(stack.values).items():
        assert value not in argv, f"{key} on a kit subprocess's command line"
        assert value not in made.stdout + made.stderr, f"{key} in the kit's output"
