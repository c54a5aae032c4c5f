# scripts/blas_core.sh — sourced by the test, bench and sweep scripts. blas_core_export AELAB
# exports OPENBLAS_CORETYPE as the core bin/aelab picks for itself (runner/main.c,
# prefer_wide_kernels: Debian's OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it does
# not know, and aelab re-executes with SkylakeX or Haswell), so that the test programs, the
# roofline and the PyTorch peer run the same kernels as aelab. A core the caller already chose
# is kept; nothing is exported when AELAB does not run.
blas_core_export() {
    [[ -n ${OPENBLAS_CORETYPE:-} ]] && return 0
    local core
    core=$("${1:-bin/aelab}" --version 2>/dev/null | sed -n 's/^blas: .*(core \([A-Za-z0-9_]*\))$/\1/p')
    [[ -n $core ]] && export OPENBLAS_CORETYPE=$core
    return 0
}
