"""The real-server lane's switch reaches every portable test, and only those.

KIT_REAL_IMAGE (+ KIT_REAL_LICENSE_FILE) or KIT_REAL_URL (+ KIT_REAL_ADMIN_KEY) turns it
on (wandb_local_kit.testing.real_lane): the integration stacks run that image with that
license and no test overlay for the W&B service, the SDK tests talk to that server, and
tests/lanes.py deselects every standin_only test. Also here: the license reader degrades
to "unread" on claims a real server's license may not share with the kit's assumptions
(docs/assumptions.md), never to a wrong date or a false seat alarm.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from wandb_local_kit import testing
from wandb_local_kit.server import license as lic
from wandb_local_kit.stack import settings

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example/wandb/local:0.83.0"
LANES = ["tests/integration", "tests/sdk"]


def _clean_env() -> dict[str, str]:
    drop = ("KIT_REAL_", "STANDIN_", "WANDB_", "PYTEST_XDIST", "PYTEST_CURRENT")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture
def license_file(tmp_path) -> Path:
    path = tmp_path / "license.txt"
    path.write_text(settings.STANDIN_ENTERPRISE_LICENSE + "\n")
    return path


def _collect_all(*runs: tuple[dict[str, str], tuple[str, ...]]) -> list[tuple[list[str], str]]:
    """`pytest --collect-only -q` once per (env, args), side by side: each run's test ids
    and its output."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for env, args in runs
    ]
    found = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        # exit 5: nothing selected
        assert proc.returncode in (0, 5), out[-3000:] + err[-3000:]
        ids = [line for line in out.splitlines() if line.startswith("tests/") and "::" in line]
        found.append((ids, out))
    return found


def test_the_switch_selects_every_portable_test_and_no_standin_only_one(license_file):
    off = _clean_env()
    on = {**off, "KIT_REAL_IMAGE": IMAGE, "KIT_REAL_LICENSE_FILE": str(license_file)}
    (portable, _), (standin_only, _), (lane, out), (everything, out_all) = _collect_all(
        (off, ("-m", "portable", *LANES)),
        (off, ("-m", "standin_only", *LANES)),
        (on, ("-m", "portable", *LANES)),
        (on, tuple(LANES)),  # no -m at all: the switch alone drops every standin_only test
    )
    assert portable and standin_only  # both lanes have tests: the comparison means something
    assert lane == portable
    assert sorted(everything) == sorted(portable)
    assert not set(everything) & set(standin_only)
    line = f"real-server lane: {len(portable)} portable tests against {IMAGE}"
    assert line in out and line in out_all
    # The figure the README and docs/testing.md give a lab is the one collected here.
    figure = f"portable {len(portable)} of {len(portable) + len(standin_only)}"
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert figure.replace(" of ", " of its ") in readme, f"README: {figure}"
    testing = " ".join((ROOT / "docs" / "testing.md").read_text().split())
    assert f"{len(portable)} of {len(portable) + len(standin_only)} are portable" in testing


def test_the_url_switch_deselects_standin_only_tests_too():
    env = {**_clean_env(), "KIT_REAL_URL": "http://wandb.example:8080/", "KIT_REAL_ADMIN_KEY": "k"}
    ((ids, out),) = _collect_all((env, ("tests/sdk/test_standin_graphql.py",)))
    assert ids == []  # stand-in behaviour only
    assert re.search(
        r"real-server lane: \d+ portable tests against http://wandb.example:8080\n", out
    )


@pytest.mark.parametrize(
    "env, says",
    [
        ({"KIT_REAL_IMAGE": IMAGE}, "KIT_REAL_IMAGE needs KIT_REAL_LICENSE_FILE"),
        ({"KIT_REAL_IMAGE": IMAGE, "KIT_REAL_LICENSE_FILE": "/nonexistent/lic"}, "cannot be read"),
        ({"KIT_REAL_URL": "http://h:8080"}, "KIT_REAL_URL needs KIT_REAL_ADMIN_KEY"),
        ({"KIT_REAL_URL": "h:8080", "KIT_REAL_ADMIN_KEY": "k"}, "no http:// or https:// URL"),
        (
            {"KIT_REAL_URL": "http://h", "KIT_REAL_ADMIN_KEY": "k", "KIT_REAL_STORES": "bundled"},
            "KIT_REAL_STORES=bundled is neither production",
        ),
    ],
)
def test_a_half_set_switch_is_refused_naming_what_is_missing(env, says):
    with pytest.raises(testing.RealLaneError, match=re.escape(says)):
        testing.real_lane(env)


