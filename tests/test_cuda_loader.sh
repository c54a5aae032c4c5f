#!/usr/bin/env bash
# tests/test_cuda_loader.sh — the CUDA backend is a shared object (bin/libaelab-cuda.so) that
# runner/cudaload.c dlopen()s only when a GPU is asked for:
#   1. bin/aelab and the test programs do not link cuBLAS or cudart; the library does, and
#      exports the entry point;
#   2. a CPU run (`device: auto`, the default) maps no cuBLAS when no CUDA driver is installed
#      (LD_DEBUG=files lists every object the loader opens);
#   3. $AELAB_CUDA_LIB picks the library: a missing file and a library without the entry point
#      are errors that name the path;
#   4. the whole load path, library and cuBLAS included, on any machine: a stand-in
#      libcuda.so.1 with nothing in it makes cudart report an insufficient driver, and that is
#      the message gpu_backend_create gives, not a loader error;
#   5. the normal path: with no driver, `--device gpu` says so; with a GPU, a tiny run trains
#      on it;
#   6. a library built from another engine/backend.h (a stand-in whose table says another
#      AE_BACKEND_ABI, or another size) is refused with both versions named, before any of its
#      ops is called (the driver probe skipped by the loader's test hook,
#      AELAB_TEST_NO_DRIVER_CHECK=1, which works only for a library named by AELAB_CUDA_LIB);
#   7. check and run with device gpu hold the plan's device peak to the device's free memory
#      (memory_info of the table; a stand-in library reports the figures).
# Skips (77) when aelab was built without CUDA.
set -u
cd "$(dirname "$0")/.." || exit 1
AELAB=${AELAB:-bin/aelab}
BUILD=${BUILD:-build}
source tests/assert.sh

if ! "$AELAB" --version | grep -q 'cuda'; then
    echo "skip: $AELAB was built without the CUDA backend"
    exit 77
fi
lib=$(dirname "$AELAB")/libaelab-cuda.so
unset AELAB_CUDA_LIB AELAB_TEST_NO_DRIVER_CHECK # bin/aelab's own lookup: the library next to it
tmp=$(mktemp -d /tmp/aelab-cuda-loader-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. who links what
for exe in "$AELAB" "$BUILD"/tests/test_gpu "$BUILD"/tests/test_backend_ops; do
    expect 0 ldd "$exe"; lacks libcublas; lacks libcudart
done
expect 0 test -f "$lib"
expect 0 ldd "$lib"; contains libcublas; contains libcudart; lacks "not found"
expect 0 nm -D --defined-only "$lib"; contains " T gpu_backend_create"

# a tiny CSV data set, so that the runs below need no downloaded data
awk 'BEGIN { srand(1); for (i = 0; i < 40; i++) { printf "%d", i % 2;
             for (j = 0; j < 6; j++) printf ",%.3f", rand(); printf "\n" } }' >"$tmp/train.csv"
head -n 8 "$tmp/train.csv" >"$tmp/test.csv"
cat >"$tmp/tiny.yaml" <<EOF
name: cuda-loader
pipeline:
  - load_dataset: {name: csv, train_csv: $tmp/train.csv, test_csv: $tmp/test.csv, label_column: 0, pixels: unit, batch_size: 8}
  - pretrain_layer: {units: 3, optimizer: {name: sgd, lr: 0.5}, epochs: 1}
  - evaluate
EOF
tiny=(run "$tmp/tiny.yaml" -q --threads 1 --no-plots --no-cache)

