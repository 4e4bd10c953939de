"""The contributor docs (docs/*.md) stay true to the code they describe.

`problems(docs_dir, root)` lists every claim that no longer holds:
- a path in backticks (`deploy/wandb_local_kit/cli.py`, `tests/unit/`) that does not exist
  under the repository root, or a bare `name.py` that no file of the repository has;
- a dotted name in backticks (`wandb_local_kit.cli.main`, `files.write_text`,
  `Deployment.load`) whose module, function, class or attribute is not in the source.
  Names are resolved statically (the syntax tree of deploy/wandb_local_kit and tests/),
  so nothing is imported; a dotted name is checked when its first part is a module or a
  class of the kit or its tests (`wandb.init` names the SDK and is left alone);
- a bare CamelCase name in backticks (`KitError`) that no `class` of the kit, its tests
  or Python's builtins defines.

facts.md and growth.md are about W&B's side (and the user pages connecting.md, people.md
and storage.md name the SDK's classes and S3's operations): their CamelCase names (GraphQL
operations, resource kinds) and short dotted names (`spec.wandb.hostname`, a resource's
field) are W&B's, so there only paths and fully qualified names (`wandb_local_kit.x.y`,
`tests.x.y`) are checked. Everywhere:
- a relative link that does not resolve;
- a mention of `shared/` (material outside the project) or a bare issue number (`#12`:
  the public URL is the source);
- CONTRIBUTING.md without its four walk-throughs, each a numbered checklist.

The last tests break one reference at a time in a scratch copy and show it is caught.
"""

from __future__ import annotations

import ast
import builtins
import re
import shutil
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SOURCE_DIRS = ("deploy", "tests")
# About W&B's side (see the docstring); connecting, people and storage name the SDK's
# classes (`Team.invite`) and S3's operations (`PutBucketCors`), which are W&B's and AWS's.
EXTERNAL_DOCS = {
    "facts.md",
    "growth.md",
    "connecting.md",
    "people.md",
    "storage.md",
    "storage-growth.md",
}

WALKTHROUGHS = (
    "Adding a command",
    "Adding a smoke check",
    "Adding a doctor pitfall",
    "Adding a stand-in resolver",
)
FILE_SUFFIXES = {
    "py", "md", "sh", "yaml", "yml", "toml", "txt", "json", "cfg", "ini", "js", "cnf",
    "example", "caddy", "png", "html", "lock",
}  # fmt: skip
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(r"^[\w.-]+(/[\w.-]+)*/?$")
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
CAMEL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$|^[A-Z][a-z]+[A-Z]\w*$")
ISSUE = re.compile(r"(?<![\w&])#\d+\b|(?<=\w)#\d+\b")


# --- the source, as syntax trees -------------------------------------------------------------


class Module:
    def __init__(self, path: Path, dotted: str) -> None:
        self.path, self.dotted = path, dotted
        self.names: set[str] = set()
        self.classes: dict[str, set[str]] = {}
        self.children: set[str] = set()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            return
        for node in tree.body:
            self.names.update(_bound(node))
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = {n for item in node.body for n in _bound(item)}


