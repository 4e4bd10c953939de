"""Start-up latency of the CLI against a local stand-in process: `--help`, `health`
and `health --deep` (medians of --repeats runs, each a fresh process).

    .venv/bin/python benchmarks/cli_latency.py [--repeats 10] [--write-results]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, append_results, machine, standin_process  # noqa: E402


def timed(args: list[str], env: dict[str, str], repeats: int) -> dict:
    times, codes = [], set()
    for _ in range(repeats):
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "wandb_local_kit", *args], env=env, cwd=ROOT, capture_output=True
        )
        times.append(time.monotonic() - started)
        codes.add(r.returncode)
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "min_ms": round(min(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "exit_codes": sorted(codes),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    raw = {"machine": machine(), "repeats": args.repeats}
    with standin_process() as (url, key, _):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        env.update(WANDB_API_KEY=key)
        raw["help"] = timed(["--help"], env, args.repeats)
        raw["health"] = timed(["health", "--url", url], env, args.repeats)
        raw["health_deep"] = timed(["health", "--deep", "--url", url], env, args.repeats)
    lines = [
        f"- machine: {raw['machine']['cpus']} cores; stand-in process on loopback; "
        f"medians of {args.repeats} fresh processes"
    ]
    labels = {"help": "--help", "health": "health", "health_deep": "health --deep"}
    for name, label in labels.items():
        r = raw[name]
        lines.append(
            f"- `wandb-kit {label}`: {r['median_ms']} ms "
            f"(min {r['min_ms']}, max {r['max_ms']}; exit {r['exit_codes']})"
        )
    print("\n".join(lines))
    if args.write_results:
        append_results("CLI start-up latency", lines, raw)
    return 0 if all(raw[n]["exit_codes"] in ([0], [1]) for n in ("health", "health_deep")) else 1


if __name__ == "__main__":
    sys.exit(main())
