#!/usr/bin/env bash
# Creates the local Debian base images the offline test images build FROM, on hosts
# that cannot pull from a registry. On a host that can pull, skip this and build
# with the default BASE_IMAGE (debian:bookworm-slim).
#
#   scripts/make-base-image.sh [IMAGE]      (default: wandb-kit-base:$KIT_DEBIAN_RELEASE)
#
# KIT_DEBIAN_RELEASE: the Debian release, bookworm (12) or trixie (13). Unset and
# without IMAGE: both, side by side (each mostly waits on the mirror): bookworm for
# every test image, trixie for lab-server-trixie, the Ansible roles' second tested
# platform (scripts/build-images.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

make_one() (  # RELEASE IMAGE (a subshell: its own trap removes its own root)
  release="$1" image="$2"
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "base image $image exists"; exit 0
  fi
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  log "debootstrap $release (minbase) into $root"
  # An older debootstrap may not know a newer release by name: sid's script builds any.
  script=/usr/share/debootstrap/scripts/$release
  [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
  debootstrap --variant=minbase "$release" "$root" "$MIRROR" "$script" >/dev/null
  # Same shape as the official slim image: no apt caches, no docs.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$image" >/dev/null
  log "created $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
)

need_apt() {
  need_root
  apt_install debootstrap
}

if [ -n "${1:-}" ] || [ -n "${KIT_DEBIAN_RELEASE:-}" ] || [ -n "${KIT_BASE_IMAGE:-}" ]; then
  release="${KIT_DEBIAN_RELEASE:-bookworm}"
  image="${1:-${KIT_BASE_IMAGE:-wandb-kit-base:$release}}"
  docker image inspect "$image" >/dev/null 2>&1 || need_apt
  make_one "$release" "$image"
else
  missing=0
  for r in bookworm trixie; do
    docker image inspect "wandb-kit-base:$r" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] || need_apt
  make_one trixie wandb-kit-base:trixie & trixie=$!
  make_one bookworm wandb-kit-base:bookworm
  wait "$trixie"
fi
