#!/usr/bin/env bash
# tests/test_baseline_cmd.sh — `aelab baseline`: the exact baseline of a fixed summary, every
# checked-in baseline rebuilt from its own values with the options results/baselines/README.md
# lists for it, a sweep directory, -o, and the errors (exit 2).
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# same GOT WANT: the two texts are equal (a diff on failure)
same() { if [[ $1 == "$2" ]]; then ok; else bad "differs:"; diff <(echo "$2") <(echo "$1") | head -20; fi; }

mkdir -p "$tmp/run"
cat >"$tmp/run/summary.csv" <<'CSV'
metric,value
pretrain_layer_final_loss,0.0658812653
test_accuracy,91.83
class_0_accuracy,97.3469388
class_10_accuracy,50
attach_classifier_test_accuracy,91.83
CSV
expect 0 "$AELAB" baseline "$tmp/run"
same "$out" "metric,value,tolerance
pretrain_layer_final_loss,0.0658812653,3%
test_accuracy,91.83,1.0
class_0_accuracy,97.3469388,2
class_10_accuracy,50,2
attach_classifier_test_accuracy,91.83,1.0"
expect 0 "$AELAB" baseline "$tmp/run/summary.csv" --acc 0.25 --rel=10% --no-per-class \
    --tol test_accuracy=0.1 --tol pretrain_layer_final_loss=0.001
same "$out" "metric,value,tolerance
pretrain_layer_final_loss,0.0658812653,0.001
test_accuracy,91.83,0.1
attach_classifier_test_accuracy,91.83,0.25"

# -o writes the file; compare then passes the run against it.
expect 0 "$AELAB" baseline "$tmp/run" -o "$tmp/base.csv"
same "$out" ""
expect 0 "$AELAB" compare "$tmp/base.csv" "$tmp/run"

# Every checked-in baseline is what `aelab baseline` makes of its values with its README options.
declare -A opts=(
    [lecture19_sparse_l1]="--acc 15 --no-per-class --tol attach_classifier_final_loss=50% --tol pretrain_layer_final_loss=10%"
    [lecture20_denoising_sparse]="--tol pretrain_layer_final_penalty=10% --tol pretrain_layer_final_objective=10% --tol pretrain_layer_final_mean_activation=10%"
    [lecture17_mnist_validation]="--tol attach_classifier_stopped_epoch=2 --tol attach_classifier_restored_epoch=2"
    [ufldl_sparse_kl]="--tol softmax_finetune_final_loss=10% --tol softmax_finetune_final_weight_decay=10% --tol softmax_finetune_final_objective=10%"
)
for b in results/baselines/*.csv; do
    n=$(basename "$b" .csv)
    cut -d, -f1,2 "$b" >"$tmp/$n.summary.csv"
    # shellcheck disable=SC2086
    expect 0 "$AELAB" baseline "$tmp/$n.summary.csv" ${opts[$n]:-}
    same "$out" "$(cat "$b")"
done

# A sweep directory: every point's metrics, POINT_DIR/METRIC, the rules by the metric's name.
mkdir -p "$tmp/sw/sweep/0_a=1" "$tmp/sw/sweep/1_a=2" "$tmp/sw/sweep/2_a=3"
printf 'metric,value\ntest_accuracy,90\nclass_1_accuracy,80\n' >"$tmp/sw/sweep/0_a=1/summary.csv"
printf 'metric,value\ntest_accuracy,85\nae_loss,0.5\n' >"$tmp/sw/sweep/1_a=2/summary.csv"
expect 0 "$AELAB" baseline "$tmp/sw" --tol 1_a=2/ae_loss=1
same "$out" "metric,value,tolerance
0_a=1/test_accuracy,90,1.0
0_a=1/class_1_accuracy,80,2
1_a=2/test_accuracy,85,1.0
1_a=2/ae_loss,0.5,1"

# Errors: exit 2 with the reason.
expect 2 "$AELAB" baseline
contains "aelab baseline: error: missing RUN"
expect 2 "$AELAB" baseline "$tmp/run" extra
contains "aelab baseline: error: unexpected argument 'extra'"
expect 2 "$AELAB" baseline "$tmp/run" --frob
contains "aelab baseline: error: unknown option '--frob'"
expect 2 "$AELAB" baseline "$tmp/run" --tol nosuch=1
contains "--tol nosuch: no such metric in the summary"
expect 2 "$AELAB" baseline "$tmp/run" --tol test_accuracy=lots
contains "--tol expects METRIC=TOL"
expect 2 "$AELAB" baseline "$tmp/run" --acc 3%
contains "--acc: expected a number of points"
expect 2 "$AELAB" baseline "$tmp/nothing"
contains "nothing: error: cannot open"
printf 'metric,value\ntest_accuracy,nan\n' >"$tmp/nan.csv"
expect 2 "$AELAB" baseline "$tmp/nan.csv"
contains "test_accuracy: value 'nan' is not a finite number"
expect 2 "$AELAB" baseline "$tmp/run" -o "$tmp/no/such/dir.csv"
expect 0 "$AELAB" baseline --help
contains "usage: aelab baseline RUN"
expect 0 "$AELAB" help baseline
contains "usage: aelab baseline RUN"
echo "test_baseline_cmd: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
