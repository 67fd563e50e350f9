#!/bin/sh
# Installs Debian's redis-server for the Redis bus tests (test/setup/redis.global.ts), when missing.
set -eu
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-redis: installing redis-server"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null 2>&1 || { echo "install-redis: redis-server still missing after install" >&2; exit 1; }
