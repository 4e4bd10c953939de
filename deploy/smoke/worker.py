"""Runs one check in this process and prints its Result as the last line.

python -m deploy.smoke.worker CHECK  (context JSON on stdin)
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from dataclasses import asdict

from deploy.smoke.context import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckFailed,
    Recorder,
    Result,
    Skipped,
    SmokeContext,
)
from deploy.smoke.registry import BY_NAME

MARKER = "SMOKE-RESULT "


def run_check(name: str, ctx: SmokeContext) -> Result:
    check = BY_NAME[name]
    rec = Recorder()
    started = time.monotonic()
    try:
        for module in check.needs:
            try:
                importlib.import_module(module)
            except ImportError:
                raise Skipped(f"needs {module}; install: {check.install}")
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
    )


def main() -> int:
    ctx = SmokeContext.from_json(sys.stdin.read())
    result = run_check(sys.argv[1], ctx)
    print(MARKER + json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
