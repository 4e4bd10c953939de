"""Bring-your-own storage: URL parsing and the MySQL version rule (no Docker; the
checks against real services are in tests/integration/test_bring_your_own.py)."""

from __future__ import annotations

import pytest
from wandb_local_kit.core.storage_urls import URLProblem, parse_bucket_url, parse_mysql_url
from wandb_local_kit.stack.storage_checks import _version_ok, check_own_storage


@pytest.mark.parametrize(
    "version,ok",
    [
        ("8.4.0", True),
        ("8.4.7", True),
        ("9.1.0", True),
        ("8.0.32", True),
        ("8.0.44-log", True),
        ("8.0.31", False),
        ("8.0.28", False),
        ("5.7.44", False),
        ("8.1.0", False),  # an innovation release W&B does not name
        ("10.11.6-MariaDB-0+deb12u1", False),
        ("11.4.2", False),
        ("garbage", False),
    ],
)
def test_mysql_version_rule(version, ok):
    # MariaDB reports 10.x/11.x and is not MySQL: W&B documents MySQL only.
    assert _version_ok(version) is ok


def test_mysql_url_round_trips_quoted_parts():
    m = parse_mysql_url("mysql://wb:p%40ss%2Fw%3Ard@db.lab.test:3307/wandb_prod")
    assert (m.user, m.password, m.host, m.port, m.database) == (
        "wb", "p@ss/w:rd", "db.lab.test", 3307, "wandb_prod",
    )  # fmt: skip
    assert m.for_wandb() == "mysql://wb:p%40ss%2Fw%3Ard@db.lab.test:3307/wandb_prod"
    assert parse_mysql_url("mysql://wb:x@db/wandb").port == 3306


def test_bucket_url_region_tls_and_default_ports():
    b = parse_bucket_url("s3://AK:se%2Bc@s3.lab.test/wandb?region=eu-west-1&tls=true")
    assert (b.access_key, b.secret_key, b.host, b.port, b.bucket, b.region, b.tls) == (
        "AK", "se+c", "s3.lab.test", 443, "wandb", "eu-west-1", True,
    )  # fmt: skip
    assert b.endpoint == "https://s3.lab.test:443"
    assert b.for_wandb() == "s3://AK:se%2Bc@s3.lab.test:443/wandb?tls=true"
    plain = parse_bucket_url("s3://AK:SK@10.0.0.5:8333/wandb")
    assert plain.endpoint == "http://10.0.0.5:8333" and plain.region == "us-east-1"


@pytest.mark.parametrize(
    "url",
    ["mysql://db/wandb", "mysql://u:p@db/", "postgres://u:p@db/x", "mysql://u:p@db:port/x"],
)
def test_bad_mysql_urls_are_refused_without_echoing_them(url):
    with pytest.raises(URLProblem) as err:
        parse_mysql_url(url)
    assert ":p@" not in str(err.value)


def test_bundled_storage_needs_no_checks():
    assert check_own_storage({"WANDB_STORAGE": "external"}) == []
    assert check_own_storage({"WANDB_STORAGE": "embedded", "WANDB_EXTERNAL_MYSQL_URL": "x"}) == []
