/* tests/test_lbfgs_chunks.c — a full batch evaluated in chunks is the same objective as in one
 * piece: L-BFGS runs of 4 iterations with chunks of 7 rows and with one chunk of all 60 rows
 * end at the same loss (to float rounding), for an autoencoder with normalised L1 and weight
 * decay, one with the lecture's L1 (a sum, not a mean), and a classifier with weight decay. */
#include <string.h>

#include "backend.h"
#include "model.h"
#include "testutil.h"
#include "train.h"

typedef struct Last {
    double loss, objective;
} Last;

static bool keep(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Last *l = ctx;
    l->loss = s->loss;
    l->objective = s->objective;
    return true;
}

static Last run(const DeviceData *d, TaskKind kind, PenaltyKind pen, int chunk) {
    const Backend *be = backend_cpu();
    Model *m = model_create(be, 12, NULL);
    RngStream rng = rng_stream(5, RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer_create(be, 12, 6, ACT_TANH, NULL);
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
    struct { TaskKind kind; PenaltyKind pen; const char *name; } cases[] = {
        {TASK_AUTOENCODER, PEN_L1_NORMALISED, "ae, normalised L1 + decay"},
        {TASK_AUTOENCODER, PEN_L1, "ae, lecture L1 + decay"},
        {TASK_CLASSIFIER, PEN_NONE, "classifier + decay"},
    };
    for (int c = 0; c < 3; c++) {
        Last whole = run(d, cases[c].kind, cases[c].pen, N);
        Last chunked = run(d, cases[c].kind, cases[c].pen, 7);
        printf("%-28s objective %.9g (one chunk) vs %.9g (chunks of 7)\n", cases[c].name,
               whole.objective, chunked.objective);
        CHECK(whole.objective > 0);
        CHECK_NEAR(chunked.objective, whole.objective, 0, 1e-5);
        CHECK_NEAR(chunked.loss, whole.loss, 0, 1e-5);
    }
    device_data_free(d);
    return tu_summary("test_lbfgs_chunks");
}
