/* engine/vecmath.h — exp, tanh, sigmoid, log and sin/cos in float that GCC vectorises:
 * straight-line code, no calls, no branches (both sides of each choice are computed and one is
 * selected), so a loop over them under `#pragma omp simd` becomes SIMD code. glibc's scalar
 * tanhf costs ~19 ns per element here; these run at ~1 ns on one core (bench/README.md).
 *
 * Accuracy (tests/test_vecmath.c sweeps 1.3 million floats of each sign, every binade, against
 * double libm): ae_expf within 2 ulp on [-87, 88] (measured 0.97), ae_tanhf within 3 ulp
 * (1.21; a polynomial near 0 keeps small inputs' relative precision), ae_sigmoidf within
 * 4 ulp where the result is normal (1.98) and 1e-7 absolute everywhere; ae_logf and
 * ae_sincos2pif: see their test. The constants are Cephes' single-precision ones (Moshier,
 * public domain).
 *
 * exp, tanh and sigmoid: a NaN in gives a NaN out (the trainer's divergence check looks at the
 * loss, so a NaN must travel through the activations); +-inf give the limits.
 *
 * Compiled for the host and, through engine/rng.h, for CUDA devices too. Every multiply-add
 * is an explicit fmaf (one rounding): the results are the same bits in the SIMD clones, the
 * scalar code, and on the GPU (an FMA instruction where the CPU has one, glibc's exact
 * emulation elsewhere), and the AVX2/AVX-512 clones run ~20% faster than with separate
 * multiplies and adds.
 */
#ifndef AE_VECMATH_H
#define AE_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef AE_HOSTDEV
#ifdef __CUDACC__
#define AE_HOSTDEV __host__ __device__
#else
#define AE_HOSTDEV
#endif
#endif

/* Always inlined: a call left inside a loop stops its vectorisation. */
#if defined(__GNUC__) && !defined(__CUDACC__)
#define AE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define AE_ALWAYS_INLINE inline
#endif

/* e^x for x in [-87, 88] (clamped outside, so the result is always a normal float). */
static AE_ALWAYS_INLINE AE_HOSTDEV float ae_expf(float x) {
    x = x < -87.0f ? -87.0f : x; /* written so that a NaN passes both */
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by the 1.5*2^23 trick (rintf does not vectorise on plain SSE2) */
    float n = fmaf(x, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
    /* r = x - n ln 2 in two parts (Cody-Waite), |r| <= ln2/2 */
    float r = fmaf(-n, 0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    /* times 2^n, built from the exponent bits; n is in [-126, 127] */
    int32_t bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23; /* NaN: p carries it */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh x: an odd polynomial for |x| < 0.625, 1 - 2/(e^{2|x|} + 1) with the sign above. */
static AE_ALWAYS_INLINE AE_HOSTDEV float ae_tanhf(float x) {
    float a = x < 0.0f ? -x : x;
    float z = x * x;
    float q = fmaf(-5.70498872745e-3f, z, 2.06390887954e-2f);
    q = fmaf(q, z, -5.37397155531e-2f);
    q = fmaf(q, z, 1.33314422036e-1f);
    q = fmaf(q, z, -3.33332819422e-1f);
    float small = fmaf(q * z, x, x);
    float big = 1.0f - 2.0f / (ae_expf(2.0f * (a > 10.0f ? 10.0f : a)) + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big;
}

/* 1 / (1 + e^-x) */
static AE_ALWAYS_INLINE AE_HOSTDEV float ae_sigmoidf(float x) {
    return 1.0f / (1.0f + ae_expf(-x));
}

/* ln x for normal x > 0 (Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a polynomial in
 * m - 1, and ln 2 in two parts). Not for 0, denormals, negatives, inf or NaN. */
static AE_ALWAYS_INLINE AE_HOSTDEV float ae_logf(float x) {
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    float e = (float)(((bits >> 23) & 0xff) - 126);
    int32_t mbits = (bits & 0x007fffff) | 0x3f000000; /* mantissa in [0.5, 1) */
    float m;
    memcpy(&m, &mbits, sizeof m);
    int lo = m < 0.707106781186547524f;
    e = lo ? e - 1.0f : e;
    m = lo ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = fmaf(y, m, -1.1514610310e-1f);
    y = fmaf(y, m, 1.1676998740e-1f);
    y = fmaf(y, m, -1.2420140846e-1f);
    y = fmaf(y, m, 1.4249322787e-1f);
    y = fmaf(y, m, -1.6668057665e-1f);
    y = fmaf(y, m, 2.0000714765e-1f);
    y = fmaf(y, m, -2.4999993993e-1f);
    y = fmaf(y, m, 3.3333331174e-1f);
    y = y * m * z;
    y = fmaf(-2.12194440e-4f, e, y);
    y = fmaf(-0.5f, z, y);
    return fmaf(0.693359375f, e, m + y);
}

/* sin and cos of 2 pi u for u in [0, 1): u*4 split exactly into the nearest quadrant k and a
 * remainder, x = remainder * pi/2 in [-pi/4, pi/4], Cephes' sinf/cosf polynomials on x, and
 * the quadrant's signs and swap. */
static AE_ALWAYS_INLINE AE_HOSTDEV void ae_sincos2pif(float u, float *s, float *c) {
    float t = 4.0f * u;
    float k = (t + 12582912.0f) - 12582912.0f; /* nearest integer, 0..4 */
    float x = (t - k) * 1.57079632679489662f;
    float z = x * x;
    float ps = fmaf(fmaf(-1.9515295891e-4f, z, 8.3321608736e-3f), z, -1.6666654611e-1f);
    float sx = fmaf(ps * z, x, x);
    float pc = fmaf(fmaf(2.443315711809948e-5f, z, -1.388731625493765e-3f), z,
                    4.166664568298827e-2f);
    float cx = fmaf(pc * z, z, fmaf(-0.5f, z, 1.0f));
    int q = (int)k & 3;
    *s = q == 0 ? sx : q == 1 ? cx : q == 2 ? -sx : -cx;
    *c = q == 0 ? cx : q == 1 ? -sx : q == 2 ? -cx : sx;
}

#endif
