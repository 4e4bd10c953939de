"""Bring your own MySQL and S3 bucket.

A lab's MySQL and S3 store are started OUTSIDE the kit's compose project, under their
own names, as plain `docker run` containers on the host's network (as services on
another machine would be): reached by every client, the kit and the wandb container
alike under one public address, this host's docker0 address. Then:

- `wandb-kit init --storage external --external-mysql-url ... --external-bucket-url ...`
  runs neither bundled service, and the stack passes `smoke --strict` and
  `health --deep`;
- preflight's checks pass on them, and fail, each with its named fix, on a MySQL
  missing a documented setting, a bucket without CORS, a bucket unreachable under its
  public name, and wrong credentials.

The MySQL is the MariaDB stand-in reporting the version of the MySQL it stands in
for (`--version=8.4.7-standin`): version rules are unit-tested on strings.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid

import pytest
from wandb_local_kit.stack import settings
from wandb_local_kit.stack.storage_checks import check_bucket, check_mysql
from wandb_local_kit.testing import free_loopback_port

from tests.integration.helpers import kit, s3_client, wait_for
from tests.integration.sdk import sdk_env, smoke

pytestmark = pytest.mark.portable

COMPOSE_DIR = settings.default_compose_dir()
PUBLIC_HOST = "172.17.0.1"  # this host's docker0 address: the host and containers reach it
ROOT_PW = "byo-root-" + uuid.uuid4().hex[:12]
APP_PW = "byo:app@" + uuid.uuid4().hex[:12]  # needs URL-quoting
ADMIN = ("labadmin", "lab-admin-secret-" + uuid.uuid4().hex[:12])
WANDB = ("labwandb", "lab-wandb-secret-" + uuid.uuid4().hex[:12])
BUCKET, NOCORS = "lab-wandb", "lab-nocors"


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _free_port() -> int:
    # Host network: the service binds every interface, so ask for a port free there.
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(test_image, tmp_path_factory):
    """The lab's own MySQL and S3 store, outside any compose project."""
    tag = uuid.uuid4().hex[:8]
    names = {"mysql": f"lab-mysql-{tag}", "s3": f"lab-s3-{tag}"}
    mysql_port, s3_port = _free_port(), _free_port()
    conf = tmp_path_factory.mktemp("lab-s3")
    (conf / "s3.json").write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "lab-admin",
                        "credentials": [{"accessKey": ADMIN[0], "secretKey": ADMIN[1]}],
                        "actions": ["Admin"],
                    },
                    {
                        "name": "wandb",
                        "credentials": [{"accessKey": WANDB[0], "secretKey": WANDB[1]}],
                        "actions": [
                            f"{a}:{b}"
                            for a in ("Read", "Write", "List", "Tagging")
                            for b in (BUCKET, NOCORS)
                        ],
                    },
                ]
            }
        )
    )
    (conf / "s3.json").chmod(0o644)
    try:
        _docker(
            "run", "-d", "--name", names["mysql"], "--network", "host",
            "-e", f"MYSQL_ROOT_PASSWORD={ROOT_PW}", "-e", "MYSQL_DATABASE=wandb_byo",
            "-e", "MYSQL_USER=wb", "-e", f"MYSQL_PASSWORD={APP_PW}",
            "-v", f"{COMPOSE_DIR / 'mysql' / 'conf.d'}:/etc/mysql/conf.d:ro",
            test_image("mysql"), f"--port={mysql_port}", "--version=8.4.7-standin",
        )  # fmt: skip
        # The real SeaweedFS on its own network, only the S3 port published: its
        # master, volume and filer ports would collide on the host network.
        _docker(
            "run", "-d", "--name", names["s3"], "-p", f"{s3_port}:{s3_port}",
            "-v", f"{conf / 's3.json'}:/etc/lab/s3.json:ro",
            test_image("s3"), "server", "-ip.bind=0.0.0.0", "-s3", f"-s3.port={s3_port}",
            "-s3.port.grpc=18333", "-s3.config=/etc/lab/s3.json", "-master.telemetry=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            # No server-wide CORS for anyone: only bucket rules count.
            "-s3.allowedOrigins=https://nobody.invalid",
        )  # fmt: skip
        endpoint = f"http://{PUBLIC_HOST}:{s3_port}"
        admin = s3_client(endpoint, *ADMIN)
        wait_for(lambda: admin.list_buckets(), timeout=60, what="lab S3 store")
        admin.create_bucket(Bucket=BUCKET)
        admin.create_bucket(Bucket=NOCORS)
        yield {
            "names": names,
            "mysql_port": mysql_port,
            "s3_endpoint": endpoint,
            "admin": admin,
        }
    finally:
        for name in names.values():
            subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


