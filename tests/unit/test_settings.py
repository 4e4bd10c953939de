"""`.env` generation and validation: secrets, URL-quoting, overlays, bad values named."""

from __future__ import annotations

import argparse
import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote, unquote_plus, urlsplit

import pytest
from wandb_local_kit.commands.stack import init as cmd_init
from wandb_local_kit.core.envfile import read_env, render, write_private
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack import settings


def build_values(existing, defaults, choices):
    """init's values for argparse-shaped choices (the domain takes a plain dict)."""
    return settings.build_values(existing, defaults, vars(choices))


COMPOSE_DIR = settings.default_compose_dir()
NASTY = "p@ss:w/o#r%d+$HOME !"


def defaults() -> dict[str, str]:
    return settings.example_values(COMPOSE_DIR)


def args(**kw) -> argparse.Namespace:
    base = dict(
        storage=None,
        tls=None,
        host=None,
        bind=None,
        bucket_url=None,
        external_mysql_url=None,
        external_bucket_url=None,
        compose_dir=COMPOSE_DIR,
        env_file=None,
    )
    base.update(kw)
    return argparse.Namespace(**base)


def external(**overrides) -> dict[str, str]:
    values = build_values(
        {}, defaults(), args(storage="external", host="http://wandb.lab.test:8080")
    )
    values.update(overrides)
    return settings.derive(values)


def test_example_documents_every_key_compose_files_use():
    import re

    used = set()
    for f in COMPOSE_DIR.glob("*.yaml"):
        if not f.name.startswith("test"):
            used |= set(re.findall(r"\$\{([A-Z0-9_]+)", f.read_text()))
    assert used - {"COMPOSE_PROJECT_NAME"} <= set(defaults())


def test_generated_secrets_are_fresh_and_well_formed():
    a, b = settings.generate_secrets({}), settings.generate_secrets({})
    for key in settings.SECRET_FACTORIES:
        assert a[key] and a[key] != b[key]
    assert a["WANDB_ADMIN_API_KEY"].startswith("local-")
    assert len(a["WANDB_ADMIN_API_KEY"].split("-", 1)[1]) == 40


def test_existing_values_are_kept():
    first = build_values({}, defaults(), args())
    again = build_values(first, defaults(), args())
    for key in settings.SECRET_FACTORIES:
        assert again[key] == first[key]


@pytest.mark.parametrize("password", [NASTY, "plain", "a+b c", "%41%"])
def test_passwords_survive_into_urls(password):
    values = external(MYSQL_PASSWORD=password)
    mysql = urlsplit(values["WANDB_MYSQL_URL"])
    assert mysql.scheme == "mysql" and mysql.hostname == "mysql" and mysql.port == 3306
    # W&B decodes with unquote_plus (its chart's init container); both decoders agree.
    assert unquote_plus(mysql.password) == unquote(mysql.password) == password
    assert mysql.path == "/wandb_local"
    bucket = urlsplit(values["WANDB_BUCKET_URL"])
    assert bucket.scheme == "s3" and bucket.hostname == "wandb.lab.test" and bucket.port == 8333
    # W&B's own, bucket-limited identity: never the store admin's.
    assert unquote_plus(bucket.username) == values["WANDB_S3_ACCESS_KEY"]
    assert unquote_plus(bucket.password) == values["WANDB_S3_SECRET_KEY"]
    assert values["STORAGE_ADMIN_SECRET_KEY"] not in values["WANDB_BUCKET_URL"]
    assert bucket.path == "/wandb"


def test_nasty_password_survives_the_env_file(tmp_path):
    values = external(MYSQL_PASSWORD=NASTY)
    path = tmp_path / ".env"
    write_private(path, render((COMPOSE_DIR / ".env.example").read_text(), values))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = read_env(path)
    assert back["MYSQL_PASSWORD"] == NASTY
    assert back["WANDB_MYSQL_URL"] == values["WANDB_MYSQL_URL"]


def test_single_quote_is_refused_by_name():
    with pytest.raises(KitError) as err:
        render("MYSQL_PASSWORD=\n", {"MYSQL_PASSWORD": "it's"})
    assert "MYSQL_PASSWORD" in err.value.problem


def external_tls(**overrides) -> dict[str, str]:
    values = build_values(
        {}, defaults(), args(storage="external", tls="internal", host="https://wandb.lab.test")
    )
    values.update(overrides)
    return settings.derive(values)


def test_https_bucket_endpoint_sets_tls_flag():
    values = external_tls(WANDB_BUCKET_PUBLIC_URL="https://files.lab.test:9443")
    assert values["WANDB_BUCKET_URL"].endswith("@files.lab.test:9443/wandb?tls=true")
    assert settings.validate(values) == []


