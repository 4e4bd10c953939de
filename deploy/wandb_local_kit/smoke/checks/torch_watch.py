"""PyTorch: wandb.watch on a small model trained on CPU logs gradient and parameter
histograms into the history."""

from __future__ import annotations

from wandb_local_kit.smoke import sdk
from wandb_local_kit.smoke.context import Recorder, Skipped, SmokeContext, expect_true

STEPS = 5


def run_torch_watch(ctx: SmokeContext, rec: Recorder) -> None:
    try:
        import torch
    except ImportError:
        raise Skipped(
            "needs torch; install: pip install 'wandb-local-kit[torch]' "
            "(CPU-only hosts: pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu first)"
        )
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = sdk.init(ctx, "torch-watch", tags=["torch"])
    run.watch(model, log="all", log_freq=1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    for step in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()}, step=step)
    path = sdk.run_path(run)
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, path))
    back = sdk.fetch_run(path)
    rows = list(back.scan_history())
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    names = [n for n, _ in model.named_parameters()]
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