def _mysql_url(lab, password: str = APP_PW) -> str:
    from urllib.parse import quote

    return f"mysql://wb:{quote(password, safe='')}@{PUBLIC_HOST}:{lab['mysql_port']}/wandb_byo"


def _bucket_url(lab, bucket: str = BUCKET, secret: str = WANDB[1], endpoint=None) -> str:
    host = (endpoint or lab["s3_endpoint"]).split("://", 1)[1]
    return f"s3://{WANDB[0]}:{secret}@{host}/{bucket}?region=us-east-1"


def _wait_mysql(lab):
    import pymysql

    def connect():
        pymysql.connect(
            host=PUBLIC_HOST, port=lab["mysql_port"], user="wb", password=APP_PW,
            database="wandb_byo", connect_timeout=3,
        ).close()  # fmt: skip

    wait_for(connect, timeout=120, what="lab MySQL")


def _set_cors(lab, origin: str) -> None:
    lab["admin"].put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": ["GET", "PUT", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                }
            ]
        },
    )


def _failed(checks) -> dict:
    return {c.name: c for c in checks if c.status == "fail"}


def test_stack_on_your_own_mysql_and_bucket_passes_smoke_and_deep_health(stacks, lab, tmp_path):
    _wait_mysql(lab)
    port = free_loopback_port()
    host = f"http://localhost:{port}"
    # The bucket's owner sets CORS for W&B's origin (storage-init sets it too, with
    # W&B's key, where the store lets that key do so).
    _set_cors(lab, host)
    assert not _failed(check_mysql(_mysql_url(lab)))
    assert not _failed(check_bucket(_bucket_url(lab), host))

    server = stacks.start(
        "external",
        "off",
        WANDB_PORT=str(port),
        WANDB_HOST=host,
        WANDB_EXTERNAL_MYSQL_URL=_mysql_url(lab),
        WANDB_EXTERNAL_BUCKET_URL=_bucket_url(lab),
    )
    try:
        services = {s["Service"] for s in server.compose().services()}
        assert services == {"wandb", "storage-init"}, services  # neither bundled service
        assert server.values["COMPOSE_PROFILES"] == ""
        logs = server.compose().run("logs", "storage-init", capture=True).stdout
        assert f"storage-init: bucket {BUCKET} ready" in logs, logs

        health = kit(server, "health", "--deep")
        assert health.returncode == 0, health.stdout + health.stderr
        env = sdk_env(server, tmp_path / "sdk")
        started = time.monotonic()
        # The whole suite, nothing skipped.
        report = tmp_path / "smoke.json"
        ran = smoke(server, env, "--strict", "--json", str(report), "--large-artifact-mib", "16")
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        summary = json.loads(report.read_text())["summary"]
        assert summary["failed"] == 0 and summary["skipped"] == 0, summary
        print(f"bring-your-own: smoke --strict (all checks) {time.monotonic() - started:.0f} s")
        # W&B's files are in YOUR bucket.
        listed = lab["admin"].list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
        assert listed > 10, listed
    finally:
        stacks.stop(server)


def test_mysql_missing_a_documented_setting_fails_with_its_fix(lab):
    import pymysql

    _wait_mysql(lab)
    root = pymysql.connect(
        host=PUBLIC_HOST, port=lab["mysql_port"], user="root", password=ROOT_PW,
        connect_timeout=3,
    )  # fmt: skip
    with root, root.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_image = 'FULL'")
        try:
            failed = _failed(check_mysql(_mysql_url(lab)))
        finally:
            cur.execute("SET GLOBAL binlog_row_image = 'MINIMAL'")
    assert set(failed) == {"mysql settings"}, failed
    assert "binlog_row_image=FULL (want MINIMAL)" in failed["mysql settings"].detail
    assert "my.cnf" in failed["mysql settings"].fix


def test_wrong_mysql_password_fails_with_its_fix(lab):
    _wait_mysql(lab)
    failed = _failed(check_mysql(_mysql_url(lab, password="not-the-password")))
    assert "credentials refused" in failed["mysql login"].detail
    assert "password" in failed["mysql login"].fix
    assert "not-the-password" not in failed["mysql login"].detail + failed["mysql login"].fix


def test_bucket_without_cors_fails_with_its_fix(lab):
    failed = _failed(check_bucket(_bucket_url(lab, bucket=NOCORS), "http://wandb.lab.test:8080"))
    assert set(failed) == {"bucket CORS"}, failed
    assert "http://wandb.lab.test:8080" in failed["bucket CORS"].detail
    assert "put-bucket-cors" in failed["bucket CORS"].fix


