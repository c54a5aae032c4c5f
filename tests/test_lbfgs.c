/* tests/test_lbfgs.c — engine/lbfgs.c on problems whose minima are known, on two backends: the
 * CPU backend and a plain-loop backend defined here (only the ops L-BFGS uses: alloc, free,
 * upload, download, copy, fill, dot, axpy, scal; every other op is NULL, so a stray call
 * crashes the test).
 *
 * f and g are computed in double from the float32 point; g is rounded to float32. float32
 * spaces points near 1 by 6e-8, so coordinates can reach 1e-6 of the minimum; f there is ~1e-12.
 *
 * Fixtures:
 *  - sphere f = 0.5 |x|^2 from (1, -3), worked by hand with exact binary arithmetic:
 *    iteration 1: |g|_1 = 4, t = 1/4, x1 = (0.75, -2.25), f1 = 2.8125, g1.d = -7.5 satisfies
 *    strong Wolfe (|-7.5| <= 0.9 * 10) at the first trial (2 evaluations so far);
 *    iteration 2: s = y = (-0.25, 0.75), y.s = y.y = 0.625, H_diag = 1, the two-loop gives
 *    d = -x1 exactly, t = 1 lands on 0 (f = 0, g = 0: strong Wolfe, 3 evaluations), and
 *    max|g| = 0 <= tol_grad stops it: 2 iterations, 3 evaluations, x = 0 exactly.
 *  - Rosenbrock f = (1-x)^2 + 100 (y-x^2)^2, minimum (1, 1), from (-1.2, 1) and (-1.5, 2).
 *  - a convex quadratic in 50 dimensions, f = 0.5 (x-c)^T A (x-c), A = M^T M / 50 + 0.5 I with
 *    M_ij = sin(7i + 3j + 1), c_i = 2 cos(i): minimum at c, f = 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "lbfgs.h"
#include "testutil.h"

/* ---- a plain-loop backend (host memory) ---- */

static void *pl_alloc(size_t nbytes) { return calloc(1, nbytes ? nbytes : 1); }
static void pl_free(void *p) { free(p); }
static void pl_memcpy(void *dst, const void *src, size_t nbytes) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < nbytes; i++) d[i] = s[i];
}
static void pl_fill(float *x, float v, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}
static double pl_dot(const float *x, const float *y, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * y[i];
    return s;
}
static void pl_axpy(float *y, float a, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}
static void pl_scal(float *x, float a, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] *= a;
}
static const Backend PLAIN = {
    .name = "plain",
    .alloc = pl_alloc,
    .free = pl_free,
    .upload = pl_memcpy,
    .download = pl_memcpy,
    .copy = pl_memcpy,
    .fill = pl_fill,
    .dot = pl_dot,
    .axpy = pl_axpy,
    .scal = pl_scal,
};

/* The plain backend with an allocation budget, for the out-of-memory path. */
static int alloc_budget;
static void *limited_alloc(size_t nbytes) {
    return alloc_budget-- > 0 ? pl_alloc(nbytes) : NULL;
}

/* ---- problems ---- */

enum { NMAX = 64 };
typedef enum { SPHERE, ROSENBROCK, QUADRATIC, LINEAR, WIGGLY } Kind;

typedef struct Problem {
    const Backend *be;
    Kind kind;
    int n;
    double scale;       /* sphere: f = scale * 0.5 |x|^2 */
    double wa, wb, wc;  /* wiggly: f = a x^2 + b sin(c x) */
    double A[50][50], c[50];
    int calls;          /* evaluations seen */
    int nan_f_at;       /* return NaN as f from this call on (0: never) */
    int nan_g_at;       /* write a NaN into g from this call on (0: never) */
    /* on_iter's record */
    int iters_seen, last_evals, max_ls_evals, stop_at;
    bool evals_ok;
} Problem;

