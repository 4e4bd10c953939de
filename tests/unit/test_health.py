"""`wandb-kit health`: every layer passing against a fake server, and each failing for
the reason a user would meet (no Docker: a tiny local HTTP server plays W&B).

The server is tests/fakewandb.py's FakeWandb, with a Behaviour for each failure (401, 413
behind a 1 MB limit, /ready 503, no CORS, upload URLs to another host, slow answers, TLS with
an untrusted certificate).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wandb_local_kit.cli import main
from wandb_local_kit.commands.health import disk_layer_of
from wandb_local_kit.core import usage_samples as us
from wandb_local_kit.server import client, health, usage

from tests.fakewandb import GOOD_KEY, WRONG_KEY, Behaviour, FakeWandb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target(url: str, verify=True, values=None) -> client.Target:
    return client.Target(url=url, source="--url", values=values or {}, verify=verify)


def layers(report: health.Report) -> dict[str, health.Layer]:
    return {ly.name: ly for ly in report.layers}


# --- every layer passes ---------------------------------------------------------------------


def test_all_layers_pass_on_a_healthy_server():
    with FakeWandb() as fake:
        report = health.run(target(fake.url), GOOD_KEY, "test", deep=True, timeout=5)
    got = layers(report)
    assert list(got) == [
        "tcp",
        "healthz",
        "ready",
        "viewer",
        "versions",
        "signed-url",
        "cors",
        "large-post",
    ]
    assert all(ly.status == health.OK for ly in report.layers), health.render(report)
    assert report.exit_code == 0 and report.status == "healthy"
    assert "ada" in got["viewer"].detail
    assert "0.83.0" in got["versions"].detail
    assert all(ly.seconds >= 0 for ly in report.layers)
    # the probe file really went up and came back down through the signed URLs
    assert any(m == "PUT" for m, _ in fake.requests)
    assert ("POST", "mutation DeleteRun") in fake.requests  # and the probe run is removed


def test_plain_health_skips_the_deep_layers():
    with FakeWandb() as fake:
        report = health.run(target(fake.url), GOOD_KEY, "test", deep=False, timeout=5)
    assert list(layers(report)) == ["tcp", "healthz", "ready", "viewer", "versions"]
    assert not any(m == "PUT" for m, _ in fake.requests)


# --- each layer fails for its own reason ---------------------------------------------------------


def test_unreachable_port_exits_3_and_skips_the_rest():
    report = health.run(target(f"http://127.0.0.1:{free_port()}"), GOOD_KEY, "t", deep=True)
    got = layers(report)
    assert got["tcp"].status == health.FAIL
    assert "refused" in got["tcp"].detail
    assert "wandb-kit up" in got["tcp"].fix
    assert all(ly.status == health.SKIP for ly in report.layers[1:])
    assert report.exit_code == 3 and report.status == "unreachable"


def test_unresolvable_host_is_unreachable():
    report = health.run(target("http://no-such-host.invalid:8080"), None, "", timeout=3)
    assert layers(report)["tcp"].status == health.FAIL
    assert "cannot resolve no-such-host.invalid" in layers(report)["tcp"].detail
    assert report.exit_code == 3


def test_server_not_ready_fails_with_migration_hint():
    with FakeWandb(Behaviour(ready=503)) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t")
    ready = layers(report)["ready"]
    assert ready.status == health.FAIL
    assert "HTTP 503" in ready.detail and "migrations" in ready.detail
    assert "never interrupt" in ready.fix
    assert report.exit_code == 2


def test_healthz_error_fails():
    with FakeWandb(Behaviour(healthz=500)) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t")
    assert layers(report)["healthz"].status == health.FAIL
    assert report.exit_code == 2


def test_wrong_key_fails_viewer_with_401_named():
    with FakeWandb() as fake:
        report = health.run(target(fake.url), WRONG_KEY, "WANDB_API_KEY", deep=True)
    viewer = layers(report)["viewer"]
    assert viewer.status == health.FAIL
    assert "401" in viewer.detail and "rejected the API key" in viewer.detail
    assert "WANDB_API_KEY" in viewer.detail  # where the bad key came from
    assert "/authorize" in viewer.fix
    assert layers(report)["signed-url"].status == health.SKIP
    assert report.exit_code == 2
    assert WRONG_KEY not in health.render(report, (WRONG_KEY,))


def test_no_key_is_degraded_not_failing():
    with FakeWandb() as fake:
        report = health.run(target(fake.url), None, "", deep=True)
    assert layers(report)["viewer"].status == health.WARN
    assert "wandb-kit login" in layers(report)["viewer"].fix
    assert report.exit_code == 1 and report.status == "degraded"


def test_proxy_body_limit_shows_as_413_with_the_fix():
    with FakeWandb(Behaviour(body_limit=1 << 20)) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t", deep=True)
    post = layers(report)["large-post"]
    assert post.status == health.FAIL
    assert "413" in post.detail
    assert "client_max_body_size 0" in post.fix and "proxy-body-size" in post.fix
    assert layers(report)["viewer"].status == health.OK  # small requests still pass
    assert report.exit_code == 2


def test_storage_without_cors_is_degraded():
    with FakeWandb(Behaviour(cors=False)) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t", deep=True)
    cors = layers(report)["cors"]
    assert cors.status == health.WARN
    assert "no CORS allowance" in cors.detail and fake.url in cors.detail
    assert "browsers cannot show media" in cors.detail
    assert report.exit_code == 1


def test_upload_url_to_unreachable_host_fails_signed_url():
    b = Behaviour(upload_base="http://minio.invalid:9000")
    with FakeWandb(b) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t", deep=True, timeout=3)
    signed = layers(report)["signed-url"]
    assert signed.status == health.FAIL
    assert "minio.invalid:9000" in signed.detail
    assert "s3cr3t" not in signed.detail  # the signature is never printed
    assert signed.facts["upload_error"] == "connect"
    assert layers(report)["cors"].status == health.SKIP
    assert report.exit_code == 2


def test_sdk_newer_than_the_server_supports_is_a_warning():
    with FakeWandb(Behaviour(max_cli="0.20.0")) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t")
    v = layers(report)["versions"]
    assert v.status == health.WARN
    assert "newer than the server supports" in v.detail
    assert "wandb<=0.20.0" in v.fix
    assert report.exit_code == 1


def test_slow_server_times_out_instead_of_hanging():
    with FakeWandb(Behaviour(delays={"/healthz": 3})) as fake:
        t0 = time.monotonic()
        report = health.run(target(fake.url), GOOD_KEY, "t", timeout=0.5)
        elapsed = time.monotonic() - t0
    assert layers(report)["healthz"].status == health.FAIL
    assert "timed out" in layers(report)["healthz"].detail.lower()
    assert elapsed < 3


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tls")
    pem = d / "server.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    pem.write_text((d / "cert.pem").read_text() + (d / "key.pem").read_text())
    return pem


def test_untrusted_certificate_fails_tls_and_names_the_fix(self_signed):
    with FakeWandb(certfile=str(self_signed)) as fake:
        report = health.run(target(fake.url), GOOD_KEY, "t")
    tls = layers(report)["tls"]
    assert tls.status == health.FAIL
    assert "not trusted" in tls.detail
    assert "SSL_CERT_FILE" in tls.fix
    assert layers(report)["healthz"].status == health.OK  # checked anyway, unverified
    assert report.exit_code == 2


def test_trusted_certificate_passes_and_shows_expiry(self_signed):
    with FakeWandb(certfile=str(self_signed)) as fake:
        report = health.run(target(fake.url, verify=str(self_signed)), GOOD_KEY, "t", deep=True)
    tls = layers(report)["tls"]
    assert tls.status == health.OK  # 30 days left of 30
    assert "trusted" in tls.detail and "more days" in tls.detail
    assert all(ly.status == health.OK for ly in report.layers if ly.name != "tls")


HOUR, DAY = 3600, 86400


@pytest.mark.parametrize(
    "lifetime,left,overdue",
    [
        (12 * HOUR, 11 * HOUR, False),  # Caddy's internal CA: a fresh 12-hour certificate
        (12 * HOUR, 3 * HOUR, True),  # past the last third: Caddy should have renewed
        (90 * DAY, 20 * DAY, False),  # Let's Encrypt, inside the usual renewal window
        (90 * DAY, 10 * DAY, True),
        (365 * DAY, 13 * DAY, True),
        (365 * DAY, -1 * DAY, True),  # expired
    ],
)
def test_certificate_renewal_overdue_scales_with_its_lifetime(lifetime, left, overdue):
    now = 1_800_000_000.0
    not_after = now + left
    assert health.renewal_overdue(not_after - lifetime, not_after, now) is overdue


# --- the disk layer, from a survey already made (no Docker) ----------------------------------

GIB = 1024**3
NOW = 1_800_000_000.0


class CountedUsage(usage.Usage):
    """A survey that counts how often its JSON is built: each build re-runs warnings()."""

    builds = 0

    def to_json(self) -> dict:
        self.builds += 1
        return super().to_json()


def surveyed(free_gib: float, forecast: us.Forecast) -> CountedUsage:
    sample = us.Sample(NOW, 5 * GIB, int(free_gib * GIB), 100 * GIB)
    return CountedUsage(sample, [], [sample], forecast, NOW, projects=[("lab/bulky", 3 * GIB)])


def test_a_nearly_full_disk_warns_naming_the_project_and_the_way_out():
    u = surveyed(5, us.Forecast(None, None, "unknown: 1 sample(s)"))
    layer = disk_layer_of(u, 0.2)
    assert layer is not None and layer.status == health.WARN
    assert layer.detail == (
        "5.0 GiB free of 100.0 GiB (5%, under 10%); the most space: lab/bulky 3.0 GiB"
    )
    assert "WANDB_DATA_RETENTION_PERIOD" in layer.fix
    # --json shows the survey as `storage --json` does, built once for the layer.
    assert layer.facts["warnings"] == [layer.detail] and layer.facts["free_bytes"] == 5 * GIB
    assert u.builds == 1


def test_a_roomy_disk_is_ok_with_its_free_space_and_forecast():
    u = surveyed(50, us.Forecast(NOW + 50 * 86400, 1 * GIB, "fit"))
    layer = disk_layer_of(u, 0.2)
    assert layer is not None and layer.status == health.OK and layer.fix == ""
    assert layer.detail == "50.0 GiB free of 100.0 GiB; forecast full 2027-03-06"
    assert layer.facts["forecast"]["days_left"] == 50.0
    assert u.builds == 1


def test_an_unmeasured_disk_gives_no_layer():
    # No container answered df: the other layers say why the stack is down.
    u = CountedUsage(None, [], [], us.Forecast(None, None, "unknown"), NOW)
    assert disk_layer_of(u, 0.2) is None


# --- the command ---------------------------------------------------------------------------------


def run_kit(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "NETRC"))}
    env.update(
        HOME=str(tmp_path), NETRC=str(tmp_path / ".netrc"), WANDB_CONFIG_DIR=str(tmp_path / "cfg")
    )
    env.update(extra)
    return env


def test_cli_json_report_and_exit_code(tmp_path):
    with FakeWandb() as fake:
        env = clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY)
        result = run_kit("health", "--url", fake.url, "--json", "--deep", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "healthy" and report["exit_code"] == 0
    assert report["key_source"] == "WANDB_API_KEY"
    assert {ly["name"] for ly in report["layers"]} >= {"tcp", "signed-url", "large-post"}
    assert all({"status", "seconds", "detail"} <= set(ly) for ly in report["layers"])
    assert GOOD_KEY not in result.stdout + result.stderr


def test_cli_unreachable_exits_3_without_traceback(tmp_path):
    result = run_kit("health", "--url", f"http://127.0.0.1:{free_port()}", env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "refused" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_bad_url_is_a_clear_usage_error(tmp_path):
    result = run_kit("health", "--url", "wandb.lab:8080", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "is not an http(s) URL" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_help_documents_health_exit_codes():
    out = run_kit("health", "--help").stdout
    for line in ("0    healthy", "1    degraded", "2    failing", "3    unreachable"):
        assert line in out


def test_plain_health_imports_neither_wandb_nor_torch(tmp_path):
    with FakeWandb() as fake:
        code = (
            "import sys; from wandb_local_kit.cli import main; rc = main(['health', '--url', "
            f"'{fake.url}']); "
            "print('LOADED', [m for m in ('wandb', 'torch') if m in sys.modules], rc)"
        )
        env = clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
        )
    assert "LOADED [] 0" in result.stdout, result.stdout + result.stderr


def test_key_from_netrc_is_used_and_never_printed(tmp_path):
    with FakeWandb() as fake:
        (tmp_path / ".netrc").write_text(
            f"machine localhost:{fake.port}\n  login user\n  password {GOOD_KEY}\n"
        )
        result = run_kit("health", "--url", fake.url, env=clean_env(tmp_path))
    assert result.returncode == 0, result.stdout
    assert f".netrc (localhost:{fake.port})" in result.stdout
    assert GOOD_KEY not in result.stdout + result.stderr


def test_in_process_main_returns_exit_code(capsys):
    with FakeWandb(Behaviour(ready=503)) as fake:
        os.environ.pop("WANDB_API_KEY", None)
        code = main(["health", "--url", fake.url])
    assert code == 2
    assert "not ready" in capsys.readouterr().out


# --- absurd input is refused with the range, never a crash ------------------------------------


@pytest.mark.parametrize("command", ["health", "doctor"])
def test_an_absurd_timeout_is_refused_with_the_range(tmp_path, command):
    # Before: `--timeout 1e308` overflowed the socket clock: "internal error (a bug)", 70.
    result = run_kit(command, "--url", "http://127.0.0.1:9", "--timeout", "1e308",
                     env=clean_env(tmp_path))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "at most 3600" in result.stderr and "give e.g. 10" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url",
    ["http://" + "a" * 100_000, "http://" + "b" * 64 + ".lab:8080", "http://[::1"],
    ids=["100k-characters", "a-label-past-63", "unclosed-ipv6"],
)
def test_an_unusable_url_is_refused_without_echoing_it(tmp_path, url):
    # Before: a host no resolver takes crashed in the IDNA codec: exit 70.
    result = run_kit("health", "--url", url, env=clean_env(tmp_path))
    assert result.returncode == 2, result.stderr[-500:]
    assert "fix: give the URL clients use" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 1000
