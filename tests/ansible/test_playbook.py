"""The Ansible playbook (ansible/site.yml) as a lab admin relies on it.

Without Docker: the playbook parses, the server's .env is exactly what the kit's own
`wandb-kit init` derivation gives (keys, quoting, kept secrets), bad inventory values
fail before any connection with a message naming the variable, ansible-lint passes.

With Docker (integration): one "lab server" container per module. The first run
installs Debian's docker.io, loads the stand-in image from a tarball and brings the
stack up under systemd; the controller then reaches /ready and runs an SDK round trip
through the published port. A second run changes nothing and keeps the secrets,
`--check` passes, secrets never reach the output, and after a reboot of the server
systemd brings the stack back with its data.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values
from wandb_local_kit.core.envfile import read_env
from wandb_local_kit.stack import settings

from tests.ansible.conftest import (
    ANSIBLE_DIR,
    COLLECTION,
    REPO,
    TEST_LICENSE,
    ansible_playbook_bin,
    compose_plugin,
    lab_settings,
    run_molecule,
    run_playbook,
    write_vars,
)
from tests.integration.helpers import wait_for
from tests.integration.sdk import run_sdk, sdk_env

ENV_TEMPLATE = ANSIBLE_DIR / "roles" / "wandb_server" / "templates" / "env.j2"
SECRET_KEYS = (
    "WANDB_LICENSE",
    "WANDB_ADMIN_API_KEY",
    "MYSQL_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "STORAGE_ADMIN_ACCESS_KEY",
    "STORAGE_ADMIN_SECRET_KEY",
    "WANDB_S3_ACCESS_KEY",
    "WANDB_S3_SECRET_KEY",
)
TIMES: dict[str, float] = {}


# --- without Docker -------------------------------------------------------------------


def test_playbook_syntax_check():
    run = run_playbook(ANSIBLE_DIR / "inventory.example.ini", "--syntax-check")
    assert run.returncode == 0, run.explain()


def test_env_template_has_exactly_the_keys_of_env_example():
    """The server's .env is documented by .env.example: no key may be missing or extra."""
    example = [k for k in read_env(REPO / "compose" / ".env.example")]
    template = re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_TEMPLATE.read_text(), re.M)
    assert template == example


def _derive_with_ansible(tmp_path: Path, extra_vars: dict, existing_env: str | None) -> dict:
    """Runs the server role's validate + settings tasks locally on a scratch dir and
    renders env.j2 there; returns the rendered .env's values."""
    server_dir = tmp_path / "server"
    (server_dir / "compose").mkdir(parents=True)
    if existing_env is not None:
        (server_dir / "compose" / ".env").write_text(existing_env)
    out = tmp_path / "rendered.env"
    play = tmp_path / "derive.yml"
    play.write_text(
        json.dumps(
            [
                {
                    "name": "Derive .env like the server role",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.include_role": {
                                "name": str(ANSIBLE_DIR / "roles" / "wandb_server"),
                                "tasks_from": name,
                            }
                        }
                        for name in ("validate", "settings")
                    ]
                    + [
                        {
                            "ansible.builtin.template": {
                                "src": str(ENV_TEMPLATE),
                                "dest": str(out),
                                "mode": "0600",
                            },
                            "no_log": True,
                        }
                    ],
                }
            ]
        )
    )
    vars_file = write_vars(
        tmp_path / "vars.json",
        {
            "wandb_server_dir": str(server_dir),
            "ansible_python_interpreter": sys.executable,
            **extra_vars,
        },
    )
    run = run_playbook(
        None, "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}", playbook=play, timeout=120
    )
    assert run.returncode == 0, run.explain()
    return read_env(out), run


