#!/usr/bin/env bash
# tests/test_runs.sh — `aelab runs` and `aelab diff` on run directories written here by hand
# (resolved configs, provenance, summaries, a sweep point's point.status), so every table and
# every difference is known exactly; then one real run, diffed against itself and a variant.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
same() { if [[ $1 == "$2" ]]; then ok; else bad "differs:"; diff <(echo "$2") <(echo "$1") | head -20; fi; }

# mkrun DIR UNITS LR SEED DATE BACKEND LOSS ACC: a resolved config and its summary
mkrun() {
    mkdir -p "$1"
    cat >"$1/config.yaml" <<YAML
# resolved by aelab
name: t
seed: $4
pipeline:
- load_dataset:
    name: mnist
    subset: 300
- pretrain_layer:
    units: $2
    optimizer: {name: sgd, lr: $3}
- attach_classifier:
    hidden: []
provenance:
  version: 0.1.0
  git_commit: abc123
  seed: $4
  backend: $6
  threads: 2
  date: $5
YAML
    printf 'metric,value\npretrain_layer_final_loss,%s\ntest_accuracy,%s\nclass_0_accuracy,99\n' \
        "$7" "$8" >"$1/summary.csv"
}
mkrun "$tmp/res/a" 16 0.5 1 2026-01-01T00:00:00Z cpu 0.25 90
mkrun "$tmp/res/b" 32 0.5 1 2026-01-02T00:00:00Z cpu 0.125 92.5
mkrun "$tmp/res/sw/sweep/10_lr=0.1" 16 0.1 1 2026-01-03T00:00:00Z cuda 0.5 80
mkrun "$tmp/res/sw/sweep/2_lr=0.2" 16 0.2 1 2026-01-03T00:00:00Z cuda 0.375 85
printf 'point: 1\nexit_code: 1\n' >"$tmp/res/sw/sweep/10_lr=0.1/point.status"
mkdir -p "$tmp/res/.cache/x" "$tmp/res/a/checkpoints"
cp "$tmp/res/a/summary.csv" "$tmp/res/.cache/x/" # hidden folders are not searched
cd "$tmp"

