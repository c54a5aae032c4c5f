/* tests/test_backend_ops.c — the CPU backend (engine/cpu_backend.c) against the plain-loop
 * reference (engine/ref_ops.c), op by op, for every op of engine/backend.h.
 *
 * Inputs are random (engine/rng.h, fixed seed) and run through both backends; results are
 * compared element by element with tol = abs + rel*|ref| (llm.c's validate_result), and the
 * largest error of each op and its fraction of the tolerance are printed at the end.
 * Tolerances (both sides round each stored value to float; the reference computes in double):
 *  - element-wise ops: rel 1e-6, abs ABS_ULP * s where s is the magnitude of the operands
 *    (the CPU rounds two or three intermediate floats, each off by at most half an ulp of s,
 *    and a result near 0 after cancellation keeps that absolute error);
 *  - GEMMs: rel 1e-5, abs 1e-5*sqrt(K), inputs in [-1, 1] (OpenBLAS sums in float);
 *  - reductions (losses, penalties, colsum, dot): rel 1e-6 (both sum in double);
 *  - exact (bitwise): memory ops, gather, masking / salt-and-pepper / none noise, relu,
 *    confusion counts, scal.
 * Cases cover every Act, LossKind and NoiseKind, both L1 denominators, KL, weight decay, SGD
 * (plain, momentum, Nesterov) and Adam, at odd shapes (1 row, 1 column, sizes not multiples
 * of 64) and above 32768 elements, where the CPU backend runs its OpenMP path. Outputs the
 * contract says are written start as NaN (so a read of them shows); accumulated gradients
 * (db, dH, dW) start from random values and are also checked to add up over two calls.
 * Then: noise statistics on 1e6 draws (each within 3 standard errors), the counter contract
 * (element i uses counter + i), and the reductions bit-identical with 1, 2 and 3 threads.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common.h"
#include "ref_ops.h"
#include "rng.h"
#include "testutil.h"
#include "xalloc.h"

#define EW_REL 1e-6
#define ABS_ULP 2.5e-7 /* about two float ulps (2^-23 = 1.19e-7) of the operand scale */
#define GEMM_REL 1e-5
#define GEMM_ABS_PER_SQRTK 1e-5
#define RED_REL 1e-6
#define RED_ABS 1e-12
#define PAR_ELEMS 32768 /* cpu_backend.c's PAR_MIN: above it the passes run in parallel */

static const Backend *CPU, *REF;
static RngStream RNG;
static char CASE[160]; /* the case being run, for failure messages */

/* Odd shapes (B, O): one wider than two of the CPU backend's column-sum tiles (1024 columns),
 * the last one above PAR_ELEMS. */
static const int SHAPES[][2] = {{1, 1}, {1, 37}, {53, 1}, {7, 13}, {65, 129}, {19, 2500},
                                {257, 131}};
#define NSHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])
/* A tall shape: rows above PAR_ELEMS, so sums over rows (nll) run in parallel too. */
#define TALL_B 33001
#define TALL_O 3

/* ---- per-op statistics ---- */

typedef struct OpStat {
    const char *op;
    int ncmp;
    size_t nelem;
    double max_err, worst; /* largest |got - ref|, largest |got - ref| / tol */
    bool exact;
} OpStat;

static OpStat STATS[80];
static int NSTATS;

static OpStat *stat_of(const char *op, bool exact) {
    for (int i = 0; i < NSTATS; i++)
        if (strcmp(STATS[i].op, op) == 0) return &STATS[i];
    AE_ASSERT(NSTATS < (int)(sizeof STATS / sizeof STATS[0]));
    STATS[NSTATS] = (OpStat){.op = op, .exact = exact};
    return &STATS[NSTATS++];
}

/* ---- comparisons ---- */

/* |got - ref| <= abs + rel*|ref| for each of n floats (NaN matches only NaN, inf only the same
 * inf); one check per call. */
static void cmp_f(const char *op, const float *got, const float *ref, size_t n, double abs_tol,
                  double rel_tol) {
    OpStat *st = stat_of(op, false);
    double maxerr = 0.0, worst = 0.0;
    size_t wi = 0;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], r = ref[i];
        if (isnan(g) || isnan(r) || isinf(g) || isinf(r)) {
            if (!(g == r || (isnan(g) && isnan(r))) && !bad) {
                bad = true;
                wi = i;
            }
            continue;
        }
        double e = fabs(g - r), frac = e / (abs_tol + rel_tol * fabs(r));
        if (e > maxerr) maxerr = e;
        if (frac > worst) {
            worst = frac;
            if (!bad) wi = i;
        }
    }
    tu_checks++;
    if (bad || worst > 1.0) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: %s [%s]: element %zu of %zu: cpu %.9g, ref %.9g "
                        "(abs %g rel %g)\n",
                __FILE__, __LINE__, op, CASE, wi, n, got[wi], ref[wi], abs_tol, rel_tol);
        worst = bad ? INFINITY : worst;
    }
    st->ncmp++;
    st->nelem += n;
    if (maxerr > st->max_err) st->max_err = maxerr;
    if (worst > st->worst) st->worst = worst;
}

static void cmp_scalar(const char *op, double got, double ref, double abs_tol, double rel_tol) {
    OpStat *st = stat_of(op, false);
    double e = fabs(got - ref), frac = e / (abs_tol + rel_tol * fabs(ref));
    tu_checks++;
    if (!(frac <= 1.0)) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: %s [%s]: cpu %.12g, ref %.12g (abs %g rel %g)\n",
                __FILE__, __LINE__, op, CASE, got, ref, abs_tol, rel_tol);
    }
    st->ncmp++;
    st->nelem++;
    if (e > st->max_err) st->max_err = e;
    if (frac > st->worst || isnan(frac)) st->worst = isnan(frac) ? INFINITY : frac;
}

/* Identical bytes, reported element-wise as floats (elem = 4) or int32. */
static void cmp_exact(const char *op, const void *got, const void *ref, size_t nbytes) {
    OpStat *st = stat_of(op, true);
    const unsigned char *g = got, *r = ref;
    size_t first = nbytes, ndiff = 0;
    for (size_t i = 0; i < nbytes; i++)
        if (g[i] != r[i]) {
            if (first == nbytes) first = i;
            ndiff++;
        }
    tu_checks++;
    st->ncmp++;
    st->nelem += nbytes / 4;
    if (ndiff) {
        tu_failures++;
        size_t e = first / 4;
        float fg, fr;
        int32_t ig, ir;
        memcpy(&fg, g + 4 * e, 4);
        memcpy(&fr, r + 4 * e, 4);
        memcpy(&ig, g + 4 * e, 4);
        memcpy(&ir, r + 4 * e, 4);
        fprintf(stderr, "%s:%d: check failed: %s [%s]: %zu bytes differ, first in element %zu: "
                        "cpu %.9g / %d, ref %.9g / %d\n",
                __FILE__, __LINE__, op, CASE, ndiff, e, fg, ig, fr, ir);
        st->worst = INFINITY;
    }
}

