/* engine/lbfgs.c — L-BFGS with a strong-Wolfe line search, full batch (see engine/lbfgs.h).
 *
 * A port of the algorithm of PyTorch's torch.optim.LBFGS(line_search_fn="strong_wolfe"), which
 * follows minFunc (the optimiser of the UFLDL exercise) and torch/optim's lswolfe.lua:
 *  - direction: the two-loop recursion over the last `history` pairs (s = t d, y = g - g_prev),
 *    a pair kept only when its curvature y.s > 1e-10, initial inverse Hessian H_diag = y.s / y.y;
 *  - step: first iteration t = min(1, 1/|g|_1) * lr, later t = lr, then the strong-Wolfe search
 *    (bracketing, then zoom with cubic interpolation; c1 = 1e-4, c2 = 0.9; the first
 *    trial and at most 25 more evaluations; a bracket narrower than tol_change / max|d| ends it);
 *  - stopping rules and evaluation counts are PyTorch's, checked in PyTorch's order (see
 *    lbfgs_minimize). Iterations count as PyTorch's n_iter: an iteration that stops on the
 *    directional-derivative test (d is no descent direction) counts although it takes no step.
 *
 * Precision: vectors are float32 in backend memory; every dot product is accumulated in double
 * by the backend, and all scalars (f, t, gtd, rho, H_diag) stay double on the host. Coefficients
 * handed to axpy/scal are rounded to float, as PyTorch does with float32 parameters.
 *
 * Departures from PyTorch (each only changes behaviour where PyTorch would go on with NaN):
 *  - a non-finite f or gradient stops the run with an error, x back at the last iterate;
 *  - a cubic interpolation that gives NaN (a degenerate bracket) falls back to bisection.
 *
 * Memory: 7 + 2*min(history, max_iter) backend vectors of n floats (x0, g, g_prev/y, d, three
 * line-search gradients of which one doubles as s, the history), allocated once per call; the
 * history never holds more than max_iter - 1 pairs, so short runs do not pay for a long history.
 * One host buffer of n floats receives g and d for max|g|, |g|_1 and max|d|: backend.h has no
 * max-abs reduction, and two downloads per iteration cost little beside one full-batch
 * evaluation.
 */
#include "lbfgs.h"

#include <limits.h>
#include <math.h>

#define WOLFE_C1 1e-4
#define WOLFE_C2 0.9
#define WOLFE_MAX_LS 25
#define CURVATURE_MIN 1e-10 /* pairs with y.s at or below this are dropped */

/* State of one call. Pointers marked (n) are backend vectors of n floats. */
typedef struct Lbfgs {
    const Backend *be;
    size_t n;
    LbfgsFn fn;
    void *ctx;
    float *x;      /* (n) the caller's point: the iterate, or a trial point during a search */
    float *x0;     /* (n) the iterate at the start of the line search */
    float *g;      /* (n) gradient at the iterate */
    float *gprev;  /* (n) gradient at the previous iterate, then y = g - gprev in place */
    float *d;      /* (n) search direction */
    float *ls[3];  /* (n) line-search gradients; ls[0] holds s = t d between searches */
    float **S, **Y;   /* (cap) history ring of s and y vectors (n each), oldest at `first` */
    double *rho, *al; /* (cap) 1 / y.s per pair; two-loop coefficients */
    int cap, count, first;
    float *host;   /* host (n): downloads of g and d */
    int evals;     /* evaluations so far, the initial one included */
    int iter;      /* iterations so far (PyTorch's n_iter) */
    const char *why; /* static text: why an evaluation failed */
} Lbfgs;

LbfgsOptions lbfgs_defaults(void) {
    return (LbfgsOptions){.lr = 1.0f, .history = 100, .max_iter = 20, .max_eval = 0,
                          .tol_grad = 1e-7, .tol_change = 1e-9};
}

/* max|v| and |v|_1 of a backend vector, through the host buffer. Returns false when an element
 * is not finite. */
static bool vec_norms(Lbfgs *L, const float *v, double *vmax, double *vsum) {
    L->be->download(L->host, v, L->n * sizeof(float));
    double m = 0.0, s = 0.0;
    for (size_t i = 0; i < L->n; i++) {
        double a = fabs((double)L->host[i]);
        if (!isfinite(a)) return false;
        if (a > m) m = a;
        s += a;
    }
    *vmax = m;
    if (vsum) *vsum = s;
    return true;
}

