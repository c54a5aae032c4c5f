/* gpu/backend.cu — assembles the CUDA backend's table of operations from the one-op files of
 * gpu/ (declared in gpu/ops.h) and opens the device.
 *
 * Everything runs on the legacy default stream of device 0: the ops are asynchronous with
 * respect to the host and ordered with respect to each other; download and dot wait for the
 * device.
 * tag-backend-ops: the CUDA twin of CPU_BACKEND in engine/cpu_backend.c.
 */
#include <stdarg.h>

#include "common.cuh"
#include "gpu.h"
#include "ops.h"

static Backend gpu_table(void) {
    Backend b = {}; /* members added to backend.h later stay NULL, and fault loudly */
    b.abi = AE_BACKEND_ABI;
    b.size = sizeof(Backend);
    b.name = "cuda";
    b.alloc = gpu_alloc;
    b.free = gpu_free;
    b.upload = gpu_upload;
    b.download = gpu_download;
    b.copy = gpu_copy;
    b.fill = gpu_fill;
    b.gemm_nn = gpu_gemm_nn;
    b.gemm_nt = gpu_gemm_nt;
    b.gemm_tn = gpu_gemm_tn;
    b.bias_act_forward = gpu_bias_act_forward;
    b.act_backward = gpu_act_backward;
    b.colsum_acc = gpu_colsum_acc;
    b.loss = gpu_loss;
    b.l1_penalty = gpu_l1_penalty;
    b.kl_penalty = gpu_kl_penalty;
    b.weight_decay = gpu_weight_decay;
    b.gather = gpu_gather;
    b.gather_rows = gpu_gather_rows;
    b.noise = gpu_noise;
    b.sgd_step = gpu_sgd_step;
    b.adam_step = gpu_adam_step;
    b.dot = gpu_dot;
    b.axpy = gpu_axpy;
    b.scal = gpu_scal;
    b.confusion_acc = gpu_confusion_acc;
    b.memory_info = gpu_memory_info;
    return b;
}

static Backend table;
static bool table_ready;

static void say(char *why, size_t n, const char *fmt, ...) {
    if (!why || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

#ifndef AE_CUDA_ARCHS
#error "AE_CUDA_ARCHS (the Makefile's CUDA_ARCH list, as a string) comes from the Makefile"
#endif
/* The compute capabilities (major*10 + minor) this library holds machine code for, a string
 * such as "80 86 89 90" (nvcc splits -D values at commas), and the one whose PTX it carries (the
 * newest; the driver compiles that for any newer device). */
static const char ARCHS[] = AE_CUDA_ARCHS;
static const int ARCH_PTX = AE_CUDA_ARCH_PTX;

/* Whether the kernels built here run on a device of compute capability cc: machine code for
 * sm_XY runs on X.Y' for Y' >= Y (same major), PTX on any device at least as new as it. */
static bool archs_cover(int cc) {
    const char *p = ARCHS;
    char *end;
    for (long a = strtol(p, &end, 10); end != p; a = strtol(p, &end, 10)) {
        if (a / 10 == cc / 10 && a <= cc) return true;
        p = end;
    }
    return ARCH_PTX <= cc;
}

/* Writes the architectures as "sm_80 sm_90 + PTX compute_90" into s (size n). */
static void archs_text(char *s, size_t n) {
    size_t len = 0;
    const char *p = ARCHS;
    char *end;
    for (long a = strtol(p, &end, 10); end != p && len < n; a = strtol(p, &end, 10)) {
        len += (size_t)snprintf(s + len, n - len, "sm_%ld ", a);
        p = end;
    }
    if (len < n) snprintf(s + len, n - len, "+ PTX compute_%d", ARCH_PTX);
}

__global__ static void probe_kernel(int *out) { *out = 0x5eed; }

/* Device 0 can run this library's kernels: its compute capability is one the library was built
 * for, and a probe kernel launches and returns its value. False with a reason otherwise. */
static bool device_runs_kernels(char *why, size_t n) {
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        say(why, n, "cannot read the properties of CUDA device 0: %s", cudaGetErrorString(e));
        return false;
    }
    int cc = prop.major * 10 + prop.minor;
    char built[256];
    archs_text(built, sizeof built);
    if (!archs_cover(cc)) {
        say(why, n, "CUDA device 0 (%s) has compute capability %d.%d, and libaelab-cuda.so "
            "was built for %s only; rebuild with CUDA_ARCH=%d", prop.name, prop.major,
            prop.minor, built, cc);
        return false;
    }
    int *d = NULL, h = 0;
    e = cudaMalloc(&d, sizeof *d);
    if (e == cudaSuccess) {
        probe_kernel<<<1, 1>>>(d);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e == cudaSuccess) e = cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost);
    if (d) (void)cudaFree(d);
    if (e != cudaSuccess || h != 0x5eed) {
        (void)cudaGetLastError();
        say(why, n, "a probe kernel does not run on CUDA device 0 (%s, compute capability %d.%d; "
            "library built for %s): %s", prop.name, prop.major, prop.minor, built,
            e != cudaSuccess ? cudaGetErrorString(e) : "it returned a wrong value");
        return false;
    }
    return true;
}

extern "C" const Backend *gpu_backend_create(char *why, size_t n) {
    if (table_ready) return &table;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* not sticky; clear it */
        say(why, n, "cudaGetDeviceCount: %s%s", cudaGetErrorString(e),
            e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice
                ? "; is an NVIDIA GPU present and its driver loaded?"
                : "");
        return NULL;
    }
    if (count == 0) {
        say(why, n, "cudaGetDeviceCount found 0 devices");
        return NULL;
    }
    e = cudaSetDevice(0);
    if (e == cudaSuccess) e = cudaFree(0); /* creates the context now, so failures show here */
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        say(why, n, "cannot initialise CUDA device 0: %s", cudaGetErrorString(e));
        return NULL;
    }
    if (!device_runs_kernels(why, n)) return NULL;
    if (!gpu_gemm_init(why, n)) return NULL;
    table = gpu_table();
    table_ready = true;
    return &table;
}
