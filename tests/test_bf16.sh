#!/usr/bin/env bash
# tests/test_bf16.sh — `precision: bf16` through bin/aelab on a small synthetic CSV data set:
# `aelab keys` lists the key; `check` accepts it (or, in a build without oneDNN, refuses it with
# the config position and the reason); device gpu with bf16 is refused, from the config and from
# --device; a short training in bf16 ends within 0.1% of FP32's loss and differs from
# it (the GEMMs really ran in bf16); two bf16 runs at the same thread count give identical CSVs;
# the FP32 default is untouched (precision: fp32 written out gives the CSVs of the config
# without the key, byte for byte). The GEMM arithmetic itself: build/tests/test_bf16.
set -u
cd "$(dirname "$0")/.." || exit 1
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
tmp=$(mktemp -d /tmp/aelab-test-bf16.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache
gen() { awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++) { c = i % 3; line = c;
    for (j = 0; j < 64; j++) { v = (j % 3 == c ? 150 : 60) + int(rand() * 90); line = line "," v }
    print line } }'; }
gen 600 1 >"$tmp/train.csv"
gen 120 2 >"$tmp/test.csv"
cat >"$tmp/t.yaml" <<YAML
name: bf16
seed: 3
precision: bf16
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/train.csv, test_csv: $tmp/test.csv, label_column: 0, batch_size: 50}
  - pretrain_layer: {units: 32, loss: mse, optimizer: {name: sgd, lr: 0.5}, epochs: 4}
  - strip_decoder
  - attach_classifier: {optimizer: {name: sgd, lr: 0.5}, epochs: 3}
  - evaluate
YAML
sed 's/^precision: bf16$/precision: fp32/' "$tmp/t.yaml" >"$tmp/f.yaml"
grep -v '^precision:' "$tmp/t.yaml" >"$tmp/d.yaml"

expect 0 "$AELAB" keys
contains "precision"
line=$(grep -n '^precision:' "$tmp/t.yaml" | cut -d: -f1)
if [[ $("$AELAB" --version) == *"onednn: none"* ]]; then
    expect 2 "$AELAB" check "$tmp/t.yaml"
    contains "$tmp/t.yaml:$line:12: error: precision: bf16 is not available: this aelab was built without oneDNN (install libdnnl-dev: make deps, then rebuild)"
    expect 2 "$AELAB" run "$tmp/t.yaml" --out "$tmp/x" --threads 1 -q
    contains "precision: bf16 is not available"
    echo "test_bf16.sh: $pass passed, $fail failed (a build without oneDNN: the refusal only)"
    [[ $fail -eq 0 ]]; exit
fi
expect 0 "$AELAB" check "$tmp/t.yaml"

# a CPU without AVX512_BF16 (oneDNN told so): AVX-512 emulates bf16 (the same checks pass);
# AVX2 has no bf16 matmul, and the refusal says so
T=${BUILD:-build}/tests/test_bf16
if [[ -x $T ]]; then
    expect 0 "$T" --max-isa avx512_core
    contains "oneDNN instruction set: avx512_core (bf16 emulated)"
    contains "0 failed"
    expect 77 "$T" --max-isa avx2
    contains "test_bf16: no bf16 matmul: oneDNN has no bf16 matmul on this CPU (status 3; its instruction set here: below avx512_core (no bf16 matmul); bf16 needs AVX-512, natively AVX512_BF16)"
fi

# the GPU: refused, from the config and from the command line
sed 's/^seed: 3$/seed: 3\ndevice: gpu/' "$tmp/t.yaml" >"$tmp/g.yaml"
expect 2 "$AELAB" check "$tmp/g.yaml"
contains "$tmp/g.yaml:$((line + 1)):12: error: precision: bf16 runs on the CPU only (the CUDA backend has no bf16 GEMMs); set device: cpu or auto"
expect 2 "$AELAB" run "$tmp/t.yaml" --out "$tmp/x" --threads 1 --device gpu -q
contains "aelab: error: precision: bf16 runs on the CPU only (the CUDA backend has no bf16 GEMMs); use --device cpu or auto"

# bf16 twice, fp32, and the default
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/b1" --threads 2 --no-plots --no-cache
contains "on cpu-bf16 (2 threads)"
expect 0 "$AELAB" run "$tmp/t.yaml" --out "$tmp/b2" --threads 2 --no-plots --no-cache
expect 0 "$AELAB" run "$tmp/f.yaml" --out "$tmp/f" --threads 2 --no-plots --no-cache
contains "on cpu (2 threads)"
expect 0 "$AELAB" run "$tmp/d.yaml" --out "$tmp/d" --threads 2 --no-plots --no-cache
noseconds() { awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /seconds/) s[i] = 1 }
    { for (i in s) $i = ""; print }' "$1"; }
for f in metrics.csv summary.csv; do
    [[ $(noseconds "$tmp/b1/$f") == $(noseconds "$tmp/b2/$f") ]] && ok || bad "two bf16 runs: $f differs"
    [[ $(noseconds "$tmp/f/$f") == $(noseconds "$tmp/d/$f") ]] && ok || bad "precision: fp32 vs the default: $f differs"
done
[[ $(noseconds "$tmp/b1/metrics.csv") != $(noseconds "$tmp/f/metrics.csv") ]] && ok || bad "bf16 gave FP32's numbers"
# the last pretraining loss: bf16 within 0.1% of FP32's (measured here: 1.6e-6 relative)
last_loss() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "kind") s = i; if ($i == "loss") l = i } }
    NR > 1 && $s == "pretrain_layer" { v = $l } END { print v }' "$1"; }
lb=$(last_loss "$tmp/b1/metrics.csv") lf=$(last_loss "$tmp/f/metrics.csv")
awk -v b="$lb" -v f="$lf" 'BEGIN { exit !(b != "" && f > 0 && (b - f) / f < 0.001 && (f - b) / f < 0.001) }' &&
    ok || bad "bf16 pretraining loss $lb not within 0.1% of FP32's $lf"
echo "  last pretraining loss: bf16 $lb, fp32 $lf"
echo "test_bf16.sh: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
