"""Fixtures for the Ansible tests: a "lab server" container and ansible-playbook runs.

The target (tests/images/lab-server) is Debian with systemd as PID 1, sshd and
python3, run WITHOUT --privileged (containers-here.md section 6). The playbook logs
in over ssh as `admin` with a key made for this test session, becomes root, installs
Debian's docker.io over the target's own apt, and deploys the stack with the
stand-in images loaded from a `docker save` tarball. The same Docker-absence rules
as tests/integration apply (skip with a how-to; fail when KIT_REQUIRE_DOCKER=1).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from wandb_local_kit.testing import free_loopback_port

from tests.integration.conftest import docker_client, test_image  # noqa: F401
from tests.integration.helpers import wait_for
from tests.require import unavailable

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
SITE = ANSIBLE_DIR / "site.yml"
LABEL = "wandb-kit.test=ansible"
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.M,
)
COMPOSE_PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    os.path.expanduser("~/.docker/cli-plugins"),
)


def ansible_playbook_bin() -> str:
    """ansible-playbook of this interpreter's environment (the `ansible` extra)."""
    exe = Path(sys.executable).with_name("ansible-playbook")
    if exe.exists():
        return str(exe)
    found = shutil.which("ansible-playbook")
    if not found:
        unavailable("ansible-core is not installed", "pip install -e '.[ansible]'")
    return found


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float
    recap: dict[str, int] = field(default_factory=dict)

    def changed_tasks(self) -> list[str]:
        """The tasks and handlers that reported `changed`, in order."""
        changed, current = [], None
        for line in self.output.splitlines():
            header = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
            if header:
                current = header.group(1)
            elif line.startswith("changed:") and current and current not in changed:
                changed.append(current)
        return changed

    def explain(self) -> str:
        head = f"ansible-playbook exit {self.returncode} after {self.seconds:.0f} s"
        return f"{head}; changed: {self.changed_tasks()}:\n{self.output[-6000:]}"


def _ansible_env(control_dir: str, **extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        **extra,
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
        ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(prefix="kit-ansible-"),
    )


