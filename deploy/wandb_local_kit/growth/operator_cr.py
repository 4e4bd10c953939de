"""The kit's settings -> W&B's operator v2 `WeightsAndBiases` resource and its Secrets.

Pure functions over a dict of settings values (the kit's .env), so every decision is
unit-testable. Sources: W&B's operator at the commit operator_schema names
(github.com/wandb/operator: api/v2 types, the CRD, internal/controller/infra/external for
the Secret keys) and docs/growth.md. What the export decides:
- storage stays where it is: MySQL and the bucket become `externalMysql` /
  `externalObjectStore` keyed under `default`, their connection in Secrets (the CR only
  points at Secret keys; the operator reads them, the `url` selectors are ignored on input);
- Redis is external when the settings give one (REDIS / WANDB_REDIS_URL), else managed
  (the webhook always adds one: W&B needs Redis);
- the version is pinned, never below the running server's: a database migrated by server X
  must never be opened by an older server;
- `retentionPolicy.onDelete: detach`: deleting the CR must never delete the lab's data;
- the license is a plain string in the CR (the CR has no Secret reference for it), so the
  files are written 0600.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from wandb_local_kit.core.errors import KitError
from wandb_local_kit.growth.operator_check import MIN_VERSION

API_VERSION = "apps.wandb.com/v2"
KIND = "WeightsAndBiases"
MYSQL_SECRET = "external-mysql-connection"
REDIS_SECRET = "external-redis-connection"
OBJECT_STORE_SECRET = "external-objectstore-connection"
TLS_SECRET = "wandb-tls"
# Settings keys read, in order of preference. The kit derives WANDB_MYSQL_URL and
# WANDB_BUCKET_URL for its bundled storage; a lab's own MySQL/S3 may be given as plain
# URLs under these names too (the env contract of wandb/local itself: MYSQL, BUCKET, REDIS).
MYSQL_URL_KEYS = ("WANDB_MYSQL_URL", "MYSQL_URL", "MYSQL")
BUCKET_URL_KEYS = ("WANDB_BUCKET_URL", "BUCKET_URL", "BUCKET")
REDIS_URL_KEYS = ("WANDB_REDIS_URL", "REDIS_URL", "REDIS")
# The operator chart the printed steps install. Only pre-releases (2.0.0-beta.*) are
# published to its OCI repository, and Helm skips pre-releases unless --version names
# one, so the steps always pin it. Setting: WANDB_OPERATOR_CHART_VERSION.
OPERATOR_CHART = "oci://us-docker.pkg.dev/wandb-production/public/wandb/charts/operator"
DEFAULT_CHART_VERSION = "2.0.0-beta.3"
CHART_VERSION_KEY = "WANDB_OPERATOR_CHART_VERSION"
# The compose service name of the kit's bundled MySQL: not a name a cluster can resolve.
BUNDLED_MYSQL_HOST = "mysql"


@dataclass
class Export:
    resource: dict[str, Any]
    secrets: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # decisions the user must know about


@dataclass(frozen=True)
class TlsChoice:
    """How the cluster terminates TLS: a Secret with the certificate pair, or a
    cert-manager (Cluster)Issuer; none for plain http."""

    cert_pem: str = ""
    key_pem: str = ""
    issuer: str = ""
    cluster_issuer: str = ""


def _first(values: dict[str, str], keys: tuple[str, ...]) -> tuple[str, str]:
    for key in keys:
        if values.get(key):
            return key, values[key]
    return "", ""


def refuse_embedded(values: dict[str, str]) -> None:
    if values.get("WANDB_STORAGE", "embedded") == "embedded":
        raise KitError(
            "this deployment keeps its data inside the wandb container (WANDB_STORAGE=embedded); "
            "the operator cannot use that volume, and no W&B tool exports it",
            fix="move to external storage first: start a stack with external storage "
            "(wandb-kit init --storage external, in a new directory), copy the data with "
            "`wandb-kit migrate --from OLD_URL --to NEW_URL`, then export that stack's settings",
        )


def parse_mysql_url(url: str, key: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.hostname or not parts.path.strip("/"):
        raise KitError(
            f"{key} is not a mysql://USER:PASSWORD@HOST[:PORT]/DATABASE URL",
            fix=f"set {key} to the URL wandb/local uses for MYSQL",
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    out = {
        "host": parts.hostname,
        "port": str(parts.port or 3306),
        "database": unquote(parts.path.strip("/")),
        "username": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }
    if query.get("tls"):
        out["tls"] = query["tls"]
    return out


def parse_bucket_url(url: str, key: str, region: str = "", azure_key: str = "") -> dict[str, str]:
    """wandb/local's BUCKET (s3://AK:SK@host[:port]/bucket[/path][?tls=true&region=..],
    gs://bucket[/path], az://account/container[/path]) -> the operator's
    externalObjectStore keys. azure_key: the storage account key when the URL has none
    (wandb/local reads AZURE_STORAGE_KEY); without either, the pods' identity is used."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    provider = {"s3": "s3", "gs": "gcs", "az": "azure"}.get(parts.scheme)
    if not provider or not parts.hostname:
        raise KitError(
            f"{key} is not an s3://, gs:// or az:// bucket URL",
            fix=f"set {key} to the URL wandb/local uses for BUCKET",
        )
    out = {"provider": provider}
    path = [p for p in parts.path.split("/") if p]
    if provider == "s3":
        if not path:
            raise KitError(f"{key} names no bucket", fix="use s3://AK:SK@HOST[:PORT]/BUCKET")
        tls = query.get("tls", "false").lower() in ("1", "true", "yes")
        out.update(
            endpoint=parts.hostname,  # a bare host: it goes verbatim into the app's URL
            bucket=path[0],
            region=query.get("region") or region or "us-east-1",
            tlsEnabled="true" if tls else "false",
            # A custom endpoint (SeaweedFS, Ceph RGW, MinIO) needs path-style addressing.
            forcePathStyle=query.get("forcePathStyle", "true"),
        )
        if parts.port:
            out["port"] = str(parts.port)
        if len(path) > 1:
            out["path"] = "/".join(path[1:])
        if parts.username:
            out["accessKey"] = unquote(parts.username)
            out["secretKey"] = unquote(parts.password or "")
    elif provider == "gcs":
        # gs://bucket[/path]: the host part names the bucket.
        out["bucket"] = parts.hostname
        if path:
            out["path"] = "/".join(path)
    else:
        # az://[:KEY@]account/container[/path]. The operator builds the app's URL with the
        # storage ACCOUNT from `accessKey`, the container from `bucket` and the account
        # key from `secretKey` (operator objectstore.go buildAzureURL).
        if not path:
            raise KitError(f"{key} names no container", fix="use az://ACCOUNT/CONTAINER[/PATH]")
        out.update(accessKey=parts.hostname, bucket=path[0])
        if len(path) > 1:
            out["path"] = "/".join(path[1:])
        account_key = unquote(parts.password or "") or azure_key
        if account_key:
            out["secretKey"] = account_key
    return out


