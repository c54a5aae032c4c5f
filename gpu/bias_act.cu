/* gpu/bias_act.cu — Y (B,O) = act(Y + b), in place: the bias broadcast over rows, then the
 * activation.
 *
 * Element-wise activations: one thread per element (grid-stride), through CUDA's tanhf and
 * expf. The CPU twin uses engine/vecmath.h's ae_tanhf and ae_sigmoidf instead, so the two agree
 * to a few ulp, not to the bit (tests/test_gpu.c's element-wise tolerance). Log-softmax: one
 * block per row, stable: z = y + b, m = max_j z_j, lse = m + log(sum_j exp(z_j - m)) with the
 * sum in double, y_j = z_j - lse (float): the CPU twin's expressions, with the double sum in
 * another order and the device's double exp and log, so equal to float rounding.
 * tag-backend-ops: twin of cpu_bias_act_forward in engine/cpu_backend.c.
 */
#include <math.h>

#include "common.cuh"
#include "ops.h"

/* y = act(y + b) for tanh, sigmoid, relu, identity */
static __global__ void bias_act_kernel(float *Y, const float *b, Act act, size_t n, int O) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float z = Y[i] + b[i % (size_t)O];
        switch (act) {
        case ACT_TANH: z = tanhf(z); break;
        case ACT_SIGMOID: z = 1.0f / (1.0f + expf(-z)); break;
        case ACT_RELU: z = z > 0.0f ? z : 0.0f; break;
        default: break; /* identity */
        }
        Y[i] = z;
    }
}

/* One block per row r: y = (y + b) - lse(y + b). Each thread reads and writes only its own
 * columns, and every read comes before the reductions' barriers, so in place is safe. */
static __global__ void bias_logsoftmax_kernel(float *Y, const float *b, int O) {
    float *y = Y + (size_t)blockIdx.x * O;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < O; j += GPU_THREADS) {
        float z = y[j] + b[j];
        mx = z > mx ? z : mx;
    }
    mx = gpu_block_max(mx);
    double s = 0.0;
    for (int j = threadIdx.x; j < O; j += GPU_THREADS) s += exp((double)((y[j] + b[j]) - mx));
    s = gpu_block_sum(s);
    float lse = mx + (float)log(s);
    for (int j = threadIdx.x; j < O; j += GPU_THREADS) y[j] = (y[j] + b[j]) - lse;
}

static void bias_act_launch(float *Y, const float *b, Act act, int B, int O) {
    if (act == ACT_LOGSOFTMAX) {
        bias_logsoftmax_kernel<<<(unsigned)B, GPU_THREADS>>>(Y, b, O);
        KERNEL_CHECK("bias_logsoftmax_kernel");
    } else {
        size_t n = (size_t)B * O;
        bias_act_kernel<<<gpu_grid(n), GPU_THREADS>>>(Y, b, act, n, O);
        KERNEL_CHECK("bias_act_kernel");
    }
}

void gpu_bias_act_forward(float *Y, const float *b, Act act, int B, int O) {
    if (act < 0 || act >= ACT_COUNT) {
        fprintf(stderr, "%s:%d: internal error: unknown activation %d\n", __FILE__, __LINE__,
                (int)act);
        abort();
    }
    if (B > 0 && O > 0) bias_act_launch(Y, b, act, B, O);
}
