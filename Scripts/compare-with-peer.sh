#!/usr/bin/env bash
# Runs our benchmark harness and the PyTorch peer side by side, alternating, at 1 core and
# at 2 cores, and prints samples/s and the ratio ours/peer per workload.
#
#   Scripts/compare-with-peer.sh [workload ...] [--seconds S] [--rounds R]
#
# 1 core: ours with --threads 1 (OpenBLAS always runs on one thread in ours; the library
# splits GEMMs itself); the peer with OPENBLAS_NUM_THREADS=1 and torch threads 1.
# 2 cores: ours with --threads 2; the peer at its best of torch threads {1, 2} ×
# OPENBLAS_NUM_THREADS {1, 2} (2 × 2 oversubscribes the cores, as WORKLOADS.md notes, and
# is tried too). With --rounds R, each side runs R times, alternating, and the best run counts.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
rounds=1
workloads=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) workloads+=("$1"); shift ;;
    esac
done
[ ${#workloads[@]} -gt 0 ] || workloads=(mlp convnet lstm autoencoder)

peer=""
bench_dir="$(cd .. && pwd)/shared/bench"
if [ -f "$bench_dir/torch_peer.py" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
    peer="$bench_dir/torch_peer.py"
else
    echo "note: no PyTorch peer (needs ../shared/bench/torch_peer.py and torch for /usr/bin/python3); ours only"
fi
data="${MNIST_DIR:-}"
[ -n "$data" ] || { [ -d ../shared/data/mnist ] && data="$(cd ../shared/data/mnist && pwd)"; } || true
[ -n "$data" ] || data="Data/mnist"

swift build -c release --product backprop-bench >/dev/null
bench=.build/release/backprop-bench
results=$(mktemp)
trap 'rm -f "$results"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u '+%Y-%m-%d %H:%M UTC')"
for round in $(seq "$rounds"); do
    for w in "${workloads[@]}"; do
        OPENBLAS_NUM_THREADS=1 $bench "$w" --threads 1 --seconds "$seconds" --data "$data" | sed "s/^/ours cores=1 /" | tee -a "$results"
        if [ -n "$peer" ]; then
            OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peer" "$w" --threads 1 --seconds "$seconds" --data "$data" | sed "s/^/peer cores=1 /" | tee -a "$results"
        fi
        $bench "$w" --threads 2 --seconds "$seconds" --data "$data" --no-gemm | sed "s/^/ours cores=2 /" | tee -a "$results"
        if [ -n "$peer" ]; then
            for ob in 1 2; do
                for tt in 1 2; do
                    OPENBLAS_NUM_THREADS=$ob /usr/bin/python3 "$peer" "$w" --threads $tt --seconds "$seconds" --data "$data" \
                        | sed "s/^/peer cores=2 openblas=$ob /" | tee -a "$results"
                done
            done
        fi
    done
done

echo
python3 - "$results" "${workloads[@]}" <<'PY'
import re, sys
path, workloads = sys.argv[1], sys.argv[2:]
best = {}
ratio_gemm = {}
for line in open(path):
    side, cores = line.split()[0], int(re.search(r"cores=(\d)", line).group(1))
    w = re.search(r"workload=(\w+)", line).group(1)
    s = float(re.search(r"samples_per_s=([\d.]+)", line).group(1))
    key = (side, cores, w)
    best[key] = max(best.get(key, 0), s)
    m = re.search(r"step_over_gemm=([\d.]+)", line)
    if m and side == "ours" and cores == 1:
        ratio_gemm[w] = min(ratio_gemm.get(w, 9e9), float(m.group(1)))
print(f"{'workload':<12} {'ours 1c':>9} {'peer 1c':>9} {'ratio':>6}   {'ours 2c':>9} {'peer 2c':>9} {'ratio':>6}   step/GEMM 1c")
for w in workloads:
    row = f"{w:<12}"
    for c in (1, 2):
        o, p = best.get(("ours", c, w)), best.get(("peer", c, w))
        row += f" {o or 0:>9.0f} {p or 0:>9.0f} {(o / p if o and p else float('nan')):>6.2f}  "
    row += f" {ratio_gemm.get(w, float('nan')):.3f}"
    print(row)
PY