def test_a_half_set_switch_stops_pytest_before_any_test():
    env = {**_clean_env(), "KIT_REAL_IMAGE": IMAGE}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/sdk/test_sweeps.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 4  # usage error
    assert "KIT_REAL_LICENSE_FILE" in proc.stderr


def test_the_switch_off_is_off():
    lane = testing.real_lane({})
    assert not lane.on and lane.target == ""


def _overlay(name: str) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (settings.default_compose_dir() / name).read_text()
    return yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader)


def _overlay_services(name: str) -> set[str]:
    return set(_overlay(name).get("services") or {})


@pytest.mark.parametrize("stores", ["production", "offline"])
@pytest.mark.parametrize(
    "storage, tls, test_images",
    [
        ("embedded", "off", True),
        ("embedded", "internal", True),
        ("external", "off", True),
        ("external", "internal", True),
        ("embedded", "off", False),
        ("external", "internal", False),
    ],
)
def test_stacks_with_the_switch_run_that_image_and_license_without_a_wandb_overlay(
    storage, tls, test_images, stores, license_file, monkeypatch
):
    for key in list(os.environ):
        if key.startswith(("KIT_REAL_", "STANDIN_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KIT_REAL_IMAGE", IMAGE)
    monkeypatch.setenv("KIT_REAL_LICENSE_FILE", str(license_file))
    if stores == "offline":
        monkeypatch.setenv("KIT_REAL_STORES", "offline")
    # external storage asks Docker for its bridge address: not in a unit test
    monkeypatch.setattr(testing, "docker_host_address", lambda: "172.17.0.1")
    factory = testing.StackFactory(settings.default_compose_dir(), test_images=test_images)
    values = factory.env_values(storage, tls)
    assert values["WANDB_IMAGE"] == IMAGE
    assert values["WANDB_LICENSE"] == settings.STANDIN_ENTERPRISE_LICENSE  # the file's
    assert not settings.is_standin(values)
    files = values["COMPOSE_FILE"].split(":")
    assert "test.yaml" not in files and files[0] == "compose.yaml"
    overlays = [f for f in files if f.startswith("test")]
    if not test_images or stores == "production":
        # The kit's production files only: MySQL, SeaweedFS, the AWS CLI and Caddy as
        # .env.example pins them, production health checks.
        assert overlays == []
    else:  # only the overlays swapping the offline images of the stores and Caddy in
        assert all(f.startswith(settings.TEST_IMAGE_OVERLAY_PREFIX) for f in overlays)
        if storage == "external":
            assert "test-images-external.yaml" in overlays
    if storage == "external":  # the bucket where a lab serves it: a host address, its port
        assert values["WANDB_BUCKET_BIND"] == "172.17.0.1"
        assert values["WANDB_BUCKET_PUBLIC_URL"].split("//")[1].startswith("172.17.0.1:")
    assert not [k for k in values if k.startswith("STANDIN_")]
    assert not [k for k, v in values.items() if "STANDIN_" in v]
    # The same setup without the switch: the stand-in image and its overlay (the control).
    monkeypatch.delenv("KIT_REAL_IMAGE")
    plain = factory.env_values(storage, tls)
    if test_images:
        assert plain["WANDB_IMAGE"].endswith("wandb-standin:test")
        assert "test.yaml" in plain["COMPOSE_FILE"].split(":")


def test_a_tests_own_image_still_wins_over_the_switch(license_file, monkeypatch):
    monkeypatch.setenv("KIT_REAL_IMAGE", IMAGE)
    monkeypatch.setenv("KIT_REAL_LICENSE_FILE", str(license_file))
    factory = testing.StackFactory(settings.default_compose_dir(), test_images=True)
    values = factory.env_values("embedded", "off", WANDB_IMAGE="kit-test-absent/wandb:0.0.1")
    assert values["WANDB_IMAGE"] == "kit-test-absent/wandb:0.0.1"
    assert "test.yaml" not in values["COMPOSE_FILE"].split(":")


def _production_services() -> set[str]:
    """The services the kit's production compose files define."""
    names = set()
    for path in settings.default_compose_dir().glob("*.yaml"):
        if not path.name.startswith("test"):
            names |= set(_overlay(path.name).get("services") or {})
    return names


def test_image_overlays_swap_only_images_and_the_harness_swaps_no_production_image():
    """What the lane drops for production stores (test-images-*.yaml) holds nothing but
    images, so the stacks keep the rest of the harness; and every other test overlay
    leaves each production service's image alone (only a service of its own, such as
    test-acme.yaml's private ACME CA, names one)."""
    production = _production_services()
    overlays = sorted(p.name for p in settings.default_compose_dir().glob("test*.yaml"))
    image_overlays = [n for n in overlays if n.startswith(settings.TEST_IMAGE_OVERLAY_PREFIX)]
    assert len(image_overlays) == 3, image_overlays
    for name in image_overlays:
        data = _overlay(name)
        assert set(data) == {"services"}, name
        for service, body in data["services"].items():
            assert service in production - {"wandb"}, (name, service)
            assert set(body) == {"image"}, (name, service)
    for name in set(overlays) - set(image_overlays):
        for service, body in (_overlay(name).get("services") or {}).items():
            if service in production:
                assert "image" not in (body or {}), (name, service)


def test_the_one_overlay_the_lane_keeps_leaves_the_wandb_service_alone():
    """The lane keeps only the ACME test's private CA (testing.LANE_HARNESS) of the test
    overlays: it must not touch the W&B service the lane is there to test."""
    assert testing.LANE_HARNESS == {"test-acme.yaml"}
    for name in testing.LANE_HARNESS:
        assert "wandb" not in _overlay_services(name), name
    files = settings.compose_files("external", "acme", test=True)
    assert testing.lane_compose_files(files, "production") == [
        "compose.yaml", "external.yaml", "tls.yaml", "test-acme.yaml", "external-tls.yaml",
    ]  # fmt: skip


def test_the_sdk_fixture_stands_for_a_real_server_with_the_attributes_tests_use():
    from tests.sdk.conftest import RealServer

    server = RealServer(url="https://wandb.example", admin_key="k")
    assert (server.url, server.admin_key, server.port, server.log()) == (
        "https://wandb.example",
        "k",
        443,
        "",
    )
    assert "k" not in repr(server)  # the key stays out of reports
    server.stop()  # not ours: nothing happens


# --- the license reader degrades to "unread", never to a wrong date or a false alarm ---------


def jwt(payload: dict) -> str:
    def seg(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{seg({'alg': 'RS256'})}.{seg(payload)}.sig"


@pytest.mark.parametrize(
    "payload",
    [
        {"exp": 20_500},  # days since 1970, say: read as seconds it is 1970-01-01
        {"exp": 0},
        {"expiresAt": "1999-12-31T00:00:00Z"},
        {"exp": 1_893_456_000_000},  # milliseconds: a year past 9999
        {"expiresAt": 1_893_456_000},  # a number where the kit expects RFC 3339
        {"expiresAt": "31/12/2029"},
        {"validUntil": "2029-12-31T00:00:00Z"},  # a claim name the kit does not know
    ],
)
def test_an_expiry_of_another_shape_or_unit_is_unread_not_a_false_expired(payload):
    info = lic.parse(jwt(payload))
    assert info.expires is None
    assert any(u.startswith("expiry:") for u in info.unread)
    assert lic.judge_expiry(info, datetime.now(UTC)) is None  # no verdict, no alarm


def test_an_expiry_of_the_assumed_shape_is_still_read():
    when = datetime.now(UTC) + timedelta(days=400)
    assert lic.parse(jwt({"exp": int(when.timestamp())})).expires is not None
    info = lic.parse(jwt({"expiresAt": when.isoformat()}))
    assert info.expires == when and not [u for u in info.unread if u.startswith("expiry")]


@pytest.mark.parametrize(
    "payload",
    [
        {"maxUsers": 0},  # 0 may mean "no limit"
        {"seats": -1},  # -1 likewise
        {"maxUsers": "25"},
        {"userLimit": 25},  # a claim name the kit does not know
        {"maxUsers": 2.5},
    ],
)
def test_seats_of_another_shape_are_unread_and_raise_no_seat_alarm(payload):
    info = lic.parse(jwt(payload))
    assert info.seats is None
    assert any(u.startswith("seats:") for u in info.unread)
    assert lic.judge_seats(info, 500, "lab.yaml") is None


def test_the_standin_placeholder_license_reads_as_enterprise_with_nothing_else_claimed():
    info = lic.parse(settings.STANDIN_ENTERPRISE_LICENSE)
    assert info.readable and info.flags == ["enterprise"]
    assert info.expires is None and info.seats is None
    now = datetime.now(UTC)
    assert lic.judge_expiry(info, now) is None and lic.judge_seats(info, 3) is None


PURGE = (
    "tests/integration/test_assumptions.py::"
    "test_the_embedded_store_purges_a_deleted_runs_files_once_the_retention_period_has_passed"
)


def test_an_assumption_whose_long_wait_test_did_not_run_names_the_switch_that_runs_it():
    """Without KIT_REAL_LONG=1 the purge test (over an hour) is deselected: the report
    leaves its entry not settled and says why, not only that its tests did not run."""
    from tests import lane_report

    entries = lane_report.assumptions((ROOT / "docs" / "assumptions.md").read_text())
    named = [t for e in entries for t in e["tests"]]
    waits = lane_report.long_waits(ROOT, named)
    assert PURGE in waits and len(waits) < len(named)  # the mark read, not every test
    [entry] = [e for e in entries if PURGE in e["tests"]]
    ran = {t: "passed" for t in named if t not in waits}
    deselected = lane_report.verdict(entry, ran, waits)
    assert deselected["verdict"] == "not settled"
    assert f"{PURGE} waits out an hour-long period" in deselected["why"]
    assert "KIT_REAL_LONG=1" in deselected["why"]
    assert lane_report.verdict(entry, {**ran, PURGE: "passed"}, waits)["verdict"] == "confirmed"


def test_the_lane_page_pulls_the_production_images_the_stacks_run():
    """docs/real-server-lane.md's pull line names the images .env.example pins, so a lab
    that follows it has what the `stacks` fixture looks for (a bumped pin moves both)."""
    page = " ".join((ROOT / "docs" / "real-server-lane.md").read_text().split())
    pulled = re.search(r"`docker pull ([^`]+)`", page)
    assert pulled, "docs/real-server-lane.md has no `docker pull ...` line"
    assert pulled.group(1).split() == testing.production_store_images(
        settings.default_compose_dir()
    )


def test_a_long_wait_test_is_deselected_unless_kit_real_long_is_set(license_file):
    """`make test-real` (and `make test`) must not wait an hour on the purge test unless
    asked: deselected and counted without KIT_REAL_LONG=1, collected with it."""
    lane = {
        **_clean_env(),
        "KIT_REAL_IMAGE": IMAGE,
        "KIT_REAL_LICENSE_FILE": str(license_file),
    }
    module = ("tests/integration/test_assumptions.py",)
    (short, out), (long, _) = _collect_all((lane, module), ({**lane, "KIT_REAL_LONG": "1"}, module))
    assert PURGE not in short and PURGE in long
    assert set(long) - set(short) == {PURGE}
    assert "long_wait: 1 deselected" in out and "KIT_REAL_LONG=1 runs them" in out


@pytest.mark.parametrize(
    "configs, address",
    [
        ([{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}], "172.17.0.1"),
        (  # an IPv6-enabled bridge, its IPv6 subnet first
            [{"Subnet": "fd00:dead::/64", "Gateway": "fd00:dead::1"},
             {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}],
            "172.18.0.1",
        ),
        ([{"Subnet": "10.200.0.0/24"}], "10.200.0.1"),  # no gateway given: the first host
        ([{"Subnet": "fd00:dead::/64"}], None),
        ([], None),
    ],
)  # fmt: skip
def test_the_bucket_address_is_the_bridges_ipv4_gateway(configs, address):
    """Test stacks publish their bucket on docker0's IPv4 address (free_port binds IPv4)."""
    assert testing.bridge_ipv4(configs) == address
