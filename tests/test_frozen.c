/* tests/test_frozen.c — a frozen prefix's outputs computed once per stage give the same training
 * as running the prefix forward every batch: for a classifier on a frozen two-layer encoder
 * (SGD with momentum over shuffled batches with a short last batch, with the per-epoch test
 * accuracy; and full-batch L-BFGS in chunks) and for greedy pretraining of a second layer on a
 * frozen first one (Adam, Gaussian input noise), the trained parameters and every epoch's
 * figures are equal bit for bit on the reference backend and for L-BFGS, and within float
 * rounding on the CPU backend (1 and 2 threads) over shuffled batches.
 * A counting wrapper around the backend shows that the cached stage runs the frozen layers'
 * GEMMs once per stage instead of once per batch, and assembles its batches with gather_rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "ref_ops.h"
#include "testutil.h"
#include "train.h"

enum { N = 130, NT = 50, D = 12, H1 = 8, H2 = 6, C = 3, MAXE = 8 };

/* ---- a backend that counts the calls the test is about ---- */
static Backend counted;
static const Backend *inner;
static long n_gemm_nt, n_gather, n_gather_rows;

static void c_gemm_nt(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *Cm) {
    n_gemm_nt++;
    inner->gemm_nt(M, N_, K, alpha, A, B, beta, Cm);
}
static void c_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                     const int32_t *idx, int B, int D_, float scale) {
    n_gather++;
    inner->gather(X, y, images, labels, idx, B, D_, scale);
}
static void c_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                          const int32_t *idx, int B, int D_) {
    n_gather_rows++;
    inner->gather_rows(X, y, rows, labels, idx, B, D_);
}

static const Backend *counting(const Backend *be) {
    inner = be;
    counted = *be;
    counted.gemm_nt = c_gemm_nt;
    counted.gather = c_gather;
    counted.gather_rows = c_gather_rows;
    return &counted;
}

/* ---- one stage, run twice ---- */
typedef struct Trace {
    int n;
    double loss[MAXE], test_acc[MAXE], train_acc[MAXE], objective[MAXE];
} Trace;

static bool record(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Trace *t = ctx;
    if (t->n < MAXE) {
        t->loss[t->n] = s->loss;
        t->test_acc[t->n] = s->test_accuracy;
        t->train_acc[t->n] = s->train_accuracy;
        t->objective[t->n] = s->objective;
        t->n++;
    }
    return true;
}

typedef enum { CASE_SGD, CASE_LBFGS, CASE_GREEDY } Case;

typedef struct Outcome {
    float params[2][512]; /* the trained layers' parameters */
    size_t np[2];
    Trace tr;
    long gemm_nt, gather, gather_rows;
} Outcome;

static void run(const Backend *base, Case k, bool recompute, const DeviceData *tr,
                const DeviceData *te, Outcome *o) {
    const Backend *be = counting(base);
    memset(o, 0, sizeof *o);
    AeError err;
    Model *m = model_create(be, D, &err);
    RngStream rng = rng_stream(11, RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer_create(be, D, H1, ACT_TANH, &err);
    m->enc[m->nenc++] = layer_create(be, H1, H2, ACT_SIGMOID, &err);
    layer_init(be, m->enc[0], INIT_PYTORCH, &rng);
    layer_init(be, m->enc[1], INIT_PYTORCH, &rng);
    TrainTask t = {.batch_size = 32, .shuffle = true, .seed = 5, .stage_index = 2,
                   .recompute_prefix = recompute};
    Layer *trained[2];
    if (k == CASE_GREEDY) {
        m->dec[m->ndec++] = layer_create(be, H2, H1, ACT_TANH, &err);
        layer_init(be, m->dec[0], INIT_PYTORCH, &rng);
        t.kind = TASK_AUTOENCODER;
        t.depth = 1;
        t.loss = LOSS_MSE;
        t.epochs = 4;
        t.opt = (OptimSpec){.kind = OPT_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f,
                            .eps = 1e-8f};
        t.noise = (NoiseSpec){.kind = NOISE_GAUSSIAN, .std = 0.2f};
        t.sparsity = (SparsitySpec){.kind = PEN_L1, .weight = 0.01f};
        trained[0] = m->enc[1];
        trained[1] = m->dec[0];
    } else {
        m->head[m->nhead++] = layer_create(be, H2, C, ACT_LOGSOFTMAX, &err);
        layer_init(be, m->head[0], INIT_PYTORCH, &rng);
        t.kind = TASK_CLASSIFIER;
        t.freeze_encoder = true;
        t.loss = LOSS_NLL;
        t.weight_decay = 0.001f;
        if (k == CASE_SGD) {
            t.epochs = 5;
            t.opt = (OptimSpec){.kind = OPT_SGD, .lr = 0.5f, .momentum = 0.9f};
        } else {
            t.epochs = 6;
            t.lbfgs_chunk = 40;
            t.opt = (OptimSpec){.kind = OPT_LBFGS, .lr = 1.0f};
        }
        trained[0] = m->head[0];
        trained[1] = NULL;
    }
    TrainHooks h = {.ctx = &o->tr, .on_epoch = record};
    n_gemm_nt = n_gather = n_gather_rows = 0;
    CHECK(train_stage(m, &t, tr, k == CASE_GREEDY ? NULL : te, &h, &err) == TRAIN_OK);
    o->gemm_nt = n_gemm_nt;
    o->gather = n_gather;
    o->gather_rows = n_gather_rows;
    for (int i = 0; i < 2 && trained[i]; i++) {
        o->np[i] = trained[i]->nparams;
        be->download(o->params[i], trained[i]->params, o->np[i] * sizeof(float));
    }
    model_free(m);
}

static bool same_trace(const Trace *a, const Trace *b) {
    if (a->n != b->n || a->n == 0) return false;
    for (int e = 0; e < a->n; e++) {
        if (a->loss[e] != b->loss[e] || a->objective[e] != b->objective[e]) return false;
        if (isnan(a->test_acc[e]) != isnan(b->test_acc[e])) return false;
        if (!isnan(a->test_acc[e]) && a->test_acc[e] != b->test_acc[e]) return false;
        if (!isnan(a->train_acc[e]) && a->train_acc[e] != b->train_acc[e]) return false;
    }
    return true;
}

/* Largest |a - b| over the trained parameters, and over the epochs' losses (relative). */
static double params_diff(const Outcome *a, const Outcome *b) {
    double m = 0;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < a->np[i]; j++) m = fmax(m, fabs(a->params[i][j] - b->params[i][j]));
    return m;
}

