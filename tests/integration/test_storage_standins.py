"""The offline stand-ins for MySQL and S3 object storage are usable as the real ones.

These images stand in for mysql:8.4 and MinIO in every stack test, so what W&B needs
from them is asserted here: MySQL's env/init-script interface, SQL over the wire, and
S3 buckets with presigned PUT/GET from the host, CORS rules, and data that survives a
restart.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from testcontainers.core.container import DockerContainer

from tests.integration.helpers import publish_on_loopback, wait_for


@pytest.fixture
def mysql_container(test_image, tmp_path):
    init = tmp_path / "initdb"
    init.mkdir()
    (init / "10-seed.sql").write_text(
        "CREATE TABLE seeded (id INT PRIMARY KEY, note VARCHAR(64)) CHARACTER SET utf8mb4;\n"
        "INSERT INTO seeded VALUES (1, 'from init script');\n"
    )
    container = publish_on_loopback(
        DockerContainer(test_image("mysql"))
        .with_env("MYSQL_ROOT_PASSWORD", "root-secret")
        .with_env("MYSQL_DATABASE", "wandb_local")
        .with_env("MYSQL_USER", "wandb_local")
        # A password that needs quoting everywhere, as generated ones may.
        .with_env("MYSQL_PASSWORD", "p@ss:w/o'rd\"%")
        .with_volume_mapping(str(init), "/docker-entrypoint-initdb.d", "ro"),
        3306,
    )
    with container:
        yield container


def _connect(container, user="wandb_local", password="p@ss:w/o'rd\"%", database="wandb_local"):
    import pymysql

    return pymysql.connect(
        host=container.get_container_host_ip(),
        port=int(container.get_exposed_port(3306)),
        user=user,
        password=password,
        database=database,
        charset="utf8mb4",
        connect_timeout=3,
    )


def test_mysql_standin_honours_env_and_init_scripts(mysql_container):
    conn = wait_for(lambda: _connect(mysql_container), what="mysql stand-in")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT note FROM seeded WHERE id = 1")
        assert cur.fetchone() == ("from init script",)
        # The app user owns its database: it can create tables and store utf8mb4 text.
        cur.execute("CREATE TABLE runs (name VARCHAR(64), label VARCHAR(64)) CHARACTER SET utf8mb4")
        cur.execute("INSERT INTO runs VALUES (%s, %s)", ("run-1", "naïve 🚀 résumé"))
        conn.commit()
        cur.execute("SELECT label FROM runs WHERE name = 'run-1'")
        assert cur.fetchone() == ("naïve 🚀 résumé",)
    # Root over TCP works with MYSQL_ROOT_PASSWORD (what backups and grants use).
    root = _connect(mysql_container, user="root", password="root-secret", database="mysql")
    with root, root.cursor() as cur:
        cur.execute("SHOW GRANTS FOR 'wandb_local'@'%'")
        grants = " ".join(row[0] for row in cur.fetchall())
        assert "`wandb_local`.*" in grants


def test_mysql_standin_rejects_wrong_password(mysql_container):
    import pymysql

    wait_for(lambda: _connect(mysql_container), what="mysql stand-in")
    with pytest.raises(pymysql.err.OperationalError) as err:
        _connect(mysql_container, password="wrong")
    assert err.value.args[0] == 1045  # access denied


@pytest.fixture
def s3_container(test_image, tmp_path):
    data = tmp_path / "s3data"
    data.mkdir()
    container = publish_on_loopback(
        DockerContainer(test_image("s3"))
        .with_env("MINIO_ROOT_USER", "kit-access")
        .with_env("MINIO_ROOT_PASSWORD", "kit-secret-key")
        .with_volume_mapping(str(data), "/data", "rw"),
        9000,
    )
    with container:
        yield container


def _s3(container):
    import boto3
    from botocore.config import Config

    endpoint = f"http://127.0.0.1:{container.get_exposed_port(9000)}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="kit-access",
        aws_secret_access_key="kit-secret-key",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    return endpoint, client


def _live(container):
    url = f"http://127.0.0.1:{container.get_exposed_port(9000)}/minio/health/live"
    requests.get(url, timeout=2).raise_for_status()


def test_s3_standin_presigned_put_then_get_from_host(s3_container):
    wait_for(lambda: _live(s3_container), what="s3 stand-in")
    _, s3 = _s3(s3_container)
    s3.create_bucket(Bucket="wandb")
    key = "entity/project/run/media/images/a b+c.png"
    payload = uuid.uuid4().bytes * 4096
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "wandb", "Key": key}, ExpiresIn=300
    )
    assert requests.put(put_url, data=payload, timeout=10).status_code == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "wandb", "Key": key}, ExpiresIn=300
    )
    got = requests.get(get_url, timeout=10)
    assert got.status_code == 200
    assert got.content == payload


def test_s3_standin_answers_cors_preflight_by_bucket_rules(s3_container):
    wait_for(lambda: _live(s3_container), what="s3 stand-in")
    endpoint, s3 = _s3(s3_container)
    s3.create_bucket(Bucket="wandb")
    s3.put_bucket_cors(
        Bucket="wandb",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["http://wandb.lab.test:8080"],
                    "AllowedMethods": ["GET", "PUT", "HEAD"],
                    "AllowedHeaders": ["*"],
                }
            ]
        },
    )

    def preflight(origin):
        return requests.options(
            f"{endpoint}/wandb/some/key",
            headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
            timeout=5,
        )

    allowed = preflight("http://wandb.lab.test:8080")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://wandb.lab.test:8080"
    assert "PUT" in allowed.headers["Access-Control-Allow-Methods"]
    assert preflight("http://elsewhere.test").status_code == 403


def test_s3_standin_keeps_objects_across_restart(s3_container, docker_client):
    wait_for(lambda: _live(s3_container), what="s3 stand-in")
    _, s3 = _s3(s3_container)
    s3.create_bucket(Bucket="wandb")
    s3.put_object(Bucket="wandb", Key="kept.bin", Body=b"survives restarts")

    docker_client.containers.get(s3_container.get_wrapped_container().id).restart(timeout=10)
    # The host port survives a restart only if Docker reuses it; ask again.
    s3_container.get_wrapped_container().reload()
    wait_for(lambda: _live(s3_container), what="s3 stand-in after restart")
    _, s3 = _s3(s3_container)
    body = s3.get_object(Bucket="wandb", Key="kept.bin")["Body"].read()
    assert body == b"survives restarts"
