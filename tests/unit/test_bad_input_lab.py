"""Bad input found trying the kit on a shared lab host: paths and output files,
durations, compose folders, settings homes and what `init` used to accept. Same harness
as test_bad_input.py: each case asserts the exit code, a message naming the problem and
the fix, no traceback, no secret and no file changed."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakewandb import GOOD_KEY
from tests.require import unavailable
from tests.unit.test_bad_input import (  # noqa: F401 - server is a fixture
    NO_ENGINE,
    VOL,
    C,
    _backup_dir,
    _good_manifest,
    server,
)
from tests.unit.test_bad_input import test_bad_input as run_case


def _other_project(files):
    return {**_good_manifest(files), "project": "lab-b"}


def _mkdir(name):
    return lambda tmp: (tmp / name).mkdir()


def _fifo(name):
    return lambda tmp: os.mkfifo(tmp / name)


def _full_device(name):
    """A node of /dev/full (character device 1,7): every write to it fails with ENOSPC."""
    return lambda tmp: os.mknod(tmp / name, stat.S_IFCHR | 0o600, os.makedev(1, 7))


def _file(name, data: bytes):
    return lambda tmp: (tmp / name).write_bytes(data)


LAB_WITH_SA = b"""\
users:
  - email: ana@lab.org
teams:
  - name: vision
    members:
      - user: ana@lab.org
service_accounts:
  - name: ci-vision
    team: vision
