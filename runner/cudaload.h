/* runner/cudaload.h — the CUDA backend, loaded on demand from its shared library.
 *
 * The CUDA backend is a shared object of its own, libaelab-cuda.so (gpu/ linked against cuBLAS
 * and cudart), which this module loads the first time a GPU is asked for: linked into
 * bin/aelab, cuBLAS cost every exec ~200 MB of peak RSS and ~0.1 s, CPU runs included. Where the
 * library is looked for, the first that applies wins:
 *   1. $AELAB_CUDA_LIB when set and not empty: exactly that file;
 *   2. libaelab-cuda.so next to the running executable (/proc/self/exe): bin/aelab finds
 *      bin/libaelab-cuda.so, and so does a copy of the two put anywhere together. No path is
 *      baked in at build time; the test programs under build/tests/ are pointed at the library
 *      by tests/run.sh through $AELAB_CUDA_LIB, as anyone may.
 * Before the library is loaded, the NVIDIA driver's libcuda.so.1 must load: without it cudart
 * can only report an insufficient driver, and a machine without one (every CPU-only machine)
 * then answers `device: auto`, the default, without mapping cuBLAS at all. Test hook: with
 * AELAB_TEST_NO_DRIVER_CHECK=1 and the library named by $AELAB_CUDA_LIB, that probe is skipped,
 * so that tests/test_cuda_loader.sh can load a stand-in library on a machine without a driver.
 * The table the library returns must carry this engine/backend.h's AE_BACKEND_ABI and size.
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
 * NVIDIA driver cannot be loaded, no usable device is visible, or the library was built from
 * another engine/backend.h (ABI or table size differs). Not thread-safe: call at start-up. */
const Backend *cudaload_backend(char *why, size_t n);

#endif
