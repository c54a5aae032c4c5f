/* engine/lbfgs.h — limited-memory BFGS with a strong-Wolfe line search, full batch.
 *
 * Follows PyTorch's torch.optim.LBFGS (itself after minFunc, the optimiser of the UFLDL
 * exercise): two-loop recursion over the last `history` pairs, the first step scaled by
 * min(1, 1/|g|_1) * lr, then strong-Wolfe line search with cubic interpolation
 * (c1 = 1e-4, c2 = 0.9; a search evaluates its first trial and at most 25 more: max_ls = 25).
 * Stops on: max_iter iterations, max_eval evaluations (checked after each iteration),
 * max|g| <= tol_grad, a directional derivative g.d > -tol_change, a step or a change of f
 * smaller than tol_change, the caller, or (as an error) a non-finite f or gradient.
 *
 * All vectors live in backend memory; the algorithm uses only the backend's copy/dot/axpy/scal
 * (and download of g and d into one host buffer of n floats for max|g|, |g|_1 and max|d|), so
 * it runs unchanged on the GPU. Working memory (2*min(history, max_iter) + 7 vectors of n) is
 * allocated once per call.
 */
#ifndef AE_LBFGS_H
#define AE_LBFGS_H

#include "backend.h"
#include "common.h"

/* Computes f(x) and writes its gradient into g (backend, n floats). Returns f (double);
 * a non-finite f stops the minimisation. */
typedef double (*LbfgsFn)(void *ctx, const float *x, float *g);

/* Called after each iteration: iteration (1-based), f, and evaluations so far.
 * Return false to stop (the result says "stopped by caller"). */
typedef bool (*LbfgsIterFn)(void *ctx, int iter, double f, int evals);

typedef struct LbfgsOptions {
    float lr;           /* 1 */
    int history;        /* 100 */
    int max_iter;       /* 20 */
    int max_eval;       /* 0 = max_iter * 5 / 4 */
    double tol_grad;    /* 1e-7 */
    double tol_change;  /* 1e-9 */
} LbfgsOptions;

typedef struct LbfgsResult {
    /* Counted as PyTorch does: the initial evaluation and every line-search evaluation count;
     * an iteration stopped by the directional-derivative test counts though it takes no step. */
    int iterations, evaluations;
    double f;           /* f at the returned x */
    const char *stop;   /* static text: why it stopped */
} LbfgsResult;

/* PyTorch's defaults. */
LbfgsOptions lbfgs_defaults(void);

/* Minimises fn from x (backend, n floats; overwritten with the last iterate, the lowest f
 * found). on_iter may be NULL. res is always filled (on failure: what was done so far).
 * Returns false with err filled when an option is out of range, host or backend memory runs
 * out, or an evaluation gives a non-finite f or gradient; x is then left at the last iterate
 * (where f was still finite; at the start, unchanged). */
bool lbfgs_minimize(const Backend *be, float *x, size_t n, LbfgsFn fn, LbfgsIterFn on_iter,
                    void *ctx, const LbfgsOptions *opt, LbfgsResult *res, AeError *err);

#endif
