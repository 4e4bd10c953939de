"""Migration throughput next to the raw read and write rates of the same two servers.

    .venv/bin/python benchmarks/migrate.py [--servers standin|stacks] [--runs 20]
        [--steps 2000] [--mib 2] [--concurrency 2] [--write-results]

Fills the source with --runs runs (--steps history rows of three scalars each, and one
--mib MiB file each), then measures on the same pair of servers:
- raw read of the source: every history row through wandb.Api (rows/s), every file
  downloaded (MiB/s);
- raw write to the target: the same number of rows logged with the SDK (rows/s), the same
  bytes uploaded as run files (MiB/s);
- `wandb-kit migrate --no-verify` (runs/s, rows/s, MiB/s), then `--verify-only` (s).
`standin`: two stand-in processes; `stacks`: two compose stacks of the kit, embedded ->
external storage (stand-in images).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, append_results, machine, standin_process  # noqa: E402

FILL = r"""
import os, sys, wandb
runs, steps, mib, project = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for i in range(runs):
    run = wandb.init(project=project, name=f"run-{i}", config={"i": i},
                     settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))
    for step in range(steps):
        run.log({"loss": 1 / (step + 1), "acc": step / steps, "i": i}, step=step)
    if mib:
        path = os.path.join(run.dir, "blob.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(mib << 20))
        run.save(path, base_path=run.dir, policy="now")
    run.finish()
"""
READ = r"""
import json, sys, tempfile, time, wandb
api = wandb.Api(timeout=60)
path = api.default_entity + "/" + sys.argv[1]
runs = list(api.runs(path))
t = time.monotonic(); rows = 0
for r in runs:
    rows += sum(1 for _ in r.scan_history(page_size=1000))
rows_s = time.monotonic() - t
t = time.monotonic(); size = 0; root = tempfile.mkdtemp()
for r in runs:
    for f in r.files():
        f.download(root=root + "/" + r.id, replace=True).close(); size += f.size or 0
print("KIT-BENCH " + json.dumps({"rows": rows, "rows_seconds": rows_s, "bytes": size,
      "bytes_seconds": time.monotonic() - t}))
"""
WRITE = r"""
import json, os, sys, time, wandb
runs, steps, mib, project = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = wandb.Settings(silent=True, console="off", x_disable_stats=True)
t = time.monotonic()
for i in range(runs):
    run = wandb.init(project=project, name=f"w-{i}", settings=s)
    for step in range(steps):
        run.log({"loss": 1 / (step + 1), "acc": step / steps, "i": i}, step=step)
    run.finish()
rows_s = time.monotonic() - t
t = time.monotonic()
for i in range(runs):
    run = wandb.init(project=project, name=f"f-{i}", settings=s)
    path = os.path.join(run.dir, "blob.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(mib << 20))
    run.save(path, base_path=run.dir, policy="now")
    run.finish()
print("KIT-BENCH " + json.dumps({"rows": runs * steps, "rows_seconds": rows_s,
      "bytes": runs * (mib << 20), "bytes_seconds": time.monotonic() - t}))
"""
COPIED = re.compile(
    r"copied (\d+) run\(s\), (\d+) rows, (\d+) files, (\d+) artifact versions, "
    r"([\d.]+) MiB in ([\d.]+)s"
)


def sdk_env(url: str, key: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        WANDB_BASE_URL=url,
        WANDB_API_KEY=key,
        WANDB_SILENT="true",
        WANDB_DIR=str(tmp),
        WANDB_CACHE_DIR=str(tmp / "cache"),
        WANDB_CONFIG_DIR=str(tmp / "config"),
        WANDB_DISABLE_GIT="true",
    )
    return env


def script(code: str, env: dict[str, str], *args) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    for line in result.stdout.splitlines():
        if line.startswith("KIT-BENCH "):
            return json.loads(line[len("KIT-BENCH ") :])
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return {}


@contextlib.contextmanager
def servers(kind: str):
    if kind == "standin":
        with standin_process() as (a, ka, _), standin_process() as (b, kb, _):
            yield (a, ka), (b, kb)
        return
    from wandb_local_kit.stack import settings
    from wandb_local_kit.testing import StackFactory

    factory = StackFactory(settings.default_compose_dir(), test_images=True)
    src = dst = None
    try:
        src = factory.start("embedded", "off")
        dst = factory.start("external", "off")
        yield (src.base_url, src.api_key), (dst.base_url, dst.api_key)
    finally:
        for s in (src, dst):
            if s is not None:
                factory.stop(s)
        factory.close()


def rate(n: float, seconds: float) -> float:
    return round(n / seconds, 2) if seconds else 0.0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--servers", choices=["standin", "stacks"], default="standin")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--mib", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--write-results", action="store_true")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    with servers(args.servers) as ((src, src_key), (dst, dst_key)):
        src_env, dst_env = sdk_env(src, src_key, tmp / "src"), sdk_env(dst, dst_key, tmp / "dst")
        for d in ("src", "dst", "m"):
            (tmp / d).mkdir()
        t = time.monotonic()
        script(FILL, src_env, args.runs, args.steps, args.mib, "bench")
        fill_s = time.monotonic() - t
        read = script(READ, src_env, "bench")
        write = script(WRITE, dst_env, args.runs, args.steps, args.mib, "raw-write")
        menv = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
        menv.update(WANDB_FROM_API_KEY=src_key, WANDB_TO_API_KEY=dst_key, WANDB_DIR=str(tmp / "m"))
        cmd = [
            sys.executable,
            "-m",
            "wandb_local_kit",
            "migrate",
            "--from",
            src,
            "--to",
            dst,
            "--project",
            "bench",
            "--state",
            str(tmp / "state.json"),
        ]
        t = time.monotonic()
        m = subprocess.run(
            [*cmd, "--no-verify", "--concurrency", str(args.concurrency)],
            env=menv,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        migrate_s = time.monotonic() - t
        found = COPIED.search(m.stderr)
        if m.returncode or not found:
            print(m.stderr[-3000:], file=sys.stderr)
            return 1
        t = time.monotonic()
        v = subprocess.run(
            [*cmd, "--verify-only"], env=menv, capture_output=True, text=True, cwd=ROOT
        )
        verify_s = time.monotonic() - t
    runs, rows, files, _, mib, _inner = found.groups()
    result = {
        "machine": machine(),
        "servers": args.servers,
        "params": vars(args),
        "fill_seconds": round(fill_s, 2),
        "migrate": {
            "seconds": round(migrate_s, 2),
            "runs": int(runs),
            "rows": int(rows),
            "files": int(files),
            "mib": float(mib),
            "runs_per_s": rate(int(runs), migrate_s),
            "rows_per_s": rate(int(rows), migrate_s),
            "mib_per_s": rate(float(mib), migrate_s),
        },
        "verify": {
            "seconds": round(verify_s, 2),
            "exit": v.returncode,
            "zero_differences": "0 differences" in v.stdout,
        },
        "raw_read": {
            "rows_per_s": rate(read["rows"], read["rows_seconds"]),
            "mib_per_s": rate(read["bytes"] / 2**20, read["bytes_seconds"]),
            **read,
        },
        "raw_write": {
            "rows_per_s": rate(write["rows"], write["rows_seconds"]),
            "mib_per_s": rate(write["bytes"] / 2**20, write["bytes_seconds"]),
            **write,
        },
    }
    mg, rr, rw = result["migrate"], result["raw_read"], result["raw_write"]
    lines = [
        f"- machine: {result['machine']['cpus']} cores, wandb {result['machine']['wandb']}; "
        f"servers: {args.servers}; {args.runs} runs x {args.steps} rows + {args.mib} MiB "
        f"file each; --concurrency {args.concurrency}",
        f"- migrate: {mg['seconds']} s: **{mg['runs_per_s']} runs/s, {mg['rows_per_s']} "
        f"history rows/s, {mg['mib_per_s']} MiB/s**",
        f"- raw read of the source (wandb.Api): {rr['rows_per_s']} rows/s, {rr['mib_per_s']} MiB/s",
        f"- raw write to the target (SDK): {rw['rows_per_s']} rows/s, {rw['mib_per_s']} MiB/s",
        f"- verification pass: {result['verify']['seconds']} s, zero differences: "
        f"{result['verify']['zero_differences']}",
        "- how to read it: the migration's rates are over its whole wall time (rows, files "
        "and process start-up together), so its MiB/s is not a pure transfer rate; the raw "
        "rates are one phase each",
    ]
    print("\n".join(lines))
    print(json.dumps(result, indent=2))
    if args.write_results:
        append_results("Migration throughput vs raw read/write", lines, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
