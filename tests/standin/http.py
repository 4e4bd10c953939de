"""The HTTP front: routing, auth, health, signed file URLs, CORS and request logging.

stdlib ThreadingHTTPServer speaking HTTP/1.1 (keep-alive, as the Go sidecar expects); every
response carries a Content-Length. Bodies are read by length, so 10 MB+ requests are fine.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import mimetypes
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from . import auth, filestream
from .faults import FAULTS
from .graphql_exec import execute, root_fields
from .resolvers.base import Ctx
from .resolvers.root import Mutation, Query

log = logging.getLogger("standin.http")

DEBUG = bool(os.environ.get("STANDIN_DEBUG"))  # log GraphQL variables (never keys)
MAX_BODY = 1 << 30  # 1 GiB: far above what the SDK sends (verify posts ~10 MB)


class App:
    """Everything a request handler needs; `ready` flips once storage is usable."""

    def __init__(self, settings, store, files) -> None:
        self.settings = settings
        self.store = store
        self.files = files
        self.ready = threading.Event()
        host = urlsplit(settings.host)
        self.host_origin = f"{host.scheme}://{host.netloc}"
        self.cors_origins = {self.host_origin, *settings.cors_origins}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle + delayed ACK add
    # ~40 ms to every response on keep-alive connections
    disable_nagle_algorithm = True
    server_version = "wandb-standin"
    app: App  # set on the subclass made by make_server

    # -- plumbing --------------------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002 - silence the default access log
        pass

    def _log(self, status: int, op: str = "") -> None:
        path = urlsplit(self.path).path  # never log query strings (signatures)
        ms = (time.monotonic() - self._t0) * 1000
        log.info("%s %s %s -> %d (%.0f ms)", self.command, path, op or "-", status, ms)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        ctype: str = "application/json",
        headers: dict | None = None,
        op: str = "",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log(status, op)

    def _json(self, status: int, obj, op: str = "", headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj, default=str).encode(), headers=headers, op=op)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError("request body too large")
            data = self.rfile.read(length)
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        return data

    def _read_chunked(self) -> bytes:
        out = io.BytesIO()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out.getvalue()
            out.write(self.rfile.read(size))
            self.rfile.readline()

    def _user(self):
        key = auth.parse_basic(self.headers.get("Authorization"))
        return auth.lookup(self.app.store, key)

    def _ctx(self, user) -> Ctx:
        return Ctx(self.app.store, self.app.files, self.app.settings, user, dict(self.headers))

    def _entity_denied(
        self, user: dict, entity: str, op: str, write: bool = False, project: str | None = None
    ) -> bool:
        """Answer 404 / 403 (and return True) unless `user` may use `entity`'s data (or the
        project's visibility lets them)."""
        from .graphql_exec import GqlError
        from .resolvers.base import check_entity, entity_exists, project_open

        ctx = self._ctx(user)
        ctx.write = write
        if project and entity_exists(ctx.store, entity) and project_open(ctx, entity, project):
            return False
        try:
            check_entity(ctx, entity)
        except GqlError as e:
            self._json(e.status or 403, {"errors": [e.as_error()], "error": str(e)}, op=op)
            return True
        return False

    def _unauthorized(self, op: str = "") -> None:
        self._json(
            401,
            {"errors": [{"message": "unauthorized: invalid or missing API key"}]},
            op=op,
            headers={"WWW-Authenticate": 'Basic realm="wandb"'},
        )

    def _not_ready(self) -> bool:
        if self.app.ready.is_set():
            return False
        self._json(503, {"error": "storage is not ready yet"})
        return True

    # -- verbs -----------------------------------------------------------------------------
    def handle_one_request(self):
        self._t0 = time.monotonic()
        super().handle_one_request()

    def _guard(method):  # noqa: N805 - decorator used in the class body
        """A failing backend (database gone, bucket unreachable) answers 500, never a hang."""

        def wrapper(self):
            try:
                return method(self)
            except (BrokenPipeError, ConnectionResetError):
                return None
            except Exception as e:
                log.exception("%s %s failed", self.command, urlsplit(self.path).path)
                try:
                    self._json(500, {"error": f"internal error: {type(e).__name__}"})
                except OSError:
                    pass
                return None

        wrapper.__name__ = method.__name__
        return wrapper

    @_guard
    def do_GET(self):  # noqa: N802
        path = urlsplit(self.path).path
        try:
            if path == "/healthz":
                return self._send(200, b'{"status":"ok"}')
            if path == "/ready":
                if self.app.ready.is_set():
                    return self._send(200, b'{"status":"ready"}')
                return self._send(503, b'{"status":"starting"}')
            if self._not_ready():
                return None
            if path.startswith("/scim/"):
                return self._scim(path)
            if path.startswith("/local-files/"):
                return self._local_file_get(path)
            if path.startswith("/artifacts/") or path.startswith("/artifactsV2/"):
                return self._artifact_get(path)
            if path.startswith("/files/"):
                return self._run_file_get(path)
            return self._json(404, {"error": "not found"})
        except BrokenPipeError:
            return None

    do_HEAD = do_GET

    @_guard
    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        if FAULTS.max_body and int(self.headers.get("Content-Length") or 0) > FAULTS.max_body:
            self.close_connection = True
            return self._send(413, b"Request Entity Too Large", ctype="text/plain")
        if path == "/graphql":
            return self._graphql()
        if path.startswith("/scim/") and not self._not_ready():
            return self._scim(path)
        if path.startswith("/files/") and path.endswith("/file_stream"):
            return self._file_stream(path)
        self._body()
        return self._json(404, {"error": "not found"})

    @_guard
    def do_PUT(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/local-files/") and not self._not_ready():
            return self._local_file_put(path)
        self._body()
        return self._json(404, {"error": "not found"})

    @_guard
    def do_PATCH(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/scim/") and not self._not_ready():
            return self._scim(path)
        self._body()
        return self._json(404, {"error": "not found"})

    do_DELETE = do_PATCH

    def _scim(self, path: str) -> None:
        """W&B's SCIM API (scim.py)."""
        from . import scim

        raw = self._body() if self.command in ("POST", "PATCH", "PUT") else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._json(400, scim.error(400, "body is not JSON"), op="scim")
        query = dict(parse_qsl(urlsplit(self.path).query))
        status, obj = scim.handle(self.app, self.command, path, query, body, self.headers)
        if obj is None:
            return self._send(status, b"", op="scim")
        body_bytes = json.dumps(obj, default=str).encode()
        return self._send(status, body_bytes, ctype="application/scim+json", op="scim")

    @_guard
    def do_OPTIONS(self):  # noqa: N802
        """CORS preflight for the file URLs: allowed for HOST's origin and GORILLA_CORS_ORIGINS."""
        origin = self.headers.get("Origin")
        path = urlsplit(self.path).path
        if not path.startswith("/local-files/") or origin not in self.app.cors_origins:
            return self._send(403, b"", headers={"Vary": "Origin"})
        return self._send(
            200,
            b"",
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, PUT, HEAD",
                "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers")
                or "*",
                "Access-Control-Expose-Headers": "ETag",
                "Access-Control-Max-Age": "3000",
                "Vary": "Origin",
            },
        )

    # -- GraphQL ---------------------------------------------------------------------------
    def _graphql(self) -> None:
        raw = self._body()
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return self._json(400, {"errors": [{"message": "body is not JSON"}]})
        query = req.get("query") or ""
        op = req.get("operationName") or ",".join(root_fields(query)) or "?"
        if not self.app.ready.is_set():  # keys live in the database: nothing to check yet
            return self._json(503, {"errors": [{"message": "storage is not ready yet"}]}, op=op)
        user = self._user()
        if user is None:
            return self._unauthorized(op)
        ctx = self._ctx(user)
        try:
            body, status = execute(
                query, req.get("variables"), req.get("operationName"), Query(ctx), Mutation(ctx)
            )
        except Exception as e:  # a bug in a resolver: report it, keep serving
            log.exception("graphql %s failed", op)
            body, status = {"errors": [{"message": f"internal error: {e}"}], "data": None}, 500
        if DEBUG:
            log.info("graphql %s variables=%s", op, json.dumps(req.get("variables"))[:2000])
        if body.get("errors"):
            log.warning("graphql %s errors: %s", op, [e.get("message") for e in body["errors"]])
        return self._json(status, body, op=op)

    # -- file_stream -----------------------------------------------------------------------
    def _file_stream(self, path: str) -> None:
        raw = self._body()
        parts = [unquote(p) for p in path.split("/")]
        # ['', 'files', entity, project, run, 'file_stream']
        if len(parts) != 6:
            return self._json(404, {"error": "not found"})
        if self._not_ready():
            return None
        user = self._user()
        if user is None:
            return self._unauthorized("file_stream")
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            return self._json(400, {"error": "body is not JSON"}, op="file_stream")
        if DEBUG:
            log.info(
                "file_stream %s",
                {
                    k: (v.get("offset"), len(v.get("content") or []))
                    for k, v in (payload.get("files") or {}).items()
                },
            )
        if self._entity_denied(user, parts[2], "file_stream", write=True, project=parts[3]):
            return None
        status, body = filestream.handle(self._ctx(user), parts[2], parts[3], parts[4], payload)
        enc = self.headers.get("Content-Encoding", "").lower()
        return self._json(status, body, op="file_stream" + (f" ({enc})" if enc else ""))

    # -- signed file URLs ------------------------------------------------------------------
    def _signed(self, path: str) -> str | None:
        """The file key if this request carries a valid signature for this host, else None."""
        files = self.app.files
        if not hasattr(files, "check"):
            return None
        raw_path = urlsplit(self.path).path
        query = dict(parse_qsl(urlsplit(self.path).query))
        if not files.check(self.command, self.headers.get("Host", ""), raw_path, query):
            return None
        return unquote(path[len("/local-files/") :])

    def _cors_headers(self) -> dict:
        origin = self.headers.get("Origin")
        if origin and origin in self.app.cors_origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {}

    def _local_file_put(self, path: str) -> None:
        key = self._signed(path)
        if key is None:
            self._body()
            return self._send(
                403, b"SignatureDoesNotMatch", ctype="text/plain", headers=self._cors_headers()
            )
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = self._read_chunked()
            self.app.files.write(key, io.BytesIO(data), len(data))
        else:
            self.app.files.write(key, self.rfile, length)
        self._mark_run_file(key)
        return self._send(200, b"", headers=self._cors_headers())

    def _mark_run_file(self, key: str) -> None:
        """A PUT of `<entity>/<project>/<run>/<name>` completes that run file."""
        from .resolvers.artifacts import MANIFEST_PREFIX
        from .resolvers.runs import get_run, mark_uploaded

        parts = key.split("/", 3)
        # artifact blobs and manifests have top-level prefixes of their own, not run files
        if len(parts) == 4 and parts[0] not in ("wandb_artifacts", MANIFEST_PREFIX):
            ctx = self._ctx({"username": parts[0], "admin": True})  # internal bookkeeping
            run = get_run(ctx, parts[0], parts[1], parts[2])
            if run is not None:
                mark_uploaded(ctx, run, parts[3])

    def _local_file_get(self, path: str) -> None:
        key = self._signed(path)
        if key is None:
            return self._send(
                403, b"SignatureDoesNotMatch", ctype="text/plain", headers=self._cors_headers()
            )
        return self._stream(key)

    def _stream(self, key: str) -> None:
        """Send a stored file in 1 MiB chunks (large artifacts never sit in memory)."""
        fault = FAULTS.file_action(key)
        if fault == "lose-files":
            return self._send(404, b"NoSuchKey", ctype="text/plain")
        f = self.app.files.open(key)
        if f is None:
            return self._send(404, b"NoSuchKey", ctype="text/plain")
        if fault:
            with f:
                data = FAULTS.mangle(fault, f.read())
            ctype = mimetypes.guess_type(key)[0] or "application/octet-stream"
            return self._send(200, data, ctype=ctype, headers=self._cors_headers())
        with f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header(
                "Content-Type", mimetypes.guess_type(key)[0] or "application/octet-stream"
            )
            self.send_header("Content-Length", str(size))
            for k, v in self._cors_headers().items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)
        self._log(200)
        return None

    def _redirect_or_stream(self, key: str) -> None:
        if hasattr(self.app.files, "check"):
            return self._stream(key)
        if self.app.files.stat(key) is None:
            return self._send(404, b"NoSuchKey", ctype="text/plain")
        return self._send(302, b"", headers={"Location": self.app.files.download_url(key)})

    def _artifact_get(self, path: str) -> None:
        """Authenticated artifact file download by content hash (the SDK's fallback URL)."""
        from .resolvers.artifacts import blob_key

        user = self._user()
        if user is None:
            return self._unauthorized("artifact-file")
        parts = [unquote(p) for p in path.split("/") if p]
        if parts[0] == "artifacts" and len(parts) == 3:
            entity, hexhash = parts[1], parts[2]
        elif parts[0] == "artifactsV2" and len(parts) >= 7:
            entity, hexhash = parts[2], parts[-2]
        else:
            return self._json(404, {"error": "not found"})
        if self._entity_denied(user, entity, "artifact-file"):
            return None
        return self._redirect_or_stream(blob_key(entity, hexhash))

    def _run_file_get(self, path: str) -> None:
        """Authenticated run file download: /files/<entity>/<project>/<run>/<name>."""
        user = self._user()
        if user is None:
            return self._unauthorized("run-file")
        parts = [unquote(p) for p in path.split("/", 5)]
        if len(parts) != 6:
            return self._json(404, {"error": "not found"})
        if self._entity_denied(user, parts[2], "run-file", project=parts[3]):
            return None
        return self._redirect_or_stream("/".join(parts[2:6]))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients dropping keep-alive connections is normal; anything else is logged.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        log.exception("error while serving %s", client_address)

    request_queue_size = 128
    allow_reuse_address = True


def make_server(app: App, bind: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"app": app})
    return Server((bind, port), handler)