def test_bucket_unreachable_under_its_public_name_fails_with_its_fix(lab):
    closed = f"http://{PUBLIC_HOST}:{_free_port()}"  # nobody listens there
    for endpoint in (closed, "http://s3.lab.invalid:8333"):
        failed = _failed(check_bucket(_bucket_url(lab, endpoint=endpoint), "http://w.test"))
        assert set(failed) == {"bucket reachable"}, failed
        assert "public DNS name" in failed["bucket reachable"].fix


def test_wrong_bucket_credentials_fail_with_their_fix(lab):
    failed = _failed(check_bucket(_bucket_url(lab, secret="wrong-secret"), "http://w.test"))
    assert set(failed) == {"bucket credentials"}, failed
    assert "refused W&B's credentials" in failed["bucket credentials"].detail
    assert "wrong-secret" not in failed["bucket credentials"].detail


def test_preflight_runs_the_checks_and_names_the_fix(lab, tmp_path):
    """End to end through the CLI: init with your URLs (the password from standard
    input, not the command line), then preflight fails on the bucket without CORS."""
    _wait_mysql(lab)
    env_file = tmp_path / ".env"
    cmd = [sys.executable, "-m", "wandb_local_kit", "init", "--compose-dir", str(COMPOSE_DIR),
           "--env-file", str(env_file), "--storage", "external",
           "--host", "http://wandb.lab.test:8080", "--external-mysql-url", _mysql_url(lab),
           "--external-bucket-url", "-"]  # fmt: skip
    made = subprocess.run(
        cmd, input=_bucket_url(lab, bucket=NOCORS) + "\n", capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "preflight", "--compose-dir", str(COMPOSE_DIR),
         "--env-file", str(env_file)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = checked.stdout
    assert checked.returncode == 2, out + checked.stderr
    assert "[  ok] mysql settings" in out and "[  ok] bucket presigned URLs" in out, out
    assert "[fail] bucket CORS" in out and "fix: set bucket CORS" in out, out
    assert WANDB[1] not in out + checked.stderr and APP_PW not in out + checked.stderr


def test_store_that_refuses_bucket_cors_gets_a_warning_not_a_failure(stacks, lab, test_image):
    """storage-init against your own MinIO (community MinIO answers PutBucketCors with
    NotImplemented): it warns with the manual fix and exits 0, so W&B still starts."""
    from wandb_local_kit.core.envfile import render, write_private
    from wandb_local_kit.stack.compose import Compose

    port, root = _free_port(), ("labroot", "lab-minio-" + uuid.uuid4().hex[:12])
    name = f"lab-minio-{uuid.uuid4().hex[:8]}"
    _docker(
        "run", "-d", "--name", name, "--network", "host",
        "-e", f"MINIO_ROOT_USER={root[0]}", "-e", f"MINIO_ROOT_PASSWORD={root[1]}",
        test_image("minio"), "server", "/data", "--address", f":{port}",
    )  # fmt: skip
    compose = None
    try:
        minio = s3_client(f"http://{PUBLIC_HOST}:{port}", *root)
        wait_for(lambda: minio.list_buckets(), timeout=60, what="lab MinIO")
        minio.create_bucket(Bucket="wandb-on-minio")
        values = stacks.env_values(
            "external",
            "off",
            WANDB_EXTERNAL_MYSQL_URL=_mysql_url(lab),
            WANDB_EXTERNAL_BUCKET_URL=f"s3://{root[0]}:{root[1]}@{PUBLIC_HOST}:{port}/wandb-on-minio",
        )
        env_file = stacks._tmp / f"{values['COMPOSE_PROJECT_NAME']}.env"
        write_private(env_file, render((COMPOSE_DIR / ".env.example").read_text(), values))
        compose = Compose(
            COMPOSE_DIR, env_file, values["COMPOSE_PROJECT_NAME"], values["COMPOSE_FILE"].split(":")
        )
        ran = compose.run("run", "--rm", "--no-deps", "storage-init", capture=True, check=False)
        said = ran.stdout + ran.stderr
        assert ran.returncode == 0, said
        assert "WARNING: the store refused PutBucketCors" in said and "NotImplemented" in said
        assert "MINIO_API_CORS_ALLOW_ORIGIN" in said and "wandb-kit doctor" in said
        assert root[1] not in said
    finally:
        if compose is not None:
            compose.down(volumes=True)
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
