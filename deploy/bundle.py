"""Image bundles for hosts that cannot pull: every image of the configured compose
files in one tar with a manifest and checksum, loaded and verified on the other side.

Format: an uncompressed tar holding `manifest.json` (images, sha256 and size of the
payload) and `images.tar` (`docker save` of all of them). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from deploy import __version__
from deploy.errors import EXIT_FAILED, EXIT_OK, KitError

MANIFEST, PAYLOAD = "manifest.json", "images.tar"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(4 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _docker(*args: str, capture: bool = True) -> str:
    r = subprocess.run(["docker", *args], capture_output=capture, text=True)
    if r.returncode != 0:
        raise KitError(
            f"`docker {' '.join(args[:2])}` failed: {(r.stderr or '').strip()[-500:]}",
            fix="is the Docker engine running? (`docker info`)",
            exit_code=EXIT_FAILED,
        )
    return r.stdout or ""


def images_of(stack) -> list[str]:
    out = stack.compose.run("config", "--images", capture=True).stdout
    return sorted({line.strip() for line in out.splitlines() if line.strip()})


def save(images: list[str], target: Path, log=print) -> dict:
    missing = [
        i
        for i in images
        if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode != 0
    ]
    if missing:
        raise KitError(
            f"not on this host: {', '.join(missing)}",
            fix="pull them first (`docker compose pull` in compose/), on a host "
            "that can reach the registry",
        )
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        payload = Path(tmp) / PAYLOAD
        log(f"saving {len(images)} images")
        _docker("save", "-o", str(payload), *images)
        manifest = {
            "kit_version": __version__,
            "images": images,
            "sha256": _sha256(payload),
            "size": payload.stat().st_size,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(Path(tmp) / MANIFEST, arcname=MANIFEST)
            tar.add(payload, arcname=PAYLOAD)
        partial.rename(target)
    log(f"bundle {target} ({manifest['size'] >> 20} MiB): {', '.join(images)}")
    return manifest


def load(bundle: Path, log=print) -> dict:
    if not bundle.is_file():
        raise KitError(f"{bundle} does not exist", fix="give the path of a bundle file")
    try:
        with tarfile.open(bundle) as tar, tempfile.TemporaryDirectory() as tmp:
            names = tar.getnames()
            if MANIFEST not in names or PAYLOAD not in names:
                raise KitError(
                    f"{bundle} is not a wandb-kit bundle (no {MANIFEST}/{PAYLOAD})",
                    fix="make one with `wandb-kit bundle save`",
                )
            tar.extractall(
                tmp, members=[tar.getmember(MANIFEST), tar.getmember(PAYLOAD)], filter="data"
            )
            manifest = json.loads((Path(tmp) / MANIFEST).read_text())
            payload = Path(tmp) / PAYLOAD
            if _sha256(payload) != manifest.get("sha256"):
                raise KitError(
                    f"{bundle}: images.tar does not match its checksum (damaged in transfer?)",
                    fix="copy the bundle again; nothing was loaded",
                )
            log(f"checksum ok; loading {len(manifest['images'])} images")
            _docker("load", "-i", str(payload))
    except (tarfile.TarError, EOFError) as err:
        raise KitError(
            f"{bundle} is not a readable tar ({err})",
            fix="copy the bundle again; nothing was loaded",
        )
    for image in manifest["images"]:
        _docker("image", "inspect", image)
    log(f"loaded: {', '.join(manifest['images'])}")
    return manifest


def configure(p: argparse.ArgumentParser) -> None:
    from deploy.stack import add_location_options

    add_location_options(p)
    p.add_argument("action", choices=["save", "load"])
    p.add_argument(
        "file", type=Path, nargs="?", help="bundle file (save: default wandb-kit-images-<date>.tar)"
    )


def cmd_bundle(args) -> int:
    if args.action == "load":
        if not args.file:
            raise KitError("bundle load needs FILE", fix="wandb-kit bundle load FILE")
        load(args.file)
        return EXIT_OK
    from deploy.backup import Stack

    stack = Stack.from_env(args.compose_dir, args.env_file or args.compose_dir / ".env")
    target = args.file or Path(f"wandb-kit-images-{time.strftime('%Y%m%d')}.tar")
    save(images_of(stack), target.resolve())
    return EXIT_OK