/* Evaluates f and its gradient (into gout) at x0 + t d and the directional derivative
 * gout.d; counts one evaluation. On a non-finite f or gradient puts x back to x0 and fails. */
static bool eval_at(Lbfgs *L, double t, float *gout, double *f, double *gtd, AeError *err) {
    const Backend *be = L->be;
    be->copy(L->x, L->x0, L->n * sizeof(float));
    be->axpy(L->x, (float)t, L->d, L->n);
    *f = L->fn(L->ctx, L->x, gout);
    L->evals++;
    *gtd = isfinite(*f) ? be->dot(gout, L->d, L->n) : NAN;
    if (isfinite(*f) && isfinite(*gtd)) return true;
    be->copy(L->x, L->x0, L->n * sizeof(float));
    L->why = isfinite(*f) ? "non-finite gradient" : "non-finite f";
    return ae_fail(err, "lbfgs: %s (%s = %g) at evaluation %d (iteration %d, step %g)", L->why,
                   isfinite(*f) ? "g.d" : "f", isfinite(*f) ? *gtd : *f, L->evals, L->iter, t);
}

/* Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2) (f and slope at two points),
 * clamped to [lo, hi]; the midpoint of [lo, hi] when the cubic has no minimiser or the formula
 * gives NaN (an infinity is clamped, as in PyTorch). (lswolfe.lua / polyinterp.lua, the
 * two-point case.)
 *   d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2),  d2 = sqrt(d1^2 - g1 g2),
 *   x = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)   (x2 the right end; mirrored else) */
static double cubic_min(double x1, double f1, double g1, double x2, double f2, double g2,
                        double lo, double hi) {
    double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    double d2sq = d1 * d1 - g1 * g2;
    if (d2sq >= 0.0) {
        double d2 = sqrt(d2sq);
        double m = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
                            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
        if (!isnan(m)) {
            if (lo > m) m = lo; /* Python's min(max(m, lo), hi), in that order */
            if (hi < m) m = hi;
            return m;
        }
    }
    return (lo + hi) / 2.0;
}

/* A line-search gradient buffer other than a and b (either may be NULL or not in ls[]). */
static float *ls_free_buffer(Lbfgs *L, const float *a, const float *b) {
    for (int i = 0; i < 3; i++)
        if (L->ls[i] != a && L->ls[i] != b) return L->ls[i];
    AE_ASSERT(!"no free line-search buffer");
    return NULL;
}

/* Strong-Wolfe line search along d from x0 (PyTorch's _strong_wolfe). f, gtd: f and g.d at x0
 * (g in L->g); dmax = max|d|; *t: the initial step in, the accepted step out. On return
 * x = x0 + t d, *fout = f there and L->g holds the gradient there (t may be 0: no progress). */
