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
    b.noise = gpu_noise;
    b.sgd_step = gpu_sgd_step;
    b.adam_step = gpu_adam_step;
    b.dot = gpu_dot;
    b.axpy = gpu_axpy;
    b.scal = gpu_scal;
    b.confusion_acc = gpu_confusion_acc;
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
    if (!gpu_gemm_init(why, n)) return NULL;
    table = gpu_table();
    table_ready = true;
    return &table;
}
