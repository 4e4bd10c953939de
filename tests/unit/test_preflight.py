"""Preflight decisions on simulated hosts."""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import time

import pytest
from wandb_local_kit.stack import preflight as pf
from wandb_local_kit.stack import settings

from tests.require import unavailable


def build_values(existing, defaults, choices):
    """init's values for argparse-shaped choices (the domain takes a plain dict)."""
    return settings.build_values(existing, defaults, vars(choices))


GIB = pf.GIB


def host(**kw) -> pf.HostFacts:
    base = dict(
        arch="x86_64",
        cpus=8,
        memory=32 * GIB,
        disk_free=500 * GIB,
        engine_version="27.3.1",
        compose_version="2.40.3",
    )
    base.update(kw)
    return pf.HostFacts(**base)


def values(**overrides) -> dict[str, str]:
    a = argparse.Namespace(storage=None, tls=None, host=None, bind=None, bucket_url=None)
    v = build_values({}, settings.example_values(settings.default_compose_dir()), a)
    v.update({"WANDB_LICENSE": "eyJ-license", **overrides})
    return settings.derive(v)


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_good_host_passes_everything():
    checks = pf.check(host(), values())
    assert {c.status for c in checks} == {pf.OK}


def test_arm_host_is_warned_clearly():
    c = by_name(pf.check(host(arch="aarch64"), values()))["architecture"]
    assert c.status == pf.WARN and "amd64 only" in c.detail


@pytest.mark.parametrize(
    "facts,name,status",
    [
        (dict(cpus=2), "CPU cores", pf.WARN),
        (dict(cpus=1), "CPU cores", pf.FAIL),
        (dict(memory=6 * GIB), "memory", pf.WARN),
        (dict(memory=2 * GIB), "memory", pf.FAIL),
        (dict(disk_free=50 * GIB), "free disk", pf.WARN),
        (dict(disk_free=5 * GIB), "free disk", pf.FAIL),
        (dict(engine_version=None), "docker engine", pf.FAIL),
        (dict(engine_version="19.03.1"), "docker engine", pf.FAIL),
        (dict(compose_version=None), "compose v2", pf.FAIL),
        (dict(compose_version="2.17.0"), "compose v2", pf.FAIL),
    ],
)
def test_resources_and_tools(facts, name, status):
    c = by_name(pf.check(host(**facts), values()))[name]
    assert c.status == status
    if status != pf.OK:
        assert c.fix


def test_busy_port_fails_naming_the_setting():
    checks = pf.check(host(busy_ports={("127.0.0.1", 8080)}), values())
    c = by_name(checks)["port 8080"]
    assert c.status == pf.FAIL and "WANDB_PORT" in c.fix


def test_busy_port_of_our_own_running_stack_is_fine():
    checks = pf.check(host(busy_ports={("127.0.0.1", 8080)}, stack_running=True), values())
    assert "port 8080" not in by_name(checks)


def test_host_port_must_match_published_port():
    c = by_name(pf.check(host(), values(WANDB_HOST="http://localhost:9999")))["HOST"]
    assert c.status == pf.FAIL and "9999" in c.detail


def test_remote_host_name_on_loopback_bind_is_warned():
    v = values(WANDB_HOST="http://wandb.lab.test:8080")
    c = by_name(pf.check(host(), v))["HOST"]
    assert c.status == pf.WARN and "other machines cannot reach it" in c.detail
    v["WANDB_BIND"] = "0.0.0.0"
    assert by_name(pf.check(host(), v))["HOST"].status == pf.OK


def test_missing_license_is_a_warning():
    c = by_name(pf.check(host(), values(WANDB_LICENSE="")))["license"]
    assert c.status == pf.WARN


def test_incomplete_env_fails():
    c = by_name(pf.check(host(), values(MYSQL_PASSWORD="", WANDB_STORAGE="external")))[".env"]
    assert c.status == pf.FAIL and "MYSQL_PASSWORD" in c.detail


