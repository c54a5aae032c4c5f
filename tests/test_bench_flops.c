/* tests/test_bench_flops.c — the bench's FLOP model (bench/flops.c, which `make bench` uses for
 * its GFLOP/s and checks its roofline replay against) equals the FLOPs of the GEMM calls the
 * engine makes, counted through a wrapping backend, per epoch (L-BFGS: per evaluation) and once
 * per stage, for small stages of every kind the bench's workloads run: plain SGD, end-to-end
 * depth 2, a fine-tuned classifier with the per-epoch test accuracy, Adam with noise and L1, a
 * classifier on a frozen encoder (its outputs once per stage, with and without a test set, and
 * recomputed every batch), and full-batch L-BFGS with KL in one chunk, in two passes over chunks
 * (first-pass codes kept, and recomputed) and on a frozen first layer. A change to what the
 * engine computes that the model does not follow fails here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "bench/flops.h"
#include "model.h"
#include "testutil.h"
#include "train.h"

enum { N = 130, NT = 50, D = 12, MAXE = 8, MAXEV = 64 };

/* ---- a backend that adds up the GEMM FLOPs ---- */
static Backend counted;
static double flops;

static void c_gemm_nn(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    flops += 2.0 * M * N_ * K;
    backend_cpu()->gemm_nn(M, N_, K, alpha, A, B, beta, C);
}
static void c_gemm_nt(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    flops += 2.0 * M * N_ * K;
    backend_cpu()->gemm_nt(M, N_, K, alpha, A, B, beta, C);
}
static void c_gemm_tn(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    flops += 2.0 * M * N_ * K;
    backend_cpu()->gemm_tn(M, N_, K, alpha, A, B, beta, C);
}

/* ---- what a stage did ---- */
typedef struct Seen {
    double at_epoch[MAXE]; /* flops at the end of each epoch (iteration) */
    int ne;
    double eval_begin[MAXEV], eval_end[MAXEV];
    int nev;
} Seen;

static bool on_epoch(void *ctx, const EpochStats *s, AeError *err) {
    (void)s;
    (void)err;
    Seen *k = ctx;
    if (k->ne < MAXE) k->at_epoch[k->ne++] = flops;
    return true;
}

static void on_evaluation(void *ctx, bool done) {
    Seen *k = ctx;
    if (k->nev >= MAXEV) return;
    if (done) k->eval_end[k->nev++] = flops;
    else k->eval_begin[k->nev] = flops;
}

/* ---- the cases ---- */
typedef enum {
    K_AE1, K_STACKED, K_CLASSIFIER, K_DENOISE, K_FROZEN, K_FROZEN_TEST, K_FROZEN_RECOMPUTE,
    K_LBFGS_ONE, K_LBFGS_KL2, K_LBFGS_KL2_RECOMPUTE, K_LBFGS_GREEDY, K_COUNT
} Kind;

static const char *const NAMES[K_COUNT] = {
    "sgd 12-8-12", "stacked 12-8-6-8-12 depth 2", "classifier 12-8-6-3 + test",
    "adam + noise + l1 12-8-12", "frozen 12-8-6, head 6-3", "frozen 12-8-6 + test",
    "frozen, recompute_prefix", "lbfgs kl, one chunk", "lbfgs kl, chunks of 40",
    "lbfgs kl, chunks of 40, recompute", "lbfgs kl greedy layer 2, chunks of 40",
};

typedef struct Built {
    TrainTask t;
    FlopShape fs;
    bool test;
} Built;

static void add(const Backend *be, Layer **stack, int *n, int I, int O, Act a, RngStream *rng) {
    Layer *l = layer_create(be, I, O, a, NULL);
    layer_init(be, l, INIT_PYTORCH, rng);
    stack[(*n)++] = l;
}

static void shape_add(FlopShape *fs, const Layer *l) {
    fs->L[fs->nl].I = l->I;
    fs->L[fs->nl].O = l->O;
    fs->nl++;
}

