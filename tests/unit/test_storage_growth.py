"""Storage growth: the samples file, the forecast (with a fake clock), the warnings,
W&B's clean-up settings, the versioning/GC combination check and the HTML picture.
The real stack and store are in tests/integration/test_storage_growth.py."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber
from wandb_local_kit.core import usage_samples as us
from wandb_local_kit.server import doctor, usage
from wandb_local_kit.server.usage_html import render
from wandb_local_kit.stack import bucket_controls as bc
from wandb_local_kit.stack import cleanup, usage_measure

GIB = 1024**3
DAY = us.DAY_S
T0 = 1_800_000_000.0  # a fixed "now" for the fake clock


def _growing(days: int, per_day: int = GIB, free_at_end: int = 10 * GIB) -> list[us.Sample]:
    """One sample a day, `per_day` more used each day; the disk's free space shrinks alike."""
    total = free_at_end + days * per_day + 50 * GIB
    return [
        us.Sample(T0 - (days - i) * DAY, 50 * GIB + i * per_day,
                  free_at_end + (days - i) * per_day, total)
        for i in range(days + 1)
    ]  # fmt: skip


def test_forecast_is_the_day_the_growth_uses_up_the_free_space():
    samples = _growing(10)
    fc = us.forecast(samples, now=T0)
    assert fc.known
    assert fc.bytes_per_day == pytest.approx(GIB)
    # 10 GiB free at 1 GiB a day: full ten days after the last sample.
    assert fc.full_at == pytest.approx(T0 + 10 * DAY)
    assert fc.days_left(T0) == pytest.approx(10)
    assert fc.to_json(T0)["full_at"] == us.iso_utc(T0 + 10 * DAY)


def test_forecast_moves_with_the_clock_and_forgets_old_samples():
    samples = _growing(10)
    # Forty days later none of the samples is in the 30-day window: unknown, not a date.
    fc = us.forecast(samples, now=T0 + 40 * DAY)
    assert not fc.known and "0 sample(s)" in fc.reason


@pytest.mark.parametrize(
    ("samples", "why"),
    [
        (_growing(1), "2 sample(s)"),
        ([us.Sample(T0 - i * 60, GIB + i, GIB, 10 * GIB) for i in range(5)], "less than an hour"),
        ([us.Sample(T0 - i * DAY, 5 * GIB, GIB, 10 * GIB) for i in range(5)], "does not grow"),
        ([us.Sample(T0 - i * DAY, 5 * GIB + i * GIB, GIB, 10 * GIB) for i in range(5)], "grow"),
    ],
)
def test_forecast_is_unknown_never_a_wrong_date(samples, why):
    fc = us.forecast(sorted(samples, key=lambda s: s.t), now=T0)
    assert fc.full_at is None and why in fc.reason