static double loss_diff(const Trace *a, const Trace *b) {
    double m = 0;
    for (int e = 0; e < a->n && e < b->n; e++)
        m = fmax(m, fabs(a->objective[e] - b->objective[e]) / fabs(a->objective[e]));
    return m;
}

/* exact: the two must agree bit for bit (the reference backend, whose plain-loop GEMM sums each
 * element in one order wherever its row sits, and L-BFGS, whose chunks are the same rows in the
 * same order either way). Otherwise within float rounding: OpenBLAS's kernels may round an
 * element differently when its row sits at another place in the batch (shuffled batches). */
static void compare(const Backend *be, const char *bname, Case k, const char *cname, bool exact,
                    const DeviceData *tr, const DeviceData *te) {
    static Outcome a, b;
    run(be, k, true, tr, te, &a);
    run(be, k, false, tr, te, &b);
    bool shapes = a.np[0] > 0 && a.np[0] == b.np[0] && a.np[1] == b.np[1] && a.tr.n == b.tr.n;
    bool params_equal = shapes &&
                        memcmp(a.params[0], b.params[0], a.np[0] * sizeof(float)) == 0 &&
                        memcmp(a.params[1], b.params[1], a.np[1] * sizeof(float)) == 0;
    double pd = params_diff(&a, &b), ld = loss_diff(&a.tr, &b.tr);
    printf("%-12s %-34s params %s (max |diff| %.2g), %d epochs %s (objective rel %.2g); "
           "gemm_nt %ld -> %ld, gather %ld -> %ld, gather_rows %ld -> %ld\n",
           bname, cname, params_equal ? "equal" : "differ", pd, a.tr.n,
           same_trace(&a.tr, &b.tr) ? "equal" : "differ", ld, a.gemm_nt, b.gemm_nt, a.gather,
           b.gather, a.gather_rows, b.gather_rows);
    CHECK(shapes);
    if (exact) {
        CHECK(params_equal);
        CHECK(same_trace(&a.tr, &b.tr));
    } else {
        CHECK(pd < 1e-5);
        CHECK(ld < 1e-5);
    }
    /* Recomputing never takes rows from codes; caching always does, for every batch. */
    CHECK(a.gather_rows == 0);
    CHECK(b.gather_rows > 0);
    CHECK(b.gemm_nt < a.gemm_nt);
    if (k == CASE_SGD) {
        /* 5 epochs of 5 batches (4 of 32 and one of 2) of training and 2 test batches (32 +
         * 18): recomputing runs 3 layers forward per batch; caching runs the frozen 2 once
         * over 5 training and 2 test batches, then only the head. */
        int nb = (N + 31) / 32, ntb = (NT + 31) / 32;
        CHECK(a.gemm_nt == 5L * (3 * nb + 3 * ntb));
        CHECK(b.gemm_nt == 2L * (nb + ntb) + 5L * (nb + ntb));
        CHECK(b.gather == nb + ntb);
        CHECK(b.gather_rows == 5L * (nb + ntb));
    }
    if (k == CASE_GREEDY) CHECK(b.gather == (N + 31) / 32); /* the images are read once */
}

int main(void) {
    uint8_t img[N * D], lab[N], timg[NT * D], tlab[NT];
    RngStream r = rng_stream(3, 9);
    for (int i = 0; i < N * D; i++) img[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)((img[i * D] + img[i * D + 1]) % C);
    for (int i = 0; i < NT * D; i++) timg[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < NT; i++) tlab[i] = (uint8_t)((timg[i * D] + timg[i * D + 1]) % C);
    Dataset ds = {.n = N, .rows = 1, .cols = D, .D = D, .C = C, .images = img, .labels = lab};
    Dataset ts = {.n = NT, .rows = 1, .cols = D, .D = D, .C = C, .images = timg, .labels = tlab};
    const Backend *bes[2] = {backend_cpu(), backend_reference()};
    const char *names[2] = {"cpu", "reference"};
    const char *cases[3] = {"classifier, frozen, sgd+momentum", "classifier, frozen, lbfgs",
                            "greedy layer 2, adam + noise + l1"};
    AeError err;
    for (int b = 0; b < 2; b++) {
        DeviceData *tr = device_data_create(bes[b], &ds, &err);
        DeviceData *te = device_data_create(bes[b], &ts, &err);
        CHECK(tr && te);
        for (int threads = 1; threads <= (b == 0 ? 2 : 1); threads++) {
            backend_cpu_set_threads(threads);
            char bname[32];
            snprintf(bname, sizeof bname, "%s/%dt", names[b], threads);
            for (int k = 0; k < 3; k++)
                compare(bes[b], bname, (Case)k, cases[k], b == 1 || k == CASE_LBFGS, tr, te);
        }
        device_data_free(tr);
        device_data_free(te);
    }
    return tu_summary("test_frozen");
}
