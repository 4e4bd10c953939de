"""What a check gets (SmokeContext), what it returns (Result), and how it fails."""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import asdict, dataclass, field

PASS, FAIL, WARN, SKIP = "passed", "failed", "warning", "skipped"
# A check a Ctrl-C ended before it finished: no verdict either way.
INTERRUPTED = "interrupted"

# A check's limit, large-artifact included (its default 64 MiB takes seconds on a LAN;
# --large-artifact-mib 10240 over a slow link needs --check-timeout raised).
CHECK_TIMEOUT_S = 900
# Evidence (thumbnails, trace data, first rows) one check may hand the report, in all.
EVIDENCE_MAX_BYTES = 1_500_000


@dataclass
class SmokeContext:
    base_url: str
    api_key: str
    project: str
    tag: str  # per invocation: every run of one `smoke` carries it
    workdir: str  # this check's scratch directory
    entity: str | None = None
    large_artifact_mib: int = 64
    concurrency: int = 8
    sweep_count: int = 2  # random trials: two heartbeats, 5 s apart
    ca_file: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SmokeContext:
        return cls(**json.loads(text))


@dataclass
class Result:
    check: str
    status: str
    seconds: float = 0.0
    compared: str = ""  # what was compared, in a few words
    detail: str = ""  # for failures: what differed; for skips: how to install
    run_urls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What was logged beside what was read back, for the HTML report (smoke.evidence).
    evidence: list[dict] = field(default_factory=list)


class CheckFailed(AssertionError):
    """A check found the server's data different from what was logged."""


class Skipped(Exception):
    """A precondition is missing (an optional library, an admin's key, a license); the
    message says which, and how to get it."""


def need(module: str, install: str):
    """The optional module, imported; absent, or installed but failing to import (a shared
    library it loads is missing: libsndfile, libtorch), the check is SKIPPED naming what
    to install. Not a failure: the server was never asked anything."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        # A library it imports in turn may be the one missing: say which.
        absent = isinstance(err, ModuleNotFoundError) and err.name == module
        why = "not installed" if absent else str(err)
        raise Skipped(f"needs {module} ({why}); install: {install}")
    except Exception as err:  # noqa: BLE001 - OSError, RuntimeError: a broken install
        raise Skipped(
            f"needs {module}, which is installed but fails to import "
            f"({type(err).__name__}: {err}); reinstall: {install}"
        )


class Recorder:
    """Collects what a check compared and its warnings, for the report."""

    def __init__(self) -> None:
        self.compared: list[str] = []
        self.warnings: list[str] = []
        self.run_urls: list[str] = []
        self.evidence: list[dict] = []
        self._evidence_bytes = 0

    def show(self, record: dict) -> None:
        """Keeps one evidence record (wandb_local_kit.smoke.evidence builds them) for the HTML
        report, while the check's records stay under EVIDENCE_MAX_BYTES in all: they
        travel in the worker's result file and end up inline in one page."""
        size = len(json.dumps(record))
        if self._evidence_bytes + size > EVIDENCE_MAX_BYTES:
            record = {**record, "logged": None, "read": None, "note": "too large to show"}
            size = len(json.dumps(record))
        self._evidence_bytes += size
        self.evidence.append(record)

    def compared_(self, what: str) -> None:
        self.compared.append(what)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _close(a, b, tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def diff(want, got, path: str = "", tol: float = 1e-9) -> list[str]:
    """Differences between two JSON-like values, as readable paths."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in want:
            if k not in got:
                out.append(f"{path}.{k}: missing")
            else:
                out += diff(want[k], got[k], f"{path}.{k}", tol)
        return out
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        if len(want) != len(got):
            return [f"{path}: {len(got)} items, expected {len(want)}"]
        out = []
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            out += diff(a, b, f"{path}[{i}]", tol)
        return out
    if not _close(want, got, tol):
        return [f"{path or 'value'}: got {_short(got)}, expected {_short(want)}"]
    return []


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect(what: str, want, got, tol: float = 1e-9) -> None:
    """Fails naming `what` and the first differences when got != want."""
    problems = diff(want, got, tol=tol)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CheckFailed(f"{what} differs: " + "; ".join(problems[:5]) + more)


def expect_true(what: str, condition: bool, detail: str = "") -> None:
    if not condition:
        raise CheckFailed(f"{what}" + (f": {detail}" if detail else ""))
