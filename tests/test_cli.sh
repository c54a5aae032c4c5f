#!/usr/bin/env bash
# tests/test_cli.sh — the command line as a user meets it: help and version, exit codes,
# `check` on every checked-in experiment, `gradcheck`, `datasets`, and a short real run on
# MNIST whose run directory must hold every output file and rendered PNGs. Then the option
# syntax (GNU forms and their effects), arguments refused, '-' as standard input, and -v.
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

# GNU-style options (getopt_long): '=' forms, attached values, bundles and prefixes do what the
# spaced forms do. Each case checks the effect: the directory written, the threads recorded.
cfg_line() { sed -n "/^provenance:/,\$p" "$1" | grep -m1 "^  $2:" | sed "s/^  $2: //"; }
expect 0 "$AELAB" run "$tmp/short.yaml" --out="$tmp/eq" --threads=1 --device=cpu --no-cache --no-plots -q
if [[ -s $tmp/eq/summary.csv && $(cfg_line "$tmp/eq/config.yaml" threads) == 1 &&
      $(cfg_line "$tmp/eq/config.yaml" backend) == cpu ]]; then ok
else bad "--out=DIR --threads=1 --device=cpu: $(ls "$tmp/eq" 2>&1 | head -3)"; fi
expect 0 "$AELAB" run "$tmp/short.yaml" -qo"$tmp/bundle" --thr 2 --no-c --no-p
if [[ -z $out && -s $tmp/bundle/summary.csv && $(cfg_line "$tmp/bundle/config.yaml" threads) == 2 ]]; then ok
else bad "-qoDIR --thr 2 (quiet, into DIR, 2 threads): '$out'"; fi
[[ -z $(find "$tmp/bundle" -name '*.gp') ]] && ok || bad "--no-p did not mean --no-plots"
expect 0 "$AELAB" run "$tmp/short.yaml" -o "$tmp/setq" --set=seed=7 --set=pretrain_layer.epochs=1 \
    --threads 1 --no-cache --no-plots -q
[[ $(cfg_line "$tmp/setq/config.yaml" seed) == 7 && $(wc -l <"$tmp/setq/metrics.csv") -eq 4 ]] && ok ||
    bad "--set=seed=7 --set=pretrain_layer.epochs=1 not applied: $(cfg_line "$tmp/setq/config.yaml" seed)"
# -j: the same commands whatever the spelling
expect 0 "$AELAB" run "$tmp/short.yaml" --set seed=1,2 --out "$tmp/sw" --emit commands -j 2
spaced=$out
for form in --jobs=2 -j2 --jobs\ 2; do
    # shellcheck disable=SC2086
    expect 0 "$AELAB" run "$tmp/short.yaml" --set=seed=1,2 --out="$tmp/sw" --emit=commands $form
    [[ $out == "$spaced" ]] && ok || bad "--emit commands $form differs from -j 2: $out"
done
# a bundled -qj2 runs a two-point sweep two at a time, quietly
expect 0 "$AELAB" run "$tmp/short.yaml" --set seed=1,2 --out "$tmp/swrun" --threads 2 --no-cache \
    --no-plots -qj2
[[ $(grep -c ',ok,' "$tmp/swrun/sweep.csv" 2>/dev/null) -eq 2 ]] && ok || bad "-qj2 sweep: $(cat "$tmp/swrun/sweep.csv" 2>&1)"
# -- ends the options: a config whose name starts with '-'
cp "$tmp/short.yaml" "$tmp/-dash.yaml"
abs_aelab=$(realpath "$AELAB") abs_data=${AELAB_DATA:-$(realpath data)}
dash=$(cd "$tmp" && AELAB_DATA=$abs_data "$abs_aelab" check -- -dash.yaml 2>&1)
[[ $? -eq 0 && $dash == *"plan for short"* ]] && ok || bad "check -- -dash.yaml: $dash"

# arguments a command does not take: exit 2 and a message naming them
expect 2 "$AELAB" keys extra;        contains "aelab keys: error: unexpected argument 'extra'"
expect 2 "$AELAB" --version extra;   contains "aelab: error: --version takes no arguments, got 'extra'"
expect 2 "$AELAB" version extra;     contains "aelab: error: version takes no arguments, got 'extra'"
expect 2 "$AELAB" gradcheck extra;   contains "aelab gradcheck: error: unexpected argument 'extra'"
expect 2 "$AELAB" plot "$tmp/run" extra; contains "aelab plot: error: unexpected argument 'extra'"
expect 2 "$AELAB" compare a b c;     contains "aelab compare: error: unexpected argument 'c' (expected BASELINE CURRENT)"
expect 2 "$AELAB" check "$tmp/short.yaml" extra
contains "aelab check: error: unexpected argument 'extra' (one config file at a time)"
expect 2 "$AELAB" run "$tmp/short.yaml" --no; contains "aelab run: error: ambiguous option '--no' (--no-plots, --no-cache)"
expect 2 "$AELAB" run "$tmp/short.yaml" --quiet=yes; contains "aelab run: error: --quiet takes no value, got '--quiet=yes'"
expect 2 "$AELAB" run "$tmp/short.yaml" -qx; contains "aelab run: error: unknown option '-x'"
expect 2 "$AELAB" run "$tmp/short.yaml" -o; contains "aelab run: error: -o needs a directory"
expect 2 "$AELAB" gradcheck --tol;   contains "aelab gradcheck: error: --tol needs a number > 0"
expect 2 "$AELAB" compare --frob a b; contains "aelab compare: error: unknown option '--frob'"
expect 2 "$AELAB" datasets --verbose; contains "aelab datasets: error: unknown option '--verbose'"
expect 2 "$AELAB" -x run;            contains "aelab: error: unknown option '-x'"
expect 2 "$AELAB" help run extra;    contains "aelab: error: unexpected argument 'extra' (help takes one command)"
expect 0 "$AELAB" help run;          contains "usage: aelab run FILE.yaml"
expect 0 "$AELAB" --help compare;    contains "usage: aelab compare BASELINE CURRENT"

