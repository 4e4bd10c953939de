"""The offline check of an operator v2 resource, judged the way a cluster judges it:

1. the API server's structural schema (operator_structural, against the kit's schema or
   a CRD read with --crd): nulls of non-nullable fields dropped, unknown fields reported
   as pruned, defaults applied, then types, formats, enums, bounds and the CEL rule;
2. the operator's mutating webhook's defaulting, then its validating rules
   (operator_webhook), and the API server's metadata name rules;
3. what the kit wants beyond the cluster (a hostname with a scheme, a release-number
   version not below the lowest the operator's tools accept, an ingress class the
   reconciler needs, Secret references that resolve in the files): warnings.

What the cluster accepts, the check accepts (exit 0, warnings printed); what it rejects
or prunes is an error. It exists because the cluster is the first place that would
otherwise see the mistakes W&B's own examples make (unkeyed `mysql: {externalMysql: ...}`,
`external:`, `clickHouse`, `certManager.kind`, `URL:`). Sources, at the commits named
here and in operator_schema: github.com/wandb/operator (the v2 Go types and CRD, its
examples, internal/controller/reconciler/ingress.go) and github.com/wandb/wsm (the
field reference docs/reference/cr-fields.md, which those spellings copy, and
cmd/wsm/deploy_v2.go).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wandb_local_kit.growth import operator_structural, operator_webhook
from wandb_local_kit.growth.operator_crd import Schema, builtin

INFRA = operator_webhook.INFRA
API_VERSION = "apps.wandb.com/v2"
# The lowest version wsm accepts (wsm cmd/wsm/deploy_v2.go minWandbVersion).
MIN_VERSION = "0.80.0"
ERROR, WARNING = "error", "warning"

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
PRUNED = (
    "unknown field: the API server prunes it (kubectl's default strict field validation "
    "refuses the apply instead)"
)


@dataclass(frozen=True)
class Finding:
    where: str  # file#document: JSON path
    problem: str
    fix: str = ""
    rule: str = ""
    severity: str = ERROR

    def render(self) -> str:
        text = f"{self.where}: {self.severity}: {self.problem}"
        if self.rule:
            text += f" [{self.rule}]"
        return text + (f"\n  fix: {self.fix}" if self.fix else "")


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


def verdict(findings: list[Finding]) -> str:
    """accepted | pruned | rejected: what the cluster does with the resource."""
    errs = errors(findings)
    if not errs:
        return "accepted"
    return "pruned" if all(f.rule == "unknown-field" for f in errs) else "rejected"


def _pruned_fix(path: str) -> str:
    parts = path.split(".")
    last = parts[-1]
    hints = []
    if last in STALE_HINTS and (last != "port" or parts[1:2] == ["clickhouse"]):
        hints.append(f"{last}: {STALE_HINTS[last]}")
    if len(parts) == 3 and parts[0] == "spec" and parts[1] in INFRA:
        hints.append(_unkeyed_hint(parts[1]))
    return "; ".join(hints) or "remove or correct the misspelled field"


def _unkeyed_hint(section: str) -> str:
    return (
        f"spec.{section} is a map of instances: put the settings under "
        f"`{section}: {{default: {{...}}}}` (the operator's own examples omit the "
        "`default:` key)"
    )


def _unkeyed(path: str) -> str:
    """spec.<section>.<managedX|externalX>...: an unkeyed infra section (the instance
    name is missing), reported once rather than once per field inside it."""
    parts = path.split(".")
    if len(parts) > 3 and parts[0] == "spec" and parts[1] in INFRA and parts[2] in INFRA[parts[1]]:
        return ".".join(parts[:3])
    return ""


def cluster_findings(
    resource: dict[str, Any], where: str, schema: Schema | None = None
) -> list[Finding]:
    """What the API server and the operator's webhooks say about one resource."""
    schema = schema or builtin()
    out: list[Finding] = []

    def add(path: str, problem: str, rule: str, fix: str = "", severity: str = ERROR) -> None:
        out.append(Finding(f"{where}: {path}", problem, fix, rule, severity))

    if resource.get("apiVersion") != API_VERSION or resource.get("kind") != "WeightsAndBiases":
        add(
            "(top)",
            f"not an {API_VERSION} WeightsAndBiases (apiVersion {resource.get('apiVersion')!r}, "
            f"kind {resource.get('kind')!r})",
            "api-version",
            f"use apiVersion: {API_VERSION} and kind: WeightsAndBiases",
        )
        return out
    for key in resource:
        if key not in ("apiVersion", "kind", "metadata", "spec", "status"):
            add(key, PRUNED, "unknown-field", "remove it")
    for path, problem, rule in operator_webhook.metadata_findings(resource):
        add(path, problem, rule, "use lower-case letters, digits and '-'")
    spec_in = resource.get("spec")
    if spec_in is None:
        spec_in = {}
    first = operator_structural.Outcome(None)
    spec = operator_structural.normalize(spec_in, schema.spec, "spec", first)
    unkeyed: set[str] = set()
    for issue in first.issues:
        section = _unkeyed(issue.path)
        if section and section not in unkeyed:
            unkeyed.add(section)
            add(
                section,
                "every field inside is unknown: the API server prunes them (kubectl's "
                "default strict field validation refuses the apply instead)",
                "unknown-field",
                _unkeyed_hint(section.split(".")[1]),
            )
        elif not section:
            add(issue.path, PRUNED, "unknown-field", _pruned_fix(issue.path))
    # A value of the wrong type never reaches the webhook's defaulting: the webhook
    # cannot decode it (and the API server's validation rejects it anyway).
    typed = operator_structural.Outcome(None)
    operator_structural.validate(spec, schema.spec, "spec", typed)
    type_errors = [i for i in typed.issues if i.rule == "type"]
    for issue in type_errors:
        add(issue.path, issue.message, "schema-type", "correct the value")
    if type_errors:
        return out
    for path, problem, rule in operator_webhook.infra_names({"spec": spec}):
        add(path, problem, rule, "use a DNS-1123 label within the length given")
    defaulted = operator_webhook.default(
        {"metadata": copy.deepcopy(resource.get("metadata") or {}), "spec": copy.deepcopy(spec)}
    )
    second = operator_structural.apply(defaulted["spec"], schema.spec, "spec")
    for issue in second.issues:
        if issue.kind == "invalid":
            add(issue.path, issue.message, f"schema-{issue.rule}", "correct the value")
        elif issue.kind == "unchecked":
            add(issue.path, issue.message, "cel-unchecked", "", WARNING)
    # The webhook sees the pruned object (with warn-level field validation the apply
    # goes on without the unknown fields); a schema error stops the request first.
    if all(f.rule == "unknown-field" for f in errors(out)):
        for path, problem, rule in operator_webhook.validate(
            {"metadata": defaulted["metadata"], "spec": second.obj}
        ):
            add(path, problem, rule, "see the operator's admission rules in docs/growth.md")
    return out


