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

# 5. CUDA_ARCH: machine code for each listed architecture plus PTX for the newest. The default
#    list (70 80 86 89 90) loses only what this nvcc cannot build (CUDA 13 has no sm_70); a
#    list asked for explicitly must be buildable, and must be compute capabilities.
known=$("$real" --list-gpu-arch 2>/dev/null | sed -n 's/^compute_//p' | tr '\n' ' ')
out6=$(probe "$tmp/wrap:$base")
want=""
for a in 70 80 86 89 90; do [[ -z $known || " $known " == *" $a "* ]] && want+="$a "; done
check "default archs: '${want% }' (got '$(field cuda_archs "$out6")')" test "$(field cuda_archs "$out6")" = "${want% }"
for a in $want; do
    check "default archs: sm_$a code" grep -q -- "arch=compute_$a,code=sm_$a" <<<"$(field nvccflags "$out6")"
done
check "default archs: PTX for the newest" grep -q -- "arch=compute_90,code=compute_90" <<<"$(field nvccflags "$out6")"
out7=$(probe "$tmp/wrap:$base" CUDA_ARCH="90 80")
flags7=$(field nvccflags "$out7")
check "CUDA_ARCH=\"90 80\": sorted list (got '$(field cuda_archs "$out7")')" test "$(field cuda_archs "$out7")" = "80 90"
check "CUDA_ARCH=\"90 80\": sm_80 and sm_90 code" grep -q -- "code=sm_80 .*code=sm_90 " <<<"$flags7"
check "CUDA_ARCH=\"90 80\": PTX compute_90 only" test "$(grep -o 'code=compute_[0-9]*' <<<"$flags7")" = "code=compute_90"
check "CUDA_ARCH=\"90 80\": no sm_86" bash -c '! grep -q sm_86 <<<"$1"' _ "$flags7"
out8=$(probe "$tmp/wrap:$base" CUDA_ARCH=86)
check "CUDA_ARCH=86: one arch, its own PTX" test "$(grep -o 'code=[a-z_]*[0-9]*' <<<"$(field nvccflags "$out8")" | tr '\n' ' ')" = "code=sm_86 code=compute_86 "
out9=$(probe "$tmp/wrap:$base" CUDA_ARCH=sm_80); rc=$?
check "CUDA_ARCH=sm_80: make fails" test "$rc" -ne 0
check "CUDA_ARCH=sm_80: says what is wanted" grep -q 'CUDA_ARCH must be a list of compute capabilities such as "80 90"' <<<"$out9"
out10=$(probe "$tmp/wrap:$base" CUDA_ARCH="10 90"); rc=$?
check "CUDA_ARCH=\"10 90\": make fails" test "$rc" -ne 0
check "CUDA_ARCH=\"10 90\": names sm_10" grep -q "CUDA_ARCH: .* cannot build sm_10" <<<"$out10"

echo "make probe: $((checks - fails))/$checks checks passed"
[[ $fails -eq 0 ]]
