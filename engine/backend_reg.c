/* engine/backend_reg.c — the backend registry: the only place that knows whether the CUDA backend
 * (gpu/) was compiled in. The Makefile defines AE_WITH_CUDA, for the C files and for nvcc alike,
 * exactly when it found nvcc and builds gpu/; everything else asks backend_cuda_compiled().
 *
 * The engine loads nothing itself: the CUDA backend lives in a shared library of its own, which
 * runner/cudaload.c finds and loads, calling its entry point (of type GpuBackendCreate,
 * engine/backend.h). The CPU backend's constructors live in engine/cpu_backend.c.
 */
#include "backend.h"

#ifdef AE_WITH_CUDA
bool backend_cuda_compiled(void) { return true; }
#else
bool backend_cuda_compiled(void) { return false; }
#endif