static double f_host(Problem *P, const float *xf, float *gf) {
    double x[NMAX] = {0}, g[NMAX] = {0}, f = 0.0;
    for (int i = 0; i < P->n; i++) x[i] = xf[i];
    switch (P->kind) {
    case SPHERE:
        for (int i = 0; i < P->n; i++) f += 0.5 * P->scale * x[i] * x[i], g[i] = P->scale * x[i];
        break;
    case ROSENBROCK: {
        double a = 1.0 - x[0], b = x[1] - x[0] * x[0];
        f = a * a + 100.0 * b * b;
        g[0] = -2.0 * a - 400.0 * x[0] * b;
        g[1] = 200.0 * b;
        break;
    }
    case LINEAR: /* f = -x: unbounded below, constant slope: no step satisfies strong Wolfe */
        f = -x[0];
        g[0] = -1.0;
        break;
    case WIGGLY:
        f = P->wa * x[0] * x[0] + P->wb * sin(P->wc * x[0]);
        g[0] = 2.0 * P->wa * x[0] + P->wb * P->wc * cos(P->wc * x[0]);
        break;
    case QUADRATIC:
        for (int i = 0; i < P->n; i++) {
            g[i] = 0.0;
            for (int j = 0; j < P->n; j++) g[i] += P->A[i][j] * (x[j] - P->c[j]);
            f += 0.5 * (x[i] - P->c[i]) * g[i];
        }
        break;
    }
    for (int i = 0; i < P->n; i++) gf[i] = (float)g[i];
    return f;
}

static double prob_fn(void *ctx, const float *x, float *g) {
    Problem *P = ctx;
    float xh[NMAX], gh[NMAX];
    P->calls++;
    P->be->download(xh, x, P->n * sizeof(float));
    double f = f_host(P, xh, gh);
    if (P->nan_g_at && P->calls >= P->nan_g_at) gh[P->n - 1] = NAN;
    P->be->upload(g, gh, P->n * sizeof(float));
    return P->nan_f_at && P->calls >= P->nan_f_at ? NAN : f;
}

static bool prob_iter(void *ctx, int iter, double f, int evals) {
    Problem *P = ctx;
    (void)f;
    P->iters_seen++;
    if (iter != P->iters_seen || evals <= P->last_evals || evals != P->calls) P->evals_ok = false;
    if (evals - P->last_evals > P->max_ls_evals) P->max_ls_evals = evals - P->last_evals;
    P->last_evals = evals;
    return !(P->stop_at && iter >= P->stop_at);
}

static void prob_init(Problem *P, const Backend *be, Kind kind) {
    memset(P, 0, sizeof *P);
    P->be = be;
    P->kind = kind;
    P->n = kind == QUADRATIC ? 50 : kind == LINEAR || kind == WIGGLY ? 1 : 2;
    P->scale = 1.0;
    P->evals_ok = true;
    P->last_evals = 1;
    if (kind == QUADRATIC) {
        double M[50][50];
        for (int i = 0; i < 50; i++)
            for (int j = 0; j < 50; j++) M[i][j] = sin(7.0 * i + 3.0 * j + 1.0);
        for (int i = 0; i < 50; i++) {
            P->c[i] = 2.0 * cos((double)i);
            for (int j = 0; j < 50; j++) {
                double s = 0.0;
                for (int k = 0; k < 50; k++) s += M[k][i] * M[k][j];
                P->A[i][j] = s / 50.0 + (i == j ? 0.5 : 0.0);
            }
        }
    }
}

/* Runs lbfgs_minimize from x0 (host); leaves the point in xout (host). */
static bool run(Problem *P, const float *x0, float *xout, const LbfgsOptions *opt, LbfgsResult *res,
                AeError *err) {
    const Backend *be = P->be;
    float *x = be->alloc(P->n * sizeof(float));
    AE_ASSERT(x);
    be->upload(x, x0, P->n * sizeof(float));
    bool ok = lbfgs_minimize(be, x, P->n, prob_fn, prob_iter, P, opt, res, err);
    be->download(xout, x, P->n * sizeof(float));
    be->free(x);
    return ok;
}

/* ---- tests ---- */

