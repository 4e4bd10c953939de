"""Generated bad input: hypothesis drives `init`'s options and the
`.env` values every command reads, and for each input asserts what test_bad_input.py
asserts for its hand-picked cases: no traceback (exit 70 is a bug), a documented exit
code, no secret in the output, and no file changed when the command refused.

A fixed budget: HYPOTHESIS_MAX_EXAMPLES examples per property (default 40; CI sets it),
no example database (each run starts clean), the seed printed on failure.
In-process (cli.main) for speed; the Docker engine is one that does not exist.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wandb_local_kit import cli
from wandb_local_kit.core.envfile import quote, render
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack import settings as kit_settings

BUDGET = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
DOCUMENTED = {0, 1, 2, 3}  # core/errors.py; 70 would be an unexpected error, a bug
COMPOSE_DIR = kit_settings.default_compose_dir()
PASSWORD = "pw-Gen3rated-n0t-t0-be-printed"
SECRET_VALUES = {
    "MYSQL_PASSWORD": "mysql-Gen3rated-s3cret-value",
    "MYSQL_ROOT_PASSWORD": "root-Gen3rated-s3cret-value",
}


@pytest.fixture(autouse=True)
def _no_engine_and_a_private_home(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("WANDB_", "DOCKER_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


def _run(argv: list[str], home: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = dict(os.environ)
    os.environ.update(HOME=str(home), WANDB_KIT_HOME=str(home), WANDB_KIT_CRASH_DIR=str(home))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:  # argparse refusing an option
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue() + err.getvalue()


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock") and "crash" not in p.name
    }


def _assert_well_behaved(code: int, out: str, secrets: list[str]) -> None:
    assert code in DOCUMENTED, f"exit {code}:\n{out[-2000:]}"
    assert "Traceback" not in out, out[-2000:]
    for secret in secrets:
        assert secret not in out, f"a secret was printed:\n{out[-2000:]}"


# --- init's options -------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=30,
)
_hostish = st.one_of(
    _text,
    st.builds(
        lambda scheme, cred, host, port, tail: f"{scheme}{cred}{host}{port}{tail}",
        st.sampled_from(["http://", "https://", "ftp://", "", "http:/"]),
        st.sampled_from(["", f"bob:{PASSWORD}@", "bob@", f":{PASSWORD}@"]),
        st.sampled_from(["wandb.lab", "0.0.0.0", "[::]", "wandb lab", "10.0.0.5", "", "a_b"]),
        st.sampled_from(["", ":8080", ":0", ":70000", ":abc", ":"]),
        st.sampled_from(["", "/", "/wandb", "?x=1", "#f"]),
    ),
)
_url_with_password = st.builds(
    lambda scheme, host, tail: f"{scheme}user:{PASSWORD}@{host}{tail}",
    st.sampled_from(["mysql://", "s3://", "http://", ""]),
    st.sampled_from(["db.lab:3306", "s3.lab:9000", "", "db.lab:x"]),
    st.sampled_from(["/wandb", "/b?tls=maybe", "/b?tls=true&region=x", "", "/a/b"]),
)
_init_options = st.fixed_dictionaries(
    {},
    optional={
        "--host": _hostish,
        "--bind": st.one_of(_text, st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "999.1.1.1"])),
        "--project": st.one_of(_text, st.sampled_from(["wandb-lab", "My Project", "-x", "a"])),
        "--storage": st.sampled_from(["embedded", "external", "cloud", ""]),
        "--tls": st.sampled_from(["off", "internal", "files", "acme", "maybe"]),
        "--acme-email": st.one_of(_text, st.just("ops@lab.example")),
        "--external-mysql-url": _url_with_password,
        "--external-bucket-url": _url_with_password,
        "--image": st.one_of(_text, st.sampled_from(["wandb/local:0.70.0", "wandb/local"])),
        "--bucket-url": st.one_of(_text, st.just("http://s3.lab:8333")),
    },
)


@BUDGET
@given(options=_init_options, existing=st.booleans())
def test_init_with_generated_options(options, existing):
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env_file = home / ".env"
        if existing:
            assert _run(["init", "--env-file", str(env_file)], home)[0] == 0
        before = _files(home)
        argv = ["init", "--env-file", str(env_file)]
        for option, value in options.items():
            argv += [f"{option}={value}"]  # `=`: a value may start with '-'
        code, out = _run(argv, home)
        _assert_well_behaved(code, out, [PASSWORD])
        if code != 0:
            assert _files(home) == before, "a refused init changed files"


# --- .env values, through the commands that read them ------------------------------------------

_KEYS = [
    "WANDB_HOST", "WANDB_PORT", "WANDB_BIND", "WANDB_TLS", "WANDB_STORAGE",
    "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "WANDB_MEMORY", "WANDB_CPUS", "WANDB_IMAGE",
    "WANDB_ADMIN_API_KEY", "WANDB_BUCKET_PUBLIC_URL", "WANDB_EXTERNAL_MYSQL_URL",
    "WANDB_ACME_EMAIL", "WANDB_HTTPS_PORT",
]  # fmt: skip
_value = st.one_of(
    _text,
    st.sampled_from(["", "0", "-1", "65536", "8080", "off", "external", "'unclosed", '"x"']),
    _url_with_password,
)


def _quoted(key: str, value: str) -> str:
    try:
        return quote(key, value)
    except KitError:  # a value the kit itself cannot write: the person typed it raw
        return value


@BUDGET
@given(
    changes=st.dictionaries(st.sampled_from(_KEYS), _value, max_size=4),
    command=st.sampled_from([["preflight"], ["status"], ["env"], ["backup"], ["init"], ["up"]]),
)
def test_commands_with_generated_env_values(changes, command):
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env_file = home / ".env"
        values = kit_settings.build_values(
            {}, kit_settings.example_values(COMPOSE_DIR), {"host": "http://wandb.lab.test:8080"}
        )
        values.update(SECRET_VALUES)
        text = render((COMPOSE_DIR / ".env.example").read_text(), values)
        # Raw lines as a person would type them (quoting included or not).
        extra = "".join(
            f"{key}={_quoted(key, value) if i % 2 else value}\n"
            for i, (key, value) in enumerate(changes.items())
            if "\n" not in value and "\r" not in value
        )
        env_file.write_text(text + extra)
        env_file.chmod(0o600)
        before = _files(home)
        code, out = _run([*command, "--env-file", str(env_file)], home)
        secrets = [*SECRET_VALUES.values(), values["WANDB_ADMIN_API_KEY"], PASSWORD]
        _assert_well_behaved(code, out, secrets)
        if code != 0 and command != ["backup"]:
            assert _files(home) == before, f"a refused {command[0]} changed files"