def _bound(node: ast.stmt) -> set[str]:
    """The names a top-level (or class-level) statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.If, ast.Try)):
        return {n for item in node.body for n in _bound(item)}
    return set()


@cache
def index(root: Path) -> dict[str, Module]:
    """Every module of the kit (wandb_local_kit.x.y) and of the tests (tests.x.y)."""
    found: dict[str, Module] = {}
    bases = [(root / "deploy", root / "deploy" / "wandb_local_kit"), (root, root / "tests")]
    for base, top in bases:
        for path in sorted(top.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = Module(path, ".".join(parts))
    for dotted in found:
        parent, _, child = dotted.rpartition(".")
        if parent in found:
            found[parent].children.add(child)
    return found


def _resolve_in(modules: dict[str, Module], module: Module, rest: list[str]) -> bool:
    if not rest:
        return True
    head, tail = rest[0], rest[1:]
    if head in module.children:
        return _resolve_in(modules, modules[f"{module.dotted}.{head}"], tail)
    if head not in module.names:
        return False
    if not tail:
        return True
    if head in module.classes:
        return len(tail) == 1 and tail[0] in module.classes[head]
    return False  # an attribute of a function or a value: not claimed by these docs


def dotted_exists(root: Path, name: str) -> bool | None:
    """True/False for a name of the kit or its tests; None when it names something else."""
    modules = index(root)
    parts = name.split(".")
    candidates = [m for d, m in modules.items() if d == parts[0] or d.endswith("." + parts[0])]
    classes = [m for m in modules.values() if parts[0] in m.classes]
    if not candidates and not classes:
        return None
    for length in range(len(parts), 0, -1):  # the full dotted module path first
        full = ".".join(parts[:length])
        if full in modules and _resolve_in(modules, modules[full], parts[length:]):
            return True
    for m in candidates:
        if _resolve_in(modules, m, parts[1:]):
            return True
    return any(len(parts) == 2 and parts[1] in m.classes[parts[0]] for m in classes)


def class_exists(root: Path, name: str) -> bool:
    return hasattr(builtins, name) or any(name in m.classes for m in index(root).values())


@cache
def file_names(root: Path) -> frozenset[str]:
    return frozenset(
        p.name for d in SOURCE_DIRS + ("scripts", "benchmarks") for p in (root / d).rglob("*.py")
    )


# --- the check ---------------------------------------------------------------------------


def _token_problem(root: Path, token: str, external: bool) -> str | None:
    token = token.strip()
    bare = token[:-2] if token.endswith("()") else token
    if " " in token or token.startswith(("/", ".", "-", "$", "~")) or "://" in token:
        return None
    if "/" in token and PATH.match(token):
        suffix = token.rsplit(".", 1)[-1] if "." in token.rsplit("/", 1)[-1] else ""
        ours = (root / token.split("/", 1)[0]).exists()  # deploy/..., tests/..., docs/...
        if suffix in FILE_SUFFIXES or (ours and token.endswith("/")):
            return None if (root / token).exists() else f"path `{token}` does not exist"
        return None
    if DOTTED.match(bare):
        last = bare.rsplit(".", 1)[-1]
        if last in FILE_SUFFIXES:
            if last == "py" and "/" not in bare and bare not in file_names(root):
                return f"file `{token}` is nowhere in the repository"
            return None
        qualified = bare.startswith(("wandb_local_kit.", "tests."))
        if (qualified or not external) and dotted_exists(root, bare) is False:
            return f"name `{token}` is not in the source"
        return None
    if not external and CAMEL.match(bare) and not class_exists(root, bare):
        return f"class `{token}` is not defined in the source"
    return None


def _walkthrough_problems(text: str) -> list[str]:
    out = []
    for title in WALKTHROUGHS:
        m = re.search(rf"^#{{2,3}} +(?:\(\w\) +)?{re.escape(title)}\b.*$", text, re.M | re.I)
        if not m:
            out.append(f"CONTRIBUTING.md has no walk-through headed '{title}'")
            continue
        section = re.split(r"^#{1,3} ", text[m.end() :], maxsplit=1, flags=re.M)[0]
        if not re.search(r"^1\. ", section, re.M) or not re.search(r"^2\. ", section, re.M):
            out.append(f"the walk-through '{title}' is not a numbered checklist")
    return out


def problems(docs_dir: Path, root: Path = ROOT) -> list[str]:
    """Every broken claim in the docs of docs_dir, as 'file: what'."""
    found: list[str] = []
    docs = sorted(docs_dir.glob("*.md"))
    if not docs:
        return [f"{docs_dir} holds no docs"]
    for doc in docs:
        raw = doc.read_text(encoding="utf-8")
        text = FENCE.sub("", raw)
        external = doc.name in EXTERNAL_DOCS
        for token in INLINE.findall(text):
            problem = _token_problem(root, token, external)
            if problem:
                found.append(f"{doc.name}: {problem}")
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            if not (doc.parent / target.split("#", 1)[0]).exists():
                found.append(f"{doc.name}: link ({target}) does not resolve")
        if "shared/" in raw:
            found.append(f"{doc.name}: names shared/ (material outside the project)")
        for line in raw.splitlines():
            for word in line.split():
                if "://" not in word and ISSUE.search(word):
                    found.append(f"{doc.name}: bare issue number in {word!r}: cite its URL")
    contributing = docs_dir / "CONTRIBUTING.md"
    if contributing.exists():
        found += _walkthrough_problems(contributing.read_text(encoding="utf-8"))
    else:
        found.append("docs/CONTRIBUTING.md is missing")
    return found


# --- the docs of this checkout -----------------------------------------------------------


def test_the_docs_name_only_what_exists():
    assert problems(DOCS) == []


@pytest.mark.parametrize("name", ["architecture.md", "facts.md", "CONTRIBUTING.md"])
def test_each_contributor_doc_is_there_and_cites(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    assert len(INLINE.findall(text)) >= 10, f"{name} names almost nothing of the code"


def test_every_fact_section_cites_a_public_source():
    text = (DOCS / "facts.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) >= 4
    for section in sections:
        title = section.splitlines()[0]
        assert re.search(r"\]\(https://", section), f"facts.md '{title}' cites no public URL"


def test_readme_layout_points_at_the_docs():
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    layout = layout.split("\n## ", 1)[0]
    for name in ("docs/architecture.md", "docs/facts.md", "docs/CONTRIBUTING.md"):
        assert name in layout, f"README's Layout section does not point to {name}"


# --- links between the README and the docs, anchors included ----------------------------

README_ROW_LIMIT = 160  # a README table row a reader takes in at a glance; details go to docs/


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (`## A lab's people` ->
    `a-labs-people`; a repeated heading gets `-1`, `-2`, ...)."""
    found: set[str] = set()
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for m in re.finditer(r"^#{1,6} +(.+?) *$", text, re.M):
        base = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        name, n = base, 0
        while name in found:
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def link_problems(pages: list[Path]) -> list[str]:
    """Every relative link of these pages whose file, or whose #anchor, is not there."""
    found = []
    for page in pages:
        for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            path = (page.parent / file_part) if file_part else page
            if not path.exists():
                found.append(f"{page.name}: link ({target}) does not resolve")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                found.append(f"{page.name}: link ({target}) names no heading of {path.name}")
    return found