def parse_redis_url(url: str, key: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise KitError(f"{key} is not a redis://HOST:PORT URL", fix=f"correct {key}")
    out = {"host": parts.hostname, "port": str(parts.port or 6379)}
    password = parts.password or parts.username  # redis://:pw@ and redis://pw@ both seen
    if password:
        out["password"] = unquote(password)
    if parts.scheme == "rediss":
        out["tls"] = "true"
    return out


def _secret(name: str, namespace: str, data: dict[str, str], kind: str = "Opaque") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "wandb-local-kit"},
        },
        "type": kind,
        "stringData": dict(data),
    }


def _refs(secret: str, data: dict[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"name": secret, "key": k} for k in data}


# long: one resource document, field by field in the CR's own order; split, the spec scatters
def build(
    values: dict[str, str],
    *,
    namespace: str,
    version: str,
    name: str = "wandb",
    hostname: str = "",
    size: str = "small",
    tls: TlsChoice | None = None,
    ingress_class: str = "",
    gateway_class: str = "",
    bucket_proxy: bool = False,
    mysql_host: str = "",
) -> Export:
    refuse_embedded(values)
    notes: list[str] = []
    hostname = (hostname or values.get("WANDB_HOST", "")).rstrip("/")
    host = urlsplit(hostname)
    if host.scheme not in ("http", "https") or not host.hostname:
        raise KitError(
            f"hostname {hostname!r} is not an http(s) URL",
            fix="pass --hostname https://wandb.lab.example (the URL users will open)",
        )
    if host.port:
        notes.append(
            f"hostname keeps port {host.port}; behind a cluster ingress the URL usually has "
            "none: pass --hostname https://NAME if users will open it without a port"
        )

    mkey, murl = _first(values, MYSQL_URL_KEYS)
    bkey, burl = _first(values, BUCKET_URL_KEYS)
    if not murl or not burl:
        missing = [n for n, v in (("MySQL", murl), ("bucket", burl)) if not v]
        raise KitError(
            f"the settings give no {' and no '.join(missing)} URL for external storage",
            fix="run `wandb-kit init` to derive WANDB_MYSQL_URL/WANDB_BUCKET_URL, or set "
            "your own as MYSQL_URL=mysql://... and BUCKET_URL=s3://...",
        )
    mysql = parse_mysql_url(murl, mkey)
    if mysql["host"] == BUNDLED_MYSQL_HOST:
        # The bundled MySQL is only known inside the compose network by this name.
        mysql["host"] = (
            mysql_host or values.get("WANDB_TLS_HOSTNAME", "").strip("[]") or host.hostname
        )
        notes.append(
            f"MySQL is the kit's bundled one: the cluster connects to {mysql['host']}:"
            f"{mysql['port']}, so publish that port to the cluster's nodes (firewalled), "
            "or better move the database to a managed MySQL 8.4 and pass --mysql-host"
        )
    elif mysql_host:
        mysql["host"] = mysql_host
    bucket = parse_bucket_url(
        burl, bkey, values.get("AWS_REGION", ""), values.get("AZURE_STORAGE_KEY", "")
    )
    if bucket.get("tlsEnabled") == "true":
        notes.append(
            "the bucket is HTTPS: the operator does not carry tlsEnabled into the app's "
            "BUCKET URL (no ?tls=true), so check it after applying (docs/growth.md, "
            "operator-side risks)"
        )
    if not bucket_proxy and bucket.get("endpoint"):
        notes.append(
            f"bucketProxy is off: browsers and SDKs fetch files straight from "
            f"{bucket['endpoint']} with presigned URLs, so it must be reachable from them "
            "and allow CORS from the new hostname (or pass --bucket-proxy)"
        )

    spec: dict[str, Any] = {
        "size": size,
        "retentionPolicy": {"onDelete": "detach"},
        "wandb": {
            "hostname": hostname,
            "version": version,
            "features": {},
            "bucketProxy": bool(bucket_proxy),
        },
        "mysql": {"default": {"externalMysql": _refs(MYSQL_SECRET, mysql)}},
        "objectStore": {"default": {"externalObjectStore": _refs(OBJECT_STORE_SECRET, bucket)}},
    }
    secrets = [
        _secret(MYSQL_SECRET, namespace, mysql),
        _secret(OBJECT_STORE_SECRET, namespace, bucket),
    ]
    license_ = values.get("WANDB_LICENSE") or values.get("LICENSE") or ""
    if license_:
        spec["wandb"]["license"] = license_
    else:
        notes.append("no WANDB_LICENSE in the settings: current servers need one")

    rkey, rurl = _first(values, REDIS_URL_KEYS)
    if rurl:
        redis = parse_redis_url(rurl, rkey)
        spec["redis"] = {"default": {"externalRedis": _refs(REDIS_SECRET, redis)}}
        secrets.append(_secret(REDIS_SECRET, namespace, redis))
        if redis.get("password"):
            notes.append(
                "Redis has a password: the operator puts it in the URL's user slot "
                "(redis://PASSWORD@host), so check that the app authenticates after "
                "applying (docs/growth.md, operator-side risks)"
            )
    else:
        notes.append(
            "Redis: managed by the operator (no REDIS URL in the settings; the embedded "
            "server's cache and queues are not carried over: stop the old server cleanly)"
        )

    networking: dict[str, Any] = {}
    if gateway_class:
        networking = {
            "mode": "gateway",
            "gatewayAPI": {"gateway": {"managed": True, "gatewayClassName": gateway_class}},
        }
    else:
        # Without a class, `ingress` is left out: the operator then uses the cluster's
        # default IngressClass. An `ingress: {}` would be worse than nothing: its
        # reconciler reads the unset class and fails, so no Ingress is ever created.
        networking = {"mode": "ingress"}
        if ingress_class:
            networking["ingress"] = {"ingressClassName": ingress_class}
    tls = tls or TlsChoice()
    if host.scheme == "https":
        if tls.cert_pem and tls.key_pem:
            networking["tls"] = {"secretName": TLS_SECRET}
            secrets.append(
                _secret(
                    TLS_SECRET,
                    namespace,
                    {"tls.crt": tls.cert_pem, "tls.key": tls.key_pem},
                    kind="kubernetes.io/tls",
                )
            )
        elif tls.issuer or tls.cluster_issuer:
            cm = {"issuer": tls.issuer} if tls.issuer else {"clusterIssuer": tls.cluster_issuer}
            networking["tls"] = {"secretName": TLS_SECRET, "certManager": cm}
        else:
            raise KitError(
                f"hostname {hostname} is https, but no certificate or issuer was given",
                fix="pass --cluster-issuer NAME (or --issuer NAME) for cert-manager, or "
                "--tls-cert-dir DIR holding cert.pem and key.pem",
            )
    spec["networking"] = networking

    resource = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    notes.append(
        "the operator also provisions managed ClickHouse and Kafka (Bufstream) with PVCs and "
        "prefixes in the same bucket (clickhouse/, kafka): the bucket identity needs write "
        "access there"
    )
    return Export(resource, secrets, notes)


