#!/usr/bin/env bash
# scripts/device_check.sh — `make device-check`: the CUDA backend's check on a machine with a GPU,
# in one command, one report (results/device-check/report.md + steps.csv + compare.csv +
# paths.csv); exits non-zero when any step fails.
#
# Steps: the device (nvidia-smi); the build (make -j); `make test-gpu` (op-by-op and training
# comparisons with the CPU); the training paths on their own (test_gpu --paths: every stage kind,
# optimizer, loss and activation end to end on both backends, tests/backend_compare.h), whose
# figures go into the report and, per tensor, paths.csv; `aelab gradcheck --device gpu`;
# determinism (two GPU runs of a short config: metrics.csv byte-identical once its timing column
# is dropped); compute-sanitizer memcheck on a tiny run, when installed; then every experiment of
# experiments/, shortened as /work/tools/refrun.sh does (DEVICE_CHECK_SUBSET=3000 training,
# DEVICE_CHECK_TEST_SUBSET=1000 test examples), on the GPU and on the CPU, their summary.csv
# (sweep.csv for sweeps) compared with the tolerances below. Not against results/baselines:
# those numbers are for full runs. Meant to take under 5 minutes on 16 cores.
#
# Tolerances (GPU vs CPU, same shortened run; float sums in other orders drift over training):
#   *_accuracy (overall, %)          |gpu - cpu| <= 1.5 points
#   class_*_accuracy (per class, %)  |gpu - cpu| <= 5 points (about 100 test images per class)
#   anything else (losses, penalties, objectives, mean activations)
#                                    |gpu - cpu| <= 1e-4 + 2% of |cpu|
#
# Without a GPU (no nvidia-smi, or it lists none) it prints one line and exits 77.
# DEVICE_CHECK_FAKE=cpu runs the same pipeline with --device cpu on both sides (test_gpu
# --self) and without the device and sanitizer steps: it proves the script's plumbing and the
# report's format on any machine (tests/test_device_check.sh). Other knobs: DEVICE_CHECK_OUT
# (results/device-check), DEVICE_CHECK_THREADS (all cores), DEVICE_CHECK_BUILD=0 (skip make),
# arguments: experiment names (default: all).
set -u
cd "$(dirname "$0")/.." || exit 1
AELAB=${AELAB:-bin/aelab}
fake=${DEVICE_CHECK_FAKE:-}
out=${DEVICE_CHECK_OUT:-results/device-check}
subset=${DEVICE_CHECK_SUBSET:-3000}
test_subset=${DEVICE_CHECK_TEST_SUBSET:-1000}
threads=${DEVICE_CHECK_THREADS:-$(nproc)}
build=${DEVICE_CHECK_BUILD:-1}
case $fake in
    "") dev=gpu ;;
    cpu) dev=cpu ;;
    *) echo "device-check: DEVICE_CHECK_FAKE must be empty or cpu, not '$fake'" >&2; exit 2 ;;
esac

if [[ -z $fake ]]; then
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        echo "device-check: skipped: no NVIDIA GPU here (nvidia-smi not found); nothing was checked"
        exit 77
    fi
    if ! gpus=$(nvidia-smi -L 2>&1) || ! grep -q '^GPU ' <<<"$gpus"; then
        echo "device-check: skipped: no NVIDIA GPU here (nvidia-smi -L: $(head -n 1 <<<"$gpus")); nothing was checked"
        exit 77
    fi
fi

rm -rf "$out"
mkdir -p "$out/logs"
export AELAB_CACHE=$out/.cache
steps=$out/steps.csv compare=$out/compare.csv
echo "step,status,seconds,detail" >"$steps"
echo "experiment,key,cpu,$dev,abs_diff,tolerance,status" >"$compare"
nfail=0

# step NAME COMMAND...: runs it, logs to logs/NAME.log; 0 pass, 77 skip, else fail.
step() {
    local name=$1 t0 rc secs status detail
    shift
    t0=$(date +%s.%N)
    "$@" >"$out/logs/$name.log" 2>&1
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) status=pass ;;
        77) status=skip ;;
        *) status=fail; nfail=$((nfail + 1)) ;;
    esac
    detail=$(tail -n 1 "$out/logs/$name.log" | tr -d '\r' | tr ',"' ";'" | cut -c1-200)
    echo "$name,$status,$secs,$detail" >>"$steps"
    printf '%-5s %-34s %6ss  %s\n' "$status" "$name" "$secs" "$detail"
    return 0
}
skip_step() { echo "$1,skip,0,$2" >>"$steps"; printf '%-5s %-34s %6s   %s\n' skip "$1" - "$2"; }

