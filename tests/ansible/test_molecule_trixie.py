"""The collection's molecule scenario on Debian 13 (trixie), the second tested platform:
a lab server built FROM the local trixie base (scripts/make-base-image.sh with
KIT_DEBIAN_RELEASE=trixie, tests/images/lab-server as lab-server-trixie), `molecule test`
(syntax, converge, idempotence, verify) with the collection installed from its tarball.
Debian 13 packages compose v2 (docker-compose), so the engine role installs it from
Debian here, where Debian 12 needs the controller's binary. Debian 12 runs the same
steps in test_playbook.py, whose tests then use that converged server.

Run by `make test-platforms` (KIT_PLATFORM_MATRIX=1) and CI's platforms job; `make test`
deselects it (tests/ansible/conftest.py says why)."""

from __future__ import annotations

import re

import pytest

from tests.ansible.conftest import (
    TEST_LICENSE,
    lab_settings,
    run_molecule,
    serve_lab,
)
from tests.integration.conftest import docker_client, test_image  # noqa: F401


@pytest.fixture(scope="module")
def trixie_server(docker_client, test_image, tmp_path_factory):  # noqa: F811
    yield from serve_lab(docker_client, test_image, tmp_path_factory, "lab-server-trixie")


@pytest.mark.integration
@pytest.mark.platform_matrix
def test_molecule_test_passes_on_debian_13(
    trixie_server,
    standin_archive,
    test_image,  # noqa: F811
    installed_collection,
):
    release = trixie_server.exec("sh", "-c", ". /etc/os-release && echo $VERSION_ID").strip()
    assert release == "13", release
    trixie_server.inventory()
    lab_dir = trixie_server.settings(
        lab_settings(trixie_server, standin_archive, test_image("wandb-standin"))
    )
    run = run_molecule("test", lab_dir, installed_collection)
    print(f"molecule test on Debian 13: {run.seconds:.1f} s")
    assert run.returncode == 0, run.explain()
    assert re.search(r"default > idempotence\S*:? .*Successful", run.output), run.explain()
    assert re.search(r"default > verify\S*:? .*Successful", run.output), run.explain()
    assert TEST_LICENSE not in run.output
    # Debian's own compose v2, not a binary from the controller.
    assert trixie_server.exec("dpkg-query", "-W", "-f", "${Status}", "docker-compose").endswith(
        "installed"
    )