def test_env_file_equals_the_kits_derivation_and_keeps_secrets(tmp_path):
    """External storage with passwords full of URL-reserved characters: the role's
    .env equals wandb_local_kit.stack.settings.derive() for the same input, secrets given in the
    variables win, and secrets already on the server are kept (never rotated)."""
    tricky = "p@ss:w/rd+%#$&?= x"
    kept = {
        "WANDB_ADMIN_API_KEY": "local-" + "ab" * 20,
        "MYSQL_ROOT_PASSWORD": "root/pw@kept+1",
        "STORAGE_ADMIN_ACCESS_KEY": "kitadmin-kept",
        "STORAGE_ADMIN_SECRET_KEY": "admin/pw+kept=",
        "WANDB_S3_ACCESS_KEY": "wandb-kept",
        "WANDB_S3_SECRET_KEY": "s3/pw+kept=",
    }
    existing = "".join(f"{k}='{v}'\n" for k, v in kept.items())
    rendered, run = _derive_with_ansible(
        tmp_path,
        {
            "wandb_server_host": "http://wandb.lab.example:8080",
            "wandb_server_storage": "external",
            "wandb_server_mysql_password": tricky,
            "wandb_server_license": TEST_LICENSE,
        },
        existing,
    )
    values = settings.example_values(REPO / "compose")
    values.update(
        WANDB_HOST="http://wandb.lab.example:8080",
        WANDB_BIND="0.0.0.0",
        WANDB_STORAGE="external",
        MYSQL_PASSWORD=tricky,
        WANDB_LICENSE=TEST_LICENSE,
        **kept,
    )
    expected = settings.derive(values)
    assert rendered == expected
    assert "%2F" in rendered["WANDB_BUCKET_URL"] and "%2B" in rendered["WANDB_BUCKET_URL"]
    assert settings.validate(rendered) == []
    for secret in (tricky, TEST_LICENSE, *kept.values()):
        assert secret not in run.output


@pytest.mark.parametrize(
    "host, bucket, sni",
    [
        ("https://wandb.lab.example", "", "wandb.lab.example"),
        ("https://10.20.0.5", "", "10.20.0.5"),  # by address: clients send no name
        ("https://wandb.lab.example", "https://10.20.0.7:8333", "10.20.0.7"),
    ],
)
def test_external_storage_with_tls_puts_the_bucket_behind_caddy_as_init_does(
    tmp_path, host, bucket, sni
):
    extra = {"wandb_server_bucket_public_url": bucket} if bucket else {}
    rendered, _ = _derive_with_ansible(
        tmp_path,
        {
            "wandb_server_host": host,
            "wandb_server_storage": "external",
            "wandb_server_tls": "internal",
            "wandb_server_license": TEST_LICENSE,
            **extra,
        },
        None,
    )
    values = settings.example_values(REPO / "compose")
    secrets = {k: rendered[k] for k in settings.SECRET_FACTORIES}
    values.update(
        WANDB_HOST=host,
        WANDB_BIND="0.0.0.0",
        WANDB_STORAGE="external",
        WANDB_TLS="internal",
        WANDB_LICENSE=TEST_LICENSE,
        **secrets,
    )
    if bucket:
        values["WANDB_BUCKET_PUBLIC_URL"] = bucket
    assert rendered == settings.derive(values)
    assert rendered["COMPOSE_FILE"].endswith(":tls.yaml:external-tls.yaml")
    assert rendered["WANDB_BUCKET_PUBLIC_URL"] == (bucket or f"{host}:8333")
    assert rendered["WANDB_TLS_DEFAULT_SNI"] == sni
    assert settings.validate(rendered) == []


def test_own_mysql_and_bucket_equal_the_kits_derivation(tmp_path):
    """Bring your own: the role's .env for your MySQL and bucket (given as parts,
    secrets full of reserved characters) equals `wandb-kit init --external-*-url`'s."""
    mysql = {"host": "db.lab.example", "port": 3307, "user": "wb", "password": "p@ss/w:rd+",
             "database": "wandb_prod"}  # fmt: skip
    bucket = {"endpoint": "https://s3.lab.example:9443", "bucket": "lab-wandb",
              "region": "eu-west-1", "access_key": "AKIDLAB",
              "secret_key": "se/cr+et="}  # fmt: skip
    rendered, run = _derive_with_ansible(
        tmp_path,
        {
            "wandb_server_host": "https://wandb.lab.example",
            "wandb_server_storage": "external",
            "wandb_server_tls": "internal",
            "wandb_server_license": TEST_LICENSE,
            "wandb_server_external_mysql": mysql,
            "wandb_server_external_bucket": bucket,
        },
        None,
    )
    values = settings.example_values(REPO / "compose")
    values.update(
        WANDB_HOST="https://wandb.lab.example",
        WANDB_BIND="0.0.0.0",
        WANDB_STORAGE="external",
        WANDB_TLS="internal",
        WANDB_LICENSE=TEST_LICENSE,
        WANDB_EXTERNAL_MYSQL_URL=rendered["WANDB_EXTERNAL_MYSQL_URL"],
        WANDB_EXTERNAL_BUCKET_URL=rendered["WANDB_EXTERNAL_BUCKET_URL"],
        **{k: rendered[k] for k in settings.SECRET_FACTORIES},
    )
    assert rendered == settings.derive(values)
    assert rendered["COMPOSE_PROFILES"] == ""  # neither bundled service runs
    assert "external-tls.yaml" not in rendered["COMPOSE_FILE"]
    assert rendered["STORAGE_INIT_ENDPOINT"] == "https://s3.lab.example:9443"
    from wandb_local_kit.core.storage_urls import parse_bucket_url, parse_mysql_url

    assert parse_mysql_url(rendered["WANDB_EXTERNAL_MYSQL_URL"]).password == "p@ss/w:rd+"
    assert parse_bucket_url(rendered["WANDB_EXTERNAL_BUCKET_URL"]).secret_key == "se/cr+et="
    assert settings.validate(rendered) == []
    for secret in ("p@ss/w:rd+", "se/cr+et=", TEST_LICENSE):
        assert secret not in run.output