def test_every_link_of_the_readme_and_the_docs_resolves_with_its_anchor():
    assert link_problems([ROOT / "README.md", *sorted(DOCS.glob("*.md"))]) == []


def test_a_broken_anchor_or_file_link_is_caught(tmp_path):
    (tmp_path / "page.md").write_text("# A lab's people\n\n## Exit codes\n", encoding="utf-8")
    index = tmp_path / "index.md"
    index.write_text(
        "[ok](page.md#a-labs-people) [ok](page.md#exit-codes) [ok](#top)\n# Top\n"
        "[bad](page.md#people) [bad](pages.md) [bad](#nowhere)\n",
        encoding="utf-8",
    )
    found = link_problems([index])
    assert len(found) == 3, found
    assert any("(page.md#people) names no heading" in p for p in found)
    assert any("(pages.md) does not resolve" in p for p in found)
    assert any("(#nowhere) names no heading of index.md" in p for p in found)


def test_readme_tables_stay_short_and_point_to_the_docs():
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    assert rows, "the README has no command table"
    long = [row[:60] for row in rows if len(row) > README_ROW_LIMIT]
    assert not long, f"README table rows over {README_ROW_LIMIT} characters: {long}"


def commands_missing_from_the_table(readme: str, names: list[str]) -> list[str]:
    """Commands with no row of the README's command table (a row's first cell names
    one or more commands in backticks, e.g. `up` / `down`)."""
    first_cells = [row.split("|")[1] for row in readme.splitlines() if row.startswith("| `")]
    return [
        n for n in names if not any(f"`{n}`" in cell or f"`{n} " in cell for cell in first_cells)
    ]


def test_every_command_has_a_row_in_the_readme():
    from wandb_local_kit.cli import COMMANDS

    readme = (ROOT / "README.md").read_text()
    names = [c.name for c in COMMANDS]
    assert commands_missing_from_the_table(readme, names) == []
    # ...and the check sees a command without a row.
    assert commands_missing_from_the_table(readme, names + ["teleport"]) == ["teleport"]


# --- the check fails when a reference breaks ---------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the docs in a tree that links everything else to this checkout."""
    for entry in ROOT.iterdir():
        if entry.name in ("docs", ".git", ".venv"):
            continue
        (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(DOCS, tmp_path / "docs")
    return tmp_path


BREAKS = {
    "a path": ("architecture.md", "`deploy/wandb_local_kit/stack/deployment.py`",
               "`deploy/wandb_local_kit/stack/deploymint.py`", "deploymint.py` does not exist"),
    "a module function": ("architecture.md", "`wandb_local_kit.cli.main`",
                          "`wandb_local_kit.cli.mainly`", "cli.mainly` is not in the source"),
    "a short dotted name": ("CONTRIBUTING.md", "`files.write_text`", "`files.write_txt`",
                            "files.write_txt` is not in the source"),
    "a class": ("architecture.md", "`KitError`", "`KitErrors`", "KitErrors` is not defined"),
    "a method": ("architecture.md", "`Deployment.load`", "`Deployment.loads`",
                 "Deployment.loads` is not in the source"),
    "a relative link": ("architecture.md", "(CONTRIBUTING.md)", "(CONTRIBUTE.md)",
                        "(CONTRIBUTE.md) does not resolve"),
    "a walk-through": ("CONTRIBUTING.md", "Adding a doctor pitfall", "Adding a doctor thing",
                       "no walk-through headed 'Adding a doctor pitfall'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_broken_reference_in_a_scratch_copy_is_caught(scratch, case):
    doc, good, bad, expected = BREAKS[case]
    assert problems(scratch / "docs", scratch) == [], "the scratch copy starts out intact"
    path = scratch / "docs" / doc
    text = path.read_text(encoding="utf-8")
    assert good in text, f"{doc} no longer holds {good}: pick another reference to break"
    path.write_text(text.replace(good, bad, 1), encoding="utf-8")
    found = problems(scratch / "docs", scratch)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "line, expected",
    [
        ("See the notes in shared/reference/x.md.\n", "names shared/"),
        ("Fixed upstream in wandb/server#126.\n", "bare issue number"),
        ("As said in #42, the port is 8080.\n", "bare issue number"),
    ],
)
def test_outside_material_and_bare_issue_numbers_are_caught(scratch, line, expected):
    path = scratch / "docs" / "facts.md"
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    assert any(expected in p for p in problems(scratch / "docs", scratch))


def test_an_issue_url_is_not_a_bare_number(tmp_path):
    (tmp_path / "CONTRIBUTING.md").write_text(
        "".join(f"## {t}\n\n1. a\n2. b\n" for t in WALKTHROUGHS)
        + "See [the issue](https://github.com/wandb/server/issues/126).\n"
    )
    assert problems(tmp_path) == []
