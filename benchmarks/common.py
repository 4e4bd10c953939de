"""Shared pieces of the benchmarks: a stand-in server process, timing, results file."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def free_port() -> int:
    from wandb_local_kit.testing import free_loopback_port

    return free_loopback_port()


@contextlib.contextmanager
def standin_process():
    """The W&B stand-in as a process on a free loopback port, with a fresh volume and the
    stand-in's Enterprise test license, so the smoke suite's teams check runs, not skips."""
    from wandb_local_kit.testing import STANDIN_ENTERPRISE_LICENSE

    port = free_port()
    key = "local-" + secrets.token_hex(20)
    vol = tempfile.mkdtemp(prefix="bench-vol-")
    env = dict(
        os.environ,
        STANDIN_VOL=vol,
        HOST=f"http://127.0.0.1:{port}",
        GLOBAL_ADMIN_API_KEY=key,
        GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS="true",
        LICENSE=STANDIN_ENTERPRISE_LICENSE,
    )
    log = open(Path(vol) / "standin.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"stand-in did not become ready; see {log.name}")
        yield url, key, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, int, str]:
    started = time.monotonic()
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.monotonic() - started, result.returncode, result.stdout + result.stderr


def machine() -> dict:
    import psutil
    import wandb

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wandb": wandb.__version__,
    }


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def append_results(title: str, summary_lines: list[str], raw: dict) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = [
        f"\n## {title} ({stamp})\n",
        *summary_lines,
        "",
        "<details><summary>raw JSON</summary>\n",
        "```json",
        json.dumps(raw, indent=2),
        "```",
        "</details>\n",
    ]
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nMeasured on this project's machines; "
            "newest at the bottom. Each section names its machine.\n"
        )
    with RESULTS.open("a") as f:
        f.write("\n".join(block))
