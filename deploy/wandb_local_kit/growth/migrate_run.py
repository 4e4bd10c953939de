"""The migration: plan what there is on the source, copy it run by run with bounded
concurrency and a state file, count it (dry run), and verify both sides.

Order matters for artifacts: version numbers are given by the order versions are logged,
and a run can only use a version that exists. So runs that log or use artifacts are copied
one at a time in the order the source created them; the other runs go in parallel.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_UNREACHABLE, KitError
from wandb_local_kit.growth.migrate_state import State


@dataclass
class Job:
    source: str
    target: str
    source_key: str
    target_key: str
    entity: str = ""
    to_entity: str = ""
    projects: list[str] = field(default_factory=list)
    state_path: Path | None = None
    concurrency: int = 2
    out: TextIO | None = None  # where progress goes (default stderr)

    def say(self, text: str) -> None:
        print(text, file=self.out or sys.stderr, flush=True)


@dataclass
class Planned:
    path: str  # entity/project/id on the source
    created: str
    artifacts: bool  # logs or uses artifacts: copied in order, one at a time
    sweep: str = ""  # entity/project/sweep id on the source


def _api(url: str, key: str):
    import wandb

    return wandb.Api(api_key=key, overrides={"base_url": url}, timeout=60)


def _reach(job: Job):
    """Both Apis, checked: an unreachable server or a rejected key stops here, by name."""
    import wandb

    out = []
    for role, url, key in (
        ("source", job.source, job.source_key),
        ("target", job.target, job.target_key),
    ):
        try:
            api = _api(url, key)
            api.viewer  # noqa: B018 - the first request: checks URL and key
        except (wandb.errors.CommError, wandb.errors.AuthenticationError, ValueError) as err:
            from wandb_local_kit.core.redact import redact

            reason = redact(str(err)[:200], extra=[job.source_key, job.target_key])
            raise KitError(
                f"the {role} server {url} did not accept the request: {reason}",
                fix=f"check the URL and the {role} API key "
                f"({'WANDB_FROM_API_KEY' if role == 'source' else 'WANDB_TO_API_KEY'})",
                exit_code=EXIT_UNREACHABLE,
            ) from None
        out.append(api)
    return out


def entity_of(job: Job, src_api) -> tuple[str, str]:
    entity = job.entity or src_api.default_entity
    if not entity:
        raise KitError("the source key has no default entity", fix="pass --entity NAME")
    return entity, job.to_entity or entity


def plan(job: Job, src_api) -> tuple[str, list[str], list[Planned]]:
    entity, _ = entity_of(job, src_api)
    projects = job.projects or sorted(p.name for p in src_api.projects(entity))
    planned: list[Planned] = []
    for project in projects:
        for run in src_api.runs(f"{entity}/{project}", order="+created_at", per_page=200):
            # Cheap test for artifacts: the run's logged/used lists (one query each).
            arts = bool(list(run.logged_artifacts())) or bool(list(run.used_artifacts()))
            sweep = run.sweep_name or ""
            planned.append(
                Planned(
                    path=f"{entity}/{project}/{run.id}",
                    created=run.created_at,
                    artifacts=arts,
                    sweep=f"{entity}/{project}/{sweep}" if sweep else "",
                )
            )
    return entity, projects, planned


def dry_run(job: Job) -> dict:
    src_api, _ = _reach(job)
    entity, projects, planned = plan(job, src_api)
    counts = {
        "projects": len(projects),
        "runs": len(planned),
        "history_rows": 0,
        "files": 0,
        "file_bytes": 0,
        "artifact_versions": 0,
        "artifact_bytes": 0,
        "sweeps": len({p.sweep for p in planned if p.sweep}),
    }
    seen = set()
    for p in planned:
        run = src_api.run(p.path)
        counts["history_rows"] += int(run._attrs.get("historyLineCount") or 0)
        for f in run.files():
            counts["files"] += 1
            counts["file_bytes"] += int(f.size or 0)
        for art in run.logged_artifacts():
            if art.id not in seen:
                seen.add(art.id)
                counts["artifact_versions"] += 1
                counts["artifact_bytes"] += int(art.size or 0)
    state = State.load(job.state_path, job.source, job.target)
    done = sum(1 for p in planned if state.done(p.path))
    job.say(
        f"dry run: {entity} -> {job.to_entity or entity}: {counts['projects']} project(s), "
        f"{counts['runs']} run(s) ({done} already copied), {counts['history_rows']} history "
        f"rows, {counts['files']} files ({counts['file_bytes'] / 2**20:.1f} MiB), "
        f"{counts['artifact_versions']} artifact versions "
        f"({counts['artifact_bytes'] / 2**20:.1f} MiB), {counts['sweeps']} sweep(s); nothing "
        "was changed"
    )
    counts["already_copied"] = done
    return counts


def _make_sweeps(job: Job, src_api, planned: list[Planned], state: State, to_entity, pool):
    """Sweeps get new ids on the target (the API cannot choose one); the map is kept in
    the state file, so a redo reuses the sweep made the first time. Made in a worker:
    only the workers' SDK is pointed at the target."""
    from wandb_local_kit.growth import migrate_copy

    for sweep_path in sorted({p.sweep for p in planned if p.sweep}):
        if sweep_path in state.sweeps:
            continue
        config = migrate_copy.plain(src_api.sweep(sweep_path).config)
        _, project, _ = sweep_path.split("/")
        new_id = pool.submit(migrate_copy.make_sweep, config, to_entity, project).result()
        state.sweeps[sweep_path] = new_id
        state.save()
        job.say(f"sweep {sweep_path} -> {to_entity}/{project}/{new_id}")


