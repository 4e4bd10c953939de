"""The offline check of an operator v2 export: the strict schema (operator_schema), the
admission webhook's rules (re-implemented: they are not in the CRD), and that every Secret
reference resolves to a key of a Secret in the same files.

It exists because the cluster is the first place that would otherwise see the mistakes
W&B's own examples make (unkeyed `mysql: {externalMysql: ...}`, `external:`, `clickHouse`,
`certManager.kind`, `URL:`), and on a cluster with warn-level field validation the
misspelled fields are silently pruned and the operator provisions managed storage instead
of connecting to the lab's data. Rules: shared/reference/operator-v2.md sections 1.2-1.6.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wandb_local_kit.growth.operator_schema import RESOURCE

INFRA = {
    "mysql": ("managedMysql", "externalMysql"),
    "redis": ("managedRedis", "externalRedis"),
    "objectStore": ("managedObjectStore", "externalObjectStore"),
    "clickhouse": ("managedClickhouse", "externalClickhouse"),
}
# The lowest version wsm accepts (wsm cmd/wsm/deploy_v2.go minWandbVersion).
MIN_VERSION = "0.80.0"

# Known wrong spellings (wsm's field reference, the operator's stale examples) -> the fix.
STALE_HINTS = {
    "external": "the field is externalMysql / externalRedis / externalObjectStore "
    "(wsm's cr-fields.md is wrong here)",
    "clickHouse": "the section is `clickhouse` (lower-case h)",
    "managedClickHouse": "the field is `managedClickhouse`",
    "externalClickHouse": "the field is `externalClickhouse`",
    "kind": "certManager has only `issuer` and `clusterIssuer`",
    "URL": "the selector is `url` (lower-case)",
    "port": "ClickHouse has `tcpPort` and `httpPort`, not `port`",
}


@dataclass(frozen=True)
class Finding:
    where: str  # file#document: JSON path
    problem: str
    fix: str = ""

    def render(self) -> str:
        text = f"{self.where}: {self.problem}"
        return text + (f"\n  fix: {self.fix}" if self.fix else "")


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top)"


def schema_findings(resource: dict[str, Any], where: str) -> list[Finding]:
    from jsonschema import Draft202012Validator

    out = []
    validator = Draft202012Validator(RESOURCE)
    for err in sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path)):
        fix = ""
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            hints = [f"{k}: {STALE_HINTS[k]}" for k in extra if k in STALE_HINTS]
            parent = list(err.absolute_path)
            if len(parent) == 3 and parent[0] == "spec" and parent[1] in INFRA:
                hints.append(
                    f"spec.{parent[1]} is a map of instances: put the settings under "
                    f"`{parent[1]}: {{default: {{...}}}}` (the operator's own examples "
                    "omit the `default:` key)"
                )
            fix = "; ".join(hints) or "remove or correct the misspelled field"
        out.append(Finding(f"{where}: {_path(err.absolute_path)}", err.message, fix))
    return out


def _selectors(node: Any, path: tuple = ()):
    """Yields (path, selector) for every SecretKeySelector-shaped dict under node."""
    if isinstance(node, dict):
        if "key" in node and set(node) <= {"name", "key", "optional"}:
            yield path, node
            return
        for k, v in node.items():
            yield from _selectors(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _selectors(v, path + (i,))


def _version_tuple(text: str):
    try:
        return tuple(int(p) for p in text.split("-", 1)[0].split("."))
    except ValueError:
        return None


def webhook_findings(resource: dict[str, Any], where: str) -> list[Finding]:
    """The admission webhook's checks (operator internal/webhook/v2), plus the version
    floor wsm enforces."""
    out: list[Finding] = []
    spec = resource.get("spec") if isinstance(resource.get("spec"), dict) else {}

    def add(path: str, problem: str, fix: str = "") -> None:
        out.append(Finding(f"{where}: {path}", problem, fix))

    wandb = spec.get("wandb") if isinstance(spec.get("wandb"), dict) else {}
    hostname = wandb.get("hostname")
    if isinstance(hostname, str):
        if not hostname.strip():
            add("spec.wandb.hostname", "is blank", "set the URL users open, with its scheme")
        elif urlsplit(hostname).scheme not in ("http", "https") or not urlsplit(hostname).hostname:
            add(
                "spec.wandb.hostname",
                f"{hostname!r} lacks a scheme (it feeds GORILLA_FRONTEND_HOST)",
                "use the full URL, e.g. https://wandb.lab.example",
            )
    version = wandb.get("version")
    if isinstance(version, str):
        if not version or version.strip() == "latest" or version != version.strip():
            add("spec.wandb.version", f"{version!r} is not a pinned version", "pin e.g. 0.83.0")
        else:
            v = _version_tuple(version)
            if v is None:
                add("spec.wandb.version", f"{version!r} is not a release number", "pin e.g. 0.83.0")
            elif v < _version_tuple(MIN_VERSION):
                add(
                    "spec.wandb.version",
                    f"{version} is below {MIN_VERSION}, the lowest W&B Server Manager accepts",
                    f"upgrade the server to >= {MIN_VERSION} first (wandb-kit upgrade)",
                )

    for section, (managed, external) in INFRA.items():
        instances = spec.get(section)
        if not isinstance(instances, dict) or not instances:
            continue
        if "default" not in instances:
            add(
                f"spec.{section}",
                'a "default" instance is required',
                f"key the settings under `{section}: {{default: {{...}}}}`",
            )
        for name, inst in instances.items():
            if not isinstance(inst, dict):
                continue
            if inst.get(managed) is not None and inst.get(external) is not None:
                add(
                    f"spec.{section}.{name}",
                    f"{managed} and {external} are mutually exclusive",
                    "keep one",
                )
            ext = inst.get(external)
            if section == "redis" and isinstance(ext, dict):
                for field in ("host", "port"):
                    sel = ext.get(field) or {}
                    if not (isinstance(sel, dict) and sel.get("name") and sel.get("key")):
                        add(
                            f"spec.redis.{name}.externalRedis.{field}",
                            "needs both name and key",
                            "point it at a Secret key",
                        )
            if section == "objectStore" and isinstance(ext, dict):
                sel = ext.get("bucket") or {}
                if not (isinstance(sel, dict) and sel.get("name")):
                    add(
                        f"spec.objectStore.{name}.externalObjectStore.bucket",
                        "needs a Secret name",
                        "point it at the Secret holding the bucket name",
                    )
            if section == "clickhouse" and inst.get(managed) is not None:
                if not spec.get("objectStore"):
                    add(
                        f"spec.clickhouse.{name}.managedClickhouse",
                        "managed ClickHouse needs spec.objectStore",
                        "configure spec.objectStore.default",
                    )

    net = spec.get("networking") if isinstance(spec.get("networking"), dict) else {}
    gateway = ((net.get("gatewayAPI") or {}).get("gateway")) or {}
    if net.get("mode") == "gateway" and isinstance(gateway, dict):
        if gateway.get("managed") and not gateway.get("gatewayClassName"):
            add(
                "spec.networking.gatewayAPI.gateway",
                "a managed gateway needs gatewayClassName",
                "set gatewayClassName (e.g. nginx)",
            )
        if not gateway.get("managed") and not gateway.get("gatewayRef"):
            add(
                "spec.networking.gatewayAPI.gateway",
                "an unmanaged gateway needs gatewayRef",
                "name your Gateway in gatewayRef, or set managed: true",
            )
    proxy = ((spec.get("global") or {}).get("proxy")) or {}
    for field in ("httpProxy", "httpsProxy"):
        value = (proxy.get(field) or {}).get("value") if isinstance(proxy, dict) else None
        if isinstance(value, str) and "@" in urlsplit(value).netloc:
            add(
                f"spec.global.proxy.{field}.value",
                "holds credentials",
                "use valueFrom.secretKeyRef for a proxy URL with a user and password",
            )
    email = ((wandb.get("notifications") or {}).get("email")) if isinstance(wandb, dict) else None
    if isinstance(email, dict) and (("sink" in email) == ("smtp" in email)):
        add(
            "spec.wandb.notifications.email",
            "needs exactly one of sink or smtp",
            "keep one",
        )
    for app, conf in ((wandb.get("applications") or {}) if isinstance(wandb, dict) else {}).items():
        scale = (conf or {}).get("autoscaling") or {}
        lo, hi = scale.get("minReplicas"), scale.get("maxReplicas")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            add(f"spec.wandb.applications.{app}.autoscaling", "minReplicas > maxReplicas")
    return out


def secret_findings(
    resource: dict[str, Any], secrets: list[dict[str, Any]], where: str
) -> list[Finding]:
    """Every selector with a Secret name must name a Secret in the CR's namespace that holds
    the key (the operator errors on a missing key unless optional)."""
    namespace = (resource.get("metadata") or {}).get("namespace") or "default"
    have: dict[str, set[str]] = {}
    for s in secrets:
        meta = s.get("metadata") or {}
        if (meta.get("namespace") or "default") != namespace:
            continue
        have.setdefault(meta.get("name", ""), set()).update(
            (s.get("stringData") or {}).keys(), (s.get("data") or {}).keys()
        )
    out = []
    for path, sel in _selectors(resource.get("spec") or {}, ("spec",)):
        name, key = sel.get("name") or "", sel.get("key")
        if not name or sel.get("optional"):
            continue
        if name not in have:
            out.append(
                Finding(
                    f"{where}: {_path(path)}",
                    f"Secret {name!r} is not among the exported Secrets of namespace {namespace}",
                    "export again, or create the Secret before applying",
                )
            )
        elif key not in have[name]:
            out.append(
                Finding(
                    f"{where}: {_path(path)}",
                    f"Secret {name!r} has no key {key!r} (it has {', '.join(sorted(have[name]))})",
                    "export again",
                )
            )
    tls = spec_networking_tls(resource) or {}
    # With cert-manager, secretName is where cert-manager writes the certificate.
    if tls.get("secretName") and not tls.get("certManager") and tls["secretName"] not in have:
        out.append(
            Finding(
                f"{where}: spec.networking.tls.secretName",
                f"TLS Secret {tls['secretName']!r} is not among the exported Secrets",
                "create it (kubectl create secret tls ...) or use a cert-manager issuer",
            )
        )
    return out


def spec_networking_tls(resource: dict[str, Any]) -> dict | None:
    return (((resource.get("spec") or {}).get("networking")) or {}).get("tls")


def check_documents(docs: list[tuple[str, dict]], require_secrets: bool = True) -> list[Finding]:
    """docs: (where, document). Checks each WeightsAndBiases resource; Secrets are matched
    against its references when any Secret is among the documents (or require_secrets)."""
    resources = [(w, d) for w, d in docs if isinstance(d, dict) and d.get("kind") != "Secret"]
    secrets = [d for _, d in docs if isinstance(d, dict) and d.get("kind") == "Secret"]
    out: list[Finding] = []
    if not resources:
        return [Finding("(input)", "no WeightsAndBiases resource found", "check the file")]
    for where, res in resources:
        out += schema_findings(res, where)
        out += webhook_findings(res, where)
        if secrets or require_secrets:
            out += secret_findings(res, secrets, where)
    return out


def load_documents(paths: list[Path]) -> list[tuple[str, dict]]:
    """Every YAML document of the files (a directory means its *.yaml files)."""
    import yaml

    files: list[Path] = []
    for p in paths:
        files += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p]
    docs = []
    for f in files:
        for i, doc in enumerate(yaml.safe_load_all(f.read_text())):
            if doc is not None:
                docs.append((f"{f.name}#{i}", doc))
    return docs
