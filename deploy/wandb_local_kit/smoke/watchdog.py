"""Notices a server that vanished while the smoke checks run.

Without it, every check waited for its own timeout (10 minutes) and then reported only
"its log ends:". The watchdog asks the server's /healthz every few seconds; when no
answer came for VANISHED_AFTER_S, it names the server and ends every running check, so
the suite stops within a minute and `smoke` exits 3 (unreachable) after cleaning up.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from wandb_local_kit.smoke import processes

POLL_S = 5.0
VANISHED_AFTER_S = 45.0  # with POLL_S and the probe's timeout: noticed within a minute


@dataclass
class Watchdog:
    base_url: str
    ca_file: str | None = None
    poll_s: float = POLL_S
    vanished_after_s: float = VANISHED_AFTER_S
    vanished: str = ""  # why, once the server is gone
    stopped: bool = False  # every check ended at once (Ctrl-C): no new one may run either
    _children: dict = field(default_factory=dict)  # id -> child (a Child is unhashable)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def watch(self, child) -> None:
        """A running check's process: ended when the server vanishes."""
        with self._lock:
            self._children[id(child)] = child
            gone = bool(self.vanished) or self.stopped
        if gone:
            processes.end_tree(child.proc.pid)

    def end_all(self) -> None:
        """Ends every running check's processes (and what they started) now, and any
        check that starts later: the suite was interrupted."""
        with self._lock:
            self.stopped = True
            children = list(self._children.values())
        for child in children:
            processes.end_tree(child.proc.pid)

    def forget(self, child) -> None:
        with self._lock:
            self._children.pop(id(child), None)

    def _answer(self) -> str | None:
        """None when the server answered (any HTTP status); else what went wrong."""
        import ssl

        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        timeout = min(10.0, self.poll_s * 2)
        try:
            with urllib.request.urlopen(
                f"{self.base_url.rstrip('/')}/healthz", timeout=timeout, context=context
            ):
                return None
        except urllib.error.HTTPError:
            return None  # it answered: alive, whatever it thinks of itself
        except Exception as err:  # noqa: BLE001 - any failure to get an answer counts
            return f"{type(err).__name__}: {getattr(err, 'reason', err)}"

    def _run(self) -> None:
        silent_since = None
        while not self._stop.wait(self.poll_s):
            problem = self._answer()
            if problem is None:
                silent_since = None
                continue
            silent_since = silent_since or time.monotonic()
            silent = time.monotonic() - silent_since
            if silent >= self.vanished_after_s:
                self.vanished = (
                    f"the server at {self.base_url} stopped answering ({problem}) and gave no "
                    f"answer for {silent:.0f} s; the checks were stopped"
                )
                with self._lock:
                    children = list(self._children.values())
                for child in children:
                    processes.end_tree(child.proc.pid)
                return

    def __enter__(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="smoke-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.poll_s + 15)
