"""Image bundles for hosts that cannot pull: every image of the configured compose
files in one tarball, with checksums, verified before loading.

Format: the tarball `docker save` writes, plus one appended member,
`wandb-kit-bundle.json` (images, and the sha256 of every other member). `docker load`
ignores that member, so a bundle also loads with plain `docker load -i` (which is how
the Ansible role loads it); `wandb-kit bundle load` verifies every checksum first.
Standard library only.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from wandb_local_kit import __version__
from wandb_local_kit.core import files, progress
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack.compose import docker, image_present, require_engine

MANIFEST = "wandb-kit-bundle.json"


def _docker(*args: str) -> str:
    return docker(*args)


def images_of(stack) -> list[str]:
    from wandb_local_kit.stack.images import stack_images

    return stack_images(stack.compose)


def member_digests(tar: tarfile.TarFile, advance=lambda n: None) -> dict[str, str]:
    """sha256 of every regular member's content, except the kit's own manifest;
    advance(n) is told of every n bytes read (a progress bar)."""
    out = {}
    for member in tar:
        if member.isfile() and member.name != MANIFEST:
            digest, f = hashlib.sha256(), tar.extractfile(member)
            assert f is not None  # a regular member (isfile) always has content
            while chunk := f.read(4 << 20):
                digest.update(chunk)
                advance(len(chunk))
            out[member.name] = digest.hexdigest()
    return out


def _image_bytes(images: list[str]) -> int | None:
    """About what `docker save` will write (the images' sizes), for the progress bar."""
    try:
        sizes = _docker("image", "inspect", "--format", "{{.Size}}", *images).split()
        return sum(int(s) for s in sizes)
    except (KitError, ValueError):
        return None


def _docker_save(images: list[str], partial: Path) -> None:
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            ["docker", "save", "-o", str(partial), *images], stdout=subprocess.DEVNULL, stderr=err
        )
        code = progress.watch_file(partial, _image_bytes(images), "docker save", proc)
        if code != 0:
            err.seek(0)
            said = err.read().decode(errors="replace").strip()[-500:]
            partial.unlink(missing_ok=True)
            if "no space left" in said.lower():
                raise KitError(
                    f"`docker save` ran out of space in {partial.parent}; nothing was kept",
                    fix=f"free space there (`df -h {partial.parent}`) or save the bundle "
                    "on another disk",
                )
            raise KitError(
                f"`docker save` failed: {said}",
                fix="is the Docker engine running? (`docker info`)",
            )


def _docker_load(bundle: Path) -> None:
    """`docker load` fed from the file, so the bar shows the bytes the engine took."""
    with open(bundle, "rb") as f:
        code, err = progress.feed(["docker", "load"], f, bundle.stat().st_size, "docker load")
    if code != 0:
        raise KitError(
            f"`docker load` failed: {err.decode(errors='replace').strip()[-500:]}",
            fix="is the Docker engine running? (`docker info`)",
        )


def _check_room(target: Path, images: list[str]) -> None:
    """The bundle's place is a file this user can write, on a disk with room for the
    images: refused before minutes of `docker save`."""
    files.check_output(target, what="the bundle")
    needed = _image_bytes(images)
    folder = files.target_of(target).parent
    free = shutil.disk_usage(folder).free
    if needed and free < needed:
        raise KitError(
            f"the bundle needs about {needed >> 20} MiB but {folder} has {free >> 20} MiB free",
            fix=f"free space there (`df -h {folder}`) or save the bundle on another disk",
        )


def save(images: list[str], target: Path, log=print) -> dict:
    require_engine()
    missing = [i for i in images if not image_present(i)]
    if missing:
        raise KitError(
            f"not on this host: {', '.join(missing)}",
            fix="pull them first (`docker compose pull` in compose/), on a host "
            "that can reach the registry",
        )
    _check_room(target, images)
    target = files.target_of(target)  # a link is written through, as every kit file
    partial = target.with_name(target.name + ".partial")
    log(f"saving {len(images)} images")
    _docker_save(images, partial)
    with progress.bar("checksums", partial.stat().st_size) as advance:
        with tarfile.open(partial) as tar:
            members = member_digests(tar, advance)
    manifest = {
        "kit_version": __version__,
        "images": images,
        "members": members,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    data = json.dumps(manifest, indent=2).encode()
    with tarfile.open(partial, "a") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
    partial.rename(target)
    log(f"bundle {target} ({target.stat().st_size >> 20} MiB): {', '.join(images)}")
    return manifest


def verify(bundle: Path) -> dict:
    """The bundle's manifest, after every member matched its sha256."""
    if not bundle.is_file():
        raise KitError(f"{bundle} does not exist", fix="give the path of a bundle file")
    try:
        with tarfile.open(bundle) as tar:
            try:
                member = tar.extractfile(MANIFEST)
                if member is None:  # a folder or a device by that name: no manifest either
                    raise KeyError(MANIFEST)
                manifest = json.loads(member.read(files.DEFAULT_READ_LIMIT))
            except RecursionError:
                raise files.too_deep("the bundle's manifest", bundle) from None
            except KeyError:
                raise KitError(
                    f"{bundle} is not a wandb-kit bundle (no {MANIFEST})",
                    fix="make one with `wandb-kit bundle save` (a plain `docker "
                    "save` tarball loads with `docker load -i`, unchecked)",
                )
        with progress.bar("checksums", bundle.stat().st_size) as advance:
            with tarfile.open(bundle) as tar:
                found = member_digests(tar, advance)
    except (tarfile.TarError, EOFError, OSError, ValueError) as err:
        raise KitError(
            f"{bundle} is not a readable tar ({err})",
            fix="copy the bundle again; nothing was loaded",
        )
    if not isinstance(manifest, dict) or files.depth_problem(manifest):
        raise KitError(f"{bundle}'s manifest is not one `wandb-kit bundle save` writes",
                       fix="copy the bundle again; nothing was loaded")  # fmt: skip
    want = manifest.get("members", {})
    bad = sorted(n for n in want if found.get(n) != want[n])
    if bad or not want:
        raise KitError(
            f"{bundle}: {len(bad)} member(s) do not match their checksum (damaged "
            f"in transfer?): {', '.join(bad[:3]) or 'no checksums recorded'}",
            fix="copy the bundle again; nothing was loaded",
        )
    return manifest


def load(bundle: Path, log=print) -> dict:
    manifest = verify(bundle)
    log(f"checksums ok; loading {len(manifest['images'])} images")
    _docker_load(bundle)
    for image in manifest["images"]:
        _docker("image", "inspect", image)
    log(f"loaded: {', '.join(manifest['images'])}")
    return manifest
