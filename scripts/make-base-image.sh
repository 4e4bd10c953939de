#!/usr/bin/env bash
# Creates the local Debian base image the offline test images build FROM, on hosts
# that cannot pull from a registry. On a host that can pull, skip this and build
# with the default BASE_IMAGE (debian:bookworm-slim).
#
#   scripts/make-base-image.sh [IMAGE]      (default: wandb-kit-base:bookworm)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
IMAGE="${1:-${KIT_BASE_IMAGE:-wandb-kit-base:bookworm}}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "base image $IMAGE exists"; exit 0
fi
need_root
apt_install debootstrap
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
log "debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
# Same shape as the official slim image: no apt caches, no docs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "created $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
