"""`wandb-kit doctor`: each known pitfall, induced in the evidence, is detected with its
fix; healthy evidence yields no finding; docs/troubleshooting.md's table is the catalogue.

Most tests feed the pure detectors simulated evidence (a health report, .env values,
facts about this machine); the end-to-end ones run the real checks against
tests/fakewandb.py's FakeWandb.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from wandb_local_kit.server import client, doctor, health

from tests.fakewandb import GOOD_KEY, Behaviour, FakeWandb
from tests.unit.test_health import clean_env, free_port, run_kit

GIB = 1024**3
URL = "http://wandb.lab.test:8080"
TROUBLESHOOTING = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"


def ok_layers(**changes: health.Layer) -> list[health.Layer]:
    base = {
        "tcp": health.Layer("tcp", health.OK, 0.001, "connected"),
        "healthz": health.Layer("healthz", health.OK, 0.001, "HTTP 200", facts={}),
        "ready": health.Layer("ready", health.OK, 0.001, "HTTP 200"),
        "viewer": health.Layer("viewer", health.OK, 0.001, "ada"),
        "versions": health.Layer("versions", health.OK, 0.001, "ok", facts={}),
        "signed-url": health.Layer(
            "signed-url", health.OK, 0.01, "ok",
            facts={"upload_url": f"{URL}/local-files/a/b", "upload_netloc": "wandb.lab.test:8080"},
        ),
        "cors": health.Layer("cors", health.OK, 0.001, "ok"),
        "large-post": health.Layer("large-post", health.OK, 0.1, "ok"),
    }  # fmt: skip
    base.update(changes)
    return list(base.values())


def evidence(
    layers=None,
    values=None,
    local: doctor.LocalFacts | None = None,
    url: str = URL,
    key_source: str = "WANDB_API_KEY",
) -> doctor.Evidence:
    values = {} if values is None else values
    target = client.Target(url=url, source="--url", values=values)
    report = health.Report(url, "--url", key_source, True, layers or ok_layers())
    local = local or doctor.LocalFacts(arch="x86_64", memory=16 * GIB)
    return doctor.Evidence(target, report, local, values)


def healthy_values(**kw) -> dict[str, str]:
    v = {
        "WANDB_HOST": URL,
        "WANDB_PORT": "8080",
        "WANDB_TLS": "off",
        "WANDB_BIND": "0.0.0.0",
        "WANDB_LICENSE": "lic",
        "WANDB_ADMIN_API_ENABLED": "false",
        "COMPOSE_PROJECT_NAME": "wandb",
    }
    v.update(kw)
    return v


def running(*services: str) -> list[dict]:
    return [{"Service": s, "State": "running", "Name": f"wandb-{s}-1"} for s in services]


def ids(ev: doctor.Evidence) -> dict[str, doctor.Finding]:
    return {f.pitfall: f for f in doctor.diagnose(ev)}


# --- the table -------------------------------------------------------------------------------


def test_at_least_ten_pitfalls_each_with_symptom_cause_fix_and_a_detector():
    assert len(doctor.PITFALLS) >= 10
    assert len({p.id for p in doctor.PITFALLS}) == len(doctor.PITFALLS)
    for p in doctor.PITFALLS:
        assert p.symptom and p.cause and p.fix, p.id
        assert p.id in doctor.DETECTORS, f"{p.id} has no detector"


def test_troubleshooting_page_is_the_pitfall_table():
    text = TROUBLESHOOTING.read_text()
    m = re.search(r"<!-- pitfalls:begin -->\n(.*?)\n<!-- pitfalls:end -->", text, re.S)
    assert m, "docs/troubleshooting.md lacks the generated pitfall table"
    assert m.group(1).strip() == doctor.render_markdown().strip(), (
        "docs/troubleshooting.md's pitfall table drifted from the doctor catalogue: "
        "regenerate it with `wandb-kit doctor --markdown`"
    )


def test_healthy_evidence_has_no_finding():
    local = doctor.LocalFacts(
        arch="x86_64", memory=16 * GIB, disk_path="/var/lib/docker", disk_free=500 * GIB,
        disk_total=1000 * GIB, services=running("wandb"), restarts={"wandb": 0},
    )  # fmt: skip
    assert doctor.diagnose(evidence(values=healthy_values(), local=local)) == []


# --- one test per pitfall ---------------------------------------------------------------------


def test_host_mismatch_from_frontend_host():
    versions = health.Layer(
        "versions", health.OK, 0, "", facts={"frontend_host": "http://localhost:8080"}
    )
    f = ids(evidence(ok_layers(versions=versions)))["host-mismatch"]
    assert f.severity == doctor.FAIL
    assert "HOST is http://localhost:8080" in f.found and URL in f.found
    assert f"WANDB_HOST={URL}" in f.fix


def test_host_mismatch_from_the_signed_upload_url():
    signed = health.Layer(
        "signed-url", health.FAIL, 0, "upload failed: connection refused",
        facts={"upload_url": "http://localhost:9999/local-files/a/x",
               "upload_netloc": "localhost:9999", "upload_error": "connect"},
    )  # fmt: skip
    found = ids(evidence(ok_layers(**{"signed-url": signed})))
    assert "localhost:9999" in found["host-mismatch"].found
    assert "bucket-unreachable" not in found  # /local-files is W&B itself, not a bucket


def test_host_mismatch_from_env_file_for_the_same_port():
    values = healthy_values(WANDB_HOST="http://old-name:8080")
    local = doctor.LocalFacts(arch="x86_64", memory=16 * GIB, services=running("wandb"))
    f = ids(evidence(values=values, local=local))["host-mismatch"]
    assert ".env says http://old-name:8080" in f.found


def test_bucket_unreachable_from_the_signed_url():
    signed = health.Layer(
        "signed-url", health.FAIL, 0, "upload to http://minio:9000/wandb/x failed: cannot resolve",
        facts={"upload_url": "http://minio:9000/wandb/x", "upload_netloc": "minio:9000",
               "upload_error": "connect"},
    )  # fmt: skip
    f = ids(evidence(ok_layers(**{"signed-url": signed})))["bucket-unreachable"]
    assert "minio:9000" in f.found and "WANDB_BUCKET_PUBLIC_URL" in f.fix


def test_bucket_unreachable_from_the_env_file():
    local = doctor.LocalFacts(
        arch="x86_64", memory=16 * GIB, bucket_url="http://seaweedfs:8333",
        bucket_error="the name seaweedfs does not resolve on this machine",
    )  # fmt: skip
    f = ids(evidence(values=healthy_values(WANDB_STORAGE="external"), local=local))
    assert "does not resolve" in f["bucket-unreachable"].found
    assert "never `seaweedfs`" in doctor.PITFALL["bucket-unreachable"].fix


def test_cors_missing():
    cors = health.Layer("cors", health.WARN, 0, "storage at x sends no CORS allowance for y")
    assert ids(evidence(ok_layers(cors=cors)))["cors-missing"].severity == doctor.WARN


def test_body_limit():
    post = health.Layer("large-post", health.FAIL, 0, "HTTP 413 Request Entity Too Large")
    f = ids(evidence(ok_layers(**{"large-post": post})))["body-limit"]
    assert "413" in f.found and "client_max_body_size 0" in doctor.PITFALL["body-limit"].fix


def test_wrong_key():
    viewer = health.Layer("viewer", health.FAIL, 0, "401", facts={"status_code": 401})
    f = ids(evidence(ok_layers(viewer=viewer), key_source=".netrc (x)"))["wrong-key"]
    assert ".netrc" in f.checked and f"{URL}/authorize" in f.fix


def test_no_key():
    viewer = health.Layer("viewer", health.WARN, 0, "no API key")
    assert "no-key" in ids(evidence(ok_layers(viewer=viewer), key_source=""))


def test_not_ready():
    ready = health.Layer("ready", health.FAIL, 0, "HTTP 503: not ready")
    assert ids(evidence(ok_layers(ready=ready)))["not-ready"].severity == doctor.FAIL


def test_dirty_migration_in_logs():
    local = doctor.LocalFacts(logs="...\npanic: Dirty database version 42. Fix and force\n")
    f = ids(evidence(local=local))["dirty-migration"]
    assert "Dirty database version 42" in f.found


def test_untrusted_cert():
    tls = health.Layer("tls", health.FAIL, 0, "certificate not trusted: self-signed certificate")
    f = ids(evidence([tls, *ok_layers()], url="https://wandb.lab.test"))["untrusted-cert"]
    assert "self-signed" in f.found and "SSL_CERT_FILE" in doctor.PITFALL["untrusted-cert"].fix


def test_sdk_version_range():
    v = health.Layer("versions", health.WARN, 0, "newer than the server supports", "pin it")
    assert ids(evidence(ok_layers(versions=v)))["sdk-version-range"].fix == "pin it"


def test_license_missing():
    f = ids(evidence(values=healthy_values(WANDB_LICENSE="")))["license-missing"]
    assert "WANDB_LICENSE" in f.checked


def test_arm_host():
    local = doctor.LocalFacts(arch="aarch64", memory=16 * GIB)
    assert "aarch64" in ids(evidence(values=healthy_values(), local=local))["arm-host"].found


@pytest.mark.parametrize(
    "free,total,severity",
    [
        (1 * GIB, 500 * GIB, doctor.FAIL),  # under 2 GiB
        (8 * GIB, 100 * GIB, doctor.WARN),  # under 10 GiB
        (30 * GIB, 2000 * GIB, doctor.FAIL),  # 1.5 %
        (40 * GIB, 300 * GIB, None),
    ],
)
def test_disk_low(free, total, severity):
    local = doctor.LocalFacts(disk_path="/var/lib/docker", disk_free=free, disk_total=total)
    found = ids(evidence(local=local))
    if severity is None:
        assert "disk-low" not in found
    else:
        assert found["disk-low"].severity == severity
        assert "GiB free" in found["disk-low"].found


def test_memory_low():
    local = doctor.LocalFacts(arch="x86_64", memory=2 * GIB)
    assert "2.0 GiB" in ids(evidence(values=healthy_values(), local=local))["memory-low"].found


def test_volume_permissions_in_logs():
    local = doctor.LocalFacts(logs="mkdir /vol/minio/local-files: permission denied\n")
    f = ids(evidence(local=local))["volume-permissions"]
    assert "/vol/minio" in f.found and "999:0" in doctor.PITFALL["volume-permissions"].fix


def test_container_restarts_with_oom_and_last_log_lines():
    local = doctor.LocalFacts(
        services=running("wandb"), restarts={"wandb": 3}, oom_killed={"wandb": True},
        logs="line a\nline b\nKilled\n",
    )  # fmt: skip
    f = ids(evidence(local=local))["container-restarts"]
    assert "restarted 3 time(s)" in f.found and "OOMKilled" in f.found
    assert "Killed" in f.found and "WANDB_MEMORY" in f.fix
    assert f.severity == doctor.FAIL


def test_stack_not_running():
    tcp = health.Layer("tcp", health.FAIL, 0, "refused")
    services = [{"Service": "wandb", "State": "exited", "Name": "w"}]
    local = doctor.LocalFacts(services=services)
    found = ids(evidence(ok_layers(tcp=tcp), values=healthy_values(), local=local))
    assert "wandb exited" in found["stack-not-running"].found
    assert "unreachable" not in found  # the specific finding replaces the generic one


def test_unreachable_remote_server():
    tcp = health.Layer("tcp", health.FAIL, 0, "no answer within 10 s", "check the firewall")
    f = ids(evidence(ok_layers(tcp=tcp)))["unreachable"]
    assert f.fix == "check the firewall"


def test_bind_loopback_while_host_names_the_network():
    values = healthy_values(WANDB_BIND="127.0.0.1")
    assert "WANDB_BIND=127.0.0.1" in ids(evidence(values=values))["bind-loopback"].found


def test_clock_skew_from_the_date_header():
    import time
    from email.utils import formatdate

    now = float(int(time.time()))  # the Date header has whole seconds
    hz = health.Layer(
        "healthz", health.OK, 0, "", facts={"date": formatdate(now + 1200, usegmt=True),
                                            "local_time": now},
    )  # fmt: skip
    f = ids(evidence(ok_layers(healthz=hz)))["clock-skew"]
    assert f.severity == doctor.FAIL and "+1200 s" in f.found


def test_admin_api_left_on_is_a_note_that_does_not_fail():
    ev = evidence(values=healthy_values(WANDB_ADMIN_API_ENABLED="true"))
    findings = doctor.diagnose(ev)
    assert [f.pitfall for f in findings] == ["admin-api-on"]
    assert doctor.exit_code(findings, ev.report) == 0


# --- end to end against the fake server ---------------------------------------------------------


def _args(tmp_path, url):
    return argparse.Namespace(url=url, ca_file=None, compose_dir=tmp_path, env_file=None)


def test_doctor_names_host_mismatch_against_a_server_with_the_wrong_host(tmp_path):
    wrong = f"http://localhost:{free_port()}"
    b = Behaviour(upload_base=wrong, frontend_host=wrong)
    with FakeWandb(b) as fake:
        result = run_kit(
            "doctor", "--url", fake.url, "--compose-dir", str(tmp_path),
            env=clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY),
        )  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert "(host-mismatch)" in result.stdout
    assert f"HOST is {wrong}" in result.stdout
    assert f"fix:     set WANDB_HOST={fake.url}" in result.stdout
    assert "Traceback" not in result.stderr


def test_doctor_json_lists_findings_with_fixes(tmp_path):
    with FakeWandb(Behaviour(body_limit=1 << 20, cors=False)) as fake:
        result = run_kit(
            "doctor", "--url", fake.url, "--json", "--compose-dir", str(tmp_path),
            env=clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY),
        )  # fmt: skip
    out = json.loads(result.stdout)
    got = {f["pitfall"]: f for f in out["findings"]}
    assert {"body-limit", "cors-missing"} <= set(got)
    assert all(f["fix"] and f["checked"] and f["found"] for f in out["findings"])
    assert out["exit_code"] == result.returncode == 2


def test_doctor_on_an_unreachable_server_exits_3(tmp_path):
    result = run_kit(
        "doctor", "--url", f"http://127.0.0.1:{free_port()}", "--compose-dir", str(tmp_path),
        env=clean_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 3
    assert "(unreachable)" in result.stdout


def test_doctor_markdown_prints_the_table():
    result = run_kit("doctor", "--markdown")
    assert result.returncode == 0
    assert result.stdout.strip() == doctor.render_markdown().strip()


def test_doctor_goes_on_past_a_license_nested_thousands_deep(tmp_path):
    # Before: json.loads raised RecursionError out of the whole run: "internal error (a
    # bug)", exit 70, and none of the other checks reported.
    import base64

    payload = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).rstrip(b"=").decode()
    env_file = tmp_path / ".env"
    env_file.write_text(f"WANDB_LICENSE='eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln'\n")
    env_file.chmod(0o600)
    with FakeWandb() as fake:
        result = run_kit(
            "doctor", "--url", fake.url, "--json", "--env-file", str(env_file),
            "--compose-dir", str(tmp_path), env=clean_env(tmp_path, WANDB_API_KEY=GOOD_KEY),
        )  # fmt: skip
    assert result.returncode != 70 and "Traceback" not in result.stderr, result.stderr
    out = json.loads(result.stdout)
    got = {f["pitfall"]: f for f in out["findings"]}
    assert "levels deep" in got["license-unread"]["found"]
    layers = {ly["name"]: ly for ly in out["health"]["layers"]}
    assert layers["healthz"]["status"] == "ok"  # the other checks ran