def test_with_tls_the_default_bucket_endpoint_is_https_through_caddy():
    values = external_tls()
    assert values["WANDB_BUCKET_PUBLIC_URL"] == "https://wandb.lab.test:8333"
    assert values["WANDB_BUCKET_HOSTNAME"] == "wandb.lab.test"
    assert values["WANDB_BUCKET_PORT"] == "8333"
    assert values["WANDB_BUCKET_URL"].endswith("@wandb.lab.test:8333/wandb?tls=true")
    assert values["COMPOSE_FILE"].endswith(":tls.yaml:external-tls.yaml")
    assert settings.validate(values) == []


def test_turning_tls_on_and_off_moves_the_bucket_endpoint_with_it():
    plain = external(WANDB_BUCKET_PUBLIC_URL="http://files.lab.test:9000")
    on = build_values(plain, defaults(), args(tls="internal", host="https://wandb.lab.test"))
    assert on["WANDB_BUCKET_PUBLIC_URL"] == "https://files.lab.test:9000"
    assert on["WANDB_BUCKET_URL"].endswith("?tls=true")
    off = build_values(on, defaults(), args(tls="off", host="http://wandb.lab.test:8080"))
    assert off["WANDB_BUCKET_PUBLIC_URL"] == "http://files.lab.test:9000"
    assert not off["WANDB_BUCKET_URL"].endswith("?tls=true")
    for values in (on, off):
        assert settings.validate(values) == []


def test_an_explicit_bucket_url_is_kept_and_a_scheme_mismatch_named():
    values = build_values(
        {},
        defaults(),
        args(
            storage="external",
            tls="internal",
            host="https://wandb.lab.test",
            bucket_url="http://files.lab.test:9000",
        ),
    )
    assert values["WANDB_BUCKET_PUBLIC_URL"] == "http://files.lab.test:9000"
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_BUCKET_PUBLIC_URL"
    assert "WANDB_TLS=internal" in problem.problem and "https://" in problem.fix


def test_https_bucket_without_tls_is_named():
    [problem] = settings.validate(external(WANDB_BUCKET_PUBLIC_URL="https://files.lab.test:9000"))
    assert problem.key == "WANDB_BUCKET_PUBLIC_URL" and "WANDB_TLS=off" in problem.problem


@pytest.mark.parametrize(
    "url,clash",
    [
        ("https://files.lab.test", "443"),
        ("https://files.lab.test:80", "80"),
        ("https://files.lab.test:8443", "WANDB_HTTPS_PORT"),
    ],
)
def test_bucket_port_must_not_clash_with_caddys_ports(url, clash):
    values = external_tls(WANDB_HTTPS_PORT="8443", WANDB_BUCKET_PUBLIC_URL=url)
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_BUCKET_PUBLIC_URL" and clash in problem.problem


def test_bucket_cors_origin_is_the_wandb_origin():
    assert external()["WANDB_BUCKET_CORS_ORIGINS"] == "http://wandb.lab.test:8080"


@pytest.mark.parametrize(
    "storage,tls,test,expected",
    [
        ("embedded", "off", False, ["compose.yaml"]),
        ("external", "off", False, ["compose.yaml", "external.yaml"]),
        ("embedded", "internal", False, ["compose.yaml", "tls.yaml"]),
        (
            "external",
            "acme",
            False,
            ["compose.yaml", "external.yaml", "tls.yaml", "external-tls.yaml"],
        ),
        (
            "embedded",
            "acme",
            True,
            [
                "compose.yaml",
                "test.yaml",
                "tls.yaml",
                "test-images-tls.yaml",
                "test-tls.yaml",
                "test-acme.yaml",
            ],
        ),
        (
            "external",
            "internal",
            True,
            [
                "compose.yaml",
                "test.yaml",
                "external.yaml",
                "test-images-external.yaml",
                "test-external.yaml",
                "tls.yaml",
                "test-images-tls.yaml",
                "test-tls.yaml",
                "external-tls.yaml",
                "test-images-external-tls.yaml",
            ],
        ),
    ],
)
def test_overlay_selection(storage, tls, test, expected):
    assert settings.compose_files(storage, tls, test) == expected
    for name in expected:
        assert (COMPOSE_DIR / name).is_file()


def test_overlay_selection_is_written_as_compose_file():
    values = build_values(
        {}, defaults(), args(storage="external", tls="internal", host="https://wandb.lab.test")
    )
    assert values["COMPOSE_FILE"] == "compose.yaml:external.yaml:tls.yaml:external-tls.yaml"


def test_turning_tls_on_moves_host_to_https():
    values = build_values({}, defaults(), args(tls="internal"))
    assert values["WANDB_HOST"] == "https://localhost"


