"""`wandb-kit upgrade --to TAG`: preflight, backup, new image, recreate, wait, verify;
on failure, print the rollback rather than guess.

Order matters: the new image is pulled (or loaded from a bundle) BEFORE anything
changes, so a tag that does not exist leaves the running server untouched. Then
.env names the new image and compose recreates wandb; first start of a new version
runs database migrations, which must never be interrupted (an interrupted
migration leaves a "Dirty database version" that needs manual repair), hence the
long wait.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, KitError
from wandb_local_kit.core.invocation import kit_command, runnable, up_command
from wandb_local_kit.stack.compose import docker_data_root, image_present, require_engine
from wandb_local_kit.stack.deployment import Deployment

MIGRATION_WAIT_S = 900
# Room for a new image when its size is unknown: wandb/local's images are a few GiB.
MIN_IMAGE_ROOM = 5 * 1024**3


def new_image(current: str, tag: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) or tag == "latest":
        raise KitError(f"{tag!r} is not a pinned image tag", fix="give a release tag, e.g. 0.84.0")
    repo = current.rsplit(":", 1)[0] if ":" in current.split("/")[-1] else current
    return f"{repo}:{tag}"


def upgrade(
    stack: Deployment,
    to: str,
    bundle_file: Path | None,
    dest: Path,
    wait_timeout: int = MIGRATION_WAIT_S,
) -> int:
    """Moves the server to image tag `to` (caller holds the lock and ran preflight)."""
    from wandb_local_kit.ops import backup as ops

    env_file = stack.env_file
    old = stack.values.get("WANDB_IMAGE", "")
    target = new_image(old, to)
    require_engine()
    if target == old:
        print(f"already on {old}; nothing to do")
        return EXIT_OK

    # 1. The new image first: a missing tag must not touch the running server.
    _bring_image(target, old, bundle_file)

    # 2. A backup to come back to.
    saved = ops.backup(stack, dest)

    # 3. Recreate on the new image and wait through migrations.
    rollback = (
        f"roll back: set WANDB_IMAGE='{old}' in {env_file}, then "
        f"`{kit_command()} restore {saved} --force --env-file {env_file}` "
        "(the backup taken before the upgrade)"
    )
    # From the moment .env names the new image, an interruption names the way on and back.
    try:
        stack.set_value("WANDB_IMAGE", target)
        print(
            f"recreating wandb on {target}; the first start runs database migrations. "
            "Do NOT stop or restart the server while they run: an interrupted migration "
            "leaves the database dirty.",
            flush=True,
        )
        up = stack.compose.run(
            "up", "--detach", "--wait", "--wait-timeout", str(wait_timeout), capture=True,
            check=False,
        )  # fmt: skip
    except KeyboardInterrupt:
        # .env already names the new image; wandb may be stopped, half recreated or
        # migrating. Finishing the upgrade is one command; so is going back.
        print(
            f"interrupted while wandb was recreated on {target}: "
            f"`{up_command(env_file)}` finishes the upgrade (let its "
            f"migrations run to the end); or {rollback}",
            file=sys.stderr,
        )
        raise
    if up.returncode != 0:
        raise KitError(
            f"wandb on {target} did not become healthy within {wait_timeout} s "
            f"({up.stderr.strip()[-300:]}); if migrations are still running (see "
            "`wandb-kit logs wandb`), wait and check `wandb-kit health`",
            fix=rollback,
            exit_code=EXIT_FAILED,
        )

    # 4. Prove it: the deep health check (signed URL upload, CORS, large post).
    from wandb_local_kit.server import health

    if not _deep_health(health, stack):
        raise KitError(
            f"wandb on {target} is up but `health --deep` failed (above)",
            fix=rollback,
            exit_code=EXIT_FAILED,
        )
    print(f"upgraded {old} -> {target}; backup before the upgrade: {saved}")
    print(_backups_note(stack, dest))
    return EXIT_OK


def _bring_image(target: str, old: str, bundle_file: Path | None) -> None:
    """The new image on this host (from the bundle, or pulled), or a KitError saying
    the server still runs the old one."""
    from wandb_local_kit.ops import bundle

    if bundle_file or not image_present(target):
        check_image_room(target, old, bundle_file)
    if bundle_file:
        bundle.load(bundle_file)
    elif not image_present(target):
        print(f"pulling {target}")
        pulled = subprocess.run(["docker", "pull", target], capture_output=True, text=True)
        if pulled.returncode != 0:
            raise KitError(
                f"cannot get {target}: {pulled.stderr.strip()[-300:]}",
                fix="check the tag, or bring it with `wandb-kit bundle load`; "
                f"nothing was changed, the server still runs {old}",
            )
    if not image_present(target):
        raise KitError(
            f"{target} is not on this host after loading",
            fix=f"check the bundle's images; the server still runs {old}",
        )


def image_room_needed(old_image_bytes: int | None, bundle_bytes: int | None) -> int:
    """Bytes Docker's data root needs for the new image: a bundle's size (it is unpacked
    there) or the running image's size (a new tag of the same image is about as big),
    with a fifth more for the layers' unpacking; MIN_IMAGE_ROOM when neither is known."""
    known = [n for n in (old_image_bytes, bundle_bytes) if n]
    return int(max(known) * 1.2) if known else MIN_IMAGE_ROOM


