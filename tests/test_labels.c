/* tests/test_labels.c — labels outside the classifier's range never reach a buffer.
 *
 * A head of C outputs indexes its loss gradient and the confusion matrix by label, so a label
 * >= C would write past them (the heap corruption of `classes: 3` on MNIST's 10 labels). The
 * engine refuses such data in train_stage, train_gradients and model_evaluate before anything
 * runs, and device_data_create takes C from the labels themselves, so a Dataset whose C
 * understates them is caught as well. In-memory data only: no files. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "testutil.h"
#include "train.h"

enum { N = 64, D = 12 };

/* N examples of D features; labels i % nlabels, C as given (possibly understated). */
static Dataset *make_data(int nlabels, int C) {
    Dataset *d = calloc(1, sizeof *d);
    d->n = N;
    d->rows = 3;
    d->cols = 4;
    d->D = D;
    d->C = C;
    d->images = malloc((size_t)N * D);
    d->labels = malloc(N);
    for (int i = 0; i < N * D; i++) d->images[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < N; i++) d->labels[i] = (uint8_t)(i % nlabels);
    return d;
}

/* A model D -> 8 (tanh) -> classes (log-softmax). */
static Model *make_model(const Backend *be, int classes) {
    Model *m = model_create(be, D, NULL);
    RngStream rng = rng_stream(7, RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer_create(be, D, 8, ACT_TANH, NULL);
    m->head[m->nhead++] = layer_create(be, 8, classes, ACT_LOGSOFTMAX, NULL);
    layer_init(be, m->enc[0], INIT_PYTORCH, &rng);
    layer_init(be, m->head[0], INIT_PYTORCH, &rng);
    return m;
}

static TrainTask classifier_task(LossKind loss, OptKind opt) {
    TrainTask t = {.kind = TASK_CLASSIFIER, .loss = loss, .epochs = 2, .batch_size = 16,
                   .shuffle = true, .seed = 3, .stage_index = 1};
    t.opt.kind = opt;
    t.opt.lr = 0.1f;
    t.opt.history = 5;
    t.opt.max_iter = 2;
    t.opt.tol_grad = 1e-7;
    t.opt.tol_change = 1e-9;
    return t;
}

static const char *REFUSAL = "the labels go up to 9 but the classifier has 3 outputs (classes 0..2)";

int main(void) {
    const Backend *be = backend_cpu();
    AeError err;
    /* C understated on purpose: the device copy must still see labels up to 9. */
    Dataset *wide = make_data(10, 3), *narrow = make_data(3, 3);
    DeviceData *dw = device_data_create(be, wide, &err), *dn = device_data_create(be, narrow, &err);
    CHECK(dw && dn);
    CHECK(dw->label_bound == 10);
    CHECK(dn->label_bound == 3);

    const LossKind losses[] = {LOSS_NLL, LOSS_CROSS_ENTROPY};
    const OptKind opts[] = {OPT_SGD, OPT_ADAM, OPT_LBFGS};
    for (int li = 0; li < 2; li++)
        for (int oi = 0; oi < 3; oi++) {
            Model *m = make_model(be, 3);
            TrainTask t = classifier_task(losses[li], opts[oi]);
            memset(&err, 0, sizeof err);
            CHECK(train_stage(m, &t, dw, NULL, NULL, &err) == TRAIN_ERROR);
            CHECK_STR(err.msg, REFUSAL);
            /* training data in range, test data not: refused too */
            memset(&err, 0, sizeof err);
            CHECK(train_stage(m, &t, dn, dw, NULL, &err) == TRAIN_ERROR);
            CHECK_STR(err.msg, REFUSAL);
            /* in range on both sides: trains */
            CHECK(train_stage(m, &t, dn, dn, NULL, &err) == TRAIN_OK);
            model_free(m);
        }

    Model *m = make_model(be, 3);
    TrainTask t = classifier_task(LOSS_NLL, OPT_SGD);
    double parts[3];
    memset(&err, 0, sizeof err);
    CHECK(!train_gradients(m, &t, dw, parts, &err));
    CHECK_STR(err.msg, REFUSAL);
    CHECK(train_gradients(m, &t, dn, parts, &err));
    EvalResult ev;
    memset(&err, 0, sizeof err);
    CHECK(!model_evaluate(m, dw, 16, &ev, &err));
    CHECK_STR(err.msg, REFUSAL);
    CHECK(model_evaluate(m, dn, 16, &ev, &err));
    CHECK(ev.C == 3);
    long long total = 0;
    for (int i = 0; i < 9; i++) total += ev.confusion[i];
    CHECK(total == N);
    eval_result_clear(&ev);
    model_free(m);

    /* A head wide enough for every label: fine. */
    m = make_model(be, 10);
    CHECK(train_stage(m, &t, dw, dw, NULL, &err) == TRAIN_OK);
    CHECK(model_evaluate(m, dw, 16, &ev, &err));
    CHECK(ev.C == 10);
    eval_result_clear(&ev);
    model_free(m);

    device_data_free(dw);
    device_data_free(dn);
    dataset_free(wide);
    dataset_free(narrow);
    return tu_summary("test_labels");
}
