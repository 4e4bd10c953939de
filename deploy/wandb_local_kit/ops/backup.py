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
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from wandb_local_kit import __version__
from wandb_local_kit.core import files, progress
from wandb_local_kit.core.errors import EXIT_FAILED, KitError
from wandb_local_kit.core.invocation import up_command
from wandb_local_kit.core.redact import redact
from wandb_local_kit.stack.compose import (
    ONE_OFF_LABEL,
    docker_watched,
    one_off_name,
    removed_if_interrupted,
)
from wandb_local_kit.stack.deployment import Deployment

MANIFEST = "manifest.json"
PARTIAL_SUFFIX = ".partial"
MIB = 1024 * 1024
DUMP_CMD = (
    'MYSQL_PWD="$MYSQL_PASSWORD" mysqldump --single-transaction --quick --routines '
    '--triggers --no-tablespaces -u "$MYSQL_USER" "$MYSQL_DATABASE"'
)
LOAD_CMD = 'MYSQL_PWD="$MYSQL_PASSWORD" mysql -u "$MYSQL_USER" "$MYSQL_DATABASE"'
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
# Run in the storage-init service: its environment names the store, the bucket and
# the admin credentials, so no secret is on any command line.
AWS_PATH_STYLE = "aws configure set default.s3.addressing_style path"
OWNERS_JOB = (
    "{what} is yours, not the kit's: back it up with its own tools (snapshots, "
    "replication, versioning); this backup does not hold it"
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
    name = one_off_name(stack.project, "volume-tool")
    args = [
        "run", "--rm", "--name", name, "--label", f"{ONE_OFF_LABEL}={stack.project}",
        "--user", "0:0", "--entrypoint", "sh", *mounts, stack.image_of("wandb"), "-c", script,
    ]  # fmt: skip
    with removed_if_interrupted(name):
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
    listed: list[dict[str, Any]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        listed.append(
            {
                "path": path.relative_to(root).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    manifest = {**meta, "files": listed, "total_bytes": sum(f["size"] for f in listed)}
    files.write_text(root / MANIFEST, json.dumps(manifest, indent=2), what="the manifest")
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
    if files.kind(root / MANIFEST) is None:
        raise KitError(
            f"{root} has no {MANIFEST}: incomplete or not a backup",
            fix="use a complete backup made by `wandb-kit backup`",
        )
    try:
        manifest = files.load_json(root / MANIFEST, what="the manifest")
    except KitError as err:
        raise KitError(f"{root / MANIFEST} is corrupt ({err.problem})", fix="use another backup")
    if not isinstance(manifest, dict):
        raise KitError(f"{root / MANIFEST} is corrupt (not a JSON object)",
                       fix="use another backup")  # fmt: skip
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
    files.check_folder(dest, "backup destination")  # a device, a file, a full disk: named
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
    meta: dict[str, Any] = {
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
        size = int(_volume_tool(stack, volume, "/vol", "du -sb /vol | cut -f1").strip() or 0)
    _check_destination(dest, int(size * 1.1) + 16 * MIB)
    partial = dest / (name + PARTIAL_SUFFIX)
    partial.mkdir(mode=0o700)
    try:
        if stack.storage == "external":
            meta["method"] = "mysqldump --single-transaction, then the bucket via the S3 API"
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
    stop_returned = False
    try:
        # Inside the try: Ctrl-C while `stop` runs still leaves wandb stopped (the engine
        # finishes the stop), so it must be started again like after any other failure.
        stack.compose.run("stop", "wandb", capture=True)
        stop_returned = True
        _volume_tool(stack, volume, "/vol", TAR_CHANGES, backup_dir=partial, writes_backup=True)
    finally:
        try:
            # The message inside the try: a Ctrl-C that lands while it is printed must
            # still name the way back (wandb is stopped at this point).
            log("starting wandb again and waiting until it is healthy")
            if not stop_returned:
                # Ctrl-C ended the `stop` command, not the stop: the engine still takes
                # wandb down. `up` now would find it running (and healthy), return, and
                # wandb would then exit. Stopping again waits until that stop is over.
                stack.compose.run("stop", "wandb", capture=True)
            stack.compose.run("up", "--detach", "--wait", "--no-recreate", "wandb", capture=True)
        except BaseException:
            log(f"wandb may still be stopped: `{up_command(stack.env_file)}` starts it")
            raise
        downtime = time.monotonic() - stopped
    log(f"wandb was stopped for {downtime:.1f} s")
    return {"downtime_s": round(downtime, 2)}


def _external_size(stack: Deployment) -> int:
    size = 0
    if stack.bundled_s3:
        # The bucket's size is not cheap to ask the S3 API for; its volume's disk use is.
        volume = stack.volume_of("seaweedfs", "/data")
        bucket = _volume_tool(stack, volume, "/data", "du -sb /data | cut -f1")
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


def _backup_external(stack: Deployment, partial: Path, log) -> None:
    if stack.bundled_mysql:
        _dump_mysql(stack, partial / "wandb.sql.gz", log)
    if stack.bundled_s3:
        log("copying the bucket through the S3 API")
        (partial / "bucket").mkdir()
        stack.compose.run_once(
            "storage-init",
            _private_to_caller(
                f"{AWS_PATH_STYLE} && "
                'aws s3 sync --only-show-errors "s3://$BUCKET_NAME" /backup/bucket',
                "/backup/bucket",
            ),
            options=("-v", f"{partial / 'bucket'}:/backup/bucket"),
        )


def _private_to_caller(script: str, path: str) -> str:
    """The script, then what it wrote under path handed to the user running the kit,
    private (containers write as root, with root's umask)."""
    return (
        f"umask 077; {script}; rc=$?; "
        f"chown -R {os.getuid()}:{os.getgid()} {path}; chmod -R go-rwx {path}; exit $rc"
    )


def _dump_mysql(stack: Deployment, dump: Path, log) -> None:
    """mysqldump of the W&B database into dump (gzip), with a byte counter on a
    terminal. mysqldump's stderr goes to a file: read after stdout, a full stderr
    pipe could block it forever."""
    log("dumping the W&B database (mysqldump --single-transaction)")
    cmd = stack.compose.command("exec", "-T", "mysql", "sh", "-c", DUMP_CMD)
    with tempfile.TemporaryFile() as err, gzip.open(dump, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=stack.compose.directory, stdout=subprocess.PIPE, stderr=err
        )
        assert proc.stdout is not None  # stdout=PIPE
        progress.copy(proc.stdout, out, None, "mysqldump")
        if proc.wait() != 0:
            err.seek(0)
            raise KitError(
                f"mysqldump failed: {_redacted(stack, err.read())}",
                fix="check `wandb-kit logs mysql`",
                exit_code=EXIT_FAILED,
            )


def _redacted(stack: Deployment, raw: bytes) -> str:
    return redact(raw.decode(errors="replace").strip()[-500:], extra=stack.secrets)


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


def restore(
    stack: Deployment, root: Path, force: bool = False, log=print, from_project: str = ""
) -> None:
    manifest = verify_backup(root)
    log(f"verified {len(manifest['files'])} files of {root.name}")
    if manifest["storage"] != stack.storage:
        raise KitError(
            f"{root.name} is a backup of {manifest['storage']} storage but the "
            f"stack uses {stack.storage}",
            fix="restore into a stack with the same storage (wandb-kit init)",
        )
    source = manifest.get("project") or stack.project  # a manifest naming none: unknown
    if source != stack.project:
        if from_project != source:
            raise KitError(
                f"{root.name} is a backup of another deployment, project {source!r}; this "
                f"one is {stack.project!r} ({stack.env_file}). {CROSS_PROJECT_EFFECTS}",
                fix=f"to replace this deployment's data with {source!r}'s, add "
                f"--from-project {source}; to restore {source!r} itself, use its own .env "
                "(--env-file)",
            )
        log(f"restoring project {source!r}'s backup into {stack.project!r}: "
            + CROSS_PROJECT_EFFECTS)  # fmt: skip
    elif from_project and from_project != source:
        raise KitError(
            f"--from-project {from_project} does not match {root.name}, a backup of "
            f"{source!r} (this deployment's own project)",
            fix="leave --from-project out to restore this deployment's own backup",
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
                log(
                    f"warning: wandb did not start again ({err.problem}); "
                    f"`{up_command(stack.env_file)}`"
                )
        raise
    try:
        log("starting the stack and waiting for /ready")
        stack.compose.up()
    except KeyboardInterrupt:
        # The data is restored; only the start was cut short.
        log(
            "the backup is restored but the stack may be partly started: "
            f"`{up_command(stack.env_file)}` starts it"
        )
        raise


# What a user of the restored server meets when the data came from another deployment.
CROSS_PROJECT_EFFECTS = (
    "The data brings that deployment's users, teams and API keys: keys issued by this "
    "server stop working and the other deployment's keys work here (`wandb-kit login` "
    "with one of them). Links and the SDK use this deployment's URL (WANDB_HOST); links "
    "saved from the other server do not point here."
)


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
    services = (["mysql"] if stack.bundled_mysql else []) + (
        ["seaweedfs"] if stack.bundled_s3 else []
    )
    stack.compose.run("up", "--detach", "--wait", *services, capture=True)
    # Look before anything stops: a refused restore changes nothing.
    has_tables = stack.bundled_mysql and _table_count(stack) > 0
    if has_tables and not force:
        raise KitError(
            "the W&B database already has tables; restoring would overwrite them",
            fix="back it up first (`wandb-kit backup`), then add --force",
        )
    stack.compose.run("stop", "wandb", capture=True)
    if stack.bundled_mysql:
        _load_mysql_safely(stack, root, has_tables, log)
    if stack.bundled_s3:
        log("restoring the bucket through the S3 API")
        # The init job (re)creates the bucket and its CORS first.
        stack.compose.run_once("storage-init")
        stack.compose.run_once(
            "storage-init",
            f"{AWS_PATH_STYLE} && "
            'aws s3 sync --only-show-errors /backup/bucket "s3://$BUCKET_NAME"',
            options=("-v", f"{root / 'bucket'}:/backup/bucket:ro"),
        )


def _table_count(stack: Deployment) -> int:
    out = stack.compose.run(
        "exec",
        "-T",
        "mysql",
        "sh",
        "-c",
        'MYSQL_PWD="$MYSQL_PASSWORD" mysql -N -u "$MYSQL_USER" -e "SELECT COUNT(*) FROM '
        "information_schema.tables WHERE table_schema='$MYSQL_DATABASE'\"",
        capture=True,
    ).stdout.strip()
    return int(out or 0)


def _load_mysql_safely(stack: Deployment, root: Path, has_tables: bool, log) -> None:
    """Loads the dump; when the database held data (--force), a dump of it is taken
    first and loaded back if the restore's load fails, so a failed restore leaves the
    database as it was found."""
    if not has_tables:
        _load_mysql(stack, root / "wandb.sql.gz", log)
        return
    with tempfile.TemporaryDirectory(dir=stack.home, prefix=".pre-restore-") as safety:
        before = Path(safety) / "before.sql.gz"
        log("saving the database as it is now, to put it back if the restore fails")
        _dump_mysql(stack, before, log)
        try:
            _load_mysql(stack, root / "wandb.sql.gz", log)
        except KitError:
            log("the restore's load failed: putting the database back as it was")
            _load_mysql(stack, before, log)
            raise


def _load_mysql(stack: Deployment, dump: Path, log) -> None:
    """Feeds the gzip dump to mysql. If mysql stops reading (an SQL error), its own
    message is what the user gets, not a BrokenPipeError."""
    log(f"loading the database dump {dump.name}")
    cmd = stack.compose.command("exec", "-T", "mysql", "sh", "-c", LOAD_CMD)
    with gzip.open(dump, "rb") as data:
        code, err = progress.feed(cmd, data, None, "loading the dump", stack.compose.directory)
    if code != 0:
        raise KitError(
            f"loading the dump failed: {_redacted(stack, err)}",
            fix="check `wandb-kit logs mysql`",
            exit_code=EXIT_FAILED,
        )