# Whether this machine has a CUDA driver (the loader's probe: can libcuda.so.1 be loaded?).
driver=0
if { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libcuda\.so\.1 ' || [[ -e /proc/driver/nvidia/version ]]; then
    driver=1
fi

# 2. a CPU run maps no cuBLAS
if [[ $driver -eq 0 ]]; then
    expect 0 env LD_DEBUG=files "$AELAB" "${tiny[@]}" --out "$tmp/auto"
    lacks libcublas; lacks libaelab-cuda
    # device auto says why it runs on the CPU, once on stderr (not with -q) and in the provenance
    # (tiny without -q; not by ${tiny[@]/-q/...}, which would also edit a temp path holding "-q")
    expect 0 "$AELAB" run "$tmp/tiny.yaml" --threads 1 --no-plots --no-cache --out "$tmp/auto2"
    contains "aelab: note: device auto runs on the CPU: no CUDA driver: libcuda.so.1"
    if [[ $(grep -c 'device auto runs on the CPU' <<<"$out") -eq 1 ]]; then ok; else bad "the auto note is not said exactly once"; fi
    if grep -q "^  device_reason: 'no CUDA driver: libcuda.so.1" "$tmp/auto2/config.yaml"; then ok
    else bad "config.yaml's provenance lacks device_reason: $(grep -A12 '^provenance:' "$tmp/auto2/config.yaml")"; fi
    if grep -q '^  backend: cpu$' "$tmp/auto2/config.yaml"; then ok; else bad "device auto did not record backend: cpu"; fi
    expect 0 "$AELAB" "${tiny[@]}" --out "$tmp/auto3"
    lacks "device auto"
    if grep -q "^  device_reason: 'no CUDA driver:" "$tmp/auto3/config.yaml"; then ok; else bad "-q dropped device_reason"; fi
fi
# a run that asked for the CPU has no reason to give
expect 0 "$AELAB" "${tiny[@]}" --out "$tmp/cpu2" --device cpu
lacks "device auto"
if ! grep -q device_reason "$tmp/cpu2/config.yaml"; then ok; else bad "a --device cpu run recorded a device_reason"; fi
if [[ $driver -eq 0 ]]; then :
else
    echo "note: a CUDA driver is installed: device auto loads the CUDA backend, so only --device cpu is checked"
fi
expect 0 env LD_DEBUG=files "$AELAB" "${tiny[@]}" --out "$tmp/cpu" --device cpu
lacks libcublas; lacks libaelab-cuda

# 3. $AELAB_CUDA_LIB
expect 2 env AELAB_CUDA_LIB=/nonexistent "$AELAB" "${tiny[@]}" --out "$tmp/x" --device gpu
contains "aelab: error: device gpu requested, but cannot load the CUDA backend /nonexistent: No such file or directory"
expect 2 env AELAB_CUDA_LIB=/nonexistent "$AELAB" gradcheck --device gpu
contains "cannot load the CUDA backend /nonexistent:"

# a stand-in driver: exports nothing, so cudart finds no usable driver in it
mkdir -p "$tmp/driver"
echo 'int aelab_stand_in_driver;' >"$tmp/driver/stub.c"
if ${CC:-cc} -shared -fPIC -o "$tmp/driver/libcuda.so.1" "$tmp/driver/stub.c"; then
    libz=$(ldd "$AELAB" | awk '$1 ~ /^libz\.so/ { print $3 }')
    expect 2 env LD_LIBRARY_PATH="$tmp/driver" AELAB_CUDA_LIB="$libz" "$AELAB" gradcheck --device gpu
    contains "cannot load the CUDA backend $libz:"; contains "undefined symbol: gpu_backend_create"

    # 4. the whole load path
    expect 2 env LD_LIBRARY_PATH="$tmp/driver" LD_DEBUG=files "$AELAB" "${tiny[@]}" --out "$tmp/y" --device gpu
    contains "aelab: error: device gpu requested, but cudaGetDeviceCount:"
    contains "libcublas.so"
    lacks "cannot load the CUDA backend"
else
    bad "cannot build a stand-in libcuda.so.1 with ${CC:-cc}"
fi

# 5. the normal path
if [[ $driver -eq 0 ]]; then
    expect 2 "$AELAB" "${tiny[@]}" --out "$tmp/z" --device gpu
    contains "aelab: error: device gpu requested, but no CUDA driver: libcuda.so.1: cannot open shared object file"
    contains "is an NVIDIA GPU present and its driver loaded?"
else
    out=$("$AELAB" "${tiny[@]}" --out "$tmp/gpu" --device gpu 2>&1); rc=$?
    if [[ $rc -eq 0 ]]; then
        ok
        if grep -q '^  backend: cuda$' "$tmp/gpu/config.yaml"; then ok; else bad "the GPU run did not record backend: cuda"; fi
    elif [[ $rc -eq 2 ]]; then
        ok; lacks "cannot load the CUDA backend" # a driver but no usable device
    else
        bad "run --device gpu exited $rc: $(head -c 600 <<<"$out")"
    fi
fi

# 6. the ABI check, with stand-in libraries whose tables come from "another" backend.h
abi=$(sed -n 's/^#define AE_BACKEND_ABI \([0-9]*\).*/\1/p' engine/backend.h)
cat >"$tmp/fake.c" <<'END'
#include "backend.h"
/* a table that says ABI FAKE_ABI and FAKE_EXTRA bytes more than this backend.h's */
const Backend *gpu_backend_create(char *why, size_t n) {
    static Backend b = {.name = "fake"};
    (void)why, (void)n;
    b.abi = FAKE_ABI;
    b.size = sizeof(Backend) + FAKE_EXTRA;
    return &b;
}
END
printf '#include <stdio.h>\n#include "backend.h"\nint main(void) { printf("%%zu", sizeof(Backend)); }\n' >"$tmp/size.c"
cc=${CC:-cc}
if $cc -Iengine -o "$tmp/size" "$tmp/size.c" && size=$("$tmp/size") &&
   $cc -shared -fPIC -Iengine -DFAKE_ABI=$((abi + 1)) -DFAKE_EXTRA=8 -o "$tmp/fake_abi.so" "$tmp/fake.c" &&
   $cc -shared -fPIC -Iengine -DFAKE_ABI="$abi" -DFAKE_EXTRA=8 -o "$tmp/fake_size.so" "$tmp/fake.c"; then
    hook=(env AELAB_TEST_NO_DRIVER_CHECK=1)
    expect 2 "${hook[@]}" AELAB_CUDA_LIB="$tmp/fake_abi.so" "$AELAB" "${tiny[@]}" --out "$tmp/f1" --device gpu
    contains "aelab: error: device gpu requested, but cannot use the CUDA backend $tmp/fake_abi.so: it was built from engine/backend.h ABI $((abi + 1)) (a $((size + 8))-byte table), this aelab from ABI $abi ($size bytes)"
    expect 2 "${hook[@]}" AELAB_CUDA_LIB="$tmp/fake_size.so" "$AELAB" gradcheck --device gpu
    contains "built from engine/backend.h ABI $abi (a $((size + 8))-byte table), this aelab from ABI $abi ($size bytes)"
    # the hook needs the library named: without AELAB_CUDA_LIB the driver is still probed
    if [[ $driver -eq 0 ]]; then
        expect 2 "${hook[@]}" "$AELAB" "${tiny[@]}" --out "$tmp/f2" --device gpu
        contains "no CUDA driver:"
    fi
else
    bad "cannot build the stand-in libraries with $cc"
fi

# 7. the device's memory in the plan: a stand-in library whose table (this backend.h's ABI and
#    size) answers memory_info with FAKE_FREE bytes free of 80 GiB and has no ops at all, so a
#    run that called one would crash. tiny.yaml is a CSV data set of 40 rows of 6 features (its
#    shape is read from the file): the step is 2 x 180 bytes of parameters and gradients +
#    8 x 8 x (6+3+6) of activations, plus 40 x 7 bytes of training data on the device.
cat >"$tmp/mem.c" <<'END'
#include "backend.h"
static bool mem(uint64_t *f, uint64_t *t) { *f = FAKE_FREE; *t = 80ull << 30; return true; }
const Backend *gpu_backend_create(char *why, size_t n) {
    static Backend b = {.abi = AE_BACKEND_ABI, .size = sizeof(Backend), .name = "cuda",
                        .memory_info = mem};
    (void)why, (void)n;
    return &b;
}
END
need=$((2 * 180 + 8 * 8 * 15 + 40 * 7))
if $cc -shared -fPIC -Iengine -DFAKE_FREE=$((need - 1))ull -o "$tmp/mem_small.so" "$tmp/mem.c" &&
   $cc -shared -fPIC -Iengine -DFAKE_FREE=${need}ull -o "$tmp/mem_fits.so" "$tmp/mem.c"; then
    hook=(env AELAB_TEST_NO_DRIVER_CHECK=1)
    want="pipeline[1].pretrain_layer: the plan needs 1.6 KiB on the cuda device (parameters 180 bytes, gradients 180 bytes, optimizer 0 bytes, activations 960 bytes, training data 280 bytes), more than the 1.6 KiB free there (of 80.0 GiB)"
    expect 2 "${hook[@]}" AELAB_CUDA_LIB="$tmp/mem_small.so" "$AELAB" check "$tmp/tiny.yaml" --set device=gpu
    contains "aelab check: error: $want"
    contains "pretrain_layer: encoder 6->3" # the plan that explains it is still printed
    expect 2 "${hook[@]}" AELAB_CUDA_LIB="$tmp/mem_small.so" "$AELAB" "${tiny[@]}" --out "$tmp/m1" --device gpu
    contains "aelab run: error: $want"
    if [[ ! -e $tmp/m1 ]]; then ok; else bad "a run refused for device memory made its directory"; fi
    expect 0 "${hook[@]}" AELAB_CUDA_LIB="$tmp/mem_fits.so" "$AELAB" check "$tmp/tiny.yaml" --set device=gpu
    lacks "aelab check: error"
    # the CPU's memory is the host's: the stand-in is not asked
    expect 0 "${hook[@]}" AELAB_CUDA_LIB="$tmp/mem_small.so" "$AELAB" check "$tmp/tiny.yaml" --set device=cpu
    lacks "aelab check: error"
else
    bad "cannot build the memory stand-in libraries with $cc"
fi
if [[ $driver -eq 0 ]]; then
    expect 0 "$AELAB" check "$tmp/tiny.yaml" --set device=gpu
    contains "aelab check: note: device memory not checked: no CUDA driver:"
fi

echo "cuda loader: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