/* ---- inputs ---- */

static float urand(float lo, float hi) { return lo + (hi - lo) * rng_next_uniform(&RNG); }

static float *rnd(size_t n, float lo, float hi) {
    float *x = ae_xmalloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = urand(lo, hi);
    return x;
}

static float *dup(const float *x, size_t n) {
    float *y = ae_xmalloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static float *nans(size_t n) {
    float *x = ae_xmalloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = NAN;
    return x;
}

static int32_t *rand_labels(int B, int C) {
    int32_t *l = ae_xmalloc((size_t)B * sizeof *l);
    for (int r = 0; r < B; r++) l[r] = (int32_t)rng_next_below(&RNG, (uint64_t)C);
    return l;
}

static const char *ACT_NAMES[ACT_COUNT] = {"identity", "tanh", "sigmoid", "relu", "logsoftmax"};
static const char *LOSS_NAMES[LOSS_COUNT] = {"mse", "half_sse", "nll", "cross_entropy", "bce"};
static const char *NOISE_NAMES[NOISE_COUNT] = {"none", "gaussian", "masking", "salt_pepper"};
/* op names of the statistics table */
static const char *FWD_OPS[ACT_COUNT] = {
    "bias_act_forward identity", "bias_act_forward tanh", "bias_act_forward sigmoid",
    "bias_act_forward relu", "bias_act_forward logsoftmax"};
static const char *BWD_OPS[ACT_COUNT] = {"act_backward identity", "act_backward tanh",
                                         "act_backward sigmoid", "act_backward relu",
                                         "act_backward logsoftmax"};
static const char *LOSS_VALUE_OPS[LOSS_COUNT] = {
    "loss mse (value)", "loss half_sse (value)", "loss nll (value)",
    "loss cross_entropy (value)", "loss bce (value)"};
static const char *LOSS_GRAD_OPS[LOSS_COUNT] = {"loss mse (dY)", "loss half_sse (dY)",
                                                "loss nll (dY)", "loss cross_entropy (dY)",
                                                "loss bce (dY)"};

/* ---- memory ---- */

static void test_memory(void) {
    const Backend *bes[2] = {CPU, REF};
    size_t sizes[3] = {1, 37, 100003};
    for (int b = 0; b < 2; b++)
        for (int s = 0; s < 3; s++) {
            size_t n = sizes[s];
            snprintf(CASE, sizeof CASE, "%s n=%zu", bes[b]->name, n);
            float *d = bes[b]->alloc(n * sizeof(float)), *e = bes[b]->alloc(n * sizeof(float));
            CHECK(d && e);
            if (!d || !e) return;
            float *zero = calloc(n, sizeof(float)), *h = rnd(n, -1, 1), *back = nans(n);
            bes[b]->download(back, d, n * sizeof(float));
            cmp_exact("alloc (zero-filled)", back, zero, n * sizeof(float));
            bes[b]->upload(d, h, n * sizeof(float));
            bes[b]->copy(e, d, n * sizeof(float));
            bes[b]->download(back, e, n * sizeof(float));
            cmp_exact("upload/copy/download", back, h, n * sizeof(float));
            bes[b]->fill(d, -0.375f, n);
            bes[b]->download(back, d, n * sizeof(float));
            for (size_t i = 0; i < n; i++) h[i] = -0.375f;
            cmp_exact("fill", back, h, n * sizeof(float));
            bes[b]->free(d);
            bes[b]->free(e);
            bes[b]->free(NULL);
            free(zero);
            free(h);
            free(back);
        }
}

/* ---- GEMM ---- */

typedef void (*GemmFn)(int, int, int, float, const float *, const float *, float, float *);

static void test_gemm(void) {
    static const int MNK[][3] = {{1, 1, 1},    {1, 37, 5},    {37, 1, 65},   {1, 1, 300},
                                 {3, 5, 1000}, {65, 129, 63}, {127, 64, 200}, {150, 140, 130}};
    static const float AB[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}, {1.0f, 0.0f}};
    const char *names[3] = {"gemm_nn", "gemm_nt", "gemm_tn"};
    GemmFn cpu[3] = {CPU->gemm_nn, CPU->gemm_nt, CPU->gemm_tn};
    GemmFn ref[3] = {REF->gemm_nn, REF->gemm_nt, REF->gemm_tn};
    for (int s = 0; s < (int)(sizeof MNK / sizeof MNK[0]); s++) {
        int M = MNK[s][0], N = MNK[s][1], K = MNK[s][2];
        /* nn: A (M,K) B (K,N); nt: B stored (N,K); tn: A stored (K,M): same element counts */
        float *A = rnd((size_t)M * K, -1, 1), *Bm = rnd((size_t)K * N, -1, 1);
        for (int v = 0; v < 3; v++)
            for (int ab = 0; ab < 4; ab++) {
                float alpha = AB[ab][0], beta = AB[ab][1];
                /* the last combination: beta = 0 over a NaN-filled C (BLAS: C not read) */
                float *C0 = ab == 3 ? nans((size_t)M * N) : rnd((size_t)M * N, -1, 1);
                float *Cc = dup(C0, (size_t)M * N), *Cr = dup(C0, (size_t)M * N);
                snprintf(CASE, sizeof CASE, "M=%d N=%d K=%d alpha=%g beta=%g%s", M, N, K,
                         alpha, beta, ab == 3 ? " C=NaN" : "");
                cpu[v](M, N, K, alpha, A, Bm, beta, Cc);
                ref[v](M, N, K, alpha, A, Bm, beta, Cr);
                cmp_f(names[v], Cc, Cr, (size_t)M * N, GEMM_ABS_PER_SQRTK * sqrt(K), GEMM_REL);
                free(C0);
                free(Cc);
                free(Cr);
            }
        free(A);
        free(Bm);
    }
}

/* ---- layers ---- */

