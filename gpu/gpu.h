/* gpu/gpu.h — the CUDA backend's one entry point. C linkage, so the C code can call into the
 * nvcc-compiled gpu/. gpu/ is built into bin/libaelab-cuda.so, and runner/cudaload.c finds this
 * function there by its name with dlsym (AE_CUDA_ENTRY): its type is engine/backend.h's
 * GpuBackendCreate, declared so here that gpu/backend.cu's definition cannot drift from it.
 */
#ifndef AE_GPU_H
#define AE_GPU_H

#include <stddef.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens device 0 (the first visible one; choose with CUDA_VISIBLE_DEVICES) and creates the cuBLAS
 * handle, then returns the CUDA backend's table (static; never freed). Returns NULL and writes a
 * reason into why (if not NULL, size n) when cudaGetDeviceCount fails or finds no device, when the
 * device cannot be initialised, when it cannot run this library's kernels (its compute capability
 * is not among the architectures built, CUDA_ARCH, or a probe kernel fails), or when cuBLAS
 * cannot be initialised. Later calls after a success return the
 * same table at once. Not thread-safe: call once at start-up. */
GpuBackendCreate gpu_backend_create; /* const Backend *gpu_backend_create(char *why, size_t n) */

#ifdef __cplusplus
}
#endif

#endif
