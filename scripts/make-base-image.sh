#!/usr/bin/env bash
# Creates the local Debian base image the offline test images build FROM, on hosts
# that cannot pull from a registry. On a host that can pull, skip this and build
# with the default BASE_IMAGE (debian:bookworm-slim).
#
#   scripts/make-base-image.sh [IMAGE]      (default: wandb-kit-base:$KIT_DEBIAN_RELEASE)
#
# KIT_DEBIAN_RELEASE: the Debian release, bookworm (12, the default) or trixie (13, the
# second platform of the Ansible roles' tests: KIT_DEBIAN_RELEASE=trixie).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RELEASE="${KIT_DEBIAN_RELEASE:-bookworm}"
IMAGE="${1:-${KIT_BASE_IMAGE:-wandb-kit-base:$RELEASE}}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "base image $IMAGE exists"; exit 0
fi
need_root
apt_install debootstrap
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
log "debootstrap $RELEASE (minbase) into $root"
# An older debootstrap may not know a newer release by name: sid's script builds any.
script=/usr/share/debootstrap/scripts/$RELEASE
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
debootstrap --variant=minbase "$RELEASE" "$root" "$MIRROR" "$script" >/dev/null
# Same shape as the official slim image: no apt caches, no docs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "created $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
