"""The license the kit was given, read offline: what a W&B license JWT's payload tells
(expiry, seats), what cannot be read (said, never guessed), the 30- and 7-day warnings,
seats against a lab file, and how health and doctor report it.

Claim names (expiresAt/exp, maxUsers/seats, ...) follow a third-party decoder of W&B
licenses, UNCONFIRMED against W&B (which publishes none): the tests pin the kit's reading.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.core.files import MAX_DEPTH
from wandb_local_kit.server import doctor, health
from wandb_local_kit.server import license as lic

from tests.unit.test_doctor import evidence, healthy_values, ids, ok_layers
from tests.unit.test_health import clean_env, run_kit

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: dict | list | str) -> str:
    """A license shaped as W&B's are: header.payload.signature, base64url, unpadded.
    The signature is junk: the kit never checks it (the server does)."""
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = payload if isinstance(payload, str) else b64(json.dumps(payload).encode())
    return f"{header}.{body}.c2lnbmF0dXJl"


def in_days(days: float) -> str:
    return (NOW + timedelta(days=days)).isoformat().replace("+00:00", "Z")


# --- reading the payload ---------------------------------------------------------------------


def test_a_full_license_reads_expiry_seats_teams_trial_flags_and_deployment():
    info = lic.parse(
        jwt(
            {
                "expiresAt": "2027-03-01T00:00:00Z",
                "maxUsers": 25,
                "maxViewOnlyUsers": 5,
                "maxTeams": 3,
                "trial": False,
                "flags": ["scim", "sso", 7],
                "deploymentId": "dep-123",
            }
        )
    )
    assert info.readable and info.unread == []
    assert info.expires == datetime(2027, 3, 1, tzinfo=UTC)
    assert (info.seats, info.view_only_seats, info.teams) == (25, 5, 3)
    assert info.trial is False and info.flags == ["scim", "sso"]  # a non-string flag is dropped
    assert info.deployment_id == "dep-123"


def test_exp_unix_time_and_alias_claims_are_read_when_the_primary_names_are_absent():
    exp = int(datetime(2027, 1, 2, tzinfo=UTC).timestamp())
    info = lic.parse(jwt({"exp": exp, "seats": 10, "viewOnlySeats": 2, "teams": 1}))
    assert info.expires == datetime(2027, 1, 2, tzinfo=UTC)
    assert (info.seats, info.view_only_seats, info.teams) == (10, 2, 1)


def test_a_naive_expiry_is_taken_as_utc_and_a_padded_payload_still_decodes():
    body = base64.urlsafe_b64encode(json.dumps({"expiresAt": "2027-05-05T10:00:00"}).encode())
    info = lic.parse(jwt(body.decode()))  # with '=' padding left in
    assert info.expires == datetime(2027, 5, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "token, said",
    [
        ("plain-license-string", "not a JWT"),
        ("a.b", "not a JWT"),
        ("eyJhbGciOiJSUzI1NiJ9..sig", "not a JWT"),
        ("eyJhbGciOiJSUzI1NiJ9.!!!not-base64!!!.sig", "not base64url-encoded JSON"),
        (f"eyJhbGciOiJSUzI1NiJ9.{b64(b'not json')}.sig", "not base64url-encoded JSON"),
        (f"eyJhbGciOiJSUzI1NiJ9.{b64(bytes([0xFF, 0xFE]))}.sig", "not base64url-encoded JSON"),
        (jwt(["a", "list"]), "not a JSON object"),
    ],
)
def test_a_license_of_unknown_format_is_said_unreadable_without_a_crash(token, said):
    info = lic.parse(token)
    assert not info.readable
    assert info.expires is None and info.seats is None
    assert len(info.unread) == 1 and said in info.unread[0]


def test_claims_of_the_wrong_shape_are_named_as_unread_not_guessed():
    info = lic.parse(
        jwt({"expiresAt": "next year", "exp": "soon", "maxUsers": "25", "seats": True, "teams": -1})
    )
    assert info.readable
    assert info.expires is None and info.seats is None and info.teams is None
    text = " | ".join(info.unread)
    assert "expiry" in text and "seats: no maxUsers or seats claim" in text
    assert "team limit" in text and "view-only seats" in text


# --- judging expiry and seats ---------------------------------------------------------------


@pytest.mark.parametrize(
    "days, status, words",
    [
        (45, "ok", "in 45 days"),
        (30, "warn", "in 30 days"),
        (8, "warn", "in 8 days"),
        (7, "warn", "renew now"),
        (1, "warn", "renew now"),
        (-1, "fail", "grace period ends"),
        (-4, "fail", "the UI is locked"),
    ],
)
def test_expiry_warns_at_30_days_again_at_7_and_fails_once_expired(days, status, words):
    v = lic.judge_expiry(lic.parse(jwt({"expiresAt": in_days(days)})), NOW)
    assert v is not None and v.status == status and words in v.detail
    assert (v.fix == lic.RENEW) == (status != "ok")


def test_no_expiry_claim_gives_no_verdict():
    assert lic.judge_expiry(lic.parse(jwt({"maxUsers": 3})), NOW) is None


def test_seats_warn_only_when_the_lab_file_lists_more_users_than_granted():
    info = lic.parse(jwt({"maxUsers": 10}))
    over = lic.judge_seats(info, 11, "lab.yaml")
    assert (
        over and over.status == "warn" and "11 users" in over.detail and "10 seats" in over.detail
    )
    fits = lic.judge_seats(info, 10, "lab.yaml")
    assert fits and fits.status == "ok"
    assert lic.judge_seats(info, None) is None
    assert lic.judge_seats(lic.parse(jwt({})), 99) is None  # seats unknown: no claim made


def test_count_users_reads_a_lab_file_and_names_a_bad_one(tmp_path):
    good = tmp_path / "lab.yaml"
    good.write_text("users:\n  - email: a@lab\n  - email: b@lab\nteams: []\n")
    assert lic.count_users(good) == 2
    good.write_text("users:\n  a@lab: {admin: true}\n  b@lab: {}\n  c@lab: {}\n")
    assert lic.count_users(good) == 3  # a mapping keyed by user counts its keys
    for text, said in [
        ("teams: []\n", "no top-level `users:` list"),
        ("users: 12\n", "no top-level `users:` list"),
        ("- a\n- b\n", "no top-level `users:` list"),
        ("users: [\n", "not valid YAML"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(lic.LabFileError, match=said.replace("`", ".")):
            lic.count_users(bad)
    with pytest.raises(KitError, match="the lab file .*missing.yaml does not exist"):
        lic.count_users(tmp_path / "missing.yaml")


def test_count_users_reads_the_lab_file_through_the_door(tmp_path):
    # Before: a byte that is not UTF-8 was "not valid YAML" with the codec's words, and a
    # file nested thousands deep crashed health and doctor with a RecursionError (exit 70).
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"users:\n  - email: jos\xe9@lab\n")
    with pytest.raises(KitError, match=r"is not UTF-8 text \(line 2"):
        lic.count_users(latin)
    deep = tmp_path / "deep.yaml"
    for text in ("users: " + "[" * 30000 + "]" * 30000, "users: " + "[" * 70 + "]" * 70):
        deep.write_text(text + "\n")
        with pytest.raises(lic.LabFileError, match=f"more than {MAX_DEPTH} levels deep"):
            lic.count_users(deep)


def test_health_refuses_a_named_pipe_as_the_lab_file_at_once(tmp_path):
    # Before: `health --lab-file FIFO` waited forever for a writer.
    fifo = tmp_path / "lab.yaml"
    os.mkfifo(fifo)
    r = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "health", "--url", "http://127.0.0.1:9",
         "--lab-file", str(fifo)],
        capture_output=True, text=True, timeout=30, env=clean_env(tmp_path),
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "is a named pipe" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "depth", [5000, MAX_DEPTH + 5], ids=["past-the-json-reader", "past-the-limit"]
)
def test_a_license_nested_past_the_depth_limit_is_unread_and_doctor_goes_on(depth):
    # Before: 5000 levels raised RecursionError out of every health and doctor run (exit 70).
    token = jwt(b64(("[" * depth + "]" * depth).encode()))
    info = lic.parse(token)
    assert not info.readable
    assert f"more than {MAX_DEPTH} levels deep" in info.unread[0]
    ly = health.check_license({"WANDB_LICENSE": token}, now=NOW)
    assert ly.status == health.SKIP and "levels deep" in ly.detail
    found = ids(license_evidence(token))
    assert "levels deep" in found["license-unread"].found


# --- health's layer and doctor's findings ------------------------------------------------------


def test_health_layer_skips_without_a_license_and_when_nothing_can_be_judged():
    assert health.check_license({"WANDB_LICENSE": ""}).status == health.SKIP
    ly = health.check_license({"WANDB_LICENSE": "opaque"}, now=NOW)
    assert ly.status == health.SKIP and "not read: everything" in ly.detail


def test_health_layer_warns_fails_and_counts_seats():
    soon = {"WANDB_LICENSE": jwt({"expiresAt": in_days(20), "maxUsers": 5})}
    ly = health.check_license(soon, now=NOW)
    assert ly.status == health.WARN and "in 20 days" in ly.detail and ly.fix == lic.RENEW
    ly = health.check_license(soon, users=9, lab_file="lab.yaml", now=NOW)
    assert ly.status == health.WARN and "9 users" in ly.detail and "more seats" in ly.fix
    gone = {"WANDB_LICENSE": jwt({"expiresAt": in_days(-10)})}
    ly = health.check_license(gone, now=NOW)
    assert ly.status == health.FAIL and ly.facts["expiry_status"] == "fail"
    assert "not read: seats" in ly.detail  # what could not be read is said
    fine = {"WANDB_LICENSE": jwt({"expiresAt": in_days(200), "maxUsers": 50})}
    ly = health.check_license(fine, users=12, lab_file="lab.yaml", now=NOW)
    assert ly.status == health.OK and "12 users" in ly.detail


def license_evidence(token: str, users: int | None = None) -> doctor.Evidence:
    ly = health.check_license({"WANDB_LICENSE": token}, users, "lab.yaml", now=NOW)
    return evidence(layers=ok_layers() + [ly], values=healthy_values(WANDB_LICENSE=token))


def test_doctor_names_expiry_seats_and_what_it_could_not_read():
    found = ids(license_evidence(jwt({"expiresAt": in_days(5), "maxUsers": 3}), users=4))
    assert found["license-expiry"].severity == doctor.WARN
    assert "renew now" in found["license-expiry"].found
    assert found["license-seats"].found == "4 users listed, 3 seats granted"
    assert "license-unread" in found  # view-only seats and team limit are absent
    expired = ids(license_evidence(jwt({"expiresAt": in_days(-5), "maxUsers": 3}), users=3))
    assert expired["license-expiry"].severity == doctor.FAIL
    assert "license-seats" not in expired
    opaque = ids(license_evidence("opaque-license"))
    assert opaque["license-unread"].severity == doctor.NOTE
    assert "not a JWT" in opaque["license-unread"].found
    assert "license-expiry" not in opaque and "license-seats" not in opaque


def test_doctor_is_quiet_about_a_license_far_from_expiry_with_seats_to_spare():
    token = jwt({"expiresAt": in_days(300), "maxUsers": 50, "maxViewOnlyUsers": 0, "maxTeams": 9})
    found = ids(license_evidence(token, users=10))
    assert not {"license-expiry", "license-seats", "license-unread"} & set(found)


def test_health_cli_reads_the_license_and_the_lab_file(tmp_path):
    """End to end: `health --lab-file` on a kit whose .env holds a license near expiry
    and a lab file with more users than seats; a bad lab file stops before any check."""
    exp = (datetime.now(UTC) + timedelta(days=6)).isoformat()
    token = jwt({"expiresAt": exp, "maxUsers": 2})
    env_file = tmp_path / ".env"
    env_file.write_text(f"WANDB_HOST=http://127.0.0.1:9\nWANDB_LICENSE='{token}'\n")
    env_file.chmod(0o600)
    lab = tmp_path / "lab.yaml"
    lab.write_text("users:\n" + "".join(f"  - email: u{i}@lab\n" for i in range(3)))
    env = clean_env(tmp_path)
    loc = ["--env-file", str(env_file), "--compose-dir", str(tmp_path)]
    r = run_kit("health", *loc, "--lab-file", str(lab), "--json", env=env)
    report = json.loads(r.stdout)
    ly = next(x for x in report["layers"] if x["name"] == "license")
    assert ly["status"] == "warn", ly
    assert "renew now" in ly["detail"] and "3 users" in ly["detail"]
    assert token not in r.stdout + r.stderr
    lab.write_text("people: []\n")
    r = run_kit("health", *loc, "--lab-file", str(lab), env=env)
    assert r.returncode == 2 and "no top-level `users:` list" in r.stderr
    assert "Traceback" not in r.stderr and "W&B server" not in r.stdout
