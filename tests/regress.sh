#!/usr/bin/env bash
# tests/regress.sh — `make regress`: runs every lecture experiment on the CPU and compares its
# summary.csv with results/baselines/<name>.csv through `aelab compare` (exit 3 on a
# regression). Prints one table per experiment, its wall time and peak RSS (when /usr/bin/time
# is there; the run's largest process), and a closing line; exits nonzero when any experiment
# failed to run or regressed.
# Usage: tests/regress.sh [NAME...]   (default: every experiments/*.yaml with a baseline)
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
out=${REGRESS_OUT:-results/regress}
threads=${REGRESS_THREADS:-2}
mkdir -p "$out"
# A cache of its own, emptied first: every experiment is trained from scratch.
export AELAB_CACHE=$out/.cache
rm -rf "$AELAB_CACHE"
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for b in results/baselines/*.csv; do names+=("$(basename "$b" .csv)"); done
fi
pass=0 fail=0 failed=()
start_all=$(date +%s)
for n in "${names[@]}"; do
    cfg=experiments/$n.yaml
    base=results/baselines/$n.csv
    echo "== $n"
    t0=$(date +%s)
    timer=() rss=""
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f %M -o "$out/$n.rss")
    if ! "${timer[@]}" "$AELAB" run "$cfg" --out "$out/$n" --threads "$threads" --device cpu \
        --no-plots -q; then
        echo "   run failed (exit $?)"
        fail=$((fail + 1)); failed+=("$n"); continue
    fi
    t1=$(date +%s)
    [[ -s $out/$n.rss ]] && rss=", peak RSS $(( $(tail -n 1 "$out/$n.rss") / 1024 )) MB"
    if "$AELAB" compare "$base" "$out/$n"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); failed+=("$n")
    fi
    echo "   ($((t1 - t0)) s$rss)"
done
echo
echo "regress: $((  $(date +%s) - start_all )) s in all"
echo "regress: $pass passed, $fail failed"
[[ $fail -eq 0 ]] || { echo "regressed or failed: ${failed[*]}"; exit 1; }