def _version_tuple(text: str):
    try:
        return tuple(int(p) for p in text.split("-", 1)[0].split("."))
    except ValueError:
        return None


def kit_findings(resource: dict[str, Any], where: str) -> list[Finding]:
    """What the kit wants beyond what the cluster checks: warnings."""
    out: list[Finding] = []

    def warn(path: str, problem: str, rule: str, fix: str) -> None:
        out.append(Finding(f"{where}: {path}", problem, fix, rule, WARNING))

    spec = resource.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    wandb = spec.get("wandb")
    wandb = wandb if isinstance(wandb, dict) else {}
    hostname = wandb.get("hostname")
    if isinstance(hostname, str) and hostname.strip():
        parts = urlsplit(hostname)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            warn(
                "spec.wandb.hostname",
                f"{hostname!r} lacks a scheme (it feeds GORILLA_FRONTEND_HOST)",
                "kit-hostname-scheme",
                "use the full URL, e.g. https://wandb.lab.example",
            )
    version = wandb.get("version")
    if isinstance(version, str) and version.strip() and version.strip() != "latest":
        v = _version_tuple(version.strip())
        if v is None:
            warn(
                "spec.wandb.version",
                f"{version!r} is not a release number (server manifests are tagged X.Y.Z)",
                "kit-version-format",
                "pin e.g. 0.83.0, without a leading v",
            )
        elif v < _version_tuple(MIN_VERSION):
            warn(
                "spec.wandb.version",
                f"{version} is below {MIN_VERSION}, the lowest W&B Server Manager accepts",
                "kit-version-floor",
                f"upgrade the server to >= {MIN_VERSION} first (wandb-kit upgrade)",
            )
    net = spec.get("networking")
    net = net if isinstance(net, dict) else {}
    ingress = net.get("ingress")
    if (
        net.get("mode") == "ingress"
        and isinstance(ingress, dict)
        and not ingress.get("ingressClassName")
    ):
        warn(
            "spec.networking.ingress",
            "ingress without ingressClassName: the operator's reconciler reads the unset "
            "class and fails at the Ingress step, so no Ingress is ever created",
            "kit-ingress-class",
            "set ingress.ingressClassName, or leave `ingress` out (the cluster's default class)",
        )
    return out


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top)"


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


