#!/usr/bin/env bash
# tests/regress_short.sh — every experiment in experiments/ shortened (REGRESS_SUBSET training and
# REGRESS_TEST_SUBSET test examples), run to the end with $AELAB, plots on; passes when each run
# exits 0 and writes its summary.csv. With an ASan/UBSan build (`make regress-asan`) this puts
# every stage, optimizer, penalty and noise kind the lectures use under the sanitizers; the
# numbers of such short runs are not the lectures', so nothing is compared with the baselines.
# Usage: AELAB=bin/aelab-asan tests/regress_short.sh [NAME...]
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
out=${REGRESS_OUT:-results/regress-short}
subset=${REGRESS_SUBSET:-2000}
test_subset=${REGRESS_TEST_SUBSET:-500}
threads=${REGRESS_THREADS:-2}
# A sanitizer finding is a failure with its report, never a warning that scrolls by.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=99}
rm -rf "$out"
mkdir -p "$out"
export AELAB_CACHE=$out/.cache
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for f in experiments/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi
# L-BFGS counts its epochs in iterations: the UFLDL run's 600 would dominate the suite; 40 + 20 + 20
# go through the same code, and a history of 10 pairs (not 100) makes the 40 wrap around it.
declare -A extra=(
    [ufldl_sparse_kl]="--set pretrain_layer.epochs=40 --set pretrain_layer.optimizer.history=10
                       --set softmax.epochs=20 --set softmax.finetune_epochs=20"
)
pass=0 fail=0 failed=()
for n in "${names[@]}"; do
    t0=$(date +%s)
    "$AELAB" run "experiments/$n.yaml" --out "$out/$n" --threads "$threads" --device cpu -q \
        --set load_dataset.subset="$subset" --set load_dataset.test_subset="$test_subset" ${extra[$n]:-} >"$out/$n.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    if [[ $rc -eq 0 ]] && { [[ -s $out/$n/summary.csv ]] || [[ -s $out/$n/sweep.csv ]]; }; then
        pass=$((pass + 1)); printf 'PASS  %-32s %4ss\n' "$n" "$secs"
    else
        fail=$((fail + 1)); failed+=("$n"); printf 'FAIL  %-32s %4ss  (exit %d)\n' "$n" "$secs" "$rc"
        tail -n 40 "$out/$n.log" | sed 's/^/      /'
    fi
done
echo
echo "regress-short: $pass passed, $fail failed"
[[ $fail -eq 0 ]] || { echo "failed: ${failed[*]} (logs in $out/)"; exit 1; }