# '-' is standard input, named <stdin> in messages
expect 0 "$AELAB" check - <"$tmp/short.yaml"; contains "plan for short (6 stages)"
sed 's/units: 64/units: -3/' "$tmp/short.yaml" >"$tmp/bad-units.yaml"
expect 2 "$AELAB" check - <"$tmp/bad-units.yaml"
contains '<stdin>:6:29: error: pipeline[2].pretrain_layer.units: expected an integer >= 1, got "-3"'
contains "aelab check: 1 error in <stdin>"
printf 'name: s\npipeline:\n  - load_dataset: {name: mnist\n' >"$tmp/unclosed.yaml"
expect 2 "$AELAB" check - <"$tmp/unclosed.yaml"
contains "<stdin>:4:1: error: did not find expected ',' or '}' (while parsing a flow mapping)"
contains "<stdin>:3:19: note: the flow mapping started here"
expect 2 "$AELAB" check - --set pretrain_layer.epochs=x <"$tmp/short.yaml"
contains '--set pretrain_layer.epochs=x: error: pipeline[2].pretrain_layer.epochs: expected an integer >= 1, got "x"'
expect 0 "$AELAB" run - --out "$tmp/from-stdin" --threads 1 --no-cache --no-plots -q <"$tmp/short.yaml"
[[ -s $tmp/from-stdin/summary.csv ]] && head -1 "$tmp/from-stdin/config.yaml" | grep -qF '# <stdin> resolved by aelab' &&
    ok || bad "run - did not run the piped config: $(head -1 "$tmp/from-stdin/config.yaml" 2>&1)"
# a sweep reads its config once per point: refused on standard input, by name
expect 2 "$AELAB" check - --set seed=1,2 <"$tmp/short.yaml"
contains "aelab check: error: --set seed=1,2: a sweep needs the config in a file (every point reads it again), not standard input"
{ cat "$tmp/short.yaml"; printf 'sweep:\n  seeds: 2\n'; } >"$tmp/sweep-block.yaml"
expect 2 "$AELAB" check - <"$tmp/sweep-block.yaml"
contains "<stdin>:11:1: error: sweep: a sweep needs the config in a file (every point reads it again), not standard input"
expect 2 "$AELAB" run - --list <"$tmp/short.yaml"
contains "aelab run: error: --list is for sweeps, and a sweep needs the config in a file"
# bounded like a file
expect 2 bash -c 'head -c 17000000 /dev/zero | tr "\0" "#" | "$0" check -' "$AELAB"
contains "<stdin>: error: larger than 16777216 bytes: not a config"

# -v, --verbose: what the run uses and where it comes from, the plan, then the stage times
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/verbose" --threads 2 --no-cache --no-plots -v
contains "aelab: verbose: blas OpenBLAS"
contains "aelab: verbose: threads 2 (--threads)"
contains "aelab: verbose: stage cache off (--no-cache)"
contains "aelab: verbose: config $tmp/short.yaml: name short, 6 stages, seed 3, 0 --set overrides"
contains "plan for short (6 stages)"
contains "aelab: verbose: [3 pretrain_layer] 2 epochs,"
contains "aelab: verbose: [5 attach_classifier] 2 epochs,"
contains "aelab: verbose: wall time"
contains "exit status 0"
# the last of -q and -v counts
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/verbose" --threads 1 --no-cache --no-plots -vq
[[ -z $out ]] && ok || bad "-vq should be quiet: $out"
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/verbose" --threads 1 --no-cache --no-plots -qv --device cpu
contains "aelab: verbose: backends compiled in: cpu"
contains "; device cpu (--device)"
contains "aelab: verbose: threads 1 (--threads)"
# check -v: the resolved config, defaults and --set values filled in
expect 0 "$AELAB" check "$tmp/short.yaml" --verbose --set=seed=11
contains "resolved config (every default filled in):"
contains "seed: 11"
contains "shuffle: true"
expect 0 "$AELAB" check "$tmp/short.yaml";  lacks "resolved config"
expect 0 "$AELAB" run --help;   contains "-v, --verbose"
expect 0 "$AELAB" check --help; contains "-v, --verbose"

# a --device gpu request on a machine without a GPU is a clear error (exit 2)
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
    expect 2 "$AELAB" run "$tmp/short.yaml" --out "$tmp/gpu" --device gpu; contains "device gpu requested"
fi

echo "test_cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
