#!/bin/sh
# Builds the wandb_local_kit.lab collection tarball from this directory:
#   ansible/build-collection.sh [OUTDIR]     (default: build/collection)
# then: ansible-galaxy collection install OUTDIR/wandb_local_kit-lab-<version>.tar.gz
#
# The roles install kit files on the server: compose/, and the scripts and deploy/
# modules kit_files.yml lists (the one list of them; the roles read it too). In a
# checkout they come from the repository; the tarball carries them under kit/ (the
# files git tracks or would track: never a checkout's .env, keys or certificates), so
# an installed collection needs no checkout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:-$repo/build/collection}
galaxy=${ANSIBLE_GALAXY:-ansible-galaxy}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# kit_files.yml keeps one plain path per "  - " line (its header says so), so sed reads
# it without a YAML parser; tests/unit/test_kit_files_manifest.py holds it to that.
files=$(sed -n 's/^  - //p' "$here/kit_files.yml")
[ -n "$files" ] || { echo "build-collection.sh: kit_files.yml lists no file" >&2; exit 1; }
for f in $files; do
  [ -f "$repo/$f" ] || { echo "build-collection.sh: kit_files.yml lists $f, not a file in $repo" >&2; exit 1; }
done

cp -a "$here/." "$stage/"
mkdir -p "$stage/kit"
# shellcheck disable=SC2086 # $files: one word per path (paths hold no spaces)
(cd "$repo" && git ls-files -z --cached --others --exclude-standard -- compose $files \
  | grep -zv '__pycache__' | xargs -0 cp --parents -t "$stage/kit")
for f in $files; do
  [ -f "$stage/kit/$f" ] || { echo "build-collection.sh: $f is ignored by git, so not packed" >&2; exit 1; }
done
mkdir -p "$out"
"$galaxy" collection build "$stage" --output-path "$out" --force
