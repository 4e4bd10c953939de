"""Checks of bring-your-own storage before `up`: your MySQL and your S3 bucket.

Called by `preflight` and `doctor` when .env names them (WANDB_EXTERNAL_MYSQL_URL,
WANDB_EXTERNAL_BUCKET_URL). Each check talks to the service the way W&B and its
clients will, and every failure says what was found and the fix:

MySQL (PyMySQL): reachable, credentials, version (8.4, or 8.0.32+), the server
settings W&B documents, a utf8mb4 database, and ALL privileges on it.
Bucket (boto3 + requests), through the public name clients use: credentials, the
bucket exists, clock skew, a presigned PUT and GET, a multipart upload, and a CORS
preflight from W&B's origin.

Heavy imports (pymysql, boto3, requests) stay inside the functions.
"""

from __future__ import annotations

import re
import time
import uuid
from email.utils import parsedate_to_datetime

from wandb_local_kit.core.checks import FAIL, OK, WARN, Check
from wandb_local_kit.core.storage_urls import URLProblem, parse_bucket_url, parse_mysql_url

# W&B's documented server settings (requirements / reference architecture pages).
# Values are compared as the server reports them; "min" means at least this much.
MYSQL_SETTINGS = {
    "binlog_format": ("ROW", "eq"),
    "binlog_row_image": ("MINIMAL", "eq"),
    "innodb_flush_log_at_trx_commit": ("1", "eq"),
    "innodb_online_alter_log_max_size": ("268435456", "min"),
    "max_prepared_stmt_count": ("1048576", "min"),
    "sort_buffer_size": ("67108864", "min"),
    "sync_binlog": ("1", "eq"),
}
MAX_SKEW_S = 300  # S3 refuses requests more than 15 min off; warn well before
MULTIPART_PART = 5 * 1024 * 1024  # S3's minimum part size (all parts but the last)


def _version_ok(version: str) -> bool:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if not m or "mariadb" in version.lower():
        return False  # MariaDB (10.x, 11.x) is not MySQL; W&B documents MySQL only
    v = tuple(int(x) for x in m.groups())
    return (8, 4, 0) <= v < (10, 0, 0) or (8, 0, 32) <= v < (8, 1, 0)


# long: one checklist on one connection, in order; each step needs the one before
def check_mysql(url: str, timeout: float = 5.0) -> list[Check]:
    """Your MySQL, as W&B will use it. Never prints the password."""
    import pymysql

    try:
        m = parse_mysql_url(url)
    except URLProblem as err:
        return [
            Check(
                "mysql url",
                FAIL,
                f"WANDB_EXTERNAL_MYSQL_URL {err}",
                "run wandb-kit init --external-mysql-url mysql://USER:PASSWORD@HOST:3306/DB",
            )
        ]
    where = f"{m.user}@{m.host}:{m.port}/{m.database}"
    try:
        conn = pymysql.connect(
            host=m.host,
            port=m.port,
            user=m.user,
            password=m.password,
            database=m.database,
            connect_timeout=timeout,
            charset="utf8mb4",
        )
    except pymysql.err.OperationalError as err:
        code = err.args[0] if err.args else 0
        if code in (1044, 1045):
            return [
                Check(
                    "mysql login",
                    FAIL,
                    f"{where}: credentials refused (MySQL error {code})",
                    "fix the user or password in --external-mysql-url, or create the user: "
                    "CREATE USER 'wandb_local'@'%' IDENTIFIED BY '...'",
                )
            ]
        if code == 1049:
            return [
                Check(
                    "mysql login",
                    FAIL,
                    f"{where}: database {m.database} does not exist",
                    f"CREATE DATABASE {m.database} CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_general_ci",
                )
            ]
        return [
            Check(
                "mysql reachable",
                FAIL,
                f"{where}: cannot connect ({err.args[-1]})",
                "check the host and port, and that this machine and the W&B host may "
                "reach it (firewall, bind-address)",
            )
        ]
    out = [Check("mysql login", OK, where)]
    with conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
        if _version_ok(version):
            out.append(Check("mysql version", OK, version))
        else:
            out.append(
                Check(
                    "mysql version",
                    FAIL,
                    f"{version}: W&B needs MySQL 8.4 (or 8.0.32+)",
                    "upgrade to MySQL 8.4.x (8.0 reached end of life in April 2026)",
                )
            )
        names = tuple(MYSQL_SETTINGS)
        cur.execute(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ",".join(["%s"] * len(names)) + ")",
            names,
        )
        have = {k.lower(): str(v) for k, v in cur.fetchall()}
        wrong = []
        for name, (want, how) in MYSQL_SETTINGS.items():
            got = have.get(name)
            if got is None:
                wrong.append(f"{name} is missing (want {want})")
            elif how == "eq" and got.upper() != want:
                wrong.append(f"{name}={got} (want {want})")
            elif how == "min" and (not got.isdigit() or int(got) < int(want)):
                wrong.append(f"{name}={got} (want >= {want})")
        if wrong:
            out.append(
                Check(
                    "mysql settings",
                    FAIL,
                    "; ".join(wrong),
                    "set these in the server's my.cnf [mysqld] as W&B documents "
                    "(the kit's compose/mysql/conf.d/wandb.cnf lists them), restart MySQL",
                )
            )
        else:
            out.append(Check("mysql settings", OK, "the settings W&B documents"))
        cur.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME = %s",
            (m.database,),
        )
        row = cur.fetchone()
        charset = row[0] if row else "?"
        if str(charset).lower().startswith("utf8mb4"):
            out.append(Check("mysql utf8mb4", OK, f"{m.database} is {charset}"))
        else:
            out.append(
                Check(
                    "mysql utf8mb4",
                    FAIL,
                    f"database {m.database} is {charset}",
                    f"ALTER DATABASE {m.database} CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_general_ci (before W&B creates tables)",
                )
            )
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = " ".join(r[0] for r in cur.fetchall()).replace("\\_", "_")
        db_all = re.search(
            rf"GRANT ALL PRIVILEGES ON [`'\"]?{re.escape(m.database)}[`'\"]?\.\*", grants
        )
        if db_all or "GRANT ALL PRIVILEGES ON *.*" in grants:
            out.append(Check("mysql grants", OK, f"ALL on {m.database}"))
        else:
            out.append(
                Check(
                    "mysql grants",
                    FAIL,
                    f"{m.user} lacks ALL on {m.database}",
                    f"GRANT ALL ON {m.database}.* TO '{m.user}'@'%' WITH GRANT OPTION",
                )
            )
    return out