static void test_bias_act_forward(void) {
    for (int a = 0; a < ACT_COUNT; a++)
        for (int s = 0; s <= NSHAPES; s++) {
            /* the extra case: logsoftmax-sized logits around 100 (stability) */
            bool shifted = s == NSHAPES;
            int B = shifted ? 9 : SHAPES[s][0], O = shifted ? 11 : SHAPES[s][1];
            size_t n = (size_t)B * O;
            float *Y = rnd(n, -3, 3), *b = rnd((size_t)O, -1, 1);
            if (shifted)
                for (size_t i = 0; i < n; i++) Y[i] += 100.0f;
            float *Yc = dup(Y, n), *Yr = dup(Y, n);
            snprintf(CASE, sizeof CASE, "%s B=%d O=%d%s", ACT_NAMES[a], B, O,
                     shifted ? " logits ~100" : "");
            CPU->bias_act_forward(Yc, b, (Act)a, B, O);
            REF->bias_act_forward(Yr, b, (Act)a, B, O);
            const char *op = FWD_OPS[a];
            if (a == ACT_IDENTITY || a == ACT_RELU)
                cmp_exact(op, Yc, Yr, n * sizeof(float)); /* one float add: rounded alike */
            else if (a == ACT_LOGSOFTMAX)
                /* y - lse: the CPU rounds lse (up to |z| + log O) to float first */
                cmp_f(op, Yc, Yr, n, ABS_ULP * (shifted ? 105.0 : 4.0 + log(O)), EW_REL);
            else
                cmp_f(op, Yc, Yr, n, ABS_ULP, EW_REL);
            free(Y);
            free(b);
            free(Yc);
            free(Yr);
        }
}

/* Y drawn from the range of the activation's output. */
static float *act_output(Act a, int B, int O) {
    size_t n = (size_t)B * O;
    float *Y;
    switch (a) {
    case ACT_TANH:
        Y = rnd(n, -1, 1);
        if (n > 2) Y[0] = 0.99999f, Y[1] = -0.999f;
        break;
    case ACT_SIGMOID: Y = rnd(n, 0, 1); break;
    case ACT_RELU:
        Y = rnd(n, -1, 2);
        for (size_t i = 0; i < n; i++) Y[i] = Y[i] < 0 ? 0.0f : Y[i];
        break;
    case ACT_LOGSOFTMAX: {
        Y = rnd(n, -3, 3);
        float *zero = calloc((size_t)O, sizeof(float));
        REF->bias_act_forward(Y, zero, ACT_LOGSOFTMAX, B, O);
        free(zero);
        break;
    }
    default: Y = rnd(n, -3, 3); break;
    }
    return Y;
}

static void test_act_backward(void) {
    for (int a = 0; a < ACT_COUNT; a++)
        for (int s = 0; s < NSHAPES; s++) {
            int B = SHAPES[s][0], O = SHAPES[s][1];
            size_t n = (size_t)B * O;
            float *Y = act_output((Act)a, B, O), *dY = rnd(n, -1, 1);
            float *dZc = nans(n), *dZr = nans(n);
            snprintf(CASE, sizeof CASE, "%s B=%d O=%d", ACT_NAMES[a], B, O);
            CPU->act_backward(dZc, dY, Y, (Act)a, B, O, NULL);
            REF->act_backward(dZr, dY, Y, (Act)a, B, O, NULL);
            const char *op = BWD_OPS[a];
            /* logsoftmax: dy - e^y * rowsum, rowsum up to O/2 in size */
            double abs_tol = a == ACT_LOGSOFTMAX ? ABS_ULP * (1.0 + sqrt(O)) : ABS_ULP;
            if (a == ACT_IDENTITY || a == ACT_RELU)
                cmp_exact(op, dZc, dZr, n * sizeof(float));
            else
                cmp_f(op, dZc, dZr, n, abs_tol, EW_REL);
            /* dZ may alias dY */
            float *inplace = dup(dY, n);
            snprintf(CASE, sizeof CASE, "%s B=%d O=%d, dZ aliasing dY", ACT_NAMES[a], B, O);
            CPU->act_backward(inplace, inplace, Y, (Act)a, B, O, NULL);
            cmp_f("act_backward (dZ == dY)", inplace, dZr, n, abs_tol, EW_REL);
            /* with db: the column sums against the reference's, and the fused pass bit for
             * bit what act_backward without db then colsum_acc give (the contract), dZ
             * aliasing dY or not */
            float *db0 = rnd((size_t)O, -2, 2), *dbc = dup(db0, (size_t)O);
            float *dbr = dup(db0, (size_t)O), *dbs = dup(db0, (size_t)O), *dZf = nans(n);
            snprintf(CASE, sizeof CASE, "%s B=%d O=%d, with db", ACT_NAMES[a], B, O);
            CPU->act_backward(dZf, dY, Y, (Act)a, B, O, dbc);
            REF->act_backward(dZr, dY, Y, (Act)a, B, O, dbr);
            cmp_f("act_backward db", dbc, dbr, (size_t)O, 1e-6 * sqrt(B), RED_REL);
            CPU->colsum_acc(dbs, dZc, B, O);
            cmp_exact("act_backward with db == without, then colsum_acc (dZ)", dZf, dZc,
                      n * sizeof(float));
            cmp_exact("act_backward with db == without, then colsum_acc (db)", dbc, dbs,
                      (size_t)O * sizeof(float));
            memcpy(inplace, dY, n * sizeof(float));
            memcpy(dbc, db0, (size_t)O * sizeof(float));
            CPU->act_backward(inplace, inplace, Y, (Act)a, B, O, dbc);
            cmp_exact("act_backward with db, dZ == dY (dZ)", inplace, dZc, n * sizeof(float));
            cmp_exact("act_backward with db, dZ == dY (db)", dbc, dbs, (size_t)O * sizeof(float));
            free(db0);
            free(dbc);
            free(dbr);
            free(dbs);
            free(dZf);
            free(inplace);
            free(Y);
            free(dY);
            free(dZc);
            free(dZr);
        }
}

/* Accumulation: two calls from zero add up to twice one call (float rounding of the sum). */
static void check_accumulates(const char *op, const float *once, const float *twice, size_t n) {
    float *want = ae_xmalloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) want[i] = 2.0f * once[i];
    cmp_f(op, twice, want, n, 0.0, 1e-6);
    free(want);
}

static void test_colsum(void) {
    for (int s = 0; s <= NSHAPES; s++) { /* the shapes, then the tall one */
        int B = s < NSHAPES ? SHAPES[s][0] : TALL_B, O = s < NSHAPES ? SHAPES[s][1] : TALL_O;
        size_t n = (size_t)B * O;
        float *dZ = rnd(n, -1, 1), *db0 = rnd((size_t)O, -2, 2);
        float *dbc = dup(db0, (size_t)O), *dbr = dup(db0, (size_t)O);
        snprintf(CASE, sizeof CASE, "B=%d O=%d, db random", B, O);
        CPU->colsum_acc(dbc, dZ, B, O);
        REF->colsum_acc(dbr, dZ, B, O);
        /* |sum| ~ sqrt(B/3): the abs part covers the float rounding of sum + db */
        cmp_f("colsum_acc", dbc, dbr, (size_t)O, 1e-6 * sqrt(B), RED_REL);
        float *once = calloc((size_t)O, sizeof(float)), *twice = calloc((size_t)O, sizeof(float));
        CPU->colsum_acc(once, dZ, B, O);
        CPU->colsum_acc(twice, dZ, B, O);
        CPU->colsum_acc(twice, dZ, B, O);
        check_accumulates("colsum_acc (+= twice)", once, twice, (size_t)O);
        free(once);
        free(twice);
        free(dZ);
        free(db0);
        free(dbc);
        free(dbr);
    }
}

