#!/usr/bin/env bash
# Installs the Debian packages Chapar builds and tests with. Idempotent; safe to re-run.
# Needs root (or sudo) on Debian 12 with Swift 6.3 already on PATH.
set -euo pipefail

# sqlite3: the shell, used by a test to hold a database lock from another process.
packages=(pkg-config libsqlite3-dev libcurl4-openssl-dev sqlite3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 (https://swift.org/install) and retry" >&2; exit 1; }