expect 0 "$OLDPWD/$AELAB" runs res
same "$out" "run                     name  date                  commit  status  config        seed  backend  threads  pipeline[1].pretrain_layer.units  pipeline[1].pretrain_layer.optimizer.lr  pretrain_layer_final_loss  test_accuracy
res/a                   t     2026-01-01T00:00:00Z  abc123  ok      84b3ee1458fc  1     cpu      2        16                                0.5                                      0.25                       90
res/b                   t     2026-01-02T00:00:00Z  abc123  ok      4dbcb1e9ac7a  1     cpu      2        32                                0.5                                      0.125                      92.5
res/sw/sweep/2_lr=0.2   t     2026-01-03T00:00:00Z  abc123  ok      d7dc97cda57b  1     cuda     2        16                                0.2                                      0.375                      85
res/sw/sweep/10_lr=0.1  t     2026-01-03T00:00:00Z  abc123  failed  cad03d23a708  1     cuda     2        16                                0.1                                      0.5                        80"
cd "$OLDPWD"
A="$AELAB"
R=$tmp/res
expect 0 "$A" runs "$R" --format csv --sort=-test_accuracy --filter backend=cpu
same "$out" "run,name,date,commit,status,config,seed,backend,threads,pipeline[1].pretrain_layer.units,pretrain_layer_final_loss,test_accuracy
$R/b,t,2026-01-02T00:00:00Z,abc123,ok,4dbcb1e9ac7a,1,cpu,2,32,0.125,92.5
$R/a,t,2026-01-01T00:00:00Z,abc123,ok,84b3ee1458fc,1,cpu,2,16,0.25,90"
# numeric order, not text order (85 < 90 < 92.5; "80" < "85" < "90" < "92.5" too, so use the loss)
expect 0 "$A" runs "$R" --format csv --sort pretrain_layer_final_loss --filter 'test_accuracy>=85'
same "$(cut -d, -f1 <<<"$out")" "run
$R/b
$R/a
$R/sw/sweep/2_lr=0.2"
expect 0 "$A" runs "$R/sw" --format json --filter 'pipeline[1].pretrain_layer.optimizer.lr!=0.1' --all
same "$out" "[
  {\"run\": \"$R/sw/sweep/2_lr=0.2\", \"name\": \"t\", \"date\": \"2026-01-03T00:00:00Z\", \"commit\": \"abc123\", \"status\": \"ok\", \"config\": \"d7dc97cda57b\", \"seed\": 1, \"backend\": \"cuda\", \"threads\": 2, \"pipeline[0].load_dataset.name\": \"mnist\", \"pipeline[0].load_dataset.subset\": 300, \"pipeline[1].pretrain_layer.units\": 16, \"pipeline[1].pretrain_layer.optimizer.name\": \"sgd\", \"pipeline[1].pretrain_layer.optimizer.lr\": 0.2, \"pipeline[2].attach_classifier.hidden\": \"[]\", \"pretrain_layer_final_loss\": 0.375, \"test_accuracy\": 85, \"class_0_accuracy\": 99}
]"
expect 0 "$A" runs "$R/a" "$R/b" --format markdown --filter status=ok
same "$out" "| run | name | date | commit | status | config | seed | backend | threads | pipeline[1].pretrain_layer.units | pretrain_layer_final_loss | test_accuracy |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| $R/a | t | 2026-01-01T00:00:00Z | abc123 | ok | 84b3ee1458fc | 1 | cpu | 2 | 16 | 0.25 | 90 |
| $R/b | t | 2026-01-02T00:00:00Z | abc123 | ok | 4dbcb1e9ac7a | 1 | cpu | 2 | 32 | 0.125 | 92.5 |"
# every row filtered out: the header alone, exit 0
expect 0 "$A" runs "$R" --format csv --filter test_accuracy=1
same "$out" "run,name,date,commit,status,config,seed,backend,threads"
# the same resolved config gives the same hash whatever the provenance (the hashes above are
# FNV-1a 64 of "KEY=VALUE\n" for each key path in order, low 48 bits, computed in Python)
mkrun "$tmp/other/c" 16 0.5 1 2027-05-05T00:00:00Z cuda 9 9
expect 0 "$A" runs "$tmp/other" --format csv
contains ",84b3ee1458fc,"

# errors
expect 2 "$A" runs "$R" --sort nosuch
contains "aelab runs: error: --sort: no run has 'nosuch'"
expect 2 "$A" runs "$R" --filter nosuch=1
contains "aelab runs: error: --filter: no run has 'nosuch'"
expect 2 "$A" runs "$R" --filter justakey
contains "--filter: expected KEY=VALUE"
expect 2 "$A" runs "$R" --format xml
contains "--format: expected text, csv, markdown or json, got 'xml'"
expect 2 "$A" runs "$tmp/nowhere"
contains "aelab runs: error: $tmp/nowhere: no such directory"
mkdir -p "$tmp/empty"
expect 1 "$A" runs "$tmp/empty"
contains "aelab runs: no run directory (config.yaml or summary.csv) under $tmp/empty"

# ---- aelab diff ----
expect 1 "$A" diff "$R/a" "$R/b"
same "$out" "--- $R/a
+++ $R/b
config:
  pipeline[1].pretrain_layer.units: 16 -> 32
metrics:
  pretrain_layer_final_loss: 0.25 -> 0.125 (-0.125)
  test_accuracy: 90 -> 92.5 (+2.5)