/* ---- losses ---- */

static void loss_inputs(LossKind k, int B, int O, float **Y, float **T, int32_t **labels) {
    size_t n = (size_t)B * O;
    *T = NULL;
    *labels = NULL;
    switch (k) {
    case LOSS_MSE:
    case LOSS_HALF_SSE:
        *Y = rnd(n, -1, 1);
        *T = rnd(n, -1, 1);
        break;
    case LOSS_NLL:
        *Y = act_output(ACT_LOGSOFTMAX, B, O);
        *labels = rand_labels(B, O);
        break;
    case LOSS_CROSS_ENTROPY:
        *Y = rnd(n, -3, 3);
        *labels = rand_labels(B, O);
        break;
    default: /* bce: probabilities, soft and hard targets, and the clamped edges 0 and 1 */
        *Y = rnd(n, 1e-4f, 1.0f - 1e-4f);
        *T = rnd(n, 0, 1);
        for (size_t i = 0; i < n; i += 2) (*T)[i] = (*T)[i] < 0.5f ? 0.0f : 1.0f;
        if (n >= 4) {
            (*Y)[0] = 0.0f;
            (*Y)[1] = 1.0f;
            (*Y)[2] = 1e-30f;
            (*Y)[3] = 0.0f;
            (*T)[3] = 0.0f;
        }
        break;
    }
}

static void test_loss(void) {
    for (int k = 0; k < LOSS_COUNT; k++)
        for (int s = 0; s <= NSHAPES; s++) { /* the shapes, then the tall one */
            int B = s < NSHAPES ? SHAPES[s][0] : TALL_B, O = s < NSHAPES ? SHAPES[s][1] : TALL_O;
            size_t n = (size_t)B * O;
            float *Y, *T;
            int32_t *labels;
            loss_inputs((LossKind)k, B, O, &Y, &T, &labels);
            float *dYc = nans(n), *dYr = nans(n), outc = NAN, outr = NAN, out_nod = NAN;
            snprintf(CASE, sizeof CASE, "%s B=%d O=%d", LOSS_NAMES[k], B, O);
            CPU->loss(&outc, dYc, Y, T, labels, (LossKind)k, ACT_IDENTITY, B, O, NULL);
            REF->loss(&outr, dYr, Y, T, labels, (LossKind)k, ACT_IDENTITY, B, O, NULL);
            cmp_scalar(LOSS_VALUE_OPS[k], outc, outr, RED_ABS, RED_REL);
            /* dY scale: mse 2/n, half_sse, nll and ce 1/B, bce 1/n per unit of (y-t)/(y(1-y)) */
            double scale = k == LOSS_MSE ? 2.0 / n : k == LOSS_BCE ? 1.0 / n : 1.0 / B;
            cmp_f(LOSS_GRAD_OPS[k], dYc, dYr, n, ABS_ULP * scale, EW_REL);
            /* dY NULL skips the gradient; the value is the same */
            CPU->loss(&out_nod, NULL, Y, T, labels, (LossKind)k, ACT_IDENTITY, B, O, NULL);
            cmp_exact("loss (dY NULL)", &out_nod, &outc, sizeof(float));
            /* with the activation that produced Y: the value unchanged and the gradient bit
             * for bit that of act_backward after the plain loss (the contract), and near the
             * reference's */
            for (int a = 1; a < ACT_COUNT; a++) {
                float *dYa = nans(n), *dYar = nans(n), outa = NAN, outar = NAN;
                snprintf(CASE, sizeof CASE, "%s B=%d O=%d, act %s", LOSS_NAMES[k], B, O,
                         ACT_NAMES[a]);
                double big = 0.0; /* the largest |dL/dY| */
                for (size_t i = 0; i < n; i++) big = fmax(big, fabs(dYc[i]));
                CPU->loss(&outa, dYa, Y, T, labels, (LossKind)k, (Act)a, B, O, NULL);
                CPU->act_backward(dYc, dYc, Y, (Act)a, B, O, NULL);
                cmp_exact("loss with act: value", &outa, &outc, sizeof(float));
                cmp_exact("loss with act == loss, then act_backward", dYa, dYc,
                          n * sizeof(float));
                REF->loss(&outar, dYar, Y, T, labels, (LossKind)k, (Act)a, B, O, NULL);
                /* the reference multiplies the same float dY in double: the CPU's float
                 * act' (1 - y^2 cancels near |y| = 1) is off by a few ulps of the largest
                 * |dY|; logsoftmax adds the row sum's rounding */
                double tol = 4.0 * ABS_ULP * big * (a == ACT_LOGSOFTMAX ? 1.0 + O : 1.0);
                cmp_f("loss with act vs reference", dYa, dYar, n, tol, EW_REL);
                /* back to the plain gradient for the next activation */
                CPU->loss(&outc, dYc, Y, T, labels, (LossKind)k, ACT_IDENTITY, B, O, NULL);
                free(dYa);
                free(dYar);
            }
            /* with db: dY unchanged and db bit for bit what colsum_acc adds (the contract);
             * the value, summed in row ranges then, within 1e-12 */
            for (int a = 0; a < ACT_COUNT; a++) {
                float *dYa = nans(n), *dYd = nans(n), oa = NAN, od = NAN;
                float *db0 = rnd((size_t)O, -1, 1), *dbw = dup(db0, (size_t)O);
                float *dbd = dup(db0, (size_t)O);
                snprintf(CASE, sizeof CASE, "%s B=%d O=%d, act %s, with db", LOSS_NAMES[k], B, O,
                         ACT_NAMES[a]);
                CPU->loss(&oa, dYa, Y, T, labels, (LossKind)k, (Act)a, B, O, NULL);
                CPU->colsum_acc(dbw, dYa, B, O);
                CPU->loss(&od, dYd, Y, T, labels, (LossKind)k, (Act)a, B, O, dbd);
                cmp_exact("loss with db: dY", dYd, dYa, n * sizeof(float));
                cmp_exact("loss with db: db == colsum_acc's", dbd, dbw, (size_t)O * sizeof(float));
                cmp_scalar("loss with db: value", od, oa, 1e-30, 1e-12);
                free(dYa);
                free(dYd);
                free(db0);
                free(dbw);
                free(dbd);
            }
            free(Y);
            free(T);
            free(labels);
            free(dYc);
            free(dYr);
        }
}

/* ---- penalties ---- */

