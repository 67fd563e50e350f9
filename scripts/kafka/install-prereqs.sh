#!/bin/sh
# Installs what scripts/kafka/ needs to run Apache Kafka locally: a Java 17+ runtime and
# Maven. Does nothing when both are present. Debian/Ubuntu (apt-get); run as root or with sudo.
set -eu

have_java17() {
  command -v java >/dev/null 2>&1 || return 1
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  [ -n "$major" ] && [ "$major" -ge 17 ]
}

need=""
have_java17 || need="$need openjdk-17-jre-headless"
command -v mvn >/dev/null 2>&1 || need="$need maven"

if [ -z "$need" ]; then
  echo "install-prereqs: Java 17+ and Maven are present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-prereqs: installing$need"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
have_java17 || { echo "install-prereqs: java 17+ still missing after install" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "install-prereqs: mvn still missing after install" >&2; exit 1; }
echo "install-prereqs: done"