/* The chain's shapes in train.c's order: the encoder, then the decoder's first `depth` layers or
 * the head. */
static void chain_shapes(const Model *m, const TrainTask *t, FlopShape *fs) {
    fs->nl = 0;
    for (int i = 0; i < m->nenc; i++) shape_add(fs, m->enc[i]);
    if (t->kind == TASK_AUTOENCODER)
        for (int i = 0; i < t->depth; i++) shape_add(fs, m->dec[i]);
    else
        for (int i = 0; i < m->nhead; i++) shape_add(fs, m->head[i]);
    fs->code = m->nenc;
    fs->first = t->kind == TASK_AUTOENCODER ? m->nenc - t->depth
                                            : (t->freeze_encoder ? m->nenc : 0);
}

static Model *build(const Backend *be, Kind k, Built *b) {
    memset(b, 0, sizeof *b);
    Model *m = model_create(be, D, NULL);
    RngStream rng = rng_stream(7, RNG_STREAM_INIT);
    TrainTask *t = &b->t;
    *t = (TrainTask){.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE, .epochs = 3,
                     .batch_size = 32, .shuffle = true, .seed = 3, .stage_index = 1};
    t->opt = (OptimSpec){.kind = OPT_SGD, .lr = 0.1f};
    bool classifier = k == K_CLASSIFIER || k == K_FROZEN || k == K_FROZEN_TEST ||
                      k == K_FROZEN_RECOMPUTE;
    bool lbfgs = k >= K_LBFGS_ONE;
    add(be, m->enc, &m->nenc, D, 8, lbfgs ? ACT_SIGMOID : ACT_TANH, &rng);
    if (k == K_STACKED || classifier || k == K_LBFGS_GREEDY)
        add(be, m->enc, &m->nenc, 8, 6, lbfgs ? ACT_SIGMOID : ACT_TANH, &rng);
    if (classifier) {
        add(be, m->head, &m->nhead, 6, 3, ACT_LOGSOFTMAX, &rng);
        t->kind = TASK_CLASSIFIER;
        t->loss = LOSS_NLL;
        t->freeze_encoder = k != K_CLASSIFIER;
        t->recompute_prefix = k == K_FROZEN_RECOMPUTE;
        b->test = k == K_CLASSIFIER || k == K_FROZEN_TEST;
    } else if (m->nenc == 2) {
        add(be, m->dec, &m->ndec, 6, 8, ACT_TANH, &rng);
        add(be, m->dec, &m->ndec, 8, D, ACT_SIGMOID, &rng);
        t->depth = k == K_STACKED ? 2 : 1;
    } else {
        add(be, m->dec, &m->ndec, 8, D, ACT_SIGMOID, &rng);
    }
    if (k == K_DENOISE) {
        t->opt = (OptimSpec){.kind = OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                             .eps = 1e-8f};
        t->noise = (NoiseSpec){.kind = NOISE_GAUSSIAN, .mean = 0.1f, .std = 0.2f};
        t->sparsity = (SparsitySpec){.kind = PEN_L1, .weight = 0.1f};
    }
    if (lbfgs) {
        t->loss = LOSS_HALF_SSE;
        t->opt = (OptimSpec){.kind = OPT_LBFGS, .lr = 1.0f, .history = 10};
        t->sparsity = (SparsitySpec){.kind = PEN_KL, .rho = 0.1f, .beta = 3.0f};
        t->weight_decay = 3e-3f;
        t->lbfgs_chunk = k == K_LBFGS_ONE ? 0 : 40;
        t->recompute_kl_codes = k == K_LBFGS_KL2_RECOMPUTE;
    }
    chain_shapes(m, t, &b->fs);
    FlopShape *fs = &b->fs;
    fs->prefix_once = fs->first > 0 && !t->recompute_prefix;
    fs->rows = N;
    fs->test_rows = b->test ? NT : 0;
    fs->lbfgs = lbfgs;
    fs->chunk = t->lbfgs_chunk > 0 ? t->lbfgs_chunk : TRAIN_LBFGS_CHUNK;
    fs->kl = t->sparsity.kind == PEN_KL;
    fs->kl_codes_kept = !t->recompute_kl_codes &&
                        (double)N * fs->L[fs->code - 1].O * sizeof(float) <=
                            (double)TRAIN_KL_CODES_MAX_BYTES;
    return m;
}

