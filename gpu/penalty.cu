/* gpu/penalty.cu — the penalties: L1 and KL sparsity on activations H, L2 weight decay on W.
 * Gradients accumulate (dH += ..., dW += ...; NULL to skip); the value goes to *out on the device.
 *
 *   l1:           *out = w sum|H| / denom;           dH += (w/denom) sign(H), sign(0) = 0
 *   kl:           rhohat_j = clamp(mean_r H[r,j], 1e-6, 1-1e-6);
 *                 *out = beta sum_j rho log(rho/rhohat_j) + (1-rho) log((1-rho)/(1-rhohat_j));
 *                 dH[r,j] += (beta/B) (-rho/rhohat_j + (1-rho)/(1-rhohat_j))      (UFLDL)
 *   weight_decay: *out = 0.5 lambda sum W^2;          dW += lambda W
 * Sums are deterministic and in double (see common.cuh): the l1 and decay sums in two passes over
 * a fixed grid; the KL column means by gpu_column_sum (common.cuh) and the KL sum by one thread
 * in column order, as the CPU twin adds it (O is a layer width, small).
 * tag-backend-ops: twins of cpu_l1_penalty, cpu_kl_penalty, cpu_weight_decay in
 * engine/cpu_backend.c.
 */
#include <math.h>

#include "common.cuh"
#include "ops.h"

static __device__ double partials[GPU_RED_BLOCKS];

/* *out = (float)(sum of the np partials * mul / div), one block. */
static __global__ void penalty_finish_kernel(float *out, int np, double mul, double div) {
    double total = gpu_sum_partials(partials, np);
    if (threadIdx.x == 0) *out = (float)(mul * total / div);
}

static void finish_launch(float *out, unsigned np, double mul, double div) {
    penalty_finish_kernel<<<1, GPU_THREADS>>>(out, (int)np, mul, div);
    KERNEL_CHECK("penalty_finish_kernel");
}

/* ---- L1 ---- */

/* partials[block] = sum |H| over this block's elements; dH += g sign(H) */
static __global__ void l1_kernel(float *dH, const float *H, float g, size_t n) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float h = H[i];
        acc += fabs((double)h);
        if (dH) dH[i] += h > 0.0f ? g : (h < 0.0f ? -g : 0.0f);
    }
    acc = gpu_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

static void l1_launch(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    unsigned np = gpu_red_grid(n);
    l1_kernel<<<np, GPU_THREADS>>>(dH, H, w / denom, n);
    KERNEL_CHECK("l1_kernel");
    finish_launch(out, np, (double)w, (double)denom);
}

void gpu_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    if (n) l1_launch(out, dH, H, w, denom, n);
    else gpu_write_scalar(out, (float)((double)w * 0.0 / (double)denom)); /* no launch */
}

/* ---- KL sparsity ---- */

/* rhohat_j = clamp((float)(column sum, double) / B) */
static __global__ void kl_means_kernel(float *rhohat, const float *H, int B, int O) {
    double acc = gpu_column_sum(H, B, O);
    int j = blockIdx.x * GPU_COL_TILE + threadIdx.x;
    if (threadIdx.y != 0 || j >= O) return;
    float p = (float)acc / (float)B;
    if (p < 1e-6f) p = 1e-6f;
    if (p > 1.0f - 1e-6f) p = 1.0f - 1e-6f;
    rhohat[j] = p;
}

/* *out = beta * sum_j KL(rho || rhohat_j), one thread adding in column order. */
static __global__ void kl_value_kernel(float *out, const float *rhohat, float rho, float beta,
                                       int O) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double kl = 0.0;
    for (int j = 0; j < O; j++) {
        float p = rhohat[j];
        kl += rho * log((double)rho / p) + (1.0 - rho) * log((1.0 - rho) / (1.0 - p));
    }
    *out = (float)(beta * kl);
}

/* dH[r,j] += (beta/B) (-rho/rhohat_j + (1-rho)/(1-rhohat_j)) */
static __global__ void kl_grad_kernel(float *dH, const float *rhohat, float rho, float beta, int B,
                                      int O) {
    size_t n = (size_t)B * O;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float p = rhohat[i % (size_t)O];
        dH[i] += beta / (float)B * (-rho / p + (1.0f - rho) / (1.0f - p));
    }
}

static void kl_launch(float *out, float *dH, float *rhohat, const float *H, float rho, float beta,
                      int B, int O) {
    kl_means_kernel<<<gpu_col_grid(O), dim3(GPU_COL_TILE, GPU_COL_LANES)>>>(rhohat, H, B, O);
    KERNEL_CHECK("kl_means_kernel");
    kl_value_kernel<<<1, 1>>>(out, rhohat, rho, beta, O);
    KERNEL_CHECK("kl_value_kernel");
    if (dH && B > 0) {
        kl_grad_kernel<<<gpu_grid((size_t)B * O), GPU_THREADS>>>(dH, rhohat, rho, beta, B, O);
        KERNEL_CHECK("kl_grad_kernel");
    }
}

void gpu_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho, float beta,
                    int B, int O) {
    if (O > 0) {
        kl_launch(out, dH, rhohat, H, rho, beta, B, O);
    } else {
        CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof *out, 0)); /* an empty sum */
    }
}

/* ---- weight decay ---- */

/* partials[block] = sum W^2 over this block's elements; dW += lambda W */
static __global__ void decay_kernel(float *dW, const float *W, float lambda, size_t n) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float w = W[i];
        acc += (double)w * w;
        if (dW) dW[i] += lambda * w;
    }
    acc = gpu_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

static void decay_launch(float *out, float *dW, const float *W, float lambda, size_t n) {
    unsigned np = gpu_red_grid(n);
    decay_kernel<<<np, GPU_THREADS>>>(dW, W, lambda, n);
    KERNEL_CHECK("decay_kernel");
    finish_launch(out, np, 0.5 * (double)lambda, 1.0);
}

void gpu_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n) {
    if (n) decay_launch(out, dW, W, lambda, n);
    else gpu_write_scalar(out, 0.0f); /* the empty sum, no launch */
}
