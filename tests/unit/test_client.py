"""`wandb-kit configure / env / login`: where the URL comes from, what is written where
(with the SDK's own readers checking it), and that keys are verified and never printed.
The server is tests/fakewandb.py's FakeWandb on loopback; no Docker."""

from __future__ import annotations

import argparse
import configparser
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from wandb_local_kit.commands.common import target
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.invocation import kit_command
from wandb_local_kit.core.redact import redact
from wandb_local_kit.server import client

from tests.fakewandb import ADMIN_KEY, GOOD_KEY, NEW_KEY, WRONG_KEY, Behaviour, FakeWandb
from tests.unit.test_health import clean_env, free_port, run_kit

# --- where the server is ---------------------------------------------------------------------


def test_url_precedence_flag_then_environment_then_env_file():
    env_file = {"WANDB_HOST": "http://from-env-file:8080"}
    environ = {"WANDB_BASE_URL": "http://from-environ:8080/"}
    assert client.resolve_url("http://flag:1/", environ, env_file) == ("http://flag:1", "--url")
    assert client.resolve_url(None, environ, env_file) == (
        "http://from-environ:8080",
        "WANDB_BASE_URL",
    )
    assert client.resolve_url(None, {}, env_file) == (
        "http://from-env-file:8080",
        ".env WANDB_HOST",
    )


def test_no_url_anywhere_names_every_source_and_the_fix():
    with pytest.raises(KitError) as err:
        client.resolve_url(None, {}, {})
    assert "--url" in err.value.problem and "WANDB_BASE_URL" in err.value.problem
    assert "wandb-kit init" in err.value.fix


@pytest.mark.parametrize(
    "bad", ["wandb.lab:8080", "ftp://x", "http://", "http://h:99999", "http://h:8080/?q=1"]
)
def test_bad_urls_are_refused_with_a_fix(bad):
    with pytest.raises(KitError) as err:
        client.normalize_url(bad)
    assert err.value.fix


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://bob:s3cret-pw@wandb.lab",  # not http(s)
        "http://bob:s3cret-pw@wandb.lab:99999",  # a bad port
        "http://s3cret-pw@wandb.lab/?x=1",  # a key as the user name, and a query
    ],
)
def test_a_refused_url_is_named_without_what_precedes_its_at(bad):
    with pytest.raises(KitError) as err:
        client.normalize_url(bad)
    assert "s3cret-pw" not in str(err.value) and "<redacted>@wandb.lab" in str(err.value)


def test_a_refused_long_url_is_cut_short_with_its_length():
    raw = "ftp://wandb.lab/" + "x" * 500
    with pytest.raises(KitError) as err:
        client.normalize_url(raw)
    assert len(str(err.value)) < 200 and f"({len(raw)} characters)" in str(err.value)


def test_redact_removes_given_secrets_and_anything_key_shaped():
    text = f"key {GOOD_KEY} and pw hunter2-long and {WRONG_KEY}"
    out = redact(text, extra=("hunter2-long",))
    assert GOOD_KEY not in out and WRONG_KEY not in out and "hunter2-long" not in out
    assert "local-<redacted>" in out


def test_kit_internal_ca_is_used_for_its_own_tls_stack(tmp_path):
    (tmp_path / "certs").mkdir()
    ca = tmp_path / "certs" / "wandb-root-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    values = {"WANDB_HOST": "https://wandb.lab:8443", "WANDB_TLS": "internal"}
    assert client.ca_bundle("https://wandb.lab:8443", values, ca, {}) == str(ca)
    assert client.ca_bundle("https://other:8443", values, ca, {}) is True
    assert client.ca_bundle("https://x", values, ca, {"REQUESTS_CA_BUNDLE": "/b"}) == "/b"


def _args(tmp_path, **kw):
    ns = argparse.Namespace(url=None, ca_file=None, compose_dir=tmp_path, env_file=None)
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


