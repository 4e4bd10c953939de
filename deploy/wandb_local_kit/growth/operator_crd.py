"""The schema to judge against: the kit's own (operator_schema), or the one a cluster
actually serves, read at run time from a CRD document
(`kubectl get crd weightsandbiases.apps.wandb.com -o yaml`), so the check never lags the
operator the user runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wandb_local_kit.core import files
from wandb_local_kit.core.errors import KitError

CRD_NAME = "weightsandbiases.apps.wandb.com"
VERSION = "v2"


@dataclass(frozen=True)
class Schema:
    spec: dict[str, Any]  # the openAPIV3Schema of spec
    source: str  # what it follows, for the output


def builtin() -> Schema:
    from wandb_local_kit.growth import operator_schema

    return Schema(operator_schema.SPEC, f"the kit's schema ({operator_schema.CRD_SOURCE})")


def from_text(text: str, where: str) -> Schema:
    """The v2 schema of a CRD document (YAML or JSON; a kubectl List is accepted)."""
    import yaml

    fix = f"give the output of `kubectl get crd {CRD_NAME} -o yaml` (or - to read it from stdin)"
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except RecursionError:  # the reader recurses once per level: thousands exhaust it
        raise files.too_deep(f"the CRD in {where}", None) from None
    except yaml.YAMLError as err:
        raise KitError(f"{where} is not YAML: {err}", fix=fix) from None
    # W&B's CRD nests about 31 levels; a deeper document would only exhaust the walks
    # that follow.
    if files.depth_problem(docs):
        raise files.too_deep(f"the CRD in {where}", None)
    items: list[Any] = []
    for d in docs:
        items += d.get("items", []) if isinstance(d, dict) and d.get("kind") == "List" else [d]
    crds = [
        d
        for d in items
        if isinstance(d, dict)
        and d.get("kind") == "CustomResourceDefinition"
        and (d.get("spec") or {}).get("group") == "apps.wandb.com"
        and ((d.get("spec") or {}).get("names") or {}).get("kind") == "WeightsAndBiases"
    ]
    if not crds:
        raise KitError(f"{where} holds no CustomResourceDefinition of {CRD_NAME}", fix=fix)
    crd = crds[0]
    versions = (crd.get("spec") or {}).get("versions") or []
    version = next((v for v in versions if isinstance(v, dict) and v.get("name") == VERSION), None)
    schema = (((version or {}).get("schema") or {}).get("openAPIV3Schema")) or {}
    spec = (schema.get("properties") or {}).get("spec")
    if not isinstance(spec, dict):
        served = ", ".join(str(v.get("name")) for v in versions if isinstance(v, dict)) or "none"
        raise KitError(
            f"{where}: the CRD has no {VERSION} openAPIV3Schema with a spec (versions: {served})",
            fix=f"install operator v2 (its chart installs the v2 CRD), then read it again: {fix}",
        )
    meta = crd.get("metadata") or {}
    label = meta.get("resourceVersion") or meta.get("generation")
    source = f"the CRD in {where}" + (f" (resourceVersion {label})" if label else "")
    return Schema(spec, source)