def test_generated_secrets_are_valid_and_new_per_server(tmp_path):
    first, _ = _derive_with_ansible(
        tmp_path / "a", {"wandb_server_host": "http://h.lab:8080"}, None
    )
    second, _ = _derive_with_ansible(
        tmp_path / "b", {"wandb_server_host": "http://h.lab:8080"}, None
    )
    assert settings.validate(first) == []  # the admin key has the on-prem key format
    for key in ("WANDB_ADMIN_API_KEY", "MYSQL_PASSWORD", "STORAGE_ADMIN_SECRET_KEY"):
        assert len(first[key]) >= 32 and first[key] != second[key]


@pytest.mark.parametrize(
    "setting,variable,says",
    [
        ("wandb_server_host=wandb.lab.example:8080", "wandb_server_host", "not an http(s) URL"),
        ("wandb_server_host=http://wandb.lab/?x=1", "wandb_server_host", "not an http(s) URL"),
        ("wandb_server_storage=s3", "wandb_server_storage", "s3"),
        ("wandb_server_bind=everywhere", "wandb_server_bind", "not an IP address"),
        ("wandb_server_image=wandb/local:latest", "wandb_server_image", "no pinned tag"),
        ("wandb_server_port=http", "wandb_server_port", "int"),
        # Typed wrong, in every role: fails before the engine role runs, in one line.
        ("wandb_backups_keep=many", "wandb_backups_keep", "int"),
        ("wandb_engine_log_max_file=lots", "wandb_engine_log_max_file", "int"),
        # A choice the kit's own rules refuse (pkce misspelled).
        ("wandb_server_oidc_auth_method=pkec", "wandb_server_oidc_auth_method", "pkce"),
        # A misspelled name, which Ansible alone would ignore (the default would win).
        ("wandb_backup_keep=3", "wandb_backup_keep", "did you mean wandb_backups_keep?"),
        ("wandb_sever_host=http://x:1", "wandb_sever_host", "did you mean wandb_server_host?"),
        (
            "wandb_server_storage=external wandb_server_tls=internal "
            "wandb_server_host=https://wandb.lab wandb_server_bucket_public_url=http://wandb.lab:8333",
            "wandb_server_bucket_public_url",
            "but wandb_server_tls is internal",
        ),
    ],
)
def test_bad_inventory_value_fails_before_connecting(tmp_path, setting, variable, says):
    # The host is a closed loopback port: had validation passed, the run would fail
    # as unreachable instead (and never touch another machine).
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[wandb_servers]\nlab ansible_host=127.0.0.1 ansible_port=9\n")
    run = run_playbook(inventory, "-e", setting, timeout=120)
    assert run.returncode != 0, run.explain()
    assert run.recap.get("unreachable") == 0 and run.recap.get("failed") == 1, run.explain()
    failure = run.output[re.search(r"^(fatal|failed): \[", run.output, re.M).start() :]
    assert variable in failure and says in failure, run.explain()
    assert "Gathering Facts" not in run.output, "validation must come before connecting"
    # The reason, not a dump of the argument spec (kilobytes of every option).
    assert "argument_spec_data" not in run.output and len(failure.split("\n")[0]) < 600, failure


