"""Least privilege of the bundled object store (SeaweedFS), on a running stack.

- W&B's credentials (the BUCKET URL's) work on W&B's bucket and nowhere else: they
  cannot create a bucket, nor read, list or write another one;
- the wandb container's environment holds no store-admin secret;
- no secret is on the command line of any process in any container of the stack (read
  from /proc inside each), of any container's configured command (storage-init's
  too, which has exited), or of any `docker` command the kit runs for a backup;
- bucket settings stay the admin's: versioning, lifecycle, CORS, object lock (and
  artifact GC's pair, versioning plus the expiry of old versions, set by storage-init).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from wandb_local_kit.stack import settings

from tests.integration.helpers import kit, s3_client

pytestmark = pytest.mark.portable


def _s3(server, access_key: str, secret_key: str):
    v = server.values
    return s3_client(
        v["WANDB_BUCKET_PUBLIC_URL"], access_key, secret_key, v.get("AWS_REGION", "us-east-1")
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


def test_wandb_key_cannot_change_bucket_settings(stack):
    """The real SeaweedFS lets any key with Write on a bucket turn on versioning and
    lifecycle rules and replace CORS; storage-init's bucket policy denies W&B's key all
    of them (object lock too, which 4.48 denies on its own)."""
    v = stack.values
    wandb = _s3(stack, v["WANDB_S3_ACCESS_KEY"], v["WANDB_S3_SECRET_KEY"])
    b = v["WANDB_BUCKET_NAME"]
    lifecycle = {
        "Rules": [
            {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
        ]
    }
    lock = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
    }
    cors = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]}
    refused = {
        "versioning": lambda: wandb.put_bucket_versioning(
            Bucket=b, VersioningConfiguration={"Status": "Enabled"}
        ),
        "object lock": lambda: wandb.put_object_lock_configuration(
            Bucket=b, ObjectLockConfiguration=lock
        ),
        "lifecycle": lambda: wandb.put_bucket_lifecycle_configuration(
            Bucket=b, LifecycleConfiguration=lifecycle
        ),
        "lifecycle delete": lambda: wandb.delete_bucket_lifecycle(Bucket=b),
        "cors": lambda: wandb.put_bucket_cors(Bucket=b, CORSConfiguration=cors),
        "cors delete": lambda: wandb.delete_bucket_cors(Bucket=b),
        "policy delete": lambda: wandb.delete_bucket_policy(Bucket=b),
    }
    codes = {name: _code(call) for name, call in refused.items()}
    assert codes == dict.fromkeys(refused, "AccessDenied")
    assert wandb.get_bucket_versioning(Bucket=b).get("Status") is None
    origins = [o for r in wandb.get_bucket_cors(Bucket=b)["CORSRules"] for o in r["AllowedOrigins"]]
    assert origins == [v["WANDB_BUCKET_CORS_ORIGINS"]]


def _doctor(stack) -> dict:
    ran = kit(stack, "doctor", "--no-deep", "--json")
    return json.loads(ran.stdout)


def test_doctor_and_health_watch_bucket_settings(stack):
    """Quiet on the bucket storage-init made; after the admin turns on versioning, a
    lifecycle rule and a CORS rule for another origin, doctor and health --deep name
    each with the fix. (Runs last in this module: versioning cannot be undone.)"""
    from wandb_local_kit.stack.bucket_controls import check_bucket_controls

    v = stack.values
    admin = _s3(stack, v["STORAGE_ADMIN_ACCESS_KEY"], v["STORAGE_ADMIN_SECRET_KEY"])
    b, origin = v["WANDB_BUCKET_NAME"], v["WANDB_BUCKET_CORS_ORIGINS"]

    before = _doctor(stack)
    assert "bucket-controls" not in [f["pitfall"] for f in before["findings"]], before
    watched = before["local"]["bucket_controls"]
    assert [c["status"] for c in watched] == ["ok"] * 4, watched
    assert not [c for c in watched if c["detail"].startswith("not watched")], watched

    original_cors = admin.get_bucket_cors(Bucket=b)["CORSRules"]
    admin.put_bucket_lifecycle_configuration(
        Bucket=b,
        LifecycleConfiguration={
            "Rules": [
                {"ID": "expire-all", "Status": "Enabled", "Filter": {"Prefix": ""},
                 "Expiration": {"Days": 1}}
            ]
        },
    )  # fmt: skip
    admin.put_bucket_cors(
        Bucket=b,
        CORSConfiguration={
            "CORSRules": original_cors
            + [{"AllowedOrigins": ["https://elsewhere.test"], "AllowedMethods": ["GET"]}]
        },
    )
    admin.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    try:
        after = _doctor(stack)
        finding = next(f for f in after["findings"] if f["pitfall"] == "bucket-controls")
        assert finding["severity"] == "fail"
        for name in ("bucket versioning", "bucket lifecycle", "bucket CORS rules"):
            assert name in finding["checked"]
        assert "expire-all" in finding["found"] and "https://elsewhere.test" in finding["found"]
        assert (
            "put-bucket-versioning" in finding["fix"]
            and "delete-bucket-lifecycle" in finding["fix"]
        )
        assert after["exit_code"] == 2

        health = kit(stack, "health", "--deep", "--json")
        layer = next(
            ly for ly in json.loads(health.stdout)["layers"] if ly["name"] == "bucket-controls"
        )
        assert layer["status"] == "fail" and "versioning is on" in layer["detail"]
    finally:
        admin.delete_bucket_lifecycle(Bucket=b)
        admin.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": original_cors})
        admin.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})

    # Object lock cannot be turned on for an existing bucket (4.48, even by the admin);
    # a bucket created with it is what the check must catch.
    locked = f"locked-{uuid.uuid4().hex[:8]}"
    admin.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    host = v["WANDB_BUCKET_PUBLIC_URL"].split("://", 1)[1].rstrip("/")
    key, secret = (
        quote(v[k], safe="") for k in ("STORAGE_ADMIN_ACCESS_KEY", "STORAGE_ADMIN_SECRET_KEY")
    )
    url = f"s3://{key}:{secret}@{host}/{locked}"
    checks = {c.name: c for c in check_bucket_controls(url, origin)}
    assert checks["bucket object lock"].status == "fail"
    assert "object lock is on" in checks["bucket object lock"].detail
    # Object lock keeps versioning on for good: the real store refuses to suspend it,
    # so the versioning finding must not offer that (it says why and offers GC).
    suspend = lambda: admin.put_bucket_versioning(  # noqa: E731
        Bucket=locked, VersioningConfiguration={"Status": "Suspended"}
    )
    assert _code(suspend) == "InvalidBucketState"
    assert "409 InvalidBucketState" in checks["bucket versioning"].fix
    assert "Status=Suspended" not in checks["bucket versioning"].fix


def test_gc_settings_by_the_admin_only_and_old_versions_kept(stack):
    """Artifact GC's bucket settings on the real store (runs after the module's last
    check, which leaves versioning suspended): storage-init's GC step, run here as your
    own bucket would get it, sets versioning and the rule expiring old versions as the
    admin; W&B's key cannot change either; a delete leaves a marker and the old version,
    which this store keeps (its `weed server` runs no lifecycle worker), hence the kit
    refuses GC on the bundled store."""
    from wandb_local_kit.stack.bucket_controls import bucket_controls_for

    v, b = stack.values, stack.values["WANDB_BUCKET_NAME"]
    # The kit does not offer GC on this store...
    refused = [
        p
        for p in settings.validate({**v, "WANDB_ARTIFACT_GC": "true"})
        if p.key == "WANDB_ARTIFACT_GC"
    ]
    assert refused and "lifecycle worker" in refused[0].problem
    # ...but its GC step is the one your own bucket gets: run it here, as the admin.
    ran = stack.deployment().compose.run(
        "run", "--rm", "--no-deps", "-e", "ARTIFACT_GC=true", "-e", "NONCURRENT_DAYS=1",
        "storage-init", capture=True, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "old versions expire after 1 day(s)" in ran.stdout
    admin, wandb = (
        _s3(stack, v["STORAGE_ADMIN_ACCESS_KEY"], v["STORAGE_ADMIN_SECRET_KEY"]),
        _s3(stack, v["WANDB_S3_ACCESS_KEY"], v["WANDB_S3_SECRET_KEY"]),
    )
    assert admin.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    [rule] = admin.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    assert (
        rule["ID"] == "wandb-kit-expire-noncurrent"
        and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    )

    # W&B's key may not undo or change either.
    assert _code(lambda: wandb.put_bucket_versioning(
        Bucket=b, VersioningConfiguration={"Status": "Suspended"})) == "AccessDenied"  # fmt: skip
    assert _code(lambda: wandb.delete_bucket_lifecycle(Bucket=b)) == "AccessDenied"
    other = {"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                        "Expiration": {"Days": 1}}]}  # fmt: skip
    assert _code(lambda: wandb.put_bucket_lifecycle_configuration(
        Bucket=b, LifecycleConfiguration=other)) == "AccessDenied"  # fmt: skip
    assert admin.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"

    # A delete by W&B's key: a delete marker, and the bytes stay as the old version.
    wandb.put_object(Bucket=b, Key="admin/p/run1/media/a.bin", Body=b"x" * 4096)
    wandb.delete_object(Bucket=b, Key="admin/p/run1/media/a.bin")
    listed = admin.list_object_versions(Bucket=b, Prefix="admin/p/run1/")
    assert [m["IsLatest"] for m in listed.get("DeleteMarkers", [])] == [True]
    assert [(x["IsLatest"], x["Size"]) for x in listed["Versions"]] == [(False, 4096)]

    # doctor reads the combination with W&B's key: quiet with GC on, a finding with it off.
    on = {c.name: c for c in bucket_controls_for({**v, "WANDB_ARTIFACT_GC": "true"})}
    assert on["bucket versioning"].status == "ok" and on["bucket lifecycle"].status == "ok", on
    off = {c.name: c for c in bucket_controls_for(v)}
    assert (
        off["bucket versioning"].status == "fail"
        and "--artifact-gc true" in off["bucket versioning"].fix
    )
