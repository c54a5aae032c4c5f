/* gpu/vector.cu — the vector ops L-BFGS needs: dot (synchronises, returns double), axpy, scal.
 *
 * dot is deterministic: products (double)x*y added in double, one partial per block over a grid
 * fixed by n, the partials added by one block into a device double, which is then copied back.
 * tag-backend-ops: twins of cpu_dot, cpu_axpy, cpu_scal in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __device__ double partials[GPU_RED_BLOCKS];
static __device__ double dot_result;

static __global__ void dot_kernel(const float *x, const float *y, size_t n) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        acc += (double)x[i] * y[i];
    acc = gpu_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

static __global__ void dot_finish_kernel(int np) {
    double total = gpu_sum_partials(partials, np);
    if (threadIdx.x == 0) dot_result = total;
}

/* y += a x */
static __global__ void axpy_kernel(float *y, float a, const float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += a * x[i];
}

/* x *= a */
static __global__ void scal_kernel(float *x, float a, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] *= a;
}

static double dot_launch(const float *x, const float *y, size_t n) {
    unsigned np = gpu_red_grid(n);
    dot_kernel<<<np, GPU_THREADS>>>(x, y, n);
    KERNEL_CHECK("dot_kernel");
    dot_finish_kernel<<<1, GPU_THREADS>>>((int)np);
    KERNEL_CHECK("dot_finish_kernel");
    double r = 0.0;
    /* Ordered after the kernels on the default stream; returns when the value is on the host. */
    CUDA_CHECK(cudaMemcpyFromSymbol(&r, dot_result, sizeof r));
    return r;
}

double gpu_dot(const float *x, const float *y, size_t n) {
    if (!n) {
        CUDA_CHECK(cudaDeviceSynchronize()); /* dot synchronises, even over nothing */
        return 0.0;
    }
    return dot_launch(x, y, n);
}

static void axpy_launch(float *y, float a, const float *x, size_t n) {
    axpy_kernel<<<gpu_grid(n), GPU_THREADS>>>(y, a, x, n);
    KERNEL_CHECK("axpy_kernel");
}

void gpu_axpy(float *y, float a, const float *x, size_t n) {
    if (n) axpy_launch(y, a, x, n);
}

static void scal_launch(float *x, float a, size_t n) {
    scal_kernel<<<gpu_grid(n), GPU_THREADS>>>(x, a, n);
    KERNEL_CHECK("scal_kernel");
}

void gpu_scal(float *x, float a, size_t n) {
    if (n) scal_launch(x, a, n);
}