run_short() { # run_short DEVICE CONFIG OUTDIR [aelab args...]
    local n
    n=$(basename "$2" .yaml)
    local -a extra=()
    # as tests/regress_short.sh: L-BFGS counts epochs in iterations; keep the UFLDL run short
    [[ $n == ufldl_sparse_kl ]] && extra=(--set pretrain_layer.epochs=40 --set pretrain_layer.optimizer.history=10
                                          --set softmax.epochs=20 --set softmax.finetune_epochs=20)
    "$AELAB" run "$2" --out "$3" --device "$1" --threads "$threads" --no-plots -q \
        --set load_dataset.subset="$subset" --set load_dataset.test_subset="$test_subset" "${extra[@]}" "${@:4}"
}

# metrics.csv without its timing column (seconds)
untimed() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i != "seconds") keep[i] = 1 }
                     { s = ""; for (i = 1; i <= NF; i++) if (i in keep) s = s (s == "" ? "" : ",") $i; print s }' "$1"; }

determinism() {
    local cfg=experiments/lecture17_mnist_stacked.yaml
    run_short "$dev" "$cfg" "$out/det/a" --no-cache --set pretrain_layer.epochs=2 || return 1
    run_short "$dev" "$cfg" "$out/det/b" --no-cache --set pretrain_layer.epochs=2 || return 1
    if diff <(untimed "$out/det/a/metrics.csv") <(untimed "$out/det/b/metrics.csv"); then
        echo "two $dev runs: metrics.csv identical ($(wc -l <"$out/det/a/metrics.csv") lines, seconds aside)"
    else
        echo "two $dev runs of the same config differ in metrics.csv"; return 1
    fi
}

memcheck() {
    if ! command -v compute-sanitizer >/dev/null 2>&1; then echo "compute-sanitizer not installed"; return 77; fi
    compute-sanitizer --tool memcheck --error-exitcode 99 "$AELAB" run experiments/lecture17_mnist_stacked.yaml \
        --out "$out/memcheck" --device gpu --threads "$threads" --no-plots --no-cache -q \
        --set load_dataset.subset=500 --set load_dataset.test_subset=200 --set pretrain_layer.epochs=1 || return 1
    echo "memcheck: no errors"
}

# the training paths on both backends (test_gpu --paths; --self: the CPU on both sides)
paths() {
    local bin=${BUILD:-build}/tests/test_gpu
    if [[ ! -x $bin ]]; then echo "$bin is not built (make test-gpu builds it)"; return 1; fi
    if [[ -n $fake ]]; then "$bin" --self --paths
    else AELAB_CUDA_LIB=${AELAB_CUDA_LIB:-$(dirname "$AELAB")/libaelab-cuda.so} "$bin" --paths; fi
}

# paths.csv from the log of the paths step: one row per tensor compared
paths_csv() {
    echo "case,what,tensor,n,max_abs_ref,max_abs_err,err_over_max_ref,fraction_of_tolerance"
    awk '/^case [0-9]+: / { c = $0; sub(/^case [0-9]+: /, "", c); sub(/ \([^()]* vs [^()]*\)$/, "", c); gsub(/,/, ";", c) }
         /^  (gradient|parameter) / { printf "%s,%s,%s,%s,%s,%s,%s,%s\n", c, $1, $2, $4, $6, $8, $10, $11 }' "$1"
}

# key,value lines of a run's results: summary.csv as it is; a sweep's sweep.csv as point<N>.COLUMN
results_kv() {
    if [[ -f $1/sweep.csv ]]; then
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
                 { for (i = 2; i <= NF; i++) if (h[i] !~ /^(seed|status|exit_code|seconds|stages_trained|stages_reused|run_dir)$/ && $i != "")
                       print "point" $1 "." h[i] "," $i }' "$1/sweep.csv"
    else
        tail -n +2 "$1/summary.csv"
    fi
}

