/* gpu/gather_rows.cu — assembles a batch from float rows in device memory (the codes of a
 * frozen prefix, computed once per stage): X (B,D) = rows[idx[r]] for each row r; y (B) =
 * labels[idx[r]] when both y and labels are given. One thread per element of X, grid-stride;
 * the first B threads also write y.
 * tag-backend-ops: twin of cpu_gather_rows in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __global__ void gather_rows_kernel(float *X, int32_t *y, const float *rows,
                                          const uint8_t *labels, const int32_t *idx, int B,
                                          int D) {
    size_t n = (size_t)B * D;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / (size_t)D, j = i % (size_t)D;
        X[i] = rows[(size_t)idx[r] * D + j];
    }
    if (y && labels)
        for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < B; r += gridDim.x * blockDim.x)
            y[r] = labels[idx[r]];
}

void gpu_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                     const int32_t *idx, int B, int D) {
    if (B <= 0) return;
    size_t n = (size_t)B * D;
    gather_rows_kernel<<<gpu_grid(n > (size_t)B ? n : (size_t)B), GPU_THREADS>>>(X, y, rows, labels,
                                                                                 idx, B, D);
    KERNEL_CHECK("gather_rows_kernel");
}