def image_size(image: str) -> int | None:
    """The image's size on this host, None if unknown."""
    try:
        out = subprocess.run(
            ["docker", "image", "inspect", image, "--format", "{{.Size}}"],
            capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out) if out.isdigit() else None


def check_image_room(target: str, old: str, bundle_file: Path | None) -> None:
    """Refuses, before anything is pulled or changed, when Docker's data root has too
    little room for the new image (a pull that fills the disk can stop the running
    server's database)."""
    root = docker_data_root()
    if root is None:
        return
    try:
        free = shutil.disk_usage(root).free
    except OSError:  # a non-root user may not stat the data root: the pull will say
        return
    bundle_bytes = bundle_file.stat().st_size if bundle_file and bundle_file.is_file() else None
    needed = image_room_needed(image_size(old), bundle_bytes)
    if free < needed:
        gib = 1024**3
        raise KitError(
            f"Docker's data root {root} has {free / gib:.1f} GiB free; {target} needs about "
            f"{needed / gib:.1f} GiB",
            fix="free space there (`wandb-kit storage` shows what takes it; `docker image "
            f"prune` removes unused images), then upgrade again; nothing was changed, the "
            f"server still runs {old}",
        )


def _backups_note(stack: Deployment, dest: Path) -> str:
    """Every upgrade leaves a full backup and nothing deletes them: say how many this
    project has in dest, their size and the command that prunes them (backup's --keep,
    the kit's one pruning, which takes a new backup first)."""
    from wandb_local_kit.ops.backup import MANIFEST

    own = re.compile(rf"{re.escape(stack.project)}-\d{{8}}T\d{{6}}Z")  # as backup.prune
    found = [p for p in dest.iterdir() if own.fullmatch(p.name) and (p / MANIFEST).is_file()]
    size = sum(f.stat().st_size for p in found for f in p.rglob("*") if f.is_file())
    shown = f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"
    many = f"{len(found)} backups" if len(found) != 1 else "1 backup"
    return runnable(
        f"  {many} of {stack.project} in {dest}: {shown} (each upgrade adds one and none "
        f"is deleted by itself); `wandb-kit backup --keep 2 --dest {shlex.quote(str(dest))} "
        f"--env-file {shlex.quote(str(stack.env_file))}` takes a new backup and deletes all "
        "but the newest 2"
    )


def _deep_health(health, stack: Deployment) -> bool:
    """health --deep of the stack just upgraded (its WANDB_HOST, whatever
    WANDB_BASE_URL this shell points at)."""
    import os

    from wandb_local_kit.server import client

    environ = {k: v for k, v in os.environ.items() if k != "WANDB_BASE_URL"}
    target = client.target_for(stack, url=stack.url, environ=environ)
    key, source = client.find_key(target)
    report = health.run(target, key, source, deep=True, timeout=30.0)
    print(health.render(report, (key,) if key else ()))
    return report.exit_code in (0, 1)  # warnings (plain http, no CORS) do not fail it
