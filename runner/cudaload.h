/* runner/cudaload.h — the CUDA backend, loaded on demand from its shared library.
 *
 * The CUDA backend is a shared object of its own, libaelab-cuda.so (gpu/ linked against cuBLAS
 * and cudart), which this module loads the first time a GPU is asked for: linked into
 * bin/aelab, cuBLAS cost every exec ~200 MB of peak RSS and ~0.1 s, CPU runs included. Where the
 * library is looked for, the first that applies wins:
 *   1. $AELAB_CUDA_LIB when set and not empty: exactly that file;
 *   2. libaelab-cuda.so next to the running executable (/proc/self/exe), when it is there;
 *   3. AE_CUDA_LIB_PATH, the absolute path the Makefile builds it at (how the test programs
 *      under build/tests/ find it, and a binary copied elsewhere).
 * Before the library is loaded, the NVIDIA driver's libcuda.so.1 must load: without it cudart
 * can only report an insufficient driver, and a machine without one (every CPU-only machine)
 * then answers `device: auto`, the default, without mapping cuBLAS at all.
 *
 * Whether CUDA was compiled in is the engine's backend registry's to say
 * (backend_cuda_compiled, engine/backend_reg.c); the entry point's type is the engine's
 * GpuBackendCreate (engine/backend.h).
 */
#ifndef AE_CUDALOAD_H
#define AE_CUDALOAD_H

#include <stddef.h>

#include "backend.h"

/* The CUDA backend (static; never freed), loading its library on the first call. NULL, with
 * why filled (if not NULL, size n), when aelab was built without CUDA, the library or the
 * NVIDIA driver cannot be loaded, or no device is visible. Not thread-safe: call at start-up. */
const Backend *cudaload_backend(char *why, size_t n);

#endif
