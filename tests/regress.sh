#!/usr/bin/env bash
# tests/regress.sh — `make regress`: runs every lecture experiment on the CPU and compares its
# summary.csv with results/baselines/<name>.csv through `aelab compare` (exit 3 on a
# regression). Prints one table per experiment, its wall time and peak RSS (when /usr/bin/time
# is there; the run's largest process), and a closing line; exits nonzero when any experiment
# failed to run or regressed.
# Beside the text it writes, under the output directory:
#   junit.xml    one JUnit testsuite per experiment (a testcase per metric; a run that failed is
#                one testcase with an <error>), for CI test reporters;
#   summary.md   a Markdown table of the experiments, then each one's comparison table (what a
#                GitHub Actions job appends to $GITHUB_STEP_SUMMARY).
# When GITHUB_STEP_SUMMARY is set, `aelab compare` still prints its ::error annotations, but its
# own Markdown goes to a scratch file: summary.md is the one summary.
# Usage: tests/regress.sh [NAME...]   (default: every experiments/*.yaml with a baseline)
# Environment: AELAB, REGRESS_OUT (results/regress), REGRESS_THREADS (2), REGRESS_EXPERIMENTS
# (experiments), REGRESS_BASELINES (results/baselines).
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
out=${REGRESS_OUT:-results/regress}
threads=${REGRESS_THREADS:-2}
exps=${REGRESS_EXPERIMENTS:-experiments}
bases=${REGRESS_BASELINES:-results/baselines}
mkdir -p "$out"
# A cache of its own, emptied first: every experiment is trained from scratch.
export AELAB_CACHE=$out/.cache
rm -rf "$AELAB_CACHE"
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for b in "$bases"/*.csv; do names+=("$(basename "$b" .csv)"); done
fi
pass=0 fail=0 failed=() rows=()
start_all=$(date +%s)

# xml TEXT: TEXT with the XML special characters as entities.
xml() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }

# error_suite NAME CASE MESSAGE SECONDS: the JUnit suite of an experiment that could not be
# compared (its run failed, or compare could not read a file): one testcase with an <error>.
error_suite() {
    local e m
    e=$(xml "$1") m=$(xml "$3")
    printf '  <testsuite name="%s" tests="1" failures="0" errors="1" time="%s">\n' "$e" "$4"
    printf '    <testcase classname="%s" name="%s" time="%s">\n' "$e" "$2" "$4"
    printf '      <error type="%s failed" message="%s">%s</error>\n' "$2" "$m" "$m"
    printf '    </testcase>\n  </testsuite>\n'
}

for n in "${names[@]}"; do
    cfg=$exps/$n.yaml
    base=$bases/$n.csv
    echo "== $n"
    rm -f "$out/$n.junit.xml" "$out/$n.md"
    t0=$(date +%s)
    timer=() rss="" rss_mb=""
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f %M -o "$out/$n.rss")
    "${timer[@]}" "$AELAB" run "$cfg" --out "$out/$n" --threads "$threads" --device cpu \
        --no-plots -q
    rc=$?
    t1=$(date +%s)
    if [[ $rc -ne 0 ]]; then
        echo "   run failed (exit $rc)"
        error_suite "$n" run "aelab run $cfg exited $rc" "$((t1 - t0))" >"$out/$n.junit.xml"
        printf '### %s: run FAILED\n\n`aelab run` exited %s.\n\n' "$n" "$rc" >"$out/$n.md"
        rows+=("| $n | run failed (exit $rc) | $((t1 - t0)) | - |")
        fail=$((fail + 1)); failed+=("$n"); continue
    fi
    [[ -s $out/$n.rss ]] && rss_mb=$(( $(tail -n 1 "$out/$n.rss") / 1024 )) && rss=", peak RSS $rss_mb MB"
    step=()
    [[ -n ${GITHUB_STEP_SUMMARY:-} ]] && step=(env "GITHUB_STEP_SUMMARY=$out/$n.step.md")
    if "${step[@]}" "$AELAB" compare "$base" "$out/$n" --name "$n" --format junit \
        -o "$out/$n.junit.xml"; then
        pass=$((pass + 1)); verdict=passed
    else
        fail=$((fail + 1)); failed+=("$n"); verdict=FAILED
    fi
    if [[ ! -s $out/$n.junit.xml ]]; then # compare could not read a file (exit 2)
        error_suite "$n" compare "aelab compare $base $out/$n could not compare (see the log)" \
            "$((t1 - t0))" >"$out/$n.junit.xml"
        printf '### %s: compare FAILED\n\n`aelab compare` could not read its files.\n\n' "$n" >"$out/$n.md"
    fi
    env -u GITHUB_STEP_SUMMARY "$AELAB" compare "$base" "$out/$n" --name "$n" \
        --format markdown -o "$out/$n.md" >/dev/null 2>&1
    # the suite's time: the run's wall time
    sed -i "s|^  <testsuite \(.*\) time=\"0\">|  <testsuite \1 time=\"$((t1 - t0))\">|" "$out/$n.junit.xml"
    rows+=("| $n | $verdict | $((t1 - t0)) | ${rss_mb:--} |")
    echo "   ($((t1 - t0)) s$rss)"
done
total=$(( $(date +%s) - start_all ))

# junit.xml: every experiment's testsuite inside one testsuites, with the counts summed.
{
    tests=0 failures=0 errors=0
    for n in "${names[@]}"; do
        f=$out/$n.junit.xml
        [[ -s $f ]] || continue
        line=$(grep -m1 '^  <testsuite ' "$f")
        [[ $line =~ tests=\"([0-9]+)\" ]] && tests=$((tests + BASH_REMATCH[1]))
        [[ $line =~ failures=\"([0-9]+)\" ]] && failures=$((failures + BASH_REMATCH[1]))
        [[ $line =~ errors=\"([0-9]+)\" ]] && errors=$((errors + BASH_REMATCH[1]))
    done
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    printf '<testsuites name="aelab regress" tests="%d" failures="%d" errors="%d" time="%d">\n' \
        "$tests" "$failures" "$errors" "$total"
    for n in "${names[@]}"; do
        f=$out/$n.junit.xml
        [[ -s $f ]] && sed -n '/^  <testsuite /,/^  <\/testsuite>/p' "$f"
    done
    echo '</testsuites>'
} >"$out/junit.xml.tmp" && mv "$out/junit.xml.tmp" "$out/junit.xml"

# summary.md: the table of experiments, then each experiment's comparison.
{
    printf '## aelab regress: %d passed, %d failed\n\n' "$pass" "$fail"
    printf '| experiment | result | seconds | peak RSS (MB) |\n| --- | --- | ---: | ---: |\n'
    printf '%s\n' "${rows[@]}"
    printf '\n'
    for n in "${names[@]}"; do [[ -s $out/$n.md ]] && cat "$out/$n.md"; done
} >"$out/summary.md.tmp" && mv "$out/summary.md.tmp" "$out/summary.md"

echo
echo "regress: $total s in all"
echo "regress: $pass passed, $fail failed (reports: $out/junit.xml, $out/summary.md)"
[[ $fail -eq 0 ]] || { echo "regressed or failed: ${failed[*]}"; exit 1; }
