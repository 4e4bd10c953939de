"""scripts/build-images.sh moves a tag that a running container may still use (another
deployment's test stack on the same engine): it says so, naming the containers, instead
of re-tagging silently."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.portable]


def _build(prefix: str, label: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "KIT_IMAGE_PREFIX": prefix,
        # a label of its own makes each build a new image (every layer still cached)
        "KIT_DOCKER_BUILD_ARGS": f"--label kit.test.build={label}",
    }
    return subprocess.run(
        ["scripts/build-images.sh", "mysql"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_rebuilt_tag_names_the_running_containers_of_the_old_image(docker_client):
    prefix = f"kit-retag-{uuid.uuid4().hex[:8]}/"
    tag, name = f"{prefix}mysql:test", f"kit-retag-{uuid.uuid4().hex[:8]}"
    try:
        first = _build(prefix, "one")
        assert first.returncode == 0, first.stderr
        assert "now names a new image" not in first.stderr + first.stdout
        subprocess.run(
            ["docker", "run", "-d", "--name", name, "--entrypoint", "sleep", tag, "300"],
            check=True, capture_output=True,
        )  # fmt: skip
        second = _build(prefix, "two")
        assert second.returncode == 0, second.stderr
        said = second.stderr + second.stdout
        assert f"{tag} now names a new image" in said and name in said, said
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        for image in docker_client.images.list(name=f"{prefix}mysql"):
            subprocess.run(["docker", "rmi", "-f", image.id], capture_output=True)
