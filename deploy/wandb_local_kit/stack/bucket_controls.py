"""Bucket settings W&B's own key could change and nobody would notice: watched here.

W&B's key needs write access to its bucket, and on S3-compatible stores that same
permission covers a few bucket-level settings that can cost data or space:

- versioning: irreversible once on (it can only be suspended, and not at all under
  object lock); deletes then add delete markers and free no space unless a lifecycle
  rule expires the old versions. W&B's artifact GC (WANDB_ARTIFACT_GC) needs exactly
  that pair, so the check is of the combination: GC on without versioning or without
  the expiry rule, or versioning on without GC, each a finding with its fix;
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


def _noncurrent_rule(rules: list[dict]) -> dict | None:
    """The active rule that expires non-current versions of the whole bucket, if any."""
    for r in rules:
        prefix = (r.get("Filter") or {}).get("Prefix", r.get("Prefix", ""))
        active = r.get("Status", "Enabled") == "Enabled"
        if active and r.get("NoncurrentVersionExpiration") and not prefix:
            return r
    return None


def _lifecycle_rules(s3, bucket: str) -> list[dict] | None:
    """The bucket's lifecycle rules ([] for none); None if W&B's key may not read them."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as err:
        return [] if _code(err) in _NONE else None
    except BotoCoreError:
        return None


def check_versioning(
    s3, bucket: str, gc: bool = False, locked: bool = False, rules: list[dict] | None = None
) -> Check:
    """Versioning against artifact GC (WANDB_ARTIFACT_GC): GC needs versioning AND a
    rule expiring non-current versions; versioning without GC only keeps old bytes."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except ClientError as err:
        return _unreadable("bucket versioning", "versioning", _code(err))
    except BotoCoreError as err:
        return _unreadable("bucket versioning", "versioning", type(err).__name__)
    admin = "as the store's admin"
    if gc:
        return _versioning_with_gc(bucket, status, rules, admin)
    if status == "Enabled":
        stuck = (
            "; object lock is on for this bucket, so versioning cannot be suspended (the "
            "store answers 409 InvalidBucketState): turning GC on is the way"
            if locked
            else f", or suspend versioning {admin} (aws s3api put-bucket-versioning "
            f"--bucket {bucket} --versioning-configuration Status=Suspended) and delete "
            "the noncurrent versions"
        )
        return Check(
            "bucket versioning",
            FAIL,
            f"versioning is on for bucket {bucket} but W&B's artifact GC is off: deleting "
            "runs and artifacts frees no space (every delete keeps the old version)",
            "turn artifact GC on with an expiry of old versions (wandb-kit init "
            "--artifact-gc true, then wandb-kit up: storage-init adds the rule as the "
            f"store's admin){stuck}; keep W&B's key from changing versioning",
        )
    if status == "Suspended":
        return Check(
            "bucket versioning",
            WARN,
            f"versioning was on for bucket {bucket} and is suspended: objects written "
            "meanwhile keep old versions that use space",
            f"delete the noncurrent versions {admin} "
            "(aws s3api list-object-versions, delete-object --version-id)",
        )
    return Check("bucket versioning", OK, "off (artifact GC off)")


def _versioning_with_gc(bucket: str, status: str, rules, admin: str) -> Check:
    if status != "Enabled":
        return Check(
            "bucket versioning",
            FAIL,
            f"WANDB_ARTIFACT_GC=true but versioning is {status.lower() or 'off'} for bucket "
            f"{bucket}: W&B runs artifact GC only on a versioned bucket, so deleted "
            "artifacts keep their space",
            f"turn versioning on {admin}: `wandb-kit up` reruns storage-init, which does "
            f"(or aws s3api put-bucket-versioning --bucket {bucket} "
            "--versioning-configuration Status=Enabled)",
        )
    if rules is None:
        return _unreadable("bucket versioning", "lifecycle rules (the expiry GC needs)", "denied")
    rule = _noncurrent_rule(rules)
    if rule is None:
        return Check(
            "bucket versioning",
            FAIL,
            f"versioning is on for bucket {bucket} (artifact GC) but no lifecycle rule "
            "expires non-current versions: every delete keeps its bytes as an old version",
            f"add the rule {admin}: `wandb-kit up` reruns storage-init, which sets it "
            f"(NoncurrentVersionExpiration after WANDB_BUCKET_NONCURRENT_DAYS days)",
        )
    days = rule["NoncurrentVersionExpiration"].get("NoncurrentDays", "?")
    return Check(
        "bucket versioning", OK, f"on for artifact GC; old versions expire after {days} day(s)"
    )


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


def check_lifecycle(s3, bucket: str, gc: bool = False) -> Check:
    rules = _lifecycle_rules(s3, bucket)
    if rules is None:
        return _unreadable("bucket lifecycle", "lifecycle rules", "denied")
    # With artifact GC on, the rule expiring non-current versions is wanted.
    expected = _noncurrent_rule(rules) if gc else None
    active = [r for r in rules if r.get("Status", "Enabled") == "Enabled" and r is not expected]
    if expected is not None and not active:
        return Check("bucket lifecycle", OK, "only the expiry of old versions (artifact GC)")
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
    url: str, origin: str, timeout: float = 5.0, ca_file=None, region: str = "us-east-1",
    gc: bool = False,
) -> list[Check]:  # fmt: skip
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
    lock = check_object_lock(s3, b.bucket)
    locked = lock.status == FAIL  # object lock on: versioning can no longer be suspended
    return [
        check_versioning(s3, b.bucket, gc, locked, _lifecycle_rules(s3, b.bucket)),
        lock,
        check_lifecycle(s3, b.bucket, gc),
        check_cors_rules(s3, b.bucket, origin),
    ]


def bucket_controls_for(values: dict[str, str], timeout: float = 5.0, ca_file=None) -> list[Check]:
    """The checks for the deployment's bucket (bundled or yours); [] without one."""
    if values.get("WANDB_STORAGE") != "external" or not values.get("WANDB_BUCKET_URL"):
        return []
    origin = values.get("WANDB_BUCKET_CORS_ORIGINS") or values.get("WANDB_HOST", "")
    region = values.get("AWS_REGION") or "us-east-1"
    gc = values.get("WANDB_ARTIFACT_GC") == "true"
    return check_bucket_controls(values["WANDB_BUCKET_URL"], origin, timeout, ca_file, region, gc)


__all__ = ["bucket_controls_for", "check_bucket_controls"]
