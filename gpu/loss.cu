/* gpu/loss.cu — *out = loss(Y, T or labels), dY (B,O) = d loss / d Y (overwritten; NULL to skip),
 * then times act'(.) of the activation that produced Y (gpu/act_backward.cu), and db += its
 * column sums when db (gpu/colsum.cu).
 *
 * Formulas (see LossKind in engine/backend.h; n = B*O):
 *   mse:           L = (1/n) sum (y-t)^2                 dY = (2/n) (y-t)
 *   half_sse:      L = (1/B) sum 0.5 (y-t)^2             dY = (1/B) (y-t)
 *   bce:           L = -(1/n) sum t log y + (1-t) log(1-y), logs clamped at -100;
 *                  dY = (y-t) / max(y(1-y), 1e-12) / n   (PyTorch's eps)
 *   nll:           L = -(1/B) sum_r y[r, label_r]        dY = -onehot / B
 *   cross_entropy: L = (1/B) sum_r lse(y_r) - y[r, label_r]   dY = (softmax(y_r) - onehot) / B
 * Each term is formed with the CPU twin's float/double expression; the sum is deterministic in
 * double: a first pass writes one partial per block (grid-stride over elements, or over rows for
 * the label losses, with a fixed grid for a given size), and a one-block second pass adds the
 * partials and writes *out on the device (no synchronisation).
 * A label outside [0, O) makes the row's term NaN (and leaves its dY row zero) instead of
 * reading outside Y; the data loader rejects such labels long before.
 * tag-backend-ops: twin of cpu_loss in engine/cpu_backend.c.
 */
#include <math.h>

#include "common.cuh"
#include "ops.h"

static __device__ double partials[GPU_RED_BLOCKS];

static __device__ __forceinline__ float clamp_log(float p) {
    float l = logf(p);
    return l < -100.0f ? -100.0f : l;
}

/* The element-wise losses (mse, half_sse, bce): partials[block] = sum of this block's terms. */
static __global__ void loss_elem_kernel(float *dY, const float *Y, const float *T, LossKind kind,
                                        size_t n, int B) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float y = Y[i], t = T[i];
        float d = y - t;
        if (kind == LOSS_MSE) {
            acc += (double)d * (double)d;
            if (dY) dY[i] = (2.0f / (float)n) * d;
        } else if (kind == LOSS_HALF_SSE) {
            acc += 0.5 * (double)d * (double)d;
            if (dY) dY[i] = (1.0f / (float)B) * d;
        } else { /* LOSS_BCE */
            acc += -((double)t * clamp_log(y) + (1.0 - t) * clamp_log(1.0f - y));
            if (dY) {
                float den = y * (1.0f - y);
                if (den < 1e-12f) den = 1e-12f;
                dY[i] = d / den / (float)n;
            }
        }
    }
    acc = gpu_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

/* The label losses (nll, cross_entropy): one thread per row (O is the class count, small). */
static __global__ void loss_rows_kernel(float *dY, const float *Y, const int32_t *labels,
                                        LossKind kind, int B, int O) {
    double acc = 0.0;
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < B;
         r += (long long)gridDim.x * blockDim.x) {
        const float *y = Y + (size_t)r * O;
        float *d = dY ? dY + (size_t)r * O : NULL;
        int lab = labels[r];
        bool ok = lab >= 0 && lab < O;
        if (kind == LOSS_NLL) {
            acc += ok ? -(double)y[lab] : (double)NAN;
            if (d) {
                for (int j = 0; j < O; j++) d[j] = 0.0f;
                if (ok) d[lab] = -1.0f / (float)B;
            }
        } else { /* LOSS_CROSS_ENTROPY */
            float mx = y[0];
            for (int j = 1; j < O; j++) mx = y[j] > mx ? y[j] : mx;
            double se = 0.0;
            for (int j = 0; j < O; j++) se += exp((double)(y[j] - mx));
            double lse = mx + log(se);
            acc += ok ? lse - y[lab] : (double)NAN;
            if (d) {
                for (int j = 0; j < O; j++) d[j] = (float)(exp((double)y[j] - lse) / B);
                if (ok) d[lab] -= 1.0f / (float)B;
            }
        }
    }
    acc = gpu_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

/* *out = (float)(sum of the np partials / div), one block. */
static __global__ void loss_finish_kernel(float *out, int np, double div) {
    double total = gpu_sum_partials(partials, np);
    if (threadIdx.x == 0) *out = (float)(total / div);
}

static void loss_launch(float *out, float *dY, const float *Y, const float *T,
                        const int32_t *labels, LossKind kind, int B, int O) {
    size_t n = (size_t)B * O;
    unsigned np;
    double div;
    bool labelled = kind == LOSS_NLL || kind == LOSS_CROSS_ENTROPY;
    if (labelled ? B <= 0 : n == 0) { /* an empty batch: no launch; the CPU's 0 / div */
        gpu_write_scalar(out, (float)(0.0 / (kind == LOSS_HALF_SSE || labelled ? (double)B
                                                                              : (double)n)));
        return;
    }
    if (labelled) {
        np = gpu_red_grid((size_t)B);
        div = (double)B;
        loss_rows_kernel<<<np, GPU_THREADS>>>(dY, Y, labels, kind, B, O);
        KERNEL_CHECK("loss_rows_kernel");
    } else {
        np = gpu_red_grid(n);
        div = kind == LOSS_HALF_SSE ? (double)B : (double)n;
        loss_elem_kernel<<<np, GPU_THREADS>>>(dY, Y, T, kind, n, B);
        KERNEL_CHECK("loss_elem_kernel");
    }
    loss_finish_kernel<<<1, GPU_THREADS>>>(out, (int)np, div);
    KERNEL_CHECK("loss_finish_kernel");
}

void gpu_loss(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
              LossKind kind, Act act, int B, int O, float *db) {
    if (kind < 0 || kind >= LOSS_COUNT) {
        fprintf(stderr, "%s:%d: internal error: unknown loss %d\n", __FILE__, __LINE__, (int)kind);
        abort();
    }
    loss_launch(out, dY, Y, T, labels, kind, B, O);
    /* the activation's derivative: a second kernel on the same stream (the CPU fuses the two) */
    if (dY && act != ACT_IDENTITY) gpu_act_backward(dY, dY, Y, act, B, O, NULL);
    if (dY && db) gpu_colsum_acc(db, dY, B, O);
}
