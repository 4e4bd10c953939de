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
  snapshot without stopping anything), then a copy of the bucket through the S3 API
  (`aws s3 sync` in the storage-init job's image, as the store's admin). Files are
  written to the bucket before the database references them, so every file the dump
  points to is in the copy taken after it.
- bring your own: the kit backs up only what it runs. Your own MySQL and your own
  bucket stay their owner's job (their snapshots, replication, versioning); the
  backup says so, and holds the bundled part only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deploy import __version__
from deploy.compose import Compose
from deploy.envfile import read_env
from deploy.errors import EXIT_FAILED, KitError

MANIFEST = "manifest.json"
PARTIAL_SUFFIX = ".partial"
MIB = 1024 * 1024
DUMP_CMD = (
    'MYSQL_PWD="$MYSQL_PASSWORD" mysqldump --single-transaction --quick --routines '
    '--triggers --no-tablespaces -u "$MYSQL_USER" "$MYSQL_DATABASE"'
)
LOAD_CMD = 'MYSQL_PWD="$MYSQL_PASSWORD" mysql -u "$MYSQL_USER" "$MYSQL_DATABASE"'
# Run in the storage-init service: its environment names the store, the bucket and
# the admin credentials, so no secret is on any command line.
AWS_PATH_STYLE = "aws configure set default.s3.addressing_style path"
OWNERS_JOB = (
    "{what} is yours, not the kit's: back it up with its own tools (snapshots, "
    "replication, versioning); this backup does not hold it"
)


@dataclass
class Stack:
    compose: Compose
    values: dict[str, str]

    @classmethod
    def from_env(cls, compose_dir: Path, env_file: Path) -> Stack:
        if not env_file.exists():
            raise KitError(f"{env_file} does not exist", fix="run `wandb-kit init` first")
        values = read_env(env_file)
        files = [f for f in values.get("COMPOSE_FILE", "compose.yaml").split(":") if f]
        return cls(
            Compose(compose_dir, env_file, values.get("COMPOSE_PROJECT_NAME") or None, files),
            values,
        )

    @property
    def project(self) -> str:
        return self.values.get("COMPOSE_PROJECT_NAME", "wandb")

    @property
    def storage(self) -> str:
        return self.values.get("WANDB_STORAGE", "embedded")

    @property
    def bundled_mysql(self) -> bool:
        return self.storage == "external" and not self.values.get("WANDB_EXTERNAL_MYSQL_URL")

    @property
    def bundled_s3(self) -> bool:
        return self.storage == "external" and not self.values.get("WANDB_EXTERNAL_BUCKET_URL")

    def container(self, service: str) -> str | None:
        out = self.compose.run("ps", "--all", "-q", service, capture=True).stdout.split()
        return out[0] if out else None

    def volume_of(self, service: str, path: str) -> str:
        cid = self.container(service)
        if cid is None:
            raise KitError(
                f"the {service} container does not exist",
                fix="run `wandb-kit up` (or `docker compose up --no-start`) first",
            )
        mounts = json.loads(_docker("inspect", "--format", "{{json .Mounts}}", cid))
        for m in mounts:
            if m.get("Destination") == path and m.get("Type") == "volume":
                return m["Name"]
        raise KitError(f"{service} has no volume at {path}", fix="check compose.yaml")

    def image_of(self, service: str) -> str:
        cid = self.container(service)
        return _docker("inspect", "--format", "{{.Config.Image}}", cid).strip()


