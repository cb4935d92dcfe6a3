#!/usr/bin/env bash
# Installs the system libraries Backprop links against (OpenBLAS, zlib) if they are missing.
# Debian/Ubuntu; run as root or with sudo available. Safe to run again: it skips what is there.
set -euo pipefail
missing=()
for pkg in libopenblas-dev zlib1g-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing ${missing[*]} ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
