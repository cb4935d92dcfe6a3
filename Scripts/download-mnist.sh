#!/usr/bin/env bash
# Fetches the four original MNIST files into a folder (default Data/mnist) and checks
# their MD5 checksums, or copies them from a local folder with --from DIR.
#
#   Scripts/download-mnist.sh                     # download into Data/mnist
#   Scripts/download-mnist.sh --from ../shared/data/mnist
#   Scripts/download-mnist.sh --to /tmp/mnist
set -euo pipefail

dest="Data/mnist"
from=""
while [ $# -gt 0 ]; do
    case "$1" in
        --from) from="${2:?--from needs a folder}"; shift 2 ;;
        --to) dest="${2:?--to needs a folder}"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "download-mnist.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

# The originals (also mirrored by PyTorch's datasets bucket) and their MD5 sums.
mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist" "https://storage.googleapis.com/cvdf-datasets/mnist")
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
md5s=(f68b3c2dcbeaaa9fbdd348bbdeb94873 d53e105ee54ea40749a09fcbcd1e9432 9fb629c4189551a2d022fa330f9573f3 ec29112dd5afa0611ce80d1b7f02629c)

mkdir -p "$dest"
for i in "${!files[@]}"; do
    f="${files[$i]}"
    if [ -n "$from" ]; then
        [ -f "$from/$f" ] || { echo "download-mnist.sh: $from/$f: no such file" >&2; exit 1; }
        cp "$from/$f" "$dest/$f.part"
    else
        ok=""
        for m in "${mirrors[@]}"; do
            if curl -fsSL --retry 2 -o "$dest/$f.part" "$m/$f"; then ok=1; break; fi
        done
        [ -n "$ok" ] || { echo "download-mnist.sh: could not download $f from ${mirrors[*]}" >&2; rm -f "$dest/$f.part"; exit 1; }
    fi
    sum=$(md5sum "$dest/$f.part" | cut -d' ' -f1)
    if [ "$sum" != "${md5s[$i]}" ]; then
        if [ -n "$from" ]; then
            # a local copy may be a subset (e.g. the first 20,000 training digits): keep it, but say so
            echo "note: $f from $from is not the original file (MD5 $sum); using it as is"
        else
            echo "download-mnist.sh: $f has MD5 $sum, expected ${md5s[$i]}: download corrupted" >&2
            rm -f "$dest/$f.part"; exit 1
        fi
    fi
    mv "$dest/$f.part" "$dest/$f"
    echo "$dest/$f"
done
