#!/usr/bin/env bash
# tests/baseline_from_summary.sh SUMMARY.csv [ACC_TOL] > results/baselines/NAME.csv
# Turns a run's summary.csv into a baseline for `aelab compare`: metric,value,tolerance.
# Tolerances follow issue 4's notion of a match: accuracies within ACC_TOL points (default
# 1.0; 5 for an unstable run), per-class accuracies within twice that, losses and other
# figures within 3% (relative). How each baseline was produced is in results/baselines/README.md.
set -euo pipefail
summary=$1 acc=${2:-1.0}
awk -F, -v acc="$acc" '
    NR == 1 { print "metric,value,tolerance"; next }
    $1 ~ /^class_[0-9]+_accuracy$/ { print $1 "," $2 "," 2 * acc; next }
    $1 ~ /accuracy$/ { print $1 "," $2 "," acc; next }
    { print $1 "," $2 ",3%" }
' "$summary"
