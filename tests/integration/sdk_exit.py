"""Ends an SDK child process on its own once it has reported.

Why a child could hang after printing its result: at interpreter exit the SDK's atexit
hook sends wandb-core a teardown and then waits for it with no time limit
(ServiceConnection.teardown -> Popen.wait()); wandb.Api starts that service too. When
wandb-core does not end (a request still retrying against a server that just came back,
say), neither does the child, and the test waits for its timeout. wandb-core also
inherits the child's stdout, so a parent reading that pipe to EOF waits for it as well
(tests/childproc.py gives children files, not pipes, for that reason).

`exit_after_report()` tears the SDK down in a thread bounded by a grace period, prints
every thread's stack when the grace ran out (so the hang shows where it waited), kills
the wandb-core process this child owns if it is still there, and leaves with os._exit,
so no other atexit hook or leftover non-daemon thread can keep the process alive.

Standard library only: scripts in this folder import it by file name, and
tests/sdk/conftest.py runs it after `-c` code with runpy.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import sys
import threading

# A clean teardown takes a second or two; 30 s leaves room for a loaded machine.
TEARDOWN_GRACE_S = float(os.environ.get("KIT_CHILD_TEARDOWN_GRACE_S", "") or 30)
# Seconds after which a child prints every thread's stack to stderr while it keeps
# running (faulthandler.dump_traceback_later); tests/childproc.py sets it just below
# the parent's timeout, so a timed-out child has already shown where it waited.
WATCHDOG_ENV = "KIT_CHILD_WATCHDOG_S"


def arm_watchdog() -> None:
    try:
        seconds = float(os.environ.get(WATCHDOG_ENV, "") or 0)
    except ValueError:
        seconds = 0
    if seconds > 0:
        faulthandler.dump_traceback_later(seconds, repeat=False, file=sys.stderr)


def _owned_service():
    """The wandb-core process this child started, if any (None when it has none)."""
    setup = sys.modules.get("wandb.sdk.wandb_setup")
    singleton = getattr(setup, "_singleton", None) if setup else None
    connection = getattr(singleton, "_connection", None)
    proc = getattr(connection, "_proc", None)
    return getattr(proc, "_process", None)


def exit_after_report(code: int = 0, grace_s: float = TEARDOWN_GRACE_S) -> None:
    """Call after the result line is printed: never returns."""
    sys.stdout.flush()
    sys.stderr.flush()
    service = _owned_service()
    done = threading.Event()

    def teardown() -> None:
        try:
            if "wandb" in sys.modules:
                sys.modules["wandb"].teardown()
            # What else the SDK registered (its media and artifact temp dirs).
            atexit._run_exitfuncs()
        except BaseException as err:  # reported, and the child still exits
            print(f"KIT-CHILD: SDK teardown failed: {err!r}", file=sys.stderr)
        finally:
            done.set()

    threading.Thread(target=teardown, name="kit-teardown", daemon=True).start()
    if not done.wait(grace_s):
        print(
            f"KIT-CHILD: the SDK's teardown did not end within {grace_s:.0f} s after the "
            "result was reported; exiting anyway. Where each thread waited:",
            file=sys.stderr,
        )
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        if service is not None and service.poll() is None:
            print(f"KIT-CHILD: killing wandb-core (pid {service.pid})", file=sys.stderr)
            service.kill()
    faulthandler.cancel_dump_traceback_later()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
