#!/usr/bin/env bash
# Installs the system libraries Backprop links against (OpenBLAS, zlib) if they are missing;
# with --mpi also Open MPI (libopenmpi-dev, openmpi-bin: the BackpropMPI product, the
# examples' --distributed mode and this repository's tests need it).
# Debian/Ubuntu; run as root or with sudo available. Safe to run again: it skips what is there.
set -euo pipefail
packages=(libopenblas-dev zlib1g-dev)
for option in "$@"; do
    case "$option" in
        --mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
        -h|--help) echo "usage: Scripts/install-deps.sh [--mpi]"; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$option' (usage: Scripts/install-deps.sh [--mpi])" >&2; exit 2 ;;
    esac
done
missing=()
for pkg in "${packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing ${missing[*]} ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
