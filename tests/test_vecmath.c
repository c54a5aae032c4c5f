/* tests/test_vecmath.c — engine/vecmath.h against double-precision libm.
 *
 * Sweeps float bit patterns with a prime stride (about 1.3 million inputs of each sign, every
 * binade covered) and measures the error in ulps of the correctly rounded float result:
 *  - ae_expf on [-87, 88]: at most 2 ulp (measured: 0.97);
 *  - ae_tanhf everywhere: at most 3 ulp (measured: 1.21), and exact 0, +-1 and sign symmetry;
 *  - ae_sigmoidf where the result is a normal float: at most 4 ulp (measured: 1.98), and at most
 *    1e-7 absolute everywhere.
 *  - ae_logf on every normal float > 0: at most 2 ulp, or 1e-7 absolute near x = 1 where
 *    ln x crosses 0;
 *  - ae_sincos2pif on a grid of 2^22 points of [0, 1): within 2e-7 absolute of double sin/cos
 *    of 2 pi u (measured 1.05e-7).
 * Then the special values: NaN in gives NaN out (the divergence check relies on it), +-inf give
 * the limits, and the clamps keep e^x finite and normal. Finally a loop under `omp simd`, as
 * cpu_backend.c runs them, gives the same values as the scalar calls (every multiply-add is an
 * explicit fmaf, so no compiler contraction can tell them apart).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "vecmath.h"

#define STRIDE 3271u /* prime: about 1.3 million floats below +inf */

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The ulp of the float nearest r (the spacing above it), denormals included. */
static double ulp_of(double r) {
    float f = (float)fabs(r);
    return (double)nextafterf(f, INFINITY) - (double)f;
}

typedef struct Worst {
    double ulps, abs, at;
} Worst;

static void note(Worst *w, double got, double want, float x) {
    double e = fabs(got - want);
    if (e > w->abs) w->abs = e;
    double u = e / ulp_of(want);
    if (u > w->ulps) w->ulps = u, w->at = x;
}

int main(void) {
    Worst we = {0}, wt = {0}, ws = {0};
    long n = 0;
    double tiny_abs = 0; /* sigmoid where the result is below FLT_MIN */
    for (uint32_t u = 0; u < 0x7f800000u; u += STRIDE)
        for (int sign = 0; sign < 2; sign++) {
            float x = sign ? -from_bits(u) : from_bits(u);
            n++;
            if (x >= -87.0f && x <= 88.0f) note(&we, ae_expf(x), exp((double)x), x);
            note(&wt, ae_tanhf(x), tanh((double)x), x);
            double s = 1.0 / (1.0 + exp(-(double)x));
            if (s >= FLT_MIN) note(&ws, ae_sigmoidf(x), s, x);
            else if (fabs(ae_sigmoidf(x) - s) > tiny_abs) tiny_abs = fabs(ae_sigmoidf(x) - s);
        }
    printf("%ld inputs\n", n);
    printf("ae_expf     max %.2f ulp (at %.9g)\n", we.ulps, we.at);
    printf("ae_tanhf    max %.2f ulp (at %.9g), max abs %.3g\n", wt.ulps, wt.at, wt.abs);
    printf("ae_sigmoidf max %.2f ulp (at %.9g), max abs %.3g\n", ws.ulps, ws.at, ws.abs);
    CHECK(we.ulps <= 2.0);
    CHECK(wt.ulps <= 3.0);
    CHECK(ws.ulps <= 4.0);
    CHECK(ws.abs <= 1e-7);
    CHECK(tiny_abs <= 1e-37);

    /* ln: every normal positive float with the stride; relative to the ulp of the result,
     * absolute where ln x is near 0 (there the ulp of the result shrinks to nothing) */
    Worst wl = {0};
    double log_abs_near1 = 0;
    for (uint32_t u = 0x00800000u; u < 0x7f800000u; u += STRIDE) {
        float x = from_bits(u);
        double r = log((double)x), g = ae_logf(x);
        if (fabs(r) < 0.01) log_abs_near1 = fmax(log_abs_near1, fabs(g - r));
        else note(&wl, g, r, x);
    }
    printf("ae_logf     max %.2f ulp (at %.9g), near 1 max abs %.3g\n", wl.ulps, wl.at,
           log_abs_near1);
    CHECK(wl.ulps <= 2.0);
    CHECK(log_abs_near1 <= 1e-7);
    CHECK(ae_logf(1.0f) == 0.0f);
    CHECK(ae_logf(1.17549435e-38f) < -87.0f); /* FLT_MIN: ln = -87.3365 */

    /* sin and cos of 2 pi u */
    double sc_abs = 0;
    for (uint32_t k = 0; k < (1u << 22); k++) {
        float u = (float)k / (float)(1u << 22), sn, cs;
        ae_sincos2pif(u, &sn, &cs);
        double a = 6.283185307179586 * (double)u;
        sc_abs = fmax(sc_abs, fmax(fabs(sn - sin(a)), fabs(cs - cos(a))));
    }
    printf("ae_sincos2pif max abs %.3g\n", sc_abs);
    CHECK(sc_abs <= 2e-7);

    /* exact points and symmetry */
    CHECK(ae_tanhf(0.0f) == 0.0f);
    CHECK(ae_tanhf(9.5f) == 1.0f && ae_tanhf(-9.5f) == -1.0f);
    CHECK(ae_tanhf(INFINITY) == 1.0f && ae_tanhf(-INFINITY) == -1.0f);
    for (float x = 0.001f; x < 12.0f; x *= 1.37f) CHECK(ae_tanhf(-x) == -ae_tanhf(x));
    CHECK(ae_sigmoidf(0.0f) == 0.5f);
    CHECK(ae_sigmoidf(INFINITY) == 1.0f);
    CHECK(ae_sigmoidf(-INFINITY) >= 0.0f && ae_sigmoidf(-INFINITY) < 1e-37f);
    CHECK(ae_expf(0.0f) == 1.0f);
    /* clamps: finite and normal at the ends */
    CHECK(isfinite(ae_expf(1000.0f)) && ae_expf(1000.0f) > 1e38f);
    CHECK(ae_expf(-1000.0f) >= FLT_MIN && ae_expf(-1000.0f) < 1e-37f);
    CHECK(isfinite(ae_expf(INFINITY)) && ae_expf(-INFINITY) >= FLT_MIN);
    /* NaN travels */
    CHECK(isnan(ae_expf(NAN)));
    CHECK(isnan(ae_tanhf(NAN)));
    CHECK(isnan(ae_sigmoidf(NAN)));

    /* the vectorised loop agrees with the scalar calls (same expressions, same rounding) */
    enum { N = 4099 };
    static float xs[N], yt[N], ys[N];
    for (int i = 0; i < N; i++) xs[i] = -12.0f + 24.0f * (float)i / (N - 1);
#pragma omp simd
    for (int i = 0; i < N; i++) yt[i] = ae_tanhf(xs[i]);
#pragma omp simd
    for (int i = 0; i < N; i++) ys[i] = ae_sigmoidf(xs[i]);
    int differ = 0;
    for (int i = 0; i < N; i++) {
        volatile float x = xs[i];
        differ += yt[i] != ae_tanhf(x) || ys[i] != ae_sigmoidf(x);
    }
    CHECK(differ == 0);
    return tu_summary("test_vecmath");
}
