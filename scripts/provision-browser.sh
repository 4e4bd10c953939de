#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages: the HTML report
# tests (smoke --html, bench --html) open the pages in a real browser.
#
#   sudo scripts/provision-browser.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  log "$(chromium --version 2>/dev/null | head -n 1)"; exit 0
fi
need_root
apt_install chromium chromium-driver
log "$(chromium --version 2>/dev/null | head -n 1)"
