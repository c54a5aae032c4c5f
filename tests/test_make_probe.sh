#!/usr/bin/env bash
# tests/test_make_probe.sh — the Makefile's CUDA probe (`make print-config`), under the PATHs
# machines really have: nvcc as the toolkit's binary, nvcc as a wrapper script elsewhere on PATH
# (CI: /usr/local/bin/nvcc execs /usr/local/cuda-13.0/bin/nvcc, and /usr/local/cuda/bin is not
# on PATH — the link then failed with "cannot find -lcublas"), an nvcc whose toolkit has no
# libraries, and no nvcc at all. Skips (77) when this machine has no CUDA toolkit.
set -u
cd "$(dirname "$0")/.." || exit 1
fails=0 checks=0
check() { # check DESCRIPTION COMMAND...
    checks=$((checks + 1))
    if ! "${@:2}"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi
}
real=$(command -v nvcc || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
if [[ -z $real ]]; then
    echo "skip: no nvcc on this machine"
    exit 77
fi
real=$(readlink -f "$real")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=/usr/bin:/bin
probe() { # probe PATH [make args...] -> the print-config lines; a calling make's variables
    # (make asan passes CUDA=0 and SAN=asan down through the environment) are not inherited
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CUDA -u GPU -u SAN -u CUDA_HOME PATH="$1" make -s --no-print-directory print-config "${@:2}" 2>&1
}
field() { sed -n "s/^$1=//p" <<<"$2"; }

# 1. nvcc as a wrapper script on PATH, the toolkit's bin/ not on PATH
mkdir -p "$tmp/wrap"
printf '#!/bin/sh\nexec %s "$@"\n' "$real" >"$tmp/wrap/nvcc"
chmod +x "$tmp/wrap/nvcc"
out=$(probe "$tmp/wrap:$base")
echo "$out"
lib=$(field cuda_libdir "$out")
check "wrapper nvcc: CUDA on, nvcc is the wrapper" test "$(field nvcc "$out")" = "$tmp/wrap/nvcc"
check "wrapper nvcc: libraries found (got '$lib')" test -f "$lib/libcudart.so" -a -f "$lib/libcublas.so"
check "wrapper nvcc: -DAE_WITH_CUDA" grep -q -- '-DAE_WITH_CUDA' <<<"$(field cflags "$out")"

# 2. the toolkit's own nvcc on PATH: the same library directory
out2=$(probe "$(dirname "$real"):$base")
check "toolkit nvcc: same libraries ($(field cuda_libdir "$out2") vs $lib)" \
    test "$(field cuda_libdir "$out2")" = "$lib"

# 3. an nvcc whose toolkit has no libraries: CUDA=auto turns the backend off and says why;
#    CUDA=1 is an error that names the toolkit
mkdir -p "$tmp/bare/bin"
cat >"$tmp/bare/bin/nvcc" <<EOF
#!/bin/sh
echo "#\\\$ TOP=$tmp/bare/bin/.." >&2
exit 0
EOF
chmod +x "$tmp/bare/bin/nvcc"
out3=$(probe "$tmp/bare/bin:$base")
echo "$out3"
check "bare toolkit: backend off" test -z "$(field nvcc "$out3")"
check "bare toolkit: no -DAE_WITH_CUDA" bash -c '! grep -q -- -DAE_WITH_CUDA <<<"$1"' _ "$(field cflags "$out3")"
check "bare toolkit: says why" grep -q "CUDA backend OFF (nvcc $tmp/bare/bin/nvcc found, but no libcudart.so + libcublas.so" <<<"$out3"
out4=$(probe "$tmp/bare/bin:$base" CUDA=1); rc=$?
check "bare toolkit, CUDA=1: make fails" test "$rc" -ne 0
check "bare toolkit, CUDA=1: error names the toolkit" grep -q "CUDA=1 but no libcudart.so + libcublas.so next to nvcc" <<<"$out4"

# 4. CUDA=0 leaves the backend out whatever PATH holds
out5=$(probe "$tmp/wrap:$base" CUDA=0)
check "CUDA=0: backend off" test -z "$(field nvcc "$out5")"
check "CUDA=0: says so" grep -q "CUDA backend OFF (nvcc not found or CUDA=0)" <<<"$out5"

echo "make probe: $((checks - fails))/$checks checks passed"
[[ $fails -eq 0 ]]
