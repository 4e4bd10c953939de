"""Copies one run from the source server to the target, inside a worker process.

Reading goes through wandb.Api on the source; writing through the SDK (wandb.init with the
same id and name), the only way to write history. History rows and media references are
copied as they are stored (the `{"_type": "image-file", "path": ..., "sha256": ...}` dicts),
and the media files under the same names, so the target's rows, files and hashes are the
source's, byte for byte, whatever the media type.

Resuming: when the target already has the run (a copy killed halfway), the SDK resumes it
and only rows with a step above the target's last step are logged; files are uploaded again
under the same names; artifact versions already on the target with the same digest are not
logged again. So a redo never duplicates anything.

Keys come from the environment (WANDB_FROM_API_KEY / WANDB_TO_API_KEY), never arguments.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

# Files the SDK writes itself for every run; their content is compared as config/summary.
SDK_FILES = frozenset({"config.yaml", "wandb-summary.json"})
# Row and summary keys the server or SDK sets on its own; never copied or compared.
VOLATILE = frozenset({"_runtime", "_timestamp", "_wandb"})
FAILED_STATES = frozenset({"failed", "crashed", "killed", "preempted"})


def plain(value: Any) -> Any:
    """Summary/config values as plain JSON (the Api hands out its own dict subclasses)."""
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def clean_summary(summary) -> dict:
    return {k: v for k, v in plain(summary).items() if k not in VOLATILE}


def clean_config(config) -> dict:
    return {k: v for k, v in plain(config).items() if k != "_wandb"}


def target_state(source_state: str) -> str:
    """The state a copy can have: the SDK can only finish a run as finished or failed."""
    return "failed" if source_state in FAILED_STATES else "finished"


def apis():
    import wandb

    src = wandb.Api(
        api_key=os.environ["WANDB_FROM_API_KEY"],
        overrides={"base_url": os.environ["KIT_MIGRATE_FROM"]},
        timeout=60,
    )
    dst = wandb.Api(
        api_key=os.environ["WANDB_TO_API_KEY"],
        overrides={"base_url": os.environ["KIT_MIGRATE_TO"]},
        timeout=60,
    )
    return src, dst


def worker_init(source: str, target: str) -> None:
    """Points the worker's SDK at the target (wandb.init, artifact uploads)."""
    os.environ.update(
        KIT_MIGRATE_FROM=source,
        KIT_MIGRATE_TO=target,
        WANDB_BASE_URL=target,
        WANDB_API_KEY=os.environ["WANDB_TO_API_KEY"],
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
    )


def _existing(dst_api, path: str):
    import wandb

    try:
        return dst_api.run(path)
    except (wandb.errors.CommError, ValueError):
        return None


def _target_artifact(dst_api, name: str):
    import wandb

    try:
        return dst_api.artifact(name)
    except (wandb.errors.CommError, ValueError):
        return None


def _version(art) -> int:
    return int(str(art.version).lstrip("v") or 0)


def _public_type(typ: str, name: str) -> str:
    from wandb.sdk.artifacts._validators import validate_artifact_type

    try:
        return validate_artifact_type(typ, name)
    except ValueError:
        return "migrated"


