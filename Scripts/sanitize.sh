#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer, UndefinedBehaviorSanitizer and
# ThreadSanitizer, each in its own scratch path (.build-asan, .build-ubsan, .build-tsan),
# and prints pass/fail and the time of each. `--sanitize=address|thread` instruments the
# Swift and the C targets alike. Swift on Linux has no `-sanitize=undefined` (Swift code
# has no undefined behaviour to find: overflow and out-of-bounds access trap anyway), so
# "undefined" instruments the C code only (CKernels: -fsanitize=undefined with
# -fno-sanitize-recover, a report fails the run) and links the toolchain's UBSan runtime.
# ThreadSanitizer runs under `setarch -R` (no address randomisation): its shadow mapping
# fails at start-up on kernels with high mmap randomisation.
# Usage: Scripts/sanitize.sh [address|undefined|thread ...]   (default: all three)
#   extra arguments to `swift test` can be given in SANITIZE_TEST_ARGS (e.g. --filter Threads)
set -uo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(address undefined thread)
read -r -a test_args <<<"${SANITIZE_TEST_ARGS:-}"

export SWIFT_BACKTRACE=enable=no                       # the sanitizers print the stacks
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

results=()
status=0
for kind in "${kinds[@]}"; do
    case "$kind" in
        address) scratch=.build-asan; flags=(); prefix=() ;;
        undefined)
            scratch=.build-ubsan; prefix=()
            runtime=$(ls "$(dirname "$(readlink -f "$(command -v swift)")")"/../lib/clang/*/lib/linux/libclang_rt.ubsan_standalone-"$(uname -m)".a 2>/dev/null | head -1)
            [ -n "$runtime" ] || { echo "sanitize.sh: no UBSan runtime in the Swift toolchain" >&2; exit 1; }
            flags=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all -Xlinker "$runtime") ;;
        thread) scratch=.build-tsan; flags=(); prefix=(setarch "$(uname -m)" -R) ;;
        *) echo "usage: Scripts/sanitize.sh [address|undefined|thread ...]" >&2; exit 2 ;;
    esac
    mkdir -p "$scratch"; log="$scratch/sanitize.log"
    echo "== $kind ($scratch, log $log)"
    start=$(date +%s)
    sanitize=(--sanitize="$kind")
    [ "$kind" = undefined ] && sanitize=()
    if "${prefix[@]}" swift test "${sanitize[@]}" --scratch-path "$scratch" "${flags[@]}" "${test_args[@]}" >"$log" 2>&1; then
        verdict=pass
    else
        verdict=FAIL; status=1
    fi
    elapsed=$(( $(date +%s) - start ))
    grep -E "^(Test Suite 'All tests'|	 Executed|.*Executed [0-9]+ tests)" "$log" | tail -1
    grep -m3 -E "ERROR: (Address|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$log" || true
    results+=("$(printf '%-10s %-4s %5ss' "$kind" "$verdict" "$elapsed")")
done
printf '%s\n' "${results[@]}"
exit $status
