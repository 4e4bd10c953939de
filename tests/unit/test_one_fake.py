"""One fake W&B for the unit tests: tests/fakewandb.py. A test module under tests/unit that
defines its own HTTP server class (a BaseHTTPRequestHandler or (Threading)HTTPServer
subclass) fails here unless the allow-list below says why it must differ; a protocol change
is then made once, in the shared fake."""

from __future__ import annotations

import ast
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakewandb import Behaviour, FakeWandb

UNIT = Path(__file__).resolve().parent
SERVER_BASES = frozenset(
    {
        "BaseHTTPRequestHandler",
        "SimpleHTTPRequestHandler",
        "CGIHTTPRequestHandler",
        "HTTPServer",
        "ThreadingHTTPServer",
        "BaseRequestHandler",
        "StreamRequestHandler",
        "TCPServer",
        "ThreadingTCPServer",
    }
)
# path under tests/unit -> why its server cannot be tests/fakewandb.py's FakeWandb
ALLOWED: dict[str, str] = {}


def server_classes(source: str) -> list[str]:
    """`name(line)` of each class whose base is an http.server / socketserver server."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            if name in SERVER_BASES:
                found.append(f"{node.name}({node.lineno})")
    return found


def test_no_unit_test_module_has_its_own_http_server():
    offenders = {}
    for path in sorted(UNIT.rglob("*.py")):
        rel = path.relative_to(UNIT).as_posix()
        classes = server_classes(path.read_text())
        if classes and rel not in ALLOWED:
            offenders[rel] = classes
    assert not offenders, (
        f"{offenders}: use tests/fakewandb.py's FakeWandb (add a Behaviour option there if it "
        "lacks one), or add the module to ALLOWED in tests/unit/test_one_fake.py with the "
        "reason it must differ"
    )


def test_every_allowed_module_exists_and_still_needs_it():
    for rel, reason in ALLOWED.items():
        assert reason.strip(), f"{rel}: the allow-list needs a reason"
        assert server_classes((UNIT / rel).read_text()), f"{rel} no longer needs its entry"


@pytest.mark.parametrize(
    "source",
    [
        "from http.server import BaseHTTPRequestHandler\nclass H(BaseHTTPRequestHandler): ...",
        "import http.server\ndef f():\n    class S(http.server.ThreadingHTTPServer): ...",
        "import socketserver\nclass T(socketserver.StreamRequestHandler): ...",
    ],
)
def test_the_check_finds_a_server_class_however_it_is_spelled(source):
    assert server_classes(source)


def test_the_check_leaves_other_classes_alone():
    assert server_classes("class Fake:\n    pass\nclass Api(object): ...") == []


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_fakes_scim_toggle():
    with FakeWandb() as fake:
        assert _get(f"{fake.url}/scim/Users")[0] == 404  # no Enterprise license
    with FakeWandb(Behaviour(scim=True)) as fake:
        status, body = _get(f"{fake.url}/scim/Users")
    assert status == 200
    roles = {u["userName"]: u["organizationRole"] for u in body["Resources"]}
    assert roles == {"ada": "member", "admin": "admin"}
