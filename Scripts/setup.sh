#!/usr/bin/env bash
# One-time set-up for a fresh machine: system libraries (with Open MPI), then MNIST into Data/mnist
# (copied from $MNIST_DIR or ../shared/data/mnist when present, else downloaded).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --mpi
if [ ! -f Data/mnist/t10k-labels-idx1-ubyte.gz ]; then
    for local in "${MNIST_DIR:-}" ../shared/data/mnist; do
        if [ -n "$local" ] && [ -f "$local/t10k-labels-idx1-ubyte.gz" ]; then
            Scripts/download-mnist.sh --from "$local" >/dev/null
            break
        fi
    done
    [ -f Data/mnist/t10k-labels-idx1-ubyte.gz ] || Scripts/download-mnist.sh
fi