def copy_run(task: dict) -> dict:
    """task: path (entity/project/id on the source), to_entity, sweep_id (on the target),
    workdir. Returns counts for progress and the benchmark."""
    started = time.monotonic()
    src_api, dst_api = apis()
    src = src_api.run(task["path"])
    entity, project = task["to_entity"], src.project
    tpath = f"{entity}/{project}/{src.id}"
    existing = _existing(dst_api, tpath)
    last_step = -1
    used_before: set[str] = set()
    if existing is not None:
        last_step = max(
            (r.get("_step", -1) for r in existing.scan_history(keys=["_step"])), default=-1
        )
        used_before = {a.name for a in existing.used_artifacts()}
    work = tempfile.mkdtemp(prefix="migrate-", dir=task.get("workdir"))
    stats = {
        "path": task["path"],
        "rows": 0,
        "files": 0,
        "bytes": 0,
        "artifacts": 0,
        "resumed": existing is not None,
    }
    try:
        run = _init_copy(src, entity, project, task.get("sweep_id"), work)
        try:
            # Inputs first: lineage says which run used which artifact version.
            for art in src.used_artifacts():
                if art.name in used_before:
                    continue
                run.use_artifact(f"{entity}/{art.project}/{art.name}")
            for row in src.scan_history(page_size=1000):
                step = row.get("_step")
                if step is None or step <= last_step:
                    continue
                data = {k: v for k, v in row.items() if k not in VOLATILE and k != "_step"}
                data = {k: v for k, v in data.items() if v is not None}
                run.log(data, step=step)
                stats["rows"] += 1
            files_dir = os.path.join(work, "src-files")
            for f in src.files():
                if f.name in SDK_FILES:
                    continue
                f.download(root=files_dir, replace=True).close()
                run.save(os.path.join(files_dir, f.name), base_path=files_dir, policy="now")
                stats["files"] += 1
                stats["bytes"] += int(f.size or 0)
            stats["artifacts"], art_bytes = _copy_logged(src, run, dst_api, entity, work)
            stats["bytes"] += art_bytes
            for key, value in clean_summary(src.summary).items():
                run.summary[key] = value
        except BaseException:
            run.finish(exit_code=1)
            raise
        run.finish(exit_code=1 if target_state(src.state) == "failed" else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stats["seconds"] = time.monotonic() - started
    return stats


def _init_copy(src, entity: str, project: str, sweep_id, work: str):
    """The target run of copy_run: src's id, name, config and tags, resumed if there."""
    import wandb

    return wandb.init(
        entity=entity,
        project=project,
        id=src.id,
        name=src.name,
        config=clean_config(src.config),
        tags=list(src.tags or []),
        notes=src.notes or None,
        group=src.group or None,
        job_type=src.job_type or None,
        resume="allow",
        dir=work,
        settings=wandb.Settings(
            silent=True,
            console="off",
            x_disable_stats=True,
            x_disable_meta=True,
            x_save_requirements=False,
            disable_git=True,
            save_code=False,
            sweep_id=sweep_id or None,
        ),
    )


def _copy_logged(src, run, dst_api, entity: str, work: str) -> tuple[int, int]:
    """Re-logs the artifact versions the source run logged, oldest first per collection,
    from this run (so lineage says this run made them), with the same files (hence the
    same digest), metadata, description and aliases."""
    import wandb

    count = size = 0
    arts = sorted(src.logged_artifacts(), key=lambda a: (a.name.split(":")[0], _version(a)))
    for art in arts:
        collection = art.name.split(":")[0]
        there = _target_artifact(dst_api, f"{entity}/{art.project}/{art.name}")
        if there is not None and there.digest == art.digest:
            continue  # copied before (a redo after a kill)
        root = art.download(root=os.path.join(work, "artifacts", art.name.replace(":", "-")))
        new = wandb.Artifact(
            collection,
            type=_public_type(art.type, collection),
            description=art.description,
            metadata=plain(art.metadata) or None,
        )
        # Types the SDK reserves for what it logs itself (run_table for wandb.Table,
        # code, job): wandb.Artifact refuses them from users, so the copy is made under
        # a neutral type and given its real type before it is logged. Private attribute
        # of wandb 0.31 (pinned <0.32); verification compares the type on both sides.
        new._type = art.type
        new.add_dir(root)
        aliases = [a for a in art.aliases if a != "latest"]
        logged = run.log_artifact(new, aliases=aliases)
        logged.wait()
        count += 1
        size += int(art.size or 0)
    return count, size


def make_sweep(config: dict, entity: str, project: str) -> str:
    """Creates the sweep on the target (in a worker, whose SDK points only at the target)."""
    import wandb

    return wandb.sweep(sweep=config, entity=entity, project=project)