def test_an_ipv6_host_keeps_its_brackets_when_tls_comes_on_and_in_what_is_derived():
    """urlsplit's .hostname drops an IPv6 address's brackets; every URL and Caddy site
    address the kit builds from it must put them back (Caddy's reading of an unbracketed
    one is asserted with the real Caddy in tests/integration/test_caddy_addresses.py)."""
    existing = {"WANDB_HOST": "http://[fd00::5]:8080", "WANDB_HTTPS_PORT": "8443"}
    values = build_values(existing, defaults(), args(tls="internal", storage="external"))
    assert values["WANDB_HOST"] == "https://[fd00::5]:8443"
    assert values["WANDB_TLS_HOSTNAME"] == "[fd00::5]"
    assert values["WANDB_BUCKET_PUBLIC_URL"] == "https://[fd00::5]:8333"
    assert values["WANDB_BUCKET_HOSTNAME"] == "[fd00::5]"
    assert "@[fd00::5]:8333/" in values["WANDB_BUCKET_URL"]
    assert settings.validate(values) == []
    named = build_values({}, defaults(), args(tls="internal", host="https://wandb.lab.test"))
    assert named["WANDB_TLS_HOSTNAME"] == "wandb.lab.test"  # a name stays as it is


def test_defaults_are_valid():
    assert settings.validate(build_values({}, defaults(), args())) == []
    assert settings.validate(external()) == []


@pytest.mark.parametrize(
    "key,value",
    [
        ("WANDB_HOST", "wandb.lab.test:8080"),
        ("WANDB_HOST", ""),
        ("WANDB_PORT", "80808"),
        ("WANDB_PORT", "http"),
        ("WANDB_BIND", "everywhere"),
        ("WANDB_STORAGE", "s3"),
        ("WANDB_TLS", "yes"),
        ("WANDB_IMAGE", "wandb/local:latest"),
        ("WANDB_IMAGE", "wandb/local"),
        ("WANDB_ADMIN_API_KEY", "short"),
        ("WANDB_ADMIN_API_ENABLED", "yes"),
        ("WANDB_MEMORY", "lots"),
        ("WANDB_CPUS", "0"),
        ("MYSQL_USER", "wandb-local"),
        ("MYSQL_PASSWORD", ""),
        ("STORAGE_ADMIN_SECRET_KEY", 'short"quote'),
        ("STORAGE_ADMIN_SECRET_KEY", "-starts-with-a-dash"),
        ("WANDB_S3_SECRET_KEY", ""),
        ("WANDB_S3_ACCESS_KEY", "has space"),
        ("SEAWEEDFS_IMAGE", "chrislusf/seaweedfs:latest"),
        ("STORAGE_INIT_IMAGE", "amazon/aws-cli"),
        ("WANDB_BUCKET_PUBLIC_URL", "http://files.lab.test:8888"),
        ("WANDB_EXTERNAL_MYSQL_URL", "postgres://u:p@db/wandb"),
        ("WANDB_EXTERNAL_MYSQL_URL", "mysql://u@db/wandb"),
        ("WANDB_BUCKET_NAME", "Wandb_Files"),
        ("WANDB_BUCKET_PUBLIC_URL", "http://localhost:9000"),
        ("WANDB_BUCKET_PUBLIC_URL", "http://127.0.0.1:9000"),
        ("WANDB_BUCKET_PUBLIC_URL", "s3://files:9000"),
    ],
)
def test_bad_value_is_reported_by_name(key, value):
    problems = settings.validate(external(**{key: value}))
    assert [p.key for p in problems] == [key]
    assert problems[0].fix


def test_tls_needs_https_host():
    values = build_values({}, defaults(), args(tls="internal", host="http://wandb.lab.test"))
    assert [p.key for p in settings.validate(values)] == ["WANDB_HOST"]


def test_acme_needs_a_public_name_and_email():
    values = build_values({}, defaults(), args(tls="acme", host="https://10.0.0.5"))
    assert {p.key for p in settings.validate(values)} == {"WANDB_HOST", "WANDB_ACME_EMAIL"}


def test_acme_ca_must_be_an_https_directory():
    values = build_values({}, defaults(), args(tls="acme", host="https://wandb.lab.test"))
    values["WANDB_ACME_EMAIL"] = "admin@lab.test"
    assert settings.validate(values) == []  # Let's Encrypt by default
    values["WANDB_ACME_CA"] = "http://acme.lab.test/directory"
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_ACME_CA" and "https://" in problem.problem


