"""How long an embedded backup stops wandb, at several data sizes, with a client
logging all the while; and that the restore round trip stays lossless.

    .venv/bin/python benchmarks/backup_downtime.py [--gib 1,8] [--write-results]

For each size: an embedded stand-in stack gets SIZE GiB of incompressible data in
/vol (written straight into the volume) plus runs logged through the SDK; a run keeps
logging during `wandb-kit backup`; the backup's manifest records how long wandb was
stopped (the second, incremental pass) next to the whole backup's time (what a
one-pass copy would have stopped it for). Then `down --volumes`, `restore`, and every
file's checksum and every run compared with what was there before.
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

WRITER = r"""
import sys, time, wandb
run = wandb.init(project="downtime", name="writer", settings=wandb.Settings(silent=True))
deadline = time.monotonic() + float(sys.argv[1])
step = 0
while time.monotonic() < deadline:
    run.log({"x": step}, step=step)
    step += 1
    time.sleep(0.05)
run.finish()
print(step)
"""
RUNS = r"""
import json, wandb
api = wandb.Api()
runs = api.runs(api.default_entity + "/downtime")
print(json.dumps(sorted((r.name, r.summary.get("x")) for r in runs)))
"""
CHECKSUM = "cd /vol/bulk && find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-64"


def _volume(server) -> str:
    cid = server.compose().run("ps", "-q", "wandb", capture=True).stdout.strip()
    mounts = json.loads(
        subprocess.run(
            ["docker", "inspect", "--format", "{{json .Mounts}}", cid],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    return next(m["Name"] for m in mounts if m["Destination"] == "/vol")


def _in_volume(server, script: str) -> str:
    image = server.values["WANDB_IMAGE"]
    return subprocess.run(
        ["docker", "run", "--rm", "--user", "0:0", "--entrypoint", "sh",
         "-v", f"{_volume(server)}:/vol", image, "-c", script],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _runs(env) -> dict:
    out = subprocess.run([sys.executable, "-c", RUNS], env=env, capture_output=True, text=True)
    return {name: x for name, x in json.loads(out.stdout or "[]")}


def _kit(server, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args, "--compose-dir", str(server.compose_dir),
         "--env-file", str(server.env_file)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return round(time.monotonic() - started, 1)


def measure(factory: StackFactory, gib: int) -> dict:
    server = factory.start("embedded", "off")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(server.sdk_env(), WANDB_CONFIG_DIR=tempfile.mkdtemp(), WANDB_DIR=tempfile.mkdtemp())
    try:
        started = time.monotonic()
        # 64 MiB files of random bytes: incompressible, like media and artifacts.
        _in_volume(
            server,
            f"mkdir -p /vol/bulk && for i in $(seq 1 {gib * 16}); do "
            "head -c 67108864 /dev/urandom > /vol/bulk/blob-$i.bin; done",
        )
        fill_s = round(time.monotonic() - started, 1)
        before_sum = _in_volume(server, CHECKSUM)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, "600"], env=env, stdout=subprocess.PIPE, text=True
        )
        time.sleep(5)  # the writer is logging before the backup starts
        at_start = _runs(env)
        dest = Path(tempfile.mkdtemp(prefix="bench-downtime-"))
        backup_s = _kit(server, "backup", "--dest", str(dest))
        writer.terminate()
        writer.wait(60)
        made = next(dest.iterdir())
        manifest = json.loads((made / "manifest.json").read_text())
        size = sum(f["size"] for f in manifest["files"])
        server.down(volumes=True)
        restore_s = _kit(server, "restore", str(made))
        after_sum = _in_volume(server, CHECKSUM)
        after_runs = _runs(env)
        subprocess.run(["rm", "-rf", str(dest)], check=False)
        return {
            "gib": gib,
            "fill_seconds": fill_s,
            "backup_seconds": backup_s,
            "downtime_seconds": manifest.get("downtime_s"),
            "backup_gib": round(size / 2**30, 2),
            "changes_mib": round(
                sum(f["size"] for f in manifest["files"] if f["path"] == "vol-changes.tar") / 2**20,
                1,
            ),  # fmt: skip
            "restore_seconds": restore_s,
            "bulk_identical": before_sum == after_sum,
            # The writer kept logging after the backup's final pass; what the backup
            # holds is its state then: at least what it had logged when the backup began.
            "writer_step_at_backup_start": at_start.get("writer"),
            "writer_step_restored": after_runs.get("writer"),
            "runs_identical": (after_runs.get("writer") or -1) >= (at_start.get("writer") or 0),
        }
    finally:
        factory.stop(server)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", default="1,8", help="data sizes in GiB, comma-separated")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    factory = StackFactory(settings.default_compose_dir(), test_images=True)
    raw: dict = {"machine": machine(), "sizes": []}
    lines = []
    try:
        for gib in (int(g) for g in args.gib.split(",")):
            r = measure(factory, gib)
            raw["sizes"].append(r)
            lines.append(
                f"- {gib} GiB in /vol, a run logging throughout: wandb stopped "
                f"{r['downtime_seconds']} s (second pass: {r['changes_mib']} MiB of changes) "
                f"of a {r['backup_seconds']} s backup ({r['backup_gib']} GiB; a one-pass copy "
                f"stops it for about that long); restore {r['restore_seconds']} s; "
                f"data identical: {r['bulk_identical']}, the logging run restored at step "
                f"{r['writer_step_restored']} (at {r['writer_step_at_backup_start']} when the "
                "backup began)"
            )
            print(lines[-1], flush=True)
    finally:
        factory.close()
    if args.write_results:
        append_results("Embedded backup downtime (two-pass copy)", lines, raw)
    ok = all(r["bulk_identical"] and r["runs_identical"] for r in raw["sizes"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
