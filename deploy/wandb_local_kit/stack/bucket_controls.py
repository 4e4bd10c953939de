"""Bucket settings W&B's own key could change and nobody would notice: watched here.

W&B's key needs write access to its bucket, and on S3-compatible stores that same
permission covers a few bucket-level settings that can cost data or space:

- versioning: irreversible once on (it can only be suspended); deletes then add
  delete markers and free no space;
- object lock: retention no one, not even the store's admin, can lift before its date;
- lifecycle rules: the store deletes or moves objects by itself (e.g. everything
  older than a day);
- CORS: a rule for another origin lets that site's pages read and write the bucket
  with presigned URLs (and without W&B's origin the UI's media break).

The bundled SeaweedFS denies W&B's key all four with a bucket policy (storage-init);
any store may still have them set by someone else. These checks read the settings
with W&B's key (read-only calls) and say what was found and the fix.
Heavy imports (boto3) stay inside the functions.
"""

from __future__ import annotations

from wandb_local_kit.core.checks import FAIL, OK, WARN, Check
from wandb_local_kit.core.storage_urls import URLProblem, parse_bucket_url

# Answers that mean "nothing configured" (S3 and SeaweedFS spell them differently).
_NONE = {
    "NoSuchLifecycleConfiguration",
    "NoSuchCORSConfiguration",
    "ObjectLockConfigurationNotFoundError",
    "NoSuchObjectLockConfiguration",
    "NoSuchBucketPolicy",
    "404",
}


def _code(err) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__))


def _client(b, timeout: float, ca_file):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=b.endpoint,
        aws_access_key_id=b.access_key,
        aws_secret_access_key=b.secret_key,
        region_name=b.region,
        verify=str(ca_file) if ca_file else None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout * 4,
            retries={"max_attempts": 1},
        ),
    )


def _unreadable(name: str, what: str, code: str) -> Check:
    # Not a problem in itself (stores differ in what a bucket-scoped key may read),
    # but say that this setting goes unwatched.
    return Check(
        name,
        OK,
        f"not watched: W&B's key may not read the bucket's {what} ({code})",
        f"let W&B's key read the bucket's {what}, or check it with the store's admin",
    )


def check_versioning(s3, bucket: str) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except ClientError as err:
        return _unreadable("bucket versioning", "versioning", _code(err))
    except BotoCoreError as err:
        return _unreadable("bucket versioning", "versioning", type(err).__name__)
    if status == "Enabled":
        return Check(
            "bucket versioning",
            FAIL,
            f"versioning is on for bucket {bucket}: deleting runs and artifacts frees no "
            "space (every delete keeps the old version), and it cannot be turned off again",
            f"suspend it as the store's admin (aws s3api put-bucket-versioning --bucket "
            f"{bucket} --versioning-configuration Status=Suspended), then delete the "
            "noncurrent versions; keep W&B's key from changing it (the bundled store's "
            "storage-init sets a bucket policy that denies it)",
        )
    if status == "Suspended":
        return Check(
            "bucket versioning",
            WARN,
            f"versioning was on for bucket {bucket} and is suspended: objects written "
            "meanwhile keep old versions that use space",
            "delete the noncurrent versions as the store's admin "
            "(aws s3api list-object-versions, delete-object --version-id)",
        )
    return Check("bucket versioning", OK, "off")


def check_object_lock(s3, bucket: str) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        conf = s3.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration", {})
    except ClientError as err:
        if _code(err) in _NONE:
            return Check("bucket object lock", OK, "off")
        return _unreadable("bucket object lock", "object lock configuration", _code(err))
    except BotoCoreError as err:
        return _unreadable("bucket object lock", "object lock configuration", type(err).__name__)
    if conf.get("ObjectLockEnabled") != "Enabled":
        return Check("bucket object lock", OK, "off")
    rule = conf.get("Rule", {}).get("DefaultRetention", {})
    retention = (
        f"; default retention {rule.get('Mode', '?')} for "
        f"{rule.get('Days') or rule.get('Years')} {'days' if rule.get('Days') else 'years'}"
        if rule
        else ""
    )
    return Check(
        "bucket object lock",
        FAIL,
        f"object lock is on for bucket {bucket}{retention}: locked objects cannot be "
        "deleted, by W&B or the store's admin, until their retention date",
        "remove the default retention as the store's admin (aws s3api "
        f"put-object-lock-configuration --bucket {bucket} --object-lock-configuration "
        "ObjectLockEnabled=Enabled), and restore the bucket from a backup into a new "
        "bucket without object lock if locked objects must go; COMPLIANCE retention "
        "cannot be shortened by anyone",
    )