def test_ansible_lint_production_profile():
    lint = Path(ansible_playbook_bin()).with_name("ansible-lint")
    if not lint.exists():
        pytest.fail(
            "ansible-lint is not installed: pip install 'wandb-local-kit[ansible]'", pytrace=False
        )
    result = subprocess.run(
        [str(lint), "--profile", "production", "--offline", "--nocolor"],
        cwd=ANSIBLE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]


# --- on a lab server container (Docker) ---------------------------------------------


class Deployed:
    """The stack on the lab server, as the controller sees it."""

    def __init__(self, lab, inventory: Path, vars_file: Path, collections: Path):
        self.lab, self.inventory, self.vars_file = lab, inventory, vars_file
        self.collections = collections  # the collection installed from its tarball
        self.runs: dict[str, object] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.lab.port(8080)}"

    def env(self) -> dict[str, str]:
        text = self.lab.exec("cat", "/opt/wandb-kit/compose/.env")
        return {
            k: v or ""
            for k, v in dotenv_values(stream=io.StringIO(text), interpolate=False).items()
        }

    def sdk_env(self) -> dict[str, str]:
        return {"WANDB_BASE_URL": self.base_url, "WANDB_API_KEY": self.env()["WANDB_ADMIN_API_KEY"]}

    def molecule(self, name: str, step: str, *args: str):
        run = run_molecule(step, self.lab_dir, self.collections, *args)
        self.runs[name] = run
        TIMES[name] = run.seconds
        print(f"molecule {step} ({name}): {run.seconds:.1f} s, recap {run.recap}")
        return run

    def play(self, name: str, *args: str):
        # The installed collection's site playbook: what a lab admin runs after
        # `ansible-galaxy collection install` (the repository's site.yml is the same file).
        run = run_playbook(
            self.inventory, "-e", f"@{self.vars_file}", *args,
            playbook=f"{COLLECTION}.site", collections=self.collections,
        )  # fmt: skip
        self.runs[name] = run
        TIMES[name] = run.seconds
        print(f"ansible-playbook {name}: {run.seconds:.1f} s, recap {run.recap}")
        return run


@pytest.fixture(scope="module")
def deployed(lab_server, standin_archive, test_image, tmp_path_factory, installed_collection):  # noqa: F811
    """The first run: molecule's converge step of the collection's scenario, installed
    from its tarball (ansible/extensions/molecule/default), on Debian 12."""
    workdir = tmp_path_factory.mktemp("ansible-run")
    values = lab_settings(lab_server, standin_archive, test_image("wandb-standin"))
    # Debian 12 has no compose v2 package: the plugin comes from the controller.
    values["wandb_engine_compose_plugin_src"] = compose_plugin()
    d = Deployed(
        lab_server,
        lab_server.inventory(),
        write_vars(workdir / "vars.json", values),
        installed_collection,
    )
    d.lab_dir = lab_server.settings(values)
    # -v: task results are printed, so no_log is put to the test.
    run = d.molecule("first run", "converge", "-v")
    assert run.returncode == 0 and run.recap.get("failed") == 0, run.explain()
    d.first_env = d.env()
    return d


@pytest.fixture(scope="module")
def second_run(deployed):
    """molecule's idempotence step: a second converge that must change nothing."""
    return deployed.molecule("second run", "idempotence")


@pytest.fixture(scope="module")
def check_run(deployed, second_run):
    return deployed.play("check run", "--check")


@pytest.mark.integration
def test_engine_from_debian_packages_with_log_rotation(deployed):
    lab = deployed.lab
    # Debian's own build (version ...+debNN...), not Docker's docker-ce.
    version = lab.exec("dpkg-query", "-W", "-f", "${Version}", "docker.io")
    assert re.search(r"\+deb\d+", version), version
    assert "docker-ce" not in lab.exec("dpkg-query", "-W", "-f", "${Package}\n")
    assert lab.exec("systemctl", "is-enabled", "docker").strip() == "enabled"
    assert lab.exec("systemctl", "is-active", "docker").strip() == "active"
    info = json.loads(lab.exec("docker", "info", "--format", "{{json .}}"))
    assert info["LoggingDriver"] == "json-file"
    daemon = json.loads(lab.exec("cat", "/etc/docker/daemon.json"))
    assert daemon["log-opts"] == {"max-size": "50m", "max-file": "5"}
    # The wandb container really rotates its logs (the kit's compose file or daemon.json).
    log_config = lab.exec(
        "docker", "inspect", "--format", "{{json .HostConfig.LogConfig}}", "wandb-wandb-1"
    )
    assert json.loads(log_config)["Config"].get("max-size")
    assert "v2." in lab.exec("docker", "compose", "version")


