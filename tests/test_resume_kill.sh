#!/usr/bin/env bash
# tests/test_resume_kill.sh — a run killed (SIGKILL) while it writes a checkpoint, then resumed:
#   1. the killed run leaves the checkpoint's temp file (NAME.tmp.<pid>.<counter>, the one atomic
#      writer's name for it, runner/fsutil.c) and not the checkpoint itself;
#   2. `aelab run --resume` reuses the stage finished before, trains the rest, and leaves no temp
#      file anywhere in the run directory;
#   3. its metrics.csv and summary.csv equal those of an uninterrupted run, the timing column
#      (seconds) aside.
# The kill lands inside the write deterministically: runner/fsutil.c's test hook
# AELAB_TEST_STALL_COMMIT=SUBSTRING makes a commit whose path contains SUBSTRING wait before its
# rename, with the temp file complete. A synthetic CSV data set keeps it to a few seconds.
set -u
cd "$(dirname "$0")/.." || exit 1
AELAB=${AELAB:-bin/aelab}
source tests/assert.sh

tmp=$(mktemp -d /tmp/aelab-resume-kill-XXXXXX)
pid=
trap '[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

awk 'BEGIN { srand(3); for (i = 0; i < 300; i++) { printf "%d", i % 3;
             for (j = 0; j < 16; j++) printf ",%d", int(rand() * 256); printf "\n" } }' >"$tmp/train.csv"
head -n 60 "$tmp/train.csv" >"$tmp/test.csv"
cat >"$tmp/kill.yaml" <<EOF
name: resume-kill
seed: 5
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/train.csv, test_csv: $tmp/test.csv, label_column: 0, batch_size: 50}
  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - append_layer: {units: 4, optimizer: {name: sgd, lr: 0.5}, epochs: 2}
  - strip_decoder
  - attach_classifier: {optimizer: {name: sgd, lr: 0.2}, epochs: 2}
  - evaluate
EOF
args=(run "$tmp/kill.yaml" --no-plots --no-cache --device cpu --threads 1)

# the reference: the same run, not interrupted
expect 0 "$AELAB" "${args[@]}" --out "$tmp/ref"
ckpt=checkpoints/02_append_layer.ckpt
expect 0 test -f "$tmp/ref/$ckpt"

# 1. killed while the second training stage's checkpoint is being committed
AELAB_TEST_STALL_COMMIT=$ckpt "$AELAB" "${args[@]}" --out "$tmp/run" >"$tmp/killed.log" 2>&1 &
pid=$!
temp=
for _ in $(seq 1 300); do # up to 30 s
    temp=$(find "$tmp/run" -path "*/$ckpt.tmp.*" 2>/dev/null | head -n 1)
    [[ -n $temp ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -n $temp ]]; then ok; else bad "no temp file of $ckpt appeared: $(head -c 600 "$tmp/killed.log")"; fi
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
expect 0 test -f "$temp"           # the kill left the temp ...
expect 1 test -e "$tmp/run/$ckpt"  # ... and no checkpoint
expect 0 test -f "$tmp/run/checkpoints/01_pretrain_layer.ckpt"

# 2. resumed: the first stage reused, no temp file left anywhere
expect 0 "$AELAB" "${args[@]}" --out "$tmp/run" --resume
contains "reused from the run directory"
left=$(find "$tmp/run" -name '*.tmp.*')
if [[ -z $left ]]; then ok; else bad "temp files left after --resume: $left"; fi
expect 0 test -f "$tmp/run/$ckpt"

# 3. the same tables as the uninterrupted run, the seconds column aside
no_seconds() { # no_seconds CSV: the file without its columns named "seconds"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) skip[i] = ($i == "seconds") }
             { line = ""; for (i = 1; i <= NF; i++) if (!skip[i]) line = line (line == "" ? "" : ",") $i
               print line }' "$1"
}
for f in metrics.csv summary.csv; do
    if diff <(no_seconds "$tmp/ref/$f") <(no_seconds "$tmp/run/$f") >"$tmp/diff" 2>&1; then ok
    else bad "$f differs from the uninterrupted run's: $(head -c 600 "$tmp/diff")"; fi
done

echo "resume after kill: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