static void test_sphere_by_hand(const Backend *be) {
    Problem P;
    prob_init(&P, be, SPHERE);
    LbfgsOptions opt = lbfgs_defaults();
    LbfgsResult res;
    AeError err = {{0}};
    float x0[2] = {1.0f, -3.0f}, x[2];
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(res.iterations == 2);
    CHECK(res.evaluations == 3);
    CHECK(P.calls == 3);
    CHECK(x[0] == 0.0f && x[1] == 0.0f);
    CHECK(res.f == 0.0);
    CHECK_STR(res.stop, "max|g| <= tol_grad");
    CHECK(P.evals_ok && P.iters_seen == 2);

    /* Already optimal: one evaluation, no iteration, x untouched. */
    prob_init(&P, be, SPHERE);
    float z[2] = {0.0f, 0.0f};
    CHECK(run(&P, z, x, &opt, &res, &err));
    CHECK(res.iterations == 0 && res.evaluations == 1 && P.calls == 1 && P.iters_seen == 0);
    CHECK(x[0] == 0.0f && x[1] == 0.0f);
    CHECK_STR(res.stop, "max|g| <= tol_grad at the start");

    /* A gradient too small to descend: g = 1e-5 x, g.d = -|g|^2 = -1e-10 > -tol_change. With
     * tol_grad = 0 the start test passes; iteration 1 stops before its line search. */
    prob_init(&P, be, SPHERE);
    P.scale = 1e-5;
    opt.tol_grad = 0.0;
    float x1[2] = {1.0f, 0.0f};
    CHECK(run(&P, x1, x, &opt, &res, &err));
    CHECK(res.iterations == 1 && res.evaluations == 1);
    CHECK(x[0] == 1.0f && x[1] == 0.0f);
    CHECK_STR(res.stop, "directional derivative >= -tol_change");
}

/* on_iter is not called for an iteration that stops on the directional-derivative test (it
 * takes no step) although PyTorch counts it. */
static int iters_called(const LbfgsResult *res) {
    return res->iterations - (strcmp(res->stop, "directional derivative >= -tol_change") == 0);
}

/* tol_change = 1e-12: with PyTorch's default 1e-9 the directional-derivative test
 * (g.d > -tol_change) ends the run once |g| ~ 3e-5, at |x-1| ~ 1e-5 (checked below); reaching
 * 1e-6 on the coordinates in float32 takes a smaller tolerance. */
static void test_rosenbrock(const Backend *be, float sx, float sy, LbfgsResult *out, float *xout) {
    Problem P;
    prob_init(&P, be, ROSENBROCK);
    LbfgsOptions opt = lbfgs_defaults();
    opt.max_iter = 200;
    opt.max_eval = 1000;
    opt.tol_change = 1e-12;
    LbfgsResult res;
    AeError err = {{0}};
    float x0[2] = {sx, sy}, x[2];
    CHECK(run(&P, x0, x, &opt, &res, &err));
    printf("  %-5s rosenbrock from (%g, %g), tol_change 1e-12: %d iterations, %d evaluations, "
           "f = %.3g, |x-1| = %.3g, |y-1| = %.3g, stop: %s\n",
           be->name, sx, sy, res.iterations, res.evaluations, res.f, fabs(x[0] - 1.0),
           fabs(x[1] - 1.0), res.stop);
    CHECK_NEAR(x[0], 1.0, 1e-6, 0);
    CHECK_NEAR(x[1], 1.0, 1e-6, 0);
    CHECK(res.f <= 1e-12);
    CHECK(res.evaluations == P.calls);
    CHECK(P.evals_ok && P.iters_seen == iters_called(&res));
    CHECK(P.max_ls_evals >= 2 && P.max_ls_evals <= 26);
    CHECK(res.iterations < opt.max_iter); /* converged, not cut off */
    *out = res;
    xout[0] = x[0], xout[1] = x[1];

    /* PyTorch's defaults but max_iter */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 200;
    opt.max_eval = 1000;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    printf("  %-5s rosenbrock from (%g, %g), tol_change 1e-9:  %d iterations, %d evaluations, "
           "f = %.3g, |x-1| = %.3g, |y-1| = %.3g, stop: %s\n",
           be->name, sx, sy, res.iterations, res.evaluations, res.f, fabs(x[0] - 1.0),
           fabs(x[1] - 1.0), res.stop);
    CHECK_NEAR(x[0], 1.0, 1e-4, 0);
    CHECK_NEAR(x[1], 1.0, 1e-4, 0);
    CHECK_STR(res.stop, "directional derivative >= -tol_change");
    CHECK(P.evals_ok && P.iters_seen == res.iterations - 1);
}

