/* gpu/confusion.cu — conf (C,C) int32 [true][predicted] += counts of (labels[r], argmax Y[r]).
 * One thread per row; ties go to the lowest index (strict >), as on the CPU. Integer atomics
 * make the counts exact whatever the order. A label outside [0, C) is skipped rather than
 * written outside conf (the data loader rejects such labels long before).
 * tag-backend-ops: twin of cpu_confusion_acc in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

static __global__ void confusion_kernel(int32_t *conf, const float *Y, const int32_t *labels,
                                        int B, int C) {
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < B;
         r += (long long)gridDim.x * blockDim.x) {
        const float *y = Y + (size_t)r * C;
        int best = 0;
        for (int j = 1; j < C; j++)
            if (y[j] > y[best]) best = j;
        int lab = labels[r];
        if (lab >= 0 && lab < C) atomicAdd(&conf[(size_t)lab * C + best], 1);
    }
}

static void confusion_launch(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    confusion_kernel<<<gpu_grid((size_t)B), GPU_THREADS>>>(conf, Y, labels, B, C);
    KERNEL_CHECK("confusion_kernel");
}

void gpu_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    if (B > 0 && C > 0) confusion_launch(conf, Y, labels, B, C);
}