def test_a_valid_env_is_not_called_complete_and_valid_when_parts_went_unjudged():
    c = by_name(pf.check(host(), values()))[".env"]
    assert c.status == pf.OK and "complete and valid" not in c.detail
    # Without the compose folder, the compose files could not be looked at: said so.
    assert "not judged here" in c.detail and "COMPOSE_FILE" in c.detail
    # The license is the server's to judge.
    assert "WANDB_LICENSE" in c.detail


def test_with_the_compose_folder_the_compose_files_are_judged():
    folder = settings.default_compose_dir()
    c = by_name(pf.check(host(), values(), folder))[".env"]
    assert c.status == pf.OK and "COMPOSE_FILE" not in c.detail
    v = values()
    v["COMPOSE_FILE"] = "compose.yaml:/etc/passwd"  # as edited by hand (derive writes its own)
    c = by_name(pf.check(host(), v, folder))[".env"]
    assert c.status == pf.FAIL and "COMPOSE_FILE" in c.detail


def test_checks_skipped_for_a_bad_env_are_named():
    c = by_name(pf.check(host(), values(WANDB_PORT="１８０９５")))[".env"]
    assert c.status == pf.FAIL and "WANDB_PORT" in c.detail and "ASCII digits" in c.detail
    assert "not checked" in c.detail  # ports and WANDB_HOST wait for the fix


def test_ports_of_our_own_running_stack_are_said_to_be_unchecked():
    checks = by_name(pf.check(host(stack_running=True), values()))
    assert checks["ports"].status == pf.OK and "not checked" in checks["ports"].detail


def test_memory_limit_above_the_hosts_memory_is_named():
    c = by_name(pf.check(host(memory=32 * GIB), values(WANDB_MEMORY="64g")))["WANDB_MEMORY"]
    assert c.status == pf.WARN and "32.0 GiB" in c.detail and "WANDB_MEMORY=" in c.fix
    assert "WANDB_MEMORY" not in by_name(pf.check(host(memory=32 * GIB), values()))


@pytest.mark.parametrize(
    "value,said",
    [("99999999999999999999g", "more than Docker"), ("１g", "not a size")],
)
def test_memory_docker_refuses_fails_preflight(value, said):
    checks = by_name(pf.check(host(), values(WANDB_MEMORY=value)))
    c = checks[".env"]
    assert c.status == pf.FAIL and "WANDB_MEMORY" in c.detail and said in c.detail
    assert "WANDB_MEMORY" not in checks  # no host comparison of a size Docker refuses


def test_cpus_in_fullwidth_digits_fail_preflight():
    checks = by_name(pf.check(host(), values(WANDB_CPUS="４")))
    assert checks[".env"].status == pf.FAIL and "WANDB_CPUS" in checks[".env"].detail


def _time_wait_port() -> int:
    """A loopback port whose last connection is in TIME-WAIT, as right after `down`."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As docker-proxy's listener (Go sets SO_REUSEADDR on every listener): the
    # TIME-WAIT it leaves keeps that flag, and Linux lets a new bind pass it
    # only when both sockets carry it.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    server.close()
    conn.close()  # the server side closes first, so its socket goes to TIME-WAIT
    client.recv(1)
    client.close()
    time.sleep(0.1)
    if shutil.which("ss") is None:
        return port
    states = subprocess.run(["ss", "-tan", f"sport = :{port}"], capture_output=True, text=True)
    if "TIME-WAIT" not in states.stdout:
        unavailable(f"no TIME-WAIT on port {port}: {states.stdout or states.stderr}")
    return port


def test_a_port_in_time_wait_is_free_and_a_listener_is_busy():
    port = _time_wait_port()
    assert pf._port_free("127.0.0.1", port), "TIME-WAIT left by `down` is not a listener"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        assert not pf._port_free("127.0.0.1", listener.getsockname()[1])


def test_a_listener_on_ipv6_loopback_is_busy():
    if not socket.has_ipv6:
        unavailable("no IPv6 on this host")
    try:
        listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        listener.bind(("::1", 0))
    except OSError:
        unavailable("no IPv6 loopback on this host")
    with listener:
        listener.listen(1)
        port = listener.getsockname()[1]
        assert not pf._port_free("::1", port)
    assert pf._port_free("::1", port)
