"""The whole journey as a lab member would take it: a non-root account in the docker
group installs the kit into a virtualenv of its own (from a wheelhouse, as on an
air-gapped host; root's Python under /root is not theirs to run), with the kit's
home in their home directory. init with TLS and external storage (MySQL and the
real SeaweedFS, whose data belongs to its own uid 1000, behind Caddy), up,
login --bootstrap (admin API on only meanwhile), health --deep, a smoke subset,
backup, down --volumes, restore, and the runs are back.

What differs from root: the files the kit writes must belong to (and be readable by)
that user, ports under 1024 are not "in use" just because the user cannot bind
them, and nothing may assume a writable checkout.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from wandb_local_kit.testing import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which every account may run
IMAGE_PREFIX = os.environ.get("KIT_IMAGE_PREFIX", "wandb-kit-test/")
COUNT_RUNS = (
    "import wandb; api = wandb.Api(); print(len(list(api.runs(api.default_entity + '/journey'))))"
)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    """The kit's wheel and every dependency's, in a directory any account can read."""
    where = Path(tempfile.mkdtemp(prefix="kit-wheelhouse-"))
    where.chmod(0o755)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
         "--no-build-isolation", "-w", str(where), str(ROOT)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    for wheel in where.iterdir():
        wheel.chmod(0o644)
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def lab_member(test_image):
    """A fresh non-root account in the docker group, removed afterwards."""
    for name in ("wandb-standin", "caddy", "mysql", "s3", "aws-cli"):
        test_image(name)
    if os.geteuid() != 0:
        pytest.skip("creating the test account needs root (CI runs as root)")
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: install Debian's python3 (and python3-venv)")
    name = f"kit{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--create-home", "--groups", "docker", name], check=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    yield name, home
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def test_a_non_root_user_runs_the_whole_journey_with_tls(lab_member, wheelhouse):
    user, home = lab_member
    env = {
        "HOME": str(home),
        "USER": user,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WANDB_KIT_HOME": str(home / "kit"),
        "WANDB_DIR": str(home),
        "WANDB_SILENT": "true",
        "KIT_IMAGE_PREFIX": IMAGE_PREFIX,
    }

    def as_user(*cmd, timeout=600):
        result = subprocess.run(
            ["runuser", "-u", user, "--", "env", "-i",
             *(f"{k}={v}" for k, v in env.items()), *map(str, cmd)],
            cwd=home, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    def kit(*args, timeout=600):
        return as_user(home / "venv" / "bin" / "wandb-kit", *args, timeout=timeout)

    made_venv = as_user(SYSTEM_PYTHON, "-m", "venv", home / "venv")
    assert made_venv.returncode == 0, made_venv.stderr
    installed = as_user(
        home / "venv" / "bin" / "pip", "install", "-q", "--no-index", "--find-links",
        wheelhouse, "wandb-local-kit", timeout=900,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    python = home / "venv" / "bin" / "python"

    https, http, bucket = free_loopback_port(), free_loopback_port(), free_loopback_port()
    # The bucket's one name for clients and the wandb container: this machine's name
    # (init's default; inside the stack an alias of Caddy), on a free port published
    # where that name resolves here. Caddy's certificate names it.
    made = kit(
        "init", "--tls", "internal", "--host", f"https://localhost:{https}",
        "--storage", "external", "--bucket-url", f"https://{socket.gethostname()}:{bucket}",
        "--image", f"{IMAGE_PREFIX}wandb-standin:test",
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    env_file = home / "kit" / ".env"
    assert env_file.stat().st_uid == pwd.getpwnam(user).pw_uid
    assert env_file.stat().st_mode & 0o777 == 0o600
    text = env_file.read_text()
    assert f"WANDB_HTTPS_PORT='{https}'" in text
    # What the user edits by hand: the project name, the plain-http port, and the
    # images from their registry mirror (here: the offline test images).
    project = f"kit-test-{uuid.uuid4().hex[:8]}"
    text = text.replace(
        "COMPOSE_PROJECT_NAME='wandb'", f"COMPOSE_PROJECT_NAME='{project}'"
    ).replace("WANDB_HTTP_PORT='80'", f"WANDB_HTTP_PORT='{http}'")
    for key, image in (
        ("CADDY_IMAGE", "caddy"),
        ("MYSQL_IMAGE", "mysql"),
        ("SEAWEEDFS_IMAGE", "s3"),
        ("STORAGE_INIT_IMAGE", "aws-cli"),
    ):
        text = re.sub(rf"^{key}=.*$", f"{key}='{IMAGE_PREFIX}{image}:test'", text, flags=re.M)
    where = socket.gethostbyname(socket.gethostname())  # 127.0.0.1 on our machines
    text = re.sub(r"^WANDB_BUCKET_BIND=.*$", f"WANDB_BUCKET_BIND='{where}'", text, flags=re.M)
    env_file.write_text(text)
    try:
        up = kit("up", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        ca = home / "kit" / "certs" / "wandb-root-ca.crt"
        assert ca.is_file() and ca.stat().st_uid == pwd.getpwnam(user).pw_uid

        boot = kit("login", "--bootstrap", "--email", "ada@lab.test")
        assert boot.returncode == 0, boot.stdout + boot.stderr
        assert "off again" in boot.stdout
        assert "WANDB_ADMIN_API_ENABLED='false'" in env_file.read_text()

        health = kit("health", "--deep")
        assert health.returncode in (0, 1), health.stdout + health.stderr
        assert "bucket-controls" in health.stdout, health.stdout

        # The store's data belongs to its own user, as in the official image.
        seaweed = as_user("docker", "compose", "-p", project, "ps", "-q", "seaweedfs")
        cid = seaweed.stdout.strip()
        assert cid, seaweed.stdout + seaweed.stderr
        owner = as_user("docker", "exec", cid, "stat", "-c", "%u", "/data", "/data/filerldb2")
        assert owner.stdout.split() == ["1000", "1000"], owner.stdout + owner.stderr

        smoke = kit("smoke", "--only", "basics,images", "--keep", "--project", "journey")
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        env.update(SSL_CERT_FILE=str(ca), REQUESTS_CA_BUNDLE=str(ca))
        env["WANDB_BASE_URL"] = f"https://localhost:{https}"
        before = as_user(python, "-c", COUNT_RUNS).stdout.strip()
        assert before.isdigit() and int(before) >= 1

        backup = kit("backup")
        assert backup.returncode == 0, backup.stdout + backup.stderr
        backups = home / "kit" / "backups"
        (made_backup,) = [p for p in backups.iterdir() if p.is_dir()]
        for path in [made_backup, *made_backup.rglob("*")]:
            assert path.stat().st_uid == pwd.getpwnam(user).pw_uid, path
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"

        assert kit("down", "--volumes", "--yes").returncode == 0
        restored = kit("restore", str(made_backup))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        kit("up")  # a new Caddy data volume means a new internal CA: export it again
        after = as_user(python, "-c", COUNT_RUNS).stdout.strip()
        assert after == before
    finally:
        kit("down", "--volumes", "--yes")
