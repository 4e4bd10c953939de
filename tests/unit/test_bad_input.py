"""Bad input, tried as a new user would: every command, `.env` syntax and values, URLs,
ports, paths, backups, bundles, an unreachable Docker engine (DOCKER_HOST), an
unreachable server and wrong keys.

Each case asserts the documented exit code, a message that names the problem and
the fix, no traceback, no secret from `.env` or any key in the output, and `.env`
and data left exactly as they were. Runs without Docker: where a case needs the
engine, it is the engine that is missing (DOCKER_HOST names nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from wandb_local_kit.core.envfile import render
from wandb_local_kit.stack import settings

from tests.fakewandb import GOOD_KEY, WRONG_KEY, FakeWandb

COMPOSE_DIR = settings.default_compose_dir()
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
SECRET_LIKE = ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "WANDB_ADMIN_API_KEY")


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    problem: str  # a phrase naming what is wrong
    fix: str  # a phrase naming what to do
    values: dict[str, str] = field(default_factory=dict)  # settings changed in .env
    raw_env: str | None = None  # .env text as the user left it (replaces the file)
    env: dict[str, str] = field(default_factory=dict)  # the shell's environment
    prepare: Callable[[Path], None] | None = None  # files the case needs (tmp dir)
    no_env_file: bool = False


def C(id, *args, code=2, problem="", fix="", **kw):  # noqa: N802 - a table row
    return Case(id, tuple(args), code, problem, fix, **kw)


# The project of every .env these tests write, and of the backups they make as "this
# deployment's": not init's default (`wandb`), since a deployment under that name on this
# engine (another test's, or a person's) is rightly "someone else's" to up/restore/upgrade.
UNIT_PROJECT = f"kit-unit-{uuid.uuid4().hex[:10]}"


def _backup_dir(tmp: Path, manifest=None, files=None, name="wandb-20260101T000000Z"):
    root = tmp / "backups" / name
    root.mkdir(parents=True)
    for rel, data in (files or {}).items():
        (root / rel).write_bytes(data)
    if manifest is not None:
        (root / "manifest.json").write_text(
            manifest if isinstance(manifest, str) else json.dumps(manifest)
        )
    return root


def _good_manifest(files, storage="embedded"):
    import hashlib

    return {
        "storage": storage,
        "project": UNIT_PROJECT,
        "files": [
            {"path": k, "size": len(v), "sha256": hashlib.sha256(v).hexdigest()}
            for k, v in files.items()
        ],
    }


def _tar_without_manifest(tmp: Path):
    with tarfile.open(tmp / "bundle.tar", "w") as tar:
        (tmp / "x").write_text("x")
        tar.add(tmp / "x", arcname="x")


def _bad_checksum_bundle(tmp: Path):
    import io

    with tarfile.open(tmp / "bundle.tar", "w") as tar:
        for name, data in (
            ("layer.tar", b"abc"),
            (
                "wandb-kit-bundle.json",
                json.dumps({"images": ["x:1"], "members": {"layer.tar": "0" * 64}}).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


VOL = {"vol.tar": b"data"}
CASES = [
    # --- init: flags ---------------------------------------------------------------------
    C(
        "init-host-ftp",
        "init",
        "--host",
        "ftp://wandb.lab",
        problem="not an http(s) URL",
        fix="URL clients use",
        no_env_file=True,
    ),
    C(
        "init-host-port-0",
        "init",
        "--host",
        "http://wandb.lab:0",
        problem="port 0",
        fix="port from 1 to 65535",
        no_env_file=True,
    ),
    C(
        "init-host-port-70000",
        "init",
        "--host",
        "http://wandb.lab:70000",
        problem="no valid port",
        fix="port from 1 to 65535",
        no_env_file=True,
    ),
    C(
        "init-host-port-abc",
        "init",
        "--host",
        "http://wandb.lab:abc",
        problem="no valid port",
        fix="port from 1 to 65535",
        no_env_file=True,
    ),
    C(
        "init-host-path",
        "init",
        "--host",
        "http://wandb.lab:8080/wandb",
        problem="has a path",
        fix="scheme://host[:port] only",
        no_env_file=True,
    ),
    C(
        "init-host-query",
        "init",
        "--host",
        "http://wandb.lab:8080/?x=1",
        problem="query",
        fix="scheme://host[:port] only",
        no_env_file=True,
    ),
    C(
        "init-host-no-scheme",
        "init",
        "--host",
        "wandb.lab:8080",
        problem="not an http(s) URL",
        fix="URL clients use",
        no_env_file=True,
    ),
    C(
        "init-storage-choice",
        "init",
        "--storage",
        "cloud",
        problem="invalid choice",
        fix="choose from",
        no_env_file=True,
    ),
    C(
        "init-tls-choice",
        "init",
        "--tls",
        "yes",
        problem="invalid choice",
        fix="choose from",
        no_env_file=True,
    ),
    C(
        "init-bind-not-ip",
        "init",
        "--bind",
        "lab-server",
        problem="not an IP address",
        fix="0.0.0.0",
        no_env_file=True,
    ),
    C(
        "init-bind-bad-ip",
        "init",
        "--bind",
        "999.1.1.1",
        problem="not an IP address",
        fix="127.0.0.1",
        no_env_file=True,
    ),
    C(
        "init-bucket-localhost",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "http://localhost:9000",
        problem="inside the wandb container",
        fix="DNS name or LAN address",
        no_env_file=True,
    ),
    C(
        "init-bucket-ftp",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "ftp://h:9000",
        problem="not an http(s)://host:port URL",
        fix="LAN address",
        no_env_file=True,
    ),
    C(
        "init-bucket-path",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "http://h.lab:9000/bucket",
        problem="not an http(s)://host:port URL",
        fix="LAN address",
        no_env_file=True,
    ),
    C(
        "init-bucket-https-no-tls",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "https://h.lab:9000",
        problem="WANDB_TLS=off",
        fix="use http://",
        no_env_file=True,
    ),
    C(
        "init-bucket-http-with-tls",
        "init",
        "--storage",
        "external",
        "--tls",
        "internal",
        "--host",
        "https://h.lab",
        "--bucket-url",
        "http://h.lab:9000",
        problem="block",
        fix="use https://",
        no_env_file=True,
    ),
    C(
        "init-bucket-port-clash",
        "init",
        "--storage",
        "external",
        "--tls",
        "internal",
        "--host",
        "https://h.lab",
        "--bucket-url",
        "https://h.lab:443",
        problem="uses port 443",
        fix="its own port",
        no_env_file=True,
    ),
    C(
        "init-tls-http-host",
        "init",
        "--tls",
        "internal",
        "--host",
        "http://h.lab:8080",
        problem="WANDB_TLS=internal",
        fix="use https://",
        no_env_file=True,
    ),
    C(
        "init-acme-ip",
        "init",
        "--tls",
        "acme",
        "--host",
        "https://10.0.0.5",
        problem="public DNS name",
        fix="WANDB_TLS=internal",
        no_env_file=True,
    ),
    C(
        "init-acme-no-email",
        "init",
        "--tls",
        "acme",
        "--host",
        "https://wandb.example.org",
        problem="WANDB_ACME_EMAIL",
        fix="email address",
        no_env_file=True,
    ),
    C(
        "init-files-no-certs",
        "init",
        "--tls",
        "files",
        "--host",
        "https://h.lab",
        problem="lacks cert.pem",
        fix="cert.pem and key.pem",
        no_env_file=True,
    ),
    C(
        "init-image-latest",
        "init",
        "--image",
        "wandb/local:latest",
        problem="no pinned tag",
        fix="release tag",
        no_env_file=True,
    ),
    C(
        "init-image-untagged",
        "init",
        "--image",
        "wandb/local",
        problem="no pinned tag",
        fix="release tag",
        no_env_file=True,
    ),
    C(
        "init-env-file-dir",
        "init",
        problem="is a directory",
        fix="give the path of a file",
        prepare=lambda t: (t / ".env").mkdir(),
        no_env_file=True,
    ),
    C(
        "init-broken-env",
        "init",
        problem="opens a ' quote",
        fix="quotes closed",
        raw_env="WANDB_HOST='http://h:8080\nMYSQL_PASSWORD='{MYSQL_PASSWORD}'\n",
    ),
    # --- .env syntax, through the commands that read it -----------------------------------
    C(
        "env-quote-status",
        "status",
        problem="opens a ' quote",
        fix="quotes closed",
        raw_env="WANDB_HOST='http://h:8080\nWANDB_ADMIN_API_KEY='{WANDB_ADMIN_API_KEY}'\n",
    ),
    C(
        "env-quote-logs",
        "logs",
        problem="opens a ' quote",
        fix="quotes closed",
        raw_env="WANDB_HOST='http://h:8080\nWANDB_ADMIN_API_KEY='{WANDB_ADMIN_API_KEY}'\n",
    ),
    C(
        "env-quote-backup",
        "backup",
        problem="opens a ' quote",
        fix="quotes closed",
        raw_env="WANDB_HOST='http://h:8080\nWANDB_ADMIN_API_KEY='{WANDB_ADMIN_API_KEY}'\n",
    ),
    C(
        "env-dquote-preflight",
        "preflight",
        problem='opens a " quote',
        fix="quotes closed",
        raw_env='MYSQL_PASSWORD="{MYSQL_PASSWORD}\nWANDB_HOST=http://h:8080\n',
    ),
    C(
        "env-dquote-doctor",
        "doctor",
        "--no-deep",
        problem='opens a " quote',
        fix="quotes closed",
        raw_env='WANDB_HOST="http://h:8080\nX=1\n',
    ),
    C(
        "env-no-equals-preflight",
        "preflight",
        problem="not KEY=value",
        fix="one KEY=value",
        raw_env="WANDB_HOST=http://h:8080\nthis line is prose\n",
    ),
    C(
        "env-no-equals-up",
        "up",
        problem="not KEY=value",
        fix="one KEY=value",
        raw_env="WANDB_HOST=http://h:8080\nWANDB_PORT 8080\n",
    ),
    C(
        "env-duplicate-preflight",
        "preflight",
        problem="set twice",
        fix="each key once",
        raw_env="WANDB_PORT=8080\nWANDB_HOST=http://h:8080\nWANDB_PORT=9090\n",
    ),
    C(
        "env-duplicate-down",
        "down",
        problem="set twice",
        fix="each key once",
        raw_env="WANDB_HOST=http://h:8080\nWANDB_HOST=http://h:9090\n",
    ),
    C(
        "env-bad-key",
        "status",
        problem="not a setting name",
        fix="one KEY=value",
        raw_env="1WANDB_HOST=http://h:8080\n",
    ),
    C(
        "env-not-utf8-status",
        "status",
        problem="not UTF-8",
        fix="save",
        raw_env="WANDB_HOST=http://h:8080\nWANDB_LICENSE=\udcff\udcfe\n",
    ),
    C(
        "env-not-utf8-health",
        "health",
        problem="not UTF-8",
        fix="UTF-8",
        raw_env="WANDB_HOST=http://h:8080\nX=\udce9\n",
    ),
    C(
        "env-missing-status",
        "status",
        problem="does not exist",
        fix="wandb-kit init",
        no_env_file=True,
    ),
    C("env-missing-up", "up", problem="does not exist", fix="wandb-kit init", no_env_file=True),
    C(
        "env-missing-backup",
        "backup",
        problem="does not exist",
        fix="wandb-kit init",
        no_env_file=True,
    ),
    C("env-missing-env", "env", problem="no server URL", fix="wandb-kit init", no_env_file=True),
    C(
        "env-dir-status",
        "status",
        problem="is a directory",
        fix="give the path of a file",
        prepare=lambda t: (t / ".env").mkdir(),
        no_env_file=True,
    ),
    # --- .env values, named by preflight (exit 2: a check failed) --------------------------
    C(
        "val-host",
        "preflight",
        problem="not an http(s) URL",
        fix="URL clients use",
        values={"WANDB_HOST": "wandb.lab"},
        env=NO_ENGINE,
    ),
    C(
        "val-host-port-abc",
        "preflight",
        problem="no valid port",
        fix="1 to 65535",
        values={"WANDB_HOST": "http://h.lab:abc"},
        env=NO_ENGINE,
    ),
    C(
        "val-host-port-big",
        "preflight",
        problem="no valid port",
        fix="1 to 65535",
        values={"WANDB_HOST": "http://h.lab:70000"},
        env=NO_ENGINE,
    ),
    C(
        "val-port-abc",
        "preflight",
        problem="not a port number",
        fix="1-65535",
        values={"WANDB_PORT": "abc"},
        env=NO_ENGINE,
    ),
    C(
        "val-port-0",
        "preflight",
        problem="not a port number",
        fix="1-65535",
        values={"WANDB_PORT": "0"},
        env=NO_ENGINE,
    ),
    C(
        "val-port-big",
        "preflight",
        problem="not a port number",
        fix="1-65535",
        values={"WANDB_PORT": "70000"},
        env=NO_ENGINE,
    ),
    C(
        "val-https-port",
        "preflight",
        problem="not a port number",
        fix="1-65535",
        values={"WANDB_HTTPS_PORT": "-1"},
        env=NO_ENGINE,
    ),
    C(
        "val-bind",
        "preflight",
        problem="not an IP address",
        fix="0.0.0.0",
        values={"WANDB_BIND": "everywhere"},
        env=NO_ENGINE,
    ),
    C(
        "val-image-latest",
        "preflight",
        problem="no pinned tag",
        fix="never latest",
        values={"WANDB_IMAGE": "wandb/local:latest"},
        env=NO_ENGINE,
    ),
    C(
        "val-caddy-image",
        "preflight",
        problem="no pinned tag",
        fix="release tag",
        values={"CADDY_IMAGE": "caddy"},
        env=NO_ENGINE,
    ),
    C(
        "val-admin-key",
        "preflight",
        problem="not an on-prem API key",
        fix="wandb-kit init",
        values={"WANDB_ADMIN_API_KEY": "short"},
        env=NO_ENGINE,
    ),
    C(
        "val-admin-enabled",
        "preflight",
        problem="true or false",
        fix="set true or false",
        values={"WANDB_ADMIN_API_ENABLED": "yes"},
        env=NO_ENGINE,
    ),
    C(
        "val-memory",
        "preflight",
        problem="not a size",
        fix="8g",
        values={"WANDB_MEMORY": "lots"},
        env=NO_ENGINE,
    ),
    C(
        "val-cpus-zero",
        "preflight",
        problem="not a CPU count",
        fix="4 or 2.5",
        values={"WANDB_CPUS": "0"},
        env=NO_ENGINE,
    ),
    C(
        "val-cpus-abc",
        "preflight",
        problem="not a CPU count",
        fix="4 or 2.5",
        values={"WANDB_CPUS": "four"},
        env=NO_ENGINE,
    ),
    C(
        "val-cpus-too-many",
        "preflight",
        problem="Docker refuses to start it",
        fix="WANDB_CPUS=",
        values={"WANDB_CPUS": "512"},
        env=NO_ENGINE,
    ),
    C(
        "val-storage",
        "preflight",
        problem="not a storage choice",
        fix="embedded",
        values={"WANDB_STORAGE": "cloud"},
        env=NO_ENGINE,
    ),
    C(
        "val-tls",
        "preflight",
        problem="not a TLS choice",
        fix="internal",
        values={"WANDB_TLS": "maybe"},
        env=NO_ENGINE,
    ),
    C(
        "val-mysql-name",
        "preflight",
        problem="not a plain MySQL name",
        fix="letters, digits",
        values={"WANDB_STORAGE": "external", "MYSQL_DATABASE": "wandb-db"},
        env=NO_ENGINE,
    ),
    C(
        "val-mysql-password",
        "preflight",
        problem="is empty",
        fix="wandb-kit init",
        values={"WANDB_STORAGE": "external", "MYSQL_PASSWORD": ""},
        env=NO_ENGINE,
    ),
    C(
        "val-bucket-name",
        "preflight",
        problem="not a valid S3 bucket name",
        fix="lowercase",
        values={"WANDB_STORAGE": "external", "WANDB_BUCKET_NAME": "My_Bucket"},
        env=NO_ENGINE,
    ),
    C(
        "val-bucket-localhost",
        "preflight",
        problem="inside the wandb container",
        fix="LAN address",
        values={"WANDB_STORAGE": "external", "WANDB_BUCKET_PUBLIC_URL": "http://127.0.0.1:9000"},
        env=NO_ENGINE,
    ),
    C(
        "val-acme-ca-http",
        "preflight",
        problem="not an https:// ACME directory",
        fix="letsencrypt",
        values={
            "WANDB_TLS": "acme",
            "WANDB_HOST": "https://wandb.example.org",
            "WANDB_ACME_EMAIL": "a@b.org",
            "WANDB_ACME_CA": "http://ca.lab/dir",
        },
        env=NO_ENGINE,
    ),
    C(
        "val-no-engine",
        "preflight",
        problem="no Docker engine answered",
        fix="start it",
        env=NO_ENGINE,
    ),
    C(
        "val-env-mode",
        "preflight",
        code=2,
        problem="readable by other users",
        fix="chmod 600",
        env=NO_ENGINE,
        prepare=lambda t: None,
        values={"_MODE": "0644"},
    ),
    # --- the Docker engine is not reachable --------------------------------------------------
    C(
        "engine-status",
        "status",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-logs",
        "logs",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-up",
        "up",
        "--skip-preflight",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-down",
        "down",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-backup",
        "backup",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-restore",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
        prepare=lambda t: _backup_dir(t, _good_manifest(VOL), VOL),
    ),
    C(
        "engine-bundle-save",
        "bundle",
        "save",
        "{tmp}/b.tar",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-upgrade",
        "upgrade",
        "--to",
        "0.84.0",
        "--skip-preflight",
        problem="Docker engine is not reachable",
        fix="DOCKER_HOST",
        env=NO_ENGINE,
    ),
    C(
        "engine-down-volumes",
        "down",
        "--volumes",
        problem="no terminal to confirm",
        fix="--yes",
        env=NO_ENGINE,
    ),
    # --- logs --------------------------------------------------------------------------------
    C(
        "logs-unknown-service",
        "logs",
        "no-such-service",
        problem="no service named",
        fix="use one of",
    ),
    C(
        "logs-tail-abc",
        "logs",
        "--tail",
        "lots",
        problem="not a number of lines",
        fix="200, or all",
    ),
    # --- backup, restore -----------------------------------------------------------------------
    C("backup-keep-0", "backup", "--keep", "0", problem="at least 1", fix="--keep 1"),
    C("backup-keep-neg", "backup", "--keep", "-3", problem="at least 1", fix="--keep 1"),
    C("backup-keep-abc", "backup", "--keep", "all", problem="at least 1", fix="--keep 1"),
    C(
        "restore-missing",
        "restore",
        "{tmp}/nope",
        problem="not a backup directory",
        fix="made by backup",
    ),
    C(
        "restore-file",
        "restore",
        "{tmp}/file.txt",
        problem="not a backup directory",
        fix="made by backup",
        prepare=lambda t: (t / "file.txt").write_text("x"),
    ),
    C(
        "restore-no-manifest",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="no manifest.json",
        fix="complete backup",
        prepare=lambda t: _backup_dir(t, None, VOL),
    ),
    C(
        "restore-partial",
        "restore",
        "{tmp}/backups/wandb-1.partial",
        problem="unfinished backup",
        fix="no .partial suffix",
        prepare=lambda t: _backup_dir(t, _good_manifest(VOL), VOL, name="wandb-1.partial"),
    ),
    C(
        "restore-corrupt-manifest",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="is corrupt",
        fix="another backup",
        prepare=lambda t: _backup_dir(t, "{not json", VOL),
    ),
    C(
        "restore-sha-mismatch",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="sha256 differs",
        fix="nothing was changed",
        prepare=lambda t: _backup_dir(t, _good_manifest({"vol.tar": b"datb"}), VOL),
    ),
    C(
        "restore-size-mismatch",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="manifest says",
        fix="nothing was changed",
        prepare=lambda t: _backup_dir(t, _good_manifest({"vol.tar": b"longer!"}), VOL),
    ),
    C(
        "restore-file-missing",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="is missing",
        fix="nothing was changed",
        prepare=lambda t: _backup_dir(t, _good_manifest(VOL), {}),
    ),
    C(
        "restore-empty-manifest",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="lists no files",
        fix="nothing was changed",
        prepare=lambda t: _backup_dir(t, {"storage": "embedded", "files": []}, {}),
    ),
    C(
        "restore-other-storage",
        "restore",
        "{tmp}/backups/wandb-20260101T000000Z",
        problem="backup of external storage",
        fix="same storage",
        prepare=lambda t: _backup_dir(t, _good_manifest(VOL, "external"), VOL),
    ),
    # --- upgrade, bundle -----------------------------------------------------------------------
    C(
        "upgrade-latest",
        "upgrade",
        "--to",
        "latest",
        "--skip-preflight",
        problem="not a pinned image tag",
        fix="release tag",
    ),
    C(
        "upgrade-bad-tag",
        "upgrade",
        "--to",
        "1.0 beta",
        "--skip-preflight",
        problem="not a pinned image tag",
        fix="release tag",
    ),
    C("upgrade-no-to", "upgrade", problem="--to", fix="required"),
    C("bundle-load-no-file", "bundle", "load", problem="needs FILE", fix="bundle load FILE"),
    C(
        "bundle-load-missing",
        "bundle",
        "load",
        "{tmp}/none.tar",
        problem="does not exist",
        fix="path of a bundle file",
    ),
    C(
        "bundle-load-not-tar",
        "bundle",
        "load",
        "{tmp}/junk.tar",
        problem="not a readable tar",
        fix="copy the bundle again",
        prepare=lambda t: (t / "junk.tar").write_text("not a tar"),
    ),
    C(
        "bundle-load-no-manifest",
        "bundle",
        "load",
        "{tmp}/bundle.tar",
        problem="no wandb-kit-bundle.json",
        fix="bundle save",
        prepare=_tar_without_manifest,
    ),
    C(
        "bundle-load-bad-checksum",
        "bundle",
        "load",
        "{tmp}/bundle.tar",
        problem="checksum",
        fix="copy the bundle again",
        prepare=_bad_checksum_bundle,
    ),
    C("bundle-action", "bundle", "send", problem="invalid choice", fix="choose from"),
    # --- smoke, bench ----------------------------------------------------------------------------
    C("smoke-parallel-0", "smoke", "--parallel", "0", problem="at least 1", fix="--parallel"),
    C("smoke-parallel-neg", "smoke", "--parallel", "-1", problem="at least 1", fix="--parallel"),
    C("smoke-parallel-abc", "smoke", "--parallel", "many", problem="at least 1", fix="--parallel"),
    C(
        "smoke-artifact-neg",
        "smoke",
        "--large-artifact-mib",
        "-1",
        problem="at least 1",
        fix="--large-artifact-mib",
    ),
    C(
        "smoke-artifact-0",
        "smoke",
        "--large-artifact-mib",
        "0",
        problem="at least 1",
        fix="--large-artifact-mib",
    ),
    C(
        "smoke-concurrency-0",
        "smoke",
        "--concurrency",
        "0",
        problem="at least 1",
        fix="--concurrency",
    ),
    C(
        "smoke-timeout-0",
        "smoke",
        "--check-timeout",
        "0",
        problem="positive number",
        fix="--check-timeout",
    ),
    C(
        "smoke-timeout-neg",
        "smoke",
        "--check-timeout",
        "-5",
        problem="positive number",
        fix="--check-timeout",
    ),
    C(
        "smoke-url-ftp",
        "smoke",
        "--url",
        "ftp://h",
        problem="not an http(s) URL",
        fix="URL clients use",
    ),
    C(
        "smoke-ca-missing",
        "smoke",
        "--ca-file",
        "{tmp}/ca.pem",
        problem="does not exist",
        fix="PEM file",
    ),
    C(
        "smoke-unreachable",
        "smoke",
        "--url",
        "http://127.0.0.1:9",
        code=3,
        problem="cannot reach",
        fix="wandb-kit health",
        env={"WANDB_API_KEY": GOOD_KEY},
    ),
    C(
        "smoke-no-key",
        "smoke",
        "--url",
        "http://127.0.0.1:9",
        problem="no API key",
        fix="wandb-kit login",
        no_env_file=True,
    ),
    C(
        "smoke-unknown-check",
        "smoke",
        "--only",
        "nosuch",
        "--url",
        "{server}",
        problem="unknown check(s): nosuch",
        fix="choose from",
        env={"WANDB_API_KEY": GOOD_KEY},
    ),
    C("bench-duration-0", "bench", "--duration", "0", problem="must be positive", fix="--duration"),
    C(
        "bench-unreachable",
        "bench",
        "--url",
        "http://127.0.0.1:9",
        code=3,
        problem="cannot reach",
        fix="wandb-kit health",
        env={"WANDB_API_KEY": GOOD_KEY},
    ),
    # --- health, doctor, configure, env, login: URLs, servers, keys ----------------------------
    C(
        "health-url-ftp",
        "health",
        "--url",
        "ftp://h",
        problem="not an http(s) URL",
        fix="URL clients use",
    ),
    C(
        "health-url-port",
        "health",
        "--url",
        "http://h:99999",
        problem="invalid port",
        fix="1 to 65535",
    ),
    C(
        "health-unreachable",
        "health",
        "--url",
        "http://127.0.0.1:9",
        code=3,
        problem="refused the connection",
        fix="wandb-kit up",
    ),
    C(
        "health-ca-missing",
        "health",
        "--ca-file",
        "{tmp}/nope.pem",
        problem="does not exist",
        fix="PEM file",
    ),
    C(
        "health-wrong-key",
        "health",
        "--url",
        "{server}",
        problem="rejected",
        fix="wandb-kit login",
        env={"WANDB_API_KEY": WRONG_KEY},
    ),
    C(
        "doctor-unreachable",
        "doctor",
        "--url",
        "http://127.0.0.1:9",
        "--no-deep",
        code=3,
        problem="refused the connection",
        fix="wandb-kit up",
    ),
    C(
        "doctor-url-ftp",
        "doctor",
        "--url",
        "ftp://h",
        problem="not an http(s) URL",
        fix="URL clients use",
    ),
    C(
        "doctor-wrong-key",
        "doctor",
        "--url",
        "{server}",
        "--no-deep",
        problem="API key rejected",
        fix="wandb-kit login",
        env={"WANDB_API_KEY": WRONG_KEY},
    ),
    C(
        "configure-url-ftp",
        "configure",
        "--url",
        "ftp://h",
        problem="not an http(s) URL",
        fix="URL clients use",
    ),
    C(
        "configure-url-port",
        "configure",
        "--url",
        "http://h:abc",
        problem="invalid port",
        fix="1 to 65535",
    ),
    C(
        "env-url-ftp",
        "env",
        "--url",
        "file:///etc",
        problem="not an http(s) URL",
        fix="URL clients use",
    ),
    C(
        "login-wrong-key",
        "login",
        "--url",
        "{server}",
        "--key",
        WRONG_KEY,
        problem="rejected",
        fix="/authorize",
    ),
    C(
        "login-malformed-key",
        "login",
        "--url",
        "{server}",
        "--key",
        "abc",
        problem="key",
        fix="/authorize",
    ),
    C(
        "login-env-wrong-key",
        "login",
        "--url",
        "{server}",
        problem="rejected",
        fix="/authorize",
        env={"WANDB_API_KEY": WRONG_KEY},
    ),
    C("login-no-key", "login", "--url", "{server}", problem="no API key given", fix="/authorize"),
    C(
        "login-unreachable",
        "login",
        "--url",
        "http://127.0.0.1:9",
        "--key",
        GOOD_KEY,
        code=3,
        problem="could not reach",
        fix="wandb-kit health",
    ),
    C(
        "login-bootstrap-no-email",
        "login",
        "--bootstrap",
        problem="needs the first user's email",
        fix="--email",
    ),
    C(
        "login-bootstrap-bad-email",
        "login",
        "--bootstrap",
        "--email",
        "ada",
        problem="not an email address",
        fix="--email",
    ),
    C(
        "login-bootstrap-no-env",
        "login",
        "--bootstrap",
        "--url",
        "{server}",
        "--email",
        "a@b.c",
        problem="needs the kit's .env",
        fix="--env-file",
        no_env_file=True,
    ),
    C(
        "login-bootstrap-no-stack",
        "login",
        "--bootstrap",
        "--email",
        "a@b.c",
        problem="admin API is off",
        fix="wandb-kit up",
        env=NO_ENGINE,
    ),
    # --- values compose and Docker would refuse -----------------------------------------------
    C(
        "val-port-fullwidth",
        "preflight",
        problem="not a port number (ASCII digits",
        fix="1-65535",
        values={"WANDB_PORT": "１８０９５"},
        env=NO_ENGINE,
    ),
    C(
        "val-memory-overflow",
        "preflight",
        problem="more than Docker",
        fix="8g",
        values={"WANDB_MEMORY": "99999999999999999999g"},
        env=NO_ENGINE,
    ),
    C(
        "val-compose-file-outside",
        "preflight",
        problem="outside the compose folder",
        fix="wandb-kit init",
        values={"COMPOSE_FILE": "compose.yaml:/etc/passwd"},
        env=NO_ENGINE,
    ),
    C(
        "val-compose-file-missing",
        "preflight",
        problem="does not exist",
        fix="wandb-kit init",
        values={"COMPOSE_FILE": "compose.yaml:missing.yaml"},
        env=NO_ENGINE,
    ),
    C(
        "val-image-upper-case",
        "preflight",
        problem="upper-case",
        fix="wandb/local:0.83.0",
        values={"WANDB_IMAGE": "Wandb/Local:0.83.0"},
        env=NO_ENGINE,
    ),
    C(
        "val-image-bad-digest",
        "preflight",
        problem="digest",
        fix="64",
        values={"WANDB_IMAGE": "wandb/local@sha256:abc"},
        env=NO_ENGINE,
    ),
    C(
        "init-image-with-options",
        "init",
        "--image",
        "wandb/local:0.83.0 --privileged",
        problem="spaces",
        fix="wandb/local:0.83.0",
        no_env_file=True,
    ),
    C(
        "init-acme-not-an-email",
        "init",
        "--tls",
        "acme",
        "--host",
        "https://wandb.example.org",
        "--acme-email",
        "not-an-email",
        problem="'not-an-email' is not an email address",
        fix="--acme-email",
        no_env_file=True,
    ),
    C(
        "init-bucket-host-100k",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "http://" + "a" * 100_000 + ":8333",
        problem="not a DNS name",
        fix="63",
        no_env_file=True,
    ),
    C(
        "init-bucket-host-unicode",
        "init",
        "--storage",
        "external",
        "--bucket-url",
        "http://bücket.lab.test:8333",
        problem="not a DNS name",
        fix="xn--bcket-kva.lab.test",
        no_env_file=True,
    ),
    C("init-project-empty", "init", "--project", "", problem="an empty --project", fix="give"),
    C("env-file-empty", "status", "--env-file", "", problem="an empty path", fix="give a file"),
    C(
        "val-unjudged-named",
        "preflight",
        problem="not judged here: WANDB_LICENSE",
        fix="start it",
        values={"WANDB_LICENSE": "eyJ-a-license-preflight-cannot-judge"},
        env=NO_ENGINE,
    ),
    # --- the command line itself -----------------------------------------------------------------
    C("unknown-command", "deploy", problem="invalid choice", fix="choose from"),
    C("unknown-option", "status", "--colour", problem="unrecognized arguments", fix="usage"),
]


def _ids():
    return [c.id for c in CASES]


def test_the_corpus_is_large_and_distinct():
    assert len(CASES) >= 120
    assert len(set(_ids())) == len(CASES)
    # No two cases are the same input: command line, .env, environment and files.
    inputs = {
        (c.args, c.raw_env, tuple(c.values.items()), tuple(c.env.items()), c.prepare, c.no_env_file)
        for c in CASES
    }
    assert len(inputs) == len(CASES)


@pytest.fixture(scope="module")
def server():
    with FakeWandb() as fake:
        yield fake


def _write_env(path: Path, case: Case) -> dict[str, str]:
    values = settings.build_values(
        {}, settings.example_values(COMPOSE_DIR), {"host": "http://wandb.lab.test:8080"}
    )
    # A project of its own: a deployment under init's default name (`wandb`) on this engine,
    # another test's or a person's, is rightly "someone else's" to up/restore/upgrade.
    values["COMPOSE_PROJECT_NAME"] = UNIT_PROJECT
    if case.raw_env is not None:
        text = case.raw_env.format(**values)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    else:
        mode = case.values.get("_MODE")
        values.update({k: v for k, v in case.values.items() if not k.startswith("_")})
        path.write_text(render((COMPOSE_DIR / ".env.example").read_text(), values))
        path.chmod(int(mode, 8) if mode else 0o600)
    return values


def _snapshot(tmp: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tmp)): p.read_bytes()
        for p in sorted(tmp.rglob("*"))
        # The lock file is the kit's own bookkeeping (empty once released).
        if p.is_file()
        and "netrc" not in p.name
        and "/cfg/" not in str(p)
        and not p.name.endswith(".lock")
    }


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_bad_input(case: Case, tmp_path: Path, server):
    env_file = tmp_path / ".env"
    values = {} if case.no_env_file else _write_env(env_file, case)
    if case.prepare:
        case.prepare(tmp_path)
    before = _snapshot(tmp_path)
    args = [a.format(tmp=tmp_path, server=server.url) for a in case.args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "DOCKER_"))}
    env.update(
        HOME=str(tmp_path), NETRC=str(tmp_path / ".netrc"), WANDB_CONFIG_DIR=str(tmp_path / "cfg"),
        WANDB_KIT_HOME=str(tmp_path), **case.env,
    )  # fmt: skip
    command = [sys.executable, "-m", "wandb_local_kit", *args]
    if args[0] != "deploy" and not any(a in ("--help",) for a in args):
        command += ["--env-file", str(env_file)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )
    out = result.stdout + result.stderr
    assert result.returncode == case.code, out[-2000:]
    assert case.problem.lower() in out.lower(), out[-2000:]
    assert case.fix.lower() in out.lower(), out[-2000:]
    assert "Traceback" not in out
    for key in SECRET_LIKE:
        secret = values.get(key, "")
        assert not secret or secret not in out, f"{key} printed"
    assert GOOD_KEY not in out and WRONG_KEY not in out
    assert _snapshot(tmp_path) == before, "a refused command changed files"
