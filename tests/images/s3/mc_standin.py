"""A minimal stand-in for MinIO's `mc` client, for tests only.

Implements the subcommands the kit's compose files run, with mc's syntax, so the
test overlay swaps only the image, never the command:
  mc alias set ALIAS URL ACCESS_KEY SECRET_KEY [--api s3v4]
  mc mb [--ignore-existing|-p] [--region REGION] ALIAS/BUCKET
  mc ready ALIAS            (exit 0 when the server answers its health endpoint)
  mc mirror [--overwrite] SRC DST   (ALIAS/BUCKET -> local dir, or local dir -> ALIAS/BUCKET)
The alias `local` (http://localhost:9000, MINIO_ROOT_USER/PASSWORD) exists by
default, as in the minio image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

CONFIG = Path(os.environ.get("MC_CONFIG_DIR", str(Path.home() / ".mc"))) / "config.json"


def load_aliases() -> dict:
    aliases = {
        "local": {
            "url": "http://localhost:9000",
            "accessKey": os.environ.get("MINIO_ROOT_USER", "minioadmin"),
            "secretKey": os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin"),
        }
    }
    if CONFIG.exists():
        aliases.update(json.loads(CONFIG.read_text()).get("aliases", {}))
    return aliases


def save_alias(name: str, url: str, key: str, secret: str) -> None:
    data = json.loads(CONFIG.read_text()) if CONFIG.exists() else {"aliases": {}}
    data["aliases"][name] = {"url": url, "accessKey": key, "secretKey": secret}
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(json.dumps(data))
    CONFIG.chmod(0o600)


def s3_client(alias: dict, region: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=alias["url"],
        aws_access_key_id=alias["accessKey"],
        aws_secret_access_key=alias["secretKey"],
        region_name=region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def _remote(aliases: dict, spec: str):
    name, _, bucket = spec.partition("/")
    return (name, bucket) if name in aliases and "/" in spec and not spec.startswith("/") else None


def mirror_cmd(aliases: dict, source: str, target: str) -> int:
    """Copies every object of a bucket to a directory (keys as paths), or back."""
    src, dst = _remote(aliases, source), _remote(aliases, target)
    count = 0
    if src and not dst:
        client = s3_client(aliases[src[0]], "us-east-1")
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=src[1]):
            for obj in page.get("Contents", []):
                path = Path(target, obj["Key"])
                path.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(src[1], obj["Key"], str(path))
                count += 1
    elif dst and not src:
        client = s3_client(aliases[dst[0]], "us-east-1")
        root = Path(source)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            client.upload_file(str(path), dst[1], path.relative_to(root).as_posix())
            count += 1
    else:
        print("mc: <ERROR> mirror needs one ALIAS/BUCKET and one local directory", file=sys.stderr)
        return 1
    print(f"mirrored {count} objects")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mc")
    sub = parser.add_subparsers(dest="cmd", required=True)
    alias = sub.add_parser("alias").add_subparsers(dest="action", required=True)
    alias_set = alias.add_parser("set")
    alias_set.add_argument("name")
    alias_set.add_argument("url")
    alias_set.add_argument("access_key")
    alias_set.add_argument("secret_key")
    alias_set.add_argument("--api", default="s3v4")
    mb = sub.add_parser("mb")
    mb.add_argument("target")
    mb.add_argument("--ignore-existing", "-p", action="store_true")
    mb.add_argument("--region", default="us-east-1")
    ready = sub.add_parser("ready")
    ready.add_argument("name")
    mirror = sub.add_parser("mirror")
    mirror.add_argument("source")
    mirror.add_argument("target")
    mirror.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    if args.cmd == "alias":
        save_alias(args.name, args.url, args.access_key, args.secret_key)
        print(f"Added `{args.name}` successfully.")
        return 0
    aliases = load_aliases()
    if args.cmd == "ready":
        url = aliases[args.name]["url"].rstrip("/") + "/minio/health/live"
        try:
            urllib.request.urlopen(url, timeout=3)
        except OSError as err:
            print(f"The cluster is unreachable: {err}", file=sys.stderr)
            return 1
        print(f"The cluster '{args.name}' is ready")
        return 0
    if args.cmd == "mirror":
        return mirror_cmd(aliases, args.source, args.target)
    name, _, bucket = args.target.partition("/")
    client = s3_client(aliases[name], args.region)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket in existing:
        if args.ignore_existing:
            print(f"Bucket `{args.target}` already exists.")
            return 0
        print(
            f"mc: <ERROR> Unable to make bucket `{args.target}`. Your previous request to "
            "create the named bucket succeeded and you already own it.",
            file=sys.stderr,
        )
        return 1
    client.create_bucket(Bucket=bucket)
    print(f"Bucket created successfully `{args.target}`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
