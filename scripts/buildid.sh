#!/usr/bin/env bash
# scripts/buildid.sh — the build ID of aelab, printed as 16 hex digits: a hash of what determines
# the numbers a build computes, which the stage keys include (runner/buildid.c,
# runner/stagekey.c) so that a changed program never reuses what another one stored in the stage
# cache, while a rebuild of the same sources (a `make clean`, another checkout) does.
# It hashes the sources of engine/, gpu/ and runner/ (the runner prepares the data and the
# training tasks: any change there may change a number too), the compiler's version, and the
# flags, from the environment: AE_CC (the C compiler), AE_CFLAGS, AE_NVCC and AE_NVCCFLAGS (empty
# without CUDA). The BLAS library is not part of it: the stage key names the one loaded at run
# time (its version and core).
# Usage: AE_CC=gcc AE_CFLAGS='...' scripts/buildid.sh      (the Makefile calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo "aelab-build-id-v1"
    find engine gpu runner -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) \
        -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "cc: $(${AE_CC:-cc} --version 2>/dev/null | head -n 1)"
    echo "cflags: ${AE_CFLAGS:-}"
    if [[ -n ${AE_NVCC:-} ]]; then
        echo "nvcc: $("$AE_NVCC" --version 2>/dev/null | tail -n 2 | tr '\n' ' ')"
        echo "nvccflags: ${AE_NVCCFLAGS:-}"
    fi
} | sha256sum | cut -c1-16
