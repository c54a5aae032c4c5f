/* tests/test_optim.c — the optimizer ops of the CPU backend (sgd_step, adam_step, weight_decay)
 * and the L-BFGS vector ops (dot, axpy, scal, fill, copy), with PyTorch's semantics as stated
 * in engine/backend.h.
 *
 * Two kinds of checks:
 *  - hand-worked values: the expected numbers are written out from the formulas in double, step
 *    by step, next to the call (and the first element of each also as a decimal literal worked
 *    on paper), never by calling code under test;
 *  - plain loops written here from the same formulas vs backend_cpu() on n = 100003 elements
 *    (above the backend's parallel threshold, so the OpenMP path runs), tolerance
 *    abs + rel * |ref|.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common.h"
#include "testutil.h"
#include "xalloc.h"

enum { N = 4 };
static const double P0[N] = {0.5, -1.25, 2.0, 0.0};
static const double G[3][N] = {
    {0.1, -0.2, 0.3, -0.05},
    {-0.4, 0.25, 0.1, 0.0},
    {0.2, 0.2, -0.6, 1.5},
};

/* Backend vectors of N floats holding the given doubles (rounded to float). */
static float *vec_new(const Backend *be, const double *v, size_t n) {
    float *h = ae_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = (float)v[i];
    float *d = be->alloc(n * sizeof(float));
    AE_ASSERT(d);
    be->upload(d, h, n * sizeof(float));
    free(h);
    return d;
}

static void vec_get(const Backend *be, float *host, const float *d, size_t n) {
    be->download(host, d, n * sizeof(float));
}

/* float32 rounding of inputs and state makes ~1e-7 relative differences; the updates checked
 * here are >= 1e-4 of |p|, so 2e-7 abs + 1e-6 rel still catches a wrong formula. */
#define CHECK_VEC(got, want, n)                                                               \
    do {                                                                                      \
        for (int ci = 0; ci < (n); ci++) CHECK_NEAR((got)[ci], (want)[ci], 2e-7, 1e-6);       \
    } while (0)

static void test_sgd(const Backend *be) {
    const double lr = 0.1, mu = 0.9;
    float got[N];

    /* plain SGD, one step: p = p0 - lr g */
    {
        float *p = vec_new(be, P0, N), *g = vec_new(be, G[0], N);
        be->sgd_step(p, g, NULL, N, (float)lr, 0.0f, false);
        vec_get(be, got, p, N);
        const double want[N] = {0.49, -1.23, 1.97, 0.005};
        CHECK_VEC(got, want, N);
        be->free(p), be->free(g);
    }

    /* momentum 0.9, three steps: v1 = g1 (v starts at 0), v = mu v + g, p -= lr v.
     * Element 0: v1 = 0.1, p1 = 0.49; v2 = 0.09 - 0.4 = -0.31, p2 = 0.521;
     * v3 = -0.279 + 0.2 = -0.079, p3 = 0.5289. */
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        double zero[N] = {0};
        float *p = vec_new(be, P0, N), *v = vec_new(be, zero, N);
        double pw[N], vw[N];
        for (int i = 0; i < N; i++) pw[i] = P0[i], vw[i] = 0.0;
        for (int s = 0; s < 3; s++) {
            float *g = vec_new(be, G[s], N);
            be->sgd_step(p, g, v, N, (float)lr, (float)mu, nesterov);
            be->free(g);
            for (int i = 0; i < N; i++) {
                vw[i] = mu * vw[i] + G[s][i];
                double step = nesterov ? G[s][i] + mu * vw[i] : vw[i];
                pw[i] -= lr * step;
            }
            vec_get(be, got, p, N);
            CHECK_VEC(got, pw, N);
            vec_get(be, got, v, N);
            CHECK_VEC(got, vw, N);
        }
        vec_get(be, got, p, N);
        /* nesterov, element 0: p1 = 0.5 - 0.1 (0.1 + 0.09) = 0.481;
         * p2 = 0.481 - 0.1 (-0.4 - 0.279) = 0.5489; p3 = 0.5489 - 0.1 (0.2 - 0.0711) = 0.53601 */
        CHECK_NEAR(got[0], nesterov ? 0.53601 : 0.5289, 2e-7, 1e-6);
        be->free(p), be->free(v);
    }
}

