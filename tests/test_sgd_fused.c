/* tests/test_sgd_fused.c — plain SGD (no momentum, no weight decay) is applied inside the
 * backward pass (engine/train.c: W -= lr dZ^T A by the GEMM itself, the input gradient taken
 * with the old W first). One SGD step on one batch must equal params - lr * gradient, the
 * gradient from train_gradients (the path gradient checks verify), for:
 *  - an autoencoder 12-6-12 (two trained layers: the decoder's input gradient must use the
 *    decoder's weights from before the step),
 *  - a classifier 12-6-5-3 fine-tuned end to end (three trained layers),
 * and with momentum 0.5 or weight decay (the unfused path, optimizer step after the backward
 * pass) the same equality with their update rules. Tolerance: 2e-6 absolute (float rounding of
 * sums over 40 rows in a different order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "testutil.h"
#include "train.h"

enum { N = 40, D = 12 };

static Model *model_new(TaskKind kind) {
    const Backend *be = backend_cpu();
    Model *m = model_create(be, D, NULL);
    RngStream rng = rng_stream(11, RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer_create(be, D, 6, ACT_TANH, NULL);
    if (kind == TASK_AUTOENCODER) {
        m->dec[m->ndec++] = layer_create(be, 6, D, ACT_SIGMOID, NULL);
    } else {
        m->head[m->nhead++] = layer_create(be, 6, 5, ACT_RELU, NULL);
        m->head[m->nhead++] = layer_create(be, 5, 3, ACT_LOGSOFTMAX, NULL);
    }
    layer_init(be, m->enc[0], INIT_PYTORCH, &rng);
    if (kind == TASK_AUTOENCODER) layer_init(be, m->dec[0], INIT_PYTORCH, &rng);
    else
        for (int i = 0; i < m->nhead; i++) layer_init(be, m->head[i], INIT_PYTORCH, &rng);
    return m;
}

/* The trained layers of m for kind, bottom up. */
static int layers_of(Model *m, TaskKind kind, Layer **L) {
    int n = 0;
    L[n++] = m->enc[0];
    if (kind == TASK_AUTOENCODER) L[n++] = m->dec[0];
    else
        for (int i = 0; i < m->nhead; i++) L[n++] = m->head[i];
    return n;
}

static float *download(const float *dev, size_t n) {
    float *h = malloc(n * sizeof *h);
    backend_cpu()->download(h, dev, n * sizeof *h);
    return h;
}

static void one_case(const DeviceData *d, TaskKind kind, float momentum, float decay,
                     const char *name) {
    const float lr = 0.3f;
    TrainTask t = {.kind = kind, .depth = 1, .loss = kind == TASK_AUTOENCODER ? LOSS_MSE : LOSS_NLL,
                   .epochs = 1, .batch_size = N, .seed = 1, .weight_decay = decay};
    t.opt.kind = OPT_SGD;
    t.opt.lr = lr;
    t.opt.momentum = momentum;
    AeError err;

    /* expected: p - lr * (g + momentum * 0) (the first step's velocity is g), decay inside g */
    Model *m = model_new(kind);
    Layer *L[4];
    int nl = layers_of(m, kind, L);
    double parts[3];
    CHECK(train_gradients(m, &t, d, parts, &err));
    float *want[4];
    for (int i = 0; i < nl; i++) {
        float *p = download(L[i]->params, L[i]->nparams), *g = download(L[i]->grads, L[i]->nparams);
        for (size_t k = 0; k < L[i]->nparams; k++) p[k] -= lr * g[k];
        want[i] = p;
        free(g);
    }
    model_free(m);

    /* one epoch of one batch through train_stage */
    m = model_new(kind);
    layers_of(m, kind, L);
    CHECK(train_stage(m, &t, d, NULL, NULL, &err) == TRAIN_OK);
    double worst = 0;
    for (int i = 0; i < nl; i++) {
        float *got = download(L[i]->params, L[i]->nparams);
        for (size_t k = 0; k < L[i]->nparams; k++)
            worst = fmax(worst, fabs((double)got[k] - want[i][k]));
        free(got);
        free(want[i]);
    }
    printf("%-40s max |step - (p - lr g)| = %.3g\n", name, worst);
    CHECK(worst <= 2e-6);
    model_free(m);
}

int main(void) {
    backend_cpu_set_threads(1);
    uint8_t img[N * D], lab[N];
    RngStream r = rng_stream(3, 9);
    for (int i = 0; i < N * D; i++) img[i] = (uint8_t)rng_next_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % 3);
    Dataset ds = {.n = N, .rows = 1, .cols = D, .D = D, .C = 3, .images = img, .labels = lab};
    AeError err;
    DeviceData *d = device_data_create(backend_cpu(), &ds, &err);
    CHECK(d != NULL);
    one_case(d, TASK_AUTOENCODER, 0.0f, 0.0f, "autoencoder, plain SGD (fused)");
    one_case(d, TASK_CLASSIFIER, 0.0f, 0.0f, "classifier, plain SGD (fused)");
    one_case(d, TASK_AUTOENCODER, 0.5f, 0.0f, "autoencoder, momentum 0.5");
    one_case(d, TASK_CLASSIFIER, 0.0f, 0.01f, "classifier, weight decay 0.01");
    device_data_free(d);
    return tu_summary("test_sgd_fused");
}
