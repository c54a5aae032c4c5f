#!/usr/bin/env bash
# tests/test_cli.sh — the command line as a user meets it: help and version, exit codes,
# `check` on every checked-in experiment, `gradcheck`, `datasets`, and a short real run on
# MNIST whose run directory must hold every output file and rendered PNGs.
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
source tests/assert.sh

tmp=$(mktemp -d /tmp/aelab-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

expect 0 "$AELAB" --help;            contains "usage: aelab COMMAND"
expect 0 "$AELAB" --version;         contains "aelab 0."
expect 2 "$AELAB";                   contains "usage: aelab"
expect 2 "$AELAB" rnu x.yaml;        contains "unknown command 'rnu'; did you mean 'run'?"
for c in run check plot compare datasets gradcheck; do
    expect 0 "$AELAB" "$c" --help;   contains "usage: aelab $c"
done
expect 2 "$AELAB" run;               contains "missing the config file"
expect 2 "$AELAB" run x.yaml --bogus; contains "unknown option '--bogus'"
expect 2 "$AELAB" run x.yaml --threads many; contains "--threads: expected an integer"
expect 2 "$AELAB" run x.yaml --device tpu; contains "--device: expected auto, cpu or gpu, got 'tpu'"
expect 2 "$AELAB" check "$tmp/nonexistent.yaml"; contains "nonexistent.yaml"

for f in experiments/*.yaml; do
    expect 0 "$AELAB" check "$f"; contains "plan for"
done

# the README's config reference is the schema's (tag-schema-readme)
expect 0 "$AELAB" keys
sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' README.md | sed '1s/.*<!-- keys:begin -->//; $d' >"$tmp/readme-keys"
if diff -q <(printf '%s\n' "$out") "$tmp/readme-keys" >/dev/null; then ok; else
    bad "README's config reference differs from 'aelab keys' (regenerate it): $(diff <(printf '%s\n' "$out") "$tmp/readme-keys" | head -5)"; fi
expect 0 "$AELAB" gradcheck;         contains "0 failed"
expect 0 "$AELAB" datasets;          contains "mnist"

# A short real run: 2,000 MNIST images, every stage kind, plots on.
cat >"$tmp/short.yaml" <<'YAML'
name: short
seed: 3
pipeline:
  - load_dataset: {name: mnist, subset: 2000, test_subset: 500, batch_size: 500}
  - add_noise: {kind: gaussian, mean: 0.1, std: 0.2}
  - pretrain_layer: {units: 64, activation: tanh, decoder_activation: sigmoid, loss: mse,
                     optimizer: {name: sgd, lr: 0.98}, epochs: 2}
  - strip_decoder
  - attach_classifier: {classes: 10, loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 2}
  - evaluate: {split: test}
YAML
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/run" --threads 2 --no-cache
for f in config.yaml metrics.csv summary.csv per_class.csv confusion.csv \
         checkpoints/02_pretrain_layer.ckpt checkpoints/04_attach_classifier.ckpt; do
    if [[ -s $tmp/run/$f ]]; then ok; else bad "run directory lacks $f"; fi
done
if [[ $(wc -l <"$tmp/run/metrics.csv") -eq 5 ]]; then ok; else bad "metrics.csv should have 1 + 4 rows"; fi
grep -q '^test_accuracy,' "$tmp/run/summary.csv" && ok || bad "summary.csv lacks test_accuracy"
grep -q 'backend: cpu' "$tmp/run/config.yaml" && ok || bad "config.yaml lacks the backend provenance"
if command -v gnuplot >/dev/null; then
    npng=$(find "$tmp/run" -name '*.png' -size +1k | wc -l)
    if [[ $npng -ge 8 ]]; then ok; else bad "expected >= 8 PNGs, found $npng"; fi
    expect 0 "$AELAB" plot "$tmp/run"; contains "rendered"
fi
# no temp files left behind
if [[ -z $(find "$tmp/run" -name '*.tmp*') ]]; then ok; else bad "temp files left: $(find "$tmp/run" -name '*.tmp*')"; fi

# kill -9 after the first stage, then --resume: the numbers of an uninterrupted run of the same
# config and thread count, with the first stage reused, not retrained. The classifier is long
# enough (40 epochs on one thread) that the kill lands inside it.
sed 's/epochs: 2}$/epochs: 40}/' "$tmp/short.yaml" >"$tmp/long.yaml"
expect 0 "$AELAB" run "$tmp/long.yaml" --out "$tmp/whole" --threads 1 --no-plots --no-cache -q
"$AELAB" run "$tmp/long.yaml" --out "$tmp/killed" --threads 1 --no-plots --no-cache -q &
pid=$!
for _ in $(seq 1 600); do
    [[ -e $tmp/killed/checkpoints/02_pretrain_layer.ckpt ]] && break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
if [[ -e $tmp/killed/checkpoints/02_pretrain_layer.ckpt && ! -e $tmp/killed/summary.csv ]]; then ok
else bad "the kill did not land between the first stage and the end of the run"; fi
# A kill -9 in the middle of an atomic write leaves its temp file (never a torn output); the
# resumed run removes it. A stand-in for one, with a pid no process has, makes sure there is one.
: >"$tmp/killed/metrics.csv.tmp.999999999.0"
expect 0 "$AELAB" run --resume "$tmp/killed" --threads 1 --no-plots --no-cache
if [[ -z $(find "$tmp/killed" -name '*.tmp*') ]]; then ok; else bad "the resumed run left temp files: $(find "$tmp/killed" -name '*.tmp*')"; fi
contains "[3/6 pretrain_layer] reused from the run directory"
contains "[5/6 attach_classifier] epoch 40/40"
if cmp -s "$tmp/whole/summary.csv" "$tmp/killed/summary.csv"; then ok; else
    bad "resumed summary.csv differs: $(diff "$tmp/whole/summary.csv" "$tmp/killed/summary.csv" | head -5)"; fi
cut -d, -f1-11 "$tmp/whole/metrics.csv" >"$tmp/m1"; cut -d, -f1-11 "$tmp/killed/metrics.csv" >"$tmp/m2"
if cmp -s "$tmp/m1" "$tmp/m2"; then ok; else bad "resumed metrics.csv differs from the uninterrupted run's"; fi

# --set overrides, and a bad --set path
expect 0 "$AELAB" check "$tmp/short.yaml" --set pretrain_layer.epochs=5 --set seed=9
expect 2 "$AELAB" check "$tmp/short.yaml" --set pretrain_layer.epoch=5; contains "epochs"

# a --device gpu request on a machine without a GPU is a clear error (exit 2)
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
    expect 2 "$AELAB" run "$tmp/short.yaml" --out "$tmp/gpu" --device gpu; contains "device gpu requested"
fi

echo "test_cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
