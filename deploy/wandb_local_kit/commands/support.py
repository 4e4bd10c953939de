"""`wandb-kit support-bundle`: one archive for an issue report, every secret replaced."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from wandb_local_kit.commands.argtypes import output_file
from wandb_local_kit.commands.common import add_location_options
from wandb_local_kit.core import files, locations
from wandb_local_kit.core.errors import EXIT_OK, KitError
from wandb_local_kit.ops import support_bundle as sb


def configure_support_bundle(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument(
        "--output",
        "-o",
        type=output_file,
        default=None,
        help="archive to write (default: wandb-kit-support-<time>.tar.gz here)",
    )
    p.add_argument(
        "--max-mib",
        type=int,
        default=sb.TOTAL_MAX_BYTES // (1024 * 1024),
        help="size cap of the bundle's content in MiB (default %(default)s)",
    )


def support_bundle(args) -> int:
    """Gathers what it can, even from a stack that is down or a .env that is broken."""
    compose_dir = args.compose_dir or locations.compose_dir()
    env_file = args.env_file or locations.default_env_file(compose_dir)
    out = args.output or Path(f"wandb-kit-support-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")
    if not out.name.endswith(".tar.gz"):
        raise KitError(f"{out} does not end in .tar.gz", fix="name the archive NAME.tar.gz")
    if args.max_mib < 1:
        raise KitError("--max-mib must be at least 1", fix="e.g. --max-mib 20")
    files.check_output(out, what="the support bundle")  # before minutes of gathering
    print(f"support-bundle: gathering from {compose_dir} (this takes up to a few minutes)")
    bundle = sb.gather(compose_dir, env_file, args.max_mib * 1024 * 1024)
    size = bundle.write(out)
    missing = {k: v for k, v in bundle.gathered.items() if v != "ok"}
    for part, why in missing.items():
        print(f"  {part}: {why[:200]}")
    print(
        f"wrote {out} ({size / 1024:.0f} KiB, {len(bundle.files)} files; secrets replaced; "
        "look through it before attaching it to a public issue)"
    )
    return EXIT_OK