def test_admin_key_fallback_only_for_the_kits_own_stack_with_admin_api_on(tmp_path):
    (tmp_path / ".env").write_text(
        "WANDB_HOST='http://localhost:8080'\n"
        f"WANDB_ADMIN_API_KEY='{ADMIN_KEY}'\nWANDB_ADMIN_API_ENABLED='true'\n"
    )
    env = {"NETRC": str(tmp_path / "none")}
    own = target(_args(tmp_path), environ=env)
    assert client.find_key(own, env) == (ADMIN_KEY, ".env WANDB_ADMIN_API_KEY")
    other = target(_args(tmp_path, url="http://elsewhere:8080"), environ=env)
    assert client.find_key(other, env) == (None, "")
    env["WANDB_API_KEY"] = GOOD_KEY
    assert client.find_key(own, env) == (GOOD_KEY, "WANDB_API_KEY")


# --- configure / env -------------------------------------------------------------------------


def sdk_base_url(env: dict, cwd: Path) -> str:
    """base_url as the wandb SDK itself resolves it in a fresh process."""
    code = "import wandb; print('BASE', wandb.setup().settings.base_url)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True
    )
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("BASE ")]
    assert line, out.stderr
    return line[0].split(" ", 1)[1]


def test_configure_writes_global_base_url_where_the_sdk_reads_it(tmp_path):
    env = clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    result = run_kit("configure", "--url", "http://wandb.lab.test:8080/", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    settings = configparser.ConfigParser()
    settings.read(tmp_path / "cfg" / "settings")
    assert settings["default"]["base_url"] == "http://wandb.lab.test:8080"
    assert sdk_base_url(env, work) == "http://wandb.lab.test:8080"
    assert "does not answer" in result.stdout  # warned, but kept: the server may come later


def test_configure_local_writes_only_this_directory(tmp_path):
    env = clean_env(tmp_path)
    work = tmp_path / "proj"
    work.mkdir()
    result = run_kit("configure", "--local", "--url", "http://proj.lab:9000", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "wandb" / "settings").is_file()
    assert not (tmp_path / "cfg" / "settings").exists()
    assert sdk_base_url(env, work) == "http://proj.lab:9000"
    assert sdk_base_url(env, tmp_path) != "http://proj.lab:9000"  # other dirs: SDK default


def test_configure_takes_the_url_from_the_env_file(tmp_path):
    (tmp_path / ".env").write_text("WANDB_HOST='http://lab-server:8080'\n")
    env = clean_env(tmp_path)
    result = run_kit("configure", "--compose-dir", str(tmp_path), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from .env WANDB_HOST" in result.stdout
    assert sdk_base_url(env, tmp_path) == "http://lab-server:8080"


def test_env_prints_eval_lines_shell_quoted(tmp_path):
    env = clean_env(tmp_path, WANDB_BASE_URL="http://a.lab:8080")
    result = run_kit("env", env=env)
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["export WANDB_BASE_URL=http://a.lab:8080"]
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    result = run_kit("env", "--url", "https://b.lab", "--ca-file", str(ca), env=env)
    assert f"export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}" in result.stdout


def test_env_without_any_url_fails_clearly(tmp_path):
    result = run_kit("env", "--compose-dir", str(tmp_path), env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "no server URL" in result.stderr and "Traceback" not in result.stderr


# --- login -------------------------------------------------------------------------------------


def sdk_netrc_key(env: dict, url: str) -> str | None:
    code = (
        "from wandb.sdk.lib.wbauth import read_netrc_auth; "
        f"print('KEY', read_netrc_auth(host='{url}'))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return [ln for ln in out.stdout.splitlines() if ln.startswith("KEY ")][0].split(" ", 1)[1]


def test_login_with_a_good_key_stores_it_where_the_sdk_reads_it(tmp_path):
    with FakeWandb() as fake:
        env = clean_env(tmp_path)
        result = run_kit("login", "--url", fake.url, "--key", GOOD_KEY, env=env)
    assert result.returncode == 0, result.stderr
    assert "as ada" in result.stdout and "verified" in result.stdout
    netrc = tmp_path / ".netrc"
    assert f"machine localhost:{fake.port}" in netrc.read_text()
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    assert sdk_netrc_key(env, fake.url) == GOOD_KEY
    assert GOOD_KEY not in result.stdout + result.stderr


def test_login_with_a_wrong_key_fails_and_stores_nothing(tmp_path):
    with FakeWandb() as fake:
        result = run_kit("login", "--url", fake.url, "--key", WRONG_KEY, env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "rejected the API key (HTTP 401)" in result.stderr
    assert "nothing was stored" in result.stderr and "/authorize" in result.stderr
    assert not (tmp_path / ".netrc").exists()
    assert WRONG_KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_login_with_a_malformed_key_says_why(tmp_path):
    with FakeWandb() as fake:
        result = run_kit("login", "--url", fake.url, "--key", "short", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "not a W&B API key" in result.stderr and "40+ characters" in result.stderr
    assert not (tmp_path / ".netrc").exists()


def test_login_reads_the_key_from_wandb_api_key(tmp_path):
    with FakeWandb() as fake:
        result = run_kit(
            "login", "--url", fake.url, env=clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY)
        )
    assert result.returncode == 0, result.stderr
    assert "key from WANDB_API_KEY" in result.stdout


def test_login_without_a_key_prints_where_to_get_one(tmp_path):
    with FakeWandb() as fake:
        result = subprocess.run(
            [sys.executable, "-m", "wandb_local_kit", "login", "--url", fake.url],
            env=clean_env(tmp_path), capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"{fake.url}/signup" in result.stderr and f"{fake.url}/authorize" in result.stderr
    assert "--bootstrap" in result.stderr
    assert not (tmp_path / ".netrc").exists()


def test_login_to_an_unreachable_server_exits_3(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_kit("login", "--url", url, "--key", GOOD_KEY, env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "could not reach" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / ".netrc").exists()


# --- bootstrap ---------------------------------------------------------------------------------


def kit_env_file(tmp_path: Path, url: str, enabled: str = "true", key: str = ADMIN_KEY) -> Path:
    path = tmp_path / ".env"
    path.write_text(
        f"WANDB_HOST='{url}'\nWANDB_ADMIN_API_KEY='{key}'\nWANDB_ADMIN_API_ENABLED='{enabled}'\n"
    )
    return path


def test_bootstrap_creates_user_and_stores_a_working_personal_key(tmp_path):
    with FakeWandb() as fake:
        env_file = kit_env_file(tmp_path, fake.url)
        env = clean_env(tmp_path)
        result = run_kit(
            "login", "--bootstrap", "--env-file", str(env_file), "--email", "ada@lab.test", env=env
        )
        assert result.returncode == 0, result.stderr
        assert fake.b.users == ["ada@lab.test"]
        stored = sdk_netrc_key(env, fake.url)
        assert stored == NEW_KEY and stored != ADMIN_KEY  # a personal key, not the admin key
        # and it works on its own
        again = run_kit("health", "--url", fake.url, env=env)
        assert again.returncode == 0, again.stdout
    out = result.stdout + result.stderr
    assert "WANDB_ADMIN_API_ENABLED=false" in out  # how to turn the admin API off
    assert ADMIN_KEY not in out and NEW_KEY not in out


def test_bootstrap_refuses_when_the_admin_api_is_off(tmp_path):
    with FakeWandb() as fake:
        env_file = kit_env_file(tmp_path, fake.url, enabled="false")
        result = run_kit(
            "login", "--bootstrap", "--env-file", str(env_file), "--email", "a@b.c",
            env=clean_env(tmp_path),
        )  # fmt: skip
    assert result.returncode == 2
    assert "admin API is off" in result.stderr and "/signup" in result.stderr
    assert fake.b.users == []


def test_bootstrap_with_a_key_the_server_does_not_know(tmp_path):
    with FakeWandb() as fake:
        env_file = kit_env_file(tmp_path, fake.url, key=WRONG_KEY)
        result = run_kit(
            "login", "--bootstrap", "--env-file", str(env_file), "--email", "a@b.c",
            env=clean_env(tmp_path),
        )  # fmt: skip
    assert result.returncode == 2
    assert "rejects the admin API key" in result.stderr and f"{kit_command()} up" in result.stderr
    assert WRONG_KEY not in result.stderr
    assert not (tmp_path / ".netrc").exists()


def test_bootstrap_when_the_key_is_not_admin(tmp_path):
    with FakeWandb(Behaviour()) as fake:
        env_file = kit_env_file(tmp_path, fake.url, key=GOOD_KEY)  # a plain user's key
        result = run_kit(
            "login", "--bootstrap", "--env-file", str(env_file), "--email", "a@b.c",
            env=clean_env(tmp_path),
        )  # fmt: skip
    assert result.returncode == 2
    assert "no admin rights" in result.stderr
    assert "GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS" in result.stderr


def test_bootstrap_needs_an_email(tmp_path):
    with FakeWandb() as fake:
        env_file = kit_env_file(tmp_path, fake.url)
        result = run_kit(
            "login", "--bootstrap", "--env-file", str(env_file), env=clean_env(tmp_path)
        )
    assert result.returncode == 2
    assert "--email" in result.stderr


def test_no_command_output_contains_a_key(tmp_path):
    """Every command, success or failure, with all the keys it knows: none is printed."""
    with FakeWandb() as fake:
        env_file = kit_env_file(tmp_path, fake.url)
        env = clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY)
        outs = [
            run_kit("login", "--env-file", str(env_file), env=env),
            run_kit("login", "--env-file", str(env_file), "--key", WRONG_KEY, env=env),
            run_kit("health", "--env-file", str(env_file), "--deep", "--json", env=env),
            run_kit("doctor", "--env-file", str(env_file), env=env),
            run_kit("doctor", "--env-file", str(env_file), "--json", env=env),
            run_kit("env", "--env-file", str(env_file), env=env),
        ]
    for r in outs:
        text = r.stdout + r.stderr
        for secret in (GOOD_KEY, WRONG_KEY, ADMIN_KEY, NEW_KEY):
            assert secret not in text, r.args
        assert "Traceback" not in text


def test_settings_file_write_error_is_a_clear_message(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.write_text("not a directory")  # the settings directory cannot be created
    env = clean_env(tmp_path)
    env["WANDB_CONFIG_DIR"] = str(cfg)
    result = run_kit("configure", "--url", "http://x.lab:8080", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "settings" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(autouse=True)
def _no_user_state(monkeypatch, tmp_path):
    # in-process calls must not touch the real home
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    for k in list(os.environ):
        if k.startswith("WANDB_"):
            monkeypatch.delenv(k)


# --- configure's next step ---------------------------------------------------------------------


def test_configure_with_a_verified_key_stored_names_smoke_not_login(tmp_path):
    with FakeWandb() as fake:
        env = clean_env(tmp_path)
        assert run_kit("login", "--url", fake.url, "--key", GOOD_KEY, env=env).returncode == 0
        result = run_kit("configure", "--url", fake.url, env=env)
    assert result.returncode == 0, result.stderr
    assert "next: wandb-kit login" not in result.stdout
    assert "key" in result.stdout and "stored" in result.stdout and "verified" in result.stdout
    assert f"next: `{kit_command()} smoke`" in result.stdout
    assert GOOD_KEY not in result.stdout + result.stderr


def test_configure_without_a_good_stored_key_still_names_login(tmp_path):
    with FakeWandb() as fake:
        env = clean_env(tmp_path)
        fresh = run_kit("configure", "--url", fake.url, env=env)
        (tmp_path / ".netrc").write_text(
            f"machine localhost:{fake.port} login user password {WRONG_KEY}\n"
        )
        (tmp_path / ".netrc").chmod(0o600)
        rejected = run_kit("configure", "--url", fake.url, env=env)
    assert f"next: `{kit_command()} login`" in fresh.stdout, fresh.stdout
    assert "rejected" in rejected.stdout and f"`{kit_command()} login`" in rejected.stdout
    assert WRONG_KEY not in rejected.stdout + rejected.stderr
