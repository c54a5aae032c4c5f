#!/usr/bin/env bash
# bench/run.sh — the body of `make bench` (the Makefile runs `AELAB=bin/aelab bench/run.sh` after
# building). Compiles bench/*.c with the Makefile's own CFLAGS and LDLIBS against
# build/lib/libaelab.a, finds a Python with torch + numpy for the peer (bench/peer_torch.py), and
# runs `bench all`, which writes bench/results.md and bench/results.csv.
#
# Environment:
#   THREADS / BENCH_THREADS  thread count for both sides (default: all cores)
#   PYTHON                   interpreter for the peer (default: the first of python3,
#                            /usr/bin/python3 that imports torch and numpy)
#   BENCH_ARGS               extra options for `bench all` (see `build/bench/bench all --help`),
#                            e.g. BENCH_ARGS="--rounds 1 --epochs 5 --no-run"
#   KANN_SRC                 a copy of attractivechaos/kann (source tree or git directory) for
#                            the kann row (bench/peers/kann.sh); without it the row says so
#   OPENBLAS_CORETYPE        respected when set; otherwise the core bin/aelab picks for itself
#                            (SkylakeX or Haswell where Debian 12's OpenBLAS 0.3.21 falls back
#                            to its SSE3 kernels; scripts/blas_core.sh), for the roofline and
#                            the PyTorch peer alike.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AELAB:=bin/aelab}"
threads=${BENCH_THREADS:-${THREADS:-0}}

source scripts/blas_core.sh
blas_core_export "$AELAB"

# The Makefile's flags, as it computes them (pkg-config, the CUDA probe, WERROR, SAN...): read
# from make's database rather than repeated here. Command-line variables of the calling make
# reach this one through MAKEFLAGS.
db=$(make --no-print-directory -qp 2>/dev/null || true)
makevar() { sed -n "s/^$1 := //p" <<<"$db" | head -n1; }
CC_=$(makevar CC)
CFLAGS_=$(makevar CFLAGS)
LDLIBS_=$(makevar LDLIBS)
BUILD_=$(makevar BUILD)
: "${CC_:=gcc}" "${BUILD_:=build}"
if [[ -z $CFLAGS_ ]]; then
    echo "bench: error: could not read CFLAGS from the Makefile (make -qp)" >&2
    exit 1
fi

# The library the bench links (the engine, the runner's data loading and its helpers).
lib=$BUILD_/lib/libaelab.a
if ! make --no-print-directory -s "$lib" >/dev/null; then
    echo "bench: error: $lib does not build (run make to see why)" >&2
    exit 1
fi
objs=("$lib")
mkdir -p "$BUILD_/bench"
bench_objs=()
for src in bench/*.c; do
    obj=$BUILD_/bench/$(basename "${src%.c}").o
    # shellcheck disable=SC2086  # the flags are word lists
    $CC_ $CFLAGS_ -c -o "$obj" "$src"
    bench_objs+=("$obj")
done
# shellcheck disable=SC2086
$CC_ -o "$BUILD_/bench/bench" "${bench_objs[@]}" "${objs[@]}" $LDLIBS_

# The peer's interpreter.
python=""
for cand in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch, numpy' >/dev/null 2>&1; then
        python=$(command -v "$cand")
        break
    fi
done
if [[ -n $python ]]; then
    pyargs=(--python "$python")
else
    pyargs=(--no-python "not installed (make bench-deps)")
fi

aelabargs=()
if [[ -x $AELAB ]]; then aelabargs=(--aelab "$AELAB"); fi

# The GPU section (bench gpu) finds the CUDA backend as the test programs do: the library next
# to $AELAB, unless AELAB_CUDA_LIB says otherwise (runner/cudaload.h); without a GPU it is a
# note in the report.
if [[ -z ${AELAB_CUDA_LIB:-} && -f $(dirname "$AELAB")/libaelab-cuda.so ]]; then
    export AELAB_CUDA_LIB=$(dirname "$AELAB")/libaelab-cuda.so
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown ]] && ! git diff-index --quiet HEAD -- 2>/dev/null; then
    commit="$commit (with uncommitted changes)"
fi

# shellcheck disable=SC2086  # BENCH_ARGS is a word list
exec "$BUILD_/bench/bench" all --threads "$threads" "${pyargs[@]}" "${aelabargs[@]}" \
    --commit "$commit" --out bench --scratch "$BUILD_/bench" ${BENCH_ARGS:-}