def test_samples_file_is_bounded_and_thins_old_samples(tmp_path):
    path = us.samples_file(tmp_path / ".env")
    assert path == tmp_path / "..env.usage.jsonl"
    # 60 days at 4 samples a day: the last 30 days stay whole, older ones one a day.
    for i in range(60 * 4):
        t = T0 - (60 * 4 - 1 - i) * DAY / 4
        us.record(path, us.Sample(t, i, 1000, 2000))
    kept = us.load(path)
    recent = [s for s in kept if s.t >= T0 - us.FULL_DAYS * DAY]
    old = [s for s in kept if s.t < T0 - us.FULL_DAYS * DAY]
    assert len(recent) == 30 * 4 + 1
    assert len({int(s.t // DAY) for s in old}) == len(old)  # one a day
    assert len(kept) <= us.MAX_SAMPLES
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_torn_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(us.Sample(T0, 1, 2, 3).line() + '\n{"t": 5, "us', encoding="utf-8")
    assert us.load(path) == [us.Sample(T0, 1, 2, 3)]


def test_df_and_du_are_read_in_bytes():
    out = "overlay 1000 600 400 60% /vol\n512\t/vol\n"
    assert usage_measure.parse_df_du(out) == (512 * 1024, 1000 * 1024, 400 * 1024)
    assert usage_measure.parse_df_du("sh: df: not found\n") is None


def test_bucket_keys_are_grouped_by_project():
    keys = [
        ("lab/vision/run1/media/a.png", 100),
        ("lab/vision/run2/output.log", 50),
        ("lab/nlp/run3/f.txt", 10),
        ("wandb_artifacts/1/2/abc", 500),
    ]
    grouped, partial = usage.group_keys(keys)
    assert grouped[0] == ("wandb_artifacts/ (artifact files, by content)", 500)
    assert ("lab/vision", 150) in grouped and ("lab/nlp", 10) in grouped and not partial
    assert usage.group_keys(keys, limit=2)[1] is True
    assert usage.parse_du_lines("12\tlab/vision\n3\tlab/nlp\nbad\n") == [
        ("lab/vision", 12 * 1024), ("lab/nlp", 3 * 1024),
    ]  # fmt: skip


def _usage(sample, samples, projects=()) -> usage.Usage:
    return usage.Usage(sample, [], samples, us.forecast(samples, T0), T0,
                       projects=list(projects))  # fmt: skip


def test_little_free_space_warns_with_the_projects_that_take_it():
    s = us.Sample(T0, 90 * GIB, 5 * GIB, 100 * GIB)
    u = _usage(s, [s], [("lab/vision", 60 * GIB), ("lab/nlp", 20 * GIB)])
    [(what, fix)] = usage.warnings(u)
    assert "5.0 GiB free of 100.0 GiB" in what and "lab/vision 60.0 GiB" in what
    assert "WANDB_DATA_RETENTION_PERIOD" in fix and "never delete" in fix
    roomy = us.Sample(T0, 10 * GIB, 80 * GIB, 100 * GIB)
    assert usage.warnings(_usage(roomy, [roomy])) == []


def test_a_disk_full_within_two_weeks_warns():
    samples = _growing(10, per_day=GIB, free_at_end=10 * GIB)
    u = _usage(samples[-1], samples, [("lab/vision", GIB)])
    warned = [w for w, _ in usage.warnings(u)]
    assert any("full in 10.0 days" in w for w in warned)
    later = _growing(10, per_day=GIB, free_at_end=30 * GIB)  # a month left: quiet
    assert not any("full in" in w for w, _ in usage.warnings(_usage(later[-1], later)))


def test_doctor_names_the_deployment_disk_with_the_warning():
    local = doctor.LocalFacts(usage_warnings=[["1.0 GiB free of 64.0 GiB; lab/vision", "fix it"]])
    f = doctor.DETECTORS["disk-low"](doctor.Evidence(None, None, local, {}))
    assert f.severity == "warn" and "lab/vision" in f.found and f.fix == "fix it"
    quiet = doctor.LocalFacts()
    assert doctor.DETECTORS["disk-low"](doctor.Evidence(None, None, quiet, {})) is None


def test_html_draws_usage_and_the_forecast_inline():
    samples = _growing(10)
    page = render(_usage(samples[-1], samples, [("lab/vision", GIB)]), "wandb (embedded)")
    assert "<svg" in page and "<polyline" in page and 'stroke-dasharray="6 4"' in page
    assert "lab/vision" in page and 'src="http' not in page and "<script" not in page


# --- W&B's clean-up settings -----------------------------------------------------------


def _problems(**values):
    return [(k, p) for k, p, _fix in cleanup.problems(values)]


@pytest.mark.parametrize("bad", ["7d", "1.5h", "h", "0h", "24", "-1h"])
def test_retention_period_is_whole_hours(bad):
    assert [k for k, _ in _problems(WANDB_DATA_RETENTION_PERIOD=bad)] == [cleanup.RETENTION]


def test_good_cleanup_settings_pass():
    assert _problems(WANDB_DATA_RETENTION_PERIOD="720h", WANDB_ARTIFACT_GC="false") == []
    own = dict(WANDB_STORAGE="external", WANDB_EXTERNAL_BUCKET_URL="s3://k:s@h/b")
    assert _problems(WANDB_ARTIFACT_GC="true", WANDB_BUCKET_NONCURRENT_DAYS="3", **own) == []


def test_gc_is_refused_on_the_bundled_store_and_the_embedded_one():
    [(key, why)] = _problems(WANDB_ARTIFACT_GC="true", WANDB_STORAGE="external")
    assert key == cleanup.GC and "bundled SeaweedFS" in why and "lifecycle worker" in why
    [(key, why)] = _problems(WANDB_ARTIFACT_GC="true", WANDB_STORAGE="embedded")
    assert key == cleanup.GC and "embedded" in why
    assert _problems(WANDB_BUCKET_NONCURRENT_DAYS="0") == [
        (cleanup.NONCURRENT_DAYS, "'0' is not a number of days from 1 to 3650")
    ]


def test_init_refuses_gc_on_the_bundled_store_and_writes_nothing(tmp_path):
    env = tmp_path / ".env"
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "init", "--env-file", str(env),
         "--storage", "external", "--artifact-gc", "true", "--project", "kit-test-gc"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "WANDB_ARTIFACT_GC" in result.stderr and "Traceback" not in result.stderr
    assert not env.exists()


# --- versioning against artifact GC ----------------------------------------------------


@pytest.fixture
def s3():
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        endpoint_url="http://store.test:8333",
    )  # fmt: skip
    with Stubber(client) as stub:
        yield client, stub


RULE = cleanup.lifecycle_rule(7)


def test_gc_without_versioning_is_a_finding(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {})
    check = bc.check_versioning(client, "wandb", gc=True, rules=[])
    assert check.status == "fail" and "Status=Enabled" in check.fix


def test_gc_with_versioning_but_no_expiry_rule_is_a_finding(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    check = bc.check_versioning(client, "wandb", gc=True, rules=[])
    assert check.status == "fail" and "no lifecycle rule" in check.detail


def test_gc_with_versioning_and_the_expiry_rule_is_quiet(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response("get_bucket_lifecycle_configuration", {"Rules": [RULE]})
    assert bc.check_versioning(client, "wandb", gc=True, rules=[RULE]).status == "ok"
    assert bc.check_lifecycle(client, "wandb", gc=True).status == "ok"


def test_versioning_without_gc_names_both_ways_out_and_object_lock(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    free = bc.check_versioning(client, "wandb")
    assert free.status == "fail" and "--artifact-gc true" in free.fix
    assert "Status=Suspended" in free.fix
    locked = bc.check_versioning(client, "wandb", locked=True)
    assert "409 InvalidBucketState" in locked.fix and "Status=Suspended" not in locked.fix


def test_upgrade_room_follows_the_image_size_or_a_documented_minimum():
    from wandb_local_kit.ops import upgrade

    assert upgrade.image_room_needed(None, None) == upgrade.MIN_IMAGE_ROOM
    assert upgrade.image_room_needed(2 * GIB, None) == int(2.4 * GIB)
    assert upgrade.image_room_needed(2 * GIB, 3 * GIB) == int(3.6 * GIB)


# The daily sampler's modules on a lab server: ansible/kit_files.yml
# (held by tests/unit/test_kit_files_manifest.py).


def test_health_and_doctor_read_free_space_only_and_the_forecast_still_works(tmp_path):
    # df alone (no du: minutes on a large volume): `used` is null in the file...
    assert usage_measure.parse_df_du("overlay 1000 600 400 60% /vol\n", with_du=False) == (
        None, 1000 * 1024, 400 * 1024,
    )  # fmt: skip
    path = tmp_path / "s.jsonl"
    for s in _growing(10):
        us.record(path, us.Sample(s.t, None, s.free, s.total))
    kept = us.load(path)
    assert [s.used for s in kept] == [None] * 11
    # ...and the forecast, a line through the disk's own use, is the same.
    assert us.forecast(kept, T0).full_at == pytest.approx(T0 + 10 * DAY)


def test_upgrade_refuses_before_pulling_when_docker_has_no_room(tmp_path, monkeypatch):
    """A 1 MiB tmpfs as Docker's data root (we run as root, as CI does): the new image
    does not fit, so the upgrade stops before anything is pulled or changed."""
    from wandb_local_kit.core.errors import KitError
    from wandb_local_kit.ops import upgrade

    from tests.require import unavailable

    root = tmp_path / "docker-root"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)], capture_output=True
    )
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs: {mounted.stderr.decode()[-200:]}")
    try:
        monkeypatch.setattr(upgrade, "docker_data_root", lambda: str(root))
        monkeypatch.setattr(upgrade, "image_size", lambda image: 200 * 1024 * 1024)
        with pytest.raises(KitError) as refused:
            upgrade.check_image_room("wandb/local:0.84.0", "wandb/local:0.83.0", None)
        assert "needs about 0.2 GiB" in refused.value.problem
        assert "still runs wandb/local:0.83.0" in refused.value.fix
        monkeypatch.setattr(upgrade, "image_size", lambda image: 100 * 1024)
        upgrade.check_image_room("wandb/local:0.84.0", "wandb/local:0.83.0", None)  # fits
    finally:
        subprocess.run(["umount", str(root)], check=False)
