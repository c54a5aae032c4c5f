/* runner/cudaload.c — finding and loading libaelab-cuda.so (see cudaload.h for the order in
 * which places are tried). The library's handles stay open for the life of the process, as the
 * backend's table does.
 */
#include "cudaload.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AE_CUDA_LIB_PATH
#error "AE_CUDA_LIB_PATH (where the Makefile builds libaelab-cuda.so) comes from the Makefile"
#endif
/* tag-cuda-lib: the file name of the Makefile's CUDA_LIB. */
#define AE_CUDA_LIB_NAME "libaelab-cuda.so"
#define AE_CUDA_DRIVER "libcuda.so.1"
#define AE_CUDA_ENTRY "gpu_backend_create" /* gpu/gpu.h, extern "C", of type GpuBackendCreate */

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t n, const char *fmt, ...) {
    if (!why || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* Writes into path (size n) the library to load (see cudaload.h); false when the path does not
 * fit. */
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

/* gpu_backend_create from the loaded library, or NULL with a reason in why. */
static GpuBackendCreate *cuda_load(char *why, size_t n) {
    static GpuBackendCreate *create;
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
    create = (GpuBackendCreate *)dlsym(lib, AE_CUDA_ENTRY);
    if (!create) {
        say(why, n, "cannot load the CUDA backend %s: %s", path, dlerror());
        dlclose(lib);
        return NULL;
    }
    return create;
}

const Backend *cudaload_backend(char *why, size_t n) {
    if (!backend_cuda_compiled()) {
        say(why, n, "aelab was built without CUDA (nvcc not found at build time; rebuild with "
                    "CUDA=1)");
        return NULL;
    }
    GpuBackendCreate *create = cuda_load(why, n);
    return create ? create(why, n) : NULL;
}
