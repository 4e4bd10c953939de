"""Run files: wandb.save of a file whose name has spaces and special characters,
listed by the server and downloaded byte-identical."""

from __future__ import annotations

import os

from wandb_local_kit.smoke import evidence, sdk
from wandb_local_kit.smoke.context import Recorder, SmokeContext, expect, expect_true

NAME = "results (v1) #2 & ünïcode+plus=sign.txt"


def run_files(ctx: SmokeContext, rec: Recorder) -> None:
    src_dir = sdk.scratch(ctx, "files-src")
    content = ("line ✓ " * 50 + "\n").encode() * 200 + os.urandom(4096)
    with open(os.path.join(src_dir, NAME), "wb") as f:
        f.write(content)
    run = sdk.init(ctx, "files", tags=["files"])
    run.save(os.path.join(src_dir, NAME), base_path=src_dir, policy="now")
    path = sdk.run_path(run)
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, path))
    back = sdk.fetch_run(path)
    listed = {f.name: f for f in back.files()}
    names = list(listed)
    got = None
    if NAME in listed:
        got = sdk.download(back, NAME, sdk.scratch(ctx, "files-down"))
    columns = ["name", "size (bytes)", "sha256"]
    rec.show(
        evidence.table(
            "the saved file",
            columns,
            [[NAME, len(content), sdk.sha256(content)]],
            columns,
            None if got is None else [[NAME, len(got), sdk.sha256(got)]],
            "" if got is not None else f"not listed by the server (it lists {names[:8]})",
        )
    )
    expect_true("file listed", NAME in names, f"server lists {names}")
    assert got is not None  # listed, so downloaded
    expect("downloaded bytes (sha256)", sdk.sha256(content), sdk.sha256(got))
    rec.compared_(f"wandb.save of {len(content)} bytes with special characters: sha256")
