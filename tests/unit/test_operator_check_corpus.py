"""`export check` judges like the cluster: a corpus of resources derived from the kit's own
export, each labelled with what the cluster does with it (accepted, pruned, rejected) and
the rule behind it, from the CRD's required lists and the webhook's rules in
github.com/wandb/operator (commit 7b06306: config/crd/bases/, internal/webhook/v2/).
The check must agree on every one.

The labels come from that code, not from the check: a label says what the API server and
the operator's webhooks do (e.g. the CRD has no enum on onDelete, the webhook fills
retentionPolicy/features/bucketProxy, nulls are dropped), and kit-only wishes are
warnings on an accepted resource.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from wandb_local_kit import cli
from wandb_local_kit.growth import operator_check, operator_cr, operator_crd, operator_schema

BYO = {
    "WANDB_STORAGE": "external",
    "WANDB_HOST": "https://wandb.lab.example",
    "WANDB_IMAGE": "wandb/local:0.83.0",
    "WANDB_LICENSE": "lic-123",
    "MYSQL_URL": "mysql://lab_user:p%40ss@db.lab.example:3307/wandb_prod",
    "BUCKET_URL": "s3://AKIA1:sk%2Fsecret@rgw.lab.example:7480/wandb-data?tls=true",
    "REDIS_URL": "redis://:r3d1s@redis.lab.example:6380",
}


def base(kind: str = "issuer") -> list[tuple[str, dict]]:
    kw: dict[str, Any] = {"namespace": "wandb", "version": "0.83.0"}
    values = dict(BYO)
    if kind == "issuer":
        kw["tls"] = operator_cr.TlsChoice(cluster_issuer="letsencrypt")
    elif kind == "secret":
        kw["tls"] = operator_cr.TlsChoice(cert_pem="CERT", key_pem="KEY")
    elif kind == "gateway":
        kw["tls"] = operator_cr.TlsChoice(issuer="lab-ca")
        kw["gateway_class"] = "nginx"
    elif kind == "plain":  # http, no Redis URL: managed Redis, ingress without a class
        values.update(WANDB_HOST="http://wandb.lab.example:8080")
        values.pop("REDIS_URL")
    exp = operator_cr.build(values, **kw)
    return [("cr", exp.resource)] + [("secret", s) for s in exp.secrets]


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[dict, dict], None]  # (spec, resource)
    verdict: str  # accepted | pruned | rejected
    rule: str = ""  # a rule among the findings ("" with accepted: no finding at all)
    base: str = "issuer"


def s(path: str, value: Any) -> Callable[[dict, dict], None]:
    """Sets spec.<path> (dots; creates dicts on the way)."""

    def change(spec: dict, _res: dict) -> None:
        node = spec
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value

    return change


def drop(path: str) -> Callable[[dict, dict], None]:
    def change(spec: dict, _res: dict) -> None:
        node = spec
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        node.pop(last)

    return change


def rename(path: str, new: str) -> Callable[[dict, dict], None]:
    def change(spec: dict, _res: dict) -> None:
        node = spec
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        node[new] = node.pop(last)

    return change


def res(key: str, value: Any) -> Callable[[dict, dict], None]:
    def change(_spec: dict, resource: dict) -> None:
        resource[key] = value

    return change


def unkeyed_mysql(spec: dict, _res: dict) -> None:
    spec["mysql"] = spec["mysql"]["default"]  # the operator's own examples: no `default:`


SEL = {"name": "external-mysql-connection", "key": "host"}
PROBE = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                    ]
                }
            ]
        }
    }
}
MANAGED_REDIS = {"managedRedis": {"storageSize": "5Gi"}}

CASES = [
    # --- accepted: the kit's exports, and what the cluster accepts although a strict
    # JSON-schema check would not (nulls, status, webhook defaults, no enum on onDelete).
    Case("export-issuer", lambda sp, r: None, "accepted"),
    Case("export-tls-secret", lambda sp, r: None, "accepted", base="secret"),
    Case("export-gateway", lambda sp, r: None, "accepted", base="gateway"),
    Case("export-plain-http-managed-redis", lambda sp, r: None, "accepted", base="plain"),
    Case("null-license-dropped", s("wandb.license", None), "accepted"),
    Case("null-affinity-dropped", s("affinity", None), "accepted"),
    Case("status-ignored", res("status", {"wandb": {"ready": True}}), "accepted"),
    Case("retention-policy-defaulted", drop("retentionPolicy"), "accepted"),
    Case("features-defaulted", drop("wandb.features"), "accepted"),
    Case("bucket-proxy-defaulted", drop("wandb.bucketProxy"), "accepted"),
    Case("size-defaulted", drop("size"), "accepted"),
    Case("on-delete-has-no-enum", s("retentionPolicy.onDelete", "keep"), "accepted"),
    Case(
        "managed-clickhouse-real-fields",
        s(
            "clickhouse",
            {
                "default": {
                    "managedClickhouse": {
                        "replicas": 1,
                        "storageSize": "20Gi",
                        "keeper": {"replicas": 3},
                    }
                }
            },
        ),
        "accepted",
    ),
    Case(
        "managed-kafka-real-fields",
        s("kafka", {"managedKafka": {"replicas": 3, "storageSize": "10Gi"}}),
        "accepted",
    ),
    Case("affinity", s("affinity", AFFINITY), "accepted"),
    Case(
        "tolerations",
        s("tolerations", [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]),
        "accepted",
    ),
    Case("probes", s("wandb.probes", {"livenessProbe": PROBE}), "accepted"),
    Case(
        "autoscaling",
        s("wandb.applications", {"api": {"autoscaling": {"minReplicas": 1, "maxReplicas": 3}}}),
        "accepted",
    ),
    Case(
        "legacy-overrides-license-from-secret",
        s(
            "wandb.legacyOverrides",
            {
                "api": {
                    "env": [
                        {
                            "name": "LICENSE",
                            "valueFrom": {"secretKeyRef": {"name": "lic", "key": "license"}},
                        }
                    ]
                }
            },
        ),
        "accepted",
        "kit-secret-ref",  # the cluster accepts it; the Secret is not among the files
    ),
    # accepted by the cluster, with the kit's warning
    Case("v-prefixed-version", s("wandb.version", "v0.83.0"), "accepted", "kit-version-format"),
    Case(
        "hostname-without-scheme",
        s("wandb.hostname", "wandb.lab.example"),
        "accepted",
        "kit-hostname-scheme",
    ),
    Case("version-below-wsm-floor", s("wandb.version", "0.79.0"), "accepted", "kit-version-floor"),
    Case(
        "ingress-without-class",
        s("networking.ingress", {}),
        "accepted",
        "kit-ingress-class",
        base="plain",
    ),
    Case(
        "secret-key-missing",
        s("mysql.default.externalMysql.host.key", "hostname"),
        "accepted",
        "kit-secret-ref",
    ),
    # --- pruned: unknown fields (kubectl's strict validation refuses; warn-level prunes)
    Case(
        "wsm-doc-external",
        rename("mysql.default.externalMysql", "external"),
        "pruned",
        "unknown-field",
    ),
    Case(
        "wsm-doc-clickHouse",
        s("clickHouse", {"default": {"managedClickhouse": {}}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "wsm-doc-certmanager-kind",
        s("networking.tls.certManager.kind", "ClusterIssuer"),
        "pruned",
        "unknown-field",
    ),
    Case(
        "overlay-URL",
        s("mysql.default.externalMysql.URL", {"name": "x", "key": "u"}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "overlay-clickhouse-port",
        s("clickhouse", {"default": {"externalClickhouse": {"host": SEL, "port": SEL}}}),
        "pruned",
        "unknown-field",
    ),
    Case("objectstore-lower-case", rename("objectStore", "objectstore"), "pruned", "unknown-field"),
    Case(
        "managed-redis-typo",
        s("redis", {"default": {"managedRedis": {"storagesize": "5Gi"}}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "managed-mysql-typo",
        s("mysql.metadata", {"managedMysql": {"replica": 3}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "managed-objectstore-typo",
        s("objectStore.archive", {"managedObjectStore": {"storage": "1Ti"}}),
        "pruned",
        "unknown-field",
    ),
    Case("affinity-typo", s("affinity", {"nodeAfinity": {}}), "pruned", "unknown-field"),
    Case(
        "toleration-typo",
        s("tolerations", [{"key": "gpu", "operater": "Exists"}]),
        "pruned",
        "unknown-field",
    ),
    Case(
        "probe-typo",
        s("wandb.probes", {"livenessProbe": {"periodSecond": 5}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "service-account-typo",
        s("wandb.serviceAccount", {"create": True, "annotation": {}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "legacy-overrides-typo",
        s("wandb.legacyOverrides", {"api": {"envs": []}}),
        "pruned",
        "unknown-field",
    ),
    Case(
        "gateway-listener-typo",
        s(
            "networking.gatewayAPI.gateway.listeners",
            [{"name": "h", "port": 80, "protocol": "HTTP", "hostName": "x"}],
        ),
        "pruned",
        "unknown-field",
        base="gateway",
    ),
    Case("top-level-typo", res("specs", {}), "pruned", "unknown-field"),
    # --- rejected by the API server's schema
    Case(
        "hostname-typo-then-missing",
        rename("wandb.hostname", "hostName"),
        "rejected",
        "webhook-hostname",
    ),
    Case("unkeyed-mysql", unkeyed_mysql, "rejected", "webhook-default-instance"),
    Case("session-length-int", s("wandb.oidc", {"sessionLength": 3600}), "rejected", "schema-type"),
    Case("bucket-proxy-string", s("wandb.bucketProxy", "false"), "rejected", "schema-type"),
    Case("features-not-bool", s("wandb.features", {"beta": "yes"}), "rejected", "schema-type"),
    Case(
        "toleration-seconds-string",
        s("tolerations", [{"key": "a", "tolerationSeconds": "60"}]),
        "rejected",
        "schema-type",
    ),
    Case("size-2xlarge", s("size", "2xlarge"), "rejected", "schema-enum"),
    Case("mode-capitalised", s("networking.mode", "Ingress"), "rejected", "schema-enum"),
    Case(
        "min-replicas-0",
        s("wandb.applications", {"api": {"autoscaling": {"minReplicas": 0}}}),
        "rejected",
        "schema-minimum",
    ),
    Case(
        "autoscaling-min-above-max",
        s("wandb.applications", {"api": {"autoscaling": {"minReplicas": 3, "maxReplicas": 2}}}),
        "rejected",
        "schema-cel",
    ),
    Case(
        "selector-without-key",
        s("mysql.default.externalMysql.host", {"name": "x"}),
        "rejected",
        "schema-required",
    ),
    Case(
        "listener-without-port",
        s("networking.gatewayAPI.gateway.listeners", [{"name": "h", "protocol": "HTTP"}]),
        "rejected",
        "schema-required",
        base="gateway",
    ),
    Case(
        "quantity-pattern",
        s("wandb.legacyOverrides", {"api": {"resources": {"limits": {"cpu": "two"}}}}),
        "rejected",
        "schema-pattern",
    ),
    Case(
        "int32-overflow",
        s("clickhouse", {"default": {"managedClickhouse": {"replicas": 2**40}}}),
        "rejected",
        "schema-format",
    ),
    # wrong shapes: the webhook cannot decode them, nothing is defaulted over them
    Case("mysql-as-list", s("mysql", []), "rejected", "schema-type"),
    Case(
        "managed-kafka-as-string", s("kafka.managedKafka", "bufstream"), "rejected", "schema-type"
    ),
    Case("networking-as-string", s("networking", "ingress"), "rejected", "schema-type"),
    Case("spec-as-list", lambda sp, r: r.update(spec=[sp]), "rejected", "schema-type"),
    # --- rejected by the operator's validating webhook
    Case("version-latest", s("wandb.version", "latest"), "rejected", "webhook-version"),
    Case("version-whitespace", s("wandb.version", " 0.83.0"), "rejected", "webhook-version"),
    Case("version-empty", s("wandb.version", ""), "rejected", "webhook-version"),
    Case("hostname-blank", s("wandb.hostname", "  "), "rejected", "webhook-hostname"),
    Case(
        "mysql-managed-and-external",
        s("mysql.default.managedMysql", {}),
        "rejected",
        "webhook-exclusive",
    ),
    Case(
        "no-default-instance",
        rename("mysql.default", "metadata"),
        "rejected",
        "webhook-default-instance",
    ),
    Case(
        "redis-port-without-name",
        s("redis.default.externalRedis.port.name", ""),
        "rejected",
        "webhook-selector",
    ),
    Case(
        "bucket-without-name",
        s("objectStore.default.externalObjectStore.bucket", {"key": "bucket"}),
        "rejected",
        "webhook-bucket",
    ),
    Case(
        "mysql-even-replicas",
        s("mysql.metadata", {"managedMysql": {"replicas": 2}}),
        "rejected",
        "webhook-odd-replicas",
    ),
    Case(
        "keeper-even-replicas",
        s("clickhouse", {"default": {"managedClickhouse": {"keeper": {"replicas": 2}}}}),
        "rejected",
        "webhook-odd-replicas",
    ),
    Case(
        "redis-storage-not-quantity",
        s("redis", {"default": {"managedRedis": {"storageSize": "ten gigs"}}}),
        "rejected",
        "webhook-quantity",
    ),
    Case(
        "mysql-name-not-dns",
        s("mysql.metadata", {"managedMysql": {"name": "My_DB"}}),
        "rejected",
        "webhook-infra-name",
    ),
    Case(
        "redis-name-too-long",
        s("redis", {"default": {"managedRedis": {"name": "r" * 41}}}),
        "rejected",
        "webhook-infra-name",
    ),
    Case(
        "ingress-in-gateway-mode",
        s("networking.ingress", {"ingressClassName": "nginx"}),
        "rejected",
        "webhook-networking",
        base="gateway",
    ),
    Case(
        "gateway-in-ingress-mode",
        s("networking.gatewayAPI", {"gateway": {"managed": True, "gatewayClassName": "nginx"}}),
        "rejected",
        "webhook-networking",
    ),
    Case(
        "gateway-ref-with-managed",
        s("networking.gatewayAPI.gateway.gatewayRef", {"name": "gw"}),
        "rejected",
        "webhook-networking",
        base="gateway",
    ),
    Case(
        "proxy-value-and-value-from",
        s(
            "global.proxy.httpProxy",
            {
                "value": "http://proxy:3128",
                "valueFrom": {"secretKeyRef": {"name": "p", "key": "u"}},
            },
        ),
        "rejected",
        "webhook-proxy",
    ),
    Case(
        "proxy-not-http",
        s("global.proxy.httpsProxy", {"value": "socks5://proxy:1080"}),
        "rejected",
        "webhook-proxy",
    ),
    Case(
        "proxy-credentials",
        s("global.proxy.httpsProxy", {"value": "http://u:pw@proxy:3128"}),
        "rejected",
        "webhook-proxy",
    ),
    Case(
        "email-sink-without-name",
        s("wandb.notifications", {"email": {"sink": {"key": "url"}}}),
        "rejected",
        "webhook-selector",
    ),
    Case(
        "email-sink-and-smtp",
        s("wandb.notifications", {"email": {}}),
        "rejected",
        "webhook-notifications",
    ),
    Case(
        "metadata-name-not-dns",
        lambda sp, r: r["metadata"].update(name="Wandb_Lab"),
        "rejected",
        "metadata-name",
    ),
]


def judge(case: Case) -> list[operator_check.Finding]:
    docs = copy.deepcopy(base(case.base))
    case.change(docs[0][1]["spec"], docs[0][1])
    return operator_check.check_documents(docs)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_agrees_with_the_cluster(case: Case):
    found = judge(case)
    rendered = [f.render() for f in found]
    assert operator_check.verdict(found) == case.verdict, rendered
    if case.rule:
        assert case.rule in {f.rule for f in found}, rendered
    else:
        assert found == [], rendered


def test_the_corpus_is_large_and_about_a_third_accepted():
    assert len({c.id for c in CASES}) == len(CASES) >= 50
    accepted = sum(c.verdict == "accepted" for c in CASES)
    assert 0.25 <= accepted / len(CASES) <= 0.4, accepted
    assert {c.verdict for c in CASES} == {"accepted", "pruned", "rejected"}


def test_a_pruned_section_is_named_with_its_fix():
    found = judge(next(c for c in CASES if c.id == "wsm-doc-external"))
    text = "\n".join(f.render() for f in found)
    assert "spec.mysql.default.external" in text and "externalMysql" in text
    # An unkeyed section (the operator's own examples) is one finding with the fix.
    found = judge(next(c for c in CASES if c.id == "unkeyed-mysql"))
    pruned = [f for f in found if f.rule == "unknown-field"]
    assert len(pruned) == 1 and pruned[0].where == "cr: spec.mysql.externalMysql", found
    assert "mysql: {default: {...}}" in pruned[0].fix


# --- --crd: the schema the cluster serves, read at run time ----------------------------


def crd_document(spec_schema: dict) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": operator_crd.CRD_NAME, "resourceVersion": "4711"},
        "spec": {
            "group": "apps.wandb.com",
            "names": {"kind": "WeightsAndBiases", "plural": "weightsandbiases"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": False,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                },
                {
                    "name": "v2",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "properties": {"spec": spec_schema}}
                    },
                },
            ],
        },
    }


def newer_crd() -> dict:
    """A CRD that differs from the kit's schema: spec.wandb gains `telemetryLevel`,
    spec loses `requireLimits`."""
    spec = copy.deepcopy(operator_schema.SPEC)
    spec["properties"]["wandb"]["properties"]["telemetryLevel"] = {
        "type": "string",
        "enum": ["off", "basic"],
    }
    del spec["properties"]["requireLimits"]
    return crd_document(spec)


def write_cr(tmp_path, change, name: str = "cr") -> str:
    docs = copy.deepcopy(base())
    change(docs[0][1]["spec"], docs[0][1])
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all([d for _, d in docs]))
    return str(path)


def test_crd_with_a_field_added_and_one_removed(tmp_path, capsys, monkeypatch):
    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump(newer_crd()))
    added = write_cr(tmp_path, s("wandb.telemetryLevel", "basic"), "added")
    # The kit's schema does not know the new field: pruned, exit 1.
    assert cli.main(["export", "check", added]) == 1
    out = capsys.readouterr().out
    assert "spec.wandb.telemetryLevel" in out and "unknown-field" in out
    # The cluster's CRD knows it: accepted, and its own rules apply (the enum).
    assert cli.main(["export", "check", "--crd", str(crd), added]) == 0
    out = capsys.readouterr().out
    assert "resourceVersion 4711" in out and "ok" in out
    wrong = write_cr(tmp_path, s("wandb.telemetryLevel", "full"), "wrong")
    assert cli.main(["export", "check", "--crd", str(crd), wrong]) == 1
    assert "schema-enum" in capsys.readouterr().out

    removed = write_cr(tmp_path, s("requireLimits", True), "removed")
    assert cli.main(["export", "check", removed]) == 0
    capsys.readouterr()
    assert cli.main(["export", "check", "--crd", str(crd), removed]) == 1
    assert "spec.requireLimits" in capsys.readouterr().out

    # `-` reads the CRD from stdin (kubectl get crd ... -o json | wandb-kit export check --crd -).
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(newer_crd())))
    assert cli.main(["export", "check", "--crd", "-", added]) == 0
    assert "the CRD in stdin" in capsys.readouterr().out


def test_the_kits_schema_as_a_crd_judges_the_corpus_alike():
    """--crd and the built-in schema run the same code: wrapped as a CRD, the kit's
    schema gives the same verdict on every corpus resource."""
    schema = operator_crd.from_text(yaml.safe_dump(crd_document(operator_schema.SPEC)), "x")
    for case in CASES:
        docs = copy.deepcopy(base(case.base))
        case.change(docs[0][1]["spec"], docs[0][1])
        found = operator_check.check_documents(docs, schema=schema)
        assert operator_check.verdict(found) == case.verdict, case.id


@pytest.mark.parametrize(
    "text, expect",
    [
        ("kind: ConfigMap\n", "no CustomResourceDefinition"),
        (": : :\n", "is not YAML"),
        (
            yaml.safe_dump(crd_document({"type": "object"}) | {}).replace("name: v2", "name: v3"),
            "no v2",
        ),
    ],
)
def test_a_bad_crd_is_refused_clearly(tmp_path, capsys, text, expect):
    crd = tmp_path / "crd.yaml"
    crd.write_text(text)
    cr = write_cr(tmp_path, lambda sp, r: None)
    assert cli.main(["export", "check", "--crd", str(crd), cr]) == 2
    err = capsys.readouterr().err
    assert expect in err and "kubectl get crd" in err and "Traceback" not in err


@pytest.mark.parametrize("levels", [100, 5000])  # past the limit; past the YAML reader's stack
def test_a_crd_nested_too_deep_is_refused_without_a_traceback(tmp_path, capsys, levels):
    crd = tmp_path / "crd.yaml"
    crd.write_text("spec: " + "[" * levels + "]" * levels + "\n")
    cr = write_cr(tmp_path, lambda sp, r: None)
    assert cli.main(["export", "check", "--crd", str(crd), cr]) == 2
    err = capsys.readouterr().err
    assert "nests lists or mappings more than 64 levels deep" in err and str(crd) in err
    assert "Traceback" not in err and "RecursionError" not in err


def test_help_names_the_crd_the_kits_schema_follows(capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", "check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "7b06306" in out and "2.0.0-beta.3" in out and "--crd" in out


def test_a_cel_rule_the_check_cannot_evaluate_is_a_warning_not_a_pass(tmp_path, capsys):
    spec = copy.deepcopy(operator_schema.SPEC)
    spec["properties"]["wandb"]["x-kubernetes-validations"] = [
        {"rule": "self.hostname.startsWith('https://')", "message": "https only"}
    ]
    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump(crd_document(spec)))
    cr = write_cr(tmp_path, lambda sp, r: None)
    assert cli.main(["export", "check", "--crd", str(crd), cr]) == 0
    out = capsys.readouterr().out
    assert "CEL rule not evaluated offline" in out and "[cel-unchecked]" in out
    assert cli.main(["export", "check", "--strict", "--crd", str(crd), cr]) == 1