static void test_quadratic(const Backend *be, LbfgsResult *out, float *xout) {
    static Problem P; /* 20 kB: off the stack */
    prob_init(&P, be, QUADRATIC);
    LbfgsOptions opt = lbfgs_defaults();
    opt.max_iter = 200;
    LbfgsResult res;
    AeError err = {{0}};
    float x0[50] = {0}, x[50];
    CHECK(run(&P, x0, x, &opt, &res, &err));
    double emax = 0.0;
    for (int i = 0; i < 50; i++) emax = fmax(emax, fabs(x[i] - P.c[i]));
    printf("  %-5s quadratic n=50: %d iterations, %d evaluations, f = %.3g, max|x-c| = %.3g, "
           "stop: %s\n",
           be->name, res.iterations, res.evaluations, res.f, emax, res.stop);
    CHECK(emax <= 1e-5);
    CHECK(res.evaluations == P.calls);
    CHECK(P.evals_ok && P.iters_seen == iters_called(&res));
    *out = res;
    memcpy(xout, x, sizeof x);
}

/* The line search gives up after its first trial and 25 more (PyTorch's max_ls): on f = -x
 * the bracketing phase extrapolates (t up to 10x per trial) and never brackets, so one
 * iteration takes 26 evaluations and keeps the lowest point, far out. */
static void test_line_search_limit(const Backend *be) {
    Problem P;
    prob_init(&P, be, LINEAR);
    LbfgsOptions opt = lbfgs_defaults();
    opt.max_iter = 1;
    LbfgsResult res;
    AeError err = {{0}};
    float x0[1] = {0.0f}, x[1];
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(res.iterations == 1 && res.evaluations == 27 && P.calls == 27); /* 1 + 26 */
    CHECK_STR(res.stop, "max_iter reached");
    CHECK(x[0] > 1e20f && isfinite(x[0]));
    CHECK(res.f == -(double)x[0]);
}

/* f = a x^2 + b sin(c x) from random a, b, c, x0 (a fixed LCG): many local minima, so the
 * search brackets, zooms, hits the "insufficient progress" move and the low/high swap (seen
 * with gcov while writing this test). Each run must end lower than it started, at x with
 * f(x) == res.f exactly, near a stationary point (|f'| <= 1e-3: the directional-derivative
 * test ends these runs at |f'| ~ 1e-4), within 26 evaluations per iteration. */
static void test_wiggly(const Backend *be) {
    uint64_t s = 12345;
    int bad_f = 0, bad_g = 0, bad_count = 0, zooms = 0;
    double gworst = 0.0;
    for (int k = 0; k < 300; k++) {
        double u[4];
        for (int j = 0; j < 4; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            u[j] = (double)(s >> 11) / 9007199254740992.0; /* [0, 1) */
        }
        Problem P;
        prob_init(&P, be, WIGGLY);
        P.wa = 0.01 + 2.0 * u[0], P.wb = 5.0 * u[1], P.wc = 0.1 + 5.0 * u[2];
        float x0[1] = {(float)(40.0 * (u[3] - 0.5))}, x[1], g0[1], g[1];
        double f0 = f_host(&P, x0, g0);
        LbfgsOptions opt = lbfgs_defaults();
        opt.max_iter = 50;
        opt.max_eval = 1000;
        LbfgsResult res;
        AeError err = {{0}};
        CHECK(run(&P, x0, x, &opt, &res, &err));
        double f = f_host(&P, x, g);
        if (!(f <= f0) || f != res.f) bad_f++;
        if (!(fabsf(g[0]) <= 1e-3f)) bad_g++;
        if (res.evaluations != P.calls || !P.evals_ok || P.max_ls_evals > 26) bad_count++;
        if (P.max_ls_evals > 2) zooms++;
        gworst = fmax(gworst, fabs(g[0]));
    }
    printf("  %-5s wiggly 1-D, 300 runs: worst |f'| = %.3g, %d runs had a search of > 2 "
           "evaluations\n",
           be->name, gworst, zooms);
    CHECK(bad_f == 0);
    CHECK(bad_g == 0);
    CHECK(bad_count == 0);
    CHECK(zooms > 30);
}

