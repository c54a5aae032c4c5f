/* tests/test_lbfgs_chunks.c — a full batch evaluated in chunks is the same objective as in one
 * piece: L-BFGS runs of 4 iterations with chunks of 7 rows and with one chunk of all 60 rows
 * end at the same loss (to float rounding), for an autoencoder with normalised L1 and weight
 * decay, one with the lecture's L1 (a sum, not a mean), a classifier with weight decay, and
 * autoencoders with KL sparsity (whose mean activations span every chunk: a first pass), with
 * and without masking noise (which both passes must draw alike).
 * KL in two passes keeps the first pass's codes for the second (train.h,
 * TRAIN_KL_CODES_MAX_BYTES): with them and with recompute_kl_codes the runs are equal bit for bit
 * (objective, parts, every trained parameter) on the CPU backend at 1 and 2 threads and on the
 * reference backend, for a one-layer and a two-layer trained encoder, with and without noise,
 * and the kept codes save exactly the code layer's forward GEMM of every chunk. */
#include <string.h>

#include "backend.h"
#include "ref_ops.h"
#include "model.h"
#include "testutil.h"
#include "train.h"

typedef struct Last {
    double loss, penalty, objective;
} Last;

static bool keep(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Last *l = ctx;
    l->loss = s->loss;
    l->penalty = s->penalty;
    l->objective = s->objective;
    return true;
}

static Last run(const DeviceData *d, TaskKind kind, PenaltyKind pen, NoiseKind noise, int chunk) {
    const Backend *be = backend_cpu();
    Model *m = model_create(be, 12, NULL);
    RngStream rng = rng_stream(5, RNG_STREAM_INIT);
    /* KL sparsity wants mean activations in (0, 1): a sigmoid code */
    m->enc[m->nenc++] = layer_create(be, 12, 6, pen == PEN_KL ? ACT_SIGMOID : ACT_TANH, NULL);
    if (kind == TASK_AUTOENCODER) m->dec[m->ndec++] = layer_create(be, 6, 12, ACT_SIGMOID, NULL);
    else m->head[m->nhead++] = layer_create(be, 6, 3, ACT_LOGSOFTMAX, NULL);
    layer_init(be, m->enc[0], INIT_PYTORCH, &rng);
    layer_init(be, kind == TASK_AUTOENCODER ? m->dec[0] : m->head[0], INIT_PYTORCH, &rng);
    TrainTask t = {.kind = kind, .depth = 1, .loss = kind == TASK_AUTOENCODER ? LOSS_MSE : LOSS_NLL,
                   .epochs = 4, .seed = 1, .weight_decay = 0.01f, .lbfgs_chunk = chunk};
    t.opt.kind = OPT_LBFGS;
    t.opt.lr = 1.0f;
    t.sparsity.kind = pen;
    t.sparsity.weight = 0.05f;
    t.sparsity.rho = 0.1f;
    t.sparsity.beta = 3.0f;
    t.noise = (NoiseSpec){.kind = noise, .fraction = 0.2f};
    Last last = {0};
    TrainHooks h = {.ctx = &last, .on_epoch = keep};
    AeError err;
    CHECK(train_stage(m, &t, d, NULL, &h, &err) == TRAIN_OK);
    model_free(m);
    return last;
}

/* ---- the kept codes against recomputing them ---- */

static Backend counted;
static const Backend *inner;
static long n_gemm;
static double gemm_flops;

static void c_gemm_nt(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    n_gemm++;
    gemm_flops += 2.0 * M * N_ * K;
    inner->gemm_nt(M, N_, K, alpha, A, B, beta, C);
}
static void c_gemm_nn(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    n_gemm++;
    gemm_flops += 2.0 * M * N_ * K;
    inner->gemm_nn(M, N_, K, alpha, A, B, beta, C);
}
static void c_gemm_tn(int M, int N_, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    n_gemm++;
    gemm_flops += 2.0 * M * N_ * K;
    inner->gemm_tn(M, N_, K, alpha, A, B, beta, C);
}

