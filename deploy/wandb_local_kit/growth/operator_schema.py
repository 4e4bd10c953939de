"""A strict JSON schema of W&B's operator v2 `WeightsAndBiases` resource (apps.wandb.com/v2).

Written from the fields documented in shared/reference/operator-v2.md (operator @ 7b06306:
api/v2/weightsandbiases_types.go and the generated CRD), not from wsm's field reference,
which is wrong in several places (`external` for `externalMysql`, `clickHouse`,
`certManager.kind`, ...). The CRD itself has no `additionalProperties: false`, so a plain
validator would accept typos; like kubeconform's openapi2jsonschema.py, every object with
known properties here is closed. Objects whose inner shape the kit never writes (affinity,
tolerations, probes, managed-service tuning, legacyOverrides) stay open: the kit cannot
vouch for their fields.
"""

from __future__ import annotations

from typing import Any

SIZES = ["dev", "micro", "small", "medium", "large", "xlarge", "xxlarge"]


def closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


OPEN: dict[str, Any] = {"type": "object"}
STRING: dict[str, Any] = {"type": "string"}
BOOL: dict[str, Any] = {"type": "boolean"}
INT: dict[str, Any] = {"type": "integer"}
# corev1.SecretKeySelector: `key` is required; `name` defaults to "" (= not set).
SELECTOR = closed({"name": STRING, "key": STRING, "optional": BOOL}, ["key"])


def selectors(*names: str) -> dict[str, Any]:
    return closed({n: SELECTOR for n in names})


def keyed(instance: dict[str, Any]) -> dict[str, Any]:
    """The infra sections are maps of instance name -> spec; `default` is the reserved key."""
    return {"type": "object", "additionalProperties": instance}


MYSQL_INSTANCE = closed(
    {
        "managedMysql": OPEN,
        "externalMysql": selectors(
            "host",
            "port",
            "database",
            "username",
            "password",
            "url",
            "tls",
            "sslCa",
            "sslCert",
            "sslKey",
        ),
    }
)
REDIS_INSTANCE = closed(
    {
        "managedRedis": OPEN,
        "externalRedis": selectors("host", "port", "password", "tls", "sslCa", "url"),
    }
)
OBJECT_STORE_INSTANCE = closed(
    {
        "managedObjectStore": OPEN,
        "externalObjectStore": selectors(
            "provider",
            "endpoint",
            "port",
            "accessKey",
            "secretKey",
            "bucket",
            "path",
            "region",
            "tlsEnabled",
            "forcePathStyle",
            "url",
        ),
        "bucketAttributionDisabled": BOOL,
    }
)
CLICKHOUSE_INSTANCE = closed(
    {
        "managedClickhouse": closed(
            {
                "replicas": INT,
                "version": STRING,
                "storageSize": STRING,
                "objectStorage": closed({"prefix": STRING, "insecure": BOOL}),
                "keeper": closed({"replicas": INT, "storageSize": STRING}),
            }
        ),
        "externalClickhouse": selectors(
            "host",
            "tcpPort",
            "httpPort",
            "database",
            "username",
            "password",
            "url",
            "replicated",
            "clusterName",
        ),
    }
)
KAFKA = closed(
    {
        "managedKafka": closed(
            {
                "storageSize": STRING,
                "replicas": INT,
                "config": OPEN,
                "serviceAccount": OPEN,
                "skipDataRecovery": BOOL,
                "telemetry": OPEN,
            }
        )
    }
)
VALUE_OR_SECRET = closed({"value": STRING, "valueFrom": closed({"secretKeyRef": SELECTOR})})
GLOBAL = closed(
    {
        "imageRegistry": STRING,
        "imagePullSecrets": {"type": "array", "items": closed({"name": STRING})},
        "customCACerts": {"type": "array", "items": STRING},
        "caCertsConfigMap": STRING,
        "proxy": closed(
            {
                "httpProxy": VALUE_OR_SECRET,
                "httpsProxy": VALUE_OR_SECRET,
                "noProxy": {"type": "array", "items": STRING},
            }
        ),
    }
)
NETWORKING = closed(
    {
        "mode": {"enum": ["", "ingress", "gateway"]},
        "ingress": closed({"ingressClassName": STRING, "name": STRING}),
        "gatewayAPI": closed(
            {
                "gateway": closed(
                    {
                        "managed": BOOL,
                        "gatewayRef": closed({"name": STRING, "namespace": STRING}),
                        "gatewayClassName": STRING,
                        "listeners": {"type": "array"},
                        "infrastructureAnnotations": {
                            "type": "object",
                            "additionalProperties": STRING,
                        },
                    }
                ),
                "listenerName": STRING,
            }
        ),
        # Only issuer and clusterIssuer: wsm's doc also names a `kind`, which is not there.
        "tls": closed(
            {
                "secretName": STRING,
                "certManager": closed({"issuer": STRING, "clusterIssuer": STRING}),
            }
        ),
        "annotations": {"type": "object", "additionalProperties": STRING},
    }
)
WANDB = closed(
    {
        "hostname": STRING,
        "additionalHostnames": {"type": "array", "items": STRING},
        "version": STRING,
        "manifestRepository": STRING,
        "license": STRING,  # a plain string: the CR has no Secret reference for it
        "features": {"type": "object", "additionalProperties": BOOL},
        "bucketProxy": BOOL,
        "internalServiceAuth": OPEN,
        "serviceAccount": OPEN,
        "oidc": closed(
            {
                "clientId": SELECTOR,
                "clientSecret": SELECTOR,
                "issuerUrl": SELECTOR,
                "authMethod": SELECTOR,
                "sessionLength": {"type": ["string", "integer"]},
            }
        ),
        "notifications": OPEN,
        "security": closed(
            {
                name: BOOL
                for name in (
                    "allowUserTeamCreation",
                    "disableCodeSaving",
                    "allowAnonymousPublicProjects",
                    "disableSSOProvisioning",
                    "insecureAllowAPIKeyAdminAccess",
                    "hideUpgradeBanner",
                )
            }
        ),
        "probes": OPEN,
        "applications": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "autoscaling": closed({"minReplicas": INT, "maxReplicas": INT}),
                },
            },
        },
        "legacyOverrides": OPEN,
    },
    # Required by the CRD; the webhook fills bucketProxy/features on a live cluster, but
    # an offline check cannot rely on that, so the export writes them explicitly.
    ["bucketProxy", "features", "hostname", "version"],
)
SPEC = closed(
    {
        "size": {"enum": SIZES},
        "requireLimits": BOOL,
        "retentionPolicy": closed({"onDelete": {"enum": ["detach", "purge"]}}, ["onDelete"]),
        "global": GLOBAL,
        "wandb": WANDB,
        "affinity": OPEN,
        "tolerations": {"type": "array"},
        "mysql": keyed(MYSQL_INSTANCE),
        "redis": keyed(REDIS_INSTANCE),
        "objectStore": keyed(OBJECT_STORE_INSTANCE),
        "clickhouse": keyed(CLICKHOUSE_INSTANCE),
        "kafka": KAFKA,
        "networking": NETWORKING,
    },
    ["retentionPolicy"],
)
RESOURCE = closed(
    {
        "apiVersion": {"const": "apps.wandb.com/v2"},
        "kind": {"const": "WeightsAndBiases"},
        "metadata": {
            "type": "object",
            "properties": {"name": STRING, "namespace": STRING},
            "required": ["name"],
        },
        "spec": SPEC,
    },
    ["apiVersion", "kind", "metadata", "spec"],
)
