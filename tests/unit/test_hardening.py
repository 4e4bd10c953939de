"""The wrong answers a review of the whole kit found, each pinned: what the kit said before was
misleading or a traceback; these say what is true."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from wandb_local_kit.core.envfile import render, write_private
from wandb_local_kit.server import client, doctor, health
from wandb_local_kit.stack import preflight, settings
from wandb_local_kit.stack.deployment import Deployment
from wandb_local_kit.testing import LiveServer

from tests.fakewandb import Behaviour, FakeWandb, Reply
from tests.unit.test_doctor import evidence, ok_layers

KEY = "local-" + "e5" * 20


@pytest.mark.parametrize(
    "code,payload,ctype,status",
    [
        (200, {"data": {"project": None}}, "application/json", health.OK),
        (400, {"errors": [{"message": "bad run"}]}, "application/json", health.OK),
        (400, b"<html>400 Bad Request</html>", "text/html", health.FAIL),
        (401, {"errors": [{"message": "unauthorized"}]}, "application/json", health.FAIL),
        (500, b"Internal Server Error", "text/plain", health.FAIL),
        (413, b"Request Entity Too Large", "text/html", health.FAIL),
    ],
)
def test_the_10_mb_post_counts_only_what_reached_the_server(code, payload, ctype, status):
    answer = Reply(code, payload, ctype)
    with FakeWandb(Behaviour(replies={"/graphql": answer})) as srv:
        layer = health.check_large_post(client.session(), srv.url, KEY, "ada", 30)
    assert layer.status == status, layer.detail
    if code in (401,):
        assert "API key" in layer.detail and "wandb-kit login" in layer.fix


def test_a_probe_file_listed_without_a_url_fails_the_layer_not_the_command():
    files = [{"name": "wandb-kit-probe.txt", "uploadUrl": "/upload"}]
    node = {"name": "wandb-kit-probe.txt", "url": None, "directUrl": None}
    answers = {
        "UpsertBucket": {"upsertBucket": {"bucket": {"id": "r1"}}},
        "CreateRunFiles": {"createRunFiles": {"files": files}},
        # listed, but with neither url nor directUrl
        "RunFiles": {"project": {"run": {"files": {"edges": [{"node": node}]}}}},
    }
    b = Behaviour(keys={KEY: ("ada", False)}, graphql=answers)
    with FakeWandb(b) as srv:
        layer, download = health.check_signed_url(client.session(), srv.url, KEY, "ada", 5)
    assert layer.status == health.FAIL and download is None
    assert "does not list the file with a download URL" in layer.detail


def test_doctor_names_a_scheme_less_host_instead_of_aborting():
    layers = ok_layers(
        versions=health.Layer(
            "versions", health.OK, 0.001, "ok", facts={"frontend_host": "wandb.lab.test:8080"}
        )
    )
    findings = doctor.diagnose(evidence(layers=layers))
    found = [f for f in findings if f.pitfall == "host-mismatch"]
    assert found and "without http:// or https://" in found[0].found


def test_ports_below_1024_are_not_in_use_just_because_this_user_cannot_bind_them(monkeypatch):
    def refuse(self, address):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    assert preflight._port_free("0.0.0.0", 443) is True


def test_a_port_really_in_use_is_reported():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        assert preflight._port_free("127.0.0.1", held.getsockname()[1]) is False


def _deployment(tmp_path: Path, **changes) -> Deployment:
    compose_dir = settings.default_compose_dir()
    values = settings.build_values({}, settings.example_values(compose_dir), {})
    values.update(changes)
    env = tmp_path / ".env"
    write_private(env, render((compose_dir / ".env.example").read_text(), values))
    return Deployment.load(compose_dir, env)


def test_upgrade_verifies_the_stack_it_upgraded_not_the_shells_server(tmp_path, monkeypatch):
    from wandb_local_kit.ops import upgrade

    dep = _deployment(tmp_path, WANDB_HOST="http://wandb.lab.test:8080")
    monkeypatch.setenv("WANDB_BASE_URL", "http://somewhere-else:9999")
    seen = {}

    def fake_run(target, key, source, deep, timeout):
        seen["url"] = target.url
        return health.Report(target.url, target.source, source, deep, [])

    monkeypatch.setattr(health, "run", fake_run)
    monkeypatch.setattr(health, "render", lambda report, secrets=(): "")
    upgrade._deep_health(health, dep)
    assert seen["url"] == "http://wandb.lab.test:8080"


def test_the_kits_own_ca_wins_over_a_preset_bundle_and_failures_name_the_bundle(tmp_path):
    dep = _deployment(tmp_path, WANDB_HOST="https://wandb.lab.test", WANDB_TLS="internal")
    dep.certs_dir.mkdir(parents=True)
    dep.ca_export.write_text("-----BEGIN CERTIFICATE-----\n")
    corporate = {"SSL_CERT_FILE": "/etc/corp-bundle.pem"}
    own = client.target_for(dep, environ=corporate)
    assert own.verify == str(dep.ca_export) and "exported" in own.ca_source
    elsewhere = client.target_for(dep, url="https://other.lab.test", environ=corporate)
    assert elsewhere.verify == "/etc/corp-bundle.pem"
    assert "SSL_CERT_FILE" in elsewhere.ca_source


def test_a_live_servers_repr_shows_no_key_and_no_settings(tmp_path):
    server = LiveServer(
        "http://127.0.0.1:1", KEY, "p", {"MYSQL_PASSWORD": "hunter2-long"},
        tmp_path / ".env", tmp_path, [],
    )  # fmt: skip
    text = repr(server)
    assert KEY not in text and "hunter2-long" not in text and "http://127.0.0.1:1" in text


def test_preflight_measures_free_disk_where_docker_keeps_its_data(monkeypatch, tmp_path):
    """Not /var/lib/docker by assumption: the data root `docker info` names."""
    import types

    from wandb_local_kit.stack import compose

    seen = []
    monkeypatch.setattr(compose.shutil, "which", lambda name: "/usr/bin/docker")
    monkeypatch.setattr(compose, "docker", lambda *a, **k: "/srv/docker-data\n")
    usage = types.SimpleNamespace(total=1 << 41, used=0, free=1 << 40)
    monkeypatch.setattr(
        preflight.shutil, "disk_usage", lambda path: seen.append(str(path)) or usage
    )
    monkeypatch.setattr(preflight, "_memory_total", lambda: 16 << 30)
    values = settings.build_values({}, settings.example_values(settings.default_compose_dir()), {})
    preflight.observe(values, tmp_path)
    assert seen == ["/srv/docker-data"]


def test_smoke_cleanup_trusts_the_ca_the_checks_used(monkeypatch, tmp_path):
    import sys
    import types

    from wandb_local_kit.smoke import runner
    from wandb_local_kit.smoke.context import SmokeContext

    seen = {}

    class FakeApi:
        default_entity = "ada"

        def __init__(self, **kwargs):
            seen["ca"] = (os.environ.get("SSL_CERT_FILE"), os.environ.get("REQUESTS_CA_BUNDLE"))

        def runs(self, path, filters):
            return []

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(Api=FakeApi))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    ctx = SmokeContext("https://w.lab", KEY, "p", "t", str(tmp_path), ca_file="/kit/ca.pem")
    assert runner.cleanup(ctx) == 0
    assert seen["ca"] == ("/kit/ca.pem", "/kit/ca.pem")
    assert "SSL_CERT_FILE" not in os.environ  # put back as it was


def test_bench_raw_put_failures_are_a_phase_error_naming_the_step(tmp_path):
    from wandb_local_kit.bench import phases
    from wandb_local_kit.smoke.context import SmokeContext

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once the socket is closed
    ctx = SmokeContext(f"http://127.0.0.1:{closed}", KEY, "p", "t", str(tmp_path))
    with pytest.raises(phases.PhaseError, match="while asking the server for an upload URL"):
        phases.raw_put(ctx, 1, True)
