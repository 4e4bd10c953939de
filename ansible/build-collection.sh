#!/bin/sh
# Builds the wandb_local_kit.lab collection tarball from this directory:
#   ansible/build-collection.sh [OUTDIR]     (default: build/collection)
# then: ansible-galaxy collection install OUTDIR/wandb_local_kit-lab-<version>.tar.gz
#
# The roles install kit files on the server (compose/, scripts/backup.py,
# scripts/usage_sample.py and modules of deploy/). In a checkout they come from the repository; the tarball carries them under
# kit/ (the files git tracks or would track: never a checkout's .env, keys or
# certificates), so an installed collection needs no checkout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:-$repo/build/collection}
galaxy=${ANSIBLE_GALAXY:-ansible-galaxy}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cp -a "$here/." "$stage/"
mkdir -p "$stage/kit"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard -- \
    compose scripts/backup.py scripts/usage_sample.py deploy/wandb_local_kit | grep -zv '__pycache__' \
  | xargs -0 cp --parents -t "$stage/kit")
mkdir -p "$out"
"$galaxy" collection build "$stage" --output-path "$out" --force
