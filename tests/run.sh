#!/usr/bin/env bash
# tests/run.sh — the single pass/fail entry point behind `make test` (and `make test-gpu`).
# Runs every compiled test program (build/tests/test_*) and every shell test (tests/test_*.sh).
# A test passes with exit 0, is skipped with exit 77 (it prints why), and fails otherwise.
# Usage: tests/run.sh [gpu]     (gpu: only the tests whose name contains "gpu")
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}" "${AELAB:=bin/aelab}"
export AELAB BUILD
# The test programs under $BUILD/tests/ find the CUDA backend as bin/aelab's own lookup allows
# anyone to (runner/cudaload.h): through $AELAB_CUDA_LIB, here the library next to $AELAB.
if [[ -z ${AELAB_CUDA_LIB:-} && -f $(dirname "$AELAB")/libaelab-cuda.so ]]; then
    export AELAB_CUDA_LIB=$(dirname "$AELAB")/libaelab-cuda.so
fi
# Tests never share the stage cache of real runs (results/.cache).
export AELAB_CACHE=$BUILD/test-cache
rm -rf "$AELAB_CACHE"
# The BLAS kernels bin/aelab picks for itself, for the test programs too (scripts/blas_core.sh).
source scripts/blas_core.sh
blas_core_export "$AELAB"
echo "tests: OpenBLAS core ${OPENBLAS_CORETYPE:-(its own detection)}"
filter=${1:-}
pass=0 fail=0 skip=0 failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"
tests=()
for t in "$BUILD"/tests/test_*; do
    [[ -x $t && $t != *.o && $t != *.d ]] && tests+=("$t")
done
for t in tests/test_*.sh; do [[ -f $t ]] && tests+=("$t"); done
for t in "${tests[@]}"; do
    name=$(basename "$t")
    if [[ $filter == gpu && $name != *gpu* ]]; then continue; fi
    start=$(date +%s.%N)
    if [[ $t == *.sh ]]; then bash "$t" >"$logdir/$name.log" 2>&1; else "$t" >"$logdir/$name.log" 2>&1; fi
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    case $rc in
        0) pass=$((pass + 1)); printf 'PASS  %-32s %6ss  %s\n' "$name" "$secs" "$(tail -n 1 "$logdir/$name.log")" ;;
        77) skip=$((skip + 1)); printf 'SKIP  %-32s %6ss  %s\n' "$name" "$secs" "$(tail -n 1 "$logdir/$name.log")" ;;
        *) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-32s %6ss  (exit %d)\n' "$name" "$secs" "$rc"
           tail -n 30 "$logdir/$name.log" | sed 's/^/      /' ;;
    esac
done
echo
echo "tests: $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]] || { echo "failed: ${failed[*]} (logs in $logdir/)"; exit 1; }
