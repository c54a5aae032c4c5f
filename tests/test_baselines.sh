#!/usr/bin/env bash
# tests/test_baselines.sh — every checked-in baseline (results/baselines/*.csv) is a well-formed
# `aelab compare` baseline: compared with itself it must pass (exit 0, every metric "ok"), so a
# typo in a value or tolerance fails here with file:line instead of in `make regress`.
# Skips (77) when there is no binary or no baseline yet.
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then echo "skip: $AELAB not built"; exit 77; fi
shopt -s nullglob
bases=(results/baselines/*.csv)
if [[ ${#bases[@]} -eq 0 ]]; then echo "skip: no baselines in results/baselines/"; exit 77; fi
fail=0
for b in "${bases[@]}"; do
    out=$("$AELAB" compare "$b" "$b" 2>&1); rc=$?
    if [[ $rc -ne 0 ]] || grep -qE '  (REGRESSION|IMPROVED|missing|new)$' <<<"$out"; then
        echo "FAIL: $b (exit $rc):"; sed 's/^/    /' <<<"$out"; fail=$((fail + 1))
    fi
done
echo "test_baselines: ${#bases[@]} baselines, $fail failed"
[[ $fail -eq 0 ]]