static void test_stop_rules(const Backend *be) {
    Problem P;
    LbfgsResult res;
    AeError err = {{0}};
    float x0[2] = {-1.2f, 1.0f}, x[2];

    /* max_iter */
    prob_init(&P, be, ROSENBROCK);
    LbfgsOptions opt = lbfgs_defaults();
    opt.max_iter = 5;
    opt.max_eval = 1000;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(res.iterations == 5 && P.iters_seen == 5);
    CHECK_STR(res.stop, "max_iter reached");
    CHECK(res.evaluations == P.calls && res.evaluations >= 6);

    /* max_eval: checked after each iteration, so the last line search may pass it */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 100;
    opt.max_eval = 10;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(res.stop, "max_eval reached");
    CHECK(res.evaluations >= 10 && res.evaluations == P.calls);
    CHECK(res.iterations < 10);

    /* max_eval = 0 means max_iter * 5 / 4 */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 8; /* max_eval 10 */
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(strcmp(res.stop, "max_eval reached") == 0 || strcmp(res.stop, "max_iter reached") == 0);
    CHECK(res.evaluations >= 10 || res.iterations == 8);

    /* tol_change: a coarse tolerance ends the run early on a small step or change of f */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 200;
    opt.tol_change = 1e-2;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(strcmp(res.stop, "change of f < tol_change") == 0 ||
          strcmp(res.stop, "step <= tol_change") == 0);
    CHECK(res.iterations < 60);
    printf("  %-5s tol_change 1e-2: stopped after %d iterations (%s)\n", be->name,
           res.iterations, res.stop);

    /* tol_grad: a coarse tolerance ends the run on max|g| */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 200;
    opt.tol_grad = 1e-1;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(res.stop, "max|g| <= tol_grad");
    float gh[2];
    f_host(&P, x, gh);
    CHECK(fabsf(gh[0]) <= 1e-1f && fabsf(gh[1]) <= 1e-1f);

    /* the caller */
    prob_init(&P, be, ROSENBROCK);
    P.stop_at = 3;
    opt = lbfgs_defaults();
    CHECK(run(&P, x0, x, &opt, &res, &err));
    CHECK(res.iterations == 3 && P.iters_seen == 3);
    CHECK_STR(res.stop, "stopped by caller");

    /* history 1 still converges (fewer pairs, more iterations) */
    prob_init(&P, be, ROSENBROCK);
    opt = lbfgs_defaults();
    opt.max_iter = 500;
    opt.max_eval = 1000;
    opt.history = 1;
    opt.tol_change = 1e-12;
    CHECK(run(&P, x0, x, &opt, &res, &err));
    printf("  %-5s rosenbrock, history 1: %d iterations, %d evaluations, |x-1| = %.3g, "
           "|y-1| = %.3g, stop: %s\n",
           be->name, res.iterations, res.evaluations, fabs(x[0] - 1.0), fabs(x[1] - 1.0),
           res.stop);
    CHECK_NEAR(x[0], 1.0, 1e-4, 0);
    CHECK_NEAR(x[1], 1.0, 1e-4, 0);
}

