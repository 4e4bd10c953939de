"""The roles as the collection wandb_local_kit.lab, the shape lab admins expect of roles:
a tarball that `ansible-galaxy collection install` takes into a clean collections path
and that carries what the roles install (no checkout needed), a README and galaxy
metadata per role, an argument spec for every variable, names that cannot clash with a
lab's own roles, and tags to run one part. The installed collection provisions the lab
server in test_playbook.py (its `deployed` fixture)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ansible.conftest import (
    ANSIBLE_DIR,
    COLLECTION,
    REPO,
    ansible_playbook_bin,
    run_playbook,
)

ROLES = ("wandb_checks", "wandb_engine", "wandb_server", "wandb_backups")


def test_the_tarball_installs_into_a_clean_path_with_what_the_roles_install(
    installed_collection,
):
    root = installed_collection / "ansible_collections" / "wandb_local_kit" / "lab"
    listed = subprocess.run(
        [str(Path(ansible_playbook_bin()).with_name("ansible-galaxy")), "collection", "list",
         "-p", str(installed_collection), COLLECTION],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    version = yaml.safe_load((ANSIBLE_DIR / "galaxy.yml").read_text())["version"]
    assert re.search(rf"^{re.escape(COLLECTION)}\s+{re.escape(version)}\s*$", listed.stdout, re.M)
    assert sorted(p.name for p in (root / "roles").iterdir()) == sorted(ROLES)
    assert (root / "kit" / "compose" / "compose.yaml").is_file()
    assert (root / "kit" / "scripts" / "backup.py").is_file()
    assert (root / "kit" / "deploy" / "wandb_local_kit" / "stack" / "settings.py").is_file()
    # Besides compose/, exactly the files the roles copy (kit_files.yml, which it carries).
    manifest = yaml.safe_load((root / "kit_files.yml").read_text())
    packed = {str(p.relative_to(root / "kit")) for p in (root / "kit").rglob("*") if p.is_file()}
    assert {p for p in packed if not p.startswith("compose/")} == {
        p for paths in manifest.values() for p in paths
    }
    # Only what git tracks: never a checkout's settings, keys or the lab's inventory.
    shipped = {str(p.relative_to(root)) for p in root.rglob("*")}
    assert not [p for p in shipped if p.endswith((".env", ".key")) or "inventory.ini" == p]
    run = run_playbook(
        ANSIBLE_DIR / "inventory.example.ini", "--syntax-check",
        playbook=f"{COLLECTION}.site", collections=installed_collection,
    )  # fmt: skip
    assert run.returncode == 0, run.explain()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_a_readme_and_galaxy_metadata(role):
    folder = ANSIBLE_DIR / "roles" / role
    readme = (folder / "README.md").read_text()
    meta = yaml.safe_load((folder / "meta" / "main.yml").read_text())["galaxy_info"]
    assert meta["min_ansible_version"] == "2.16"
    assert meta["platforms"] == [{"name": "Debian", "versions": ["bookworm", "trixie"]}]
    # The README documents every variable of the role's argument spec.
    spec = yaml.safe_load((folder / "meta" / "argument_specs.yml").read_text())
    for name in spec["argument_specs"]["main"]["options"]:
        assert f"`{name}`" in readme, f"{role}/README.md lacks {name}"


@pytest.mark.parametrize("role", ROLES[1:])
def test_every_default_has_an_argument_spec_and_back(role):
    folder = ANSIBLE_DIR / "roles" / role
    defaults = set(yaml.safe_load((folder / "defaults" / "main.yml").read_text()))
    spec = yaml.safe_load((folder / "meta" / "argument_specs.yml").read_text())
    options = set(spec["argument_specs"]["main"]["options"])
    assert defaults - options == set(), "add these to meta/argument_specs.yml"
    assert options - defaults == set(), "add these to defaults/main.yml"


def test_role_names_cannot_clash_with_a_labs_own():
    """A lab's roles/ often holds `server` or `backups`: ours carry the wandb_ prefix and
    are called by their collection name in site.yml."""
    site = yaml.safe_load((ANSIBLE_DIR / "site.yml").read_text())
    used = [r["role"] for r in site[1]["roles"]]
    assert used == [f"{COLLECTION}.{r}" for r in ("wandb_engine", "wandb_server", "wandb_backups")]


@pytest.mark.parametrize(
    "tag,runs,skips",
    [
        ("people", "Apply the lab's people file", "Install Docker Engine"),
        ("sso", "Install the kit's compose files and settings", "Make the stack's images"),
        ("backups", "Install the backup service and timer", "Install the kit's compose files"),
        ("engine", "Install Docker Engine", "Install the kit's compose files"),
    ],
)
def test_tags_select_one_part(tag, runs, skips):
    run = run_playbook(
        ANSIBLE_DIR / "inventory.example.ini", "--list-tasks", "--tags", tag, timeout=120
    )
    assert run.returncode == 0, run.explain()
    # Dynamically included task files are listed by their include's name.
    assert runs in run.output, run.output[-3000:]
    assert skips not in run.output, run.output[-3000:]


def test_the_settings_check_gets_every_module_it_imports(tmp_path):
    """files/check-env.py runs on the server with python3 alone and the modules the role
    copies (kit_files.yml's settings_check_modules): the list must hold every one it
    imports, and a refusal must say why with the secrets masked."""
    listed = yaml.safe_load((ANSIBLE_DIR / "kit_files.yml").read_text())["settings_check_modules"]
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "check-env.py"
    script.write_bytes((ANSIBLE_DIR / "roles/wandb_server/files/check-env.py").read_bytes())
    for rel in listed:
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((REPO / rel).read_bytes())
    env = tmp_path / "bad.env"
    env.write_text("WANDB_OIDC_ISSUER='https://idp.lab.example'\nWANDB_LICENSE='lic-secret-77'\n")
    # -S -I: no site-packages and no PYTHONPATH, as on a server with only python3.
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(script), "--compose-dir", str(REPO / "compose"), str(env)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "WANDB_OIDC_CLIENT_ID: is empty" in done.stderr
    assert "lic-secret-77" not in done.stderr + done.stdout