def copy(job: Job) -> dict:
    """Copies everything planned that the state file does not list as done."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    from wandb_local_kit.growth import migrate_copy

    src_api, _ = _reach(job)
    entity, projects, planned = plan(job, src_api)
    _, to_entity = entity_of(job, src_api)
    state = State.load(job.state_path, job.source, job.target)
    state.projects = sorted(set(state.projects) | {f"{entity}/{p}" for p in projects})
    todo = [p for p in planned if not state.done(p.path)]
    job.say(
        f"copy: {len(planned)} run(s) planned, {len(planned) - len(todo)} done before, "
        f"{len(todo)} to copy, {job.concurrency} at a time"
    )
    env_keys = {"WANDB_FROM_API_KEY": job.source_key, "WANDB_TO_API_KEY": job.target_key}
    os.environ.update(env_keys)  # inherited by the workers; never on a command line
    totals = {"runs": 0, "rows": 0, "files": 0, "bytes": 0, "artifacts": 0, "seconds": 0.0}
    started = time.monotonic()

    def task(p: Planned) -> dict:
        state.runs[p.path] = {"status": "started"}
        state.save()
        sweep = state.sweeps.get(p.sweep, "") if p.sweep else ""
        return {"path": p.path, "to_entity": to_entity, "sweep_id": sweep}

    def finished(result: dict) -> None:
        state.runs[result["path"]] = {
            "status": "done",
            **{k: result[k] for k in ("rows", "files", "bytes", "artifacts")},
        }
        state.save()
        for k in ("rows", "files", "bytes", "artifacts"):
            totals[k] += result[k]
        totals["runs"] += 1
        job.say(
            f"[{totals['runs']}/{len(todo)}] {result['path']}: {result['rows']} rows, "
            f"{result['files']} files, {result['artifacts']} artifacts, "
            f"{result['bytes'] / 2**20:.1f} MiB in {result['seconds']:.1f}s"
            + (" (resumed)" if result["resumed"] else "")
        )

    failures: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=job.concurrency,
        mp_context=ctx,
        initializer=migrate_copy.worker_init,
        initargs=(job.source, job.target),
    ) as pool:
        _make_sweeps(job, src_api, planned, state, to_entity, pool)
        # Artifact runs: one at a time, in creation order.
        for p in [p for p in todo if p.artifacts]:
            try:
                finished(pool.submit(migrate_copy.copy_run, task(p)).result())
            except Exception as err:  # one run's failure is reported; the rest go on
                failures.append(_failure(p, err, job))
        pending: dict[Future[dict], Planned] = {}
        queue = [p for p in todo if not p.artifacts]
        while queue or pending:
            while queue and len(pending) < job.concurrency:
                p = queue.pop(0)
                pending[pool.submit(migrate_copy.copy_run, task(p))] = p
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                p = pending.pop(fut)
                try:
                    finished(fut.result())
                except Exception as err:
                    failures.append(_failure(p, err, job))
    totals["seconds"] = time.monotonic() - started
    _report(job, totals, failures)
    return totals


def _report(job: Job, totals: dict, failures: list[str]) -> None:
    """copy()'s closing lines; KitError when a run failed."""
    job.say(
        f"copied {totals['runs']} run(s), {totals['rows']} rows, {totals['files']} files, "
        f"{totals['artifacts']} artifact versions, {totals['bytes'] / 2**20:.1f} MiB in "
        f"{totals['seconds']:.1f}s"
    )
    if failures:
        for f in failures:
            job.say(f"failed: {f}")
        raise KitError(
            f"{len(failures)} run(s) failed to copy",
            fix="fix the cause above and run the same command again: finished runs are "
            "skipped, unfinished ones resumed",
            exit_code=EXIT_FAILED,
        )


def _failure(p: Planned, err: Exception, job: Job) -> str:
    from wandb_local_kit.core.redact import redact

    text = redact(str(err)[:300], extra=[job.source_key, job.target_key])
    return f"{p.path}: {type(err).__name__}: {text}"


def verify(job: Job) -> list[str]:
    from wandb_local_kit.growth import migrate_verify

    src_api, dst_api = _reach(job)
    entity, projects, planned = plan(job, src_api)
    _, to_entity = entity_of(job, src_api)
    state = State.load(job.state_path, job.source, job.target)
    job.say(f"verify: {len(planned)} run(s) in {len(projects)} project(s)")
    return migrate_verify.compare(src_api, dst_api, planned, projects, entity, to_entity, state)