def secret_findings(
    resource: dict[str, Any], secrets: list[dict[str, Any]], where: str
) -> list[Finding]:
    """Every selector with a Secret name must name a Secret in the CR's namespace that holds
    the key (the operator errors on a missing key at reconcile unless optional; the API
    server accepts the resource, so these are warnings)."""
    namespace = _mapping(resource.get("metadata")).get("namespace") or "default"
    have: dict[str, set[str]] = {}
    for s in secrets:
        meta = _mapping(s.get("metadata"))
        if (meta.get("namespace") or "default") != namespace:
            continue
        have.setdefault(str(meta.get("name", "")), set()).update(
            _mapping(s.get("stringData")).keys(), _mapping(s.get("data")).keys()
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
                    "kit-secret-ref",
                    WARNING,
                )
            )
        elif key not in have[name]:
            out.append(
                Finding(
                    f"{where}: {_path(path)}",
                    f"Secret {name!r} has no key {key!r} (it has {', '.join(sorted(have[name]))})",
                    "export again",
                    "kit-secret-ref",
                    WARNING,
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
                "kit-secret-ref",
                WARNING,
            )
        )
    return out


def spec_networking_tls(resource: dict[str, Any]) -> dict | None:
    spec = resource.get("spec")
    net = spec.get("networking") if isinstance(spec, dict) else None
    tls = net.get("tls") if isinstance(net, dict) else None
    return tls if isinstance(tls, dict) else None


def check_documents(
    docs: list[tuple[str, dict]], require_secrets: bool = True, schema: Schema | None = None
) -> list[Finding]:
    """docs: (where, document). Checks each WeightsAndBiases resource; Secrets are matched
    against its references when any Secret is among the documents (or require_secrets)."""
    resources = [(w, d) for w, d in docs if isinstance(d, dict) and d.get("kind") != "Secret"]
    secrets = [d for _, d in docs if isinstance(d, dict) and d.get("kind") == "Secret"]
    out: list[Finding] = []
    if not resources:
        return [Finding("(input)", "no WeightsAndBiases resource found", "check the file", "input")]
    for where, res in resources:
        out += cluster_findings(res, where, schema)
        out += kit_findings(res, where)
        if secrets or require_secrets:
            out += secret_findings(res, secrets, where)
    return out


def load_documents(paths: list[Path]) -> list[tuple[str, dict]]:
    """Every YAML document of the files (a directory means every .yaml/.yml file in it),
    read through the door: regular files only (a named pipe is refused, never waited
    on), UTF-8, within the size and depth limits. A folder this user may not list is
    said so (a listing that failed silently read as "no resource found")."""
    import yaml

    from wandb_local_kit.core import files as door

    docs = []
    for f in _yaml_files(paths):
        text = door.read_text(f, "the YAML file")
        try:
            found = list(yaml.safe_load_all(text))
        except RecursionError:
            raise door.too_deep("the YAML file", f) from None
        for i, doc in enumerate(found):
            if door.depth_problem(doc):
                raise door.too_deep("the YAML file", f)
            if doc is not None:
                docs.append((f"{f.name}#{i}", doc))
    return docs


def _yaml_files(paths: list[Path]) -> list[Path]:
    from wandb_local_kit.core import files as door
    from wandb_local_kit.core.errors import KitError

    out: list[Path] = []
    for p in paths:
        if door.kind(p) != "a folder":
            out.append(p)
            continue
        with door.os_errors(p, "read"):
            names = sorted(e.name for e in os.scandir(p))
        found = [p / n for n in names if n.lower().endswith((".yaml", ".yml"))]
        if not found:
            raise KitError(
                f"the folder {p} holds no .yaml or .yml file",
                fix="give the folder `wandb-kit export operator` wrote (--output), or the files",
            )
        out += found
    return out
