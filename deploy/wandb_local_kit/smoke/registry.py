"""Every check of the suite: name, what it covers, where it lives, what it needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    covers: str
    target: str  # "module:function" run in a worker process
    needs: tuple[str, ...] = ()  # optional modules; missing -> SKIPPED with install hint
    install: str = ""
    weight: int = 1  # rough cost, so the heaviest start first


MEDIA = "pip install 'wandb-local-kit[media]'"
TORCH = (
    "pip install 'wandb-local-kit[torch]' (CPU-only hosts: pip install torch "
    "--index-url https://download.pytorch.org/whl/cpu first)"
)
CHECKS: list[Check] = [
    Check(
        "basics",
        "config, tags, notes, name, job type, 100 steps, summary, history",
        "wandb_local_kit.smoke.checks.basics:run_basics",
    ),
    Check(
        "images",
        "numpy, PIL and captioned lists of images: pixels",
        "wandb_local_kit.smoke.checks.media:run_images",
        ("numpy", "PIL"),
        MEDIA,
    ),
    Check(
        "video",
        "gif and mp4 from a (T, C, H, W) array: decodable, frames",
        "wandb_local_kit.smoke.checks.media:run_video",
        ("numpy", "moviepy", "imageio"),
        MEDIA,
        2,
    ),
    Check(
        "plots",
        "plotly figure and matplotlib converted to plotly: trace data",
        "wandb_local_kit.smoke.checks.media:run_plots",
        ("plotly", "matplotlib"),
        MEDIA,
    ),
    Check(
        "table",
        "table file and run-table artifact: every cell",
        "wandb_local_kit.smoke.checks.media:run_table",
        ("numpy",),
        MEDIA,
    ),
    Check(
        "html",
        "HTML from a string and a file: bytes",
        "wandb_local_kit.smoke.checks.media:run_html",
    ),
    Check(
        "audio-histogram",
        "audio samples and histogram counts/edges",
        "wandb_local_kit.smoke.checks.media:run_audio_histogram",
        ("numpy", "soundfile"),
        MEDIA,
    ),
    Check(
        "group",
        "several processes in one group, each with its own history",
        "wandb_local_kit.smoke.checks.processes:run_group",
        (),
        "",
        2,
    ),
    Check(
        "torch",
        "wandb.watch gradient and parameter histograms",
        "wandb_local_kit.smoke.checks.torch_watch:run_torch_watch",
        ("torch",),
        TORCH,
        2,
    ),
    Check(
        "files",
        "wandb.save of a file with special characters: bytes",
        "wandb_local_kit.smoke.checks.files:run_files",
    ),
    Check(
        "artifacts",
        "dataset/derived/model artifacts: digests, lineage, aliases, versions",
        "wandb_local_kit.smoke.checks.artifacts:run_artifacts",
        (),
        "",
        3,
    ),
    Check(
        "large-artifact",
        "one large artifact (default 64 MiB) up and down",
        "wandb_local_kit.smoke.checks.artifacts:run_large_artifact",
        (),
        "",
        2,
    ),
    Check(
        "sweeps",
        "grid and random sweeps with agents; two parallel agents",
        "wandb_local_kit.smoke.checks.sweeps:run_sweeps",
        (),
        "",
        4,
    ),
    Check(
        "offline",
        "offline run + wandb sync: config, history, image",
        "wandb_local_kit.smoke.checks.offline:run_offline",
        ("numpy", "PIL"),
        MEDIA,
        2,
    ),
    Check(
        "transport",
        "10 MB POST, signed-URL upload, CORS and https (warnings)",
        "wandb_local_kit.smoke.checks.transport:run_transport",
    ),
    Check(
        "teams",
        "team project: a member's run read by a teammate, refused to an outsider",
        "wandb_local_kit.smoke.checks.teams:run_teams",
    ),
    Check(
        "concurrency",
        "N runs at once all complete and read back",
        "wandb_local_kit.smoke.checks.processes:run_concurrency",
        (),
        "",
        3,
    ),
]
BY_NAME = {c.name: c for c in CHECKS}


def select(only: list[str] | None, skip: list[str] | None) -> list[Check]:
    unknown = [n for n in (only or []) + (skip or []) if n not in BY_NAME]
    if unknown:
        from wandb_local_kit.core.errors import KitError

        raise KitError(
            f"unknown check(s): {', '.join(unknown)}", fix=f"choose from: {', '.join(BY_NAME)}"
        )
    chosen = [c for c in CHECKS if (not only or c.name in only) and c.name not in (skip or [])]
    return sorted(chosen, key=lambda c: -c.weight)
