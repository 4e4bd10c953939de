"""PyTorch: wandb.watch on a small model trained on CPU logs gradient and parameter
histograms into the history."""

from __future__ import annotations

from wandb_local_kit.smoke import evidence, sdk
from wandb_local_kit.smoke.context import Recorder, SmokeContext, expect, expect_true, need
from wandb_local_kit.smoke.registry import TORCH

STEPS = 5


def run_torch_watch(ctx: SmokeContext, rec: Recorder) -> None:
    torch = need("torch", TORCH)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = sdk.init(ctx, "torch-watch", tags=["torch"])
    logged = _tap(run)
    run.watch(model, log="all", log_freq=1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    for step in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()}, step=step)
        # run.log(step=N) leaves row N open until a later step arrives: the histograms
        # the hooks log next (commit=False) land in row N, replacing what it held.
        logged["step"] = step
    path = sdk.run_path(run)
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, path))
    back = sdk.fetch_run(path)
    rows = list(back.scan_history())
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    names = [n for n, _ in model.named_parameters()]
    read = _read_histograms(rows)
    for prefix in ("gradients", "parameters"):
        for name in names:
            key = f"{prefix}/{name}"
            rec.show(
                evidence.histograms(
                    f"{key} at every step",
                    logged["hists"].get(key, {}),
                    read.get(key),
                    "" if key in read else "no histogram for this tensor came back",
                )
            )
    for prefix in ("gradients", "parameters"):
        for name in names:
            key = f"{prefix}/{name}"
            expect_true(
                f"{key} histogram",
                key in keys,
                f"missing from history (has {sorted(k for k in keys if '/' in k)[:6]})",
            )
            hists = [r[key] for r in rows if isinstance(r.get(key), dict)]
            expect_true(
                f"{key} histogram content",
                bool(hists)
                and all(h.get("_type") == "histogram" and h.get("values") for h in hists),
                "rows are not histograms with values",
            )
    rec.compared_(f"wandb.watch: gradient and parameter histograms for {len(names)} tensors")
    for key, by_step in sorted(logged["hists"].items()):
        expect(f"{key}: steps with a histogram", sorted(by_step), sorted(read.get(key, {})))
        for step, (counts, edges) in sorted(by_step.items()):
            got = read.get(key, {}).get(step)
            expect_true(f"{key} histogram at step {step}", got is not None, "not read back")
            expect(f"{key} histogram at step {step} counts", counts, got[0])
            expect(f"{key} histogram at step {step} bin edges", edges, got[1], tol=1e-6)
    steps = max((len(v) for v in logged["hists"].values()), default=0)
    rec.compared_(f"every histogram's counts and bin edges at each of its {steps} steps")


def _tap(run) -> dict:
    """Records the histograms wandb.watch hands the run (its hooks call run._log) by
    the history row they go into (the open row: the last step logged, and 0 before any),
    the last one per row winning as it does in the SDK, so the report can show what was
    logged; the run gets them unchanged."""
    logged: dict = {"step": 0, "hists": {}}
    original = run._log

    def tap(data, *args, **kwargs):
        for key, value in data.items():
            if key.startswith(("gradients/", "parameters/")) and hasattr(value, "histogram"):
                logged["hists"].setdefault(key, {})[logged["step"]] = (
                    [float(v) for v in value.histogram],
                    [float(v) for v in value.bins],
                )
        return original(data, *args, **kwargs)

    run._log = tap
    return logged


def _read_histograms(rows: list[dict]) -> dict:
    """{key: {step: (counts, edges)}} of every histogram in the history read back."""
    out: dict = {}
    for r in rows:
        for key, value in r.items():
            if isinstance(value, dict) and value.get("_type") == "histogram":
                out.setdefault(key, {})[r.get("_step")] = (
                    [float(v) for v in value.get("values") or []],
                    [float(v) for v in value.get("bins") or []],
                )
    return out
