#!/usr/bin/env bash
# tests/test_cache.sh — the shared stage cache (runner/stagecache.c, runner/stagekey.c) and
# `aelab cache` (runner/cache_cmd.c):
#   reuse gives the same CSVs as training; the thread count is part of the key; data are keyed
#   by content (another path, a touch: reused; a changed byte: trained), their hashes memoised
#   in the cache's file-hash index; the build ID follows the sources; concurrent processes (the
#   points of a sweep run by hand in parallel) train a shared stage once, the others waiting on
#   the entry's lock; a holder killed with -9 leaves no half entry; a damaged entry is reported
#   and trained again; `aelab cache ls|du|gc` print exactly what the files say, and gc removes by
#   age and by size, least recently used first, never an entry whose lock is held.
# AELAB_TEST_CACHE_HOLD=S (runner/pipeline.c) makes a process about to train a stage wait S
# seconds holding the entry's lock, so that concurrent runs surely meet there.
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
source tests/assert.sh
tmp=$(mktemp -d /tmp/aelab-cache-XXXXXX)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
export AELAB_CACHE=$tmp/cache TZ=UTC
C=$AELAB_CACHE

cat >"$tmp/c.yaml" <<'YAML'
name: cached
seed: 1
pipeline:
  - load_dataset: {name: mnist, subset: 300, test_subset: 100, batch_size: 50}
  - pretrain_layer: {units: 16, activation: tanh, decoder_activation: sigmoid, loss: mse,
                     optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - strip_decoder
  - attach_classifier: {classes: 10, loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
  - evaluate: {split: test}
YAML
skip_without_mnist "$tmp/c.yaml"
run() { "$AELAB" run "$@" --no-plots --threads 1; }
# sans_seconds DIR: metrics.csv without its timing column (the last)
sans_seconds() { sed 's/,[^,]*$//' "$1/metrics.csv"; }
same_results() { # same_results DIR1 DIR2: the same CSVs, timing aside
    if [[ $(sans_seconds "$1") == "$(sans_seconds "$2")" ]] &&
       cmp -s "$1/summary.csv" "$2/summary.csv" && cmp -s "$1/per_class.csv" "$2/per_class.csv" &&
       cmp -s "$1/confusion.csv" "$2/confusion.csv"; then ok
    else bad "$1 and $2 differ: $(diff <(sans_seconds "$1") <(sans_seconds "$2") | head -5)"; fi
}
keys() { ls "$AELAB_CACHE" | sed -n 's/^\([0-9a-f]\{32\}\)\.ckpt$/\1/p'; }

# ---- 1. train, then reuse: the same CSVs; the thread count is in the key
expect 0 run "$tmp/c.yaml" --out "$tmp/r1"
contains "[2/5 pretrain_layer] trained"
contains "done: 2 training stages trained, 0 reused"
expect 0 run "$tmp/c.yaml" --out "$tmp/r2"
contains "[2/5 pretrain_layer] reused from the stage cache (nothing trained)"
contains "[4/5 attach_classifier] reused from the stage cache (nothing trained)"
contains "done: 0 training stages trained, 2 reused"
same_results "$tmp/r1" "$tmp/r2"
expect 0 "$AELAB" run "$tmp/c.yaml" --out "$tmp/r3" --no-plots --threads 2
contains "done: 2 training stages trained, 0 reused"
expect 0 "$AELAB" run "$tmp/c.yaml" --out "$tmp/r4" --no-plots --threads 2
contains "done: 0 training stages trained, 2 reused"
[[ $(keys | wc -l) -eq 4 ]] && ok || bad "4 entries expected after 1 and 2 threads: $(keys)"
# the renamed run and another key order reuse too (the name is not part of the key)
sed 's/^name: cached/name: renamed/' "$tmp/c.yaml" >"$tmp/renamed.yaml"
expect 0 run "$tmp/renamed.yaml" --out "$tmp/r5"
contains "done: 0 training stages trained, 2 reused"

# ---- 2. data keyed by content: another path and a touch reuse, a changed byte trains
mkdir -p "$tmp/d1" "$tmp/d2"
cp data/mnist/t10k-images-idx3-ubyte data/mnist/t10k-labels-idx1-ubyte "$tmp/d1/"
touch -d '2 hours ago' "$tmp/d1"/*
idx_cfg() { # idx_cfg DIR: the config on the IDX files in DIR
    sed "s|{name: mnist, |{name: idx, train_images: $1/t10k-images-idx3-ubyte, train_labels: $1/t10k-labels-idx1-ubyte, test_images: $1/t10k-images-idx3-ubyte, test_labels: $1/t10k-labels-idx1-ubyte, |" "$tmp/c.yaml"
}
idx_cfg "$tmp/d1" >"$tmp/idx1.yaml"
rm -f "$C/filehash.idx"
expect 0 run "$tmp/idx1.yaml" --out "$tmp/i1"
contains "done: 2 training stages trained, 0 reused"
# both files hashed once and remembered by (device, inode, size, mtime)
ino=$(stat -c %i "$tmp/d1/t10k-images-idx3-ubyte")
if grep -q "^[0-9]* $ino 7840016 [0-9]* [0-9a-f]\{32\}$" "$C/filehash.idx" &&
   [[ $(wc -l <"$C/filehash.idx") -eq 2 ]]; then ok
else bad "the file-hash index lacks the data files: $(cat "$C/filehash.idx")"; fi
cp "$tmp/d1"/* "$tmp/d2/"
idx_cfg "$tmp/d2" >"$tmp/idx2.yaml"
expect 0 run "$tmp/idx2.yaml" --out "$tmp/i2"
contains "done: 0 training stages trained, 2 reused"
same_results "$tmp/i1" "$tmp/i2"
touch "$tmp/d1/t10k-images-idx3-ubyte"
expect 0 run "$tmp/idx1.yaml" --out "$tmp/i3"
contains "done: 0 training stages trained, 2 reused"
# one pixel of the first image changed (byte 16 + 200)
printf '\x7f' | dd of="$tmp/d2/t10k-images-idx3-ubyte" bs=1 seek=216 conv=notrunc status=none
expect 0 run "$tmp/idx2.yaml" --out "$tmp/i4"
contains "done: 2 training stages trained, 0 reused"

# ---- 3. the build ID: stable for the same sources, another one when a source changes
mkdir -p "$tmp/src/scripts"
cp -r engine gpu runner "$tmp/src/"
cp scripts/buildid.sh "$tmp/src/scripts/"
id1=$(AE_CC=gcc AE_CFLAGS=-O2 "$tmp/src/scripts/buildid.sh")
id2=$(AE_CC=gcc AE_CFLAGS=-O2 "$tmp/src/scripts/buildid.sh")
id3=$(AE_CC=gcc AE_CFLAGS=-O3 "$tmp/src/scripts/buildid.sh")
echo '/* changed */' >>"$tmp/src/engine/train.c"
id4=$(AE_CC=gcc AE_CFLAGS=-O2 "$tmp/src/scripts/buildid.sh")
if [[ $id1 =~ ^[0-9a-f]{16}$ && $id1 == "$id2" && $id3 != "$id1" && $id4 != "$id1" ]]; then ok
else bad "build IDs: same sources $id1 $id2, other flags $id3, a changed engine $id4"; fi
expect 0 "$AELAB" --version
if grep -q "^build: [0-9a-f]\{16\}$" <<<"$out"; then ok; else bad "--version names no build ID: $out"; fi

# ---- 4. concurrent points of a sweep share the pretraining: trained once
cmds=$("$AELAB" run "$tmp/c.yaml" --set 'attach_classifier.optimizer.lr=0.1,0.2,0.3' \
       --out "$tmp/sw" --no-plots --threads 1 --emit commands | sed 's/ -q$//')
[[ $(grep -c -- '--point' <<<"$cmds") -eq 3 ]] && ok || bad "3 point commands expected: $cmds"
export AELAB_CACHE=$tmp/cache2
k=0
while read -r cmd; do
    AELAB_TEST_CACHE_HOLD=4 bash -c "$cmd" >"$tmp/p$k.log" 2>&1 &
    pids+=($!); k=$((k + 1))
done <<<"$cmds"
for p in "${pids[@]}"; do wait "$p"; done
pids=()
logs=$(cat "$tmp"/p?.log)
pre_trained=$(grep -c '\] trained' <<<"$(grep pretrain_layer <<<"$logs")")
pre_reused=$(grep pretrain_layer <<<"$logs" | grep -c 'reused from the stage cache')
waited=$(grep -c 'waiting for another aelab (pid [0-9]*), which holds this stage' <<<"$logs")
cls_trained=$(grep attach_classifier <<<"$logs" | grep -c '\] trained')
# (at least one of the two others waits on the holder's lock; on a loaded machine the last may
# start only after the entry is stored, and reuse it without waiting)
if [[ $pre_trained -eq 1 && $pre_reused -eq 2 && $waited -ge 1 && $cls_trained -eq 3 ]]; then ok
else bad "3 concurrent points: pretraining trained $pre_trained, reused $pre_reused, waits $waited, classifiers trained $cls_trained (want 1, 2, >= 1, 3): $logs"; fi
echo "test_cache: 3 concurrent points: pretrain_layer trained $pre_trained, reused $pre_reused ($waited waits)"
# the same three points in one process (-j 3) give the same numbers
AELAB_CACHE=$tmp/cache3 expect 0 "$AELAB" run "$tmp/c.yaml" --set 'attach_classifier.optimizer.lr=0.1,0.2,0.3' \
    --out "$tmp/swj" --no-plots --threads 3 -j 3 -q
for d in "$tmp"/sw/sweep/*/; do same_results "$d" "$tmp/swj/sweep/$(basename "$d")"; done

# ---- 5. a holder killed with -9: no half entry; the waiter trains
export AELAB_CACHE=$tmp/cache4
AELAB_TEST_CACHE_HOLD=30 "$AELAB" run "$tmp/c.yaml" --out "$tmp/k1" --no-plots --threads 1 \
    >"$tmp/k1.log" 2>&1 &
holder=$!; pids+=($holder)
for _ in $(seq 600); do grep -qx "$holder" "$AELAB_CACHE"/*.lock 2>/dev/null && break; sleep 0.05; done
"$AELAB" run "$tmp/c.yaml" --out "$tmp/k2" --no-plots --threads 1 >"$tmp/k2.log" 2>&1 &
waiter=$!; pids+=($waiter)
for _ in $(seq 600); do grep -q 'waiting for another aelab' "$tmp/k2.log" && break; sleep 0.05; done
# ^C ends a wait (exit 130), even though the holder keeps the lock
"$AELAB" run "$tmp/c.yaml" --out "$tmp/k3" --no-plots --threads 1 >"$tmp/k3.log" 2>&1 &
w2=$!; pids+=($w2)
for _ in $(seq 600); do grep -q 'waiting for another aelab' "$tmp/k3.log" && break; sleep 0.05; done
kill -INT "$w2"; wait "$w2"; rc=$?
[[ $rc -eq 130 ]] && grep -q '^aelab: interrupted in stage 1 (pretrain_layer)' "$tmp/k3.log" && ok ||
    bad "a waiter sent SIGINT exited $rc: $(cat "$tmp/k3.log")"
kill -9 "$holder"; wait "$holder" 2>/dev/null
wait "$waiter"; rc=$?
out=$(cat "$tmp/k2.log")
[[ $rc -eq 0 ]] && ok || bad "the waiter exited $rc: $out"
contains "[2/5 pretrain_layer] waiting for another aelab (pid $holder), which holds this stage in the stage cache"
contains "done: 2 training stages trained, 0 reused"
same_results "$tmp/r1" "$tmp/k2"
pids=()

# ---- 6. a damaged entry is reported, trained again and stored again
export AELAB_CACHE=$tmp/cache
# (r1's pretraining, by the key r1 recorded: the IDX runs of 2. have entries of the same
# config and stage, so picking by the entry's info is up to the key's order)
key=$(cat "$tmp/r1/checkpoints/01_pretrain_layer.key")
printf 'X' | dd of="$C/$key.csv" bs=1 seek=5 conv=notrunc status=none
# which of the thread counts' entries it is: try both
expect 0 run "$tmp/c.yaml" --out "$tmp/x1"
out1=$out
expect 0 "$AELAB" run "$tmp/c.yaml" --out "$tmp/x2" --no-plots --threads 2
out="$out1$out"
contains "warning: stage cache: ignoring a damaged entry: $key.csv does not match its checksum (XXH3 "
contains "; training the stage again"
expect 0 run "$tmp/c.yaml" --out "$tmp/x3"
contains "done: 0 training stages trained, 2 reused"
rm "$C/$key.info"
expect 0 run "$tmp/c.yaml" --out "$tmp/x4"
out=$out$("$AELAB" run "$tmp/c.yaml" --out "$tmp/x5" --no-plots --threads 2 2>&1)
contains "warning: stage cache: ignoring a damaged entry: $key.info is missing; training the stage again"
same_results "$tmp/r1" "$tmp/x4"

# ---- 7. aelab cache ls / du: exactly what the files say
export AELAB_CACHE=$tmp/cache5
expect 0 run "$tmp/c.yaml" --out "$tmp/l1"
expect 0 run "$tmp/renamed.yaml" --out "$tmp/l2" --set pretrain_layer.units=8
K=($(keys))
[[ ${#K[@]} -eq 4 ]] && ok || bad "4 entries expected: ${K[*]}"
size() { local s=0; for f in "$C5/$1".*; do s=$((s + $(stat -c %s "$f"))); done; echo "$s"; }
C5=$AELAB_CACHE
human() { awk -v b="$1" 'BEGIN { if (b < 1024) { printf "%d B", b; exit } v = b / 1024; u = 1;
          while (v >= 1024 && u < 5) { v /= 1024; u++ } printf "%.1f%s", v, substr("KMGTP", u, 1) }'; }
i=0
for k in "${K[@]}"; do
    touch -d "2026-0$((i + 1))-0$((i + 2)) 03:0$i UTC" "$C5/$k.lock"; i=$((i + 1))
done
want=$(printf '%-32s  %-20s  %-24s  %7s  %s\n' KEY STAGE CONFIG SIZE 'LAST USED'
    for j in 3 2 1 0; do k=${K[$j]}
        printf '%-32s  %-20s  %-24s  %7s  %s\n' "$k" "$(sed -n 's/^stage //p' "$C5/$k.info")" \
            "$(sed -n 's/^config //p' "$C5/$k.info")" "$(human "$(size "$k")")" \
            "2026-0$((j + 1))-0$((j + 2)) 03:0$j"
    done)
expect 0 "$AELAB" cache ls
[[ $out == "$want" ]] && ok || bad "cache ls: got
$out
want
$want"
grep -c ' renamed ' <<<"$out" | grep -qx 2 && ok || bad "cache ls: 2 entries of config renamed expected"
total=0; for k in "${K[@]}"; do total=$((total + $(size "$k"))); done
printf 'junk' >"$C5/$(printf 'a%.0s' $(seq 32)).csv"   # an incomplete entry: 4 bytes
other=$(( $(stat -c %s "$C5/filehash.idx") ))
expect 0 "$AELAB" cache du --cache "$C5"
want="$C5: 4 entries, $(human $total) ($total bytes)
other files: $(human $((other + 4))) (1 incomplete entry 4 B, the file-hash index and temps $(human $other))"
[[ $out == "$want" ]] && ok || bad "cache du: got
$out
want
$want"

# ---- 8. gc: by age, by size (least recently used first), never an entry in use
touch -d '2026-01-01 UTC' "$C5/$(printf 'a%.0s' $(seq 32)).csv"
expect 0 "$AELAB" cache gc --dry-run --older-than 0
contains "would remove 5 entries"
[[ $(keys | wc -l) -eq 4 ]] && ok || bad "gc --dry-run removed something"
# entry 3 (the newest) used now: --older-than 1 keeps it, removes the other three and the junk
touch "$C5/${K[3]}.lock"
flock --no-fork "$C5/${K[0]}.lock" sleep 30 &
locker=$!; pids+=($locker)
for _ in $(seq 100); do flock -n "$C5/${K[0]}.lock" true || break; sleep 0.05; done
expect 0 "$AELAB" cache gc --older-than 1
contains "in use, kept  ${K[0]}"
contains "removed       ${K[1]}"
contains "removed       ${K[2]}"
contains "removed       aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
contains "removed 3 entries ("
contains "kept 2 ("
contains ", 1 of them in use"
lacks "${K[3]}"
left=$(keys | sort | tr '\n' ' ')
want=$(printf '%s\n' "${K[0]}" "${K[3]}" | sort | tr '\n' ' ')
[[ $left == "$want" ]] && ok || bad "after gc: $left, want $want"
kill "$locker"; wait "$locker" 2>/dev/null; pids=()
# --max-size: the least recently used goes first (entry 0, last used in January)
s3=$(size "${K[3]}")
expect 0 "$AELAB" cache gc --max-size "$s3"
contains "removed       ${K[0]}"
contains "removed 1 entry ("
[[ $(keys) == "${K[3]}" ]] && ok || bad "after gc --max-size $s3: $(keys)"
expect 0 "$AELAB" cache gc --max-size 0K
[[ -z $(keys) ]] && ok || bad "gc --max-size 0K left $(keys)"
# a run after gc trains again and is whole
expect 0 run "$tmp/c.yaml" --out "$tmp/g1"
contains "done: 2 training stages trained, 0 reused"
same_results "$tmp/r1" "$tmp/g1"

# ---- 8b. gc --keep-referenced DIR: the entries that runs under DIR (sweep points included)
# recorded in checkpoints/NN_STAGE.key are kept whatever --max-size says; no symlink followed
export AELAB_CACHE=$tmp/cache6
C5=$AELAB_CACHE
expect 0 run "$tmp/c.yaml" --set 'attach_classifier.optimizer.lr=0.1,0.2' --out "$tmp/A/sw" -j 2 -q
expect 0 run "$tmp/renamed.yaml" --set pretrain_layer.units=8 --out "$tmp/B/r"
expect 0 run "$tmp/c.yaml" --out "$tmp/N" --no-cache
pt=("$tmp"/A/sw/sweep/*/)
# each stage's key, one line, and nothing recorded with --no-cache
[[ $(cat "${pt[0]}checkpoints/01_pretrain_layer.key") == "$(cat "${pt[1]}checkpoints/01_pretrain_layer.key")" ]] &&
    ok || bad "the two points' shared pretraining has two keys"
KA=($(cat "$tmp"/A/sw/sweep/*/checkpoints/*.key | sort -u))
KB=($(cat "$tmp"/B/r/checkpoints/*.key | sort -u))
[[ ${#KA[@]} -eq 3 && ${#KB[@]} -eq 2 && $(keys | wc -l) -eq 5 ]] && ok ||
    bad "3 keys in A, 2 in B, 5 entries expected: ${KA[*]} / ${KB[*]} / $(keys | tr '\n' ' ')"
for k in "${KA[@]}" "${KB[@]}"; do [[ -f $C5/$k.ckpt ]] && ok || bad "no entry $k"; done
[[ $(wc -c <"$tmp/B/r/checkpoints/03_attach_classifier.key") -eq 33 ]] && ok || bad "a .key is not one line"
[[ -z $(find "$tmp/N" -name '*.key') ]] && ok || bad "a --no-cache run recorded keys"
# a cached run's CSVs are those of an uncached one
same_results "$tmp/N" "${pt[0]%/}"
# B's entries the oldest, A's the newest; a link to B inside A and a junk key are not followed
i=0
for k in "${KB[@]}" "${KA[@]}"; do touch -d "2026-03-0$((i + 1)) 04:00 UTC" "$C5/$k.lock"; i=$((i + 1)); done
ln -s "$tmp/B" "$tmp/A/linkB"
echo 'not a key' >"${pt[1]}checkpoints/09_junk.key"
line() { printf '%s%-32s  %-20s  %-24s  %7s  %s\n' "$1" "$2" "$(sed -n 's/^stage //p' "$C5/$2.info")" \
         "$(sed -n 's/^config //p' "$C5/$2.info")" "$(human "$(size "$2")")" "$3"; }
sa=0; for k in "${KA[@]}"; do sa=$((sa + $(size "$k"))); done
sb=0; for k in "${KB[@]}"; do sb=$((sb + $(size "$k"))); done
gc_want() { # gc_want VERB SUMMARY-VERB KEEP-VERB
    for j in 0 1; do line "$1" "${KB[$j]}" "2026-03-0$((j + 1)) 04:00"; done
    for j in 0 1 2; do line "referenced    " "${KA[$j]}" "2026-03-0$((j + 3)) 04:00"; done
    echo "$2 2 entries ($(human $sb)), $3 3 ($(human $sa)), 3 of them referenced by a run"
}
out=$("$AELAB" cache gc --dry-run --max-size 0 --keep-referenced "$tmp/A" 2>"$tmp/gc.err"); rc=$?
want=$(gc_want "would remove  " "would remove" keep)
[[ $rc -eq 0 && $out == "$want" ]] && ok || bad "gc --dry-run --keep-referenced: exit $rc, got
$out
want
$want"
[[ $(cat "$tmp/gc.err") == "${pt[1]}checkpoints/09_junk.key: warning: not a stage key (32 hex digits and a newline); skipped" ]] &&
    ok || bad "the junk key's warning: $(cat "$tmp/gc.err")"
[[ $(keys | wc -l) -eq 5 ]] && ok || bad "gc --dry-run removed something: $(keys)"
rm "${pt[1]}checkpoints/09_junk.key"
# repeatable, and A's own directory twice counts each entry once
want=$(gc_want "removed       " removed kept)
out=$("$AELAB" cache gc --max-size 0 --keep-referenced "$tmp/A" --keep-referenced "$tmp/A/sw" 2>&1); rc=$?
[[ $rc -eq 0 && $out == "$want" ]] && ok || bad "gc --keep-referenced: exit $rc, got
$out
want
$want"
[[ $(keys | sort | tr '\n' ' ') == "$(printf '%s\n' "${KA[@]}" | sort | tr '\n' ' ')" ]] && ok ||
    bad "after gc --keep-referenced A: $(keys | tr '\n' ' '), want ${KA[*]}"
# A's runs reuse what was kept
expect 0 run "$tmp/c.yaml" --out "$tmp/A2"
contains "done: 0 training stages trained, 2 reused"
# a missing DIR (or a file) is an error naming it, and nothing is removed
expect 2 "$AELAB" cache gc --max-size 0 --keep-referenced "$tmp/A" --keep-referenced "$tmp/nodir"
[[ $out == "aelab cache: error: --keep-referenced $tmp/nodir: No such file or directory" ]] && ok ||
    bad "gc --keep-referenced of a missing directory: $out"
expect 2 "$AELAB" cache gc --keep-referenced "$tmp/c.yaml"
contains "aelab cache: error: --keep-referenced $tmp/c.yaml: not a directory"
[[ $(keys | wc -l) -eq 3 ]] && ok || bad "a failed gc removed something: $(keys)"
expect 0 "$AELAB" cache gc --max-size 0 --keep-referenced "$tmp/B"
contains "removed 3 entries ("
[[ -z $(keys) ]] && ok || bad "gc --keep-referenced B left $(keys)"
export AELAB_CACHE=$tmp/cache5 C5=$tmp/cache5

# ---- 9. usage
expect 2 "$AELAB" cache
contains "aelab cache: error: missing the subcommand: ls, du or gc"
expect 2 "$AELAB" cache lz
contains "aelab cache: error: unknown subcommand 'lz' (expected ls, du or gc)"
expect 2 "$AELAB" cache gc --max-size 5X
contains "aelab cache: error: --max-size: expected a size such as 500M or 2G (bytes, or K, M, G, T), got '5X'"
expect 2 "$AELAB" cache gc --older-than -1
contains "aelab cache: error: --older-than: expected a number of days >= 0, got '-1'"
expect 2 "$AELAB" cache ls --dry-run
contains "aelab cache: error: --older-than, --max-size, --keep-referenced and --dry-run are options of gc, not of ls"
expect 2 "$AELAB" cache du --keep-referenced "$tmp"
contains "aelab cache: error: --older-than, --max-size, --keep-referenced and --dry-run are options of gc, not of du"
expect 0 "$AELAB" help cache
contains "usage: aelab cache ls|du|gc [options]"
expect 0 "$AELAB" --help
contains "cache ls|du|gc     list, size or prune the stage cache"
expect 0 "$AELAB" cache ls --cache "$tmp/none"
[[ $out == "$(printf '%-32s  %-20s  %-24s  %7s  %s' KEY STAGE CONFIG SIZE 'LAST USED')" ]] && ok ||
    bad "cache ls of a missing directory: $out"

echo "test_cache: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
