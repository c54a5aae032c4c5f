#!/usr/bin/env bash
# tests/test_plan_limits.sh — plans and thread counts this machine cannot run, through the binary.
#  - Every config of tests/bad_configs/limits/ (but those marked `# fixed-limits-only`, whose
#    outcome depends on the 23.5 GiB / 2 CPUs that tests/test_plan_limits.c fixes) is refused by
#    `aelab check` and by `aelab run` alike: exit 2, the file's `# expect:` lines with this
#    machine's figures in place of the fixed ones, and, for run, no run directory, in under a
#    second, under a 4 GiB address-space limit (nothing big is allocated before the refusal;
#    not for a sanitizer build, which cannot start under one).
#  - RLIMIT_AS lowers the limit; --threads above 4 per online CPU is refused (not under --emit,
#    whose scripts run elsewhere); the boundary itself is accepted; a sweep point that cannot
#    fit fails `check`; the resolved config records the threads the run used.
# Usage: AELAB=bin/aelab tests/test_plan_limits.sh   (skips, exit 77, until the binary exists)
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then
    echo "skip: $AELAB is not built"
    exit 77
fi
source tests/assert.sh
tmp=$(mktemp -d /tmp/aelab-limits-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cpus=$(getconf _NPROCESSORS_ONLN)
most=$((4 * cpus))
cpu_words="$cpus CPU$([[ $cpus -eq 1 ]] || echo s): at most $most"
# An address-space limit, where the binary can start under one (an ASan build cannot).
vlimit=4194304
if ! { (ulimit -v $vlimit; exec "$AELAB" --version) >/dev/null 2>&1; } 2>/dev/null; then
    echo "note: $AELAB does not start under ulimit -v (a sanitizer build?): run without it"
    vlimit=unlimited
fi

# An expected line as an anchored regex: the memory limit's words become .*, the fixed CPU
# figures this machine's.
to_regex() {
    local re
    re=$(sed 's/[][\.*^$(){}?+|/]/\\&/g' <<<"$1")
    re=${re//this machine\'s 23\\.5 GiB/.*}
    re=${re//2 CPUs: at most 8/$cpu_words}
    printf '^%s$' "$re"
}

ms_now() { date +%s%3N; }

# check_refused CMD FILE ARGS...: exit 2, the expected lines, then "aelab CMD: N errors in FILE".
check_refused() {
    local cmd=$1 f=$2; shift 2
    local -a want=() got=()
    mapfile -t want < <(sed -n 's/^# expect: //p' "$f")
    local t0 rc t1 out_dir=$tmp/run-$(basename "$f" .yaml)
    t0=$(ms_now)
    if [[ $cmd == run ]]; then
        (ulimit -v $vlimit; exec "$AELAB" run "$f" "$@" --out "$out_dir" -q) 2>"$tmp/err" >/dev/null </dev/null
    else
        "$AELAB" check "$f" "$@" 2>"$tmp/err" >/dev/null </dev/null
    fi
    rc=$?
    t1=$(ms_now)
    mapfile -t got <"$tmp/err"
    [[ $rc -eq 2 ]] && ok || bad "$cmd $f: exit $rc, expected 2"
    local n=${#want[@]} same=1
    [[ ${#got[@]} -eq $((n + 1)) ]] || same=0
    for ((j = 0; same && j < n; j++)); do
        [[ ${got[j]} =~ $(to_regex "${want[j]}") ]] || same=0
    done
    [[ $same -eq 1 && ${got[n]:-} =~ ^aelab\ $cmd:\ $n\ errors?\ in\ $f$ ]] && ok ||
        bad "$cmd $f: stderr differs from the expected lines: $(head -c 800 "$tmp/err")"
    if [[ $cmd == run ]]; then
        [[ ! -e $out_dir ]] && ok || bad "run $f made $out_dir before refusing"
        # well under a second when refused before any work; 5 s would mean training started
        (( t1 - t0 < 5000 )) && ok || bad "run $f took $((t1 - t0)) ms to refuse"
    fi
}

nfix=0
for f in tests/bad_configs/limits/*.yaml; do
    grep -q '^# fixed-limits-only' "$f" && continue
    read -r -a args <<<"$(sed -n 's/^# args: //p' "$f" | head -n 1)"
    check_refused check "$f" "${args[@]}"
    check_refused run "$f" "${args[@]}"
    nfix=$((nfix + 1))
done
[[ $nfix -ge 12 ]] && ok || bad "only $nfix configs in tests/bad_configs/limits/"

# RLIMIT_AS (ulimit -v) lowers the limit: 3.1 GiB fits the machine, not 2 GiB of address space.
cat >"$tmp/wide.yaml" <<'YAML'
name: wide
pipeline:
  - load_dataset: {name: mnist}
  - pretrain_layer: {units: 100000, optimizer: {name: adam}, epochs: 1}
YAML
expect 0 "$AELAB" check "$tmp/wide.yaml"; contains "largest step 3,322,956,544 bytes"
if [[ $vlimit != unlimited ]]; then
    out=$( (ulimit -v 2097152; exec "$AELAB" check "$tmp/wide.yaml") 2>&1); rc=$?
    [[ $rc -eq 2 ]] && ok || bad "check under ulimit -v 2 GiB: exit $rc, expected 2"
    contains "wide.yaml:4:29: error: pipeline[1].pretrain_layer.units: the plan needs 3.1 GiB (parameters 598.5 MiB, gradients 598.5 MiB, optimizer 1.2 GiB, activations 774.9 MiB), more than the 2.0 GiB RLIMIT_AS allows (ulimit -v)"
fi

# --threads: above 4 per online CPU refused at once, before the config is even read; the
# boundary and 0 (all cores) get past it, to the missing data set (exit 1).
cat >"$tmp/nodata.yaml" <<YAML
name: nodata
pipeline:
  - load_dataset: {name: idx, train_images: $tmp/none-images, train_labels: $tmp/none-labels}
  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
YAML
t0=$(ms_now)
expect 2 "$AELAB" run "$tmp/nodata.yaml" --threads $((most + 1)) --out "$tmp/r1"
contains "aelab run: error: --threads: $((most + 1)) is more than 4 threads per online CPU (this machine has $cpu_words)"
# refused before anything runs: well under a second; 5 s would mean it started the work
(( $(ms_now) - t0 < 5000 )) && ok || bad "--threads $((most + 1)) took over 5 seconds to refuse"
[[ ! -e $tmp/r1 ]] && ok || bad "--threads $((most + 1)) made its run directory"
for n in "$most" 0; do
    expect 1 "$AELAB" run "$tmp/nodata.yaml" --threads "$n" --out "$tmp/r-$n" -q
    contains "none-images"; lacks "--threads"
done
if (( most < 1024 )); then
    expect 2 "$AELAB" run "$tmp/nodata.yaml" --threads 1024; contains "--threads: 1024 is more than"
    # ... and for a sweep's driver too, but not for --emit, which writes them for another machine
    expect 2 "$AELAB" run "$tmp/nodata.yaml" --set pretrain_layer.units=8,16 -j 2 --threads 1024
    contains "--threads: 1024 is more than"
    # (emitting validates every point's data as check does: a data set that exists)
    sed "s|{name: idx, .*}|{name: mnist, subset: 100, test_subset: 100}|" "$tmp/nodata.yaml" >"$tmp/emit.yaml"
    expect 0 "$AELAB" run "$tmp/emit.yaml" --set pretrain_layer.units=8,16 --emit commands --threads 1024
    contains "--threads 1024"
fi

# the config's threads at the boundary (here through --set, whose argument the error names)
expect 0 "$AELAB" check "$tmp/wide.yaml" --set threads=$most
expect 2 "$AELAB" check "$tmp/wide.yaml" --set threads=$((most + 1))
contains "--set threads=$((most + 1)): error: threads: $((most + 1)) is more than 4 threads per online CPU"

# a sweep with one point that cannot fit: check names the point and the error
expect 2 "$AELAB" check "$tmp/wide.yaml" --set pretrain_layer.units=8,1000000000
contains "point 1 (pretrain_layer.units=1000000000)"
contains "error: pipeline[1].pretrain_layer.units: the plan needs 30.1 TiB"

# the resolved config records the thread count the run used
cat >"$tmp/tiny.yaml" <<'YAML'
name: tiny
threads: 1
pipeline:
  - load_dataset: {name: mnist, subset: 200, test_subset: 100, batch_size: 100}
  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.1}, epochs: 1}
YAML
expect 0 "$AELAB" run "$tmp/tiny.yaml" --out "$tmp/t1" --no-plots --no-cache -q
grep -A8 '^provenance:' "$tmp/t1/config.yaml" | grep -qx '  threads: 1' && ok ||
    bad "config.yaml of a threads: 1 run: $(grep threads "$tmp/t1/config.yaml")"
expect 0 "$AELAB" run "$tmp/tiny.yaml" --out "$tmp/t2" --threads "$most" --no-plots --no-cache -q
grep -A8 '^provenance:' "$tmp/t2/config.yaml" | grep -qx "  threads: $most" && ok ||
    bad "config.yaml of a --threads $most run: $(grep threads "$tmp/t2/config.yaml")"

echo "test_plan_limits.sh: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
