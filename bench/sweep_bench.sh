#!/usr/bin/env bash
# bench/sweep_bench.sh — what stage reuse saves in a sweep (issue 5): lecture 19 (the sparse
# autoencoder, experiments/lecture19_sparse_l1.yaml) with the classifier's learning rate swept
# over 5 values, run
#   (a) as 5 independent runs, one after the other, each with --no-cache (what the sweep costs
#       without stage reuse: 5 pretrainings and 5 classifiers);
#   (b) as one sweep, `aelab run ... --set attach_classifier.optimizer.lr=A,B,C,D,E -j JOBS`,
#       with an empty stage cache (the points share the pretraining: 1 pretraining, 5 classifiers).
# Reported: wall time, training stages actually trained and reused (from each run's "done: N
# training stages trained, M reused" line, and from sweep.csv), and each point's test accuracy in
# both, which must agree (a reused stage is the stage that would have been computed).
# It measures whatever the binary does: without a stage cache, (b) trains as much as (a).
#
# Usage: bench/sweep_bench.sh [--quick]      (make first; about 25 minutes at the lecture's
#        length on 2 cores, 4 with --quick)
#   --quick            4 autoencoder epochs and 2 classifier epochs instead of the lecture's 20 and
#                      10 (same data: 60,000 training images)
# Environment (defaults in brackets):
#   AELAB              the binary [bin/aelab]
#   BENCH_LRS          the learning rates [0.01,0.03,0.1,0.3,1]
#   BENCH_AE_EPOCHS    pretrain_layer.epochs [the config's: 20; --quick: 4]
#   BENCH_CLS_EPOCHS   attach_classifier.epochs [the config's: 10; --quick: 2]
#   BENCH_SUBSET       load_dataset.subset [all]
#   BENCH_THREADS      threads per run, and the sweep's budget [0: all cores]
#   BENCH_JOBS         the sweep's -j [1, so that both sides use the same threads per run]
#   BENCH_OUT          where the runs go [results/bench_sweep]; its summary.md gets the table
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AELAB:=bin/aelab}"
config=experiments/lecture19_sparse_l1.yaml
lrs=${BENCH_LRS:-0.01,0.03,0.1,0.3,1}
ae_epochs=${BENCH_AE_EPOCHS:-}
cls_epochs=${BENCH_CLS_EPOCHS:-}
subset=${BENCH_SUBSET:-}
threads=${BENCH_THREADS:-0}
jobs=${BENCH_JOBS:-1}
out=${BENCH_OUT:-results/bench_sweep}
case ${1:-} in
    --quick) ae_epochs=${ae_epochs:-4}; cls_epochs=${cls_epochs:-2} ;;
    "") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "sweep_bench: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
if [[ ! -x $AELAB ]]; then
    echo "sweep_bench: error: $AELAB is not built (run make)" >&2
    exit 2
fi
source scripts/blas_core.sh # the kernels bin/aelab picks, as bench/run.sh
blas_core_export "$AELAB"

