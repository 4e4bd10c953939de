"""`python -m tests.standin.coverage`: which GraphQL operations of the installed SDK the
stand-in answers.

It collects every named operation from the installed wandb package (the Python documents and
the strings compiled into wandb-core), takes each operation's root fields, and checks them
against the stand-in's Query/Mutation roots. An operation counts as implemented when all of
its root fields are; nested fields are not checked here (the SDK tests do that for real).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from graphql import FieldNode, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse

from .resolvers.root import Mutation, Query

OP_RE = re.compile(rb"(query|mutation)\s+([A-Za-z_]\w*)\s*[({]")


def _operations(text: str) -> list[tuple[str, str, list[str]]]:
    try:
        doc = parse(text, no_location=True)
    except GraphQLSyntaxError:
        return []
    out = []
    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode) and d.name:
            kind = "mutation" if d.operation is OperationType.MUTATION else "query"
            fields = [s.name.value for s in d.selection_set.selections if isinstance(s, FieldNode)]
            out.append((d.name.value, kind, fields))
    return out


def _unformat(text: str) -> str:
    """Undo str.format / f-string escaping well enough to parse the document."""
    text = re.sub(r"(?<!\{)\{(?!\{)[^{}]*\}(?!\})", "", text)
    return text.replace("{{", "{").replace("}}", "}")


def python_documents(pkg: Path) -> dict[str, tuple[str, list[str]]]:
    ops: dict[str, tuple[str, list[str]]] = {}
    for py in pkg.rglob("*.py"):
        if "vendor" in py.parts:
            continue
        try:
            tree = ast.parse(py.read_text(errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "" for v in node.values)
            else:
                continue
            if "query" not in text and "mutation" not in text:
                continue
            found = _operations(text) or _operations(_unformat(text))
            for name, kind, fields in found:
                ops.setdefault(name, (kind, fields))
    return ops


def core_documents(binary: Path) -> dict[str, tuple[str, list[str]]]:
    data = binary.read_bytes()
    ops: dict[str, tuple[str, list[str]]] = {}
    for m in OP_RE.finditer(data):
        start, depth, i = m.start(), 0, m.start()
        while i < len(data) and i - start < 20000:
            c = data[i]
            if c == ord("{"):
                depth += 1
            elif c == ord("}"):
                depth -= 1
                if depth == 0:
                    break
            i += 1
        for name, kind, fields in _operations(data[start : i + 1].decode("utf-8", "replace")):
            ops.setdefault(name, (kind, fields))
    return ops


def implemented(kind: str, field: str) -> bool:
    root = Mutation if kind == "mutation" else Query
    attr = "f" + field if field.startswith("__") else "f_" + field
    return hasattr(root, attr)


def main() -> int:
    import wandb

    pkg = Path(wandb.__file__).parent
    core = core_documents(pkg / "bin" / "wandb-core")
    py = python_documents(pkg)
    rows = []
    for source, ops in (("wandb-core", core), ("python", py)):
        for name, (kind, fields) in sorted(ops.items()):
            ok = all(implemented(kind, f) for f in fields)
            rows.append((source, name, kind, ",".join(fields), ok))
    width = max(len(r[1]) for r in rows)
    for source, name, kind, fields, ok in rows:
        print(f"{'yes' if ok else 'no ':3}  {source:10}  {kind:8}  {name:{width}}  {fields}")
    for source in ("wandb-core", "python"):
        sel = [r for r in rows if r[0] == source]
        print(
            f"{source}: {sum(r[4] for r in sel)} of {len(sel)} operations implemented",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