1 config key, 0 provenance keys and 2 metrics differ"
# provenance (the date only with --all), a key on one side, a metric on one side, 90 = 90.0
mkrun "$tmp/d/x" 16 0.5 1 2026-01-01T00:00:00Z cpu 0.25 90
mkrun "$tmp/d/y" 16 0.5 1 2026-02-01T00:00:00Z cuda 0.25 90.0
sed -i 's/^  threads: 2/  threads: 4\n  blas: OpenBLAS (core Haswell)/' "$tmp/d/y/config.yaml"
sed -i 's/^    subset: 300/    subset: 300\n    test_subset: 100/' "$tmp/d/y/config.yaml"
echo "recon_mse,0.5" >>"$tmp/d/x/summary.csv"
expect 1 "$A" diff "$tmp/d/x" "$tmp/d/y"
same "$out" "--- $tmp/d/x
+++ $tmp/d/y
config:
  pipeline[0].load_dataset.test_subset: (none) -> 100
provenance:
  backend: cpu -> cuda
  threads: 2 -> 4
  blas: (none) -> OpenBLAS (core Haswell)
metrics:
  recon_mse: 0.5 -> (none)
1 config key, 3 provenance keys and 1 metric differ"
expect 1 "$A" diff "$tmp/d/x" "$tmp/d/y" --all --format json
same "$out" "{
  \"a\": \"$tmp/d/x\",
  \"b\": \"$tmp/d/y\",
  \"identical\": false,
  \"config\": [
    {\"key\": \"pipeline[0].load_dataset.test_subset\", \"a\": null, \"b\": \"100\"}
  ],
  \"provenance\": [
    {\"key\": \"backend\", \"a\": \"cpu\", \"b\": \"cuda\"},
    {\"key\": \"threads\", \"a\": \"2\", \"b\": \"4\"},
    {\"key\": \"date\", \"a\": \"2026-01-01T00:00:00Z\", \"b\": \"2026-02-01T00:00:00Z\"},
    {\"key\": \"blas\", \"a\": null, \"b\": \"OpenBLAS (core Haswell)\"}
  ],
  \"metrics\": [
    {\"key\": \"recon_mse\", \"a\": \"0.5\", \"b\": null, \"delta\": null}
  ]
}"
expect 0 "$A" diff "$R/a" "$R/a"
same "$out" "--- $R/a
+++ $R/a
no difference"
expect 2 "$A" diff "$R/a"
contains "aelab diff: error: missing RUN_B"
expect 2 "$A" diff "$R/a" "$tmp/empty"
contains "$tmp/empty: error: not a run directory (neither config.yaml nor summary.csv)"
expect 2 "$A" diff "$R/a" "$R/b" "$R/a"
contains "unexpected argument"

# Two real runs of one config are the same run (the date aside); a --set shows as a key path.
cat >"$tmp/real.yaml" <<'YAML'
name: real
seed: 3
pipeline:
  - load_dataset: {name: mnist, batch_size: 100, subset: 300, test_subset: 100}
  - pretrain_layer: {units: 16, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - evaluate
YAML
if "$A" check "$tmp/real.yaml" >/dev/null 2>&1; then
    for k in 1 2; do
        "$A" run "$tmp/real.yaml" --out "$tmp/real$k" -q --no-plots --threads 1 --no-cache
    done
    "$A" run "$tmp/real.yaml" --out "$tmp/real3" -q --no-plots --threads 1 --no-cache \
        --set pretrain_layer.optimizer.lr=0.25
    expect 0 "$A" diff "$tmp/real1" "$tmp/real2"
    contains "no difference"
    expect 1 "$A" diff "$tmp/real1" "$tmp/real3"
    contains "pipeline[1].pretrain_layer.optimizer.lr: 0.5 -> 0.25"
    contains "overrides: \"\" -> pretrain_layer.optimizer.lr=0.25"
    expect 0 "$A" runs "$tmp" --format csv --filter name=real --sort pipeline[1].pretrain_layer.optimizer.lr
    same "$(cut -d, -f1 <<<"$out" | sed "s|$tmp/||")" "run
real3
real1
real2"
else
    echo "note: MNIST missing, the real runs are left out"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