static const Backend *counting(const Backend *be) {
    inner = be;
    counted = *be;
    counted.gemm_nt = c_gemm_nt;
    counted.gemm_nn = c_gemm_nn;
    counted.gemm_tn = c_gemm_tn;
    return &counted;
}

typedef struct KlRun {
    Last last;
    int evals;
    float params[4][256];
    size_t np[4];
    double flops; /* GEMM FLOPs of the whole stage */
} KlRun;

static bool keep_evals(void *ctx, const EpochStats *s, AeError *err) {
    KlRun *k = ctx;
    k->evals = s->evaluations;
    return keep(&k->last, s, err);
}

/* KL autoencoder, chunks of 7 of the 60 rows: one trained encoder layer (12-6-12) or two
 * (12-8-6-8-12, depth 2: the code's layer has a trained layer below it whose output the
 * gradient pass recomputes). */
static void run_kl(const Backend *base, const Dataset *ds, bool two, NoiseKind noise,
                   bool recompute, KlRun *out) {
    const Backend *be = counting(base);
    memset(out, 0, sizeof *out);
    AeError err;
    DeviceData *d = device_data_create(be, ds, &err);
    Model *m = model_create(be, 12, NULL);
    RngStream rng = rng_stream(5, RNG_STREAM_INIT);
    Layer *tr[4];
    int nt = 0;
    if (two) {
        m->enc[m->nenc++] = tr[nt++] = layer_create(be, 12, 8, ACT_TANH, NULL);
        m->enc[m->nenc++] = tr[nt++] = layer_create(be, 8, 6, ACT_SIGMOID, NULL);
        m->dec[m->ndec++] = tr[nt++] = layer_create(be, 6, 8, ACT_TANH, NULL);
        m->dec[m->ndec++] = tr[nt++] = layer_create(be, 8, 12, ACT_SIGMOID, NULL);
    } else {
        m->enc[m->nenc++] = tr[nt++] = layer_create(be, 12, 6, ACT_SIGMOID, NULL);
        m->dec[m->ndec++] = tr[nt++] = layer_create(be, 6, 12, ACT_SIGMOID, NULL);
    }
    for (int i = 0; i < nt; i++) layer_init(be, tr[i], INIT_PYTORCH, &rng);
    TrainTask t = {.kind = TASK_AUTOENCODER, .depth = two ? 2 : 1, .loss = LOSS_MSE, .epochs = 4,
                   .seed = 1, .weight_decay = 0.01f, .lbfgs_chunk = 7,
                   .recompute_kl_codes = recompute};
    t.opt.kind = OPT_LBFGS;
    t.opt.lr = 1.0f;
    t.sparsity = (SparsitySpec){.kind = PEN_KL, .rho = 0.1f, .beta = 3.0f};
    t.noise = (NoiseSpec){.kind = noise, .fraction = 0.2f};
    TrainHooks h = {.ctx = out, .on_epoch = keep_evals};
    gemm_flops = 0;
    TrainStatus st = train_stage(m, &t, d, NULL, &h, &err);
    if (st != TRAIN_OK) printf("train_stage: %s\n", err.msg);
    CHECK(st == TRAIN_OK);
    out->flops = gemm_flops;
    for (int i = 0; i < nt; i++) {
        out->np[i] = tr[i]->nparams;
        be->download(out->params[i], tr[i]->params, tr[i]->nparams * sizeof(float));
    }
    model_free(m);
    device_data_free(d);
}

