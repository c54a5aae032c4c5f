#!/usr/bin/env bash
# tests/test_rundir.sh — one writer per run directory (runner/rundir.c): a second run writing to
# the same --out while the first is running is refused with the first one's PID, and its files
# are not mixed into the first's; the lock goes with its holder (kill -9 included); runs one
# after the other, and runs into other directories, are not affected.
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
source tests/assert.sh
tmp=$(mktemp -d /tmp/aelab-rundir-XXXXXX)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache

# Long enough (many small batches) that the second process starts while the first trains.
cat >"$tmp/long.yaml" <<'YAML'
name: long
seed: 1
pipeline:
  - load_dataset: {name: mnist, batch_size: 10, subset: 4000, test_subset: 200}
  - pretrain_layer: {units: 64, optimizer: {name: sgd, lr: 0.5}, epochs: 200}
YAML
cat >"$tmp/short.yaml" <<'YAML'
name: short
seed: 1
pipeline:
  - load_dataset: {name: mnist, batch_size: 100, subset: 300, test_subset: 100}
  - pretrain_layer: {units: 16, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
YAML

# Waits until the run writing into $1 has written its resolved config (it holds the lock then).
wait_started() {
    for _ in $(seq 200); do [[ -s $1/config.yaml ]] && return 0; sleep 0.05; done
    return 1
}

# 1. a run in progress; a second one into the same directory is refused, naming the first's PID
"$AELAB" run "$tmp/long.yaml" --out "$tmp/a" -q --no-plots --threads 1 >"$tmp/first.log" 2>&1 &
first=$!; pids+=("$first")
if wait_started "$tmp/a"; then ok; else bad "the first run never started: $(cat "$tmp/first.log")"; fi
expect 1 "$AELAB" run "$tmp/short.yaml" --out "$tmp/a" -q --no-plots --threads 1
contains "$tmp/a: error: in use by another aelab (pid $first) writing there"
contains "choose another --out"
# 2. ... also with --resume, which would otherwise clean the live run's temp files
expect 1 "$AELAB" run "$tmp/short.yaml" --out "$tmp/a" --resume -q --no-plots --threads 1
contains "(pid $first)"
# 3. the refused runs wrote nothing there: the config is still the first run's
if grep -q 'name: long' "$tmp/a/config.yaml" && ! grep -q 'name: short' "$tmp/a/config.yaml"; then ok
else bad "config.yaml was overwritten by a refused run"; fi
# 4. another directory is free meanwhile
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/b" -q --no-plots --threads 1
# 5. kill -9 the holder: the kernel releases the lock, a new run into the directory succeeds
kill -9 "$first"; wait "$first" 2>/dev/null
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/a" -q --no-plots --threads 1
if grep -q 'name: short' "$tmp/a/config.yaml"; then ok; else bad "the run after kill -9 did not write"; fi
# 6. runs one after another into the same directory are fine, and the lock file is hidden
expect 0 "$AELAB" run "$tmp/short.yaml" --out "$tmp/b" -q --no-plots --threads 1
if [[ -f $tmp/b/.aelab.lock ]]; then ok; else bad "no lock file in the run directory"; fi
# 7. two concurrent runs racing for one fresh directory: exactly one wins
"$AELAB" run "$tmp/long.yaml" --out "$tmp/c" -q --no-plots --threads 1 >"$tmp/c1.log" 2>&1 &
p1=$!; pids+=("$p1")
"$AELAB" run "$tmp/long.yaml" --out "$tmp/c" -q --no-plots --threads 1 >"$tmp/c2.log" 2>&1 &
p2=$!; pids+=("$p2")
wait_started "$tmp/c"
for _ in $(seq 100); do
    grep -q 'in use by another aelab' "$tmp/c1.log" "$tmp/c2.log" 2>/dev/null && break; sleep 0.05
done
refused=$(grep -l 'in use by another aelab' "$tmp/c1.log" "$tmp/c2.log" 2>/dev/null | wc -l)
if [[ $refused -eq 1 ]]; then ok; else bad "expected exactly one of two racing runs refused, got $refused"; fi
kill -9 "$p1" "$p2" 2>/dev/null; wait 2>/dev/null

echo "test_rundir: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
