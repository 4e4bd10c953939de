"""The operator's admission webhooks, re-implemented offline (they are not in the CRD):
the mutating webhook's defaulting, then the validating webhook's rules on create.

Rules and defaults follow W&B's operator source, github.com/wandb/operator at the commit
operator_schema names: internal/webhook/v2/weightsandbiases_webhook.go.
Each finding carries the rule's id, so a test corpus can say which rule it expects.
Update-only rules (replica decrease, Redis sentinel toggles) need the stored object and
are not checked here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

INFRA = {
    "mysql": ("managedMysql", "externalMysql"),
    "redis": ("managedRedis", "externalRedis"),
    "objectStore": ("managedObjectStore", "externalObjectStore"),
    "clickhouse": ("managedClickhouse", "externalClickhouse"),
}
DEFAULT_MANIFEST = "oci://us-docker.pkg.dev/wandb-production/public/wandb/server-manifest"
# Managed infra name budgets (the vendor operators' derived names must fit DNS-1123
# labels); Kafka's and ClickHouse's budgets derive from vendor name patterns and are only
# checked as DNS-1123 labels here.
NAME_BUDGET = {"mysql": 40, "redis": 40, "objectStore": 40}
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Kubernetes' resource.Quantity (what ParseQuantity accepts).
QUANTITY = re.compile(r"^([+-]?)((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?\d+))?$")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def default(resource: dict[str, Any]) -> dict[str, Any]:
    """The mutating webhook's Default(): what it adds before the schema is validated
    (as Go serializes the result: required struct fields appear, empty maps stay)."""
    meta = _dict(resource.get("metadata"))
    spec = resource.setdefault("spec", {})
    if not isinstance(spec, dict):
        return resource
    if not spec.get("size"):
        spec["size"] = "dev"
    retention = spec.setdefault("retentionPolicy", {})
    if isinstance(retention, dict) and not retention.get("onDelete"):
        retention["onDelete"] = "detach"
    wandb = spec.setdefault("wandb", {})
    if not isinstance(wandb, dict):
        return resource
    # Go fields without omitempty: serialized even when the user left them out.
    wandb.setdefault("hostname", "")
    wandb.setdefault("version", "")
    wandb.setdefault("bucketProxy", False)
    if wandb.get("features") is None:
        wandb["features"] = {}
    if not wandb.get("manifestRepository"):
        registry = _dict(spec.get("global")).get("imageRegistry")
        wandb["manifestRepository"] = (
            f"oci://{registry}/wandb/server-manifest" if registry else DEFAULT_MANIFEST
        )
    elif isinstance(wandb["manifestRepository"], str) and "://" not in wandb["manifestRepository"]:
        wandb["manifestRepository"] = "oci://" + wandb["manifestRepository"]
    auth = wandb.setdefault("internalServiceAuth", {})
    if isinstance(auth, dict):
        auth.setdefault("enabled", True)
        if auth.get("enabled") and not auth.get("oidcIssuer"):
            auth["oidcIssuer"] = "https://kubernetes.default.svc.cluster.local"
    account = wandb.setdefault("serviceAccount", {})
    if isinstance(account, dict):
        account.setdefault("create", True)
        if not account.get("serviceAccountName"):
            account["serviceAccountName"] = "wandb-app"
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    for section, (managed, external) in INFRA.items():
        instances = spec.get(section)
        if not isinstance(instances, dict):
            instances = spec[section] = {}
        if not instances:
            instances["default"] = {managed: {}}
        for key, inst in instances.items():
            if not isinstance(inst, dict) or inst.get(external) is not None:
                continue
            spec_ = inst.get(managed)
            if not isinstance(spec_, dict):
                spec_ = inst[managed] = {}
            # The operator shortens long defaults to fit; a derived default always fits.
            if not spec_.get("name"):
                spec_["name"] = _fit(f"{name}-{key}" if key != "default" else name, section)
            if not spec_.get("namespace"):
                spec_["namespace"] = namespace
            if section == "redis" and spec.get("size") != "dev":
                spec_.setdefault("sentinel", {})["enabled"] = True
    kafka = spec.setdefault("kafka", {})
    if isinstance(kafka, dict):
        if not isinstance(kafka.get("managedKafka"), dict):
            kafka["managedKafka"] = {}
        mk = kafka["managedKafka"]
        if not mk.get("name"):
            mk["name"] = _fit(f"{name}-kafka", "kafka")
        if not mk.get("namespace"):
            mk["namespace"] = namespace
    store = _dict(_dict(spec.get("objectStore")).get("default"))
    if store.get("managedObjectStore") is not None:
        wandb["bucketProxy"] = True
    return resource


def _fit(name: str, section: str) -> str:
    return name[: NAME_BUDGET.get(section, 40)].rstrip("-") or "wandb"


# long: the webhook's create rules in the operator's order, one short block per rule id
def validate(resource: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The validating webhook's create rules on a defaulted resource: (path, problem,
    rule id). Managed infra names are checked by infra_names on the resource as written
    (the names the defaulter derives always fit)."""
    out: list[tuple[str, str, str]] = []
    spec = _dict(resource.get("spec"))
    wandb = _dict(spec.get("wandb"))
    add = lambda path, problem, rule: out.append((path, problem, rule))  # noqa: E731

    hostname = wandb.get("hostname")
    if isinstance(hostname, str) and not hostname.strip():
        add("spec.wandb.hostname", "hostname is required", "webhook-hostname")
    version = wandb.get("version")
    if isinstance(version, str):
        if not version.strip():
            add(
                "spec.wandb.version",
                "version is required; pin it to a published server version",
                "webhook-version",
            )
        elif version.strip() == "latest":
            add(
                "spec.wandb.version",
                '"latest" has no server manifest: pin a published version',
                "webhook-version",
            )
        elif version != version.strip():
            add(
                "spec.wandb.version",
                "must not contain leading or trailing whitespace",
                "webhook-version",
            )

    for section, (managed, external) in INFRA.items():
        instances = _dict(spec.get(section))
        if instances and "default" not in instances:
            add(
                f"spec.{section}.default",
                'a "default" instance is required when other instances are defined',
                "webhook-default-instance",
            )
        for key, inst in instances.items():
            inst = _dict(inst)
            base = f"spec.{section}.{key}"
            m, e = inst.get(managed), inst.get(external)
            if m is not None and e is not None:
                add(base, f"{managed} and {external} are mutually exclusive", "webhook-exclusive")
            m, e = _dict(m), _dict(e)
            if section == "mysql" and m:
                replicas = m.get("replicas")
                if (
                    isinstance(replicas, int)
                    and replicas != 0
                    and not (replicas > 0 and replicas % 2 == 1)
                ):
                    add(
                        f"{base}.managedMysql.replicas",
                        "replicas must be an odd number",
                        "webhook-odd-replicas",
                    )
            if section == "redis" and inst.get(external) is not None:
                for field in ("host", "port"):
                    sel = _dict(e.get(field))
                    if not sel.get("name"):
                        add(
                            f"{base}.externalRedis.{field}.name",
                            "secret name is required",
                            "webhook-selector",
                        )
                    if not sel.get("key"):
                        add(
                            f"{base}.externalRedis.{field}.key",
                            "secret key is required",
                            "webhook-selector",
                        )
            if section == "objectStore":
                if inst.get(external) is not None and not _dict(e.get("bucket")).get("name"):
                    if "legacy.operator.wandb.com/bucket-pending" not in _annotations(resource):
                        add(
                            f"{base}.externalObjectStore.bucket",
                            "externalObjectStore requires a bucket secret reference",
                            "webhook-bucket",
                        )
                for size_field in ("storageSize",):
                    _positive_quantity(
                        m.get(size_field), f"{base}.managedObjectStore.{size_field}", add
                    )
                _positive_quantity(
                    _dict(m.get("SeaweedObjectStoreSpec")).get("filerStorageSize"),
                    f"{base}.managedObjectStore.SeaweedObjectStoreSpec.filerStorageSize",
                    add,
                )
                copies, replicas = m.get("copies", 0), m.get("replicas", 0)
                if isinstance(copies, int) and isinstance(replicas, int):
                    if copies < 0 or (replicas > 0 and copies > replicas - 1):
                        add(
                            f"{base}.managedObjectStore.copies",
                            "copies cannot be negative or exceed replicas-1",
                            "webhook-copies",
                        )
            if section == "redis" and m:
                _quantity(m.get("storageSize"), f"{base}.managedRedis.storageSize", add)
            if section == "clickhouse" and inst.get(managed) is not None:
                if not _dict(spec.get("objectStore")):
                    add(
                        f"{base}.managedClickhouse",
                        "managed ClickHouse needs spec.objectStore",
                        "webhook-clickhouse-store",
                    )
                keeper = _dict(m.get("keeper"))
                kr = keeper.get("replicas", 0)
                if isinstance(kr, int) and kr != 0 and kr % 2 == 0:
                    add(
                        f"{base}.managedClickhouse.keeper.replicas",
                        "replicas must be an odd number",
                        "webhook-odd-replicas",
                    )
                _quantity(m.get("storageSize"), f"{base}.managedClickhouse.storageSize", add)
                _quantity(
                    keeper.get("storageSize"), f"{base}.managedClickhouse.keeper.storageSize", add
                )

    notifications = _dict(wandb.get("notifications"))
    if notifications.get("slack") is not None:
        slack = _dict(notifications["slack"])
        for field in ("clientId", "clientSecret"):
            _required_selector(slack.get(field), f"spec.wandb.notifications.slack.{field}", add)
    if notifications.get("email") is not None:
        email = _dict(notifications["email"])
        sink, smtp = email.get("sink"), email.get("smtp")
        if (sink is None) == (smtp is None):
            add(
                "spec.wandb.notifications.email",
                "configure exactly one of sink or smtp",
                "webhook-notifications",
            )
        elif sink is not None:
            _required_selector(sink, "spec.wandb.notifications.email.sink", add)
        else:
            for field in ("host", "port", "username", "password"):
                _required_selector(
                    _dict(smtp).get(field), f"spec.wandb.notifications.email.smtp.{field}", add
                )

    _networking(_dict(spec.get("networking")), add)
    _proxy(_dict(_dict(spec.get("global")).get("proxy")), add)
    return out