static void kl_codes_cases(const Dataset *ds) {
    struct { const Backend *be; int threads; const char *name; } backs[] = {
        {NULL, 1, "cpu/1t"}, {NULL, 2, "cpu/2t"}, {NULL, 1, "reference"}};
    backs[0].be = backs[1].be = backend_cpu();
    backs[2].be = backend_reference();
    for (int b = 0; b < 3; b++) {
        backend_cpu_set_threads(backs[b].threads);
        for (int two = 0; two < 2; two++)
            for (int nz = 0; nz < 2; nz++) {
                NoiseKind noise = nz ? NOISE_MASKING : NOISE_NONE;
                KlRun kept, again;
                run_kl(backs[b].be, ds, two, noise, false, &kept);
                run_kl(backs[b].be, ds, two, noise, true, &again);
                bool same = kept.last.objective == again.last.objective &&
                            kept.last.loss == again.last.loss &&
                            kept.last.penalty == again.last.penalty && kept.evals == again.evals;
                for (int i = 0; i < 4; i++)
                    if (kept.np[i] != again.np[i] ||
                        memcmp(kept.params[i], again.params[i], kept.np[i] * sizeof(float)))
                        same = false;
                /* per evaluation, 9 chunks (8 of 7 rows, one of 4): the code layer's forward
                 * (6 outputs of 8 or 12 inputs) once instead of twice */
                double saved = 2.0 * 60 * 6 * (two ? 8 : 12) * kept.evals;
                printf("%-9s KL %s%s: kept codes vs recomputed: %s after %d evaluations; "
                       "GEMM FLOPs %.0f vs %.0f\n", backs[b].name,
                       two ? "two trained encoder layers" : "one encoder layer",
                       nz ? ", masking noise" : "", same ? "equal bit for bit" : "DIFFERENT",
                       kept.evals, kept.flops, again.flops);
                CHECK(same);
                CHECK(kept.evals > 4);
                CHECK(kept.last.penalty > 0.01);
                CHECK(again.flops - kept.flops == saved);
            }
    }
    backend_cpu_set_threads(1);
}

int main(void) {
    backend_cpu_set_threads(1);
    enum { N = 60, D = 12 };
    uint8_t img[N * D], lab[N];
    RngStream r = rng_stream(3, 9);
    for (int i = 0; i < N * D; i++) img[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % 3);
    Dataset ds = {.n = N, .rows = 1, .cols = D, .D = D, .C = 3, .images = img, .labels = lab};
    AeError err;
    DeviceData *d = device_data_create(backend_cpu(), &ds, &err);
    struct { TaskKind kind; PenaltyKind pen; NoiseKind noise; const char *name; } cases[] = {
        {TASK_AUTOENCODER, PEN_L1_NORMALISED, NOISE_NONE, "ae, normalised L1 + decay"},
        {TASK_AUTOENCODER, PEN_L1, NOISE_NONE, "ae, lecture L1 + decay"},
        {TASK_CLASSIFIER, PEN_NONE, NOISE_NONE, "classifier + decay"},
        /* KL: the mean activations of all 60 rows first, then the chunks' gradients */
        {TASK_AUTOENCODER, PEN_KL, NOISE_NONE, "ae, KL + decay"},
        {TASK_AUTOENCODER, PEN_KL, NOISE_MASKING, "ae, KL + decay + masking noise"},
    };
    for (int c = 0; c < 5; c++) {
        Last whole = run(d, cases[c].kind, cases[c].pen, cases[c].noise, N);
        Last chunked = run(d, cases[c].kind, cases[c].pen, cases[c].noise, 7);
        printf("%-32s objective %.9g (one chunk) vs %.9g (chunks of 7); penalty %.9g vs %.9g\n",
               cases[c].name, whole.objective, chunked.objective, whole.penalty, chunked.penalty);
        CHECK(whole.objective > 0);
        CHECK_NEAR(chunked.objective, whole.objective, 0, 1e-5);
        CHECK_NEAR(chunked.loss, whole.loss, 0, 1e-5);
        CHECK_NEAR(chunked.penalty, whole.penalty, 1e-7, 1e-5);
        if (cases[c].pen == PEN_KL) CHECK(whole.penalty > 0.01);
    }
    device_data_free(d);
    kl_codes_cases(&ds);
    return tu_summary("test_lbfgs_chunks");
}