@pytest.mark.integration
def test_stack_is_healthy_inside_the_server_and_run_by_systemd(deployed):
    lab = deployed.lab
    assert lab.exec("systemctl", "is-enabled", "wandb-kit").strip() == "enabled"
    assert lab.exec("systemctl", "is-active", "wandb-kit").strip() == "active"
    status = lab.exec(
        "python3", "-c",
        "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/ready').status)",
    )  # fmt: skip
    assert status.strip() == "200"
    # The image came from the tarball: the inner engine cannot pull at all.
    images = lab.exec("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    assert "wandb-standin:test" in images


@pytest.mark.integration
def test_readmes_compose_ps_works_for_the_login_user_with_sudo(deployed):
    """ansible/README.md's `sudo docker compose --project-directory ... ps`, as the login
    user (not in the docker group; the directory and .env are root's)."""
    lab = deployed.lab
    as_admin = ("runuser", "-u", "admin", "--", "sh", "-c")
    plain = lab.exec(*as_admin, "cd /opt/wandb-kit/compose && docker compose ps", check=False)
    assert "wandb-wandb-1" not in plain, plain
    listed = lab.exec(
        *as_admin, "sudo -n docker compose --project-directory /opt/wandb-kit/compose ps"
    )
    assert "wandb-wandb-1" in listed and "healthy" in listed, listed


@pytest.mark.integration
def test_controller_reaches_ready_and_sdk_round_trip(deployed, tmp_path):
    response = requests.get(f"{deployed.base_url}/ready", timeout=10)
    assert response.status_code == 200
    env = sdk_env(deployed, tmp_path)
    logged = run_sdk("log", "kit-ansible", env)
    back = run_sdk("check", logged["path"], env)
    assert back["summary_loss"] == pytest.approx(0.2)
    assert back["config"]["kit"] == "roundtrip"
    assert back["image_ok"], back  # the image's bytes came back through HOST
    deployed.logged_path = logged["path"]


@pytest.mark.integration
def test_wandb_kit_health_deep_from_the_controller(deployed, tmp_path):
    """The kit's own layered health check (signed-URL upload, CORS, 10 MB GraphQL too)."""
    env_file = tmp_path / "server.env"
    env_file.write_text(deployed.lab.exec("cat", "/opt/wandb-kit/compose/.env"))
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "health", "--url", deployed.base_url,
         "--env-file", str(env_file), "--deep", "--json"],
        env=sdk_env(deployed, tmp_path / "sdk"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.integration
def test_a_first_admin_key_without_a_browser_then_people_only(deployed, tmp_path):
    """ansible/README.md's way to an instance admin's key on a fresh server, from the
    controller (the server has no kit): the server's .env, `wandb-kit login --bootstrap`
    against its URL, the key from .netrc; then `--tags people` applies a file with it."""
    env_file = tmp_path / "server.env"
    env_file.write_text(deployed.lab.exec("cat", "/opt/wandb-kit/compose/.env"))
    env_file.chmod(0o600)
    netrc_file = tmp_path / "netrc"
    env = dict(os.environ, NETRC=str(netrc_file), HOME=str(tmp_path))
    env.pop("WANDB_API_KEY", None)
    boot = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "login", "--bootstrap", "--url",
         deployed.base_url, "--env-file", str(env_file), "--email", "first@lab.example"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert boot.returncode == 0, boot.stdout + boot.stderr
    import netrc

    netloc = deployed.base_url.split("://", 1)[1]
    key = netrc.netrc(str(netrc_file)).authenticators(netloc)[2]
    assert key and key not in boot.stdout + boot.stderr
    lab = tmp_path / "lab.yaml"
    lab.write_text("users:\n  - {email: ann@lab.example, username: ann}\n")
    run = deployed.play(
        "people only", "--tags", "people",
        "-e", f"wandb_server_people_file={lab}", "-e", f"wandb_server_people_api_key={key}",
    )  # fmt: skip
    assert run.returncode == 0, run.explain()
    assert run.changed_tasks() == [
        "wandb_local_kit.lab.wandb_server : Apply the lab's people file (users, teams, roles, "
        "service accounts)."
    ], run.explain()
    assert "Install Docker Engine" not in run.output and key not in run.output


@pytest.mark.integration
def test_env_file_is_private_and_secrets_never_printed(deployed):
    mode = deployed.lab.exec("stat", "-c", "%a %U", "/opt/wandb-kit/compose/.env").split()
    assert mode == ["600", "root"]
    env = deployed.first_env
    assert env["WANDB_LICENSE"] == TEST_LICENSE
    assert re.fullmatch(r"local-[0-9a-f]{40}", env["WANDB_ADMIN_API_KEY"])
    for key in SECRET_KEYS:
        assert env[key], f"{key} is empty"
        assert env[key] not in deployed.runs["first run"].output, f"{key} printed by the first run"


@pytest.mark.integration
def test_second_run_changes_nothing_and_keeps_secrets(deployed, second_run):
    assert second_run.returncode == 0, second_run.explain()
    assert second_run.recap.get("changed") == 0, second_run.explain()
    after = deployed.env()
    assert {k: after[k] for k in SECRET_KEYS} == {k: deployed.first_env[k] for k in SECRET_KEYS}
    for key in SECRET_KEYS:
        assert after[key] not in second_run.output


@pytest.mark.integration
def test_molecule_verify_passes_after_idempotence(deployed, second_run):
    """molecule's verify step (verify.yml): units active, containers healthy, /ready on the
    server, .env root's 0600."""
    run = deployed.molecule("verify", "verify")
    assert run.returncode == 0, run.explain()


@pytest.mark.integration
def test_check_mode_passes_on_the_provisioned_server(deployed, check_run):
    assert check_run.returncode == 0, check_run.explain()
    for key in SECRET_KEYS:
        assert deployed.first_env[key] not in check_run.output
    assert check_run.recap.get("failed") == 0 and check_run.recap.get("changed") == 0, (
        check_run.explain()
    )


def server_state(lab) -> dict[str, str]:
    """What a refused run must leave as it was: .env, the unit, the running containers."""
    return {
        "files": lab.exec(
            "sha256sum", "/opt/wandb-kit/compose/.env", "/etc/systemd/system/wandb-kit.service"
        ),
        "containers": lab.exec("docker", "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}"),
        "unit": lab.exec(
            "systemctl", "show", "wandb-kit", "-p", "ActiveState,ExecMainStartTimestamp"
        ),
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    "bad,says",
    [
        # Half-set SSO: the kit's own rules refuse it; the old code wrote .env first, and
        # the next restart of the unit failed.
        # --tags sso: the settings path only (engine and images unchanged on a provisioned
        # server, as the idempotence step shows), so the test costs seconds, not a run.
        (["--tags", "sso", "-e", "wandb_server_oidc_issuer=https://idp.lab.example",
          "-e", "wandb_server_oidc_client_id="], "WANDB_OIDC_CLIENT_ID: is empty"),
        (["-e", "wandb_backup_keep=3"], "did you mean wandb_backups_keep?"),
    ],
    ids=["half-set-sso", "typo"],
)  # fmt: skip
def test_a_refused_run_leaves_the_server_as_it_was(deployed, check_run, bad, says):
    before = server_state(deployed.lab)
    run = deployed.play(f"refused ({says})", *bad)
    assert run.returncode != 0 and says in run.output, run.explain()
    assert TEST_LICENSE not in run.output
    assert server_state(deployed.lab) == before


class DowntimeWatch:
    """Reads a URL every 0.2 s in a thread; stop() gives the longest stretch it failed."""

    def __init__(self, url: str):
        self.url, self.longest, self._since = url, 0.0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> DowntimeWatch:
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                ok = requests.get(self.url, timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            now = time.monotonic()
            if ok:
                self._since = None
            else:
                self._since = self._since or now
                self.longest = max(self.longest, now - self._since)
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.longest


@pytest.fixture(scope="module")
def backed_up(deployed, check_run):
    """One backup through the installed systemd unit, as the timer would start it, with
    /ready read from the controller meanwhile: how long W&B was down (README: seconds)."""
    lab = deployed.lab
    down = DowntimeWatch(f"{deployed.base_url}/ready").start()
    start = time.monotonic()
    started = subprocess.run(
        ["docker", "exec", lab.container.id, "systemctl", "start", "wandb-kit-backup.service"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    TIMES["backup via systemd"] = time.monotonic() - start
    wait_for(
        lambda: requests.get(f"{deployed.base_url}/ready", timeout=5).raise_for_status(),
        timeout=120,
        what="W&B after the backup",
    )
    TIMES["W&B down during the backup"] = deployed.backup_downtime = down.stop()
    journal = lab.exec(
        "journalctl", "-u", "wandb-kit-backup", "--no-pager", "-n", "40", check=False
    )
    assert started.returncode == 0, started.stderr + journal
    return journal


@pytest.mark.integration
def test_backup_timer_scheduled_and_its_service_makes_a_verified_backup(deployed, backed_up):
    lab = deployed.lab
    assert lab.exec("systemctl", "is-enabled", "wandb-kit-backup.timer").strip() == "enabled"
    assert lab.exec("systemctl", "is-active", "wandb-kit-backup.timer").strip() == "active"
    assert "wandb-kit-backup.timer" in lab.exec("systemctl", "list-timers", "--all", "--no-pager")
    manifests = lab.exec("find", "/var/backups/wandb-kit", "-name", "manifest.json").split()
    assert len(manifests) == 1, backed_up
    manifest = json.loads(lab.exec("cat", manifests[0]))
    assert manifest, "empty manifest"
    assert lab.exec("stat", "-c", "%a", "/var/backups/wandb-kit").strip() == "700"
    # ansible/README.md states seconds of downtime for a backup of a small server.
    assert deployed.backup_downtime < 30, deployed.backup_downtime
    # The backup stops wandb for a consistent copy and starts it again.
    wait_for(
        lambda: requests.get(f"{deployed.base_url}/ready", timeout=5).raise_for_status(),
        timeout=120,
        what="W&B after the backup",
    )


@pytest.mark.integration
def test_daily_disk_use_sample_is_scheduled_and_records_a_line(deployed, backed_up):
    """The role's daily timer gives `wandb-kit storage` its growth samples on a server
    without the kit: one run of its service appends one sample beside the server's .env."""
    lab = deployed.lab
    assert lab.exec("systemctl", "is-enabled", "wandb-kit-usage.timer").strip() == "enabled"
    assert lab.exec("systemctl", "is-active", "wandb-kit-usage.timer").strip() == "active"
    samples = "/opt/wandb-kit/compose/..env.usage.jsonl"
    before = lab.exec("sh", "-c", f"cat {samples} 2>/dev/null || true").splitlines()
    started = subprocess.run(
        ["docker", "exec", lab.container.id, "systemctl", "start", "wandb-kit-usage.service"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    journal = lab.exec("journalctl", "-u", "wandb-kit-usage", "--no-pager", "-n", "20", check=False)
    assert started.returncode == 0, started.stderr + journal
    after = lab.exec("cat", samples).splitlines()
    assert len(after) == len(before) + 1, journal
    sample = json.loads(after[-1])
    assert sample["total"] > 0 and 0 <= sample["free"] <= sample["total"], sample


@pytest.mark.integration
def test_reboot_brings_the_stack_back_with_its_data(deployed, backed_up, tmp_path):
    """systemd starts docker and the stack at boot; the run logged earlier is still there."""
    # Its own run, logged before the reboot: the test stands alone, in any order.
    path = run_sdk("log", "kit-ansible-reboot", sdk_env(deployed, tmp_path))["path"]
    deployed.lab.container.restart(timeout=30)
    start = time.monotonic()
    wait_for(
        lambda: requests.get(f"{deployed.base_url}/ready", timeout=5).raise_for_status(),
        timeout=180,
        what="W&B after the server's reboot",
    )
    # Docker's restart policy may bring the container up first; the unit's
    # `up --wait` then confirms it healthy.
    wait_for(
        lambda: deployed.lab.exec("systemctl", "is-active", "wandb-kit"),
        timeout=180,
        what="the wandb-kit unit after the reboot",
    )
    print(f"reboot to /ready and the unit active: {time.monotonic() - start:.1f} s")
    back = run_sdk("check", path, sdk_env(deployed, tmp_path))
    assert back["summary_loss"] == pytest.approx(0.2)
    assert back["config"]["kit"] == "roundtrip"
    assert back["image_ok"], back


def teardown_module(module):
    if TIMES:
        print(
            "ansible-playbook wall times: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMES.items())
        )
