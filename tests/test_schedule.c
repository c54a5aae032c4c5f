/* tests/test_schedule.c — the training controls of issue 15, against hand-computed numbers:
 * learning-rate schedules (engine/schedule.c), the early-stopping rule, the validation split
 * (dataset_split_validation), the clipped SGD step (clip_norm) and restore_best.
 *
 * The schedules' expected rates are worked out by hand from the formulas in schedule.h (the
 * comments show the arithmetic). The clipped step is compared with p - lr * g * clip/||g||
 * computed on the host from the unclipped gradient (train_gradients at the same parameters).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dataset.h"
#include "model.h"
#include "schedule.h"
#include "testutil.h"
#include "train.h"

static void test_schedules(void) {
    ScheduleSpec st = {.kind = SCHED_STEP, .step_size = 2, .gamma = 0.5f};
    /* 0.1 * 0.5^floor((e-1)/2) */
    const double step[6] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    for (int e = 1; e <= 6; e++) CHECK_NEAR(schedule_lr(&st, 0.1f, e, 6), step[e - 1], 0, 1e-6);

    ScheduleSpec ms = {.kind = SCHED_MULTISTEP, .gamma = 0.1f, .milestones = {2, 4},
                       .nmilestones = 2};
    /* k = e-1; gamma^(milestones <= k): k 0,1 -> 1; k 2,3 -> 0.1; k 4 -> 0.01 */
    const double multi[5] = {1, 1, 0.1, 0.1, 0.01};
    for (int e = 1; e <= 5; e++) CHECK_NEAR(schedule_lr(&ms, 1.0f, e, 5), multi[e - 1], 0, 1e-6);

    ScheduleSpec ex = {.kind = SCHED_EXPONENTIAL, .gamma = 0.5f};
    const double expo[4] = {2, 1, 0.5, 0.25};
    for (int e = 1; e <= 4; e++) CHECK_NEAR(schedule_lr(&ex, 2.0f, e, 4), expo[e - 1], 0, 1e-6);

    ScheduleSpec co = {.kind = SCHED_COSINE};
    /* (1 + cos(pi k / 4)) / 2 for k = 0..3: 1, (1 + 0.70710678)/2, 0.5, (1 - 0.70710678)/2 */
    const double cosv[4] = {1, 0.85355339, 0.5, 0.14644661};
    for (int e = 1; e <= 4; e++) CHECK_NEAR(schedule_lr(&co, 1.0f, e, 4), cosv[e - 1], 0, 1e-6);

    ScheduleSpec wc = {.kind = SCHED_COSINE, .min_lr = 0.1f, .warmup = 2};
    /* warmup: 1*1/2, 1*2/2; then T = 6-2 = 4: 0.1 + 0.9 * cosv[k] */
    const double warm[6] = {0.5, 1.0, 1.0, 0.1 + 0.9 * 0.85355339, 0.55, 0.1 + 0.9 * 0.14644661};
    for (int e = 1; e <= 6; e++) CHECK_NEAR(schedule_lr(&wc, 1.0f, e, 6), warm[e - 1], 0, 1e-6);

    ScheduleSpec wn = {.kind = SCHED_NONE, .warmup = 4};
    const double wnv[5] = {0.25, 0.5, 0.75, 1, 1};
    for (int e = 1; e <= 5; e++) CHECK_NEAR(schedule_lr(&wn, 1.0f, e, 5), wnv[e - 1], 0, 1e-7);
    ScheduleSpec none = {0};
    CHECK(schedule_lr(&none, 0.98f, 3, 10) == 0.98f); /* bit for bit: the lectures' rate */
}

static void test_early_stop(void) {
    /* losses, min_delta 0.1, patience 2: e1 best 1.0; e2 0.95 not < 0.9 (wait 1); e3 0.85 < 0.9
     * best (wait 0); e4 0.9 not < 0.75 (wait 1); e5 0.8 not < 0.75 (wait 2): stop after e5 */
    EarlyStopSpec s = {.metric = ES_VAL_LOSS, .patience = 2, .min_delta = 0.1};
    EarlyStopState st;
    early_stop_init(&st);
    const double v[5] = {1.0, 0.95, 0.85, 0.9, 0.8};
    const bool want_imp[5] = {true, false, true, false, false};
    const bool want_stop[5] = {false, false, false, false, true};
    for (int e = 1; e <= 5; e++) {
        bool imp;
        bool stop = early_stop_update(&st, &s, e, v[e - 1], &imp);
        CHECK(imp == want_imp[e - 1]);
        CHECK(stop == want_stop[e - 1]);
    }
    CHECK(st.best_epoch == 3 && st.best == 0.85);

    /* accuracy, higher is better, min_delta 0: 50, 60 improve; 60, 59 do not: stop at 4 */
    EarlyStopSpec a = {.metric = ES_VAL_ACCURACY, .patience = 2};
    early_stop_init(&st);
    const double acc[4] = {50, 60, 60, 59};
    bool stop = false, imp;
    int e = 1;
    for (; e <= 4 && !stop; e++) stop = early_stop_update(&st, &a, e, acc[e - 1], &imp);
    CHECK(stop && e - 1 == 4 && st.best_epoch == 2);
    /* NaN never improves, not even first */
    early_stop_init(&st);
    CHECK(!early_stop_update(&st, &a, 1, NAN, &imp) && !imp && st.best_epoch == 0);
}

