#!/usr/bin/env bash
# tests/test_controls.sh — validation, schedules and early stopping through bin/aelab on a tiny
# synthetic CSV data set (120 training, 40 test examples of 16 features, 3 classes, made here by
# awk): the metrics.csv header and its optional columns exactly, the lr column against the
# hand-computed step schedule, stopped/restored epochs against the rule replayed on the file's
# own val_loss column, the summary's entries, test accuracy per epoch only when asked, the held-
# out count, determinism, and the stage cache reusing a stage with the extra columns.
set -u
cd "$(dirname "$0")/.." || exit 1
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
tmp=$(mktemp -d /tmp/aelab-test-controls.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# example i: class i % 3; feature j is bright (200 + noise) when j % 3 is the class, else dim
gen() { awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++) { c = i % 3; line = c;
    for (j = 0; j < 16; j++) { v = (j % 3 == c ? 150 : 60) + int(rand() * 90); line = line "," v }
    print line } }'; }
gen 120 1 >"$tmp/train.csv"
gen 40 2 >"$tmp/test.csv"
cat >"$tmp/c.yaml" <<YAML
name: controls
seed: 3
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/train.csv, test_csv: $tmp/test.csv, label_column: 0,
                   batch_size: 10, validation: 0.25}
  - pretrain_layer: {units: 8, loss: mse, optimizer: {name: sgd, lr: 0.5},
                     epochs: 4, schedule: {kind: step, step_size: 2, gamma: 0.5}}
  - strip_decoder
  - attach_classifier: {optimizer: {name: sgd, lr: 1.0, momentum: 0.9}, epochs: 40, clip_norm: 5,
                        early_stopping: {metric: val_loss, patience: 3, restore_best: true}}
  - evaluate
YAML

run() { expect 0 "$AELAB" run "$tmp/c.yaml" --threads 1 --device cpu --no-plots "$@"; }
run --out "$tmp/r1" --no-cache
contains "90 training examples"
contains "30 validation examples held out of the training set"
m=$tmp/r1/metrics.csv
want='stage_index,stage,kind,epoch,loss,penalty,weight_decay,objective,train_accuracy,test_accuracy,mean_activation,seconds,val_loss,val_accuracy,lr,stopped_epoch,restored_epoch'
if [[ $(head -n 1 "$m") == "$want" ]]; then ok; else bad "header: $(head -n 1 "$m")"; fi

# lr of the step schedule: 0.5 * 0.5^floor((e-1)/2) for e = 1..4
lrs=$(awk -F, '$2 == "pretrain_layer" { printf "%s ", $15 }' "$m")
if [[ $lrs == "0.5 0.5 0.25 0.25 " ]]; then ok; else bad "pretrain lr column: '$lrs'"; fi
# the classifier's rate is constant: 1 (no schedule), stopped/restored empty but on the last row
awk -F, 'NR > 1 && $2 == "attach_classifier" && $15 != "1" { exit 1 }' "$m" && ok || bad "classifier lr column not 1"
# every row: val_loss set; val_accuracy only on the classifier; no test accuracy (auto, validation)
awk -F, 'NR > 1 && ($13 == "" || ($2 == "attach_classifier") != ($14 != "") || $10 != "") { exit 1 }' "$m" \
    && ok || bad "val/test columns: $(cat "$m")"

# the rule replayed on the val_loss column (patience 3, min_delta 0, lower is better)
read -r n stop best got_stop got_rest nlast < <(awk -F, '$2 == "attach_classifier" {
    e = $4; v = $13 + 0; n++
    if (n == 1 || v < bestv) { bestv = v; best = e; wait = 0 } else if (++wait >= 3 && !stop) stop = e
    if ($16 != "") { gs = $16; gr = $17; nl++ } }
    END { print n, (stop ? stop : n), best, gs, gr, nl }' "$m")
echo "classifier: $n epochs, rule: stop $stop best $best; file: stopped $got_stop restored $got_rest"
[[ $n == "$stop" && $got_stop == "$stop" && $got_rest == "$best" && $nlast == 1 ]] && ok \
    || bad "early stopping: n=$n rule stop=$stop best=$best file stopped=$got_stop restored=$got_rest rows=$nlast"