def test_files_tls_needs_the_certificate_pair(tmp_path):
    values = build_values({}, defaults(), args(tls="files", host="https://wandb.lab.test"))
    values["WANDB_TLS_CERT_DIR"] = str(tmp_path)
    assert [p.key for p in settings.validate(values, COMPOSE_DIR)] == ["WANDB_TLS_CERT_DIR"]
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    assert settings.validate(values, COMPOSE_DIR) == []


def test_init_writes_private_file_and_keeps_secrets(tmp_path, capsys):
    env = tmp_path / ".env"
    assert cmd_init(args(env_file=env)) == 0
    first = read_env(env)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert cmd_init(args(env_file=env, storage="external", host="http://wandb.lab.test:8080")) == 0
    second = read_env(env)
    assert second["WANDB_ADMIN_API_KEY"] == first["WANDB_ADMIN_API_KEY"]
    assert second["COMPOSE_FILE"] == "compose.yaml:external.yaml"
    out = capsys.readouterr().out
    for key in settings.SECRET_FACTORIES:
        assert first[key] not in out  # never printed


def test_init_refuses_bad_values_and_writes_nothing(tmp_path, capsys):
    env = tmp_path / ".env"
    assert cmd_init(args(env_file=env, host="ftp://nowhere")) == 2
    assert not env.exists()
    assert "WANDB_HOST" in capsys.readouterr().err


def test_init_reports_bad_values_already_in_env(tmp_path, capsys):
    env = tmp_path / ".env"
    assert cmd_init(args(env_file=env)) == 0
    # init picks a free port (8082 when 8080 is busy on this machine): replace whichever.
    text, n = re.subn(r"^WANDB_PORT='\d+'$", "WANDB_PORT='eighty'", env.read_text(), flags=re.M)
    assert n == 1, "the test's edit of .env did not happen"
    env.write_text(text)
    assert cmd_init(args(env_file=env)) == 2
    err = capsys.readouterr().err
    assert "WANDB_PORT" in err and "'eighty' is not a port number" in err
    assert Path(env).read_text() == text  # left as the user wrote it


@pytest.mark.parametrize(
    "line,value",
    [
        ("A='p@ss:w/o#r%d $HOME'", "p@ss:w/o#r%d $HOME"),
        ('A="say \\"hi\\" \\\\ there"', 'say "hi" \\ there'),
        ("A=plain # comment", "plain"),
        ("export A=exported", "exported"),
        ("A=", ""),
        ("  A = 'spaced'  ", "spaced"),
    ],
)
def test_env_parser_reads_compose_syntax(line, value):
    from wandb_local_kit.core.envfile import parse_env

    assert parse_env(f"# comment\n{line}\n") == {"A": value}


def test_generated_secrets_never_start_with_a_dash(monkeypatch):
    # token_urlsafe starts with '-' one time in 64; a CLI would read it as an option.
    import itertools

    draws = itertools.chain(["-bad-first-draw", "_also-bad"], itertools.repeat("Good-secret"))
    monkeypatch.setattr(settings.secrets, "token_urlsafe", lambda n: next(draws))
    assert settings.generate_secrets({})["MYSQL_PASSWORD"] == "Good-secret"


# --- object storage: bundled SeaweedFS, or your own MySQL / bucket ----------------------


def test_bundled_store_gets_two_identities_and_both_profiles():
    values = external()
    assert values["COMPOSE_PROFILES"] == "bundled-mysql,bundled-s3"
    assert values["WANDB_S3_ACCESS_KEY"] != values["STORAGE_ADMIN_ACCESS_KEY"]
    # storage-init (and only it) gets the admin, inside the network.
    assert values["STORAGE_INIT_ACCESS_KEY"] == values["STORAGE_ADMIN_ACCESS_KEY"]
    assert values["STORAGE_INIT_SECRET_KEY"] == values["STORAGE_ADMIN_SECRET_KEY"]
    assert values["STORAGE_INIT_ENDPOINT"] == "http://seaweedfs:8333"
    assert not any(k.startswith("MINIO") for k in values)


def test_default_bucket_endpoint_is_seaweedfs_s3_port():
    values = build_values(
        {}, defaults(), args(storage="external", host="http://wandb.lab.test:8080")
    )
    assert values["WANDB_BUCKET_PUBLIC_URL"] == "http://wandb.lab.test:8333"
    assert values["STORAGE_INIT_ENDPOINT"] == "http://seaweedfs:8333"
    assert settings.validate(values) == []


def test_admin_and_wandb_keys_must_differ():
    values = external()
    values["WANDB_S3_ACCESS_KEY"] = values["STORAGE_ADMIN_ACCESS_KEY"]
    assert [p.key for p in settings.validate(values)] == ["WANDB_S3_ACCESS_KEY"]


