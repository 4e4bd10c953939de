"""Backups and restores of a stack: consistent, checksummed, private (0700/0600, owned
by the user running the kit), pruned, refusing to overwrite data or to restore
anything incomplete, and leaving the server as it was found when refused or failed.

Standard library only (plus the kit's own stdlib modules): `scripts/backup.py` runs
this on a server without the kit's dependencies, which is how the Ansible timer
uses it.

Consistency:
- embedded: the embedded MySQL inside wandb/local cannot be dumped consistently from
  outside, and a copy of a running database's files is not a backup. So /vol is
  copied twice with GNU tar: first while wandb runs (a listed-incremental snapshot
  records what it saw), then with wandb STOPPED, an incremental pass over what changed
  since; wandb starts again afterwards, whatever happens. The downtime follows the
  changes made during the first pass, not the size of the data (benchmarks/
  backup_downtime.py); SDK clients retry meanwhile.
- external: `mysqldump --single-transaction` of the W&B database (a consistent
  snapshot without stopping anything), then a mirror of the bucket. Files are written
  to the bucket before the database references them, so every file the dump points
  to is in the mirror taken after it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from deploy import __version__
from deploy.compose import docker_watched
from deploy.deployment import Deployment
from deploy.errors import EXIT_FAILED, KitError

MANIFEST = "manifest.json"
PARTIAL_SUFFIX = ".partial"
MIB = 1024 * 1024
DUMP_CMD = (
    'MYSQL_PWD="$MYSQL_PASSWORD" mysqldump --single-transaction --quick --routines '
    '--triggers --no-tablespaces -u "$MYSQL_USER" "$MYSQL_DATABASE"'
)
LOAD_CMD = 'MYSQL_PWD="$MYSQL_PASSWORD" mysql -u "$MYSQL_USER" "$MYSQL_DATABASE"'
# Run in the minio-init service (its env names the bucket and credentials).
# Embedded: pass 1 (wandb running) and pass 2 (stopped, only what changed). The
# snapshot file is tar's own record of what pass 1 saw; it stays out of the backup.
_TAR = "tar -C /vol --numeric-owner --exclude=./.kit-restore-new --exclude=./.kit-pre-restore"
TAR_FULL = f"{_TAR} --listed-incremental=/backup/.snapshot -cpf /backup/vol.tar ."
TAR_CHANGES = (
    f"{_TAR} --listed-incremental=/backup/.snapshot -cpf /backup/vol-changes.tar . "
    "&& rm -f /backup/.snapshot"
)
# Restore: both archives, in order, into a staging directory inside the volume
# (--listed-incremental=/dev/null applies the second's record of deleted files), then
# the old contents are swapped out and the staged ones in. A failed extraction leaves
# /vol as it was; only the swap (renames) touches it. Needs free space for one copy.
STAGE, ASIDE = "/vol/.kit-restore-new", "/vol/.kit-pre-restore"
TAR_RESTORE = f"""set -e
trap 'rm -rf {STAGE}' EXIT
rm -rf {STAGE} {ASIDE}; mkdir {STAGE} {ASIDE}
tar -C {STAGE} --numeric-owner --listed-incremental=/dev/null -xpf /backup/vol.tar
if [ -f /backup/vol-changes.tar ]; then
  tar -C {STAGE} --numeric-owner --listed-incremental=/dev/null -xpf /backup/vol-changes.tar
fi
find /vol -mindepth 1 -maxdepth 1 ! -name .kit-restore-new ! -name .kit-pre-restore \
  -exec mv {{}} {ASIDE}/ \\;
