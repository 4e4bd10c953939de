"""Small helpers shared by the integration tests."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from tests import childproc

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which every account may run


@contextmanager
def default_project_slot():
    """Held by tests that make (or pretend) a deployment under init's default project
    name and port, across pytest-xdist workers and checkouts on one engine: without it
    one test's `wandb` project is another's "someone else's deployment", and the kit
    rightly refuses to touch it."""
    lock = Path(tempfile.gettempdir()) / "wandb-kit-tests-default-project.lock"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def publish_on_loopback(container, port: int):
    """Publishes a container port on 127.0.0.1 with an ephemeral host port.

    testcontainers' with_bind_ports takes only a host port, which publishes on every
    interface; the docker SDK underneath accepts (ip, None), so set that directly.
    """
    container.ports[f"{port}/tcp"] = ("127.0.0.1", None)
    return container


def s3_client(endpoint: str, key: str, secret: str, region: str = "us-east-1", pool: int = 10):
    """A boto3 S3 client as W&B and the kit talk to our stores: SigV4, path-style
    addressing (no bucket name in the host, which loopback endpoints cannot resolve)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=region,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=pool
        ),
    )


def wait_for(check, timeout: float = 60.0, what: str = "service"):
    """Calls check() until it returns without raising; fails with its last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return check()
        except Exception as err:  # not up yet: retry until the deadline
            last = err
            time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout:.0f} s: {last!r}")


def kit(server, *args: str, timeout: float = 900, env=None) -> subprocess.CompletedProcess:
    """Runs `wandb-kit ARGS` against a test stack's compose dir and env file."""
    from wandb_local_kit.stack import settings

    return childproc.run(
        [
            sys.executable,
            "-m",
            "wandb_local_kit",
            *args,
            "--compose-dir",
            str(settings.default_compose_dir()),
            "--env-file",
            str(server.env_file),
        ],
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def certificate_pair(directory: Path, names: list[str], private_ca: bool = False) -> Path:
    """Writes cert.pem and key.pem for `names` (DNS names or IP addresses) into
    `directory`, as a user would for WANDB_TLS=files: self-signed, or signed by a new
    private CA whose certificate goes to ca.pem. Returns the file clients must trust."""
    import ipaddress

    def san(name: str) -> str:
        try:
            ipaddress.ip_address(name)
            return f"IP:{name}"
        except ValueError:
            return f"DNS:{name}"

    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    sans = "subjectAltName=" + ",".join(san(n) for n in names)
    openssl = ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}"]
    if not private_ca:
        subprocess.run(
            [*openssl, "-x509", "-days", "2", "-addext", sans, "-keyout", key, "-out", cert],
            check=True,
            capture_output=True,
        )
        trusted = cert
    else:
        ca, ca_key = directory / "ca.pem", directory.parent / f"{directory.name}-ca.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            + ["-subj", "/CN=wandb-kit test private CA", "-keyout", ca_key, "-out", ca]
            + ["-addext", "basicConstraints=critical,CA:TRUE"]
            + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            check=True,
            capture_output=True,
        )
        csr = directory.parent / f"{directory.name}.csr"
        subprocess.run([*openssl, "-keyout", key, "-out", csr], check=True, capture_output=True)
        ext = directory.parent / f"{directory.name}.ext"
        ext.write_text(f"{sans}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        subprocess.run(
            ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key]
            + ["-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert],
            check=True,
            capture_output=True,
        )
        trusted = ca
    key.chmod(0o644)  # Caddy runs as another user in some images
    return trusted


def runner_as(user: str, home: Path, env: dict[str, str]):
    """run(*cmd, timeout=...) running a command as `user` from `home` with exactly `env`
    (read at each call, so later changes to the dict apply); a traceback fails the test."""

    def run(*cmd, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["runuser", "-u", user, "--", "env", "-i",
             *(f"{k}={v}" for k, v in env.items()), *map(str, cmd)],
            cwd=home, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    return run


def install_kit_as(run, home: Path, wheelhouse: Path) -> Path:
    """Installs the kit from the wheelhouse into HOME/venv with `run` (a runner_as), as
    that account would on an air-gapped host; returns the venv's bin folder."""
    made_venv = run(SYSTEM_PYTHON, "-m", "venv", home / "venv")
    assert made_venv.returncode == 0, made_venv.stderr
    installed = run(
        home / "venv" / "bin" / "pip", "install", "-q", "--no-index", "--find-links",
        wheelhouse, "wandb-local-kit", timeout=900,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return home / "venv" / "bin"


def with_license(env_text: str, license: str) -> str:
    """A .env's text with WANDB_LICENSE set to `license` (the real-server lane's, for a
    test that writes its own .env with `init`); unchanged when there is none."""
    import re

    from wandb_local_kit.core.envfile import quote

    if not license:
        return env_text
    line = f"WANDB_LICENSE={quote('WANDB_LICENSE', license)}"
    if re.search(r"^WANDB_LICENSE=", env_text, flags=re.M):
        return re.sub(r"^WANDB_LICENSE=.*$", lambda _: line, env_text, flags=re.M)
    return env_text.rstrip("\n") + "\n" + line + "\n"
