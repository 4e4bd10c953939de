"""Parsing the URLs of bring-your-own storage: an existing MySQL server and an
existing S3 bucket, given to `wandb-kit init --storage external` as

    --external-mysql-url  mysql://USER:PASSWORD@HOST[:PORT]/DATABASE
    --external-bucket-url s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET[?region=R&tls=true]

(the address forms W&B documents for MYSQL and BUCKET). Pure functions over strings,
so every rule is unit-testable; nothing here connects anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit


@dataclass(frozen=True)
class MySQLURL:
    user: str
    password: str
    host: str
    port: int
    database: str

    def for_wandb(self) -> str:
        q = lambda s: quote(s, safe="")  # noqa: E731
        return (
            f"mysql://{q(self.user)}:{q(self.password)}@{self.host}:{self.port}/{q(self.database)}"
        )


@dataclass(frozen=True)
class BucketURL:
    access_key: str
    secret_key: str
    host: str
    port: int
    bucket: str
    region: str
    tls: bool

    @property
    def endpoint(self) -> str:
        """Where clients, W&B and the kit reach the store (path-style)."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def for_wandb(self) -> str:
        q = lambda s: quote(s, safe="")  # noqa: E731
        return (
            f"s3://{q(self.access_key)}:{q(self.secret_key)}@{self.host}:{self.port}/{self.bucket}"
            + ("?tls=true" if self.tls else "")
        )


class URLProblem(ValueError):
    """What is wrong with a storage URL; str() never contains the URL's secrets."""


def parse_mysql_url(url: str) -> MySQLURL:
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.hostname:
        raise URLProblem("is not a mysql://USER:PASSWORD@HOST[:PORT]/DATABASE URL")
    try:
        port = parts.port or 3306
    except ValueError:
        raise URLProblem("has a port that is not a number") from None
    database = unquote(parts.path.strip("/"))
    if not parts.username or parts.password is None or not database:
        raise URLProblem("needs a user, a password and a database: mysql://USER:PASSWORD@HOST/DB")
    return MySQLURL(
        unquote(parts.username), unquote(parts.password), parts.hostname, port, database
    )


def parse_bucket_url(url: str, default_region: str = "us-east-1") -> BucketURL:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise URLProblem(
            "is not an s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET[?region=R&tls=true] URL"
        )
    if not parts.username or not parts.password:
        raise URLProblem("needs the access key and secret key of W&B's own identity before @")
    bucket = parts.path.strip("/")
    if not bucket or "/" in bucket:
        raise URLProblem("needs exactly one bucket name after the host (no prefix)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if query.get("tls", "false").lower() not in ("true", "false"):
        # Anything else used to mean "false" silently: plain http to a TLS-only endpoint.
        raise URLProblem("has tls= other than true or false (write ?tls=true or ?tls=false)")
    tls = query.get("tls", "false").lower() == "true"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise URLProblem("has a port that is not a number") from None
    return BucketURL(
        unquote(parts.username),
        unquote(parts.password),
        parts.hostname,
        port,
        bucket,
        query.get("region") or default_region,
        tls,
    )