find {STAGE} -mindepth 1 -maxdepth 1 -exec mv {{}} /vol/ \\;
rm -rf {ASIDE}"""
MC_ALIAS = (
    'mc alias set kit "http://minio:$BUCKET_PORT" "$MINIO_ROOT_USER" '
    '"$MINIO_ROOT_PASSWORD" --api s3v4 >/dev/null'
)


def _volume_tool(
    stack: Deployment,
    volume: str,
    mount: str,
    script: str,
    ro: bool = True,
    backup_dir: Path | None = None,
    writes_backup: bool = False,
    watch: tuple[Path, int, str] | None = None,
) -> str:
    """Runs a shell script as root in a throwaway container of the wandb image (it has
    tar and sh, and nothing else needs pulling) with the volume mounted, and the backup
    directory at /backup when given (read-only unless the script writes the backup).
    What it writes there is handed to the user running the kit, private (0600 files,
    0700 directories): a backup holds the whole database and the URL-signing secret,
    and a non-root user must be able to verify, copy and delete it."""
    mounts = ["-v", f"{volume}:{mount}{':ro' if ro else ''}"]
    if backup_dir is not None:
        mounts += ["-v", f"{backup_dir}:/backup{'' if writes_backup else ':ro'}"]
    if writes_backup:
        script = (
            f"umask 077; {script}; rc=$?; chown -R {os.getuid()}:{os.getgid()} /backup; exit $rc"
        )
    args = [
        "run", "--rm", "--user", "0:0", "--entrypoint", "sh", *mounts,
        stack.image_of("wandb"), "-c", script,
    ]  # fmt: skip
    if watch:  # (file it writes, expected bytes, label): a progress bar on a terminal
        docker_watched(args, *watch, secrets=stack.secrets)
        return ""
    return stack.docker(*args)


# --- manifest ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(4 * MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(root: Path, meta: dict) -> dict:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        files.append(
            {
                "path": path.relative_to(root).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    manifest = {**meta, "files": files, "total_bytes": sum(f["size"] for f in files)}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def verify_backup(root: Path) -> dict:
    """The manifest, after every listed file was found with its size and sha256."""
    if not root.is_dir():
        raise KitError(f"{root} is not a backup directory", fix="pass a directory made by backup")
    if root.name.endswith(PARTIAL_SUFFIX):
        raise KitError(
            f"{root} is an unfinished backup (the run that made it failed)",
            fix="use a complete backup (its name has no .partial suffix)",
        )
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise KitError(
            f"{root} has no {MANIFEST}: incomplete or not a backup",
            fix="use a complete backup made by `wandb-kit backup`",
        )
    except ValueError as err:
        raise KitError(f"{root / MANIFEST} is corrupt ({err})", fix="use another backup")
    problems = []
    for entry in manifest.get("files", []):
        path = root / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']} is missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(
                f"{entry['path']} has {path.stat().st_size} bytes, manifest says {entry['size']}"
            )
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['path']} sha256 differs from the manifest")
    if problems or not manifest.get("files"):
        raise KitError(
            f"backup {root.name} failed verification: "
            + ("; ".join(problems[:5]) or "it lists no files"),
            fix="nothing was changed; restore another backup",
        )
    return manifest


# --- backup -----------------------------------------------------------------------------


def _check_destination(dest: Path, needed: int) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
        probe = dest / f".write-test-{os.getpid()}"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as err:
        raise KitError(
            f"backup destination {dest} is not writable ({err.strerror})",
            fix="choose a writable --dest; existing backups were not touched",
        )
    free = shutil.disk_usage(dest).free
    if free < needed:
        raise KitError(
            f"backup needs about {needed // MIB + 1} MiB but {dest} has {free // MIB} MiB free",
            fix="free space or choose another --dest; existing backups were not touched",
        )


def backup(stack: Deployment, dest: Path, keep: int | None = None, log=print) -> Path:
    """A private (0700/0600) backup in dest; see the module's docstring."""
    previous = os.umask(0o077)  # what the kit writes itself: manifest, dump, directories
    try:
        return _backup(stack, dest, keep, log)
    finally:
        os.umask(previous)


def _backup(stack: Deployment, dest: Path, keep: int | None, log) -> Path:
    name = backup_name(stack.project)
    meta = {
        "kit_version": __version__,
        "project": stack.project,
        "storage": stack.storage,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wandb_image": stack.image_of("wandb"),
    }
    if stack.storage == "external":
        size = _external_size(stack)
    else:
        volume = stack.volume_of("wandb", "/vol")
        size = int(_volume_tool(stack, volume, "/vol", "du -sb /vol | cut -f1").strip() or 0)
    _check_destination(dest, int(size * 1.1) + 16 * MIB)
    partial = dest / (name + PARTIAL_SUFFIX)
    partial.mkdir(mode=0o700)
    try:
        if stack.storage == "external":
            meta["method"] = "mysqldump --single-transaction, then bucket mirror"
            _backup_external(stack, partial, log)
        else:
            meta["method"] = (
                "/vol copied with tar while wandb ran, then wandb stopped for a second, "
                "incremental pass over what changed (numeric owners, modes)"
            )
            meta.update(_backup_embedded(stack, volume, size, partial, log))
        manifest = write_manifest(partial, meta)
        final = dest / name
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log(f"backup {final} ({manifest['total_bytes'] // 1024} KiB, {len(manifest['files'])} files)")
    if keep:
        for old in prune(dest, stack.project, keep):
            log(f"pruned {old.name}")
    return final


