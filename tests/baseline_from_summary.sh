#!/usr/bin/env bash
# tests/baseline_from_summary.sh SUMMARY.csv [OPTION...] > results/baselines/NAME.csv
# Turns a run's summary.csv into a baseline for `aelab compare`: metric,value,tolerance.
# Tolerances follow issue 4's notion of a match: accuracies within --acc points (default 1.0),
# per-class accuracies within twice that, losses and other figures within --rel (default 3%).
# Options:
#   --acc N            accuracy tolerance in points
#   --rel P%           tolerance of every other metric
#   --no-per-class     leave the per-class accuracies out: `aelab compare` then reports them
#                      as "new" without gating on them
#   METRIC=TOL         the tolerance of one metric (after the rules above)
# Which experiment uses which, and the measurements behind it: results/baselines/README.md.
set -euo pipefail
die() { echo "baseline_from_summary: error: $*" >&2; exit 2; }
[[ $# -ge 1 ]] || die "usage: $0 SUMMARY.csv [--acc N] [--rel P%] [--no-per-class] [METRIC=TOL...]"
summary=$1
shift
acc=1.0 rel=3% classes=1 overrides=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --acc) [[ $# -ge 2 ]] || die "--acc needs a value"; acc=$2; shift 2 ;;
        --rel) [[ $# -ge 2 ]] || die "--rel needs a value"; rel=$2; shift 2 ;;
        --no-per-class) classes=0; shift ;;
        *=*) overrides+="$1"$'\n'; shift ;;
        *) die "unexpected argument '$1'" ;;
    esac
done
[[ -r $summary ]] || die "$summary: cannot read"
awk -F, -v acc="$acc" -v rel="$rel" -v classes="$classes" -v overrides="$overrides" '
    BEGIN {
        n = split(overrides, o, "\n")
        for (i = 1; i <= n; i++) if (o[i] != "") { split(o[i], kv, "="); tol[kv[1]] = kv[2] }
    }
    NR == 1 { print "metric,value,tolerance"; next }
    $1 ~ /^class_[0-9]+_accuracy$/ && !classes { next }
    { t = $1 in tol ? tol[$1] : $1 ~ /^class_[0-9]+_accuracy$/ ? 2 * acc : $1 ~ /accuracy$/ ? acc : rel
      used[$1] = 1
      print $1 "," $2 "," t }
    END {
        for (m in tol) if (!(m in used)) {
            print "baseline_from_summary: error: " m ": no such metric in the summary" > "/dev/stderr"
            exit 2
        }
    }
' "$summary"