def chart_version(requested: str, values: dict[str, str]) -> str:
    """The operator chart version to pin: --chart-version, else the setting, else the
    version the kit's schema follows."""
    import re

    chosen = (requested or values.get(CHART_VERSION_KEY) or DEFAULT_CHART_VERSION).strip()
    if not re.fullmatch(r"[vV]?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", chosen):
        source = "--chart-version" if requested else CHART_VERSION_KEY
        raise KitError(
            f"{source} {chosen!r} is not a chart version",
            fix=f"use a published operator chart version, e.g. {DEFAULT_CHART_VERSION}",
        )
    return chosen.lstrip("vV")  # published chart tags have no v, as --wandb-version's


def version_tuple(text: str):
    try:
        return tuple(int(p) for p in text.strip().lstrip("vV").split("-", 1)[0].split("."))
    except ValueError:
        return None


def image_tag(image: str) -> str:
    last = image.split("/")[-1]
    return last.rpartition(":")[2] if ":" in last else ""


def pick_version(requested: str, running: str, image: str) -> str:
    """The version to pin: the requested one (never below the running server's), else the
    running server's, else the image tag. Downgrading a migrated database is never safe."""
    floor = running if version_tuple(running or "") else image_tag(image)
    chosen = _pick(requested, floor, image)
    if version_tuple(chosen) < version_tuple(MIN_VERSION):
        raise KitError(
            f"version {chosen} is below {MIN_VERSION}, the lowest W&B Server Manager and "
            "the operator's server manifests accept",
            fix=f"upgrade this server first (wandb-kit upgrade --to {MIN_VERSION} or later), "
            f"or pin a newer one with --wandb-version (>= {MIN_VERSION}; the operator then "
            "migrates the database forward, so back up first)",
        )
    return chosen


def _pick(requested: str, floor: str, image: str) -> str:
    if requested:
        if not version_tuple(requested):
            raise KitError(
                f"--wandb-version {requested!r} is not a release number", fix="e.g. 0.83.0"
            )
        if version_tuple(floor or "") and version_tuple(requested) < version_tuple(floor):
            raise KitError(
                f"--wandb-version {requested} is below the running server's {floor}: the "
                "database was migrated by the newer server and must not be opened by an older one",
                fix=f"pin {floor} or later",
            )
        # Server manifests are tagged X.Y.Z: "v0.83.0" would name no manifest.
        return requested.strip().lstrip("vV")
    if version_tuple(floor or ""):
        return floor.strip().lstrip("vV")
    raise KitError(
        "cannot tell which server version to pin: the server did not answer and "
        f"WANDB_IMAGE ({image or 'unset'}) has no release tag",
        fix="pass --wandb-version X.Y.Z (the version the server runs now, or later)",
    )
