"""Backup and restore times and sizes for a stack holding a known amount of data.

    .venv/bin/python benchmarks/backup_restore.py [--runs 100] [--artifact-mib 1024]
                                                  [--storage embedded,external] [--write-results]

Fills a stand-in stack with --runs runs (20 steps each, from parallel processes) and
--artifact-mib MiB of artifacts, then times `wandb-kit backup`, `down --volumes` and
`wandb-kit restore`, and checks every run is back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wandb_local_kit.stack import settings  # noqa: E402
from wandb_local_kit.testing import StackFactory  # noqa: E402

from benchmarks.common import ROOT, append_results, machine  # noqa: E402

FILL = r"""
import os, sys, wandb
first, count, mib = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + count):
    run = wandb.init(project="backup-bench", name=f"run-{i}", settings=wandb.Settings(silent=True))
    for step in range(20):
        run.log({"loss": 1 / (step + 1), "i": i}, step=step)
    if mib:
        path = os.path.join(run.dir, "blob.bin")
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        art = wandb.Artifact(f"blob-{i}", type="bench")
        art.add_file(path)
        run.log_artifact(art)
        art.wait()
    run.finish()
"""
COUNT = r"""
import wandb
api = wandb.Api()
print(len(list(api.runs(api.default_entity + "/backup-bench"))))
"""


def kit(server, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wandb_local_kit",
            *args,
            "--compose-dir",
            str(server.compose_dir),
            "--env-file",
            str(server.env_file),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return round(time.monotonic() - started, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--artifact-mib", type=int, default=1024)
    parser.add_argument("--storage", default="embedded,external")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    factory = StackFactory(settings.default_compose_dir(), test_images=True)
    raw: dict = {"machine": machine(), "runs": args.runs, "artifact_mib": args.artifact_mib}
    lines = []
    try:
        for storage in args.storage.split(","):
            server = factory.start(storage, "off")
            env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
            env.update(
                server.sdk_env(), WANDB_CONFIG_DIR=tempfile.mkdtemp(), WANDB_DIR=tempfile.mkdtemp()
            )
            # 4 worker processes; every run of a worker carries an equal share of the
            # artifact bytes, so the stack holds --runs runs and --artifact-mib MiB.
            workers, per = 4, args.runs // 4
            mib_per_run = max(1, args.artifact_mib // args.runs)
            started = time.monotonic()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", FILL, str(w * per), str(per), str(mib_per_run)], env=env
                )
                for w in range(workers)
            ]
            assert all(p.wait() == 0 for p in procs), "filling the stack failed"
            fill = round(time.monotonic() - started, 1)
            dest = Path(tempfile.mkdtemp(prefix="bench-backups-"))
            backup_s = kit(server, "backup", "--dest", str(dest))
            made = next(dest.iterdir())
            size = sum(f["size"] for f in json.loads((made / "manifest.json").read_text())["files"])
            server.down(volumes=True)
            restore_s = kit(server, "restore", str(made))
            back = subprocess.run(
                [sys.executable, "-c", COUNT], env=env, capture_output=True, text=True
            ).stdout.strip()
            raw[storage] = {
                "fill_seconds": fill,
                "backup_seconds": backup_s,
                "backup_mib": round(size / 2**20, 1),
                "restore_seconds": restore_s,
                "runs_back": int(back or 0),
            }
            lines.append(
                f"- {storage}: {args.runs} runs + {args.artifact_mib} MiB artifacts "
                f"(filled in {fill} s): backup {backup_s} s, "
                f"{raw[storage]['backup_mib']} MiB; restore into an empty stack "
                f"{restore_s} s (incl. waiting for /ready); runs back: {back}"
            )
            print(lines[-1], flush=True)
            factory.stop(server)
    finally:
        factory.close()
    if args.write_results:
        append_results("Backup and restore of a known amount of data", lines, raw)
    return 0 if all(raw[s]["runs_back"] == args.runs for s in args.storage.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
