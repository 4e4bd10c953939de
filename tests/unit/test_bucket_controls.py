"""How the bucket-settings checks read a store's answers (botocore's Stubber plays the
store; the real SeaweedFS is in tests/integration/test_least_privilege.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from wandb_local_kit.server import doctor
from wandb_local_kit.stack import bucket_controls as bc

ORIGIN = "https://wandb.lab.test"


@pytest.fixture
def s3():
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        endpoint_url="http://store.test:8333",
    )
    with Stubber(client) as stub:
        yield client, stub


def test_quiet_on_a_plain_bucket(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {})
    stub.add_client_error("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError")
    stub.add_client_error("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration")
    stub.add_response(
        "get_bucket_cors",
        {"CORSRules": [{"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "PUT"]}]},
    )
    checks = [
        bc.check_versioning(client, "wandb"),
        bc.check_object_lock(client, "wandb"),
        bc.check_lifecycle(client, "wandb"),
        bc.check_cors_rules(client, "wandb", ORIGIN),
    ]
    assert [c.status for c in checks] == ["ok"] * 4


def test_each_setting_is_a_failure_with_its_fix(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response(
        "get_object_lock_configuration",
        {
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
            }
        },
    )
    stub.add_response(
        "get_bucket_lifecycle_configuration",
        {"Rules": [{"ID": "expire-all", "Status": "Enabled", "Filter": {"Prefix": ""}}]},
    )
    stub.add_response(
        "get_bucket_cors",
        {"CORSRules": [{"AllowedOrigins": [ORIGIN, "*"], "AllowedMethods": ["GET"]}]},
    )
    versioning = bc.check_versioning(client, "wandb")
    lock = bc.check_object_lock(client, "wandb")
    lifecycle = bc.check_lifecycle(client, "wandb")
    cors = bc.check_cors_rules(client, "wandb", ORIGIN)
    assert [c.status for c in (versioning, lock, lifecycle, cors)] == ["fail"] * 4
    assert "Status=Suspended" in versioning.fix
    assert "COMPLIANCE for 30 days" in lock.detail
    assert "expire-all" in lifecycle.detail and "delete-bucket-lifecycle" in lifecycle.fix
    assert "also allows *" in cors.detail and ORIGIN in cors.fix


def test_suspended_versioning_warns(s3):
    client, stub = s3
    stub.add_response("get_bucket_versioning", {"Status": "Suspended"})
    assert bc.check_versioning(client, "wandb").status == "warn"


def test_a_setting_the_key_may_not_read_is_named_unwatched(s3):
    client, stub = s3
    stub.add_client_error("get_object_lock_configuration", "AccessDenied", http_status_code=403)
    lock = bc.check_object_lock(client, "wandb")
    assert lock.status == "ok" and lock.detail.startswith("not watched")


def test_doctor_turns_failed_checks_into_one_finding():
    from wandb_local_kit.core.checks import Check

    local = doctor.LocalFacts(
        bucket_controls=[
            Check("bucket versioning", "fail", "versioning is on", "suspend it"),
            Check("bucket lifecycle", "ok", "no rules"),
        ]
    )
    finding = doctor.DETECTORS["bucket-controls"](doctor.Evidence(None, None, local, {}))
    assert finding.severity == "fail" and finding.checked.endswith("bucket versioning")
    assert finding.found == "versioning is on" and finding.fix == "suspend it"
    local.bucket_controls = [Check("bucket lifecycle", "ok", "no rules")]
    assert doctor.DETECTORS["bucket-controls"](doctor.Evidence(None, None, local, {})) is None


def test_no_bucket_no_checks():
    assert bc.bucket_controls_for({"WANDB_STORAGE": "embedded"}) == []
