"""The smoke suite vs `wandb verify`: wall time against the same stand-in, in one run.

    .venv/bin/python benchmarks/smoke_vs_verify.py [--rounds 3] [--write-results]

Alternates verify and smoke each round (so drift hits both), reports medians and
the ratio smoke/verify, and the coverage of each (checks compared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import append_results, machine, median, standin_process, timed  # noqa: E402

VERIFY_CHECKS = 11  # wandb verify's checks (login, signed URL, large post, https x2, CORS,
# version, run, artifacts, sweeps, host); see shared/reference/wandb-local-facts.md §6.4


def sdk_env(url: str, key: str, scratch: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        WANDB_API_KEY=key,
        WANDB_BASE_URL=url,
        WANDB_CONFIG_DIR=f"{scratch}/cfg",
        WANDB_CACHE_DIR=f"{scratch}/cache",
        WANDB_SILENT="true",
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    raw = {"machine": machine(), "rounds": [], "parallel": args.parallel}
    with standin_process() as (url, key, _):
        for i in range(args.rounds):
            scratch = tempfile.mkdtemp(prefix=f"bench-{i}-")
            env = sdk_env(url, key, scratch)
            v_time, v_code, v_out = timed(
                [str(bindir / "wandb"), "verify", "--host", url], env, scratch
            )
            report = Path(scratch) / "smoke.json"
            s_time, s_code, s_out = timed(
                [
                    sys.executable,
                    "-m",
                    "wandb_local_kit",
                    "smoke",
                    "--url",
                    url,
                    "--json",
                    str(report),
                    "--parallel",
                    str(args.parallel),
                ],
                env,
                str(Path(__file__).parent.parent),
            )
            smoke = json.loads(report.read_text()) if report.exists() else {}
            raw["rounds"].append(
                {
                    "verify_seconds": round(v_time, 2),
                    "verify_exit": v_code,
                    "smoke_seconds": round(s_time, 2),
                    "smoke_exit": s_code,
                    "smoke_summary": smoke.get("summary"),
                    "smoke_checks": {c["check"]: c["seconds"] for c in smoke.get("checks", [])},
                }
            )
            print(
                f"round {i + 1}: verify {v_time:.1f} s (exit {v_code}), "
                f"smoke {s_time:.1f} s (exit {s_code})",
                flush=True,
            )
            if v_code or s_code:
                print((v_out if v_code else s_out)[-3000:])
    v = median([r["verify_seconds"] for r in raw["rounds"]])
    s = median([r["smoke_seconds"] for r in raw["rounds"]])
    checks = len(raw["rounds"][0]["smoke_checks"])
    raw["median_verify_seconds"], raw["median_smoke_seconds"] = v, s
    raw["ratio_smoke_over_verify"] = round(s / v, 2)
    lines = [
        f"- machine: {raw['machine']['cpus']} cores, {raw['machine']['memory_gib']} GiB, "
        f"Python {raw['machine']['python']}, wandb {raw['machine']['wandb']}; stand-in as a "
        "process (embedded storage), same server for both",
        f"- `wandb verify`: median {v} s over {args.rounds} rounds ({VERIFY_CHECKS} checks, "
        "one media type)",
        f"- `wandb-kit smoke --parallel {args.parallel}`: median {s} s ({checks} checks)",
        f"- ratio smoke / verify: **{raw['ratio_smoke_over_verify']}**",
    ]
    # The critical path: the slowest checks of the last round (they run side by side).
    slowest = sorted(raw["rounds"][-1]["smoke_checks"].items(), key=lambda kv: -kv[1])[:6]
    lines.append("- slowest checks (last round): " + ", ".join(f"{k} {v} s" for k, v in slowest))
    print("\n".join(lines))
    if args.write_results:
        append_results("Smoke suite vs wandb verify", lines, raw)
    ok = all(r["verify_exit"] == 0 and r["smoke_exit"] == 0 for r in raw["rounds"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
