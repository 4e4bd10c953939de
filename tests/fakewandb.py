"""The one fake W&B server of the unit tests (no Docker, no network beyond loopback).

`FakeWandb` is a loopback http.server speaking the endpoints health, login, doctor, smoke
and the client use: /healthz, /ready, /graphql (Basic auth with an API key), signed-URL
PUT/GET under /local-files/, the CORS preflight, and a read-only /scim/Users. What it does
is set by `Behaviour`, small declarative options: which keys are valid (and whose, and who
is admin), the GraphQL answer per operation name, the answer per path (any status, body,
or an answer that breaks off mid-body), delays per path, a 1 MB-style body limit, CORS,
where upload URLs point, the CLI versions, the Date header's clock, TLS, a SCIM toggle.

`FakePeople` stands in for `remote.Server` (the SDK + SCIM layer the `people` commands
use) one level up: the users and teams a server holds, whether SCIM is licensed, and a
record of every connection and change. Install it with
`monkeypatch.setattr(remote, "Server", people.server)`.

A protocol change is made here once; tests/unit/test_one_fake.py keeps it the only one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from wandb_local_kit.server.people import remote

GOOD_KEY = "local-" + "a1" * 20  # ada, a plain user
ADMIN_KEY = "local-" + "b2" * 20  # admin, an instance admin
NEW_KEY = "local-" + "c3" * 20  # what generateApiKey hands out
WRONG_KEY = "local-" + "d4" * 20  # a key the server does not know
SERVICE_KEY = "local-" + "e5" * 20  # a new service account's key (FakePeople)


@dataclass
class Reply:
    """One canned HTTP answer. `body`: bytes as they are, anything else as JSON.
    `broken`: promise a chunked body, send 8 bytes of it, close the connection."""

    status: int = 200
    body: Any = b""
    ctype: str = "application/json"
    broken: bool = False

    def encoded(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class Behaviour:
    healthz: int = 200  # the status of /healthz
    ready: int = 200  # the status of /ready
    keys: dict = field(  # valid API key -> (username, is instance admin)
        default_factory=lambda: {GOOD_KEY: ("ada", False), ADMIN_KEY: ("admin", True)}
    )
    body_limit: int | None = None  # like a proxy's client_max_body_size: 413 above it
    cors: bool = True  # the storage answers the CORS preflight
    upload_base: str | None = None  # where signed URLs point; None: this server
    min_cli: str = "0.10.0"
    max_cli: str = "0.31.99"
    frontend_host: str | None = None  # None: this server's URL
    delays: dict = field(default_factory=dict)  # path -> seconds before answering
    clock_offset: float = 0.0  # the server's Date header is this far off
    users: list = field(default_factory=list)  # emails created with createUser
    replies: dict = field(default_factory=dict)  # path -> Reply for every request there
    graphql: dict = field(default_factory=dict)  # operation name -> `data` dict or Reply
    scim: bool = False  # /scim/Users answers (an Enterprise license); else 404


def operation(query: str) -> str:
    """'mutation DeleteRun($id: ID!) {...}' -> 'mutation DeleteRun'."""
    return query.split("(")[0].split("{")[0].strip()


def _basic_key(auth: str) -> str:
    if not auth.startswith("Basic "):
        return ""
    return base64.b64decode(auth[6:]).decode().partition(":")[2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeWandb:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, *args):
        pass

    def date_time_string(self, timestamp=None):
        t = time.time() + self.fake.b.clock_offset
        return format_datetime(dt.datetime.fromtimestamp(t, dt.timezone.utc), usegmt=True)

    def _send(self, status, body=b"", headers=None, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj).encode())

    def _read(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, reply: Reply) -> None:
        if not reply.broken:
            return self._send(reply.status, reply.encoded(), ctype=reply.ctype)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b'20a\r\n{"data":')  # promises 522 bytes, sends 8, then closes
        self.wfile.flush()
        self.close_connection = True

    def _canned(self) -> bool:
        """The per-path delay, then the per-path Reply if there is one (True: answered)."""
        path = urlsplit(self.path).path
        time.sleep(self.fake.b.delays.get(path, 0))
        reply = self.fake.b.replies.get(path)
        if reply is None:
            return False
        self._read()
        self._reply(reply)
        return True

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.fake.requests.append(("GET", self.path))
        if self._canned():
            return
        path = urlsplit(self.path).path
        if path in ("/healthz", "/ready"):
            return self._send(getattr(self.fake.b, path[1:]), b"{}")
        if path.startswith("/local-files/"):
            data = self.fake.files.get(path)
            if data is None:
                return self._send(404, b"NoSuchKey")
            return self._send(200, data, ctype="text/plain")
        if path in ("/scim/Users", "/scim/Groups"):
            return self._scim(path)
        return self._send(404, b"{}")

    def _scim(self, path: str) -> None:
        if not self.fake.b.scim:
            return self._json(404, {"detail": "SCIM needs an Enterprise license"})
        found = []
        if path == "/scim/Users":
            for name, admin in dict(self.fake.b.keys.values()).items():
                role = "admin" if admin else "member"
                found.append({"id": f"scim-{name}", "userName": name, "active": True,
                              "organizationRole": role, "teamRoles": []})  # fmt: skip
        return self._json(200, {"Resources": found, "totalResults": len(found)})

    def do_PUT(self):  # noqa: N802
        self.fake.requests.append(("PUT", self.path))
        if self._canned():
            return
        self.fake.files[urlsplit(self.path).path] = self._read()
        return self._send(200)

    def do_OPTIONS(self):  # noqa: N802
        if self._canned():
            return
        if self.fake.b.cors:
            return self._send(200, headers={"Access-Control-Allow-Origin": self.headers["Origin"]})
        return self._send(403)

    def do_POST(self):  # noqa: N802
        if self._canned():
            return
        b = self.fake.b
        n = int(self.headers.get("Content-Length") or 0)
        if b.body_limit is not None and n > b.body_limit:
            self.rfile.read(n)  # like nginx: discard the body, answer 413
            return self._send(413, b"<html>413 Request Entity Too Large</html>")
        raw = self._read()
        who = b.keys.get(_basic_key(self.headers.get("Authorization", "")))
        if who is None:
            return self._json(401, {"errors": [{"message": "unauthorized"}]})
        req = json.loads(raw)
        q, v = req["query"], req.get("variables") or {}
        op = operation(q)
        self.fake.requests.append(("POST", op))
        canned = b.graphql.get(op.rpartition(" ")[2])
        if isinstance(canned, Reply):
            return self._reply(canned)
        data = canned if canned is not None else self.fake.answer(q, v, *who)
        return self._json(200, {"data": data})


class FakeWandb:
    """A fake W&B server on 127.0.0.1 (optionally behind TLS): `with FakeWandb(b) as fake:`,
    or `fake = FakeWandb(b).start()` ... `fake.close()` (the server vanishes)."""

    def __init__(self, behaviour: Behaviour | None = None, certfile: str | None = None):
        self.b = behaviour or Behaviour()
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.fake = self  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://localhost:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._closed = False

    def answer(self, q: str, v: dict, user: str, admin: bool) -> dict:
        """The `data` of a GraphQL answer, by what the query asks for."""
        b = self.b
        base = b.upload_base or self.url
        if "createUser" in q:
            if not admin:
                return {"result": None}
            b.users.append(v["email"])
            name = v["email"].split("@")[0]
            return {"result": {"user": {"id": "VXNlcjoy", "username": name, "email": v["email"]}}}
        if "generateApiKey" in q:
            b.keys[NEW_KEY] = (user, admin)
            return {"result": {"apiKey": {"id": "QXBpS2V5OjE=", "name": NEW_KEY}}}
        if "upsertBucket" in q:
            return {"upsertBucket": {"bucket": {"id": "UnVuOjE=", "name": v["name"]}}}
        if "createRunFiles" in q:
            files = [
                {"name": n, "uploadUrl": f"{base}/local-files/{user}/{n}?sig=s3cr3t"}
                for n in v["files"]
            ]
            return {"createRunFiles": {"runID": "UnVuOjE=", "uploadHeaders": [], "files": files}}
        if "markRunFilesUploaded" in q:
            return {"markRunFilesUploaded": {"__typename": "X"}}
        if "files(names" in q:
            n = v["fileNames"][0]
            node = {"name": n, "directUrl": f"{base}/local-files/{user}/{n}?sig=x", "url": None}
            return {"project": {"run": {"files": {"edges": [{"node": node}]}}}}
        if "deleteRun" in q:
            return {"deleteRun": {"clientMutationId": None}}
        if "frontendHost" in q:
            return {"serverInfo": {"frontendHost": b.frontend_host or self.url}}
        if "serverInfo" in q:
            return {"serverInfo": self._server_info()}
        if "viewer" in q:
            return {"viewer": {"id": "1", "username": user, "entity": user, "admin": admin}}
        if "project(" in q:
            return {"project": None}
        return {}

    def _server_info(self) -> dict:
        return {
            "cliVersionInfo": {
                "min_cli_version": self.b.min_cli,
                "max_cli_version": self.b.max_cli,
            },
            "latestLocalVersionInfo": {
                "outOfDate": False,
                "latestVersionString": "0.83.0",
                "versionOnThisInstanceString": "0.83.0",
            },
        }

    def start(self) -> FakeWandb:
        self.thread.start()
        return self

    def close(self) -> None:
        """Stops answering: the port is closed (a server that vanished)."""
        if not self._closed:
            self._closed = True
            if self.thread.is_alive():
                self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeWandb:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


# --- remote.Server without a server ---------------------------------------------------------


@dataclass
class FakePeople:
    """What a server holds for `wandb-kit people`, and every connection and change asked of
    it. `people.server` replaces `remote.Server`; each instance shares this state."""

    caller: str = "root"  # the key's own username
    users: list = field(default_factory=list)  # remote.RemoteUser
    teams: dict = field(default_factory=dict)  # team name -> [remote.RemoteMember]
    scim: bool = True  # SCIM licensed (usernames, admin flags, roles, deactivation)
    scim_reason: str = ""  # why not, when scim is False
    service_key: str = SERVICE_KEY  # what create_service_account returns
    hook: Callable[[str], Any] | None = None  # sees "read", and each change before it counts
    calls: list = field(default_factory=list)  # "read", then each change, in order
    made: list = field(default_factory=list)  # the URL of each connection
    keys: list = field(default_factory=list)  # the API key of each connection

    def server(self, url, key, verify=True, timeout=60) -> _PeopleServer:
        self.made.append(url)
        self.keys.append(key)
        return _PeopleServer(self)


class _PeopleServer:
    def __init__(self, people: FakePeople):
        self.people = people

    def _record(self, text: str) -> None:
        if self.people.hook:
            self.people.hook(text)
        self.people.calls.append(text)

    def read(self, team_names):
        p = self.people
        p.calls.append("read")  # recorded, then shown to the hook
        if p.hook:
            p.hook("read")
        teams = {name: list(members) for name, members in p.teams.items()}
        return remote.Remote(
            p.caller, users=list(p.users), teams=teams, scim=p.scim, scim_reason=p.scim_reason
        )

    def create_user(self, email, username, admin, scim):
        self._record(f"create_user {email}")
        return username or email.split("@")[0]

    def scim_id(self, username):
        return f"id-{username}"

    def scim_patch_user(self, scim_id, operations, who):
        self._record(f"patch {who} {operations}")

    def create_team(self, name, admin_username):
        self._record(f"create_team {name}")

    def invite(self, team, username, admin):
        self._record(f"invite {team} {username}")

    def remove(self, member):
        self._record(f"remove {member.team} {member.username}")

    def create_service_account(self, team, name):
        self._record(f"create_service_account {team} {name}")
        return self.people.service_key