def _backup_embedded(stack: Deployment, volume: str, size: int, partial: Path, log) -> dict:
    """The classic two-pass copy: /vol is archived while wandb runs (GNU tar's
    listed-incremental snapshot records what it saw), then wandb stops only for a
    second pass that archives what changed since, so the downtime follows the changes,
    not the data. Restore extracts both in order; together they are the stopped state."""
    log("copying /vol while wandb runs (pass 1 of 2)")
    _volume_tool(
        stack, volume, "/vol", TAR_FULL, backup_dir=partial, writes_backup=True,
        watch=(partial / "vol.tar", size, "copying /vol"),
    )  # fmt: skip
    log("stopping wandb for the final pass over what changed")
    stopped = time.monotonic()
    stack.compose.run("stop", "wandb", capture=True)
    try:
        _volume_tool(stack, volume, "/vol", TAR_CHANGES, backup_dir=partial, writes_backup=True)
    finally:
        log("starting wandb again and waiting until it is healthy")
        stack.compose.run("up", "--detach", "--wait", "--no-recreate", "wandb", capture=True)
        downtime = time.monotonic() - stopped
    log(f"wandb was stopped for {downtime:.1f} s")
    return {"downtime_s": round(downtime, 2)}


def _external_size(stack: Deployment) -> int:
    out = stack.compose.run(
        "exec",
        "-T",
        "mysql",
        "sh",
        "-c",
        'MYSQL_PWD="$MYSQL_PASSWORD" mysql -N -u "$MYSQL_USER" -e "SELECT COALESCE(SUM('
        "data_length+index_length),0) FROM information_schema.tables WHERE table_schema="
        "'$MYSQL_DATABASE'\"",
        capture=True,
    ).stdout.strip()
    db = int(float(out or 0))
    # The bucket's size is not cheap to ask MinIO for; its volume's disk use is.
    volume = stack.volume_of("minio", "/data")
    bucket = _volume_tool(stack, volume, "/data", "du -sb /data | cut -f1")
    return db + int(bucket.strip() or 0)