"""


def _lab_and_keys_file(tmp):
    (tmp / "lab.yaml").write_bytes(LAB_WITH_SA)
    (tmp / "keys").write_text("a file where the keys folder is meant\n")


def _cert_dir_with_a_pipe(tmp):
    (tmp / "certs").mkdir()
    (tmp / "certs" / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    os.mkfifo(tmp / "certs" / "cert.pem")


def _deep_jwt(depth: int) -> str:
    body = base64.urlsafe_b64encode(b"[" * depth + b"]" * depth).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"


EXTERNAL = {  # external storage: what `export operator` needs
    "WANDB_STORAGE": "external",
    "WANDB_LICENSE": "lic-123",
    "MYSQL_URL": "mysql://lab:pw-lab-secret@db.lab.example:3306/wandb",
    "BUCKET_URL": "s3://AKLAB:sk-lab-secret@s3.lab.example:9000/wandb",
    "WANDB_IMAGE": "wandb/local:0.83.0",
}


CASES = [
    # --- output files are checked before the work starts -----------------------------------
    C(
        "smoke-html-into-a-missing-folder",
        "smoke", "--url", "{server}", "--html", "{tmp}/reports/smoke.html",
        problem="the folder {tmp}/reports does not exist", fix="mkdir -p",
    ),
    C(
        "smoke-json-at-a-folder",
        "smoke", "--url", "{server}", "--json", "{tmp}",
        problem="is a folder", fix="give a file name inside it",
    ),
    C(
        "smoke-junit-into-a-missing-folder",
        "smoke", "--url", "{server}", "--junit", "{tmp}/ci/junit.xml",
        problem="does not exist", fix="mkdir -p",
    ),
    C(
        "smoke-html-under-a-file",
        "smoke", "--url", "{server}", "--html", "{tmp}/.env/report.html",
        problem="is not a folder", fix="choose another path",
    ),
    C(
        "bench-json-into-a-missing-folder",
        "bench", "--url", "{server}", "--json", "{tmp}/out/bench.json",
        problem="does not exist", fix="mkdir -p",
    ),
    C(
        "bench-html-at-a-folder",
        "bench", "--url", "{server}", "--html", "{tmp}",
        problem="is a folder", fix="give a file name inside it",
    ),
    C(
        "support-bundle-into-a-missing-folder",
        "support-bundle", "--output", "{tmp}/issues/bundle.tar.gz",
        problem="does not exist", fix="mkdir -p",
    ),
    C(
        "support-bundle-at-a-folder",
        "support-bundle", "--output", "{tmp}/here", prepare=_mkdir("here"),
        problem="is a folder", fix="give a file name inside it",
    ),
    # --- durations ----------------------------------------------------------------------------
    C(
        "health-negative-timeout",
        "health", "--url", "{server}", "--timeout", "-5",
        problem="not a positive number of seconds", fix="give e.g. 10",
    ),
    C(
        "health-nan-timeout",
        "health", "--url", "{server}", "--timeout", "nan",
        problem="not a positive number of seconds", fix="give e.g. 10",
    ),
    C(
        "doctor-zero-timeout",
        "doctor", "--url", "{server}", "--timeout", "0",
        problem="not a positive number of seconds", fix="give e.g. 10",
    ),
    # --- the compose folder -------------------------------------------------------------------
    C(
        "status-missing-compose-dir",
        "status", "--compose-dir", "{tmp}/compose",
        problem="compose folder {tmp}/compose does not exist", fix="compose.yaml",
    ),
    C(
        "preflight-compose-dir-is-a-file",
        "preflight", "--compose-dir", "{tmp}/.env",
        problem="is not a folder", fix="--compose-dir",
    ),
    C(
        "up-empty-compose-dir",
        "up", "--compose-dir", "{tmp}/empty", prepare=_mkdir("empty"),
        problem="has no compose.yaml", fix="--compose-dir",
    ),
    # --- restore: another deployment's backup ---------------------------------------------------
    C(
        "restore-another-projects-backup",
        "restore", "{tmp}/backups/lab-b-20260101T000000Z", "--force",
        prepare=lambda t: _backup_dir(t, _other_project(VOL), VOL, "lab-b-20260101T000000Z"),
        problem="backup of another deployment, project 'lab-b'", fix="--from-project lab-b",
    ),
    C(
        "restore-another-projects-backup-says-what-happens-to-keys",
        "restore", "{tmp}/backups/lab-b-20260101T000000Z",
        prepare=lambda t: _backup_dir(t, _other_project(VOL), VOL, "lab-b-20260101T000000Z"),
        problem="keys issued by this server stop working", fix="its own .env",
    ),
    C(
        "restore-names-the-wrong-other-project",
        "restore", "{tmp}/backups/lab-b-20260101T000000Z", "--from-project", "lab-c",
        prepare=lambda t: _backup_dir(t, _other_project(VOL), VOL, "lab-b-20260101T000000Z"),
        problem="project 'lab-b'", fix="--from-project lab-b",
    ),
    C(
        "restore-own-backup-with-a-from-project",
        "restore", "{tmp}/backups/wandb-20260101T000000Z", "--from-project", "lab-b",
        prepare=lambda t: _backup_dir(t, _good_manifest(VOL), VOL),
        problem="does not match", fix="leave --from-project out",
    ),
    C(
        # Named explicitly, the restore goes ahead: here as far as the engine it needs.
        "restore-another-projects-backup-when-named",
        "restore", "{tmp}/backups/lab-b-20260101T000000Z", "--from-project", "lab-b",
        prepare=lambda t: _backup_dir(t, _other_project(VOL), VOL, "lab-b-20260101T000000Z"),
        env=NO_ENGINE, problem="Docker engine is not reachable", fix="DOCKER_HOST",
    ),
    # --- init: what it used to accept and fail on later, or ignore --------------------------
    C(
        "init-host-all-interfaces",
        "init", "--host", "http://0.0.0.0:8080", no_env_file=True,
        problem="an address to listen on", fix="--bind 0.0.0.0",
    ),
    C(
        "init-host-ipv6-all-interfaces",
        "init", "--host", "http://[::]:8080", no_env_file=True,
        problem="an address to listen on", fix="as clients see it",
    ),
    C(
        "init-host-with-a-space",
        "init", "--host", "http://wandb lab:8080", no_env_file=True,
        problem="'wandb lab' is not a host name", fix="name or address clients reach",
    ),
    C(
        "init-host-underscore-label",
        "init", "--host", "http://wandb_lab.example:8080", no_env_file=True,
        problem="is not a host name", fix="name or address clients reach",
    ),
    C(
        "init-host-with-credentials",
        "init", "--host", "http://bob:hunter2-lab-secret@wandb.lab:8080", no_env_file=True,
        problem="user name or password", fix="scheme://host[:port] only",
    ),
    C(
        "init-project-name-with-space",
        "init", "--project", "My Project", no_env_file=True,
        problem="is not a name docker compose accepts", fix="lower-case letters",
    ),
    C(
        "env-project-name-upper-case",
        "preflight", values={"COMPOSE_PROJECT_NAME": "WandB"},
        problem="COMPOSE_PROJECT_NAME", fix="lower-case letters",
    ),
    C(
        "init-external-mysql-without-external-storage",
        "init", "--external-mysql-url", "mysql://wandb:pw-lab-secret@db.lab:3306/wandb",
        no_env_file=True,
        problem="would be ignored", fix="--storage external",
    ),
    C(
        "init-external-bucket-without-external-storage",
        "init", "--external-bucket-url", "s3://AKLAB:sk-lab-secret@s3.lab:9000/wandb",
        no_env_file=True,
        problem="would be ignored", fix="--storage external",
    ),
    C(
        "init-mysql-url-from-empty-stdin",
        "init", "--storage", "external", "--external-mysql-url", "-", no_env_file=True,
        problem="read nothing from standard input", fix="pipe the URL in",
    ),
    C(
        "init-bucket-url-from-empty-stdin",
        "init", "--storage", "external", "--external-bucket-url", "-", no_env_file=True,
        problem="--external-bucket-url - read nothing", fix="pipe the URL in",
    ),
    C(
        "init-bucket-tls-maybe",
        "init", "--storage", "external",
        "--external-bucket-url", "s3://AKLAB:sk-lab-secret@s3.lab:9000/wandb?tls=maybe",
        no_env_file=True,
        problem="tls= other than true or false", fix="tls=true",
    ),
    C(
        "init-acme-without-email-names-the-option",
        "init", "--tls", "acme", "--host", "https://wandb.lab.example", no_env_file=True,
        problem="WANDB_ACME_EMAIL", fix="--acme-email",
    ),
    C(
        "init-empty-compose-dir",
        "init", "--compose-dir", "{tmp}/empty", prepare=_mkdir("empty"), no_env_file=True,
        problem="has no compose.yaml", fix="the kit's own",
    ),
    # --- files the OS makes odd: devices, pipes, links, deep or non-UTF-8 documents ---
    C(
        "people-plan-lab-file-is-a-named-pipe",
        "people", "plan", "{tmp}/lab.yaml", prepare=_fifo("lab.yaml"),
        problem="is a named pipe", fix="regular file",
    ),
    C(
        "people-plan-lab-file-not-utf8",
        "people", "plan", "{tmp}/lab.yaml",
        prepare=_file("lab.yaml", b"users:\n  - email: jos\xe9@lab.org\n"),
        problem="is not UTF-8 text (line 2", fix="iconv",
    ),
    C(
        "people-plan-lab-file-30000-deep",
        "people", "plan", "{tmp}/lab.yaml",
        prepare=_file("lab.yaml", b"users: " + b"[" * 30000 + b"]" * 30000 + b"\n"),
        problem="more than 64 levels deep", fix="flatten it",
    ),
    C(
        "people-show-output-at-a-folder",
        "people", "show", "-o", "{tmp}/here", prepare=_mkdir("here"),
        env={"WANDB_API_KEY": GOOD_KEY},
        problem="is a folder", fix="give a file name inside it",
    ),
    C(
        "people-show-output-a-full-device",
        "people", "show", "-o", "{tmp}/full", prepare=_full_device("full"),
        env={"WANDB_API_KEY": GOOD_KEY},
        problem="is a character device", fix="give a file",
    ),
    C(
        "people-apply-keys-dir-is-a-file",
        "people", "apply", "{tmp}/lab.yaml", "--keys-dir", "{tmp}/keys",
        prepare=_lab_and_keys_file, env={"WANDB_API_KEY": GOOD_KEY},
        problem="is not a folder (it is a file)", fix="give the path of a folder",
    ),
    C(
        "doctor-license-nested-5000-deep",
        "doctor", "--url", "{server}", "--no-deep", values={"WANDB_LICENSE": _deep_jwt(5000)},
        env={**NO_ENGINE, "WANDB_API_KEY": GOOD_KEY},
        code=1, problem="more than 64 levels deep", fix="WANDB_LICENSE",
    ),
    C(
        "health-timeout-1e308",
        "health", "--url", "{server}", "--timeout", "1e308",
        problem="at most 3600", fix="give e.g. 10",
    ),
    C(
        "health-url-100000-characters",
        "health", "--url", "http://" + "a" * 100_000,
        problem="(100007 characters)", fix="give the URL clients use",
    ),
    C(
        # Succeeds: the files land in cfg/, which the harness's snapshot leaves out.
        "export-operator-v-prefixed-chart-version",
        "export", "operator", "--url", "http://127.0.0.1:9", "--output", "{tmp}/cfg/op",
        "--chart-version", "v2.0.0-beta.3", values=EXTERNAL,
        code=0, problem="--version 2.0.0-beta.3 -n wandb", fix="helm upgrade --install",
    ),
    C(
        "export-operator-tls-cert-is-a-named-pipe",
        "export", "operator", "--url", "http://127.0.0.1:9", "--output", "{tmp}/cfg/op",
        "--tls-cert-dir", "{tmp}/certs", prepare=_cert_dir_with_a_pipe, values=EXTERNAL,
        problem="is a named pipe", fix="regular file",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_path_input(case, tmp_path, server):  # noqa: F811 - the imported fixture
    if "{tmp}" in case.problem:
        from dataclasses import replace

        case = replace(case, problem=case.problem.format(tmp=tmp_path))
    made: dict[str, int] = {}
    if case.prepare:
        from dataclasses import replace

        prepare = case.prepare

        def prepare_and_note_kinds(tmp):
            prepare(tmp)
            made.update(_kinds(tmp))

        case = replace(case, prepare=prepare_and_note_kinds)
    run_case(case, tmp_path, server)
    # The snapshot compares regular files only: a pipe or a device node stays what it was.
    after = _kinds(tmp_path)
    assert {p: after.get(p) for p in made} == made, "a node or link was replaced"


def _kinds(tmp: Path) -> dict[str, int]:
    return {str(p.relative_to(tmp)): stat.S_IFMT(os.lstat(p).st_mode) for p in tmp.rglob("*")}


def _kit(*args, cwd, env=None, stdin=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "HOME": str(cwd), **(env or {})},
        input=stdin,
    )


def test_a_settings_home_that_is_a_file_is_named_not_a_traceback(tmp_path):
    (tmp_path / "kit-home").write_text("not a folder\n")
    for command in ("init", "status", "up"):
        result = _kit(command, cwd=tmp_path, env={"WANDB_KIT_HOME": str(tmp_path / "kit-home")})
        out = result.stdout + result.stderr
        assert result.returncode == 2, out
        assert "Traceback" not in out
        assert f"{tmp_path / 'kit-home'} is a file" in out
        assert "WANDB_KIT_HOME" in out
        assert (tmp_path / "kit-home").read_text() == "not a folder\n"


def test_init_into_a_folder_this_user_cannot_write_changes_nothing(tmp_path):
    # Root may write anywhere, except into an immutable folder: the nearest a test run as
    # root gets to "a folder I cannot write" (the non-root journey covers a real account).
    locked = tmp_path / "readonly"
    locked.mkdir()
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        if os.geteuid() == 0:
            unavailable("chattr +i is not permitted on this filesystem")
        locked.chmod(0o555)
    try:
        result = _kit("init", "--env-file", "readonly/sub/.env", cwd=tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)
        locked.chmod(0o755)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out
    assert f"may not write {locked / 'sub' / '.env'}" in out
    assert "--env-file" in out
    assert list(locked.iterdir()) == []


def _fake_docker(bin_dir: Path, log: Path) -> None:
    """A `docker` that records where it ran and with what, and has no containers."""
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(
        f'#!/bin/sh\n{{ pwd; for a in "$@"; do echo "$a"; done; echo ---; }} >> {log}\nexit 0\n'
    )
    script.chmod(0o755)


def test_a_relative_env_file_is_the_one_compose_reads(tmp_path):
    """The kit validated `mine/.env` relative to the caller and compose read it relative
    to the compose folder: another stack's settings. Now compose gets the caller's file."""
    project = tmp_path / "project"
    (project / "mine").mkdir(parents=True)
    compose = tmp_path / "kit-compose"
    shutil.copytree(Path(__file__).resolve().parents[2] / "compose", compose)
    # A decoy where the old code would have pointed compose: the compose folder's mine/.env
    (compose / "mine").mkdir()
    (compose / "mine" / ".env").write_text("COMPOSE_PROJECT_NAME=someone-else\n")
    made = _kit("init", "--compose-dir", "../kit-compose", "--env-file", "mine/.env", cwd=project)
    assert made.returncode == 0, made.stderr
    assert (project / "mine" / ".env").is_file()

    log = tmp_path / "docker.log"
    _fake_docker(tmp_path / "bin", log)
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    result = _kit(
        "status", "--compose-dir", "../kit-compose", "--env-file", "mine/.env",
        cwd=project, env={"PATH": path},
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr
    calls = [c.strip().splitlines() for c in log.read_text().split("---") if c.strip()]
    assert calls, "status never ran docker compose"
    for call in calls:
        cwd, argv = Path(call[0]), call[1:]
        env_file = Path(argv[argv.index("--env-file") + 1])
        assert (cwd / env_file).resolve() == (project / "mine" / ".env").resolve()
        directory = Path(argv[argv.index("--project-directory") + 1])
        assert (cwd / directory).resolve() == compose.resolve()


@pytest.mark.parametrize(
    "host",
    [
        "http://bob:hunter2-lab-secret@wandb.lab:8080",
        "bob:hunter2-lab-secret@wandb.lab",  # no scheme (found by test_generated_input)
        "https://bob:hunter2-lab-secret@wandb.lab/path",
    ],
)
def test_credentials_in_the_host_are_refused_and_never_echoed(tmp_path, host):
    result = _kit("init", "--host", host, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "hunter2-lab-secret" not in out and "bob:" not in out
    assert not (tmp_path / ".env").exists() and not any(tmp_path.rglob(".env"))


def test_an_acme_email_given_to_init_is_the_one_caddy_gets(tmp_path):
    from wandb_local_kit.core.envfile import read_env
    from wandb_local_kit.stack import settings

    result = _kit(
        "init", "--env-file", "lab.env", "--tls", "acme", "--host", "https://wandb.lab.example",
        "--acme-email", "ops@lab.example", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    values = read_env(tmp_path / "lab.env")
    assert values["WANDB_ACME_EMAIL"] == "ops@lab.example"
    assert "tls.yaml" in values["COMPOSE_FILE"].split(":")
    # ... and compose hands that variable to Caddy, whose ACME site reads it.
    compose_dir = settings.default_compose_dir()
    assert "WANDB_ACME_EMAIL: ${WANDB_ACME_EMAIL" in (compose_dir / "tls.yaml").read_text()
    assert "{$WANDB_ACME_EMAIL}" in (compose_dir / "caddy" / "tls" / "acme.caddy").read_text()


def test_init_names_the_next_command_as_this_user_can_run_it(tmp_path):
    # A checkout with its .venv not activated: no `wandb-kit` on PATH.
    result = _kit("init", "--env-file", "lab.env", cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert f"next: {sys.executable} -m wandb_local_kit up" in result.stdout


# --- a lab admin's first hour with `people`: empty files, --admin-api where it cannot work ---

ANA_ONLY = b"users:\n  - email: ana@lab.org\n"

PEOPLE_CASES = [
    C(
        "people-plan-empty-lab-file",
        "people", "plan", "{tmp}/lab.yaml", prepare=_file("lab.yaml", b""),
        env={"WANDB_API_KEY": GOOD_KEY},
        problem="lists no users and no teams; nothing was changed", fix="--allow-empty",
    ),
    C(
        "people-apply-prune-comment-only-lab-file",
        "people", "apply", "{tmp}/lab.yaml", "--prune", "--yes",
        prepare=_file("lab.yaml", b"# the lab, to be filled in\n"),
        env={"WANDB_API_KEY": GOOD_KEY},
        problem="it would deactivate every user", fix="people show -o FILE",
    ),
    C(
        "people-plan-lab-file-with-empty-lists",
        "people", "plan", "{tmp}/lab.yaml",
        prepare=_file("lab.yaml", b"users: []\nteams: []\nservice_accounts: []\n"),
        env={"WANDB_API_KEY": GOOD_KEY},
        problem="lists no users and no teams", fix="--allow-empty",
    ),
    C(
        "people-plan-admin-api-for-another-server",
        "people", "plan", "{tmp}/lab.yaml", "--admin-api", "--url", "{server}",
        prepare=_file("lab.yaml", ANA_ONLY),
        problem="--admin-api works on the kit's own stack", fix="instead of --admin-api",
    ),
    C(
        "people-show-admin-api-stack-not-running-here",
        "people", "show", "--admin-api", env=NO_ENGINE,
        problem="the kit's stack does not run on this machine", fix="instead of --admin-api",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", PEOPLE_CASES, ids=[c.id for c in PEOPLE_CASES])
def test_people_first_hour_input(case, tmp_path, server):  # noqa: F811 - the imported fixture
    run_case(case, tmp_path, server)
