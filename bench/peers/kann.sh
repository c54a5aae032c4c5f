#!/usr/bin/env bash
# bench/peers/kann.sh [--threads N] [--epochs E] [--cpu-clock] — the C peer of `make bench`: the L17 AE1 epoch
# in kann (attractivechaos/kann), timed by bench/peers/kann_ae1.c.
#
# kann is never part of this repository: KANN_SRC names a copy of it, either a source tree
# (with kann.c) or a git directory (a bare clone or mirror: its HEAD is exported with git
# archive). The script builds kann.c + kautodiff.c with -DHAVE_CBLAS against the OpenBLAS the
# Makefile links aelab with (BLAS_CFLAGS / BLAS_LIBS read from `make -qp`), in build/peers/kann/
# (git-ignored), and runs the driver with OPENBLAS_NUM_THREADS=N. It prints the driver's
# "key value" lines (bench/side.c). Without KANN_SRC, or when it is not a kann copy, it says
# why on stderr and exits 3: the bench then reports kann as not run.
set -euo pipefail
cd "$(dirname "$0")/../.."

threads=0
args=()
while (($#)); do
    case $1 in
    --threads) threads=$2; args+=(--threads "$2"); shift 2 ;;
    --epochs) args+=(--epochs "$2"); shift 2 ;;
    --cpu-clock) args+=(--cpu-clock); shift ;;
    *) echo "kann.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

src=${KANN_SRC:-}
if [[ -z $src ]]; then
    echo "kann.sh: KANN_SRC is not set (a copy of attractivechaos/kann: a source tree or a git directory)" >&2
    exit 3
fi
out=build/peers/kann
mkdir -p "$out"
if [[ -f $src/kann.c && -f $src/kautodiff.c ]]; then
    ksrc=$src
elif git --git-dir="$src" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    ksrc=$out/src
    rm -rf "$ksrc"
    mkdir -p "$ksrc"
    if ! git --git-dir="$src" archive HEAD kann.c kann.h kautodiff.c kautodiff.h |
        tar -x -C "$ksrc"; then
        echo "kann.sh: $src: its HEAD has no kann.c/kautodiff.c" >&2
        exit 3
    fi
else
    echo "kann.sh: $src is neither a kann source tree nor a git directory" >&2
    exit 3
fi

db=$(make --no-print-directory -qp 2>/dev/null || true)
makevar() { sed -n "s/^$1 := //p" <<<"$db" | head -n1; }
blas_cflags=$(makevar BLAS_CFLAGS)
blas_libs=$(makevar BLAS_LIBS)
if [[ -z $blas_libs ]]; then
    blas_cflags=$(pkg-config --cflags openblas)
    blas_libs=$(pkg-config --libs openblas)
fi
# kann's own flags (its Makefile: -O2) plus -march=native, which only helps it
# shellcheck disable=SC2086  # flag lists
gcc -O2 -march=native -DHAVE_CBLAS -w $blas_cflags -I"$ksrc" -o "$out/kann_ae1" \
    bench/peers/kann_ae1.c "$ksrc/kann.c" "$ksrc/kautodiff.c" $blas_libs -lm -lpthread
nt=$threads
[[ $nt -gt 0 ]] || nt=$(nproc)
OPENBLAS_NUM_THREADS=$nt OMP_NUM_THREADS=$nt exec "$out/kann_ae1" "${args[@]}"
