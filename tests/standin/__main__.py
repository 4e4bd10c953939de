"""`python -m tests.standin [--port 8080] [--host-bind 0.0.0.0]` - start the stand-in.

Everything else comes from the environment, like wandb/local (HOST, MYSQL, BUCKET, ...);
STANDIN_VOL overrides the data directory (/vol) for process mode. Test knobs:
STANDIN_MIGRATION_SECONDS (a slow first-start migration), STANDIN_SHUTDOWN_SECONDS (a
slow stop: wandb/local stops many processes, the stand-in one), STANDIN_FAULTS (faults.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from . import VERSION, auth, retention
from .config import from_env
from .files import open_files
from .http import App, make_server
from .store import open_store

log = logging.getLogger("standin")


def prepare(app: App, stop: threading.Event) -> None:
    """Migrate storage, provision the admin, then mark ready; retry until it works.

    Like the real server, a database or bucket that is not up yet is not fatal: /ready stays
    503 and we keep trying.
    """
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            app.store.migrate()
            auth.provision_admin(app.store, app.settings)
            if hasattr(app.files, "check_bucket"):
                app.files.check_bucket()
            # Test knob: a new server version's long first-start migration, so upgrade
            # tests can show the kit waits through it (/ready stays 503 meanwhile).
            delay = float(os.environ.get("STANDIN_MIGRATION_SECONDS") or 0)
            if delay:
                log.info("simulating a %.0f s database migration", delay)
                stop.wait(delay)
            app.ready.set()
            log.info("storage ready after %d attempt(s); serving", attempt)
            return
        except Exception as e:  # connection refused, auth error, missing bucket...
            log.warning("storage not ready (attempt %d): %s: %s", attempt, type(e).__name__, e)
            if hasattr(app.store, "close"):
                try:
                    app.store.close()
                except Exception:
                    pass
            stop.wait(min(2 * attempt, 5))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host-bind", default="0.0.0.0", help="address to listen on")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = from_env(port=args.port)
    # Like wandb/local: the data dir stays usable by any uid in group 0 (OpenShift-style).
    os.umask(0o002)
    os.makedirs(settings.vol, exist_ok=True)
    store = open_store(settings)
    files = open_files(settings)
    app = App(settings, store, files)
    server = make_server(app, args.host_bind, args.port)
    log.info(
        "W&B TEST STAND-IN %s (not a W&B server) on %s:%d; HOST=%s; metadata=%s; files=%s; "
        "license=%s",
        VERSION,
        args.host_bind,
        server.server_address[1],
        settings.host,
        "mysql" if settings.mysql else "sqlite",
        "s3" if settings.bucket else "local",
        "present" if settings.license else "absent",
    )
    stop = threading.Event()
    threading.Thread(target=prepare, args=(app, stop), daemon=True, name="prepare").start()
    retention.start_purger(store, files, stop)

    def on_term(signum, frame):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        # Test knob: the real image takes seconds to stop its many processes; while it
        # does, it no longer answers yet still runs, which `docker stop` waits out.
        time.sleep(float(os.environ.get("STANDIN_SHUTDOWN_SECONDS") or 0.05))
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
