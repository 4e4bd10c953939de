"""A persistent S3 server for tests: moto's S3 API plus snapshots to a data dir.

Usage (MinIO's command line): s3_standin.py server DATA_DIR [--address :9000]
                                              [--console-address :9001]
Like MinIO, MINIO_API_CORS_ALLOW_ORIGIN (comma-separated origins, or *) sets CORS for
every bucket; when it is unset, moto answers preflights from each bucket's CORS rules.
Test infrastructure, not object storage for real data: see the Dockerfile.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import signal
import sys
import threading
from pathlib import Path

from moto.s3.models import s3_backends
from moto.server import create_backend_app
from werkzeug.serving import make_server

log = logging.getLogger("s3-standin")
MUTATING = {"PUT", "POST", "DELETE"}


class Snapshots:
    """Saves moto's S3 state to DATA_DIR/state.pickle shortly after each write.

    Debounced so a burst of uploads costs one save; the save is atomic (temp file,
    fsync, rename), so a crash leaves the previous snapshot intact.
    """

    def __init__(self, data_dir: Path, delay: float):
        self.path = data_dir / "state.pickle"
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            saved = pickle.load(f)
        for account, regions in saved.items():
            s3_backends[account] = regions
        log.info("restored S3 state from %s", self.path)

    def schedule(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self.save)
                self._timer.daemon = True
                self._timer.start()

    def save(self) -> None:
        with self._lock:
            self._timer = None
            for _ in range(5):  # a concurrent request may mutate a dict mid-pickle
                try:
                    blob = pickle.dumps(dict(s3_backends.items()))
                    break
                except RuntimeError:
                    continue
            else:
                log.error("could not snapshot S3 state (busy); will retry on next write")
                return
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


CORS_METHODS = "GET, PUT, HEAD, POST, DELETE"


def global_cors_origins() -> list[str] | None:
    raw = os.environ.get("MINIO_API_CORS_ALLOW_ORIGIN")
    if raw is None:
        return None
    return [o.strip() for o in raw.split(",") if o.strip()]


def cors_allows(allowed: list[str], origin: str) -> bool:
    return "*" in allowed or origin in allowed


def make_app(snapshots: Snapshots, cors_origins: list[str] | None):
    s3_app = create_backend_app("s3")

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path in ("/minio/health/live", "/minio/health/ready"):
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        origin = environ.get("HTTP_ORIGIN")
        if cors_origins is not None and origin and environ["REQUEST_METHOD"] == "OPTIONS":
            # MinIO answers preflights from its global setting, not from bucket rules.
            if not cors_allows(cors_origins, origin):
                start_response("403 Forbidden", [("Content-Length", "0")])
                return [b""]
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            start_response(
                "200 OK",
                [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Methods", CORS_METHODS),
                    ("Access-Control-Allow-Headers", requested or "*"),
                    ("Access-Control-Expose-Headers", "ETag"),
                    ("Vary", "Origin"),
                    ("Content-Length", "0"),
                ],
            )
            return [b""]
        status_holder = {}

        def capture(status, headers, exc_info=None):
            status_holder["code"] = int(status.split(" ", 1)[0])
            if cors_origins is not None:
                # Replace whatever moto added with MinIO's global answer.
                headers = [
                    (k, v) for k, v in headers if not k.lower().startswith("access-control-")
                ]
                if origin and cors_allows(cors_origins, origin):
                    headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
            return start_response(status, headers, exc_info)

        body = s3_app(environ, capture)
        if environ["REQUEST_METHOD"] in MUTATING and status_holder.get("code", 500) < 400:
            snapshots.schedule()
        return body

    return app


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="s3-standin")
    parser.add_argument("command", choices=["server"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--address", default=":9000")
    parser.add_argument("--console-address", default=None, help="accepted; no console")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    snapshots = Snapshots(args.data_dir, float(os.environ.get("STANDIN_SNAPSHOT_DELAY", "0.2")))
    snapshots.load()
    host, _, port = args.address.rpartition(":")
    app = make_app(snapshots, global_cors_origins())
    server = make_server(host or "0.0.0.0", int(port), app, threaded=True)

    def stop(signum, frame):
        # Save before exiting so `docker stop` / restart never loses a write.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("S3 stand-in listening on %s, data in %s", args.address, args.data_dir)
    server.serve_forever()
    snapshots.save()
    log.info("state saved; bye")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