def _client(b, timeout: float):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=b.endpoint,
        aws_access_key_id=b.access_key,
        aws_secret_access_key=b.secret_key,
        region_name=b.region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout * 4,
            retries={"max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def _error_code(err) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__))


# long: one checklist on one bucket client, in order; each step gates the next
def check_bucket(url: str, wandb_origin: str, timeout: float = 5.0, ca_file=None) -> list[Check]:
    """Your bucket, through the public name in its URL, as W&B and its clients use it."""
    import requests
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        b = parse_bucket_url(url)
    except URLProblem as err:
        return [
            Check(
                "bucket url",
                FAIL,
                f"WANDB_EXTERNAL_BUCKET_URL {err}",
                "run wandb-kit init --external-bucket-url "
                "s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET?region=R&tls=true",
            )
        ]
    where = f"{b.endpoint}/{b.bucket}"
    verify = str(ca_file) if ca_file else True
    # Reachable under its public name at all?
    try:
        started = time.time()
        probe = requests.get(b.endpoint + "/", timeout=timeout, verify=verify)
        local = (started + time.time()) / 2
    except requests.RequestException as err:
        return [
            Check(
                "bucket reachable",
                FAIL,
                f"{b.endpoint} does not answer under that name ({type(err).__name__})",
                "use the store's public DNS name and port, which training nodes, browsers "
                "and the W&B host all resolve and reach (firewall, DNS, TLS certificate)",
            )
        ]
    out = [Check("bucket reachable", OK, b.endpoint)]
    date = probe.headers.get("Date")
    if date:
        skew = parsedate_to_datetime(date).timestamp() - local
        if abs(skew) > MAX_SKEW_S:
            out.append(
                Check(
                    "bucket clock",
                    FAIL,
                    f"the store's clock is {skew:+.0f} s off this machine's",
                    "run NTP (chrony/systemd-timesyncd) on the store and on this host: "
                    "S3 refuses signed requests more than 15 min off",
                )
            )
        else:
            out.append(Check("bucket clock", OK, f"{skew:+.1f} s"))
    s3 = _client(b, timeout)
    try:
        s3.head_bucket(Bucket=b.bucket)
    except ClientError as err:
        code = _error_code(err)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return out + [
                Check(
                    "bucket exists",
                    FAIL,
                    f"{where}: no such bucket",
                    "create it with the store's admin (W&B's own key should not be "
                    "allowed to), or fix the bucket name in --external-bucket-url",
                )
            ]
        return out + [
            Check(
                "bucket credentials",
                FAIL,
                f"{where}: the store refused W&B's credentials ({code})",
                "fix the access key / secret key in --external-bucket-url; the key "
                "needs read, write and list on this bucket",
            )
        ]
    except BotoCoreError as err:
        return out + [
            Check(
                "bucket credentials",
                FAIL,
                f"{where}: {type(err).__name__}",
                "check the URL's host, port and tls= setting",
            )
        ]
    out.append(Check("bucket credentials", OK, f"{where} with W&B's key"))
    key = f"wandb-kit-check/{uuid.uuid4().hex}"
    body = uuid.uuid4().bytes * 256
    try:
        put = s3.generate_presigned_url(
            "put_object", Params={"Bucket": b.bucket, "Key": key}, ExpiresIn=300
        )
        got_put = requests.put(put, data=body, timeout=timeout * 4, verify=verify)
        get = s3.generate_presigned_url(
            "get_object", Params={"Bucket": b.bucket, "Key": key}, ExpiresIn=300
        )
        got = requests.get(get, timeout=timeout * 4, verify=verify)
        if got_put.status_code != 200 or got.status_code != 200 or got.content != body:
            out.append(
                Check(
                    "bucket presigned URLs",
                    FAIL,
                    f"presigned PUT {got_put.status_code}, GET {got.status_code}"
                    + (
                        "" if got.content == body or got.status_code != 200 else ", content differs"
                    ),
                    "W&B needs SigV4 presigned URLs signed for the public name: put no "
                    "proxy in front that rewrites Host, and give W&B's key "
                    "read/write on the bucket",
                )
            )
        else:
            out.append(Check("bucket presigned URLs", OK, "PUT and GET, content equal"))
        mp = s3.create_multipart_upload(Bucket=b.bucket, Key=key + "-mp")
        parts = []
        for number, size in ((1, MULTIPART_PART), (2, 1024)):
            r = s3.upload_part(
                Bucket=b.bucket,
                Key=key + "-mp",
                PartNumber=number,
                UploadId=mp["UploadId"],
                Body=b"m" * size,
            )
            parts.append({"PartNumber": number, "ETag": r["ETag"]})
        s3.complete_multipart_upload(
            Bucket=b.bucket,
            Key=key + "-mp",
            UploadId=mp["UploadId"],
            MultipartUpload={"Parts": parts},
        )
        size = s3.head_object(Bucket=b.bucket, Key=key + "-mp")["ContentLength"]
        if size == MULTIPART_PART + 1024:
            out.append(Check("bucket multipart", OK, "2 parts, size equal"))
        else:
            out.append(
                Check(
                    "bucket multipart",
                    FAIL,
                    f"completed object has {size} bytes",
                    "the store must support S3 multipart uploads (large artifacts)",
                )
            )
    except (ClientError, BotoCoreError, requests.RequestException) as err:
        out.append(
            Check(
                "bucket read/write",
                FAIL,
                f"{where}: {_error_code(err)}",
                "give W&B's key read, write, list and multipart on the bucket",
            )
        )
    finally:
        for k in (key, key + "-mp"):
            try:
                s3.delete_object(Bucket=b.bucket, Key=k)
            except (ClientError, BotoCoreError):
                pass
    out.append(_cors_check(b, where, wandb_origin, timeout, verify))
    return out


def _cors_check(b, where: str, origin: str, timeout: float, verify) -> Check:
    import requests

    fix = (
        f"set bucket CORS: allow GET, PUT and HEAD from {origin}, all headers, expose ETag "
        "(aws s3api put-bucket-cors as the bucket owner; `wandb-kit up` tries it with "
        "storage-init and warns when refused)"
    )
    try:
        r = requests.options(
            f"{b.endpoint}/{b.bucket}/wandb-kit-check/cors",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=timeout,
            verify=verify,
        )
    except requests.RequestException as err:
        return Check("bucket CORS", FAIL, f"preflight failed ({type(err).__name__})", fix)
    allowed = r.headers.get("Access-Control-Allow-Origin")
    if r.status_code < 300 and allowed in (origin, "*"):
        return Check("bucket CORS", OK, f"preflight from {origin} allowed")
    return Check(
        "bucket CORS",
        FAIL,
        f"a browser on {origin} may not upload to {where} (preflight {r.status_code}, "
        f"Access-Control-Allow-Origin {allowed or 'absent'})",
        fix,
    )


def check_own_storage(values: dict[str, str], timeout: float = 5.0) -> list[Check]:
    """The checks for whatever .env says is yours; [] for the bundled services."""
    if values.get("WANDB_STORAGE") != "external":
        return []
    out: list[Check] = []
    if values.get("WANDB_EXTERNAL_MYSQL_URL"):
        out += check_mysql(values["WANDB_EXTERNAL_MYSQL_URL"], timeout)
    if values.get("WANDB_EXTERNAL_BUCKET_URL"):
        origin = values.get("WANDB_BUCKET_CORS_ORIGINS") or values.get("WANDB_HOST", "")
        out += check_bucket(values["WANDB_EXTERNAL_BUCKET_URL"], origin, timeout)
    return out


__all__ = ["check_bucket", "check_mysql", "check_own_storage", "WARN"]
