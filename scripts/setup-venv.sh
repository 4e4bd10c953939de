#!/usr/bin/env bash
# Creates the project's Python environment in .venv with everything the tests use:
# the kit itself (editable) with its media, torch, test, stand-in and ansible extras.
#
#   scripts/setup-venv.sh            (VENV=.venv, PYTHON=python3)
#
# torch is installed first and pinned (TORCH_SPEC): with no torch present, an open
# range would make pip fetch the newest CUDA build, several GB.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
EXTRAS="${EXTRAS:-media,torch,test,standin,ansible}"

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
pip() { "$VENV/bin/python" -m pip -q --disable-pip-version-check "$@"; }
stamp="$VENV/.kit-installed"
want="$(sha256sum pyproject.toml | cut -c1-16) $TORCH_SPEC $EXTRAS"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "$VENV is up to date"; exit 0
fi
if [ -n "$TORCH_SPEC" ] && [[ "$EXTRAS" == *torch* ]]; then
  log "installing $TORCH_SPEC"
  pip install "$TORCH_SPEC"
fi
log "installing the kit with extras [$EXTRAS]"
pip install -e ".[$EXTRAS]"
echo "$want" > "$stamp"
log "done: $("$VENV/bin/python" -c 'import wandb; print("wandb", wandb.__version__)')"
