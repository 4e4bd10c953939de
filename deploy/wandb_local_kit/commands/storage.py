"""`wandb-kit migrate-minio`: a previous kit's MinIO bucket into SeaweedFS, once."""

from __future__ import annotations

import argparse
import os

from wandb_local_kit.commands.argtypes import file_path
from wandb_local_kit.commands.common import add_location_options, deployment
from wandb_local_kit.core.errors import EXIT_OK
from wandb_local_kit.ops import minio_migration as mm


def configure_migrate_minio(p: argparse.ArgumentParser) -> None:
    add_location_options(p)
    p.add_argument("--volume", help="the old MinIO volume (default: PROJECT_minio-data)")
    p.add_argument(
        "--minio-image",
        default=os.environ.get("MINIO_MIGRATE_IMAGE", mm.MINIO_IMAGE),
        help="image that reads the old volume (default: %(default)s)",
    )
    p.add_argument("--old-bucket", help="bucket name in MinIO (default: WANDB_BUCKET_NAME)")
    p.add_argument("--ca-file", type=file_path, help="CA to trust for an https bucket endpoint")


def migrate_minio(args) -> int:
    dep = deployment(args)
    with dep.locked("migrate-minio"):
        mm.migrate(dep, args.volume, args.minio_image, args.old_bucket, args.ca_file)
    return EXIT_OK
