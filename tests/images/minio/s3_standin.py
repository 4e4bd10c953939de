"""An S3 store for tests: moto's S3 API behind MinIO's interface.

TEST INFRASTRUCTURE, not object storage for real data (see the Dockerfile). It plays
MinIO, the kit's previous bundled store, only so `wandb-kit migrate-minio` can be
tested (no MinIO build can be had offline); SeaweedFS itself runs in the tests
(tests/images/s3, the real `weed`).

MinIO: `server DIR [--address :9000]`, MINIO_ROOT_USER/MINIO_ROOT_PASSWORD as the one
admin identity, ENFORCED (every request checked with AWS SigV4, header or presigned,
or SigV2), MINIO_API_CORS_ALLOW_ORIGIN as server-wide CORS, PutBucketCors answered
with NotImplemented like MinIO's community edition, /minio/health/live|ready.

It keeps objects across restarts: moto holds them in memory, so its state is
snapshotted to the data directory shortly after every write (and on SIGTERM).
"""

from __future__ import annotations

import argparse
import calendar
import fnmatch
import hashlib
import hmac
import logging
import os
import pickle
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from moto.s3.models import s3_backends
from moto.server import create_backend_app
from werkzeug.serving import make_server

log = logging.getLogger("s3-standin")
MUTATING = {"PUT", "POST", "DELETE"}
MAX_SKEW_S = 15 * 60
FALLBACK_METHODS = "GET, PUT, POST, DELETE, HEAD"
FALLBACK_EXPOSE = "ETag, Content-Length, Content-Type, Last-Modified, x-amz-request-id"


class Snapshots:
    """Saves moto's S3 state to DATA_DIR/state.pickle shortly after each write.

    Debounced so a burst of uploads costs one save; the save is atomic (temp file,
    fsync, rename), so a crash leaves the previous snapshot intact.
    """

    def __init__(self, data_dir: Path, delay: float):
        self.path = data_dir / "state.pickle"
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            saved = pickle.load(f)
        for account, regions in saved.items():
            s3_backends[account] = regions
        log.info("restored S3 state from %s", self.path)

    def schedule(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self.save)
                self._timer.daemon = True
                self._timer.start()

    def save(self) -> None:
        with self._lock:
            self._timer = None
            for _ in range(5):  # a concurrent request may mutate a dict mid-pickle
                try:
                    blob = pickle.dumps(dict(s3_backends.items()))
                    break
                except RuntimeError:
                    continue
            else:
                log.error("could not snapshot S3 state (busy); will retry on next write")
                return
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


# --- identities -------------------------------------------------------------------------


@dataclass
class Identity:
    name: str
    secret: str
    actions: list[str] = field(default_factory=list)

    def can(self, action: str, bucket: str, key: str = "") -> bool:
        """SeaweedFS's Identity.CanDo: a plain action is global; `Action:bucket[/prefix]`
        (wildcards allowed) is limited to that bucket; Admin grants everything, and
        `Admin:bucket` everything on that bucket."""
        for granted in self.actions:
            name, _, target = granted.partition(":")
            if not target:
                if name == "Admin" or name == action:
                    return True
                continue
            if not bucket or name not in ("Admin", action):
                continue
            target_bucket, _, prefix = target.partition("/")
            if fnmatch.fnmatchcase(bucket, target_bucket) and (
                not prefix or fnmatch.fnmatchcase(key, prefix.rstrip("*") + "*")
            ):
                return True
        return False

    def sees(self, bucket: str) -> bool:
        return any(self.can(a, bucket) for a in ("Admin", "Read", "Write", "List", "Tagging"))


# --- SigV4 --------------------------------------------------------------------------------