# compare_experiment NAME: the CPU's and $dev's results within the tolerances (rows to compare.csv)
compare_experiment() {
    local n=$1
    join -t, -a1 -a2 -e MISSING -o 0,1.2,2.2 <(results_kv "$out/cpu/$n" | sort) <(results_kv "$out/dev/$n" | sort) |
    awk -F, -v n="$n" -v csv="$compare" '
        { key = $1; base = key; sub(/^point[0-9]+\./, "", base)
          if (base ~ /^class_[0-9]+_accuracy$/) tol = 5; else if (base ~ /accuracy$/) tol = 1.5
          else tol = 1e-4 + 0.02 * ($2 < 0 ? -$2 : $2)
          if ($2 == "MISSING" || $3 == "MISSING") { d = "-"; st = "fail" }
          else { d = $3 - $2; if (d < 0) d = -d; st = d <= tol ? "pass" : "fail" }
          if (st == "fail") { bad++; print n ": " key ": cpu " $2 ", '"$dev"' " $3 " (|diff| " d " > " tol ")" }
          rows++; printf "%s,%s,%s,%s,%s,%g,%s\n", n, key, $2, $3, d, tol, st >>csv }
        END { if (!rows) { print n ": no results to compare"; exit 1 }
              printf "%d values compared, %d outside tolerance\n", rows, bad; exit bad > 0 }'
}

experiment() { # experiment NAME: both runs, then the comparison
    run_short cpu "experiments/$1.yaml" "$out/cpu/$1" || { echo "the CPU run failed"; return 1; }
    run_short "$dev" "experiments/$1.yaml" "$out/dev/$1" || { echo "the $dev run failed"; return 1; }
    compare_experiment "$1"
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "device-check: ${fake:+DEVICE_CHECK_FAKE=$fake: }$dev vs cpu, subset $subset/$test_subset, $threads threads, report in $out/"
if [[ -n $fake ]]; then skip_step device "DEVICE_CHECK_FAKE=$fake: no GPU asked for"
else step device nvidia-smi; fi
if [[ $build == 1 ]]; then
    step build env -u MAKEFLAGS -u MAKELEVEL make -j"$(nproc)" WERROR=1
    if [[ -n $fake ]]; then step test-gpu env -u MAKEFLAGS -u MAKELEVEL make test-gpu
    else step test-gpu bash -c 'env -u MAKEFLAGS -u MAKELEVEL make test-gpu >"$1" 2>&1; rc=$?; tail -n 3 "$1";
                               [[ $rc -eq 0 ]] && grep -q "0 failed, 0 skipped" "$1"' _ "$out/logs/test-gpu.full.log"; fi
else
    skip_step build "DEVICE_CHECK_BUILD=0"; skip_step test-gpu "DEVICE_CHECK_BUILD=0"
fi
step backend-compare paths
paths_csv "$out/logs/backend-compare.log" >"$out/paths.csv"
step gradcheck "$AELAB" gradcheck --device "$dev"
step determinism determinism
if [[ -n $fake ]]; then skip_step memcheck "DEVICE_CHECK_FAKE=$fake: compute-sanitizer checks GPU runs"
else step memcheck memcheck; fi
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then for f in experiments/*.yaml; do names+=("$(basename "$f" .yaml)"); done; fi
for n in "${names[@]}"; do step "experiment:$n" experiment "$n"; done

{
    echo "# aelab device check"
    echo
    echo "- date: $started; commit: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    echo "- backends: $dev vs cpu${fake:+ (DEVICE_CHECK_FAKE=$fake: the CPU on both sides)}; threads: $threads"
    echo "- device: $(if [[ -n $fake ]]; then echo none; else nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1; fi)"
    echo "- experiments shortened to $subset training / $test_subset test examples"
    echo "- tolerances: accuracies 1.5 points, per-class accuracies 5 points, other values 1e-4 + 2% relative"
    echo
    echo "| step | status | seconds | detail |"
    echo "|---|---|---|---|"
    tail -n +2 "$steps" | awk -F, '{ d = $4; for (i = 5; i <= NF; i++) d = d "," $i; gsub(/\|/, "/", d)
                                     printf "| %s | %s | %s | %s |\n", $1, $2, $3, d }'
    echo
    echo "Values compared: $(($(wc -l <"$compare") - 1)), outside tolerance: $(grep -c ',fail$' "$compare") (compare.csv)."
    echo
    echo "## Training paths, $dev vs cpu (tests/backend_compare.h; per tensor in paths.csv)"
    echo
    if grep -q '^training paths, ' "$out/logs/backend-compare.log" 2>/dev/null; then
        echo '```'
        sed -n '/^training paths, /,/^  metrics: /p' "$out/logs/backend-compare.log"
        echo '```'
    else
        echo "not run: $(tail -n 1 "$out/logs/backend-compare.log" 2>/dev/null)"
    fi
    echo
    echo "Result: $([[ $nfail -eq 0 ]] && echo PASS || echo "FAIL ($nfail step(s))")"
} >"$out/report.md"
echo "device-check: $([[ $nfail -eq 0 ]] && echo PASS || echo "FAIL: $nfail step(s) failed"); report: $out/report.md"
[[ $nfail -eq 0 ]]