static void test_l1(void) {
    for (int s = 0; s < NSHAPES; s++)
        for (int d = 0; d < 2; d++) {
            int B = SHAPES[s][0], O = SHAPES[s][1];
            size_t n = (size_t)B * O;
            float denom = d == 0 ? 1.0f : (float)B, w = 0.1f;
            float *H = rnd(n, -1, 1), *dH0 = rnd(n, -1, 1);
            for (size_t i = 0; i < n; i += 5) H[i] = 0.0f; /* sign(0) = 0 */
            float *dHc = dup(dH0, n), *dHr = dup(dH0, n), outc, outr;
            snprintf(CASE, sizeof CASE, "B=%d O=%d denom=%s", B, O, d == 0 ? "1" : "B");
            CPU->l1_penalty(&outc, dHc, H, w, denom, n);
            REF->l1_penalty(&outr, dHr, H, w, denom, n);
            cmp_scalar("l1_penalty (value)", outc, outr, RED_ABS, RED_REL);
            cmp_f("l1_penalty (dH +=)", dHc, dHr, n, ABS_ULP, EW_REL);
            float *once = calloc(n, sizeof(float)), *twice = calloc(n, sizeof(float));
            CPU->l1_penalty(&outc, once, H, w, denom, n);
            CPU->l1_penalty(&outc, twice, H, w, denom, n);
            CPU->l1_penalty(&outc, twice, H, w, denom, n);
            check_accumulates("l1_penalty (+= twice)", once, twice, n);
            free(once);
            free(twice);
            free(H);
            free(dH0);
            free(dHc);
            free(dHr);
        }
}

static void test_kl(void) {
    for (int s = 0; s < NSHAPES; s++) {
        int B = SHAPES[s][0], O = SHAPES[s][1];
        size_t n = (size_t)B * O;
        float rho = 0.05f, beta = 3.0f;
        float *H = rnd(n, 0, 1), *dH0 = rnd(n, -1, 1);
        if (O >= 3)
            for (int r = 0; r < B; r++) {
                H[(size_t)r * O + 0] = 0.0f; /* column mean 0: clamped to 1e-6 */
                H[(size_t)r * O + 1] = 1.0f; /* column mean 1: clamped to 1 - 1e-6 */
            }
        float *dHc = dup(dH0, n), *dHr = dup(dH0, n), outc, outr;
        float *rhc = nans((size_t)O), *rhr = nans((size_t)O);
        snprintf(CASE, sizeof CASE, "B=%d O=%d rho=%g beta=%g", B, O, rho, beta);
        CPU->kl_penalty(&outc, dHc, rhc, H, rho, beta, B, O);
        REF->kl_penalty(&outr, dHr, rhr, H, rho, beta, B, O);
        cmp_scalar("kl_penalty (value)", outc, outr, RED_ABS, RED_REL);
        cmp_f("kl_penalty (rhohat)", rhc, rhr, (size_t)O, 0.0, RED_REL);
        /* the gradient term is up to beta/B * 1/1e-6 at the clamped columns */
        cmp_f("kl_penalty (dH +=)", dHc, dHr, n, ABS_ULP, EW_REL);
        float *once = calloc(n, sizeof(float)), *twice = calloc(n, sizeof(float));
        CPU->kl_penalty(&outc, once, rhc, H, rho, beta, B, O);
        CPU->kl_penalty(&outc, twice, rhc, H, rho, beta, B, O);
        CPU->kl_penalty(&outc, twice, rhc, H, rho, beta, B, O);
        check_accumulates("kl_penalty (+= twice)", once, twice, n);
        free(once);
        free(twice);
        free(H);
        free(dH0);
        free(dHc);
        free(dHr);
        free(rhc);
        free(rhr);
    }
}

static void test_weight_decay(void) {
    for (int s = 0; s < NSHAPES; s++) {
        size_t n = (size_t)SHAPES[s][0] * SHAPES[s][1];
        float lambda = 3e-3f;
        float *W = rnd(n, -1, 1), *dW0 = rnd(n, -0.01f, 0.01f);
        float *dWc = dup(dW0, n), *dWr = dup(dW0, n), outc, outr;
        snprintf(CASE, sizeof CASE, "n=%zu lambda=%g", n, lambda);
        CPU->weight_decay(&outc, dWc, W, lambda, n);
        REF->weight_decay(&outr, dWr, W, lambda, n);
        cmp_scalar("weight_decay (value)", outc, outr, RED_ABS, RED_REL);
        cmp_f("weight_decay (dW +=)", dWc, dWr, n, ABS_ULP * 0.01, EW_REL);
        float *once = calloc(n, sizeof(float)), *twice = calloc(n, sizeof(float));
        CPU->weight_decay(&outc, once, W, lambda, n);
        CPU->weight_decay(&outc, twice, W, lambda, n);
        CPU->weight_decay(&outc, twice, W, lambda, n);
        check_accumulates("weight_decay (+= twice)", once, twice, n);
        free(once);
        free(twice);
        free(W);
        free(dW0);
        free(dWc);
        free(dWr);
    }
}

/* ---- data ---- */

static void test_gather_rows(void) {
    const int BD[][2] = {{1, 1}, {1, 196}, {7, 29}, {50, 400}};
    const int N = 60;
    for (int s = 0; s < 4; s++) {
        int B = BD[s][0], D = BD[s][1];
        size_t n = (size_t)B * D;
        float *rows = ae_xmalloc((size_t)N * D * sizeof(float));
        uint8_t labels[60];
        for (size_t i = 0; i < (size_t)N * D; i++)
            rows[i] = (float)rng_next_below(&RNG, 1u << 24) / (float)(1u << 24) - 0.5f;
        for (int i = 0; i < N; i++) labels[i] = (uint8_t)rng_next_below(&RNG, 10);
        int32_t *idx = rand_labels(B, N), yc[50], yr[50];
        for (int v = 0; v < 3; v++) { /* with labels; y NULL; labels NULL */
            float *Xc = nans(n), *Xr = nans(n);
            for (int r = 0; r < B; r++) yc[r] = yr[r] = -7;
            snprintf(CASE, sizeof CASE, "B=%d D=%d %s", B, D,
                     v == 0 ? "labels" : v == 1 ? "y NULL" : "labels NULL");
            CPU->gather_rows(Xc, v == 1 ? NULL : yc, rows, v == 2 ? NULL : labels, idx, B, D);
            REF->gather_rows(Xr, v == 1 ? NULL : yr, rows, v == 2 ? NULL : labels, idx, B, D);
            cmp_exact("gather_rows (X)", Xc, Xr, n * sizeof(float));
            cmp_exact("gather_rows (y)", yc, yr, (size_t)B * sizeof(int32_t));
            /* and the rows asked for, whatever both backends do */
            int32_t want[50];
            for (int r = 0; r < B; r++) {
                cmp_exact("gather_rows (row)", Xc + (size_t)r * D, rows + (size_t)idx[r] * D,
                          (size_t)D * sizeof(float));
                want[r] = v == 0 ? labels[idx[r]] : -7;
            }
            cmp_exact("gather_rows (labels)", yc, want, (size_t)B * sizeof(int32_t));
            free(Xc);
            free(Xr);
        }
        free(rows);
        free(idx);
    }
}

