#!/usr/bin/env bash
# tests/test_bad_configs.sh — every broken config in tests/bad_configs/ through `aelab check`:
# stderr must equal the file's `# expect:` lines exactly (in order, nothing else) and the exit
# code must be 2 (or the file's `# exit: N`). Extra arguments come from `# args: ...`. The one
# summary line main.c adds after the diagnostics ("aelab check: N errors in FILE") is checked
# for its form and count, then set aside: the catalogue holds what config_load prints, so
# tests/test_config.c checks the same files without the binary. (Good configs are loaded by
# test_config.c; `aelab check` on them needs the data sets, which is test_cli.sh's business.)
# Usage: AELAB=bin/aelab tests/test_bad_configs.sh   (skips, exit 77, until the binary exists)
set -u
cd "$(dirname "$0")/.."
AELAB=${AELAB:-bin/aelab}
if [[ ! -x $AELAB ]]; then
    echo "skip: $AELAB is not built"
    exit 77
fi
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in tests/bad_configs/*.yaml; do
    sed -n 's/^# expect: //p' "$f" >"$tmp/want"
    want_rc=$(sed -n 's/^# exit: //p' "$f" | head -n 1)
    want_rc=${want_rc:-2}
    read -r -a args <<<"$(sed -n 's/^# args: //p' "$f" | head -n 1)"
    "$AELAB" check "$f" "${args[@]}" >"$tmp/out" 2>"$tmp/all" </dev/null
    rc=$?
    # set aside main.c's summary line, checking its count (all errors, printed or not)
    nerr=$(grep -c ': error: ' "$tmp/want")
    if grep -q 'too many errors' "$tmp/want"; then nerr='[0-9]+'; fi
    summary_re="^aelab check: $nerr errors? in $f\$"
    if tail -n 1 "$tmp/all" | grep -Eq "$summary_re"; then
        head -n -1 "$tmp/all" >"$tmp/err"
    else
        cp "$tmp/all" "$tmp/err"
        echo "note: $f: no summary line matching '$summary_re'"
        [[ $rc -eq 0 ]] || rc=99
    fi
    if [[ $rc -eq $want_rc ]] && cmp -s "$tmp/want" "$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $f: exit $rc (want $want_rc)"
        diff "$tmp/want" "$tmp/err" | sed 's/^/    /' | head -n 20
    fi
done

echo "test_bad_configs: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
