"""The test images for MySQL and S3 object storage are usable as the real ones.

The mysql image stands in for mysql:8.4 (MariaDB); the s3 image runs the real SeaweedFS
(`weed` at the compose pin) behind the official image's entrypoint. What W&B needs from
them is asserted here: MySQL's env/init-script interface, SQL over the wire, and S3
buckets with SeaweedFS's command line and identities file (enforced), presigned PUT/GET
from the host, CORS rules, health endpoints, and data that survives a restart.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from testcontainers.core.container import DockerContainer

from tests.integration.helpers import publish_on_loopback, s3_client, wait_for

pytestmark = pytest.mark.portable


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


IDENTITIES = {
    "identities": [
        {
            "name": "kit-init",
            "credentials": [{"accessKey": "kit-admin", "secretKey": "kit-admin-secret"}],
            "actions": ["Admin"],
        },
        {
            "name": "wandb",
            "credentials": [{"accessKey": "kit-access", "secretKey": "kit-secret-key"}],
            "actions": ["Read:wandb", "Write:wandb", "List:wandb", "Tagging:wandb"],
        },
    ]
}


@pytest.fixture
def s3_container(test_image, tmp_path):
    import json

    data, conf = tmp_path / "s3data", tmp_path / "s3.json"
    data.mkdir()
    conf.write_text(json.dumps(IDENTITIES))
    conf.chmod(0o644)
    # SeaweedFS's command line as compose/external.yaml gives it.
    # `seaweedfs` as the host name: -ip names it, and inside compose the service name
    # resolves; the real master and volume server find each other under it.
    container = publish_on_loopback(
        DockerContainer(test_image("s3"))
        .with_kwargs(hostname="seaweedfs")
        .with_command(
            "server -ip=seaweedfs -ip.bind=0.0.0.0 -s3 -s3.port=8333 "
            "-s3.config=/etc/seaweedfs/s3.json -s3.port.iceberg=0 -s3.port.lance=0 "
            "-s3.autoCreateBucket=false -s3.allowDeleteBucketNotEmpty=false "
            "-master.telemetry=false"
        )
        .with_volume_mapping(str(data), "/data", "rw")
        .with_volume_mapping(str(conf), "/etc/seaweedfs/s3.json", "ro"),
        8333,
    )
    with container:
        yield container


def _s3(container, key="kit-admin", secret="kit-admin-secret"):
    endpoint = f"http://127.0.0.1:{container.get_exposed_port(8333)}"
    return endpoint, s3_client(endpoint, key, secret)


def _live(container):
    url = f"http://127.0.0.1:{container.get_exposed_port(8333)}/healthz"
    requests.get(url, timeout=2).raise_for_status()


def test_s3_standin_presigned_put_then_get_from_host(s3_container):
    wait_for(lambda: _live(s3_container), what="s3 stand-in")
    _, admin = _s3(s3_container)
    admin.create_bucket(Bucket="wandb")
    _, s3 = _s3(s3_container, "kit-access", "kit-secret-key")  # W&B's own key
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
    # A URL whose signature was tampered with, and an unsigned request, are refused.
    assert requests.get(get_url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    assert requests.get(get_url.split("?")[0], timeout=10).status_code == 403


def test_s3_standin_enforces_the_identities_file(s3_container):
    from botocore.exceptions import ClientError

    wait_for(lambda: _live(s3_container), what="s3 stand-in")
    _, admin = _s3(s3_container)
    admin.create_bucket(Bucket="wandb")
    admin.create_bucket(Bucket="other")
    admin.put_object(Bucket="other", Key="k", Body=b"x")
    _, wandb = _s3(s3_container, "kit-access", "kit-secret-key")
    wandb.put_object(Bucket="wandb", Key="k", Body=b"mine")
    for call in (
        lambda: wandb.create_bucket(Bucket="new-one"),
        lambda: wandb.get_object(Bucket="other", Key="k"),
        lambda: wandb.list_objects_v2(Bucket="other"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "AccessDenied"
    _, stranger = _s3(s3_container, "nobody", "whatever")
    with pytest.raises(ClientError) as err:
        stranger.list_buckets()
    assert err.value.response["Error"]["Code"] == "InvalidAccessKeyId"


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
    # Bucket rules win over the server-wide fallback (-s3.allowedOrigins, default *).
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
    # S3's /healthz answers before the volume server is back with the master: the
    # real store serves the object within seconds, not necessarily at once.
    got = wait_for(
        lambda: s3.get_object(Bucket="wandb", Key="kept.bin"), what="object after restart"
    )
    assert got["Body"].read() == b"survives restarts"


def test_s3_standin_refuses_flags_seaweedfs_lacks(test_image):
    """Go's flag package refuses unknown flags: so does the stand-in, so a typo in
    external.yaml fails in the tests as it would with SeaweedFS."""
    import subprocess

    ran = subprocess.run(
        ["docker", "run", "--rm", test_image("s3"), "server", "-s3", "-s3.bogus=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0 and "flag provided but not defined: -s3.bogus" in ran.stderr