def check_lifecycle(s3, bucket: str) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as err:
        if _code(err) in _NONE:
            return Check("bucket lifecycle", OK, "no rules")
        return _unreadable("bucket lifecycle", "lifecycle rules", _code(err))
    except BotoCoreError as err:
        return _unreadable("bucket lifecycle", "lifecycle rules", type(err).__name__)
    active = [r for r in rules if r.get("Status", "Enabled") == "Enabled"]
    if not active:
        return Check("bucket lifecycle", OK, "no rules")
    names = ", ".join(str(r.get("ID") or "(no id)") for r in active)
    return Check(
        "bucket lifecycle",
        FAIL,
        f"bucket {bucket} has {len(active)} lifecycle rule(s) ({names}): the store "
        "deletes or moves W&B's files by itself, and W&B does not know",
        f"remove them as the store's admin (aws s3api delete-bucket-lifecycle --bucket "
        f"{bucket}) unless you set them on purpose; W&B deletes its own files",
    )


def check_cors_rules(s3, bucket: str, origin: str) -> Check:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as err:
        if _code(err) in _NONE:
            return Check("bucket CORS rules", OK, "no bucket rule (the store's default applies)")
        return _unreadable("bucket CORS rules", "CORS rules", _code(err))
    except BotoCoreError as err:
        return _unreadable("bucket CORS rules", "CORS rules", type(err).__name__)
    others = sorted({o for r in rules for o in r.get("AllowedOrigins", []) if o != origin})
    if not others:
        return Check("bucket CORS rules", OK, f"only {origin}")
    return Check(
        "bucket CORS rules",
        FAIL,
        f"bucket {bucket}'s CORS also allows {', '.join(others)}: pages from there may "
        "use W&B's presigned URLs from a browser",
        "set the rule back to W&B's origin only: `wandb-kit up` reruns storage-init, "
        f"which sets GET, PUT and HEAD from {origin} (or aws s3api put-bucket-cors as the "
        "bucket owner)",
    )


def check_bucket_controls(
    url: str, origin: str, timeout: float = 5.0, ca_file=None, region: str = "us-east-1"
) -> list[Check]:
    """Versioning, object lock, lifecycle and CORS of the bucket in `url` (an
    s3://KEY:SECRET@HOST:PORT/BUCKET URL holding W&B's key), read with that key."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        b = parse_bucket_url(url, region)
    except URLProblem:
        return []  # the URL's own checks name the problem
    s3 = _client(b, timeout, ca_file)
    try:
        s3.head_bucket(Bucket=b.bucket)
    except (ClientError, BotoCoreError):
        return []  # unreachable or refused: the reachability checks say so
    return [
        check_versioning(s3, b.bucket),
        check_object_lock(s3, b.bucket),
        check_lifecycle(s3, b.bucket),
        check_cors_rules(s3, b.bucket, origin),
    ]


def bucket_controls_for(values: dict[str, str], timeout: float = 5.0, ca_file=None) -> list[Check]:
    """The checks for the deployment's bucket (bundled or yours); [] without one."""
    if values.get("WANDB_STORAGE") != "external" or not values.get("WANDB_BUCKET_URL"):
        return []
    origin = values.get("WANDB_BUCKET_CORS_ORIGINS") or values.get("WANDB_HOST", "")
    region = values.get("AWS_REGION") or "us-east-1"
    return check_bucket_controls(values["WANDB_BUCKET_URL"], origin, timeout, ca_file, region)


__all__ = ["bucket_controls_for", "check_bucket_controls"]