def test_generated_keys_fit_the_identities_file():
    import json

    for _ in range(50):
        values = external()
        for key in ("STORAGE_ADMIN_SECRET_KEY", "WANDB_S3_SECRET_KEY"):
            assert json.loads(json.dumps(values[key])) == values[key]
            assert '"' not in values[key] and "\\" not in values[key]
        assert settings.validate(values) == []


def test_own_mysql_and_bucket_replace_the_bundled_services():
    values = build_values(
        {},
        defaults(),
        args(
            storage="external",
            host="https://wandb.lab.test",
            tls="internal",
            external_mysql_url="mysql://wb:p%40ss@db.lab.test:3307/wandb_prod",
            external_bucket_url="s3://AKID:se%2Fcret@s3.lab.test:9443/wandb-files?region=eu-west-1&tls=true",
        ),
    )
    assert values["COMPOSE_PROFILES"] == ""
    assert values["WANDB_MYSQL_URL"] == "mysql://wb:p%40ss@db.lab.test:3307/wandb_prod"
    assert values["WANDB_BUCKET_URL"] == "s3://AKID:se%2Fcret@s3.lab.test:9443/wandb-files?tls=true"
    assert values["WANDB_BUCKET_NAME"] == "wandb-files"
    assert values["AWS_REGION"] == "eu-west-1"
    assert values["STORAGE_INIT_ENDPOINT"] == "https://s3.lab.test:9443"
    assert values["STORAGE_INIT_ACCESS_KEY"] == "AKID"
    # Nothing of the kit's sits in front of your bucket.
    assert "external-tls.yaml" not in values["COMPOSE_FILE"]
    assert settings.validate(values) == []


def test_own_mysql_only_keeps_the_bundled_store():
    values = build_values(
        {},
        defaults(),
        args(
            storage="external",
            host="http://wandb.lab.test:8080",
            external_mysql_url="mysql://wb:pw@db.lab.test/wandb",
        ),
    )
    assert values["COMPOSE_PROFILES"] == "bundled-s3"
    assert values["WANDB_MYSQL_URL"] == "mysql://wb:pw@db.lab.test:3306/wandb"


@pytest.mark.parametrize(
    "url,said",
    [
        ("http://s3.lab.test/b", "is not an s3://"),
        ("s3://s3.lab.test/b", "access key"),
        ("s3://a:b@s3.lab.test/", "bucket name"),
        ("s3://a:b@s3.lab.test/b/prefix", "bucket name"),
    ],
)
def test_bad_own_bucket_url_is_named_without_its_secret(url, said):
    values = external(WANDB_EXTERNAL_BUCKET_URL=url)
    problems = settings.validate(values)
    assert [p.key for p in problems] == ["WANDB_EXTERNAL_BUCKET_URL"]
    assert said in problems[0].problem and "--external-bucket-url" in problems[0].fix
    assert ":b@" not in problems[0].render()


def test_own_urls_can_come_from_stdin(monkeypatch, tmp_path):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("mysql://wb:pw@db.lab.test/wandb\n"))
    env = tmp_path / ".env"
    code = cmd_init(
        args(
            env_file=env,
            storage="external",
            host="http://wandb.lab.test:8080",
            external_mysql_url="-",
            external_bucket_url=None,
        )
    )
    assert code == 0
    values = read_env(env)
    assert values["WANDB_EXTERNAL_MYSQL_URL"] == "mysql://wb:pw@db.lab.test/wandb"


def test_init_over_a_minio_era_env_keeps_what_migrate_minio_reads(tmp_path):
    """A .env written before SeaweedFS: re-running init moves it to the new store,
    generates the new identities, keeps every other value, and keeps the old MinIO root
    credentials (at the end, outside .env.example) for `wandb-kit migrate-minio`."""
    env = tmp_path / ".env"
    env.write_text(
        "WANDB_STORAGE='external'\nWANDB_HOST='http://wandb.lab.test:8080'\n"
        "MYSQL_PASSWORD='kept-mysql'\nMYSQL_ROOT_PASSWORD='kept-root'\n"
        "MINIO_IMAGE='minio/minio:RELEASE.2025-09-07T16-13-09Z'\n"
        "MINIO_ROOT_USER='wandb-old'\nMINIO_ROOT_PASSWORD='old-minio-pass'\n"
        "WANDB_BUCKET_PUBLIC_URL='http://wandb.lab.test:9000'\n"
    )
    assert cmd_init(args(env_file=env)) == 0
    values = read_env(env)
    assert values["MINIO_ROOT_USER"] == "wandb-old"
    assert values["MINIO_ROOT_PASSWORD"] == "old-minio-pass"
    assert values["MYSQL_PASSWORD"] == "kept-mysql"
    assert values["STORAGE_ADMIN_SECRET_KEY"] and values["WANDB_S3_SECRET_KEY"]
    assert "old-minio-pass" not in values["WANDB_BUCKET_URL"]
    assert values["COMPOSE_PROFILES"] == "bundled-mysql,bundled-s3"
    text = env.read_text()
    assert text.index("MINIO_ROOT_USER") > text.index("# --- not in .env.example ---")
    assert settings.validate(values) == []


