"""The verification pass: reads both servers and names every difference in what was
copied. Values are compared with the smoke suite's `diff` (wandb_local_kit.smoke.context), which
names each differing path; floats compare exactly (tolerance 1e-12), since a copy must not
change a number.

What counts as the same (the SDK decides what a copy can be): the state is the one a copy
can have (crashed/killed runs become failed); _runtime/_timestamp and the SDK's own files
(config.yaml, wandb-summary.json) are compared through config and summary instead; sweep
ids are new on the target, so a sweep is compared by its config and its runs.
"""

from __future__ import annotations

from wandb_local_kit.growth.migrate_copy import (
    SDK_FILES,
    VOLATILE,
    clean_config,
    clean_summary,
    plain,
    target_state,
)
from wandb_local_kit.smoke.context import diff

TOL = 1e-12


def _history(run) -> dict[int, dict]:
    rows = {}
    for row in run.scan_history(page_size=1000):
        rows[row.get("_step")] = {k: plain(v) for k, v in row.items() if k not in VOLATILE}
    return rows


def _artifacts(arts) -> dict[str, dict]:
    return {
        a.name: {
            "type": a.type,
            "digest": a.digest,
            "aliases": sorted(a.aliases),
            "metadata": plain(a.metadata),
            "description": a.description or "",
            "files": {e.path: e.digest for e in a.manifest.entries.values()},
        }
        for a in arts
    }


def compare_run(src, dst, sweep_ids: dict[str, str]) -> list[str]:
    out: list[str] = []
    where = f"{dst.entity}/{dst.project}/{dst.id}"

    def named(what: str, want, got) -> None:
        out.extend(f"{where} {what}{d}" for d in diff(want, got, tol=TOL))

    for field in ("name", "notes", "group", "job_type"):
        named(field, getattr(src, field) or "", getattr(dst, field) or "")
    named("tags", sorted(src.tags or []), sorted(dst.tags or []))
    named("state", target_state(src.state), dst.state)
    want_config, got_config = clean_config(src.config), clean_config(dst.config)
    named("config", want_config, got_config)
    out.extend(f"{where} config.{k}: not on the source" for k in set(got_config) - set(want_config))
    want_summary, got_summary = clean_summary(src.summary), clean_summary(dst.summary)
    named("summary", want_summary, got_summary)
    out.extend(
        f"{where} summary.{k}: not on the source" for k in set(got_summary) - set(want_summary)
    )
    want_rows, got_rows = _history(src), _history(dst)
    if set(want_rows) != set(got_rows):
        missing, extra = (
            sorted(set(want_rows) - set(got_rows)),
            sorted(set(got_rows) - set(want_rows)),
        )
        out.append(f"{where} history: steps missing {missing[:10]}, extra {extra[:10]}")
    for step in sorted(set(want_rows) & set(got_rows)):
        named(f"history[step {step}]", want_rows[step], got_rows[step])
    want_files = {f.name: (f.size, f.md5) for f in src.files() if f.name not in SDK_FILES}
    got_files = {f.name: (f.size, f.md5) for f in dst.files() if f.name not in SDK_FILES}
    named("files", want_files, got_files)
    named(
        "logged artifacts", _artifacts(src.logged_artifacts()), _artifacts(dst.logged_artifacts())
    )
    named(
        "used artifacts",
        sorted(a.name for a in src.used_artifacts()),
        sorted(a.name for a in dst.used_artifacts()),
    )
    if src.sweep_name:
        want_sweep = sweep_ids.get(f"{src.entity}/{src.project}/{src.sweep_name}", "")
        if dst.sweep_name != want_sweep:
            out.append(f"{where} sweep: {dst.sweep_name!r}, expected {want_sweep!r}")
    return out


def compare(src_api, dst_api, planned, projects, entity, to_entity, state) -> list[str]:
    import wandb

    out: list[str] = []
    for project in projects:
        src_ids = {r.id for r in src_api.runs(f"{entity}/{project}", per_page=200)}
        try:
            dst_runs = list(dst_api.runs(f"{to_entity}/{project}", per_page=200))
        except (wandb.errors.CommError, ValueError):
            dst_runs = []
        dst_ids = [r.id for r in dst_runs]
        for run_id in sorted(src_ids - set(dst_ids)):
            out.append(f"{to_entity}/{project}/{run_id}: run missing on the target")
        for run_id in sorted({i for i in dst_ids if dst_ids.count(i) > 1}):
            out.append(f"{to_entity}/{project}/{run_id}: run exists {dst_ids.count(run_id)} times")
        for run_id in sorted(set(dst_ids) - src_ids):
            out.append(f"{to_entity}/{project}/{run_id}: run on the target is not on the source")
    for p in planned:
        src = src_api.run(p.path)
        _, project, run_id = p.path.split("/")
        try:
            dst = dst_api.run(f"{to_entity}/{project}/{run_id}")
        except (wandb.errors.CommError, ValueError):
            continue  # reported above
        out += compare_run(src, dst, state.sweeps)
    for sweep_path, new_id in state.sweeps.items():
        _, project, _ = sweep_path.split("/")
        try:
            want = plain(src_api.sweep(sweep_path).config)
            got = plain(dst_api.sweep(f"{to_entity}/{project}/{new_id}").config)
        except (wandb.errors.CommError, ValueError) as err:
            out.append(f"sweep {sweep_path}: cannot read both sides ({str(err)[:120]})")
            continue
        out.extend(f"sweep {sweep_path} config{d}" for d in diff(want, got, tol=TOL))
    return out
