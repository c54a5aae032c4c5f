/* gpu/act_backward.cu — dZ (B,O) = dY * act'(.), from the activation's output Y; dZ may alias dY;
 * then db += column sums of dZ (gpu/colsum.cu) when db is not NULL.
 *
 * tanh: 1 - y^2; sigmoid: y (1 - y); relu: y > 0; identity: 1 (a copy);
 * logsoftmax (one block per row): dz_j = dy_j - exp(y_j) * sum_k dy_k, the sum in double.
 * Same float expressions as the CPU twin.
 * tag-backend-ops: twin of cpu_act_backward in engine/cpu_backend.c.
 */
#include <math.h>

#include "common.cuh"
#include "ops.h"

/* Element-wise derivatives. No __restrict__: dZ may alias dY (each element is read, then
 * written, by the same thread). */
static __global__ void act_backward_kernel(float *dZ, const float *dY, const float *Y, Act act,
                                           size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float y = Y[i], d = dY[i];
        switch (act) {
        case ACT_TANH: d = d * (1.0f - y * y); break;
        case ACT_SIGMOID: d = d * y * (1.0f - y); break;
        case ACT_RELU: d = y > 0.0f ? d : 0.0f; break;
        default: break; /* identity */
        }
        dZ[i] = d;
    }
}

/* One block per row. The row sum of dY is complete (the reduction's barriers) before any dZ
 * element is written, so dZ may alias dY. */
static __global__ void logsoftmax_backward_kernel(float *dZ, const float *dY, const float *Y,
                                                  int O) {
    size_t row = (size_t)blockIdx.x * O;
    double s = 0.0;
    for (int j = threadIdx.x; j < O; j += GPU_THREADS) s += dY[row + j];
    float sf = (float)gpu_block_sum(s);
    for (int j = threadIdx.x; j < O; j += GPU_THREADS)
        dZ[row + j] = dY[row + j] - expf(Y[row + j]) * sf;
}

static void act_backward_launch(float *dZ, const float *dY, const float *Y, Act act, int B,
                                int O) {
    size_t n = (size_t)B * O;
    if (act == ACT_IDENTITY) {
        if (dZ != dY)
            CUDA_CHECK(cudaMemcpyAsync(dZ, dY, n * sizeof *dZ, cudaMemcpyDeviceToDevice, 0));
    } else if (act == ACT_LOGSOFTMAX) {
        logsoftmax_backward_kernel<<<(unsigned)B, GPU_THREADS>>>(dZ, dY, Y, O);
        KERNEL_CHECK("logsoftmax_backward_kernel");
    } else {
        act_backward_kernel<<<gpu_grid(n), GPU_THREADS>>>(dZ, dY, Y, act, n);
        KERNEL_CHECK("act_backward_kernel");
    }
}

void gpu_act_backward(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                      float *db) {
    if (act < 0 || act >= ACT_COUNT) {
        fprintf(stderr, "%s:%d: internal error: unknown activation %d\n", __FILE__, __LINE__,
                (int)act);
        abort();
    }
    if (B > 0 && O > 0) act_backward_launch(dZ, dY, Y, act, B, O);
    if (db) gpu_colsum_acc(db, dZ, B, O);
}
