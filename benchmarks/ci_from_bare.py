"""`.ci/run` from a bare machine, N times in a row, with each step's share of the run.

    sudo python3 benchmarks/ci_from_bare.py [--runs 3] [--write-results]

Destructive on purpose: before each run it stops dockerd, deletes Docker's data root
(`/var/lib/docker`: every image, container and volume), the compose plugin and pip's
cache, then runs `.ci/run` on a fresh clone of this checkout's HEAD, as CI does. Only
run it on a machine whose Docker holds nothing you need. Debian's packages (docker.io,
chromium) stay installed: CI's image has them too.

Stops at the first failed run: "N in a row with no failure" is the claim it measures.
Logs go to /tmp/ci-bare-<i>.log.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, append_results  # noqa: E402

DOCKER_DATA = Path("/var/lib/docker")
COMPOSE_PLUGIN = Path("/usr/local/lib/docker/cli-plugins/docker-compose")
PIP_CACHE = Path.home() / ".cache" / "pip"
STEP = re.compile(r"^=== (?P<name>.+) \(t=(?P<t>\d+)s\)$")
# pytest's last line; not .ci/run's own "=== done in Ns".
PYTEST_SUMMARY = re.compile(r"^=+ (?P<counts>.*\b(?:passed|failed)\b.*) in (?P<secs>[\d.]+)s")


def make_bare() -> None:
    """No Docker engine running, no Docker data, no compose plugin, no pip cache."""
    subprocess.run(["pkill", "-x", "dockerd"], check=False)
    for _ in range(60):
        if subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode:
            break
        time.sleep(1)
    subprocess.run(["pkill", "-x", "containerd"], check=False)
    time.sleep(1)
    # Overlay mounts left behind by a killed engine would make rmtree fail.
    mounts = Path("/proc/mounts").read_text().splitlines()
    for line in reversed(mounts):
        target = line.split()[1]
        if target.startswith(str(DOCKER_DATA)):
            subprocess.run(["umount", "-l", target], check=False)
    shutil.rmtree(DOCKER_DATA, ignore_errors=True)
    COMPOSE_PLUGIN.unlink(missing_ok=True)
    shutil.rmtree(PIP_CACHE, ignore_errors=True)


def steps_of(log: str, total: float) -> list[tuple[str, int]]:
    """Each `=== step (t=Ns)` line of .ci/run, with the seconds until the next one."""
    marks = [(m["name"], int(m["t"])) for m in map(STEP.match, log.splitlines()) if m]
    ends = [t for _, t in marks[1:]] + [int(total)]
    return [
        (name, end - t)
        for (name, t), end in zip(marks, ends, strict=True)
        if not name.startswith("done")
    ]


def one_run(index: int) -> dict:
    make_bare()
    checkout = Path(tempfile.mkdtemp(prefix=f"ci-bare-{index}-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(checkout)], check=True)
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log_path = Path(f"/tmp/ci-bare-{index}.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "WANDB_"))}
    env["CI"] = "true"
    started = time.monotonic()
    with log_path.open("w") as log:
        code = subprocess.run(
            ["bash", ".ci/run"], cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT
        ).returncode
    total = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    summary = [m for m in map(PYTEST_SUMMARY.match, text.splitlines()) if m]
    if code == 0:
        shutil.rmtree(checkout, ignore_errors=True)
    return {
        "run": index,
        "commit": commit,
        "exit": code,
        "seconds": round(total),
        "steps": steps_of(text, total),
        "pytest": summary[-1]["counts"] if summary else None,
        "pytest_seconds": float(summary[-1]["secs"]) if summary else None,
        "log": str(log_path),
    }


def table(run: dict) -> list[str]:
    lines = [
        f"Run {run['run']} (commit {run['commit']}): exit {run['exit']}, "
        f"**{run['seconds']} s ({run['seconds'] / 60:.1f} min)**; pytest: {run['pytest']}",
        "",
        "| step | seconds | share |",
        "|---|---|---|",
    ]
    for name, secs in run["steps"]:
        lines.append(f"| {name} | {secs} | {100 * secs / max(run['seconds'], 1):.1f}% |")
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("ci_from_bare.py resets Docker's data root: run it as root (sudo).", file=sys.stderr)
        return 2
    runs = []
    for i in range(1, args.runs + 1):
        run = one_run(i)
        runs.append(run)
        print("\n".join(table(run)), flush=True)
        if run["exit"] != 0:
            print(f"run {i} failed; its log: {run['log']}", file=sys.stderr)
            break
    passed = sum(r["exit"] == 0 for r in runs)
    lines = [
        f"{passed} of {len(runs)} runs passed in a row (asked for {args.runs}); each from a "
        "stopped dockerd, no /var/lib/docker, no compose plugin, no pip cache, fresh clone.",
        "",
    ]
    for run in runs:
        lines += table(run)
    if args.write_results:
        append_results("`.ci/run` from a bare machine, in a row", lines, {"runs": runs})
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
