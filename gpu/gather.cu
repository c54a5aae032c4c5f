/* gpu/gather.cu — assembles a batch from the uint8 data set in device memory:
 * X (B,D) = images[idx[r]] * scale for each row r; y (B) = labels[idx[r]] when both y and labels
 * are given. One thread per element of X; the first B threads also write y.
 * tag-backend-ops: twin of cpu_gather in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __global__ void gather_kernel(float *X, int32_t *y, const uint8_t *images,
                                     const uint8_t *labels, const int32_t *idx, int B, int D,
                                     float scale) {
    size_t n = (size_t)B * D;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / (size_t)D, j = i % (size_t)D;
        X[i] = images[(size_t)idx[r] * D + j] * scale;
    }
    if (y && labels)
        for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < B;
             r += (long long)gridDim.x * blockDim.x)
            y[r] = labels[idx[r]];
}

static void gather_launch(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                          const int32_t *idx, int B, int D, float scale) {
    size_t n = (size_t)B * D;
    gather_kernel<<<gpu_grid(n > (size_t)B ? n : (size_t)B), GPU_THREADS>>>(X, y, images, labels,
                                                                             idx, B, D, scale);
    KERNEL_CHECK("gather_kernel");
}

void gpu_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                const int32_t *idx, int B, int D, float scale) {
    if (B > 0) gather_launch(X, y, images, labels, idx, B, D, scale);
}