static void test_gather(void) {
    const int BD[][2] = {{1, 1}, {1, 784}, {7, 29}, {50, 784}};
    const int N = 60;
    for (int s = 0; s < 4; s++) {
        int B = BD[s][0], D = BD[s][1];
        size_t n = (size_t)B * D;
        uint8_t *images = ae_xmalloc((size_t)N * D), labels[60];
        for (size_t i = 0; i < (size_t)N * D; i++) images[i] = (uint8_t)rng_next_below(&RNG, 256);
        for (int i = 0; i < N; i++) labels[i] = (uint8_t)rng_next_below(&RNG, 10);
        int32_t *idx = rand_labels(B, N), yc[50], yr[50];
        for (int v = 0; v < 3; v++) { /* with labels; y NULL; labels NULL */
            float *Xc = nans(n), *Xr = nans(n);
            for (int r = 0; r < B; r++) yc[r] = yr[r] = -7;
            snprintf(CASE, sizeof CASE, "B=%d D=%d %s", B, D,
                     v == 0 ? "labels" : v == 1 ? "y NULL" : "labels NULL");
            CPU->gather(Xc, v == 1 ? NULL : yc, images, v == 2 ? NULL : labels, idx, B, D,
                        1.0f / 255.0f);
            REF->gather(Xr, v == 1 ? NULL : yr, images, v == 2 ? NULL : labels, idx, B, D,
                        1.0f / 255.0f);
            cmp_exact("gather (X)", Xc, Xr, n * sizeof(float));
            cmp_exact("gather (y)", yc, yr, (size_t)B * sizeof(int32_t));
            free(Xc);
            free(Xr);
        }
        free(images);
        free(idx);
    }
}

static void test_noise(void) {
    const size_t sizes[] = {1, 1000, 100003};
    const uint64_t counters[] = {0, 12345, (uint64_t)1 << 40};
    uint64_t key = rng_key(42, RNG_STREAM_NOISE);
    for (int k = 0; k < NOISE_COUNT; k++)
        for (int c = 0; c < 2; c++) /* gaussian: clamp off and on */
            for (int s = 0; s < 3; s++) {
                if (c == 1 && k != NOISE_GAUSSIAN) continue;
                size_t n = sizes[s];
                NoiseSpec spec = {.kind = (NoiseKind)k, .mean = 0.1f, .std = 0.5f, .clamp = c == 1,
                                  .lo = -0.25f, .hi = 1.0f, .fraction = 0.3f};
                float *X = rnd(n, 0, 1), *Xc = nans(n), *Xr = nans(n);
                snprintf(CASE, sizeof CASE, "%s%s n=%zu counter=%llu", NOISE_NAMES[k],
                         c ? " clamp" : "", n, (unsigned long long)counters[s]);
                CPU->noise(Xc, X, &spec, key, counters[s], n);
                REF->noise(Xr, X, &spec, key, counters[s], n);
                if (k == NOISE_GAUSSIAN)
                    /* x + mean + std*g: operands up to about 1 + 0.1 + 0.5*5 */
                    cmp_f(c ? "noise gaussian (clamp)" : "noise gaussian", Xc, Xr, n,
                          ABS_ULP * 4.0, EW_REL);
                else
                    cmp_exact(k == NOISE_NONE      ? "noise none"
                              : k == NOISE_MASKING ? "noise masking"
                                                   : "noise salt_pepper",
                              Xc, Xr, n * sizeof(float));
                if (c == 1) {
                    bool inside = true;
                    for (size_t i = 0; i < n; i++) inside &= Xc[i] >= spec.lo && Xc[i] <= spec.hi;
                    CHECK(inside);
                }
                free(X);
                free(Xc);
                free(Xr);
            }
}

/* Element i uses (key, counter + i): a pass from counter c + 7 is the pass from c shifted by 7;
 * another key gives other numbers. */
static void test_noise_counter(void) {
    const size_t n = 50000;
    uint64_t key = rng_key(7, RNG_STREAM_NOISE);
    float *X = rnd(n, 0, 1), *a = nans(n), *b = nans(n), *c = nans(n);
    for (int k = NOISE_GAUSSIAN; k < NOISE_COUNT; k++) {
        NoiseSpec spec = {.kind = (NoiseKind)k, .std = 0.3f, .lo = 0, .hi = 1, .fraction = 0.5f};
        snprintf(CASE, sizeof CASE, "%s n=%zu", NOISE_NAMES[k], n);
        CPU->noise(a, X, &spec, key, 1000, n);
        CPU->noise(b, X + 7, &spec, key, 1007, n - 7);
        cmp_exact("noise (counter + i)", b, a + 7, (n - 7) * sizeof(float));
        CPU->noise(c, X, &spec, key + 1, 1000, n);
        size_t same = 0;
        for (size_t i = 0; i < n; i++) same += a[i] == c[i];
        CHECK(same < n * 3 / 4); /* masking at 0.5 keeps about half the elements equal */
    }
    free(X);
    free(a);
    free(b);
    free(c);
}