static bool strong_wolfe(Lbfgs *L, double *t_io, double f, double gtd, double dmax,
                         double tol_change, double *fout, AeError *err) {
    double t = *t_io;
    float *g_new = L->ls[0];
    double f_new, gtd_new;
    if (!eval_at(L, t, g_new, &f_new, &gtd_new, err)) return false;

    /* Bracketing: grow t until [t_prev, t] holds a point that satisfies the conditions. */
    double t_prev = 0.0, f_prev = f, gtd_prev = gtd;
    float *g_prev = L->g;
    double br[2] = {0}, bf[2] = {0}, bgtd[2] = {0};
    float *bg[2] = {NULL, NULL};
    bool done = false, bracketed = false;
    int ls_iter = 0;
    while (ls_iter < WOLFE_MAX_LS) {
        /* PyTorch's order: Armijo fails or f went up, then strong Wolfe, then the slope
         * turned; the first and the last leave [t_prev, t] as the bracket. */
        bool up = f_new > f + WOLFE_C1 * t * gtd || (ls_iter > 1 && f_new >= f_prev);
        if (!up && fabs(gtd_new) <= -WOLFE_C2 * gtd) { /* strong Wolfe holds at t */
            br[0] = br[1] = t;
            bf[0] = bf[1] = f_new;
            bg[0] = bg[1] = g_new;
            done = true;
            break;
        }
        if (up || gtd_new >= 0.0) {
            br[0] = t_prev, bf[0] = f_prev, bg[0] = g_prev, bgtd[0] = gtd_prev;
            br[1] = t, bf[1] = f_new, bg[1] = g_new, bgtd[1] = gtd_new;
            bracketed = true;
            break;
        }
        /* Extrapolate: the cubic's minimiser within [t + 0.01 (t - t_prev), 10 t]. */
        double t_next = cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                  t + 0.01 * (t - t_prev), 10.0 * t);
        t_prev = t, f_prev = f_new, g_prev = g_new, gtd_prev = gtd_new;
        t = t_next;
        g_new = ls_free_buffer(L, g_prev, NULL);
        if (!eval_at(L, t, g_new, &f_new, &gtd_new, err)) return false;
        ls_iter++;
    }
    if (ls_iter == WOLFE_MAX_LS) { /* out of evaluations: choose between 0 and the last t */
        br[0] = 0.0, bf[0] = f, bg[0] = L->g;
        br[1] = t, bf[1] = f_new, bg[1] = g_new;
        bracketed = true;
    }
    AE_ASSERT(done || bracketed);

    /* Zoom: shrink the bracket [br[lo], br[hi]] (f at lo is the lowest so far). */
    int lo = bf[0] <= bf[1] ? 0 : 1, hi = 1 - lo;
    bool insuf_progress = false;
    while (!done && ls_iter < WOLFE_MAX_LS) {
        if (fabs(br[1] - br[0]) * dmax < tol_change) break;
        double bmin = fmin(br[0], br[1]), bmax = fmax(br[0], br[1]);
        t = cubic_min(br[0], bf[0], bgtd[0], br[1], bf[1], bgtd[1], bmin, bmax);
        /* A trial within 10% of the bracket's ends makes little progress: the second time in
         * a row, or at an end, move it to 10% inside the nearer end. */
        double eps = 0.1 * (bmax - bmin);
        if (fmin(bmax - t, t - bmin) < eps) {
            if (insuf_progress || t >= bmax || t <= bmin) {
                t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }
        g_new = ls_free_buffer(L, bg[0], bg[1]);
        if (!eval_at(L, t, g_new, &f_new, &gtd_new, err)) return false;
        ls_iter++;
        if (f_new > f + WOLFE_C1 * t * gtd || f_new >= bf[lo]) {
            /* Armijo fails or no lower than the low end: t becomes the high end */
            br[hi] = t, bf[hi] = f_new, bg[hi] = g_new, bgtd[hi] = gtd_new;
            lo = bf[0] <= bf[1] ? 0 : 1, hi = 1 - lo;
        } else {
            if (fabs(gtd_new) <= -WOLFE_C2 * gtd) {
                done = true;
            } else if (gtd_new * (br[hi] - br[lo]) >= 0.0) { /* the old low becomes the high */
                br[hi] = br[lo], bf[hi] = bf[lo], bg[hi] = bg[lo], bgtd[hi] = bgtd[lo];
            }
            br[lo] = t, bf[lo] = f_new, bg[lo] = g_new, bgtd[lo] = gtd_new;
        }
    }

    /* The low end is the answer: move there. */
    const Backend *be = L->be;
    *t_io = br[lo];
    *fout = bf[lo];
    if (bg[lo] != L->g) be->copy(L->g, bg[lo], L->n * sizeof(float));
    be->copy(L->x, L->x0, L->n * sizeof(float));
    be->axpy(L->x, (float)br[lo], L->d, L->n);
    return true;
}

/* Appends the pair (s, y) = (ls[0], gprev) to the history, dropping the oldest when full.
 * The vectors are swapped in by pointer: the dropped pair's buffers become ls[0] and gprev. */
static void history_push(Lbfgs *L, double ys) {
    int slot;
    if (L->count < L->cap) {
        slot = (L->first + L->count) % L->cap;
        L->count++;
    } else {
        slot = L->first;
        L->first = (L->first + 1) % L->cap;
    }
    float *s = L->S[slot], *y = L->Y[slot];
    L->S[slot] = L->ls[0], L->Y[slot] = L->gprev;
    L->ls[0] = s, L->gprev = y;
    L->rho[slot] = 1.0 / ys;
}

/* d = -H g by the two-loop recursion, H the L-BFGS inverse Hessian with initial H_diag I. */
static void two_loop(Lbfgs *L, double H_diag) {
    const Backend *be = L->be;
    size_t n = L->n;
    float *q = L->d;
    be->copy(q, L->g, n * sizeof(float));
    be->scal(q, -1.0f, n);
    for (int i = L->count - 1; i >= 0; i--) { /* newest to oldest */
        int k = (L->first + i) % L->cap;
        L->al[k] = be->dot(L->S[k], q, n) * L->rho[k];
        be->axpy(q, (float)-L->al[k], L->Y[k], n);
    }
    be->scal(q, (float)H_diag, n);
    for (int i = 0; i < L->count; i++) { /* oldest to newest */
        int k = (L->first + i) % L->cap;
        double beta = be->dot(L->Y[k], q, n) * L->rho[k];
        be->axpy(q, (float)(L->al[k] - beta), L->S[k], n);
    }
}

