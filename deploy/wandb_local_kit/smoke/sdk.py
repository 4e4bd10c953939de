"""Helpers over the wandb SDK shared by the checks (imported inside worker processes)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from wandb_local_kit.smoke.context import CheckFailed, SmokeContext


def settings(**extra):
    import wandb

    return wandb.Settings(silent=True, **extra)


def init(ctx: SmokeContext, name: str, **kwargs):
    """wandb.init into the smoke project, tagged with this invocation's tag.

    One run at a time per process (each is finished before the next starts), so the
    global wandb.run that wandb.watch's hooks use is always this run."""
    import wandb

    tags = [ctx.tag, "wandb-kit-smoke"] + list(kwargs.pop("tags", []))
    return wandb.init(
        project=ctx.project,
        entity=ctx.entity,
        name=f"{name}-{ctx.tag}",
        tags=tags,
        dir=ctx.workdir,
        settings=kwargs.pop("settings", None) or settings(),
        **kwargs,
    )


def api():
    import wandb

    return wandb.Api(timeout=60)


def run_path(run) -> str:
    return f"{run.entity}/{run.project}/{run.id}"


def run_url(ctx: SmokeContext, path: str) -> str:
    entity, project, run_id = path.split("/")
    return f"{ctx.base_url.rstrip('/')}/{entity}/{project}/runs/{run_id}"


def fetch_run(path: str, attempts: int = 10):
    """The run as the server has it; retried briefly because the server may still be
    processing the run's final file_stream when the SDK returns from finish()."""
    import wandb

    last = None
    for _ in range(attempts):
        try:
            return api().run(path)
        except (wandb.errors.CommError, ValueError) as err:
            last = err
            time.sleep(1)
    raise CheckFailed(f"run {path} not found on the server: {last}")


def download(run, name: str, root: str) -> bytes:
    """Downloads one of the run's files and returns its bytes."""
    files = {f.name: f for f in run.files()}
    if name not in files:
        raise CheckFailed(
            f"file {name!r} is missing from run {run.id} (server has "
            f"{len(files)} files: {sorted(files)[:8]})"
        )
    files[name].download(root=root, replace=True).close()
    return Path(root, name).read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scratch(ctx: SmokeContext, *parts: str) -> str:
    path = os.path.join(ctx.workdir, *parts)
    os.makedirs(path, exist_ok=True)
    return path


def nested(row: dict, dotted: str):
    """A metric from a history row, whether the server flattened nested keys or not."""
    if dotted in row:
        return row[dotted]
    value = row
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def download_media(run, ref, what: str, root: str) -> bytes:
    """A media file the summary references, checked against the sha256 the SDK
    recorded when it wrote the file: any changed byte fails, whatever the format."""
    if not hasattr(ref, "get") or not ref.get("path"):
        raise CheckFailed(f"{what}: the summary has no media reference (got {ref!r:.120})")
    data = download(run, ref["path"], root)
    verify_digest(ref, data, what)
    return data


def verify_digest(ref, data: bytes, what: str) -> None:
    """Fails when `data` is not the file the SDK wrote for the media reference `ref`."""
    want = ref.get("sha256")
    if want and sha256(data) != want:
        raise CheckFailed(
            f"{what}: stored file {ref['path']} differs from what the SDK "
            f"wrote (sha256 {sha256(data)[:12]}..., expected {want[:12]}...; "
            f"{len(data)} bytes)"
        )
