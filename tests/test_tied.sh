#!/usr/bin/env bash
# tests/test_tied.sh — tied weights (`tied: true` on pretrain_layer/append_layer) through
# bin/aelab on a tiny synthetic CSV data set: `aelab check` says so; the run writes the one
# matrix's tiles (the encoder's) and no decoder tiles for the tied stages; the tied flag survives
# the checkpoint (a run that reuses the tied stages from the stage cache gives the same
# reconstruction error, rows and summary as one that trains them, which a decoder read back
# untied, with its zero weight, would not); and tied differs from untied. The gradients are
# checked by `aelab gradcheck` (the four "tied" cases in engine/gradcheck.c).
set -u
cd "$(dirname "$0")/.." || exit 1
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
tmp=$(mktemp -d /tmp/aelab-test-tied.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
gen() { awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++) { c = i % 3; line = c;
    for (j = 0; j < 16; j++) { v = (j % 3 == c ? 150 : 60) + int(rand() * 90); line = line "," v }
    print line } }'; }
gen 90 1 >"$tmp/train.csv"
gen 30 2 >"$tmp/test.csv"
cat >"$tmp/t.yaml" <<YAML
name: tied
seed: 2
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/train.csv, test_csv: $tmp/test.csv, label_column: 0, batch_size: 10}
  - pretrain_layer: {units: 8, tied: true, loss: mse, optimizer: {name: sgd, lr: 0.5}, epochs: 3}
  - append_layer: {units: 4, tied: true, loss: mse, optimizer: {name: adam, lr: 0.01}, epochs: 3}
  - evaluate
  - strip_decoder
  - attach_classifier: {optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - evaluate
YAML
expect 0 "$AELAB" check "$tmp/t.yaml"
contains "tied weights: the new decoder layer uses the encoder's W^T"
expect 0 "$AELAB" gradcheck
contains "ok    tied stack 6-5-4 end to end + l1"

export AELAB_CACHE=$tmp/cache
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/a" --threads 1 --device cpu -q
[[ -e $tmp/a/weights/01_pretrain_layer_encoder_after.f32 ]] && ok || bad "no encoder tiles"
ls "$tmp/a/weights" | grep -q decoder && bad "decoder tiles for a tied stage: $(ls "$tmp/a/weights")" || ok
# the tied stages from the cache, the classifier trained again (3 epochs instead of 2)
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/b" --threads 1 --device cpu --no-plots --set attach_classifier.epochs=3
contains "[2/7 pretrain_layer] reused from the stage cache"
contains "[3/7 append_layer] reused from the stage cache"
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/c" --threads 1 --device cpu --no-plots --no-cache --set attach_classifier.epochs=3
noseconds() { awk -F, -v OFS=, '{ $12 = ""; print }' "$1"; }
[[ $(noseconds "$tmp/b/metrics.csv") == $(noseconds "$tmp/c/metrics.csv") ]] && ok || bad "cached tied stages: rows differ"
if diff "$tmp/b/summary.csv" "$tmp/c/summary.csv" >/dev/null; then ok; else bad "cached tied stages: summary differs: $(diff "$tmp/b/summary.csv" "$tmp/c/summary.csv")"; fi
grep -q '^test_recon_mse,' "$tmp/c/summary.csv" && ok || bad "no test_recon_mse"
# untied is another model
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/u" --threads 1 --device cpu --no-plots --no-cache \
    --set pretrain_layer.tied=false --set append_layer.tied=false
[[ $(grep '^test_recon_mse,' "$tmp/u/summary.csv") != $(grep '^test_recon_mse,' "$tmp/a/summary.csv") ]] && ok || bad "tied == untied"
echo "tied: recon $(grep '^test_recon_mse,' "$tmp/a/summary.csv"), untied $(grep '^test_recon_mse,' "$tmp/u/summary.csv")"
echo "test_tied: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