[[ $n -lt 40 ]] && ok || bad "the classifier was expected to stop early (ran $n epochs)"
[[ $best -lt $n ]] && ok || bad "the best epoch should precede the last ($best of $n)"
grep -qx "attach_classifier_stopped_epoch,$stop" "$tmp/r1/summary.csv" && ok || bad "summary stopped: $(cat "$tmp/r1/summary.csv")"
grep -qx "attach_classifier_restored_epoch,$best" "$tmp/r1/summary.csv" && ok || bad "summary restored"
bestv=$(awk -F, -v b="$best" '$2 == "attach_classifier" && $4 == b { print $13 }' "$m")
grep -qx "attach_classifier_val_loss,.*" "$tmp/r1/summary.csv" && ok || bad "summary val_loss"
grep -q "^val_accuracy," "$tmp/r1/summary.csv" && grep -q "^test_accuracy," "$tmp/r1/summary.csv" \
    && ok || bad "summary val_accuracy/test_accuracy"
echo "best val_loss $bestv at epoch $best"

# the same run again: the same file, seconds aside
noseconds() { awk -F, -v OFS=, '{ $12 = ""; print }' "$1"; }
run --out "$tmp/r2" --no-cache
[[ $(noseconds "$m") == $(noseconds "$tmp/r2/metrics.csv") ]] && ok || bad "not deterministic"

# test accuracy per epoch when asked
run --out "$tmp/r3" --no-cache --set attach_classifier.test_every_epoch=true
awk -F, 'NR > 1 && ($2 == "attach_classifier") != ($10 != "") { exit 1 }' "$tmp/r3/metrics.csv" \
    && ok || bad "test_every_epoch: true"

# the stage cache: a second run reuses every training stage, rows identical
export AELAB_CACHE=$tmp/cache
run --out "$tmp/r4"
run --out "$tmp/r5"
contains "reused from the stage cache"
[[ $(noseconds "$tmp/r4/metrics.csv") == $(noseconds "$tmp/r5/metrics.csv") ]] && ok || bad "cache rows differ"
[[ $(noseconds "$tmp/r4/metrics.csv") == $(noseconds "$m") ]] && ok || bad "cached run differs from r1"

# without the new keys the header is the lectures' twelve columns, byte for byte
sed -e 's/, validation: 0.25//' -e 's/, schedule: {kind: step, step_size: 2, gamma: 0.5}//' \
    -e 's/, clip_norm: 5,/,/' -e '/early_stopping/d' -e 's/epochs: 40,$/epochs: 5}/' "$tmp/c.yaml" >"$tmp/plain.yaml"
expect 0 "$AELAB" run "$tmp/plain.yaml" --out "$tmp/p" --threads 1 --device cpu --no-plots --no-cache
want='stage_index,stage,kind,epoch,loss,penalty,weight_decay,objective,train_accuracy,test_accuracy,mean_activation,seconds'
if [[ $(head -n 1 "$tmp/p/metrics.csv") == "$want" ]]; then ok; else bad "plain header: $(head -n 1 "$tmp/p/metrics.csv")"; fi
awk -F, 'NR > 1 && $2 == "attach_classifier" && $10 == "" { exit 1 }' "$tmp/p/metrics.csv" && ok \
    || bad "no validation: test accuracy every epoch (auto)"

# a held-out count that leaves nothing to train on
expect 1 "$AELAB" run "$tmp/c.yaml" --out "$tmp/bad" --no-cache --no-plots --set load_dataset.validation=120
contains "load_dataset.validation: holds out 120 of the 120 training examples; at least 1 must be held out and 1 kept"

# a sweep is judged by the validation metric, and says so; by a test metric, with a warning
unset AELAB_CACHE
expect 0 "$AELAB" run "$tmp/c.yaml" --out "$tmp/sw" --no-cache --no-plots --threads 1 --device cpu \
    --set attach_classifier.optimizer.lr=0.3,1.0
contains "best point by val_accuracy (validation, higher is better): point"
contains ", val_accuracy "
lacks "warning: selecting by the test metric"
expect 0 "$AELAB" run "$tmp/c.yaml" --out "$tmp/sw" --no-cache --no-plots --threads 1 --device cpu \
    --set attach_classifier.optimizer.lr=0.3,1.0 --metric test_accuracy
contains "aelab: warning: selecting by the test metric 'test_accuracy' although the points have validation metrics"
contains "best point by test_accuracy (test set, higher is better)"

echo "test_controls: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
