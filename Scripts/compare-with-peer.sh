#!/usr/bin/env bash
# Runs our benchmark harness and the peers side by side, alternating (ours, Debian's PyTorch,
# PyPI's PyTorch, JAX, ours, ...), at 1 core and at 2 cores, training and inference, and
# prints one markdown table: samples/s, the ratio to the fastest peer, our 2-core/1-core
# scaling, step_over_gemm, peak RSS ours vs the fastest PyTorch, inference ratios.
#
#   Scripts/compare-with-peer.sh [workload ...] [--workloads "mlp lstm"] [--seconds S] [--rounds R]
#       [--torch2 PYTHON] [--jax PYTHON] [--chart FILE] [--table FILE] [--no-inference]
#
#   --workloads "a b"   the workloads to run (as positional names do; default all 7:
#                       mlp convnet lstm autoencoder resnet charlstm gan)
#   --seconds S         timed seconds per run, passed to every side (default 5)
#   --rounds R          each side runs R times, alternating; the best run counts (default 3)
#   --torch2 PYTHON     a Python with PyPI's PyTorch (e.g. /opt/torch2/bin/python)
#   --jax PYTHON        a Python with JAX (e.g. /opt/jax/bin/python); runs mlp convnet lstm autoencoder only
#   --chart FILE        also write the ratios as an SVG bar chart (Scripts/peer-chart.py)
#   --table FILE        also write the markdown table to FILE
#   --no-inference      skip the inference rows (mlp and convnet, --inference)
#
# Debian's PyTorch (/usr/bin/python3) is used when it imports torch; each peer is skipped
# with a note when absent. 1 core: ours with --threads 1 (OpenBLAS always runs on one thread
# in ours; the library splits GEMMs itself); Debian's PyTorch with OPENBLAS_NUM_THREADS=1
# and torch threads 1; PyPI's with OMP_NUM_THREADS=1 and threads 1; JAX under taskset -c 0.
# 2 cores: every side at its best configuration, its 1-thread runs included: ours over
# --threads {1, 2} (the scaling column is our 2-thread runs over our 1-thread ones), each
# PyTorch as WORKLOADS.md's "Threads" says (Debian's over torch threads {1, 2} × OPENBLAS_NUM_THREADS {1, 2}, PyPI's over
# threads {1, 2} with OMP_NUM_THREADS equal; the 1-thread runs of the 1-core setting count
# as one of the configurations); JAX without taskset. Inference: the best latency and the
# best batch-1000 throughput over the same configurations.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
rounds=3
workloads=()
torch2=""
jax=""
chart=""
table_out=""
inference=1
need() { [ $# -ge 2 ] || { echo "compare-with-peer.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) need "$@"; seconds="$2"; shift 2 ;;
        --rounds) need "$@"; rounds="$2"; shift 2 ;;
        --workloads) need "$@"; read -r -a more <<<"$2"; workloads+=("${more[@]}"); shift 2 ;;
        --torch2) need "$@"; torch2="$2"; shift 2 ;;
        --jax) need "$@"; jax="$2"; shift 2 ;;
        --chart) need "$@"; chart="$2"; shift 2 ;;
        --table) need "$@"; table_out="$2"; shift 2 ;;
        --no-inference) inference=0; shift ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --*) echo "compare-with-peer.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) workloads+=("$1"); shift ;;
    esac