sets=()
[[ -n $ae_epochs ]] && sets+=(--set "pretrain_layer.epochs=$ae_epochs")
[[ -n $cls_epochs ]] && sets+=(--set "attach_classifier.epochs=$cls_epochs")
[[ -n $subset ]] && sets+=(--set "load_dataset.subset=$subset")
desc="the lecture's epochs (20 + 10)"
[[ ${#sets[@]} -gt 0 ]] && desc="${sets[*]}"
IFS=, read -r -a lr_list <<<"$lrs"
n=${#lr_list[@]}
rm -rf "$out"
mkdir -p "$out"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b - a}'; }
# trained_reused LOG: "N M" from a run's "done: N training stage(s) trained, M reused" line
trained_reused() {
    sed -n 's/.*done: \([0-9]*\) training stages\{0,1\} trained, \([0-9]*\) reused.*/\1 \2/p' "$1" | tail -n 1
}
acc_of() { awk -F, '$1=="test_accuracy"{print $2}' "$1/summary.csv" 2>/dev/null; }

echo "sweep_bench: $config, classifier lr in {$lrs}, $desc, threads $threads" >&2

# (a) independent runs, no stage reuse
t0=$(now)
a_trained=0 a_reused=0
declare -A a_acc
for lr in "${lr_list[@]}"; do
    dir=$out/independent/lr=$lr
    mkdir -p "$dir"
    echo "sweep_bench: (a) independent run, lr $lr ..." >&2
    "$AELAB" run "$config" "${sets[@]}" --set "attach_classifier.optimizer.lr=$lr" --no-cache \
        --no-plots --threads "$threads" --out "$dir" 2>"$dir/stderr.log" >/dev/null
    read -r tr re <<<"$(trained_reused "$dir/stderr.log")"
    a_trained=$((a_trained + ${tr:-0}))
    a_reused=$((a_reused + ${re:-0}))
    a_acc[$lr]=$(acc_of "$dir")
done
t1=$(now)
a_secs=$(elapsed "$t0" "$t1")

# (b) one sweep with an empty stage cache
echo "sweep_bench: (b) one sweep of $n points, -j $jobs ..." >&2
export AELAB_CACHE=$out/cache
t0=$(now)
rc=0
"$AELAB" run "$config" "${sets[@]}" --set "attach_classifier.optimizer.lr=$lrs" --no-plots \
    --threads "$threads" -j "$jobs" --out "$out/sweep" >"$out/sweep.log" 2>&1 || rc=$?
t1=$(now)
b_secs=$(elapsed "$t0" "$t1")
if [[ $rc -ne 0 ]]; then
    echo "sweep_bench: error: the sweep exited $rc; see $out/sweep.log" >&2
    tail -n 20 "$out/sweep.log" >&2
    exit 1
fi
csv=$out/sweep/sweep.csv
col() { awk -F, -v n="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==n) c=i; next} c{print $c}' "$csv"; }
b_trained=$(col stages_trained | awk '{s+=$1} END{print s+0}')
b_reused=$(col stages_reused | awk '{s+=$1} END{print s+0}')
if [[ -z $(col stages_trained) ]]; then # an older sweep.csv: the points' logs
    b_trained=0 b_reused=0
    for log in "$out"/sweep/sweep/*/stderr.log; do
        read -r tr re <<<"$(trained_reused "$log")"
        b_trained=$((b_trained + ${tr:-0}))
        b_reused=$((b_reused + ${re:-0}))
    done
fi

# the table
cores=$(nproc)
host_cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
speedup=$(awk -v a="$a_secs" -v b="$b_secs" 'BEGIN{printf "%.2f", a / b}')
{
    echo "## Sweep with stage reuse: lecture 19, classifier lr x $n"
    echo
    echo "\`bench/sweep_bench.sh${1:+ $1}\` on $(date -u +%Y-%m-%d), $host_cpu, $cores cores, threads $threads;"
    echo "$config with $desc; lr in {$lrs}."
    echo
    echo "| | wall time | stages trained | stages reused |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| (a) $n independent runs (--no-cache) | ${a_secs} s | $a_trained | $a_reused |"
    echo "| (b) one sweep, -j $jobs, empty cache | ${b_secs} s | $b_trained | $b_reused |"
    echo
    echo "Speed-up (a)/(b): ${speedup}x."
    echo
    echo "| lr | test accuracy (a) | test accuracy (b) | same |"
    echo "| --- | ---: | ---: | --- |"
    k=0
    for lr in "${lr_list[@]}"; do
        b=$(col test_accuracy | sed -n "$((k + 1))p")
        same=no
        [[ -n $b && $b == "${a_acc[$lr]}" ]] && same=yes
        echo "| $lr | ${a_acc[$lr]} | $b | $same |"
        k=$((k + 1))
    done
} | tee "$out/summary.md"
echo "sweep_bench: table in $out/summary.md" >&2