def _docker(*args: str, stdin=None, stdout=None) -> str:
    result = subprocess.run(
        ["docker", *args],
        text=stdout is None,
        stdin=stdin,
        stdout=stdout or subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if result.returncode != 0:
        err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
        raise KitError(
            f"`docker {args[0]}` failed: {err.strip()[-800:]}",
            fix="see the message; `wandb-kit status` shows the stack",
            exit_code=EXIT_FAILED,
        )
    return result.stdout if stdout is None else ""


def _volume_tool(
    stack: Stack, volume: str, mount: str, backup_dir: Path, ro: bool, script: str
) -> str:
    """Runs a shell script as root in a throwaway container of the wandb image (it has
    tar and sh, and nothing else needs pulling) with the volume and backup dir mounted."""
    return _docker(
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


def backup(stack: Stack, dest: Path, keep: int | None = None, log=print) -> Path:
    name = f"{stack.project}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    meta = {
        "kit_version": __version__,
        "project": stack.project,
        "storage": stack.storage,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wandb_image": stack.image_of("wandb"),
    }
    if stack.storage == "external":
        if not (stack.bundled_mysql or stack.bundled_s3):
            raise KitError(
                "this stack runs neither MySQL nor the bucket itself: there is nothing the "
                "kit can back up",
                fix="back up your MySQL and your bucket with their own tools, and keep "
                "compose/.env (it holds the settings and secrets) somewhere safe",
            )
        for what, bundled in (
            ("your MySQL", stack.bundled_mysql),
            ("your bucket", stack.bundled_s3),
        ):
            if not bundled:
                log("note: " + OWNERS_JOB.format(what=what))
        meta["bundled"] = [
            n for n, b in (("mysql", stack.bundled_mysql), ("bucket", stack.bundled_s3)) if b
        ]
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
            meta["method"] = "mysqldump --single-transaction, then the bucket via the S3 API"
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


def _backup_embedded(stack: Stack, volume: str, partial: Path, log) -> None:
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


def _external_size(stack: Stack) -> int:
    size = 0
    if stack.bundled_s3:
        # The bucket's size is not cheap to ask the S3 API for; its volume's disk use is.
        volume = stack.volume_of("seaweedfs", "/data")
        bucket = _volume_tool(stack, volume, "/data", Path("/tmp"), True, "du -sb /data | cut -f1")
        size += int(bucket.strip() or 0)
    if not stack.bundled_mysql:
        return size
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
    return size + int(float(out or 0))


def _backup_external(stack: Stack, partial: Path, log) -> None:
    if stack.bundled_mysql:
        _dump_mysql(stack, partial, log)
    if stack.bundled_s3:
        log("copying the bucket through the S3 API")
        (partial / "bucket").mkdir()
        stack.compose.run(
            "run",
            "--rm",
            "--no-deps",
            "-v",
            f"{partial / 'bucket'}:/backup/bucket",
            "storage-init",
            f"{AWS_PATH_STYLE} && "
            'aws s3 sync --only-show-errors "s3://$BUCKET_NAME" /backup/bucket',
            capture=True,
        )


def _dump_mysql(stack: Stack, partial: Path, log) -> None:
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


def restore(stack: Stack, root: Path, force: bool = False, log=print) -> None:
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


def _restore_embedded(stack: Stack, root: Path, force: bool, log) -> None:
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


def _restore_external(stack: Stack, root: Path, force: bool, log) -> None:
    stack.compose.run("stop", "wandb", capture=True)
    services = (["mysql"] if stack.bundled_mysql else []) + (
        ["seaweedfs"] if stack.bundled_s3 else []
    )
    stack.compose.run("up", "--detach", "--wait", *services, capture=True)
    if stack.bundled_mysql:
        _load_mysql(stack, root, force, log)
    if stack.bundled_s3:
        log("restoring the bucket through the S3 API")
        # The init job (re)creates the bucket and its CORS first.
        stack.compose.run("run", "--rm", "--no-deps", "storage-init", capture=True)
        stack.compose.run(
            "run",
            "--rm",
            "--no-deps",
            "-v",
            f"{root / 'bucket'}:/backup/bucket:ro",
            "storage-init",
            f"{AWS_PATH_STYLE} && "
            'aws s3 sync --only-show-errors /backup/bucket "s3://$BUCKET_NAME"',
            capture=True,
        )


def _load_mysql(stack: Stack, root: Path, force: bool, log) -> None:
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