done
all=(mlp convnet lstm autoencoder resnet charlstm gan)
[ ${#workloads[@]} -gt 0 ] || workloads=("${all[@]}")
for w in "${workloads[@]}"; do
    [[ " ${all[*]} " == *" $w "* ]] || { echo "compare-with-peer.sh: unknown workload '$w' (known: ${all[*]})" >&2; exit 2; }
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare-with-peer.sh: --rounds expects a positive integer, got '$rounds'" >&2; exit 2; }
[[ "$seconds" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "compare-with-peer.sh: --seconds expects a positive number, got '$seconds'" >&2; exit 2; }

bench_dir="$(cd .. && pwd)/shared/bench"
peer_script="$bench_dir/torch_peer.py"
jax_script="$bench_dir/jax_peer.py"
torch1=""
if [ -f "$peer_script" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
    torch1=/usr/bin/python3
else
    echo "note: no Debian PyTorch peer (needs $peer_script and torch for /usr/bin/python3)"
fi
if [ -n "$torch2" ] && ! { [ -f "$peer_script" ] && "$torch2" -c "import torch" 2>/dev/null; }; then
    echo "note: --torch2 $torch2 cannot import torch (or $peer_script is missing); skipped"
    torch2=""
fi
[ -n "$torch2" ] || echo "note: no PyPI PyTorch peer (give --torch2 PYTHON)"
if [ -n "$jax" ] && ! { [ -f "$jax_script" ] && "$jax" -c "import jax" 2>/dev/null; }; then
    echo "note: --jax $jax cannot import jax (or $jax_script is missing); skipped"
    jax=""
fi
[ -n "$jax" ] || echo "note: no JAX peer (give --jax PYTHON)"

data="${MNIST_DIR:-}"
[ -n "$data" ] || { [ -d ../shared/data/mnist ] && data="$(cd ../shared/data/mnist && pwd)"; } || true
[ -n "$data" ] || data="Data/mnist"

swift build -c release --product backprop-bench >/dev/null
bench=.build/release/backprop-bench
results=$(mktemp)
trap 'rm -f "$results"' EXIT

version() { "$1" -c "import $2; print($2.__version__)" 2>/dev/null || echo "?"; }
v1="" v2="" v3=""
peers="peers:"
[ -n "$torch1" ] && v1=$(version "$torch1" torch) && peers+=" torch $v1 (Debian, $torch1);"
[ -n "$torch2" ] && v2=$(version "$torch2" torch) && peers+=" torch $v2 (PyPI, $torch2);"
[ -n "$jax" ] && v3=$(version "$jax" jax) && peers+=" jax $v3 ($jax);"
[ "$peers" != "peers:" ] && peers="${peers%;}" || peers="peers: none"
machine="machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$machine"
echo "$peers"

# run TAG COMMAND...: one timing, its result lines tagged (a failing run is noted, not fatal)
run() {
    local tag="$1"
    shift
    local out
    if out=$("$@" 2>&1); then
        grep 'workload=' <<<"$out" | sed "s/^/$tag /" | tee -a "$results" || echo "note: $tag printed no result"
    else
        echo "note: $tag failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    fi
}
is_jax_workload() { [[ " mlp convnet lstm autoencoder " == *" $1 "* ]]; }

for round in $(seq "$rounds"); do
    echo "round $round of $rounds"
    for w in "${workloads[@]}"; do
        modes=(train)
        [ "$inference" = 1 ] && [[ " mlp convnet " == *" $w "* ]] && modes+=(inference)
        for mode in "${modes[@]}"; do
            inf=()
            [ "$mode" = inference ] && inf=(--inference)
            # 1 core
            run "side=ours cores=1 mode=$mode" env OPENBLAS_NUM_THREADS=1 $bench "$w" "${inf[@]}" --threads 1 --seconds "$seconds" --data "$data"
            [ -n "$torch1" ] && run "side=torch1 cores=1 mode=$mode" env OPENBLAS_NUM_THREADS=1 "$torch1" "$peer_script" "$w" "${inf[@]}" \
                --threads 1 --seconds "$seconds" --data "$data"
            [ -n "$torch2" ] && run "side=torch2 cores=1 mode=$mode" env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$torch2" "$peer_script" "$w" \
                "${inf[@]}" --threads 1 --seconds "$seconds" --data "$data"
            [ -n "$jax" ] && [ "$mode" = train ] && is_jax_workload "$w" \
                && run "side=jax cores=1 mode=$mode" taskset -c 0 "$jax" "$jax_script" "$w" --seconds "$seconds" --data "$data"
            # 2 cores
            run "side=ours cores=2 mode=$mode" $bench "$w" "${inf[@]}" --threads 2 --seconds "$seconds" --data "$data" --no-gemm
            if [ -n "$torch1" ]; then
                for config in "1 2" "2 1" "2 2"; do
                    read -r ob tt <<<"$config"
                    run "side=torch1 cores=2 mode=$mode openblas=$ob" env OPENBLAS_NUM_THREADS=$ob "$torch1" "$peer_script" "$w" "${inf[@]}" \
                        --threads "$tt" --seconds "$seconds" --data "$data"
                done
            fi
            [ -n "$torch2" ] && run "side=torch2 cores=2 mode=$mode" env OMP_NUM_THREADS=2 "$torch2" "$peer_script" "$w" "${inf[@]}" \
                --threads 2 --seconds "$seconds" --data "$data"
            [ -n "$jax" ] && [ "$mode" = train ] && is_jax_workload "$w" \
                && run "side=jax cores=2 mode=$mode" "$jax" "$jax_script" "$w" --seconds "$seconds" --data "$data"
        done
    done
done

echo
table=$(mktemp)
trap 'rm -f "$results" "$table"' EXIT
python3 - "$results" "$machine" "$peers" "$torch1" "$torch2" "$jax" "$v1" "$v2" "$v3" "${workloads[@]}" >"$table" <<'PY'
import re, sys
path, machine, peers, has_t1, has_t2, has_jax, v1, v2, v3 = sys.argv[1:10]
workloads = sys.argv[10:]
sides = [s for s, present in (("torch1", has_t1), ("torch2", has_t2), ("jax", has_jax)) if present]
names = {"torch1": f"torch {v1} (Debian)", "torch2": f"torch {v2} (PyPI)", "jax": f"jax {v3}"}

def num(pattern, line):
    m = re.search(pattern + r"=([\d.]+)", line)
    return float(m.group(1)) if m else None

train, rss, gemm, lat, thr, two_threads = {}, {}, {}, {}, {}, {}
for line in open(path):
    side = re.search(r"side=(\w+)", line).group(1)
    cores = int(re.search(r"cores=(\d)", line).group(1))
    mode = re.search(r"mode=(\w+)", line).group(1)
    w = re.search(r"workload=(\w+)", line).group(1)
    # every side's 1-thread runs are one of its 2-core configurations too ("whatever is
    # fastest for each side"); our own 2-thread runs are kept apart for the scaling column
    settings = [cores] + ([2] if cores == 1 else [])
    if side == "ours" and cores == 2 and mode == "train":
        s = num("samples_per_s", line)
        if s is not None: two_threads[w] = max(two_threads.get(w, 0), s)
    for c in settings:
        key = (side, c, w)
        if mode == "train":
            s = num("samples_per_s", line)
            if s is not None and s > train.get(key, 0):
                train[key] = s
                rss[key] = num("peak_rss_mb", line)
            g = num("step_over_gemm", line)
            if g is not None and side == "ours" and c == 1:
                gemm[w] = min(gemm.get(w, 9e9), g)
        else:
            l, t = num("latency_batch1_us", line), num("samples_per_s_batch1000", line)
            if l is not None: lat[key] = min(lat.get(key, 9e9), l)
            if t is not None: thr[key] = max(thr.get(key, 0), t)

def f(x, fmt="{:.0f}"):
    return "—" if x is None else fmt.format(x)

head = ["workload", "setting", "ours"] + [names[s] for s in sides] + [
    "ours / fastest peer", "ours 2c / 1c", "step / GEMM", "peak RSS MB ours / torch", "latency: fastest peer / ours"]
print(f"{machine}")
print()
print(f"{peers}")
print()
print("samples/s (inference rows: batch-1000 samples/s, and µs per single image); ratios > 1: ours faster; "
      "best of each side's runs and thread configurations")
print()
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for w in workloads:
    for c in (1, 2):
        ours = train.get(("ours", c, w))
        peer = {s: train.get((s, c, w)) for s in sides}
        present = [v for v in peer.values() if v]
        ratio = ours / max(present) if ours and present else None
        scale = two_threads[w] / train[("ours", 1, w)] if c == 2 and train.get(("ours", 1, w)) and two_threads.get(w) else None
        torches = [s for s in ("torch1", "torch2") if peer.get(s)]
        best_torch = max(torches, key=lambda s: peer[s]) if torches else None
        rss_cell = f"{f(rss.get(('ours', c, w)))} / {f(rss.get((best_torch, c, w)) if best_torch else None)}"
        row = [w, "1 core" if c == 1 else "2 cores", f(ours)] + [f(peer[s]) for s in sides] + [
            f(ratio, "{:.2f}"), f(scale, "{:.2f}"), f(gemm.get(w) if c == 1 else None, "{:.3f}"), rss_cell, ""]
        print("| " + " | ".join(row) + " |")
    for c in (1, 2):
        if ("ours", c, w) not in lat:
            continue
        cell = lambda s: f"{f(thr.get((s, c, w)))} ({f(lat.get((s, c, w)), '{:.0f}')} µs)" if (s, c, w) in lat else "—"
        peer_thr = [thr[(s, c, w)] for s in sides if (s, c, w) in thr]
        peer_lat = [lat[(s, c, w)] for s in sides if (s, c, w) in lat]
        ratio = thr[("ours", c, w)] / max(peer_thr) if peer_thr and thr.get(("ours", c, w)) else None
        lratio = min(peer_lat) / lat[("ours", c, w)] if peer_lat else None
        row = [w, ("1 core" if c == 1 else "2 cores") + ", inference", cell("ours")] + [cell(s) for s in sides] + [
            f(ratio, "{:.2f}"), "", "", "", f(lratio, "{:.2f}")]
        print("| " + " | ".join(row) + " |")
PY
cat "$table"
[ -z "$table_out" ] || cp "$table" "$table_out"
if [ -n "$chart" ]; then
    python3 Scripts/peer-chart.py "$table" --out "$chart" && echo "chart: $chart"
fi
