#!/usr/bin/env bash
# Builds the offline test images (tests/images/*/Dockerfile): the stand-ins for
# mysql, S3 object storage (SeaweedFS; also MinIO for the migration test), the
# storage-init job (AWS CLI), the TLS proxy (Caddy) and the W&B server.
#
#   scripts/build-images.sh [NAME ...]        (default: every image)
#
# Settings (environment):
#   KIT_BASE_IMAGE   image to build FROM; default: wandb-kit-base:bookworm when it
#                    exists (made by scripts/make-base-image.sh), else debian:bookworm-slim
#   KIT_IMAGE_PREFIX image name prefix (default wandb-kit-test/); tags are :test
#   PYTHON           python used to build the wheelhouse (default: .venv/bin/python, else python3)
#   KIT_BUILD_JOBS   how many images build at once (default: all of them)
#   KIT_DOCKER_BUILD_ARGS  extra `docker build` flags, e.g. --no-cache to time a cold build
#
# Python packages enter the images only from a wheelhouse built here on the host
# (build/wheels) and installed with --no-index: builds then work the same behind a
# TLS-intercepting proxy, without one, and on air-gapped hosts.
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

reqs=()
for n in "${names[@]}"; do
  [ -f "tests/images/$n/Dockerfile" ] || die "no image named '$n' (expected tests/images/$n/Dockerfile)"
  [ -f "tests/images/$n/requirements.txt" ] && reqs+=(-r "tests/images/$n/requirements.txt")
done
mkdir -p build/wheels
if [ ${#reqs[@]} -gt 0 ]; then
  # One wheelhouse, kept between runs: rebuilt only when a requirements file changed
  # (pip would otherwise ask the index again for every pin, ~20 s).
  stamp=build/wheels/.requirements.sha256
  # (wheels are never removed, so a set built once stays complete)
  want=$(for r in "${reqs[@]}"; do [ "$r" = -r ] || cat "$r"; done | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    log "wheelhouse build/wheels is up to date"
  else
    log "wheelhouse build/wheels <- ${reqs[*]}"
    "$PYTHON" -m pip wheel -q --disable-pip-version-check -w build/wheels "${reqs[@]}"
    echo "$want" >> "$stamp"
  fi
fi

# The builds run side by side (KIT_BUILD_JOBS at a time, default all): each mostly
# waits on apt and the disk, so on a 2-core host together they take about as long as
# the slowest one instead of the sum (benchmarks/RESULTS.md).
JOBS="${KIT_BUILD_JOBS:-${#names[@]}}"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
build() {
  local n="$1" tag="${PREFIX}$1:test" start=$SECONDS
  # shellcheck disable=SC2086  # KIT_DOCKER_BUILD_ARGS is a list of flags
  if docker build ${KIT_DOCKER_BUILD_ARGS:-} --build-arg "BASE_IMAGE=$KIT_BASE_IMAGE" -f "tests/images/$n/Dockerfile" \
       -t "$tag" . >"$logs/$n.log" 2>&1; then
    log "built $tag in $((SECONDS - start)) s"
  else
    log "FAILED to build $tag; its build log ends:"; tail -n 40 "$logs/$n.log" >&2; return 1
  fi
}
log "building ${#names[@]} image(s) FROM $KIT_BASE_IMAGE, $JOBS at a time"
pids=(); failed=0
for n in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
  build "$n" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || die "some test images did not build (logs above)"