static bool options_check(const LbfgsOptions *o, size_t n, AeError *err) {
    if (n == 0) return ae_fail(err, "lbfgs: no parameters (n = 0)");
    if (!(o->lr > 0.0f) || !isfinite(o->lr))
        return ae_fail(err, "lbfgs: lr must be a finite number > 0, got %g", (double)o->lr);
    if (o->history < 1) return ae_fail(err, "lbfgs: history must be >= 1, got %d", o->history);
    if (o->max_iter < 1) return ae_fail(err, "lbfgs: max_iter must be >= 1, got %d", o->max_iter);
    if (o->max_eval < 0)
        return ae_fail(err, "lbfgs: max_eval must be >= 0 (0: max_iter * 5 / 4), got %d",
                       o->max_eval);
    if (!(o->tol_grad >= 0.0) || !(o->tol_change >= 0.0))
        return ae_fail(err, "lbfgs: tol_grad and tol_change must be >= 0, got %g and %g",
                       o->tol_grad, o->tol_change);
    return true;
}

/* The vectors of L->n floats that every call needs besides the history. */
#define LBFGS_NFIXED 7

static float **lbfgs_fixed(Lbfgs *L, int i) {
    float **vecs[LBFGS_NFIXED] = {&L->x0, &L->g, &L->gprev, &L->d, &L->ls[0], &L->ls[1],
                                  &L->ls[2]};
    return vecs[i];
}

/* The working memory of a call with history L->cap: host arrays, then LBFGS_NFIXED + 2*cap
 * backend vectors. False with err filled when host or backend memory runs out; lbfgs_release
 * frees whatever was allocated, either way. */
static bool lbfgs_alloc(Lbfgs *L, AeError *err) {
    size_t cap = (size_t)L->cap, n = L->n;
    L->S = ae_calloc(cap, sizeof *L->S, "the L-BFGS history", err);
    L->Y = L->S ? ae_calloc(cap, sizeof *L->Y, "the L-BFGS history", err) : NULL;
    L->rho = L->Y ? ae_calloc(cap, sizeof *L->rho, "the L-BFGS history", err) : NULL;
    L->al = L->rho ? ae_calloc(cap, sizeof *L->al, "the L-BFGS history", err) : NULL;
    L->host = L->al ? ae_malloc(n * sizeof(float), "the L-BFGS gradient norms", err) : NULL;
    if (!L->host) return false;
    bool ok = true;
    for (int i = 0; i < LBFGS_NFIXED && ok; i++)
        ok = (*lbfgs_fixed(L, i) = L->be->alloc(n * sizeof(float))) != NULL;
    for (int i = 0; i < L->cap && ok; i++)
        ok = (L->S[i] = L->be->alloc(n * sizeof(float))) &&
             (L->Y[i] = L->be->alloc(n * sizeof(float)));
    if (!ok)
        ae_fail(err, "lbfgs: out of %s memory for %d vectors of %zu floats", L->be->name,
                LBFGS_NFIXED + 2 * L->cap, n);
    return ok;
}

static void lbfgs_release(Lbfgs *L) {
    for (int i = 0; i < LBFGS_NFIXED; i++) L->be->free(*lbfgs_fixed(L, i));
    for (int i = 0; i < L->cap && L->S && L->Y; i++) L->be->free(L->S[i]), L->be->free(L->Y[i]);
    free(L->S);
    free(L->Y);
    free(L->rho);
    free(L->al);
    free(L->host);
}

