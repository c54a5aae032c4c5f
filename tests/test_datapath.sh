#!/usr/bin/env bash
# tests/test_datapath.sh — relative data paths (runner/datapath.h): in a config file they are
# resolved against the file's directory, whatever the working directory; given with --set, or
# in a config on standard input, against the working directory; the resolved config records
# them absolute, so --resume and `aelab encode` find the files from anywhere. A tiny CSV data
# set made here; no MNIST needed.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=$(realpath "${AELAB:-bin/aelab}")
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(realpath "$(mktemp -d)")
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache
mkdir -p "$tmp/proj/exp" "$tmp/proj/data" "$tmp/else"
# 60 examples of 6 features, the label first: class 1 brighter than class 0
awk 'BEGIN { srand(1); for (i = 0; i < 60; i++) { l = i % 2; printf "%d", l
             for (j = 0; j < 6; j++) printf ",%d", int(l * 120 + rand() * 100); printf "\n" } }' \
    >"$tmp/proj/data/train.csv"
cat >"$tmp/proj/exp/c.yaml" <<'YAML'
name: rel
pipeline:
  - load_dataset: {name: csv, train_csv: ../data/train.csv, test_csv: ./../data/train.csv, label_column: 0, batch_size: 10}
  - pretrain_layer: {units: 3, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - evaluate: {split: train}
YAML
csvline() { sed -n "s/^    $2: //p" "$1"; }
data=$tmp/proj/data/train.csv

# from another directory: the config's directory counts, not the working one
cd "$tmp/else"
expect 0 "$AELAB" run ../proj/exp/c.yaml --out r -q --no-plots --threads 1
[[ $(csvline r/config.yaml train_csv) == "$data" ]] && ok || bad "train_csv: $(csvline r/config.yaml train_csv)"
[[ $(csvline r/config.yaml test_csv) == "$data" ]] && ok || bad "test_csv (./ and .. removed): $(csvline r/config.yaml test_csv)"
# the same from the config's own directory and from the root: the same run
cd "$tmp/proj/exp"
expect 0 "$AELAB" run c.yaml --out "$tmp/r_here" -q --no-plots --threads 1
cd /
expect 0 "$AELAB" run "$tmp/proj/exp/c.yaml" --out "$tmp/r_root" -q --no-plots --threads 1
cd "$tmp/else"
cmp -s r/metrics.csv "$tmp/r_here/metrics.csv" && cmp -s r/summary.csv "$tmp/r_root/summary.csv" &&
    ok || bad "the three runs differ"
# --set: relative to the working directory
cd "$tmp/proj"
expect 0 "$AELAB" run exp/c.yaml --out "$tmp/r_set" -q --no-plots --threads 1 --set load_dataset.train_csv=data/train.csv
[[ $(csvline "$tmp/r_set/config.yaml" train_csv) == "$data" ]] && ok || bad "--set: $(csvline "$tmp/r_set/config.yaml" train_csv)"
cd "$tmp/else"
expect 1 "$AELAB" run ../proj/exp/c.yaml --out r2 -q --no-plots --set load_dataset.train_csv=nope.csv
contains "$tmp/else/nope.csv: error: cannot open: No such file or directory"
# standard input: the working directory
expect 1 "$AELAB" run - --out r3 -q --no-plots <"$tmp/proj/exp/c.yaml"
contains "$tmp/data/train.csv: error: cannot open: No such file or directory"
cd "$tmp/proj/exp"
expect 0 "$AELAB" run - --out "$tmp/r_stdin" -q --no-plots --threads 1 <c.yaml
# what the run directory's config names is found from anywhere
cd "$tmp"
expect 0 "$AELAB" run --resume else/r -q --no-plots --threads 1
expect 0 "$AELAB" encode else/r --split train -o codes.csv
[[ $(wc -l <codes.csv) -eq 61 ]] && ok || bad "codes.csv: $(wc -l <codes.csv) lines"
# an absolute path is left as it is
sed "s|\(\./\)\{0,1\}\.\./data/train\.csv|$data|g" "$tmp/proj/exp/c.yaml" >"$tmp/else/abs.yaml"
expect 0 "$AELAB" run "$tmp/else/abs.yaml" --out "$tmp/r_abs" -q --no-plots --threads 1
[[ $(csvline "$tmp/r_abs/config.yaml" train_csv) == "$data" ]] && ok || bad "absolute: $(csvline "$tmp/r_abs/config.yaml" train_csv)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
