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
import socket
import time
import uuid

import pytest
from wandb_local_kit.testing import free_loopback_port

from tests.integration.helpers import install_kit_as, runner_as, with_license

pytestmark = pytest.mark.portable

IMAGE_PREFIX = os.environ.get("KIT_IMAGE_PREFIX", "wandb-kit-test/")
COUNT_RUNS = (
    "import wandb; api = wandb.Api(); print(len(list(api.runs(api.default_entity + '/journey'))))"
)


def test_a_non_root_user_runs_the_whole_journey_with_tls(
    lab_member, wheelhouse, test_image, server_image, server_license
):
    for name in ("caddy", "mysql", "s3", "aws-cli"):
        test_image(name)
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

    as_user = runner_as(user, home, env)
    bin_dir = install_kit_as(as_user, home, wheelhouse)

    def kit(*args, timeout=600):
        return as_user(bin_dir / "wandb-kit", *args, timeout=timeout)

    python = bin_dir / "python"

    https, http, bucket = free_loopback_port(), free_loopback_port(), free_loopback_port()
    # The bucket's one name for clients and the wandb container: this machine's name
    # (init's default; inside the stack an alias of Caddy), on a free port published
    # where that name resolves here. Caddy's certificate names it.
    made = kit(
        "init", "--tls", "internal", "--host", f"https://localhost:{https}",
        "--storage", "external", "--bucket-url", f"https://{socket.gethostname()}:{bucket}",
        "--image", server_image,
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
    # Whatever init picked: with another deployment named `wandb` on this engine (the
    # README journey's, run alongside) it picks `wandb-2` and other ports.
    text = re.sub(
        r"^COMPOSE_PROJECT_NAME=.*$", f"COMPOSE_PROJECT_NAME='{project}'", text, flags=re.M
    )
    text = re.sub(r"^WANDB_HTTP_PORT=.*$", f"WANDB_HTTP_PORT='{http}'", text, flags=re.M)
    for key, image in (
        ("CADDY_IMAGE", "caddy"),
        ("MYSQL_IMAGE", "mysql"),
        ("SEAWEEDFS_IMAGE", "s3"),
        ("STORAGE_INIT_IMAGE", "aws-cli"),
    ):
        text = re.sub(rf"^{key}=.*$", f"{key}='{IMAGE_PREFIX}{image}:test'", text, flags=re.M)
    where = socket.gethostbyname(socket.gethostname())  # 127.0.0.1 on our machines
    text = re.sub(r"^WANDB_BUCKET_BIND=.*$", f"WANDB_BUCKET_BIND='{where}'", text, flags=re.M)
    env_file.write_text(with_license(text, server_license))
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
        cid = _running_container(as_user, project, "seaweedfs")
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


def _running_container(as_user, project: str, service: str, wait_s: float = 60) -> str:
    """The id of the service's running container; if it is not listed as running within
    wait_s, the failure shows compose's `ps -a` for the project and the service's logs
    (an empty `ps -a` means the stack runs under another project name)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = as_user("docker", "compose", "-p", project, "ps", "-q", service)
        if found.stdout.strip():
            return found.stdout.strip()
        if time.monotonic() > deadline:
            state = as_user("docker", "compose", "-p", project, "ps", "-a")
            logs = as_user("docker", "compose", "-p", project, "logs", "--tail", "40", service)
            pytest.fail(
                f"{service} is not running {wait_s:.0f} s after health --deep:\n"
                f"{state.stdout}{state.stderr}\n{logs.stdout[-3000:]}{logs.stderr[-1000:]}"
            )
        time.sleep(2)
