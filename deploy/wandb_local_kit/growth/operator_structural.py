"""What the Kubernetes API server does with a custom resource under a structural
`openAPIV3Schema`, offline: drop `null` values of non-nullable fields, prune fields the
schema does not know, apply schema defaults, then validate types, formats, enums, required
fields, bounds, patterns and the CEL rules (`x-kubernetes-validations`).

The schema is plain data (the kit's own in operator_schema, or a CRD's at run time via
operator_crd), so the check follows whichever CRD it is given. Only the CEL rule shapes
the operator's CRD uses are evaluated; any other rule is reported as not checked offline
(a warning), never silently passed as checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The API server's integer formats: a value outside the range is rejected.
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# `!has(self.a) || !has(self.b) || self.a <= self.b` (the autoscaling rule) and its kin.
_CEL_ORDER = re.compile(
    r"^\s*!has\(self\.(\w+)\)\s*\|\|\s*!has\(self\.(\w+)\)\s*\|\|\s*"
    r"self\.(\w+)\s*(<=|<|>=|>)\s*self\.(\w+)\s*$"
)
_OPS = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


@dataclass
class Issue:
    path: str
    message: str
    kind: str  # "invalid" (rejected), "pruned" (unknown field), "unchecked" (warning)
    rule: str = ""


@dataclass
class Outcome:
    obj: Any
    issues: list[Issue] = field(default_factory=list)

    def add(self, path: str, message: str, kind: str = "invalid", rule: str = "") -> None:
        self.issues.append(Issue(path, message, kind, rule or kind))


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _types(schema: dict) -> set[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return {"integer", "string"}
    t = schema.get("type")
    return {t} if t else set()


def _preserves(schema: dict) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def normalize(obj: Any, schema: dict, path: str, out: Outcome) -> Any:
    """Drops nulls of non-nullable fields, prunes unknown fields (reported), applies
    defaults. Returns the normalized value (the caller's object is not changed)."""
    if isinstance(obj, dict) and (schema.get("type") == "object" or "properties" in schema):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        result: dict[str, Any] = {}
        for key, value in obj.items():
            child_path = _join(path, key)
            if key in props:
                sub = props[key]
            elif isinstance(extra, dict):
                sub = extra
            elif extra is True or _preserves(schema):
                result[key] = value  # x-kubernetes-preserve-unknown-fields: kept as is
                continue
            else:
                out.add(child_path, "unknown field", "pruned", "unknown-field")
                continue
            if value is None and not sub.get("nullable"):
                continue  # the API server drops it, as if never written
            result[key] = normalize(value, sub, child_path, out)
        for key, sub in props.items():
            if key not in result and "default" in sub:
                result[key] = normalize(_copy(sub["default"]), sub, _join(path, key), out)
        return result
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [
            normalize(v, schema["items"], _join(path, i), out)
            for i, v in enumerate(obj)
            if v is not None or schema["items"].get("nullable")
        ]
    return obj


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _type_ok(value: Any, types: set[str]) -> bool:
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }
    return any(checks[t](value) for t in types if t in checks)


def validate(obj: Any, schema: dict, path: str, out: Outcome) -> None:
    """Validates a normalized value against the schema (no pruning here)."""
    if obj is None:
        if not schema.get("nullable"):
            out.add(path, "must not be null", rule="type")
        return
    types = _types(schema)
    any_of = schema.get("anyOf") or []
    if any_of and not types:
        types = {t for s in any_of for t in _types(s)}
    if types and not _type_ok(obj, types):
        want = " or ".join(sorted(types))
        out.add(path, f"must be of type {want}, got {type(obj).__name__} {obj!r}", rule="type")
        return
    if "enum" in schema and obj not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        out.add(path, f"unsupported value {obj!r}: allowed {allowed}", rule="enum")
    fmt = schema.get("format")
    if fmt in INT_RANGES and isinstance(obj, int):
        lo, hi = INT_RANGES[fmt]
        if not lo <= obj <= hi:
            out.add(path, f"{obj} does not fit {fmt}", rule="format")
    if "minimum" in schema and isinstance(obj, (int, float)) and obj < schema["minimum"]:
        out.add(path, f"{obj} is less than the minimum {schema['minimum']}", rule="minimum")
    if "maximum" in schema and isinstance(obj, (int, float)) and obj > schema["maximum"]:
        out.add(path, f"{obj} is greater than the maximum {schema['maximum']}", rule="maximum")
    if isinstance(obj, str):
        if "pattern" in schema and not re.search(schema["pattern"], obj):
            out.add(path, f"{obj!r} does not match {schema['pattern']}", rule="pattern")
        if "maxLength" in schema and len(obj) > schema["maxLength"]:
            out.add(path, f"longer than {schema['maxLength']} characters", rule="maxLength")
        if "minLength" in schema and len(obj) < schema["minLength"]:
            out.add(path, f"shorter than {schema['minLength']} characters", rule="minLength")
    if isinstance(obj, dict):
        for req in schema.get("required") or []:
            if req not in obj:
                out.add(_join(path, req), "Required value", rule="required")
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else None)
            if sub is not None:
                validate(value, sub, _join(path, key), out)
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(obj):
            validate(value, schema["items"], _join(path, i), out)
    for rule in schema.get("x-kubernetes-validations") or []:
        _cel(obj, rule, path, out)


def _cel(obj: Any, rule: dict, path: str, out: Outcome) -> None:
    text = rule.get("rule", "")
    m = _CEL_ORDER.match(text)
    if not m or {m.group(1), m.group(2)} != {m.group(3), m.group(5)}:
        out.add(path, f"CEL rule not evaluated offline: {text}", "unchecked", "cel")
        return
    a, op, b = m.group(3), m.group(4), m.group(5)
    if isinstance(obj, dict) and a in obj and b in obj:
        try:
            ok = _OPS[op](obj[a], obj[b])
        except TypeError:
            return  # a type error is reported by the type check
        if not ok:
            out.add(path, rule.get("message") or f"failed rule: {text}", rule="cel")


def apply(obj: Any, schema: dict, path: str = "") -> Outcome:
    """normalize then validate: what the API server stores, and what it rejects."""
    out = Outcome(None)
    out.obj = normalize(obj, schema, path, out)
    validate(out.obj, schema, path, out)
    return out
