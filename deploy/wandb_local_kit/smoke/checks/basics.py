"""Run basics: config, tags, notes, name, job type, 100 scalar steps, summary,
history read back through run.history() and run.scan_history()."""

from __future__ import annotations

from wandb_local_kit.smoke import evidence, sdk
from wandb_local_kit.smoke.context import Recorder, SmokeContext, expect, expect_true

STEPS = 100
CONFIG = {
    "lr": 0.0003,
    "epochs": 12,
    "layers": [64, 32, 16],
    "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "fused": False},
    "dataset": "cifar-10 (naïve split) ✓",
}
NOTES = "wandb-kit smoke: run basics"


def row(step: int) -> dict:
    return {"loss": 1.0 / (step + 1), "acc": step / STEPS, "nested": {"a": step, "b": -2 * step}}


def run_basics(ctx: SmokeContext, rec: Recorder) -> None:
    run = sdk.init(
        ctx, "basics", config=CONFIG, notes=NOTES, job_type="smoke-basics", tags=["basics"]
    )
    for step in range(STEPS):
        run.log(row(step), step=step)
    run.summary["best_acc"] = 0.99
    run.summary["final"] = {"epoch": 12, "split": "val"}
    path, name = sdk.run_path(run), run.name
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, path))

    back = sdk.fetch_run(path)
    expect("config", CONFIG, {k: back.config.get(k) for k in CONFIG})
    rec.compared_("config (nested, lists, strings)")
    expect_true("tags", {ctx.tag, "basics"} <= set(back.tags), f"server has {back.tags}")
    expect("notes", NOTES, back.notes)
    expect("name", name, back.name)
    expect("job_type", "smoke-basics", back.job_type)
    rec.compared_("tags, notes, name, job_type")
    expect("summary.best_acc", 0.99, back.summary.get("best_acc"))
    expect("summary.final", {"epoch": 12, "split": "val"}, dict(back.summary.get("final") or {}))
    expect("summary.loss (last step)", row(STEPS - 1)["loss"], back.summary.get("loss"))
    rec.compared_("summary")

    want = [row(s) for s in range(STEPS)]
    sampled = sorted(back.history(samples=STEPS * 2, pandas=False), key=lambda r: r["_step"])
    scanned = sorted(back.scan_history(), key=lambda r: r["_step"])
    read = [(r["_step"], r["loss"]) for r in scanned if r.get("loss") is not None]
    rec.show(
        evidence.plot(
            "loss over steps (scan_history)",
            evidence.series(range(STEPS), [row(s)["loss"] for s in range(STEPS)]),
            evidence.series([s for s, _ in read], [v for _, v in read]),
        )
    )
    for label, rows in (("run.history()", sampled), ("run.scan_history()", scanned)):
        expect(f"{label} steps", list(range(STEPS)), [r["_step"] for r in rows])
        got = [
            {
                "loss": r.get("loss"),
                "acc": r.get("acc"),
                "nested": {"a": sdk.nested(r, "nested.a"), "b": sdk.nested(r, "nested.b")},
            }
            for r in rows
        ]
        expect(f"{label} values", want, got)
    rec.compared_(f"{STEPS} history rows via history() and scan_history()")
