#!/usr/bin/env bash
# tests/test_regress_report.sh — tests/regress.sh's reports (junit.xml, summary.md) on three tiny
# experiments (300 MNIST images): one that matches its baseline, one that regresses, one whose
# run fails; and under GitHub Actions (GITHUB_STEP_SUMMARY set) the ::error annotations.
set -u
cd "$(dirname "$0")/.."
source tests/assert.sh
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
tmp=$(mktemp -d)
trap '[[ -n ${KEEP_TMP:-} ]] || rm -rf "$tmp"' EXIT
same() { if [[ $1 == "$2" ]]; then ok; else bad "differs:"; diff <(echo "$2") <(echo "$1") | head -20; fi; }
mkdir -p "$tmp/exp" "$tmp/base"
for n in tiny worse; do
    cat >"$tmp/exp/$n.yaml" <<YAML
name: $n
seed: 1
pipeline:
  - load_dataset: {name: mnist, batch_size: 100, subset: 300, test_subset: 100}
  - pretrain_layer: {units: 16, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - strip_decoder: {}
  - attach_classifier: {optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - evaluate: {}
YAML
done
skip_without_mnist "$tmp/exp/tiny.yaml"
printf 'name: broken\npipeline:\n  - load_dataset: {name: mnist, subset: 300}\n  - bogus_stage: {}\n' \
    >"$tmp/exp/broken.yaml"
expect 0 "$AELAB" run "$tmp/exp/tiny.yaml" --out "$tmp/first" -q --no-plots --threads 1
expect 0 "$AELAB" baseline "$tmp/first" --no-per-class -o "$tmp/base/tiny.csv"
# worse: the baseline claims 30 points more test accuracy than the run gets
acc=$(grep '^test_accuracy,' "$tmp/base/tiny.csv" | cut -d, -f2)
sed "s/^test_accuracy,.*/test_accuracy,$((${acc%.*} + 30)),1.0/" "$tmp/base/tiny.csv" >"$tmp/base/worse.csv"
cp "$tmp/base/tiny.csv" "$tmp/base/broken.csv"
nmetrics=$(($(wc -l <"$tmp/first/summary.csv") - 1))

regress() {
    env REGRESS_OUT="$tmp/out" REGRESS_THREADS=1 REGRESS_EXPERIMENTS="$tmp/exp" \
        REGRESS_BASELINES="$tmp/base" AELAB="$AELAB" "$@" tests/regress.sh tiny worse broken
}
expect 1 env -u GITHUB_STEP_SUMMARY bash -c "$(declare -f regress); tmp='$tmp' AELAB='$AELAB'; regress"
contains "regress: 1 passed, 2 failed (reports: $tmp/out/junit.xml, $tmp/out/summary.md)"
contains "regressed or failed: worse broken"
lacks "::error"

j=$(sed -E 's/time="[0-9]+"/time="T"/g' "$tmp/out/junit.xml")
out=$j
contains "<testsuites name=\"aelab regress\" tests=\"$((2 * nmetrics + 1))\" failures=\"1\" errors=\"1\" time=\"T\">"
contains "  <testsuite name=\"tiny\" tests=\"$nmetrics\" failures=\"0\" errors=\"0\" skipped=\"10\" time=\"T\">"
contains "  <testsuite name=\"worse\" tests=\"$nmetrics\" failures=\"1\" errors=\"0\" skipped=\"10\" time=\"T\">"
contains "      <failure type=\"REGRESSION\" message=\"REGRESSION: baseline $((${acc%.*} + 30)), now $acc, delta -"
same "$(sed -n '/<testsuite name="broken"/,/<\/testsuite>/p' <<<"$j")" \
'  <testsuite name="broken" tests="1" failures="0" errors="1" time="T">
    <testcase classname="broken" name="run" time="T">
      <error type="run failed" message="aelab run '"$tmp"'/exp/broken.yaml exited 2">aelab run '"$tmp"'/exp/broken.yaml exited 2</error>
    </testcase>
  </testsuite>'
same "$(grep -c '<testcase ' <<<"$j")" "$((2 * nmetrics + 1))"
same "$(head -n 1 <<<"$j")" '<?xml version="1.0" encoding="UTF-8"?>'
same "$(tail -n 1 <<<"$j")" '</testsuites>'
if command -v python3 >/dev/null; then
    expect 0 python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.tag == "testsuites" and len(r) == 3, r' "$tmp/out/junit.xml"
fi

md=$(sed -E 's/^\| ([a-z]+) \| (.*) \| [0-9]+ \| [0-9-]+ \|$/| \1 | \2 | S | M |/' "$tmp/out/summary.md")
same "$(head -n 7 <<<"$md")" "## aelab regress: 1 passed, 2 failed

| experiment | result | seconds | peak RSS (MB) |
| --- | --- | ---: | ---: |
| tiny | passed | S | M |
| worse | FAILED | S | M |
| broken | run failed (exit 2) | S | M |"
out=$md
contains "### tiny: passed"
contains "### worse: FAILED"
contains "| test_accuracy | $((${acc%.*} + 30)) | $acc | "
contains "### broken: run FAILED"

# Under GitHub Actions: compare's annotations on stdout, summary.md the only summary.
: >"$tmp/step.md"
expect 1 bash -c "$(declare -f regress); tmp='$tmp' AELAB='$AELAB'; GITHUB_STEP_SUMMARY='$tmp/step.md' regress"
contains "::error title=worse test_accuracy REGRESSION::baseline $((${acc%.*} + 30)), now $acc"
same "$(cat "$tmp/step.md")" ""
echo "test_regress_report: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
