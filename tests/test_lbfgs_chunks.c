/* tests/test_lbfgs_chunks.c — a full batch evaluated in chunks is the same objective as in one
 * piece: L-BFGS runs of 4 iterations with chunks of 7 rows and with one chunk of all 60 rows
 * end at the same loss (to float rounding), for an autoencoder with normalised L1 and weight
 * decay, one with the lecture's L1 (a sum, not a mean), a classifier with weight decay, and
 * autoencoders with KL sparsity (whose mean activations span every chunk: a first pass), with
 * and without masking noise (which both passes must draw alike). */
#include <string.h>

#include "backend.h"
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
    return tu_summary("test_lbfgs_chunks");
}
