/* engine/backend_reg.c — the backend registry: the only place that knows whether the CUDA backend
 * (gpu/) was compiled in. The Makefile defines AE_WITH_CUDA, for the C files and for nvcc alike,
 * exactly when it found nvcc and builds gpu/; everything else asks backend_cuda_compiled() or
 * backend_cuda(). The CPU backend's constructors live in engine/cpu_backend.c.
 *
 * The CUDA backend is a shared object of its own, libaelab-cuda.so (gpu/ linked against cuBLAS
 * and cudart), which backend_cuda() loads with dlopen() the first time a GPU is asked for. Linked
 * into bin/aelab, cuBLAS cost every exec ~200 MB of peak RSS and ~0.1 s, CPU runs included.
 * Where the library is looked for, the first that applies wins:
 *   1. $AELAB_CUDA_LIB when set and not empty: exactly that file;
 *   2. libaelab-cuda.so next to the running executable (/proc/self/exe), when it is there;
 *   3. AE_CUDA_LIB_PATH, the absolute path the Makefile built it at (how the test programs
 *      under build/tests/ find it, and a binary copied elsewhere).
 * Before the library is loaded, the NVIDIA driver's libcuda.so.1 must load: without it cudart
 * can only report an insufficient driver, and a machine without one (every CPU-only machine)
 * then answers `device: auto`, the default, without mapping cuBLAS at all.
 */
#include <stdio.h>

#include "backend.h"

/* The one switch: only this file knows whether CUDA was compiled in. */
#ifdef AE_WITH_CUDA
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/gpu.h"

#ifndef AE_CUDA_LIB_PATH
#error "AE_CUDA_LIB_PATH (the built libaelab-cuda.so's absolute path) comes from the Makefile"
#endif
/* tag-cuda-lib: the file name of the Makefile's CUDA_SO. */
#define AE_CUDA_LIB_NAME "libaelab-cuda.so"
#define AE_CUDA_DRIVER "libcuda.so.1"
#define AE_CUDA_ENTRY "gpu_backend_create" /* gpu/gpu.h, extern "C" */

typedef const Backend *(*CudaCreate)(char *why, size_t n);
/* The entry point is found by name, so check its type against gpu/gpu.h here (_Generic does not
 * evaluate its operand: no reference to the symbol, which bin/aelab does not link). */
_Static_assert(_Generic(&gpu_backend_create, CudaCreate: 1, default: 0),
               "CudaCreate must match gpu_backend_create in gpu/gpu.h");

static const bool CUDA_COMPILED = true;

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t n, const char *fmt, ...) {
    if (!why || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* Writes into path (size n) the library to load (see the top of the file); false when the path
 * does not fit. */
static bool cuda_lib_path(char *path, size_t n) {
    const char *env = getenv("AELAB_CUDA_LIB");
    if (env && *env) /* a file, even without a slash (dlopen would search the library path) */
        return (size_t)snprintf(path, n, "%s%s", strchr(env, '/') ? "" : "./", env) < n;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(path, n, "%s/%s", exe, AE_CUDA_LIB_NAME) < n &&
                access(path, F_OK) == 0)
                return true;
        }
    }
    return (size_t)snprintf(path, n, "%s", AE_CUDA_LIB_PATH) < n;
}

/* gpu_backend_create from the loaded library, or NULL with a reason in why. The handles stay
 * open for the life of the process, as the backend's table does. */
static CudaCreate cuda_load(char *why, size_t n) {
    static CudaCreate create;
    if (create) return create;
    char path[4096];
    if (!cuda_lib_path(path, sizeof path)) {
        say(why, n, "cannot load the CUDA backend: its path is longer than %zu bytes",
            sizeof path - 1);
        return NULL;
    }
    /* Checked first so that a wrong path is reported as such on any machine, driver or not. */
    if (access(path, R_OK) != 0) {
        say(why, n, "cannot load the CUDA backend %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!dlopen(AE_CUDA_DRIVER, RTLD_NOW | RTLD_LOCAL)) {
        say(why, n, "no CUDA driver: %s; is an NVIDIA GPU present and its driver loaded?",
            dlerror());
        return NULL;
    }
    /* RTLD_LOCAL: the gpu_* symbols of the library stay out of the global namespace. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        say(why, n, "cannot load the CUDA backend %s: %s", path, dlerror());
        return NULL;
    }
    /* POSIX guarantees that dlsym's object pointer converts to a function pointer. */
    create = (CudaCreate)dlsym(lib, AE_CUDA_ENTRY);
    if (!create) {
        say(why, n, "cannot load the CUDA backend %s: %s", path, dlerror());
        dlclose(lib);
        return NULL;
    }
    return create;
}

static const Backend *cuda_create(char *why, size_t n) {
    CudaCreate create = cuda_load(why, n);
    return create ? create(why, n) : NULL;
}
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