/* Adam, three steps, PyTorch's update:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * The op takes float hyper-parameters, so the expectation uses them rounded to float
 * (0.999f = 0.99900001: 1 - b2 differs from 1e-3 by 1.3e-5 relative). abs_tol: for p near
 * 1, float's spacing; from p = 0, far below the updates (~1e-3). */
static void adam_check(const Backend *be, const double *p0, const double (*g)[N], double lr,
                       double b1, double b2, double eps, double abs_tol) {
    lr = (float)lr, b1 = (float)b1, b2 = (float)b2, eps = (float)eps;
    double zero[N] = {0};
    float *p = vec_new(be, p0, N), *m = vec_new(be, zero, N), *v = vec_new(be, zero, N);
    double pw[N], mw[N] = {0}, vw[N] = {0};
    float got[N];
    for (int i = 0; i < N; i++) pw[i] = p0[i];
    for (int t = 1; t <= 3; t++) {
        float *gd = vec_new(be, g[t - 1], N);
        be->adam_step(p, gd, m, v, N, (float)lr, (float)b1, (float)b2, (float)eps, t);
        be->free(gd);
        for (int i = 0; i < N; i++) {
            double gi = (float)g[t - 1][i];
            mw[i] = b1 * mw[i] + (1.0 - b1) * gi;
            vw[i] = b2 * vw[i] + (1.0 - b2) * gi * gi;
            double mhat = mw[i] / (1.0 - pow(b1, t)), vhat = vw[i] / (1.0 - pow(b2, t));
            pw[i] -= lr * mhat / (sqrt(vhat) + eps);
        }
        vec_get(be, got, p, N);
        for (int i = 0; i < N; i++) CHECK_NEAR(got[i], pw[i], abs_tol, 1e-6);
        vec_get(be, got, m, N);
        for (int i = 0; i < N; i++) CHECK_NEAR(got[i], mw[i], 1e-18, 1e-6);
        vec_get(be, got, v, N);
        for (int i = 0; i < N; i++) CHECK_NEAR(got[i], vw[i], 1e-30, 1e-6);
    }
    be->free(p), be->free(m), be->free(v);
}

static void test_adam(const Backend *be) {
    float got[N];
    /* PyTorch defaults. Step 1 moves each p by lr * g / (|g| + eps) ~ lr * sign(g): element 0
     * goes to 0.5 - 1e-3 * 0.1 / (0.1 + 1e-8) = 0.4990000001. */
    {
        double zero[N] = {0};
        float *p = vec_new(be, P0, N), *m = vec_new(be, zero, N), *v = vec_new(be, zero, N);
        float *g = vec_new(be, G[0], N);
        be->adam_step(p, g, m, v, N, 1e-3f, 0.9f, 0.999f, 1e-8f, 1);
        vec_get(be, got, p, N);
        CHECK_NEAR(got[0], 0.4990000001, 1e-7, 0);
        CHECK_NEAR(got[3], 0.0 + 1e-3 * 0.05 / (0.05 + 1e-8), 1e-10, 1e-6);
        be->free(p), be->free(m), be->free(v), be->free(g);
    }
    adam_check(be, P0, G, 1e-3, 0.9, 0.999, 1e-8, 2e-7);
    /* from p = 0 the updates are read at float's full relative precision */
    const double zero[N] = {0};
    adam_check(be, zero, G, 1e-3, 0.9, 0.999, 1e-8, 1e-12);
    /* non-default hyper-parameters, so each one is used where it belongs */
    adam_check(be, zero, G, 0.01, 0.8, 0.99, 1e-6, 1e-12);
    /* eps placement: with |g| = 1e-8 = eps, sqrt(vhat) = |g| and step 1 moves by lr / 2 (eps is
     * added after the bias correction, outside the square root) */
    const double tiny[3][N] = {{1e-8, -1e-8, 1e-8, 1e-8}, {1e-8, -1e-8, 1e-8, 1e-8},
                               {1e-8, -1e-8, 1e-8, 1e-8}};
    adam_check(be, zero, tiny, 1e-3, 0.9, 0.999, 1e-8, 1e-12);
    {
        float *p = vec_new(be, zero, N), *m = vec_new(be, zero, N), *v = vec_new(be, zero, N);
        float *g = vec_new(be, tiny[0], N);
        be->adam_step(p, g, m, v, N, 1e-3f, 0.9f, 0.999f, 1e-8f, 1);
        vec_get(be, got, p, N);
        CHECK_NEAR(got[0], -0.5e-3, 0, 1e-5);
        CHECK_NEAR(got[1], 0.5e-3, 0, 1e-5);
        be->free(p), be->free(m), be->free(v), be->free(g);
    }
}

