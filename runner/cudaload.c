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

/* Writes into path (size n) the library to load (see cudaload.h); false, with a reason in why,
 * when there is none to try. */
static bool cuda_lib_path(char *path, size_t n, char *why, size_t wn) {
    const char *env = getenv("AELAB_CUDA_LIB");
    if (env && *env) { /* a file, even without a slash (dlopen would search the library path) */
        if ((size_t)snprintf(path, n, "%s%s", strchr(env, '/') ? "" : "./", env) < n) return true;
        say(why, wn, "cannot load the CUDA backend: $AELAB_CUDA_LIB is longer than %zu bytes",
            n - 1);
        return false;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) exe[len] = '\0';
    char *slash = len > 0 ? strrchr(exe, '/') : NULL;
    if (!slash) {
        say(why, wn, "cannot load the CUDA backend: cannot tell where this program is "
                     "(/proc/self/exe); set AELAB_CUDA_LIB to the library's path");
        return false;
    }
    *slash = '\0';
    if ((size_t)snprintf(path, n, "%s/%s", exe, AE_CUDA_LIB_NAME) < n) return true;
    say(why, wn, "cannot load the CUDA backend: its path is longer than %zu bytes", n - 1);
    return false;
}

/* The test hook of cudaload.h: skip the driver probe for a library named by $AELAB_CUDA_LIB. */
static bool driver_check_skipped(void) {
    const char *lib = getenv("AELAB_CUDA_LIB"), *skip = getenv("AELAB_TEST_NO_DRIVER_CHECK");
    return lib && *lib && skip && strcmp(skip, "1") == 0;
}

static char cuda_path[4096]; /* the library loaded (or tried), for messages */

/* gpu_backend_create from the loaded library, or NULL with a reason in why. */
static GpuBackendCreate *cuda_load(char *why, size_t n) {
    static GpuBackendCreate *create;
    if (create) return create;
    char *path = cuda_path;
    if (!cuda_lib_path(path, sizeof cuda_path, why, n)) return NULL;
    /* Checked first so that a wrong path is reported as such on any machine, driver or not. */
    if (access(path, R_OK) != 0) {
        say(why, n, "cannot load the CUDA backend %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!driver_check_skipped() && !dlopen(AE_CUDA_DRIVER, RTLD_NOW | RTLD_LOCAL)) {
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

/* Whether the library's table was built from this engine/backend.h: its first two members, the
 * only ones every version shares, must say AE_BACKEND_ABI and sizeof(Backend). */
static bool table_matches(const Backend *b, char *why, size_t n) {
    if (b->abi == AE_BACKEND_ABI && b->size == sizeof(Backend)) return true;
    say(why, n, "cannot use the CUDA backend %s: it was built from engine/backend.h ABI %d "
        "(a %zu-byte table), this aelab from ABI %d (%zu bytes); rebuild both from the same "
        "sources (make)", cuda_path, b->abi, b->size, AE_BACKEND_ABI, sizeof(Backend));
    return false;
}

const Backend *cudaload_backend(char *why, size_t n) {
    if (!backend_cuda_compiled()) {
        say(why, n, "aelab was built without CUDA (nvcc not found at build time; rebuild with "
                    "CUDA=1)");
        return NULL;
    }
    GpuBackendCreate *create = cuda_load(why, n);
    const Backend *b = create ? create(why, n) : NULL;
    return b && table_matches(b, why, n) ? b : NULL;
}