/* Statistics of 1e6 draws of the CPU's noise, each within 3 standard errors. */
static void test_noise_stats(void) {
    const size_t n = 1000000;
    uint64_t key = rng_key(2024, RNG_STREAM_NOISE);
    float *X = ae_xmalloc(n * sizeof *X), *Xn = ae_xmalloc(n * sizeof *Xn);

    /* gaussian, clamp off, on X = 0: mean 0.3, std 2; se(mean) = std/sqrt(n),
     * se(std) = std/sqrt(2n) */
    NoiseSpec g = {.kind = NOISE_GAUSSIAN, .mean = 0.3f, .std = 2.0f, .clamp = false};
    CPU->fill(X, 0.0f, n);
    CPU->noise(Xn, X, &g, key, 0, n);
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += Xn[i];
    double mean = s / n;
    for (size_t i = 0; i < n; i++) ss += (Xn[i] - mean) * (Xn[i] - mean);
    double sd = sqrt(ss / (n - 1));
    printf("noise gaussian: mean %.5f (want 0.3 +- %.5f), std %.5f (want 2 +- %.5f)\n", mean,
           3 * 2.0 / sqrt(n), sd, 3 * 2.0 / sqrt(2.0 * n));
    CHECK_NEAR(mean, 0.3, 3 * 2.0 / sqrt(n), 0);
    CHECK_NEAR(sd, 2.0, 3 * 2.0 / sqrt(2.0 * n), 0);

    /* masking on X = 1, fraction 0.3: zeros ~ Binomial(n, 0.3) */
    NoiseSpec m = {.kind = NOISE_MASKING, .fraction = 0.3f};
    CPU->fill(X, 1.0f, n);
    CPU->noise(Xn, X, &m, key, 5000000, n);
    size_t zeros = 0, ones = 0;
    for (size_t i = 0; i < n; i++) zeros += Xn[i] == 0.0f, ones += Xn[i] == 1.0f;
    double fz = (double)zeros / n, se = sqrt(0.3 * 0.7 / n);
    printf("noise masking: zeroed %.5f (want 0.3 +- %.5f)\n", fz, 3 * se);
    CHECK_NEAR(fz, 0.3, 3 * se, 0);
    CHECK(zeros + ones == n);

    /* salt and pepper on X = 0.5, fraction 0.2, lo -1, hi 2: each of lo and hi ~ 0.1 */
    NoiseSpec sp = {.kind = NOISE_SALT_PEPPER, .fraction = 0.2f, .lo = -1.0f, .hi = 2.0f};
    CPU->fill(X, 0.5f, n);
    CPU->noise(Xn, X, &sp, key, 9000000, n);
    size_t nlo = 0, nhi = 0, nkeep = 0;
    for (size_t i = 0; i < n; i++)
        nlo += Xn[i] == -1.0f, nhi += Xn[i] == 2.0f, nkeep += Xn[i] == 0.5f;
    double flo = (double)nlo / n, fhi = (double)nhi / n, fc = (double)(nlo + nhi) / n;
    double se1 = sqrt(0.1 * 0.9 / n), se2 = sqrt(0.2 * 0.8 / n);
    printf("noise salt_pepper: pepper %.5f salt %.5f (want 0.1 +- %.5f each), corrupted %.5f "
           "(want 0.2 +- %.5f)\n",
           flo, fhi, 3 * se1, fc, 3 * se2);
    CHECK_NEAR(flo, 0.1, 3 * se1, 0);
    CHECK_NEAR(fhi, 0.1, 3 * se1, 0);
    CHECK_NEAR(fc, 0.2, 3 * se2, 0);
    CHECK(nlo + nhi + nkeep == n);
    free(X);
    free(Xn);
}

/* ---- optimizers ---- */

static void test_sgd(void) {
    const size_t sizes[] = {1, 37, 8191, 100003};
    const float mom[][2] = {{0.0f, 0}, {0.9f, 0}, {0.9f, 1}}; /* momentum, nesterov */
    const char *names[] = {"sgd_step plain", "sgd_step momentum", "sgd_step nesterov"};
    for (int s = 0; s < 4; s++)
        for (int v = 0; v < 3; v++) {
            size_t n = sizes[s];
            float *p = rnd(n, -1, 1), *vel = rnd(n, -0.1f, 0.1f);
            float *pc = dup(p, n), *pr = dup(p, n), *vc = dup(vel, n), *vr = dup(vel, n);
            for (int step = 1; step <= 3; step++) {
                float *g = rnd(n, -1, 1);
                snprintf(CASE, sizeof CASE, "%s n=%zu step %d", names[v], n, step);
                CPU->sgd_step(pc, g, vc, n, 0.05f, mom[v][0], mom[v][1] != 0);
                REF->sgd_step(pr, g, vr, n, 0.05f, mom[v][0], mom[v][1] != 0);
                cmp_f(names[v], pc, pr, n, ABS_ULP, EW_REL);
                if (v == 0)
                    cmp_exact("sgd_step plain (v untouched)", vc, vel, n * sizeof(float));
                else
                    cmp_f("sgd_step (v)", vc, vr, n, ABS_ULP * 2, EW_REL);
                free(g);
            }
            free(p);
            free(vel);
            free(pc);
            free(pr);
            free(vc);
            free(vr);
        }
}

static void test_adam(void) {
    const size_t sizes[] = {1, 37, 8191, 100003};
    for (int s = 0; s < 4; s++)
        for (int zero_state = 0; zero_state < 2; zero_state++) {
            size_t n = sizes[s];
            float *p = rnd(n, -1, 1), *m = rnd(n, -0.1f, 0.1f), *v = rnd(n, 0, 0.01f);
            if (zero_state) memset(m, 0, n * sizeof *m), memset(v, 0, n * sizeof *v);
            float *pc = dup(p, n), *pr = dup(p, n), *mc = dup(m, n), *mr = dup(m, n);
            float *vc = dup(v, n), *vr = dup(v, n);
            for (int t = 1; t <= 3; t++) {
                float *g = rnd(n, -1, 1);
                snprintf(CASE, sizeof CASE, "n=%zu t=%d state %s", n, t,
                         zero_state ? "zero" : "random");
                CPU->adam_step(pc, g, mc, vc, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t);
                REF->adam_step(pr, g, mr, vr, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t);
                cmp_f("adam_step (p)", pc, pr, n, ABS_ULP, EW_REL);
                cmp_f("adam_step (m)", mc, mr, n, ABS_ULP, EW_REL);
                cmp_f("adam_step (v)", vc, vr, n, ABS_ULP * 0.01, EW_REL);
                free(g);
            }
            free(p);
            free(m);
            free(v);
            free(pc);
            free(pr);
            free(mc);
            free(mr);
            free(vc);
            free(vr);
        }
}

/* ---- vector ops ---- */

static void test_vector(void) {
    const size_t sizes[] = {1, 37, 8191, 100003};
    for (int s = 0; s < 4; s++) {
        size_t n = sizes[s];
        float *x = rnd(n, -1, 1), *y = rnd(n, -1, 1);
        snprintf(CASE, sizeof CASE, "n=%zu", n);
        double dc = CPU->dot(x, y, n), dr = REF->dot(x, y, n), mag = 0;
        for (size_t i = 0; i < n; i++) mag += fabs((double)x[i] * y[i]);
        cmp_scalar("dot", dc, dr, 1e-12 * mag, RED_REL);
        float *yc = dup(y, n), *yr = dup(y, n);
        CPU->axpy(yc, -0.7f, x, n);
        REF->axpy(yr, -0.7f, x, n);
        cmp_f("axpy", yc, yr, n, ABS_ULP, EW_REL);
        memcpy(yc, y, n * sizeof *y);
        memcpy(yr, y, n * sizeof *y);
        CPU->scal(yc, 1.3f, n);
        REF->scal(yr, 1.3f, n);
        cmp_exact("scal", yc, yr, n * sizeof(float)); /* one float product: rounded alike */
        free(x);
        free(y);
        free(yc);
        free(yr);
    }
}

/* ---- metrics ---- */