static void test_errors(const Backend *be) {
    Problem P;
    LbfgsResult res;
    AeError err = {{0}};
    float x0[2] = {-1.2f, 1.0f}, x[2];
    LbfgsOptions opt = lbfgs_defaults();

    /* NaN f in a line search: false, x back at the last iterate, whose f is res.f */
    prob_init(&P, be, ROSENBROCK);
    P.nan_f_at = 6;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK(strstr(err.msg, "lbfgs: non-finite f (f = nan) at evaluation 6") == err.msg);
    CHECK_STR(res.stop, "non-finite f");
    CHECK(res.evaluations == 6);
    CHECK(isfinite(res.f) && isfinite(x[0]) && isfinite(x[1]));
    float gh[2];
    CHECK(f_host(&P, x, gh) == res.f);

    /* NaN f at the start: false, x unchanged */
    prob_init(&P, be, ROSENBROCK);
    P.nan_f_at = 1;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: non-finite f (nan) at the initial point");
    CHECK(res.evaluations == 1 && res.iterations == 0);
    CHECK(x[0] == x0[0] && x[1] == x0[1]);

    /* NaN in the gradient */
    prob_init(&P, be, ROSENBROCK);
    P.nan_g_at = 4;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK(strstr(err.msg, "lbfgs: non-finite gradient (g.d = nan) at evaluation 4") == err.msg);
    CHECK_STR(res.stop, "non-finite gradient");
    CHECK(f_host(&P, x, gh) == res.f);

    prob_init(&P, be, ROSENBROCK);
    P.nan_g_at = 1;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: non-finite gradient at the initial point");

    /* options out of range: no evaluation */
    prob_init(&P, be, ROSENBROCK);
    opt.history = 0;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: history must be >= 1, got 0");
    CHECK(P.calls == 0);
    opt = lbfgs_defaults();
    opt.lr = -1.0f;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: lr must be a finite number > 0, got -1");
    opt = lbfgs_defaults();
    opt.max_iter = 0;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: max_iter must be >= 1, got 0");
    opt = lbfgs_defaults();
    opt.tol_change = -1.0;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: tol_grad and tol_change must be >= 0, got 1e-07 and -1");
    CHECK(P.calls == 0);

    /* backend memory runs out: 7 + 2 * min(history 100, max_iter 20) = 47 vectors wanted; the
     * budget allows x (allocated by run()) and 29 more. Nothing leaks (see make asan). */
    Backend limited = PLAIN;
    limited.alloc = limited_alloc;
    prob_init(&P, &limited, ROSENBROCK);
    opt = lbfgs_defaults();
    alloc_budget = 30;
    CHECK(!run(&P, x0, x, &opt, &res, &err));
    CHECK_STR(err.msg, "lbfgs: out of plain memory for 47 vectors of 2 floats");
    CHECK_STR(res.stop, "out of memory");
    CHECK(P.calls == 0 && x[0] == x0[0] && x[1] == x0[1]);
}

int main(void) {
    const Backend *bes[2] = {&PLAIN, backend_cpu()};
    LbfgsResult r[2][3];
    float xr[2][2][2], xq[2][50];
    for (int b = 0; b < 2; b++) {
        printf("%s backend:\n", bes[b]->name);
        test_sphere_by_hand(bes[b]);
        test_rosenbrock(bes[b], -1.2f, 1.0f, &r[b][0], xr[b][0]);
        test_rosenbrock(bes[b], -1.5f, 2.0f, &r[b][1], xr[b][1]);
        test_quadratic(bes[b], &r[b][2], xq[b]);
        test_line_search_limit(bes[b]);
        test_wiggly(bes[b]);
        test_stop_rules(bes[b]);
        test_errors(bes[b]);
    }
    /* Both backends sum each dot product in double in the same order for n <= 64 (products of
     * floats are exact in double), so the runs must agree to the bit. */
    for (int k = 0; k < 3; k++) {
        CHECK(r[0][k].iterations == r[1][k].iterations);
        CHECK(r[0][k].evaluations == r[1][k].evaluations);
        CHECK(r[0][k].f == r[1][k].f);
    }
    CHECK(memcmp(xr[0], xr[1], sizeof xr[0]) == 0);
    CHECK(memcmp(xq[0], xq[1], sizeof xq[0]) == 0);
    return tu_summary("test_lbfgs");
}