static void test_weight_decay(const Backend *be) {
    /* out = 0.5 * 0.01 * (0.25 + 1.5625 + 4 + 0) = 0.0290625; dW = 1 + 0.01 W (accumulates) */
    const double ones[N] = {1, 1, 1, 1}, zero[1] = {0};
    float *W = vec_new(be, P0, N), *dW = vec_new(be, ones, N), *out = vec_new(be, zero, 1);
    be->weight_decay(out, dW, W, 0.01f, N);
    float got[N], o;
    vec_get(be, &o, out, 1);
    CHECK_NEAR(o, 0.0290625, 1e-9, 1e-6);
    vec_get(be, got, dW, N);
    const double want[N] = {1.005, 0.9875, 1.02, 1.0};
    CHECK_VEC(got, want, N);
    be->free(W), be->free(dW), be->free(out);
}

/* ---- plain loops from backend.h's formulas, vs the backend on a long vector ---- */

static void ref_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float mu,
                         bool nesterov) {
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (mu != 0.0f) {
            v[i] = mu * v[i] + g[i];
            d = nesterov ? g[i] + mu * v[i] : v[i];
        }
        p[i] -= lr * d;
    }
}

static void ref_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr,
                          float b1, float b2, float eps, int t) {
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] = (float)(p[i] - lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps));
    }
}

static uint64_t lcg_state = 42;
static float rnd(void) { /* uniform in [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg_state >> 11) / 4503599627370496.0 - 1.0);
}

/* max over i of |got - ref| / (abs + rel |ref|): <= 1 passes */
static double worst(const float *got, const float *ref, size_t n, double abs_tol, double rel) {
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]) / (abs_tol + rel * fabs((double)ref[i]));
        if (!(e <= w)) w = e; /* NaN sticks */
    }
    return w;
}

