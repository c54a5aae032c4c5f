/* gpu/optim.cu — the optimizer steps, element-wise (PyTorch semantics, engine/backend.h):
 *   sgd:  momentum == 0: p -= lr g;
 *         else v = momentum v + g; p -= lr (nesterov ? g + momentum v : v)
 *   adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *         p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), bc = 1 - b^t
 * The bias corrections are computed on the host in double, as the CPU twin does, so both apply
 * the same float step and sqrt(bc2).
 * tag-backend-ops: twins of cpu_sgd_step and cpu_adam_step in engine/cpu_backend.c.
 */
#include <math.h>

#include "common.cuh"
#include "ops.h"

static __global__ void sgd_kernel(float *p, const float *g, float *v, size_t n, float lr,
                                  float momentum, bool nesterov) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        if (momentum == 0.0f) {
            p[i] -= lr * g[i];
        } else {
            float vi = momentum * v[i] + g[i];
            v[i] = vi;
            float d = nesterov ? g[i] + momentum * vi : vi;
            p[i] -= lr * d;
        }
    }
}

static __global__ void adam_kernel(float *p, const float *g, float *m, float *v, size_t n,
                                   float b1, float b2, float eps, float step, float sbc2) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) / sbc2 + eps);
    }
}

static void sgd_launch(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                       bool nesterov) {
    sgd_kernel<<<gpu_grid(n), GPU_THREADS>>>(p, g, v, n, lr, momentum, nesterov);
    KERNEL_CHECK("sgd_kernel");
}

void gpu_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                  bool nesterov) {
    if (n) sgd_launch(p, g, v, n, lr, momentum, nesterov);
}

static void adam_launch(float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float b1, float b2, float eps, int t) {
    double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
    float step = (float)(lr / bc1), sbc2 = (float)sqrt(bc2);
    adam_kernel<<<gpu_grid(n), GPU_THREADS>>>(p, g, m, v, n, b1, b2, eps, step, sbc2);
    KERNEL_CHECK("adam_kernel");
}

void gpu_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, int t) {
    if (t < 1) {
        fprintf(stderr, "%s:%d: internal error: adam step t = %d, expected >= 1\n", __FILE__,
                __LINE__, t);
        abort();
    }
    if (n) adam_launch(p, g, m, v, n, lr, b1, b2, eps, t);
}
