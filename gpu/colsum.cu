/* gpu/colsum.cu — db (O) += column sums of dZ (B,O) (the bias gradient; accumulates).
 *
 * One thread per column, adding the rows in order in double, then one float rounding: the same
 * order and precision as the CPU twin, so the two agree to the bit. Adjacent threads read
 * adjacent columns, so every row's read is coalesced.
 * tag-backend-ops: twin of cpu_colsum_acc in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __global__ void colsum_kernel(float *db, const float *dZ, int B, int O) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= O) return;
    double acc = 0.0;
    for (int r = 0; r < B; r++) acc += dZ[(size_t)r * O + j];
    db[j] += (float)acc;
}

static void colsum_launch(float *db, const float *dZ, int B, int O) {
    colsum_kernel<<<(unsigned)((O + GPU_THREADS - 1) / GPU_THREADS), GPU_THREADS>>>(db, dZ, B, O);
    KERNEL_CHECK("colsum_kernel");
}

void gpu_colsum_acc(float *db, const float *dZ, int B, int O) {
    if (O > 0) colsum_launch(db, dZ, B, O);
}
