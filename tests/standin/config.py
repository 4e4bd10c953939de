"""Settings of the stand-in, read from the same environment variables as wandb/local.

Only the variables that change observable behaviour are interpreted; see README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit


@dataclass(frozen=True)
class MysqlURL:
    user: str
    password: str
    host: str
    port: int
    database: str


@dataclass(frozen=True)
class BucketURL:
    access_key: str
    secret_key: str
    endpoint: str  # e.g. http://seaweedfs:8333
    bucket: str


@dataclass(frozen=True)
class Settings:
    host: str  # public base URL (HOST); signed URLs are built from and bound to it
    vol: str  # data directory (/vol in the image)
    mysql: MysqlURL | None = None
    bucket: BucketURL | None = None
    bucket_queue: str = "internal://"
    aws_region: str = "us-east-1"
    admin_api_key: str | None = None
    admin_api_access: bool = False
    license: str | None = None
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    #: STANDIN_USERS=name:key[,name:key]: ordinary users with their personal entities (a
    #: stand-in extension for tests; a real server's users sign up or are invited)
    users: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    allow_user_team_creation: bool = False  # GORILLA_ALLOW_USER_TEAM_CREATION
    disable_team_service_accounts: bool = False  # GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION


def parse_mysql(url: str) -> MysqlURL:
    """`mysql://user:pass@host[:port]/db[?tls=...]`; the password is URL-encoded."""
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.hostname:
        raise ValueError("MYSQL must look like mysql://USER:PASSWORD@HOST[:PORT]/DATABASE")
    return MysqlURL(
        user=unquote(parts.username or ""),
        password=unquote_plus(parts.password or ""),
        host=parts.hostname,
        port=parts.port or 3306,
        database=parts.path.lstrip("/"),
    )


def parse_bucket(url: str) -> BucketURL:
    """`s3://KEY:SECRET@HOST[:PORT]/BUCKET[?tls=true]` (S3-compatible, path-style)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname or not parts.username:
        raise ValueError(
            "BUCKET must look like s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET "
            "(the stand-in supports S3-compatible stores only)"
        )
    tls = parse_qs(parts.query).get("tls", ["false"])[0].lower() == "true"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return BucketURL(
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password or ""),
        endpoint=f"{'https' if tls else 'http'}://{netloc}",
        bucket=parts.path.strip("/"),
    )


def from_env(env: dict[str, str] | None = None, port: int = 8080) -> Settings:
    env = dict(os.environ if env is None else env)
    host = env.get("HOST") or f"http://localhost:{port}"
    origins = tuple(o.strip() for o in env.get("GORILLA_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        host=host.rstrip("/"),
        vol=env.get("STANDIN_VOL", "/vol"),
        mysql=parse_mysql(env["MYSQL"]) if env.get("MYSQL") else None,
        bucket=parse_bucket(env["BUCKET"]) if env.get("BUCKET") else None,
        bucket_queue=env.get("BUCKET_QUEUE", "internal://"),
        aws_region=env.get("AWS_REGION", "us-east-1"),
        admin_api_key=env.get("GLOBAL_ADMIN_API_KEY") or None,
        admin_api_access=env.get("GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS", "").lower()
        == "true",
        license=env.get("LICENSE") or None,
        cors_origins=origins,
        users=tuple(
            tuple(u.strip().split(":", 1))
            for u in env.get("STANDIN_USERS", "").split(",")
            if ":" in u
        ),
        allow_user_team_creation=env.get("GORILLA_ALLOW_USER_TEAM_CREATION", "").lower() == "true",
        disable_team_service_accounts=env.get(
            "GORILLA_DISABLE_TEAM_SERVICE_ACCOUNT_CREATION", ""
        ).lower()
        == "true",
    )