def _backup_external(stack: Deployment, partial: Path, log) -> None:
    log("dumping the W&B database (mysqldump --single-transaction)")
    dump = partial / "wandb.sql.gz"
    cmd = stack.compose.command("exec", "-T", "mysql", "sh", "-c", DUMP_CMD)
    with gzip.open(dump, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=stack.compose.directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for chunk in iter(lambda: proc.stdout.read(MIB), b""):
            out.write(chunk)
        err = proc.stderr.read().decode()
        if proc.wait() != 0:
            raise KitError(
                f"mysqldump failed: {err.strip()[-500:]}",
                fix="check `wandb-kit logs mysql`",
                exit_code=EXIT_FAILED,
            )
    log("mirroring the bucket")
    (partial / "bucket").mkdir()
    stack.compose.run(
        "run",
        "--rm",
        "--no-deps",
        "-v",
        f"{partial / 'bucket'}:/backup/bucket",
        "minio-init",
        f'{MC_ALIAS} && mc mirror --overwrite "kit/$BUCKET_NAME" /backup/bucket',
        capture=True,
    )


def backup_name(project: str, when: float | None = None) -> str:
    return f"{project}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))}"


def prune(dest: Path, project: str, keep: int) -> list[Path]:
    """Deletes the oldest complete backups of this project beyond `keep`. Only names
    `<project>-<UTC time>` count: project `wandb` never prunes `wandb-staging`'s."""
    own = re.compile(rf"{re.escape(project)}-\d{{8}}T\d{{6}}Z")
    complete = sorted(
        p
        for p in dest.iterdir()
        if own.fullmatch(p.name) and p.is_dir() and (p / MANIFEST).exists()
    )
    old = complete[:-keep] if keep > 0 else []
    for path in old:
        shutil.rmtree(path)
    return old


# --- restore ----------------------------------------------------------------------------


def restore(stack: Deployment, root: Path, force: bool = False, log=print) -> None:
    manifest = verify_backup(root)
    log(f"verified {len(manifest['files'])} files of {root.name}")
    if manifest["storage"] != stack.storage:
        raise KitError(
            f"{root.name} is a backup of {manifest['storage']} storage but the "
            f"stack uses {stack.storage}",
            fix="restore into a stack with the same storage (wandb-kit init)",
        )
    # Containers and volumes must exist (a fresh stack after `down --volumes` has none).
    stack.compose.run("up", "--no-start", capture=True)
    was_running = _running(stack, "wandb")
    try:
        if stack.storage == "external":
            _restore_external(stack, root, force, log)
        else:
            _restore_embedded(stack, root, force, log)
    except BaseException:
        # Refused or failed: the server goes back to the state it was found in.
        if was_running and not _running(stack, "wandb"):
            log("restore did not happen: starting wandb again on the data it had")
            try:
                stack.compose.run("up", "--detach", "--wait", "--no-recreate", capture=True)
            except KitError as err:
                log(f"warning: wandb did not start again ({err.problem}); `wandb-kit up`")
        raise
    log("starting the stack and waiting for /ready")
    stack.compose.up()


def _running(stack: Deployment, service: str) -> bool:
    return any(
        s.get("Service") == service and s.get("State") == "running"
        for s in stack.compose.services()
    )


def _restore_embedded(stack: Deployment, root: Path, force: bool, log) -> None:
    volume = stack.volume_of("wandb", "/vol")
    # Look before anything stops: a refused restore changes nothing.
    has_data = _volume_tool(stack, volume, "/vol", "ls -A /vol | head -n 1").strip()
    if has_data and not force:
        raise KitError(
            "the stack's /vol volume already holds data; restoring would overwrite it",
            fix="back it up first (`wandb-kit backup`), then add --force",
        )
    stack.compose.run("stop", "wandb", capture=True)
    log("restoring /vol")
    _volume_tool(stack, volume, "/vol", TAR_RESTORE, ro=False, backup_dir=root)


def _restore_external(stack: Deployment, root: Path, force: bool, log) -> None:
    stack.compose.run("stop", "wandb", capture=True)
    stack.compose.run("up", "--detach", "--wait", "mysql", "minio", capture=True)
    tables = stack.compose.run(
        "exec",
        "-T",
        "mysql",
        "sh",
        "-c",
        'MYSQL_PWD="$MYSQL_PASSWORD" mysql -N -u "$MYSQL_USER" -e "SELECT COUNT(*) FROM '
        "information_schema.tables WHERE table_schema='$MYSQL_DATABASE'\"",
        capture=True,
    ).stdout.strip()
    if int(tables or 0) and not force:
        raise KitError(
            "the W&B database already has tables; restoring would overwrite them",
            fix="back it up first, then add --force",
        )
    log("loading the database dump")
    cmd = stack.compose.command("exec", "-T", "mysql", "sh", "-c", LOAD_CMD)
    with gzip.open(root / "wandb.sql.gz", "rb") as dump:
        proc = subprocess.Popen(
            cmd, cwd=stack.compose.directory, stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for chunk in iter(lambda: dump.read(MIB), b""):
            proc.stdin.write(chunk)
        proc.stdin.close()
        err = proc.stderr.read().decode()
        if proc.wait() != 0:
            raise KitError(
                f"loading the dump failed: {err.strip()[-500:]}",
                fix="check `wandb-kit logs mysql`",
                exit_code=EXIT_FAILED,
            )
    log("restoring the bucket")
    stack.compose.run(
        "run",
        "--rm",
        "-v",
        f"{root / 'bucket'}:/backup/bucket:ro",
        "minio-init",
        f'{MC_ALIAS} && mc mb --ignore-existing "kit/$BUCKET_NAME" >/dev/null && '
        'mc mirror --overwrite /backup/bucket "kit/$BUCKET_NAME"',
        capture=True,
    )