bool lbfgs_minimize(const Backend *be, float *x, size_t n, LbfgsFn fn, LbfgsIterFn on_iter,
                    void *ctx, const LbfgsOptions *opt, LbfgsResult *res, AeError *err) {
    AE_ASSERT(be && x && fn && opt && res);
    *res = (LbfgsResult){.iterations = 0, .evaluations = 0, .f = NAN, .stop = "not started"};
    if (!options_check(opt, n, err)) return false;
    const int max_iter = opt->max_iter;
    const long long max_eval_ll = opt->max_eval > 0 ? opt->max_eval : max_iter * 5LL / 4;
    const int max_eval = max_eval_ll > INT_MAX ? INT_MAX : (int)max_eval_ll;
    const double tol_grad = opt->tol_grad, tol_change = opt->tol_change;

    bool ok = false;
    Lbfgs L = {.be = be, .n = n, .fn = fn, .ctx = ctx, .x = x};
    L.cap = opt->history < max_iter ? opt->history : max_iter;
    if (!lbfgs_alloc(&L, err)) {
        res->stop = "out of memory";
        goto out;
    }

    /* Initial evaluation at x (counts 1). x0 = x so that an error leaves x where it was. */
    be->copy(L.x0, x, n * sizeof(float));
    double f = fn(ctx, x, L.g), gmax, gsum;
    L.evals = 1;
    res->evaluations = 1;
    res->f = f;
    if (!isfinite(f)) {
        res->stop = "non-finite f";
        ae_fail(err, "lbfgs: non-finite f (%g) at the initial point", f);
        goto out;
    }
    if (!vec_norms(&L, L.g, &gmax, &gsum)) {
        res->stop = "non-finite gradient";
        ae_fail(err, "lbfgs: non-finite gradient at the initial point");
        goto out;
    }
    if (gmax <= tol_grad) {
        res->stop = "max|g| <= tol_grad at the start";
        ok = true;
        goto out;
    }

    double t = 0.0, H_diag = 1.0;
    const char *stop = "max_iter reached";
    while (L.iter < max_iter) {
        L.iter++;
        res->iterations = L.iter;

        /* Direction. */
        if (L.iter == 1) {
            be->copy(L.d, L.g, n * sizeof(float));
            be->scal(L.d, -1.0f, n);
        } else {
            /* y = g - g_prev (in place: -g_prev + g), s = t d (the previous step) */
            be->scal(L.gprev, -1.0f, n);
            be->axpy(L.gprev, 1.0f, L.g, n);
            be->copy(L.ls[0], L.d, n * sizeof(float));
            be->scal(L.ls[0], (float)t, n);
            double ys = be->dot(L.gprev, L.ls[0], n);
            if (ys > CURVATURE_MIN) {
                double yy = be->dot(L.gprev, L.gprev, n);
                history_push(&L, ys);
                H_diag = ys / yy;
            }
            two_loop(&L, H_diag);
        }
        be->copy(L.gprev, L.g, n * sizeof(float));
        double f_prev = f;

        /* Step: the initial guess, then the line search. */
        t = L.iter == 1 ? fmin(1.0, 1.0 / gsum) * opt->lr : (double)opt->lr;
        double gtd = be->dot(L.g, L.d, n);
        if (gtd > -tol_change) { /* not a descent direction (to tolerance): no step */
            stop = "directional derivative >= -tol_change";
            break;
        }
        double dmax;
        if (!vec_norms(&L, L.d, &dmax, NULL)) {
            res->stop = "non-finite direction";
            ae_fail(err, "lbfgs: non-finite search direction at iteration %d", L.iter);
            goto out;
        }
        be->copy(L.x0, x, n * sizeof(float));
        if (!strong_wolfe(&L, &t, f, gtd, dmax, tol_change, &f, err)) {
            res->evaluations = L.evals;
            res->stop = L.why;
            goto out;
        }
        res->evaluations = L.evals;
        res->f = f;
        if (!vec_norms(&L, L.g, &gmax, &gsum)) { /* eval_at checked g.d; this is a backstop */
            res->stop = "non-finite gradient";
            ae_fail(err, "lbfgs: non-finite gradient at iteration %d", L.iter);
            goto out;
        }

        /* Stopping rules, in PyTorch's order; the caller's wish comes last. */
        bool go_on = on_iter ? on_iter(ctx, L.iter, f, L.evals) : true;
        if (L.iter == max_iter) { stop = "max_iter reached"; break; }
        if (L.evals >= max_eval) { stop = "max_eval reached"; break; }
        if (gmax <= tol_grad) { stop = "max|g| <= tol_grad"; break; }
        if (fabs(t) * dmax <= tol_change) { stop = "step <= tol_change"; break; }
        if (fabs(f - f_prev) < tol_change) { stop = "change of f < tol_change"; break; }
        if (!go_on) { stop = "stopped by caller"; break; }
    }
    res->stop = stop;
    ok = true;
out:
    lbfgs_release(&L);
    return ok;
}
