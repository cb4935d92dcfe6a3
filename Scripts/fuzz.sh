#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Fuzz/Package.swift, with -sanitize=fuzzer,address) and
# runs each for a while, starting from its seed corpus Fuzz/Corpus/<harness>/; the inputs
# it finds go to Fuzz/.work/<harness>/corpus, crashing inputs to Fuzz/.work/<harness>/,
# its output to Fuzz/.work/<harness>/log.
# Prints, per harness, the executions, executions per second, coverage and crashes.
# Usage: Scripts/fuzz.sh [seconds-per-harness] [harness...]
#   seconds default 60; harnesses default all of: fuzz-idx fuzz-safetensors fuzz-checkpoint fuzz-corpus
#   FUZZ_JOBS=2    run two harnesses at a time
#   FUZZ_ASAN=0    build without AddressSanitizer (Fuzz/.build-fuzzonly): several times more
#                  executions per second for long runs; replay their corpus under ASan
#                  afterwards with FUZZ_ASAN=1 FUZZ_RUNS=0
#   FUZZ_CONFIG=debug   a debug build (quicker to compile, for a smoke run)
#   FUZZ_WORK=DIR  work directory instead of Fuzz/.work (a smoke run beside a long one)
#   FUZZ_RUNS=N    stop each harness after N executions instead (seconds still cap it)
#   FUZZ_KEEP_GOING=1   go on after a crash (libFuzzer's -fork=1 -ignore_crashes=1)
# Every input in Fuzz/Regressions/<harness>/ (inputs that once crashed a harness) is also
# replayed; one that crashes again fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz-idx fuzz-safetensors fuzz-checkpoint fuzz-corpus)
jobs="${FUZZ_JOBS:-1}"
workroot="${FUZZ_WORK:-Fuzz/.work}"

config="${FUZZ_CONFIG:-release}"
if [ "${FUZZ_ASAN:-1}" = 0 ]; then
    scratch=Fuzz/.build-fuzzonly; sanitizers=fuzzer
else
    scratch=Fuzz/.build; sanitizers=fuzzer,address
fi
[ "$config" = release ] || scratch="$scratch-$config"
# a failed build stops here (never fuzz stale binaries); the build's progress lines and
# the sanitizer runtime's "Cannot export local symbol" warnings are not shown
build_log="$(mktemp)"
if ! swift build -c "$config" --package-path Fuzz --scratch-path "$scratch" \
        -Xswiftc -sanitize="$sanitizers" -Xswiftc -parse-as-library > "$build_log" 2>&1; then
    cat "$build_log" >&2; rm -f "$build_log"; echo "fuzz.sh: the harnesses did not build" >&2; exit 1
fi
grep -v -e "warning: Cannot export local symbol '__asan" -e '^\[' "$build_log" || true
rm -f "$build_log"
bin="$scratch/$config"
# the seed corpora are made from the shared data the first time (Scripts/fuzz-seeds.sh)
[ -d Fuzz/Corpus/fuzz-idx ] || FUZZ_BIN="$bin" Scripts/fuzz-seeds.sh
for h in "${harnesses[@]}"; do
    [ -x "$bin/$h" ] || { echo "fuzz.sh: $bin/$h was not built" >&2; exit 1; }
done

# The largest input worth trying for each format.
max_len() {
    case "$1" in
        fuzz-idx) echo 1024 ;;
        fuzz-safetensors|fuzz-checkpoint) echo 2048 ;;
        fuzz-corpus) echo 512 ;;
    esac
}

export SWIFT_BACKTRACE=enable=no          # libFuzzer and ASan report crashes themselves
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

run() {
    local h="$1" work="$workroot/$1"
    mkdir -p "$work/corpus"
    # crashes of earlier runs move aside, so that the summary counts this run's only
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) \
        -exec sh -c 'mkdir -p "$1/earlier" && mv "$2" "$1/earlier/"' sh "$work" {} \;
    local extra=()
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    [ -n "${FUZZ_RUNS:-}" ] && extra+=(-runs="$FUZZ_RUNS")
    "$bin/$h" "$work/corpus" "Fuzz/Corpus/$h" -max_total_time="$seconds" -max_len="$(max_len "$h")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "${extra[@]}" \
        >"$work/log" 2>&1 || true
}

summary() {
    local h="$1" work="$workroot/$1"
    local execs rate cov crashes
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | awk '{s+=$2} END {print s+0}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log" | tail -1 | awk '{print $2+0}')
    if [ "$execs" = 0 ]; then   # fork mode prints progress lines only
        execs=$(grep -o '^#[0-9]*' "$work/log" | tail -1 | tr -d '#')
        execs=${execs:-0}
        rate=$(grep -o 'exec/s: [0-9]*' "$work/log" | tail -1 | awk '{print $2+0}')
    fi
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | awk '{print $2}')
    crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    printf '%-18s %12s execs %8s exec/s  cov %-6s crashes %s\n' "$h" "$execs" "${rate:-?}" "${cov:-?}" "$crashes"
    [ "$crashes" = 0 ] || find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | sed 's/^/    /'
}

pids=()
for h in "${harnesses[@]}"; do
    run "$h" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
status=0
for h in "${harnesses[@]}"; do
    summary "$h"
    grep -q 'crashes 0' <(summary "$h") || status=1
done

for h in "${harnesses[@]}"; do
    for f in Fuzz/Regressions/"$h"/*; do
        [ -f "$f" ] || continue
        if "$bin/$h" "$f" >/dev/null 2>&1; then echo "regression $f: passes"; else echo "regression $f: still crashes"; status=1; fi
    done
done
exit $status
