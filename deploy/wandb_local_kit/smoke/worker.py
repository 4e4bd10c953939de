"""Runs one check in this process and writes its Result to the result file.

python -m wandb_local_kit.smoke.worker CHECK SECONDS   (context: see processes.spawn)
SECONDS is the runner's limit: shortly before it, the stacks of every thread go to the
log, so a check that hangs says where.
"""

from __future__ import annotations

import faulthandler
import importlib
import sys
import time
import traceback
from dataclasses import asdict

from wandb_local_kit.smoke import processes
from wandb_local_kit.smoke.context import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckFailed,
    Recorder,
    Result,
    Skipped,
    SmokeContext,
    need,
)
from wandb_local_kit.smoke.registry import BY_NAME

STACK_DUMP_LEAD_S = 15


def run_check(name: str, ctx: SmokeContext) -> Result:
    check = BY_NAME[name]
    rec = Recorder()
    started = time.monotonic()
    try:
        for module in check.needs:
            need(module, check.install)
        module_name, func = check.target.split(":")
        getattr(importlib.import_module(module_name), func)(ctx, rec)
        status, detail = (WARN if rec.warnings else PASS), "; ".join(rec.warnings)
    except Skipped as err:
        status, detail = SKIP, str(err)
    except CheckFailed as err:
        status, detail = FAIL, str(err)
    except Exception as err:  # the SDK or server failed in a way no comparison names
        tb = traceback.extract_tb(err.__traceback__)[-1]
        status = FAIL
        detail = f"{type(err).__name__}: {err} (at {tb.filename.split('/')[-1]}:{tb.lineno})"
    return Result(
        check=name,
        status=status,
        seconds=round(time.monotonic() - started, 2),
        compared="; ".join(rec.compared),
        detail=detail,
        run_urls=rec.run_urls,
        warnings=rec.warnings,
        evidence=rec.evidence,
    )


def checked(name: str, ctx: SmokeContext) -> dict:
    result = run_check(name, ctx)
    faulthandler.cancel_dump_traceback_later()
    return asdict(result)


if __name__ == "__main__":
    name, seconds = sys.argv[1], float(sys.argv[2])
    faulthandler.dump_traceback_later(max(1.0, seconds - STACK_DUMP_LEAD_S), exit=False)
    processes.run_as_child(lambda ctx: checked(name, ctx))