/* n examples of D features: example i has every pixel = i (so rows are identifiable), label
 * i % C. */
static Dataset *numbered(int n, int D, int C) {
    Dataset *d = calloc(1, sizeof *d);
    d->n = n;
    d->D = D;
    d->rows = 1;
    d->cols = D;
    d->C = C;
    d->images = malloc((size_t)n * D);
    d->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        memset(d->images + (size_t)i * D, i, (size_t)D);
        d->labels[i] = (uint8_t)(i % C);
    }
    return d;
}

static void test_split(void) {
    Dataset *d = numbered(10, 3, 2);
    RngStream rng = rng_stream(1234, RNG_STREAM_VALIDATION);
    Dataset *tr, *va;
    AeError err;
    CHECK(dataset_split_validation(d, 3, &rng, &tr, &va, &err));
    /* the reference: Fisher-Yates on the same stream, written out here */
    RngStream ref = rng_stream(1234, RNG_STREAM_VALIDATION);
    int perm[10];
    for (int i = 0; i < 10; i++) perm[i] = i;
    for (int i = 9; i > 0; i--) {
        int j = (int)rng_next_below(&ref, (uint64_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    CHECK(va->n == 3 && tr->n == 7 && va->D == 3 && tr->C == 2);
    bool held[10] = {false};
    for (int i = 0; i < 3; i++) {
        CHECK(va->images[i * 3] == perm[7 + i] && va->images[i * 3 + 2] == perm[7 + i]);
        CHECK(va->labels[i] == perm[7 + i] % 2);
        held[perm[7 + i]] = true;
    }
    int prev = -1, k = 0;
    for (int i = 0; i < 10; i++) {
        if (held[i]) continue;
        CHECK(tr->images[k * 3] == i && tr->labels[k] == i % 2); /* original order */
        CHECK(tr->images[k * 3] > prev);
        prev = tr->images[k * 3];
        k++;
    }
    CHECK(k == 7);
    printf("validation split of 10 (seeded): held out %d %d %d\n", va->images[0], va->images[3],
           va->images[6]);
    dataset_free(tr);
    dataset_free(va);
    dataset_free(d);
}

/* A one-layer autoencoder (D -> 3 -> D) over n numbered-like examples in one batch. */
static Model *tiny_ae(const Backend *be, int D) {
    Model *m = model_create(be, D, NULL);
    RngStream rng = rng_stream(train_stage_seed(5, 1), RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer_create(be, D, 3, ACT_TANH, NULL);
    m->dec[m->ndec++] = layer_create(be, 3, D, ACT_SIGMOID, NULL);
    layer_init(be, m->enc[0], INIT_PYTORCH, &rng);
    layer_init(be, m->dec[0], INIT_PYTORCH, &rng);
    return m;
}

static Dataset *patterned(int n, int D, int C, unsigned seed) {
    Dataset *d = numbered(n, D, C);
    srand(seed);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) {
            int c = d->labels[i], base = j % C == c ? 200 : 40;
            d->images[(size_t)i * D + j] = (uint8_t)(base + rand() % 50);
        }
    return d;
}

/* One SGD step with clip_norm against p - lr * g * min(1, clip / ||g||). */
static void check_clip(float clip) {
    const Backend *be = backend_cpu();
    const int D = 6, n = 8;
    Dataset *h = patterned(n, D, 2, 3);
    AeError err;
    DeviceData *dd = device_data_create(be, h, &err);
    Model *m = tiny_ae(be, D);
    TrainTask t = {.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE, .epochs = 1,
                   .batch_size = n, .seed = 5, .stage_index = 1};
    t.opt.kind = OPT_SGD;
    t.opt.lr = 0.5f;
    double parts[3];
    CHECK(train_gradients(m, &t, dd, parts, &err));
    Layer *L[2] = {m->enc[0], m->dec[0]};
    float *p0[2], *g[2];
    double sq = 0;
    for (int k = 0; k < 2; k++) {
        size_t np = L[k]->nparams;
        p0[k] = malloc(np * sizeof(float));
        g[k] = malloc(np * sizeof(float));
        be->download(p0[k], L[k]->params, np * sizeof(float));
        be->download(g[k], L[k]->grads, np * sizeof(float));
        for (size_t i = 0; i < np; i++) sq += (double)g[k][i] * g[k][i];
    }
    double norm = sqrt(sq), f = norm > clip ? clip / norm : 1.0;
    t.clip_norm = clip;
    CHECK(train_stage(m, &t, dd, NULL, NULL, &err) == TRAIN_OK);
    double maxerr = 0, maxstep = 0;
    for (int k = 0; k < 2; k++) {
        size_t np = L[k]->nparams;
        float *p = malloc(np * sizeof(float));
        be->download(p, L[k]->params, np * sizeof(float));
        for (size_t i = 0; i < np; i++) {
            double want = p0[k][i] - 0.5 * g[k][i] * f;
            maxerr = fmax(maxerr, fabs(p[i] - want));
            maxstep = fmax(maxstep, fabs(p[i] - p0[k][i]));
        }
        free(p);
        free(p0[k]);
        free(g[k]);
    }
    printf("clip_norm %g: ||g|| = %.6g, factor %.6g, max |step| %.3g, max error %.3g\n", clip,
           norm, f, maxstep, maxerr);
    CHECK(maxerr <= 1e-7 + 1e-5 * maxstep);
    CHECK(maxstep > 0);
    if (clip < norm) CHECK_NEAR(maxstep, 0, 0.5 * clip * 1.0001, 0); /* ||step|| <= lr * clip */
    model_free(m);
    device_data_free(dd);
    dataset_free(h);
}

typedef struct Rows {
    double val_loss[64];
    int stopped, restored, n;
} Rows;

static bool rec(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Rows *r = ctx;
    if (r->n < 64) r->val_loss[r->n++] = s->val_loss;
    if (s->stopped_epoch) r->stopped = s->stopped_epoch;
    if (s->restored_epoch) r->restored = s->restored_epoch;
    return true;
}

/* restore_best leaves the model at the best epoch: its validation loss, measured afresh, is the
 * best row's; stopping follows the rule on the recorded rows. */
static void test_restore_best(void) {
    const Backend *be = backend_cpu();
    const int D = 6;
    Dataset *tr = patterned(64, D, 2, 11), *va = patterned(16, D, 2, 12);
    AeError err;
    DeviceData *dt = device_data_create(be, tr, &err), *dv = device_data_create(be, va, &err);
    Model *m = tiny_ae(be, D);
    /* a large rate makes the validation loss go up and down */
    TrainTask t = {.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE, .epochs = 40,
                   .batch_size = 8, .shuffle = true, .seed = 5, .stage_index = 1, .val = dv};
    t.opt.kind = OPT_SGD;
    t.opt.lr = 40.0f;
    t.early = (EarlyStopSpec){.metric = ES_VAL_LOSS, .patience = 3, .restore_best = true};
    Rows r = {0};
    TrainHooks h = {.ctx = &r, .on_epoch = rec};
    CHECK(train_stage(m, &t, dt, NULL, &h, &err) == TRAIN_OK);
    /* the rule, replayed on the rows */
    int best = 1, wait = 0, stop = 0;
    for (int e = 2; e <= r.n && !stop; e++) {
        if (r.val_loss[e - 1] < r.val_loss[best - 1]) best = e, wait = 0;
        else if (++wait >= 3) stop = e;
    }
    printf("restore_best: %d epochs, stopped at %d, restored %d (val loss %.6g, last %.6g)\n",
           r.n, r.stopped, r.restored, r.val_loss[r.restored - 1], r.val_loss[r.n - 1]);
    CHECK(r.stopped == r.n && (stop == r.n || (stop == 0 && r.n == 40)));
    CHECK(r.restored == best);
    CHECK(r.restored < r.n); /* the test must exercise an actual restore */
    double parts[3];
    TrainTask plain = t;
    plain.val = NULL;
    plain.early.metric = ES_NONE;
    CHECK(train_gradients(m, &plain, dv, parts, &err));
    CHECK_NEAR(parts[0], r.val_loss[r.restored - 1], 0, 1e-5);
    model_free(m);
    device_data_free(dt);
    device_data_free(dv);
    dataset_free(tr);
    dataset_free(va);
}

int main(void) {
    backend_cpu_set_threads(2);
    test_schedules();
    test_early_stop();
    test_split();
    check_clip(1e-3f);
    check_clip(1e3f);
    test_restore_best();
    return tu_summary("test_schedule");
}