# --- values compose and Docker would refuse ----------------------------------------------


def _problems_of(values, key, compose_dir=None):
    return [p for p in settings.validate(values, compose_dir) if p.key == key]


def _compose_file(value, **more):
    """Settings whose COMPOSE_FILE is VALUE (derive() would write its own)."""
    values = external()
    values.update(COMPOSE_FILE=value, **more)
    return values


@pytest.mark.parametrize("key", ["WANDB_PORT", "WANDB_HTTPS_PORT", "WANDB_HTTP_PORT"])
@pytest.mark.parametrize("value", ["１８０９５", "8０8０", "²", " 8080", "+8080"])
def test_ports_are_ascii_digits_as_compose_reads_them(key, value):
    """int() accepts fullwidth digits; compose does not (and int('²') raises)."""
    [problem] = settings.validate(external(**{key: value}))
    assert problem.key == key and "not a port number" in problem.problem
    assert "ASCII digits" in problem.problem and "1-65535" in problem.fix


def test_the_bucket_port_is_judged_too():
    values = external()
    assert values["WANDB_BUCKET_PORT"] == "8333"
    values["WANDB_BUCKET_PORT"] = "８３３３"
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_BUCKET_PORT" and "not a port number" in problem.problem
    assert "wandb-kit init" in problem.fix  # derived from WANDB_BUCKET_PUBLIC_URL


@pytest.mark.parametrize("value", ["8g", "8192m", "8G", "8.5g", "6m", "1024M", "8gb", "1t"])
def test_memory_sizes_docker_reads_are_accepted(value):
    assert _problems_of(external(WANDB_MEMORY=value), "WANDB_MEMORY") == []


@pytest.mark.parametrize(
    "value,said",
    [
        ("99999999999999999999g", "more than Docker"),
        ("9223372036854775808", "more than Docker"),
        ("5m", "6 MiB"),
        ("0", "6 MiB"),
        ("６g", "not a size"),
        ("8 g", "not a size"),
        ("-8g", "not a size"),
        ("8x", "not a size"),
    ],
)
def test_memory_docker_refuses_is_named(value, said):
    [problem] = settings.validate(external(WANDB_MEMORY=value))
    assert problem.key == "WANDB_MEMORY" and said in problem.problem and "8g" in problem.fix


@pytest.mark.parametrize("value", ["4", "2.5", "0.5", ".5", "0.01", "64"])
def test_cpu_counts_docker_reads_are_accepted(value):
    assert _problems_of(external(WANDB_CPUS=value), "WANDB_CPUS") == []


@pytest.mark.parametrize(
    "value,said",
    [
        ("４", "not a CPU count"),
        ("inf", "not a CPU count"),
        ("nan", "not a CPU count"),
        ("1e3", "not a CPU count"),
        ("4_0", "not a CPU count"),
        (" 4", "not a CPU count"),
        ("-2", "not a CPU count"),
        ("0.001", "0.01"),
    ],
)
def test_cpu_counts_docker_refuses_are_named(value, said):
    [problem] = settings.validate(external(WANDB_CPUS=value))
    assert problem.key == "WANDB_CPUS" and said in problem.problem and "2.5" in problem.fix


def test_the_kits_own_compose_file_values_are_valid():
    for storage in settings.STORAGE_CHOICES:
        for tls in settings.TLS_CHOICES:
            for test in (False, True):
                files = settings.compose_files(storage, tls, test) + ["sso.yaml"]
                values = _compose_file(":".join(files))
                assert _problems_of(values, "COMPOSE_FILE", COMPOSE_DIR) == []


@pytest.mark.parametrize(
    "value,said",
    [
        ("compose.yaml:missing.yaml", "does not exist"),
        ("/etc/passwd", "outside the compose folder"),
        ("compose.yaml:../README.md", "outside the compose folder"),
        ("compose.yaml:caddy", "is not a file"),
        ("compose.yaml;tls.yaml", "does not exist"),
    ],
)
def test_compose_file_entries_must_be_compose_files_in_the_compose_folder(value, said):
    values = _compose_file(value)
    [problem] = settings.validate(values, COMPOSE_DIR)
    assert problem.key == "COMPOSE_FILE" and said in problem.problem
    assert "wandb-kit init" in problem.fix