int main(void) {
    backend_cpu_set_threads(1);
    uint8_t img[N * D], lab[N], timg[NT * D], tlab[NT];
    RngStream r = rng_stream(3, 9);
    for (int i = 0; i < N * D; i++) img[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % 3);
    for (int i = 0; i < NT * D; i++) timg[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < NT; i++) tlab[i] = (uint8_t)(i % 3);
    Dataset ds = {.n = N, .rows = 1, .cols = D, .D = D, .C = 3, .images = img, .labels = lab};
    Dataset dt = {.n = NT, .rows = 1, .cols = D, .D = D, .C = 3, .images = timg, .labels = tlab};
    counted = *backend_cpu();
    counted.gemm_nn = c_gemm_nn;
    counted.gemm_nt = c_gemm_nt;
    counted.gemm_tn = c_gemm_tn;
    const Backend *be = &counted;
    AeError err;
    DeviceData *tr = device_data_create(be, &ds, &err), *te = device_data_create(be, &dt, &err);

    for (int k = 0; k < K_COUNT; k++) {
        Built b;
        Model *m = build(be, (Kind)k, &b);
        Seen seen = {0};
        TrainHooks h = {.ctx = &seen, .on_epoch = on_epoch, .on_evaluation = on_evaluation};
        flops = 0;
        TrainStatus st = train_stage(m, &b.t, tr, b.test ? te : NULL, &h, &err);
        if (st != TRAIN_OK) printf("%s: %s\n", NAMES[k], err.msg);
        CHECK(st == TRAIN_OK);
        FlopCount want = flop_model(&b.fs);
        double step, once;
        bool steps_equal = true;
        if (b.fs.lbfgs) {
            CHECK(seen.nev >= 3);
            once = seen.nev ? seen.eval_begin[0] : NAN;
            step = seen.nev ? seen.eval_end[0] - seen.eval_begin[0] : NAN;
            for (int e = 1; e < seen.nev; e++) {
                if (seen.eval_end[e] - seen.eval_begin[e] != step) steps_equal = false;
                /* nothing between evaluations does a GEMM */
                if (seen.eval_begin[e] != seen.eval_end[e - 1]) steps_equal = false;
            }
            CHECK(seen.ne > 0 && seen.at_epoch[seen.ne - 1] == seen.eval_end[seen.nev - 1]);
        } else {
            CHECK(seen.ne == 3);
            step = seen.at_epoch[1] - seen.at_epoch[0];
            once = seen.at_epoch[0] - step;
            steps_equal = seen.at_epoch[2] - seen.at_epoch[1] == step;
        }
        printf("%-40s per %s: counted %.0f, model %.0f (first pass %.0f); once: counted %.0f, "
               "model %.0f\n", NAMES[k], b.fs.lbfgs ? "evaluation" : "epoch", step, want.step,
               want.kl_pass, once, want.once);
        CHECK(steps_equal);
        CHECK(step > 0);
        CHECK(step == want.step);
        CHECK(once == want.once);
        if (k == K_FROZEN || k == K_FROZEN_TEST || k == K_LBFGS_GREEDY) CHECK(once > 0);
        if (k == K_LBFGS_KL2 || k == K_LBFGS_KL2_RECOMPUTE || k == K_LBFGS_GREEDY)
            CHECK(want.kl_pass > 0);
        model_free(m);
    }
    device_data_free(tr);
    device_data_free(te);
    return tu_summary("test_bench_flops");
}
