"""A small GraphQL executor over plain Python objects.

There is no public W&B schema, so instead of a typed schema the stand-in parses each document
with graphql-core and walks its selection set over Python data:

* a field is looked up on the current value: a dict key, or an attribute / method of an object
  (methods get the field's arguments as keyword arguments, named as in GraphQL);
* aliases, fragments, inline fragments (`... on T`), `@include`/`@skip`, variables and
  `__typename` are honoured, so a response carries exactly the requested fields;
* objects say their GraphQL type with a `typename` attribute (or a "__typename" key) and the
  interfaces they implement with `interfaces`, which is what type conditions match against;
* a field the stand-in does not have, at any depth, is a GraphQL validation error naming it
  (`Cannot query field "x" on type "T".`, HTTP 400, no data), as on a real server.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    parse,
    value_from_ast_untyped,
)

log = logging.getLogger("standin.graphql")

MISSING = object()


class GqlError(Exception):
    """An error reported in the response's `errors` list (the field becomes null)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        #: an HTTP status to answer with instead of 200 (e.g. 404 for a deleted sweep)
        self.status = status
        #: `extensions.code` of the error, as the real server reports it (PERMISSION_ERROR)
        self.code = code

    def as_error(self, path: list | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"message": str(self)}
        if path is not None:
            err["path"] = path
        if self.code:
            err["extensions"] = {"code": self.code}
        return err