def test_compose_file_of_your_own_must_be_a_compose_mapping(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  wandb: {}\n")
    (tmp_path / "notes.yaml").write_text("- a list\n")
    (tmp_path / "broken.yaml").write_text("services: [\n")
    (tmp_path / "mine.yaml").write_text("services:\n  extra:\n    image: busybox:1\n")
    values = _compose_file("compose.yaml:mine.yaml")
    assert _problems_of(values, "COMPOSE_FILE", tmp_path) == []
    for name in ("notes.yaml", "broken.yaml"):
        values = _compose_file(f"compose.yaml:{name}")
        [problem] = _problems_of(values, "COMPOSE_FILE", tmp_path)
        assert "not a compose file" in problem.problem and name in problem.problem


def test_compose_path_separator_is_how_compose_splits_the_list():
    values = _compose_file("compose.yaml;/etc/passwd", COMPOSE_PATH_SEPARATOR=";")
    problems = _problems_of(values, "COMPOSE_FILE", COMPOSE_DIR)
    assert problems and any("outside the compose folder" in p.problem for p in problems)


def test_without_a_compose_folder_compose_file_is_named_as_not_judged():
    assert "COMPOSE_FILE" in " ".join(settings.unjudged(external(), None))
    assert "COMPOSE_FILE" not in " ".join(settings.unjudged(external(), COMPOSE_DIR))


@pytest.mark.parametrize(
    "image",
    [
        "wandb/local:0.83.0",
        "registry.lab.test:5000/wandb/local:0.83.0",
        "localhost/wandb/local:0.83.0",
        "wandb-kit-test/wandb-standin:test",
        "my_org/some__name/a-b.c:v1_2-3",
        "wandb/local@sha256:" + "a" * 64,
        "wandb/local:0.83.0@sha256:" + "0123456789abcdef" * 4,
        "10.0.0.5:5000/wandb/local:0.83.0",
    ],
)
def test_image_references_docker_accepts(image):
    assert _problems_of(external(WANDB_IMAGE=image), "WANDB_IMAGE") == []


@pytest.mark.parametrize(
    "image,said",
    [
        ("Wandb/Local:0.83.0", "upper-case"),
        ("wandb/Local:0.83.0", "upper-case"),
        ("wandb/local@sha256:abc", "digest"),
        ("wandb/local@sha256:" + "A" * 64, "digest"),
        ("wandb/local@md5:" + "a" * 32, "digest"),
        ("wandb/local:0.83.0 --privileged", "spaces"),
        ("wandb/local:.hidden", "tag"),
        ("wandb/local:" + "1" * 129, "tag"),
        ("wandb//local:1", "not an image reference"),
        ("wandb/lo--cal_:1", "not an image reference"),
        ("-wandb/local:1", "not an image reference"),
        ("wandb/lócal:1", "not an image reference"),
    ],
)
def test_image_references_docker_refuses_are_named(image, said):
    [problem] = settings.validate(external(WANDB_IMAGE=image))
    assert problem.key == "WANDB_IMAGE" and said in problem.problem
    assert "wandb/local:0.83.0" in problem.fix or "release tag" in problem.fix


@pytest.mark.parametrize(
    "key", ["WANDB_IMAGE", "MYSQL_IMAGE", "SEAWEEDFS_IMAGE", "STORAGE_INIT_IMAGE", "CADDY_IMAGE"]
)
def test_every_image_setting_is_judged(key):
    [problem] = settings.validate(external(**{key: "Upper/Case:1"}))
    assert problem.key == key


def test_acme_email_that_is_not_an_address_is_named_as_such():
    values = build_values({}, defaults(), args(tls="acme", host="https://wandb.lab.test"))
    values["WANDB_ACME_EMAIL"] = "not-an-email"
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_ACME_EMAIL"
    assert "'not-an-email' is not an email address" in problem.problem
    assert "is required" not in problem.problem and "--acme-email" in problem.fix
    values["WANDB_ACME_EMAIL"] = ""
    [problem] = settings.validate(values)
    assert "is required" in problem.problem


@pytest.mark.parametrize(
    "url,said",
    [
        ("http://" + "a" * 100_000 + ":8333", "63"),
        ("http://" + ".".join(["abcdefgh"] * 30) + ":8333", "253"),
        ("http://files_lab.test:8333", "not a DNS name"),
        ("http://bücket.lab.test:8333", "punycode"),
    ],
)
def test_bucket_hosts_must_be_dns_names(url, said):
    [problem] = settings.validate(external(WANDB_BUCKET_PUBLIC_URL=url))
    assert problem.key == "WANDB_BUCKET_PUBLIC_URL" and said in problem.render()
    assert len(problem.render()) < 600  # a long host is not echoed whole


def test_a_unicode_bucket_host_is_shown_in_punycode():
    [problem] = settings.validate(external(WANDB_BUCKET_PUBLIC_URL="http://bücket.lab.test:8333"))
    assert "xn--bcket-kva.lab.test" in problem.fix


@pytest.mark.parametrize("host", ["bücket.lab.test", "a" * 64 + ".lab.test"])
def test_own_bucket_hosts_must_be_dns_names_and_the_secret_stays_out(host):
    values = external(WANDB_EXTERNAL_BUCKET_URL=f"s3://AKID:s3cr3t-value@{host}:9000/wandb")
    [problem] = settings.validate(values)
    assert problem.key == "WANDB_EXTERNAL_BUCKET_URL" and "DNS name" in problem.problem
    assert "s3cr3t-value" not in problem.render()


def test_wandb_host_labels_are_dns_sized():
    [problem] = settings.validate(external(WANDB_HOST="http://" + "a" * 64 + ".lab.test:8080"))
    assert problem.key == "WANDB_HOST" and "63" in problem.problem


@pytest.mark.parametrize("flag", ["project", "host", "bind", "image", "acme_email", "bucket_url"])
def test_an_empty_option_is_named_as_empty(flag):
    with pytest.raises(KitError) as err:
        settings.build_values({}, defaults(), {flag: ""})
    option = "--" + flag.replace("_", "-")
    assert f"an empty {option}" in err.value.problem and err.value.fix.startswith("give")


# --- trying the kit on the stand-in (init --standin) -------------------------------------------


def _init_values(tmp_path, *options):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_KIT_HOME=str(tmp_path), DOCKER_HOST="unix:///nonexistent/docker.sock")
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "init", *options],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return read_env(tmp_path / ".env")


