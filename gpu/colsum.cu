/* gpu/colsum.cu — db (O) += column sums of dZ (B,O) (the bias gradient; accumulates).
 *
 * Each column is summed in double by GPU_COL_LANES (8) row-lanes in a fixed order
 * (gpu_column_sum, common.cuh), then rounded once to float and added to db: deterministic. The
 * CPU twin also sums in double and rounds once, in another fixed order (up to 16 row ranges,
 * each in row order, then the ranges in order), so the two agree to within one float rounding.
 * tag-backend-ops: twin of cpu_colsum_acc in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __global__ void colsum_kernel(float *db, const float *dZ, int B, int O) {
    double acc = gpu_column_sum(dZ, B, O);
    int j = blockIdx.x * GPU_COL_TILE + threadIdx.x;
    if (threadIdx.y == 0 && j < O) db[j] += (float)acc;
}

static void colsum_launch(float *db, const float *dZ, int B, int O) {
    colsum_kernel<<<gpu_col_grid(O), dim3(GPU_COL_TILE, GPU_COL_LANES)>>>(db, dZ, B, O);
    KERNEL_CHECK("colsum_kernel");
}

void gpu_colsum_acc(float *db, const float *dZ, int B, int O) {
    if (B > 0 && O > 0) colsum_launch(db, dZ, B, O); /* B == 0: nothing to add */
}
