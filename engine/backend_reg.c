/* engine/backend_reg.c — the backend registry: the only place that knows whether the CUDA backend
 * (gpu/) was compiled in. The Makefile defines AE_WITH_CUDA, for the C files and for nvcc alike,
 * exactly when it found nvcc and builds gpu/; everything else asks backend_cuda_compiled() or
 * backend_cuda(). The CPU backend's constructors live in engine/cpu_backend.c.
 */
#include <stdio.h>

#include "backend.h"

/* The one switch (STYLE.md: the registry alone knows). */
#ifdef AE_WITH_CUDA
#include "gpu/gpu.h"
static const bool CUDA_COMPILED = true;
static const Backend *cuda_create(char *why, size_t n) { return gpu_backend_create(why, n); }
#else
static const bool CUDA_COMPILED = false;
static const Backend *cuda_create(char *why, size_t n) {
    if (why && n)
        snprintf(why, n, "aelab was built without CUDA (nvcc not found at build time; "
                         "rebuild with CUDA=1)");
    return NULL;
}
#endif

const Backend *backend_cuda(char *why, size_t n) { return cuda_create(why, n); }

bool backend_cuda_compiled(void) { return CUDA_COMPILED; }