def test_init_standin_chooses_the_standin_image_and_the_test_overlays(tmp_path):
    values = _init_values(tmp_path, "--standin")
    assert values["KIT_STANDIN"] == "true"
    assert values["WANDB_IMAGE"] == settings.STANDIN_IMAGE
    assert values["COMPOSE_FILE"] == "compose.yaml:test.yaml"
    assert values["WANDB_LICENSE"] == ""
    # init again without the flag (e.g. to add TLS) keeps the stand-in and its overlays
    values = _init_values(tmp_path, "--storage", "external")
    assert values["WANDB_IMAGE"] == settings.STANDIN_IMAGE
    assert values["COMPOSE_FILE"] == (
        "compose.yaml:test.yaml:external.yaml:test-images-external.yaml:test-external.yaml"
    )


def test_init_standin_enterprise_gives_the_standins_placeholder_license(tmp_path):
    values = _init_values(tmp_path, "--standin=enterprise")
    assert values["WANDB_LICENSE"] == settings.STANDIN_ENTERPRISE_LICENSE
    values = _init_values(tmp_path, "--standin")
    assert values["WANDB_LICENSE"] == "", "the free tier drops the placeholder license"


def test_init_standin_off_goes_back_to_the_real_image_without_overlays(tmp_path):
    _init_values(tmp_path, "--standin=enterprise")
    values = _init_values(tmp_path, "--standin=off")
    assert values["KIT_STANDIN"] == "false"
    assert values["WANDB_IMAGE"] == settings.example_values(COMPOSE_DIR)["WANDB_IMAGE"]
    assert "test" not in values["COMPOSE_FILE"] and values["WANDB_LICENSE"] == ""


@pytest.mark.parametrize(
    "host, bucket, sni",
    [
        ("https://wandb.lab.test", "https://wandb.lab.test:8333", "wandb.lab.test"),
        ("https://10.20.0.5:8443", "https://10.20.0.5:8333", "10.20.0.5"),
        ("https://localhost:8443", "https://172.17.0.1:9443", "172.17.0.1"),
        ("https://[fd00::5]:8443", "https://[fd00::5]:8333", "fd00::5"),
    ],
)
def test_caddys_default_name_is_the_address_clients_connect_by(host, bucket, sni):
    """Clients connecting by IP address send no TLS name: Caddy answers them with
    WANDB_TLS_DEFAULT_SNI (tests/integration/test_caddy_addresses.py shows the real Caddy
    failing the handshake without it)."""
    values = settings.derive(
        {**settings.example_values(COMPOSE_DIR), "WANDB_STORAGE": "external",
         "WANDB_TLS": "internal", "WANDB_HOST": host, "WANDB_BUCKET_PUBLIC_URL": bucket}
    )  # fmt: skip
    assert values["WANDB_TLS_DEFAULT_SNI"] == sni
