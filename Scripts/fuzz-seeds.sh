#!/usr/bin/env bash
# Writes the fuzzers' seed corpora to Fuzz/Corpus/<harness>/ (not committed: they are made
# from the shared data sets, which the repository never holds; Scripts/fuzz.sh runs this
# when they are missing):
#   fuzz-idx          heads of the MNIST IDX files (a few images/labels, header fixed to
#                     match), raw and gzip'd, plus every element type
#   fuzz-safetensors  model files the library writes, and F16/BF16/I64 by hand
#   fuzz-checkpoint   SGD and Adam checkpoints the library writes, and a plain model file
#   fuzz-corpus       paragraphs of tinyshakespeare and some non-ASCII text, behind the
#                     harness's four parameter bytes
# Usage: Scripts/fuzz-seeds.sh [MNIST_DIR] [TEXT_FILE]
#   (defaults: ../shared/data/mnist and ../shared/data/tinyshakespeare/input.txt beside
#   the repository; the harnesses must be built, as Scripts/fuzz.sh does; FUZZ_BIN names
#   the folder of the built harnesses, default Fuzz/.build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
mnist="${1:-../shared/data/mnist}"
text="${2:-../shared/data/tinyshakespeare/input.txt}"
bin="${FUZZ_BIN:-Fuzz/.build/release}"
for h in fuzz-idx fuzz-safetensors fuzz-checkpoint fuzz-corpus; do rm -rf "Fuzz/Corpus/$h"; mkdir -p "Fuzz/Corpus/$h"; done
SWIFT_BACKTRACE=enable=no "$bin/fuzz-safetensors" --write-seeds Fuzz/Corpus/fuzz-safetensors
SWIFT_BACKTRACE=enable=no "$bin/fuzz-checkpoint" --write-seeds Fuzz/Corpus/fuzz-checkpoint
python3 - "$mnist" "$text" <<'PY'
import gzip, struct, sys, os
mnist, text = sys.argv[1], sys.argv[2]
out = "Fuzz/Corpus/fuzz-idx"
def put(name, raw):
    # the harness's first byte: even = in-memory parser, odd = file reader
    open(f"{out}/{name}-mem", "wb").write(b"\0" + raw)
    open(f"{out}/{name}-file", "wb").write(b"\1" + raw)
    open(f"{out}/{name}-gz", "wb").write(b"\1" + gzip.compress(raw, mtime=0))
for base, keep in [("train-images-idx3-ubyte", 1), ("t10k-labels-idx1-ubyte", 64)]:
    with gzip.open(f"{mnist}/{base}.gz") as f:
        head = f.read(4)
        rank = head[3]
        dims = list(struct.unpack(f">{rank}I", f.read(4 * rank)))
        dims[0] = keep
        size = 1
        for d in dims: size *= d
        put(base, head + struct.pack(f">{rank}I", *dims) + f.read(size))
for code, fmt in [(0x08, "B"), (0x09, "b"), (0x0B, "h"), (0x0C, "i"), (0x0D, "f"), (0x0E, "d")]:
    values = [1, 2, 3, 4, 5, 6] if fmt in "fd" else [0, 1, 2, 3, 4, 5]
    put(f"type-{code:02x}", bytes([0, 0, code, 2]) + struct.pack(">2I", 2, 3) + struct.pack(f">6{fmt}", *values))
put("scalar", bytes([0, 0, 8, 0, 7]))

out = "Fuzz/Corpus/fuzz-corpus"
lines = open(text, encoding="utf-8").read().split("\n\n")
params = [bytes([26, 50, 7, 0]), bytes([0, 10, 3, 1]), bytes([128, 200, 15, 5])]
for i, paragraph in enumerate(lines[:3]):
    open(f"{out}/shakespeare-{i}", "wb").write(params[i] + paragraph.encode())
open(f"{out}/unicode", "wb").write(bytes([51, 4, 2, 3]) + "naïve café — ĉu vi? 日本語 😀😀 e\u0301".encode())
open(f"{out}/short", "wb").write(bytes([0, 1, 1, 0]) + b"ab")
PY
du -sh Fuzz/Corpus/*