def _run(cmd: list[str], env: dict[str, str], control_dir: str, timeout: float) -> PlaybookRun:
    """Runs ansible-playbook or molecule in ansible/, the output parsed for its recap."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)
    output = proc.stdout + proc.stderr
    recap = {}
    tail = output.rsplit("PLAY RECAP", 1)
    if len(tail) == 2:
        m = RECAP.search(tail[1])
        if m:
            recap = {k: int(v) for k, v in m.groupdict().items() if k != "host"}
    return PlaybookRun(proc.returncode, output, time.monotonic() - start, recap)


def run_molecule(
    step: str, lab_dir: Path, collections: Path, *ansible_args: str, timeout: float = 1500
) -> PlaybookRun:
    """One step of the collection's molecule scenario (ansible/extensions/molecule/default)
    on a lab server whose inventory.ini and group_vars/ are in lab_dir, with the collection
    installed from its tarball; ansible_args go to ansible-playbook (converge only)."""
    venv_bin = str(Path(ansible_playbook_bin()).parent)
    molecule = Path(venv_bin) / "molecule"
    if not molecule.exists():
        unavailable("molecule is not installed", "pip install -e '.[test]'")
    control_dir = tempfile.mkdtemp(prefix="kit-cp-")
    env = _ansible_env(
        control_dir,
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        MOLECULE_LAB_DIR=str(lab_dir),
        MOLECULE_EPHEMERAL_DIRECTORY=str(lab_dir / "molecule"),
        NO_COLOR="1",
        # molecule calls ansible-config and ansible-playbook by name.
        PATH=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
    )
    env.pop("ANSIBLE_CONFIG")  # molecule writes its own (molecule.yml config_options)
    cmd = [str(molecule), step, *(["--", *ansible_args] if ansible_args else [])]
    return _run(cmd, env, control_dir, timeout)


def run_playbook(
    inventory: Path | None,
    *args: str,
    playbook: Path | str = SITE,
    timeout: float = 1500,
    collections: Path | None = None,
    path: str | None = None,
) -> PlaybookRun:
    """ansible-playbook with the repository's ansible.cfg; `collections`: the only
    collections path (an installed collection, run as `playbook="ns.name.site"`);
    `path`: the PATH it runs with."""
    control_dir = tempfile.mkdtemp(prefix="kit-cp-")  # short: ssh's socket path limit
    extra = {"ANSIBLE_COLLECTIONS_PATH": str(collections)} if collections else {}
    if path is not None:
        extra["PATH"] = path
    env = _ansible_env(control_dir, **extra)
    cmd = [ansible_playbook_bin()]
    if inventory is not None:
        cmd += ["-i", str(inventory)]
    cmd += [*args, str(playbook)]
    return _run(cmd, env, control_dir, timeout)


COLLECTION = "wandb_local_kit.lab"


def install_collection(workdir: Path) -> Path:
    """Builds the collection tarball (ansible/build-collection.sh) and installs it with
    ansible-galaxy into a clean collections path under workdir; returns that path."""
    galaxy = str(Path(ansible_playbook_bin()).with_name("ansible-galaxy"))
    out, dest = workdir / "dist", workdir / "collections"
    env = dict(os.environ, ANSIBLE_GALAXY=galaxy)

    def run(*cmd: str) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, f"{cmd[0]}: {done.stdout[-3000:]}{done.stderr[-3000:]}"

    run(str(ANSIBLE_DIR / "build-collection.sh"), str(out))
    (tarball,) = out.glob("wandb_local_kit-lab-*.tar.gz")
    run(galaxy, "collection", "install", "--offline", "-p", str(dest), str(tarball))
    return dest


@pytest.fixture(scope="session")
def installed_collection(tmp_path_factory) -> Path:
    return install_collection(tmp_path_factory.mktemp("collection"))


def compose_plugin() -> str:
    """The controller's docker-compose v2 binary: Debian 12 (the target) has no compose
    v2 package, so the engine role installs it from here (wandb_engine_compose_plugin_src)."""
    for d in COMPOSE_PLUGIN_DIRS:
        path = Path(d) / "docker-compose"
        if path.is_file():
            return str(path)
    pytest.fail("no docker compose v2 plugin on the controller (scripts/provision-docker.sh)")


@dataclass
class LabServer:
    container: object
    key_file: Path
    workdir: Path

    def port(self, container_port: int) -> int:
        self.container.reload()
        return int(self.container.ports[f"{container_port}/tcp"][0]["HostPort"])

    def exec(self, *cmd: str, check: bool = True) -> str:
        # The docker CLI rather than the SDK's exec_run: under load, exec_run now and
        # then returned no output for a short-lived command.
        result = subprocess.run(
            ["docker", "exec", self.container.id, *cmd],
            capture_output=True, text=True, errors="replace", timeout=120,
        )  # fmt: skip
        out = result.stdout + result.stderr
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}: {out[-2000:]}")
        return result.stdout if check else out

    def inventory(self, **host_vars: str) -> Path:
        extra = " ".join(f"{k}={v}" for k, v in host_vars.items())
        path = self.workdir / "inventory.ini"
        path.write_text(
            "[wandb_servers]\n"
            f"lab ansible_host=127.0.0.1 ansible_port={self.port(22)} ansible_user=admin "
            f"ansible_ssh_private_key_file={self.key_file} "
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
            f"-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes' {extra}\n"
        )
        return path

    def settings(self, values: dict) -> Path:
        """The lab's settings as group_vars/all.yml next to its inventory (JSON is YAML):
        what `-i inventory.ini` and the molecule scenario (MOLECULE_LAB_DIR) read."""
        (self.workdir / "group_vars").mkdir(exist_ok=True)
        write_vars(self.workdir / "group_vars" / "all.yml", values)
        return self.workdir

    def ssh_ok(self) -> None:
        subprocess.run(
            [
                "ssh", "-i", str(self.key_file), "-p", str(self.port(22)),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3",
                "admin@127.0.0.1", "sudo", "-n", "true",
            ],
            check=True, capture_output=True, timeout=15,
        )  # fmt: skip


def _authorized_keys_tar(public_key: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("authorized_keys")
        info.size, info.mode, info.uid, info.gid = len(public_key), 0o600, 1000, 1000
        tar.addfile(info, io.BytesIO(public_key))
    return buf.getvalue()


def start_lab_server(docker_client, image: str, workdir: Path) -> LabServer:  # noqa: F811
    """Starts the target with the recipe that works without --privileged."""
    key = workdir / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kit-ansible-test", "-f", str(key)],
        check=True,
    )
    container = docker_client.containers.run(
        image,
        detach=True,
        name=f"kit-lab-{uuid.uuid4().hex[:8]}",
        # The second label lets .ci/run's cleanup remove it if a run is interrupted.
        labels={LABEL.split("=")[0]: LABEL.split("=")[1], "org.testcontainers": "true"},
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined"],
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        tmpfs={"/run": "", "/run/lock": ""},
        # sshd for Ansible (ephemeral port), and the W&B port the inner stack publishes,
        # on a port the OS reports free (not hard-coded): an explicit host port survives
        # a restart of the target, so WANDB_HOST stays right after a "reboot".
        ports={"22/tcp": ("127.0.0.1", None), "8080/tcp": ("127.0.0.1", free_loopback_port())},
    )
    server = LabServer(container, key, workdir)
    try:
        uid = server.exec("id", "-u", "admin").strip()
        assert uid == "1000", f"admin has uid {uid}, expected 1000"
        container.put_archive(
            "/home/admin/.ssh", _authorized_keys_tar(key.with_suffix(".pub").read_bytes())
        )
        wait_for(server.ssh_ok, timeout=60, what="sshd of the lab server")
    except BaseException:
        stop_lab_server(server)
        raise
    return server


def stop_lab_server(server: LabServer) -> None:
    if os.environ.get("KIT_KEEP_LAB_SERVER") == "1":
        print(f"keeping lab server {server.container.name} (KIT_KEEP_LAB_SERVER=1)")
        return
    # v=True: the anonymous volume holding the inner engine's data goes too.
    server.container.remove(force=True, v=True)


def serve_lab(docker_client, test_image, tmp_path_factory, name: str):  # noqa: F811
    """A module's lab server from the image `name` (lab-server: Debian 12,
    lab-server-trixie: Debian 13), removed after the module."""
    image = test_image(name)
    server = start_lab_server(docker_client, image, tmp_path_factory.mktemp(name))
    yield server
    stop_lab_server(server)


@pytest.fixture(scope="module")
def lab_server(docker_client, test_image, tmp_path_factory):  # noqa: F811
    yield from serve_lab(docker_client, test_image, tmp_path_factory, "lab-server")


@pytest.fixture(scope="module")
def standin_archive(docker_client, test_image, tmp_path_factory):  # noqa: F811
    """The W&B stand-in image as a `wandb-kit bundle save` file: the air-gapped path."""
    from wandb_local_kit.ops import bundle

    tag = test_image("wandb-standin")
    path = tmp_path_factory.mktemp("images") / "wandb-standin.bundle.tar"
    bundle.save([tag], path, log=lambda *_: None)
    return path


TEST_LICENSE = "kit-test-license-7f3a9c"  # given "from the vault": must never be printed


def lab_settings(lab: LabServer, standin_archive: Path, standin_tag: str) -> dict:
    """The settings of a test lab server: the stand-in, air-gapped, small."""
    return {
        # The URL the controller (the "client") uses: the target's published port.
        "wandb_server_host": f"http://127.0.0.1:{lab.port(8080)}",
        # The stand-in image instead of wandb/local, with the kit's test overlay (what
        # differs for the stand-in besides the image).
        "wandb_server_image": standin_tag,
        "wandb_server_compose_overlays": ["test.yaml"],
        # Air-gapped path: the image arrives as a tarball and is loaded, never pulled.
        "wandb_server_image_archives": [str(standin_archive)],
        "wandb_server_pull_missing": False,
        "wandb_server_cpus": "1",
        "wandb_server_memory": "1g",
        "wandb_server_license": TEST_LICENSE,
        # A throwaway test server: its admin API key is the tests' API key, so the admin
        # API stays on here, unlike the role's default.
        "wandb_server_admin_api_enabled": True,
        # The target keeps /var/lib/docker on a volume, so the nested engine can use overlay2.
        "wandb_engine_storage_driver": "overlay2",
        # Read by the test overlays of other setups; here it exercises wandb_server_env_extra.
        "wandb_server_env_extra": {
            "KIT_TEST_IMAGE_PREFIX": os.environ.get("KIT_IMAGE_PREFIX", "wandb-kit-test/")
        },
    }


def write_vars(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values, indent=2))
    return path


def pytest_collection_modifyitems(config, items):
    """The platform matrix beyond Debian 12 (`platform_matrix`: Debian 13's molecule run,
    five minutes of two cores) runs with KIT_PLATFORM_MATRIX=1, i.e. `make test-platforms`
    and its own CI job; `make test` (and .ci/run, held to 20 minutes on a bare 2-core
    machine) runs Debian 12's scenario and deselects it, saying so in the summary."""
    if os.environ.get("KIT_PLATFORM_MATRIX") == "1":
        return
    dropped = [item for item in items if item.get_closest_marker("platform_matrix")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