def infra_names(resource: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Names the user gave managed infra: DNS-1123 labels within the vendors' budgets."""
    out: list[tuple[str, str, str]] = []
    add = lambda path, problem, rule: out.append((path, problem, rule))  # noqa: E731
    spec = _dict(resource.get("spec"))
    for section, (managed, _) in INFRA.items():
        for key, inst in _dict(spec.get(section)).items():
            m = _dict(_dict(inst).get(managed))
            path = f"spec.{section}.{key}.{managed}.name"
            _infra_name(m.get("name"), path, NAME_BUDGET.get(section, 63), add)
    mk = _dict(_dict(spec.get("kafka")).get("managedKafka"))
    _infra_name(mk.get("name"), "spec.kafka.managedKafka.name", 63, add)
    return out


def _annotations(resource: dict) -> dict:
    return _dict(_dict(resource.get("metadata")).get("annotations"))


def _required_selector(sel: Any, path: str, add) -> None:
    sel = _dict(sel)
    if not sel.get("name"):
        add(f"{path}.name", "secret name is required", "webhook-selector")
    if not sel.get("key"):
        add(f"{path}.key", "secret key is required", "webhook-selector")


def _quantity(value: Any, path: str, add) -> None:
    if isinstance(value, str) and value and not QUANTITY.match(value):
        add(path, f"{value!r} must be a valid resource quantity (e.g., '10Gi')", "webhook-quantity")


def _positive_quantity(value: Any, path: str, add) -> None:
    if isinstance(value, str) and value:
        m = QUANTITY.match(value)
        if not m or m.group(1) == "-" or float(m.group(2)) == 0:
            add(
                path,
                f"{value!r} must be a positive resource quantity (e.g., '10Gi')",
                "webhook-quantity",
            )


def _infra_name(name: Any, path: str, budget: int, add) -> None:
    if not isinstance(name, str) or not name:
        return
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        add(path, f"{name!r} must be a valid DNS-1123 label", "webhook-infra-name")
    elif len(name) > budget:
        add(path, f"{name!r} must be at most {budget} characters", "webhook-infra-name")


def _networking(net: dict, add) -> None:
    mode = net.get("mode", "")
    if not mode:
        return
    if mode == "ingress" and net.get("gatewayAPI") is not None:
        add(
            "spec.networking.gatewayAPI",
            "gatewayAPI must not be set when mode is ingress",
            "webhook-networking",
        )
    if mode == "gateway":
        if net.get("ingress") is not None:
            add(
                "spec.networking.ingress",
                "ingress must not be set when mode is gateway",
                "webhook-networking",
            )
        if net.get("gatewayAPI") is None:
            add(
                "spec.networking.gatewayAPI",
                "gatewayAPI is required when mode is gateway",
                "webhook-networking",
            )
            return
        gw = _dict(_dict(net.get("gatewayAPI")).get("gateway"))
        base = "spec.networking.gatewayAPI.gateway"
        if gw.get("managed"):
            if not gw.get("gatewayClassName"):
                add(
                    f"{base}.gatewayClassName",
                    "gatewayClassName is required when managed is true",
                    "webhook-networking",
                )
            if gw.get("gatewayRef") is not None:
                add(
                    f"{base}.gatewayRef",
                    "gatewayRef must not be set when managed is true",
                    "webhook-networking",
                )
        elif gw.get("gatewayRef") is None:
            add(
                f"{base}.gatewayRef",
                "gatewayRef is required when managed is false",
                "webhook-networking",
            )
        elif not _dict(gw.get("gatewayRef")).get("name"):
            add(f"{base}.gatewayRef.name", "gatewayRef.name is required", "webhook-networking")


def _proxy(proxy: dict, add) -> None:
    for field in ("httpProxy", "httpsProxy"):
        if proxy.get(field) is None:
            continue
        pv = _dict(proxy[field])
        path = f"spec.global.proxy.{field}"
        has_value, has_from = bool(pv.get("value")), pv.get("valueFrom") is not None
        if has_value and has_from:
            add(path, "set exactly one of value or valueFrom, not both", "webhook-proxy")
            continue
        if not has_value and not has_from:
            add(path, "one of value or valueFrom is required", "webhook-proxy")
            continue
        if has_from and _dict(pv["valueFrom"]).get("secretKeyRef") is None:
            add(
                f"{path}.valueFrom.secretKeyRef", "valueFrom requires secretKeyRef", "webhook-proxy"
            )
        if has_value:
            parts = urlsplit(str(pv["value"]))
            if parts.scheme not in ("http", "https"):
                add(f"{path}.value", "scheme must be http or https", "webhook-proxy")
            if "@" in parts.netloc:
                add(
                    f"{path}.value",
                    "must not contain credentials: use valueFrom with a Secret",
                    "webhook-proxy",
                )
    for i, entry in enumerate(proxy.get("noProxy") or []):
        if isinstance(entry, str) and (not entry.strip() or "," in entry):
            add(
                f"spec.global.proxy.noProxy[{i}]",
                "must be non-empty and without commas",
                "webhook-proxy",
            )


def metadata_findings(resource: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The API server's own checks of metadata (a custom resource's name is a DNS-1123
    subdomain; the namespace a DNS-1123 label)."""
    out = []
    meta = _dict(resource.get("metadata"))
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        out.append(("metadata.name", "name is required", "metadata-name"))
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        out.append(("metadata.name", f"{name!r} is not a DNS-1123 subdomain", "metadata-name"))
    ns = meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or len(ns) > 63 or not DNS1123_LABEL.match(ns)):
        out.append(("metadata.namespace", f"{ns!r} is not a DNS-1123 label", "metadata-name"))
    return out
