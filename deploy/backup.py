"""Backups and restores of a stack: consistent, checksummed, pruned, refusing to
overwrite data or to restore anything incomplete.

Standard library only (plus the kit's own stdlib modules): `scripts/backup.py` runs
this on a server without the kit's dependencies, which is how the Ansible timer
uses it.

Consistency:
- embedded: the wandb service is STOPPED while its /vol volume is copied with tar
  (numeric owners, modes kept) and started again afterwards, whatever happens. The
  embedded MySQL inside wandb/local cannot be dumped consistently from outside, and a
  copy of a running database's files is not a backup; the stop costs a minute of
  downtime, during which SDK clients retry.
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
import shutil
import subprocess
import time
from pathlib import Path

from deploy import __version__
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
MC_ALIAS = (
    'mc alias set kit "http://minio:$BUCKET_PORT" "$MINIO_ROOT_USER" '
    '"$MINIO_ROOT_PASSWORD" --api s3v4 >/dev/null'
)


def _volume_tool(
    stack: Deployment, volume: str, mount: str, backup_dir: Path, ro: bool, script: str
) -> str:
    """Runs a shell script as root in a throwaway container of the wandb image (it has
    tar and sh, and nothing else needs pulling) with the volume and backup dir mounted."""
    return stack.docker(
        "run",
        "--rm",
        "--user",
        "0:0",
        "--entrypoint",
        "sh",
        "-v",
        f"{volume}:{mount}{':ro' if ro else ''}",
        "-v",
        f"{backup_dir}:/backup",
        stack.image_of("wandb"),
        "-c",
        script,
    )


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
    name = f"{stack.project}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
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
        size = int(
            _volume_tool(stack, volume, "/vol", Path("/tmp"), True, "du -sb /vol | cut -f1").strip()
            or 0
        )
    _check_destination(dest, int(size * 1.1) + 16 * MIB)
    partial = dest / (name + PARTIAL_SUFFIX)
    partial.mkdir()
    try:
        if stack.storage == "external":
            meta["method"] = "mysqldump --single-transaction, then bucket mirror"
            _backup_external(stack, partial, log)
        else:
            meta["method"] = "wandb stopped; /vol copied with tar (numeric owners, modes)"
            _backup_embedded(stack, volume, partial, log)
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


def _backup_embedded(stack: Deployment, volume: str, partial: Path, log) -> None:
    log("stopping wandb for a consistent copy of /vol")
    stack.compose.run("stop", "wandb", capture=True)
    try:
        _volume_tool(
            stack,
            volume,
            "/vol",
            partial,
            True,
            "tar -C /vol --numeric-owner -cpf /backup/vol.tar .",
        )
    finally:
        log("starting wandb again and waiting until it is healthy")
        stack.compose.run("up", "--detach", "--wait", "--no-recreate", "wandb", capture=True)


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
    bucket = _volume_tool(stack, volume, "/data", Path("/tmp"), True, "du -sb /data | cut -f1")
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


def prune(dest: Path, project: str, keep: int) -> list[Path]:
    """Deletes the oldest complete backups of this project beyond `keep`."""
    complete = sorted(
        p
        for p in dest.glob(f"{project}-*")
        if p.is_dir() and not p.name.endswith(PARTIAL_SUFFIX) and (p / MANIFEST).exists()
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
    if stack.storage == "external":
        _restore_external(stack, root, force, log)
    else:
        _restore_embedded(stack, root, force, log)
    log("starting the stack and waiting for /ready")
    stack.compose.up()


def _restore_embedded(stack: Deployment, root: Path, force: bool, log) -> None:
    volume = stack.volume_of("wandb", "/vol")
    stack.compose.run("stop", "wandb", capture=True)
    has_data = _volume_tool(stack, volume, "/vol", root, True, "ls -A /vol | head -n 1").strip()
    if has_data and not force:
        raise KitError(
            "the stack's /vol volume already holds data; restoring would overwrite it",
            fix="back it up first, then add --force",
        )
    log("restoring /vol")
    _volume_tool(
        stack,
        volume,
        "/vol",
        root,
        False,
        "find /vol -mindepth 1 -delete && tar -C /vol --numeric-owner -xpf /backup/vol.tar",
    )


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
