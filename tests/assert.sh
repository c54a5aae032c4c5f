# tests/assert.sh — sourced by the shell tests that drive bin/aelab: pass/fail counters and
# assertions on a command's output. Not a test itself (tests/run.sh runs tests/test_*.sh only).
#   expect CODE CMD...   run CMD, stdout and stderr together into $out; check its exit status
#   contains TEXT        $out contains TEXT (fixed string)
#   lacks TEXT           $out does not contain TEXT
#   ok / bad MESSAGE     count a pass / a failure (the failure is printed)
#   skip_without_mnist CONFIG   exit 77 (with the reason) when `aelab check CONFIG` cannot find MNIST
# ASSERT_QUOTE: how many characters of $out a failure quotes (default 600).
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
    local want=$1; shift
    out=$("$@" 2>&1); local rc=$?
    if [[ $rc -eq $want ]]; then ok; else bad "'$*' exited $rc, expected $want: $(head -c "${ASSERT_QUOTE:-600}" <<<"$out")"; fi
}
contains() { if grep -qF -- "$1" <<<"$out"; then ok; else bad "output lacks '$1': $(head -c "${ASSERT_QUOTE:-600}" <<<"$out")"; fi; }
lacks() { if grep -qF -- "$1" <<<"$out"; then bad "output has '$1': $(head -c "${ASSERT_QUOTE:-600}" <<<"$out")"; else ok; fi; }
skip_without_mnist() {
    local err
    if ! err=$("$AELAB" check "$1" 2>&1 >/dev/null); then
        echo "skip: MNIST is not available ($(head -n 1 <<<"$err")); run 'make data'"
        exit 77
    fi
}

# python_with MODULE...: PY = the first of Debian's /usr/bin/python3 and the python3 on PATH
# that imports every MODULE (the PATH's may be another interpreter without Debian's modules);
# returns 1, PY empty, when neither does.
python_with() {
    local p imports
    imports=$(IFS=,; echo "$*")
    PY=
    for p in /usr/bin/python3 python3; do
        if "$p" -c "import $imports" 2>/dev/null; then PY=$p; return 0; fi
    done
    return 1
}
