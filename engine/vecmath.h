/* engine/vecmath.h — exp, tanh and sigmoid in float that GCC vectorises: straight-line code,
 * no calls, no branches (both sides of each choice are computed and one is selected), so a
 * loop over them under `#pragma omp simd` becomes SIMD code. glibc's scalar tanhf costs
 * ~19 ns per element here; these run at ~1 ns on one core (bench/README.md).
 *
 * Accuracy (tests/test_vecmath.c sweeps 1.3 million floats of each sign, every binade, against
 * double libm): ae_expf within 2 ulp on [-87, 88] (measured 0.92), ae_tanhf within 3 ulp
 * (1.21; a polynomial near 0 keeps small inputs' relative precision), ae_sigmoidf within
 * 4 ulp where the result is normal (1.98) and 1e-7 absolute everywhere. The constants are Cephes' single-precision ones (Moshier, public domain).
 *
 * A NaN in gives a NaN out (the trainer's divergence check looks at the loss, so a NaN must
 * travel through the activations); +-inf give the limits.
 */
#ifndef AE_VECMATH_H
#define AE_VECMATH_H

#include <stdint.h>
#include <string.h>

/* e^x for x in [-87, 88] (clamped outside, so the result is always a normal float). */
static inline float ae_expf(float x) {
    x = x < -87.0f ? -87.0f : x; /* written so that a NaN passes both */
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by the 1.5*2^23 trick (rintf does not vectorise on plain SSE2) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* r = x - n ln 2 in two parts (Cody-Waite), |r| <= ln2/2 */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    /* times 2^n, built from the exponent bits; n is in [-126, 127] */
    int32_t bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23; /* NaN: p carries it */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh x: an odd polynomial for |x| < 0.625, 1 - 2/(e^{2|x|} + 1) with the sign above. */
static inline float ae_tanhf(float x) {
    float a = x < 0.0f ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (ae_expf(2.0f * (a > 10.0f ? 10.0f : a)) + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big;
}

/* 1 / (1 + e^-x) */
static inline float ae_sigmoidf(float x) { return 1.0f / (1.0f + ae_expf(-x)); }

#endif
