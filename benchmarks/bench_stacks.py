"""Capacity and start-up figures on the stand-in stacks, in one run.

    .venv/bin/python benchmarks/bench_stacks.py [--rounds 3] [--write-results]

For each setup (embedded; external MySQL + S3; embedded and external behind Caddy
with its internal CA, the bucket too; embedded with ACME from a private ACME CA):
time from `up` to healthy and each service's memory at rest; `wandb-kit bench`
(--rounds times, medians; 0 skips it) on all but the ACME setup, whose name only
resolves inside the stack. Also `wandb-kit --help` and `wandb-kit health` start-up
latency (medians of 10). Needs Docker and the offline test images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wandb_local_kit.stack import settings  # noqa: E402
from wandb_local_kit.testing import StackFactory  # noqa: E402

from benchmarks.common import ROOT, append_results, machine, median  # noqa: E402

SETUPS = [
    ("embedded", "off"),
    ("external", "off"),
    ("embedded", "internal"),
    ("external", "internal"),
    ("embedded", "acme"),
]
BENCH_ARGS = [
    "--runs",
    "8",
    "--steps",
    "200",
    "--keys",
    "10",
    "--images",
    "50",
    "--artifact-mib",
    "64",
    "--duration",
    "600",
]


def memory_at_rest(server) -> dict[str, float]:
    """RSS of each service's processes (MiB), after a few idle seconds."""
    time.sleep(5)
    out = {}
    ids = server.compose().run("ps", "-q", capture=True).stdout.split()
    for cid in ids:
        svc = subprocess.run(
            [
                "docker",
                "inspect",
                "--format",
                '{{index .Config.Labels "com.docker.compose.service"}}',
                cid,
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        # docker top needs the pid column; RSS (KiB) is the second one.
        top = subprocess.run(
            ["docker", "top", cid, "-o", "pid,rss"], capture_output=True, text=True
        ).stdout.splitlines()[1:]
        out[svc] = round(sum(int(line.split()[1]) for line in top if line.strip()) / 1024, 1)
    return out


def timed_cli(args: list[str], repeats: int = 10) -> float:
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "wandb_local_kit", *args], capture_output=True, cwd=ROOT
        )
        times.append(time.monotonic() - started)
    return round(statistics.median(times) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    factory = StackFactory(settings.default_compose_dir(), test_images=True)
    raw: dict = {"machine": machine(), "setups": {}, "bench": {}}
    raw["help_ms_median"] = timed_cli(["--help"])
    try:
        for storage, tls in SETUPS:
            name = storage + (f"+tls-{tls}" if tls != "off" else "")
            server = factory.start(storage, tls)
            setup = {
                "up_to_healthy_seconds": round(server.startup_seconds, 1),
                "memory_at_rest_mib": memory_at_rest(server),
            }
            loc = ["--compose-dir", str(server.compose_dir), "--env-file", str(server.env_file)]
            if server.ca_file:
                loc += ["--ca-file", str(server.ca_file)]
            if tls != "acme":
                setup["health_ms_median"] = timed_cli(["health", *loc])
            print(name, json.dumps(setup), flush=True)
            if tls != "acme" and args.rounds > 0:
                rounds = []
                for i in range(args.rounds):
                    out = Path(tempfile.mkdtemp()) / "bench.json"
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "wandb_local_kit",
                            "bench",
                            *loc,
                            *BENCH_ARGS,
                            "--json",
                            str(out),
                        ],
                        cwd=ROOT,
                        check=True,
                        capture_output=True,
                    )
                    rounds.append(json.loads(out.read_text()))
                    print(f"  bench round {i + 1}: {rounds[-1]['wall_seconds']} s", flush=True)
                raw["bench"][name] = rounds
            raw["setups"][name] = setup
            factory.stop(server)
    finally:
        factory.close()

    lines = [
        f"- machine: {raw['machine']['cpus']} cores, {raw['machine']['memory_gib']} GiB; "
        f"stand-in images; `wandb-kit --help`: median {raw['help_ms_median']} ms"
    ]
    for name, s in raw["setups"].items():
        mem = ", ".join(f"{k} {v} MiB" for k, v in sorted(s["memory_at_rest_mib"].items()))
        lines.append(
            f"- {name}: up to healthy {s['up_to_healthy_seconds']} s; memory at rest: "
            f"{mem}"
            + (
                f"; `wandb-kit health` median {s['health_ms_median']} ms"
                if "health_ms_median" in s
                else ""
            )
        )
    for name, rounds in raw["bench"].items():

        def pick(f, rounds=rounds):
            return median([f(r) for r in rounds])

        lines.append(
            f"- bench {name} ({BENCH_ARGS[1]} runs x {BENCH_ARGS[3]} steps x {BENCH_ARGS[5]} "
            f"scalars; medians of {len(rounds)}): ingest "
            f"{pick(lambda r: r['ingest']['steps_per_second'])} steps/s, readable lag "
            f"{pick(lambda r: r['ingest']['readable_lag_seconds'])} s; media "
            f"{pick(lambda r: r['media']['images_per_second'])} images/s; artifact via SDK "
            f"{pick(lambda r: r['artifact']['sdk']['mib_per_second'])} MiB/s vs raw PUT "
            f"{pick(lambda r: r['artifact']['raw_put']['mib_per_second'])} MiB/s, ratio "
            f"**{pick(lambda r: r['artifact']['sdk_over_raw'])}**; history() "
            f"{pick(lambda r: r['readback']['history_ms_median'])} ms, file download "
            f"{pick(lambda r: r['readback']['file_download_ms_median'])} ms"
        )
    print("\n".join(lines))
    if args.write_results:
        append_results("Stacks: start-up, memory at rest, wandb-kit bench", lines, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