static void test_confusion(void) {
    const int BC[][2] = {{1, 1}, {1, 10}, {7, 3}, {1000, 10}};
    for (int s = 0; s < 4; s++) {
        int B = BC[s][0], C = BC[s][1];
        size_t n = (size_t)B * C;
        float *Y = rnd(n, 0, 4);
        for (size_t i = 0; i < n; i++) Y[i] = floorf(Y[i]); /* many ties */
        int32_t *labels = rand_labels(B, C);
        int32_t *cc = ae_xmalloc((size_t)C * C * sizeof *cc);
        int32_t *cr = ae_xmalloc((size_t)C * C * sizeof *cr);
        for (int i = 0; i < C * C; i++) cc[i] = cr[i] = (int32_t)rng_next_below(&RNG, 100);
        snprintf(CASE, sizeof CASE, "B=%d C=%d", B, C);
        CPU->confusion_acc(cc, Y, labels, B, C);
        REF->confusion_acc(cr, Y, labels, B, C);
        cmp_exact("confusion_acc", cc, cr, (size_t)C * C * sizeof *cc);
        free(Y);
        free(labels);
        free(cc);
        free(cr);
    }
    /* ties go to the lowest index, worked by hand: rows [1 3 3] and [2 2 2] */
    float Y[6] = {1, 3, 3, 2, 2, 2};
    int32_t labels[2] = {2, 1}, conf[9] = {0};
    CPU->confusion_acc(conf, Y, labels, 2, 3);
    CHECK(conf[2 * 3 + 1] == 1 && conf[1 * 3 + 0] == 1);
}

/* ---- thread-count independence of the reductions ---- */

typedef struct Snap {
    unsigned char *p;
    size_t n, cap;
} Snap;

static void snap_add(Snap *s, const void *x, size_t nbytes) {
    if (s->n + nbytes > s->cap) {
        s->cap = 2 * (s->n + nbytes);
        s->p = realloc(s->p, s->cap);
        AE_ASSERT(s->p);
    }
    memcpy(s->p + s->n, x, nbytes);
    s->n += nbytes;
}

/* Every reduction of the CPU backend on inputs above the parallel threshold. */
static Snap reductions(void) {
    enum { B = 257, O = 131, BL = TALL_B, OL = TALL_O };
    const size_t n = (size_t)B * O, nl = (size_t)BL * OL;
    RngStream saved = RNG;
    RNG = rng_stream(99, 1); /* the same inputs each time */
    Snap s = {0};
    float out, *dY = nans(nl), *Y, *T;
    int32_t *labels;
    for (int k = 0; k < LOSS_COUNT; k++)
        for (int big = 0; big < 2; big++) {
            int b = big ? BL : B, o = big ? OL : O;
            loss_inputs((LossKind)k, b, o, &Y, &T, &labels);
            CPU->loss(&out, dY, Y, T, labels, (LossKind)k, ACT_IDENTITY, b, o, NULL);
            snap_add(&s, &out, sizeof out);
            snap_add(&s, dY, (size_t)b * o * sizeof *dY);
            CPU->loss(&out, dY, Y, T, labels, (LossKind)k, ACT_SIGMOID, b, o, NULL);
            snap_add(&s, dY, (size_t)b * o * sizeof *dY);
            float *dbs = calloc((size_t)o, sizeof(float));
            CPU->loss(&out, dY, Y, T, labels, (LossKind)k, ACT_TANH, b, o, dbs);
            snap_add(&s, &out, sizeof out);
            snap_add(&s, dbs, (size_t)o * sizeof *dbs);
            free(dbs);
            free(Y);
            free(T);
            free(labels);
        }
    float *H = rnd(n, 0, 1), *dH = calloc(n, sizeof(float)), *rh = calloc(O, sizeof(float));
    CPU->l1_penalty(&out, dH, H, 0.1f, (float)B, n);
    snap_add(&s, &out, sizeof out);
    CPU->kl_penalty(&out, dH, rh, H, 0.05f, 3.0f, B, O);
    snap_add(&s, &out, sizeof out);
    snap_add(&s, rh, O * sizeof *rh);
    snap_add(&s, dH, n * sizeof *dH);
    CPU->weight_decay(&out, dH, H, 1e-3f, n);
    snap_add(&s, &out, sizeof out);
    double d = CPU->dot(H, dH, n);
    snap_add(&s, &d, sizeof d);
    float *db = calloc(O, sizeof(float)), *dbl = calloc(OL, sizeof(float));
    CPU->colsum_acc(db, dH, B, O);
    snap_add(&s, db, O * sizeof *db);
    float *Zl = rnd(nl, -1, 1);
    CPU->colsum_acc(dbl, Zl, BL, OL);
    snap_add(&s, dbl, OL * sizeof *dbl);
    CPU->act_backward(dH, dH, H, ACT_TANH, B, O, db);
    snap_add(&s, db, O * sizeof *db);
    snap_add(&s, dH, n * sizeof *dH);
    free(Zl);
    free(dY);
    free(H);
    free(dH);
    free(rh);
    free(db);
    free(dbl);
    RNG = saved;
    return s;
}

static void test_threads(void) {
    backend_cpu_set_threads(1);
    Snap one = reductions();
    int counts[2] = {2, 3};
    for (int c = 0; c < 2; c++) {
        int got = backend_cpu_set_threads(counts[c]);
        CHECK(got == counts[c]);
        Snap many = reductions();
        snprintf(CASE, sizeof CASE, "1 vs %d threads", counts[c]);
        CHECK(many.n == one.n);
        if (many.n == one.n) cmp_exact("reductions, thread count", many.p, one.p, one.n);
        free(many.p);
    }
    free(one.p);
    backend_cpu_set_threads(0);
}

int main(void) {
    CPU = backend_cpu();
    REF = backend_reference();
    CHECK_STR(REF->name, "reference");
    /* the cases must reach the CPU backend's parallel paths */
    CHECK((size_t)SHAPES[NSHAPES - 1][0] * SHAPES[NSHAPES - 1][1] > PAR_ELEMS);
    CHECK(TALL_B > PAR_ELEMS);
    RNG = rng_stream(20240611, 1);
    test_memory();
    test_gemm();
    test_bias_act_forward();
    test_act_backward();
    test_colsum();
    test_loss();
    test_l1();
    test_kl();
    test_weight_decay();
    test_gather();
    test_gather_rows();
    test_noise();
    test_noise_counter();
    test_noise_stats();
    test_sgd();
    test_adam();
    test_vector();
    test_confusion();
    test_threads();

    printf("%-36s %6s %9s %11s %s\n", "op (cpu vs reference)", "cases", "elements", "max |err|",
           "of tolerance");
    for (int i = 0; i < NSTATS; i++) {
        const OpStat *st = &STATS[i];
        if (st->exact)
            printf("%-36s %6d %9zu %11s %s\n", st->op, st->ncmp, st->nelem, "-",
                   st->worst > 0 ? "DIFFERS" : "bit-identical");
        else
            printf("%-36s %6d %9zu %11.3g %.3f\n", st->op, st->ncmp, st->nelem, st->max_err,
                   st->worst);
    }
    return tu_summary("test_backend_ops");
}