static void test_vs_plain(const Backend *be) {
    const size_t n = 100003;
    const size_t nb = n * sizeof(float);
    float *hp = ae_xmalloc(nb), *hg = ae_xmalloc(nb), *hv = ae_xmalloc(nb), *hm = ae_xmalloc(nb);
    float *rp = ae_xmalloc(nb), *rv = ae_xmalloc(nb), *rm = ae_xmalloc(nb), *got = ae_xmalloc(nb);
    float *p = be->alloc(nb), *g = be->alloc(nb), *v = be->alloc(nb), *m = be->alloc(nb);
    AE_ASSERT(p && g && v && m);
    for (size_t i = 0; i < n; i++) hp[i] = rnd(), hg[i] = 0.1f * rnd();

    /* SGD: plain, momentum, nesterov; three steps each with changing gradients */
    for (int mode = 0; mode < 3; mode++) {
        float mu = mode ? 0.9f : 0.0f;
        bool nest = mode == 2;
        memcpy(rp, hp, nb);
        memset(rv, 0, nb);
        be->upload(p, hp, nb);
        be->fill(v, 0.0f, n);
        for (int s = 0; s < 3; s++) {
            for (size_t i = 0; i < n; i++) hg[i] = 0.1f * rnd();
            be->upload(g, hg, nb);
            be->sgd_step(p, g, v, n, 0.05f, mu, nest);
            ref_sgd_step(rp, hg, rv, n, 0.05f, mu, nest);
        }
        be->download(got, p, nb);
        CHECK(worst(got, rp, n, 1e-7, 1e-6) <= 1.0);
        if (mu != 0.0f) {
            be->download(got, v, nb);
            CHECK(worst(got, rv, n, 1e-7, 1e-6) <= 1.0);
        }
    }

    /* Adam: five steps */
    memcpy(rp, hp, nb);
    memset(rm, 0, nb);
    memset(rv, 0, nb);
    be->upload(p, hp, nb);
    be->fill(m, 0.0f, n);
    be->fill(v, 0.0f, n);
    for (int t = 1; t <= 5; t++) {
        for (size_t i = 0; i < n; i++) hg[i] = 0.1f * rnd();
        be->upload(g, hg, nb);
        be->adam_step(p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t);
        ref_adam_step(rp, hg, rm, rv, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t);
    }
    be->download(got, p, nb);
    CHECK(worst(got, rp, n, 1e-7, 1e-6) <= 1.0);
    be->download(got, m, nb);
    CHECK(worst(got, rm, n, 1e-9, 1e-6) <= 1.0);
    be->download(got, v, nb);
    CHECK(worst(got, rv, n, 1e-12, 1e-6) <= 1.0);

    /* weight decay */
    float *out = be->alloc(sizeof(float));
    AE_ASSERT(out);
    for (size_t i = 0; i < n; i++) hv[i] = rnd(), rv[i] = hv[i];
    be->upload(p, hp, nb);
    be->upload(v, hv, nb);
    be->weight_decay(out, v, p, 3e-3f, n);
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)hp[i] * hp[i], rv[i] += 3e-3f * hp[i];
    float o;
    be->download(&o, out, sizeof o);
    CHECK_NEAR(o, 0.5 * (double)3e-3f * ss, 0, 1e-6);
    be->download(got, v, nb);
    CHECK(worst(got, rv, n, 1e-7, 1e-6) <= 1.0);
    be->free(out);

    /* dot (double accumulation: agrees with a plain double sum to ~1e-15 relative) */
    be->upload(g, hg, nb);
    double dref = 0.0;
    for (size_t i = 0; i < n; i++) dref += (double)hp[i] * hg[i];
    CHECK_NEAR(be->dot(p, g, n), dref, 1e-12, 1e-12);

    /* axpy, scal, fill, copy */
    be->axpy(p, -0.75f, g, n);
    for (size_t i = 0; i < n; i++) rp[i] = hp[i] + -0.75f * hg[i];
    be->download(got, p, nb);
    CHECK(worst(got, rp, n, 1e-7, 1e-6) <= 1.0);
    be->scal(p, 3.5f, n);
    for (size_t i = 0; i < n; i++) rp[i] *= 3.5f;
    be->download(got, p, nb);
    CHECK(worst(got, rp, n, 1e-7, 1e-6) <= 1.0);
    be->copy(m, p, nb);
    be->download(got, m, nb);
    CHECK(memcmp(got, rp, nb) == 0 || worst(got, rp, n, 1e-7, 1e-6) <= 1.0);
    be->fill(m, -2.5f, n);
    be->download(got, m, nb);
    bool all = true;
    for (size_t i = 0; i < n; i++) all = all && got[i] == -2.5f;
    CHECK(all);

    be->free(p), be->free(g), be->free(v), be->free(m);
    free(hp), free(hg), free(hv), free(hm), free(rp), free(rv), free(rm), free(got);
}

int main(void) {
    const Backend *be = backend_cpu();
    test_sgd(be);
    test_adam(be);
    test_weight_decay(be);
    test_vs_plain(be);
    return tu_summary("test_optim");
}