class Denied(Exception):
    def __init__(self, code: str, message: str, status: int = 403):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _header(environ, name: str) -> str:
    if name == "host":
        value = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST", "")
    elif name in ("content-type", "content-length"):
        value = environ.get(name.upper().replace("-", "_"), "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return re.sub(r"\s+", " ", value.strip())


def _parse_amz_date(value: str) -> float:
    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise Denied("AccessDenied", "X-Amz-Date is malformed") from None


def authenticate(environ, identities: dict[str, Identity]) -> Identity:
    """The identity that signed this request (SigV4, header or query), or Denied."""
    raw_query = environ.get("QUERY_STRING", "")
    query = parse_qsl(raw_query, keep_blank_values=True)
    qdict = dict(query)
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.startswith("AWS4-HMAC-SHA256 "):
        fields = dict(
            part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(",")
        )
        credential, signed_headers = fields.get("Credential", ""), fields.get("SignedHeaders", "")
        signature = fields.get("Signature", "")
        amz_date = _header(environ, "x-amz-date")
        payload_hash = _header(environ, "x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
        if abs(time.time() - _parse_amz_date(amz_date)) > MAX_SKEW_S:
            raise Denied(
                "RequestTimeTooSkewed",
                "The difference between the request time and the server's time is too large.",
            )
        presigned = False
    elif qdict.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        credential, signed_headers = (
            qdict.get("X-Amz-Credential", ""),
            qdict.get("X-Amz-SignedHeaders", ""),
        )
        signature, amz_date = qdict.get("X-Amz-Signature", ""), qdict.get("X-Amz-Date", "")
        payload_hash = "UNSIGNED-PAYLOAD"
        start = _parse_amz_date(amz_date)
        if start - time.time() > MAX_SKEW_S:
            raise Denied("AccessDenied", "Request is not valid yet")
        if time.time() > start + int(qdict.get("X-Amz-Expires", "0") or 0):
            raise Denied("AccessDenied", "Request has expired")
        presigned = True
    elif auth.startswith("AWS ") or "AWSAccessKeyId" in qdict:
        return authenticate_v2(environ, identities, auth, qdict)
    else:
        raise Denied("AccessDenied", "Access Denied")
    access_key, _, scope = credential.partition("/")
    identity = identities.get(access_key)
    if identity is None:
        raise Denied(
            "InvalidAccessKeyId",
            "The AWS access key Id you provided does not exist in our records.",
        )
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO")
    canonical_uri = raw_uri.split("?", 1)[0] or "/"
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        k, _, v = part.partition("=")
        k, v = unquote(k), unquote(v)
        if presigned and k == "X-Amz-Signature":
            continue
        pairs.append((_uri_encode(k), _uri_encode(v)))
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    names = [h for h in signed_headers.split(";") if h]
    canonical_headers = "".join(f"{h}:{_header(environ, h)}\n" for h in names)
    canonical = "\n".join(
        [
            environ["REQUEST_METHOD"],
            canonical_uri,
            canonical_query,
            canonical_headers,
            signed_headers,
            payload_hash,
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + identity.secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Denied(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return identity


# Query parameters that are part of a SigV2 canonical resource.
V2_SUBRESOURCES = {
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
}


def authenticate_v2(environ, identities, auth: str, qdict: dict) -> Identity:
    """AWS Signature Version 2 (SeaweedFS accepts it too; boto3 presigns with it
    unless told s3v4)."""
    import base64

    if auth:
        access_key, _, signature = auth[len("AWS ") :].partition(":")
        date = "" if _header(environ, "x-amz-date") else _header(environ, "date")
    else:
        access_key, signature = qdict.get("AWSAccessKeyId", ""), qdict.get("Signature", "")
        date = qdict.get("Expires", "")
        if int(date or 0) < time.time():
            raise Denied("AccessDenied", "Request has expired")
    identity = identities.get(access_key)
    if identity is None:
        raise Denied(
            "InvalidAccessKeyId",
            "The AWS access key Id you provided does not exist in our records.",
        )
    amz = sorted(
        (k[5:].lower().replace("_", "-"), re.sub(r"\s+", " ", v.strip()))
        for k, v in environ.items()
        if k.startswith("HTTP_X_AMZ_")
    )
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO")
    resource = raw_uri.split("?", 1)[0] or "/"
    subs = sorted(
        (k, v)
        for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if k in V2_SUBRESOURCES
    )
    if subs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    to_sign = "\n".join(
        [
            environ["REQUEST_METHOD"],
            _header(environ, "content-md5"),
            _header(environ, "content-type"),
            date,
        ]
        + [f"{k}:{v}" for k, v in amz]
        + [resource]
    )
    expected = base64.b64encode(
        hmac.new(identity.secret.encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise Denied(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return identity


# --- what a request does ------------------------------------------------------------------


def split_path(environ) -> tuple[str, str]:
    path = environ.get("PATH_INFO", "/")
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


def required_action(environ, bucket: str, key: str) -> str:
    """SeaweedFS's routing of S3 operations to actions (s3api_server.go)."""
    method = environ["REQUEST_METHOD"]
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if not bucket:
        return "ListBuckets"
    if "tagging" in query:
        return "Tagging"
    if "acl" in query:
        return "ReadAcp" if method in ("GET", "HEAD") else "WriteAcp"
    if not key:
        if "cors" in query:
            return "Read" if method == "GET" else "Write"
        if method == "PUT":
            # CreateBucket, and bucket settings W&B's identity has no business with.
            return "Admin"
        if method == "DELETE":
            return "DeleteBucket"
        if method == "POST":
            return "Write"  # DeleteObjects
        if method == "GET" and (
            not query.keys()
            - {
                "list-type",
                "prefix",
                "delimiter",
                "marker",
                "max-keys",
                "continuation-token",
                "start-after",
                "encoding-type",
                "fetch-owner",
                "uploads",
                "key-marker",
                "upload-id-marker",
                "max-uploads",
            }
        ):
            return "List"
        return "Read"
    if method in ("GET", "HEAD"):
        return "Read"
    return "Write"


# --- CORS ---------------------------------------------------------------------------------


def bucket_cors_rules(bucket: str) -> list | None:
    for regions in list(s3_backends.values()):
        for backend in list(regions.values()):
            found = getattr(backend, "buckets", {}).get(bucket)
            if found is not None:
                return list(found.cors) or None
    return None


def _matches(patterns, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns or [])


def cors_headers(
    bucket: str, origin: str, method: str, req_headers: str, fallback: list[str] | None
) -> list[tuple[str, str]] | None:
    """The CORS answer for this origin: bucket rules win, else the server fallback.
    None: not allowed."""
    rules = bucket_cors_rules(bucket) if bucket else None
    if rules:
        for rule in rules:
            if _matches(rule.allowed_origins, origin) and method in (rule.allowed_methods or []):
                wanted = [h.strip() for h in req_headers.split(",") if h.strip()]
                if all(
                    _matches(rule.allowed_headers, h.lower()) or _matches(rule.allowed_headers, h)
                    for h in wanted
                ):
                    out = [
                        ("Access-Control-Allow-Origin", origin),
                        ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
                        ("Vary", "Origin"),
                    ]
                    if wanted:
                        out.append(("Access-Control-Allow-Headers", ", ".join(wanted)))
                    if rule.exposed_headers:
                        out.append(
                            ("Access-Control-Expose-Headers", ", ".join(rule.exposed_headers))
                        )
                    if rule.max_age_seconds:
                        out.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
                    return out
        return None
    if fallback is None or not ("*" in fallback or origin in fallback):
        return None
    out = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", FALLBACK_METHODS),
        ("Access-Control-Expose-Headers", FALLBACK_EXPOSE),
        ("Vary", "Origin"),
    ]
    if req_headers:
        out.append(("Access-Control-Allow-Headers", req_headers))
    return out


# --- the app ----------------------------------------------------------------------------


@dataclass
class Mode:
    name: str  # "seaweedfs" or "minio"
    identities: dict[str, Identity]
    cors_fallback: list[str] | None
    health_paths: tuple[str, ...]


def error_response(start_response, code: str, message: str, status: int, resource: str):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>{uuid.uuid4().hex}</RequestId></Error>"
    ).encode()
    reason = {403: "Forbidden", 501: "Not Implemented"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _filter_bucket_list(body: bytes, identity: Identity) -> bytes:
    """ListBuckets shows only the buckets this identity may use, as SeaweedFS does."""
    text = body.decode()

    def keep(match):
        name = re.search(r"<Name>(.*?)</Name>", match.group(0))
        return match.group(0) if name and identity.sees(name.group(1)) else ""

    return re.sub(r"<Bucket>.*?</Bucket>", keep, text, flags=re.S).encode()


def make_app(snapshots: Snapshots, mode: Mode):
    s3_app = create_backend_app("s3")
    auth_on = bool(mode.identities)

    def app(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path in mode.health_paths:
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        bucket, key = split_path(environ)
        origin = environ.get("HTTP_ORIGIN", "")
        if method == "OPTIONS" and origin:
            # Preflights carry no credentials: answered from CORS rules alone.
            headers = cors_headers(
                bucket,
                origin,
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", ""),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
                mode.cors_fallback,
            )
            if headers is None:
                return error_response(
                    start_response, "AccessForbidden", "CORSResponse: not allowed", 403, path
                )
            start_response("200 OK", headers + [("Content-Length", "0")])
            return [b""]
        identity = None
        if auth_on:
            try:
                identity = authenticate(environ, mode.identities)
                action = required_action(environ, bucket, key)
                if action != "ListBuckets" and not identity.can(action, bucket, key):
                    raise Denied("AccessDenied", "Access Denied")
                copy = environ.get("HTTP_X_AMZ_COPY_SOURCE")
                if copy:
                    src_bucket, _, src_key = unquote(copy).lstrip("/").partition("/")
                    if not identity.can("Read", src_bucket, src_key):
                        raise Denied("AccessDenied", "Access Denied")
            except Denied as err:
                log.info("%s %s refused: %s", method, path, err.code)
                return error_response(start_response, err.code, err.message, err.status, path)
        query = environ.get("QUERY_STRING", "")
        if mode.name == "minio" and bucket and not key and re.search(r"(^|&)cors(=|&|$)", query):
            # MinIO's community edition: bucket CORS is a dummy handler.
            return error_response(
                start_response,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                501,
                path,
            )
        status_holder: dict = {}

        def capture(status, headers, exc_info=None):
            status_holder["code"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            if origin:
                allowed = cors_headers(bucket, origin, method, "", mode.cors_fallback)
                headers += [h for h in allowed or [] if h[0] != "Access-Control-Allow-Methods"]
            status_holder["headers"] = headers
            return start_response(status, headers, exc_info)

        if identity is not None and not bucket and method == "GET":
            chunks: list[bytes] = []
            held: dict = {}

            def hold(status, headers, exc_info=None):
                held.update(status=status, headers=headers)

            chunks = list(s3_app(environ, hold))
            body = _filter_bucket_list(b"".join(chunks), identity)
            headers = [(k, v) for k, v in held["headers"] if k.lower() != "content-length"]
            start_response(held["status"], headers + [("Content-Length", str(len(body)))])
            return [body]
        body = s3_app(environ, capture)
        if method in MUTATING and status_holder.get("code", 500) < 400:
            snapshots.schedule()
        return body

    return app


# --- command lines ----------------------------------------------------------------------


def serve(servers, snapshots: Snapshots) -> int:
    def stop(signum, frame):
        # Save before exiting so `docker stop` / restart never loses a write.
        for server in servers:
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers[1:]]
    for t in threads:
        t.start()
    servers[0].serve_forever()
    snapshots.save()
    log.info("state saved; bye")
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not argv or argv[0] != "server":
        sys.exit("usage: s3_standin.py server DIR [--address :9000] (MinIO's command line)")
    delay = float(os.environ.get("STANDIN_SNAPSHOT_DELAY", "0.2"))
    if len(argv) > 1 and not argv[1].startswith("-"):
        parser = argparse.ArgumentParser(prog="minio")
        parser.add_argument("data_dir", type=Path)
        parser.add_argument("--address", default=":9000")
        parser.add_argument("--console-address", default=None, help="accepted; no console")
        args = parser.parse_args(argv[1:])
        data_dir, port = args.data_dir, int(args.address.rpartition(":")[2])
        user = os.environ.get("MINIO_ROOT_USER", "minioadmin")
        password = os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin")
        raw = os.environ.get("MINIO_API_CORS_ALLOW_ORIGIN", "*")
        mode = Mode(
            "minio",
            {user: Identity("minio-root", password, ["Admin"])},
            [o.strip() for o in raw.split(",") if o.strip()],
            ("/minio/health/live", "/minio/health/ready"),
        )
    else:
        # SeaweedFS itself runs in the tests (tests/images/s3): this plays MinIO only.
        sys.exit("usage: s3_standin.py server DIR [--address :9000] (MinIO's command line)")
    data_dir.mkdir(parents=True, exist_ok=True)
    snapshots = Snapshots(data_dir, delay)
    snapshots.load()
    servers = [make_server("0.0.0.0", port, make_app(snapshots, mode), threaded=True)]
    log.info(
        "S3 stand-in (%s interface) on :%d, %d identities, data in %s",
        mode.name,
        port,
        len(mode.identities),
        data_dir,
    )
    return serve(servers, snapshots)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
