#!/bin/sh
# Installs Debian's Chromium for the browser test of the demo page (test/e2e), when missing.
# Playwright drives it through playwright-core; its own browser downloads are never used.
set -eu
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install-chromium: chromium still missing after install" >&2; exit 1; }
