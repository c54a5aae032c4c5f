/* gpu/noise.cu — Xn (n) = corrupt(X) per NoiseSpec (engine/backend.h). Element i uses the random
 * numbers of (key, counter + i) from engine/rng.h, compiled for the device (AE_HOSTDEV), so the
 * CPU and the GPU draw the same uniforms:
 *   gaussian:    x + mean + std * rng_normal(key, counter+i), clamped to [lo, hi] if clamp;
 *   masking:     0 when rng_uniform(key, counter+i) < fraction, else x;
 *   salt_pepper: with u = rng_uniform(key, counter+i): if u < fraction, lo when u < fraction/2
 *                else hi; otherwise x.
 * Masking and salt-and-pepper agree with the CPU to the bit. Gaussian draws the same normals
 * (rng.h's Box-Muller in float through engine/vecmath.h, whose explicit fmaf calls round alike
 * on both), but nvcc contracts x + mean + std*z into one fused multiply-add, which the CPU
 * (built -std=c11: no contraction) rounds twice; so the outputs agree to float rounding.
 * tag-backend-ops: twin of cpu_noise in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"
#include "rng.h"

static __global__ void noise_kernel(float *Xn, const float *X, NoiseSpec s, uint64_t key,
                                    uint64_t counter, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = X[i];
        switch (s.kind) {
        case NOISE_GAUSSIAN:
            v = v + s.mean + s.std * rng_normal(key, counter + i);
            if (s.clamp) v = v < s.lo ? s.lo : (v > s.hi ? s.hi : v);
            break;
        case NOISE_MASKING:
            if (rng_uniform(key, counter + i) < s.fraction) v = 0.0f;
            break;
        case NOISE_SALT_PEPPER: {
            float u = rng_uniform(key, counter + i);
            if (u < s.fraction) v = u < 0.5f * s.fraction ? s.lo : s.hi;
            break;
        }
        default: break; /* none: a copy */
        }
        Xn[i] = v;
    }
}

static void noise_launch(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key,
                         uint64_t counter, size_t n) {
    noise_kernel<<<gpu_grid(n), GPU_THREADS>>>(Xn, X, *spec, key, counter, n);
    KERNEL_CHECK("noise_kernel");
}

void gpu_noise(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key, uint64_t counter,
               size_t n) {
    if (spec->kind < 0 || spec->kind >= NOISE_COUNT) {
        fprintf(stderr, "%s:%d: internal error: unknown noise kind %d\n", __FILE__, __LINE__,
                (int)spec->kind);
        abort();
    }
    if (n) noise_launch(Xn, X, spec, key, counter, n);
}