def typename(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("__typename", "Object")
    return getattr(value, "typename", type(value).__name__)


def _interfaces(value: Any) -> tuple[str, ...]:
    if isinstance(value, dict):
        return tuple(value.get("__interfaces", ()))
    return tuple(getattr(value, "interfaces", ()))


class Execution:
    def __init__(self, doc, variables: dict[str, Any], op: OperationDefinitionNode) -> None:
        self.fragments = {
            d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = dict(variables or {})
        for vd in op.variable_definitions or ():
            name = vd.variable.name.value
            if name not in self.variables and vd.default_value is not None:
                self.variables[name] = value_from_ast_untyped(vd.default_value, self.variables)
        self.errors: list[dict[str, Any]] = []
        self.status: int | None = None
        #: set when the document asked for a field the server does not have
        self.invalid = False
        self.op = op

    # -- selection handling ------------------------------------------------------------------
    def _skip(self, node) -> bool:
        for d in node.directives or ():
            if d.name.value in ("include", "skip"):
                arg = next((a for a in d.arguments if a.name.value == "if"), None)
                cond = bool(value_from_ast_untyped(arg.value, self.variables)) if arg else True
                if (d.name.value == "include") != cond:
                    return True
        return False

    def _applies(self, type_cond, value: Any) -> bool:
        if type_cond is None:
            return True
        name = type_cond.name.value
        return name == typename(value) or name in _interfaces(value)

    def collect(self, selection_set, value: Any) -> list[FieldNode]:
        """Flatten fragments into the list of fields that apply to this value."""
        fields: list[FieldNode] = []
        for sel in selection_set.selections:
            if self._skip(sel):
                continue
            if isinstance(sel, FieldNode):
                fields.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                if self._applies(sel.type_condition, value):
                    fields.extend(self.collect(sel.selection_set, value))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is None:
                    raise GqlError(f'Unknown fragment "{sel.name.value}".')
                if self._applies(frag.type_condition, value):
                    fields.extend(self.collect(frag.selection_set, value))
        return fields

    def args(self, field: FieldNode) -> dict[str, Any]:
        # an argument bound to a variable the request did not send is absent, not a value
        out = {
            a.name.value: value_from_ast_untyped(a.value, self.variables) for a in field.arguments
        }
        return {k: v for k, v in out.items() if v is not Undefined}

    # -- value resolution ------------------------------------------------------------------
    def resolve(self, parent: Any, field: FieldNode, path: list, root: bool) -> Any:
        name = field.name.value
        if name == "__typename":
            return typename(parent)
        if isinstance(parent, dict):
            raw = parent.get(name, MISSING)
        else:
            raw = getattr(parent, "f_" + name, MISSING) if not name.startswith("_") else MISSING
            if raw is MISSING and name.startswith("__"):
                raw = getattr(parent, "f" + name, MISSING)
        if raw is MISSING:
            # a field the server does not have fails validation, as on a real GraphQL
            # server: the client sees the error now, not a null that breaks it later
            msg = f'Cannot query field "{name}" on type "{typename(parent)}".'
            log.warning("unknown field: %s", msg)
            self.errors.append(
                {"message": msg, "path": path, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
            )
            self.invalid = True
            return None
        if callable(raw):
            args = self.args(field)
            try:
                sig = inspect.signature(raw)
                if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
                    args = {k: v for k, v in args.items() if k in sig.parameters}
                return raw(**args)
            except GqlError as e:
                self.errors.append(e.as_error(path))
                if e.status:
                    self.status = e.status
                return None
        return raw

    def complete(self, value: Any, field: FieldNode, path: list) -> Any:
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return [self.complete(v, field, path + [i]) for i, v in enumerate(value)]
        if field.selection_set is None:
            return value  # scalar, JSON or JSONString
        return self.select(value, field.selection_set, path, root=False)

    def select(self, value: Any, selection_set, path: list, root: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in self.collect(selection_set, value):
            key = field.alias.value if field.alias else field.name.value
            fpath = path + [key]
            resolved = self.resolve(value, field, fpath, root)
            completed = self.complete(resolved, field, fpath)
            if key in out and isinstance(out[key], dict) and isinstance(completed, dict):
                out[key].update(completed)  # the same field selected twice: merge
            else:
                out[key] = completed
        return out


def root_fields(query: str) -> list[str]:
    """Root field names of a document's operations (for logging requests)."""
    try:
        doc = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return []
    return [
        s.name.value
        for d in doc.definitions
        if isinstance(d, OperationDefinitionNode)
        for s in d.selection_set.selections
        if isinstance(s, FieldNode)
    ]


def execute(
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    query_root: Any,
    mutation_root: Any,
) -> tuple[dict[str, Any], int]:
    """Run one GraphQL request; return (response body, HTTP status)."""
    try:
        doc = parse(query, no_location=True)
    except GraphQLSyntaxError as e:
        return {"errors": [{"message": f"Syntax Error: {e.message}"}], "data": None}, 400
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        ops = [o for o in ops if o.name and o.name.value == operation_name]
    if len(ops) != 1:
        msg = "Must provide operation name if query contains multiple operations."
        if not ops:
            msg = f'Unknown operation named "{operation_name}".'
        return {"errors": [{"message": msg}], "data": None}, 400
    op = ops[0]
    ex = Execution(doc, variables or {}, op)
    root = mutation_root if op.operation is OperationType.MUTATION else query_root
    if op.operation is OperationType.MUTATION and hasattr(root, "ctx"):
        root.ctx.write = True  # team viewers are read-only (resolvers/teams.py)
    if op.operation is OperationType.SUBSCRIPTION:
        return {"errors": [{"message": "Subscriptions are not supported."}], "data": None}, 400
    try:
        data = ex.select(root, op.selection_set, [], root=True)
    except GqlError as e:
        return {"errors": [e.as_error()], "data": None}, e.status or 200
    if ex.invalid:
        # a validation error: no data, HTTP 400 (what the SDK reports as "<Response [400]>").
        # Unlike a real server, which validates before executing, resolvers above the
        # unknown field have run by now (a mutation's effect may have happened).
        errors = [
            e
            for e in ex.errors
            if e.get("extensions", {}).get("code") == "GRAPHQL_VALIDATION_FAILED"
        ]
        return {"errors": errors, "data": None}, 400
    body: dict[str, Any] = {"data": data}
    if ex.errors:
        body["errors"] = ex.errors
    return body, ex.status or 200
