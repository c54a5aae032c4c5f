/* tests/backend_compare.c — every training path on two backends, compared (backend_compare.h).
 *
 * A case runs on one backend into a host-side CaseResult (gradients, per-epoch statistics,
 * parameters, evaluation); the two results are then compared tensor by tensor. The data are
 * synthetic and fixed (engine/rng.h, fixed seeds): 6x6 uint8 images of 3 classes, each class a
 * blurred prototype plus noise, so that the classifiers learn something and the accuracies
 * mean something.
 */
#include "backend_compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "rng.h"
#include "train.h"

#define BC_D 36
#define BC_C 3
#define BC_NTRAIN 120
#define BC_NTEST 60
#define BC_MAX_EPOCHS 8
#define BC_MAX_TENSORS (2 * 3 * AE_MAX_LAYERS)
#define BC_SEED 20261204u

typedef struct BcCase {
    const char *name;
    TaskKind kind;
    int widths[2];       /* encoder widths, input first excluded */
    int nenc;
    Act enc_act, dec_act; /* dec_act: the decoder layer that writes the image; inner ones enc_act */
    int depth;           /* autoencoder: layers trained with their mirrors */
    int hidden[2];       /* classifier head: hidden widths (then BC_C classes) */
    int nhidden;
    Act hidden_act;
    bool freeze;
    LossKind loss;
    OptKind opt;
    float lr, momentum;
    bool nesterov;
    PenaltyKind pen;
    float decay;
    bool decay_head_only;
    NoiseKind noise;
    int epochs, batch, lbfgs_chunk;
} BcCase;

#define AE TASK_AUTOENCODER
#define CL TASK_CLASSIFIER
/* name, kind, widths, nenc, enc_act, dec_act, depth, hidden, nhidden, hidden_act, freeze, loss,
 * opt, lr, momentum, nesterov, pen, decay, decay_head_only, noise, epochs, batch, lbfgs_chunk */
static const BcCase CASES[] = {
    {"pretrain_layer tanh/sigmoid mse sgd (fused)", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.9f, 0, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"pretrain_layer relu/identity half_sse sgd momentum", AE, {16}, 1, ACT_RELU, ACT_IDENTITY, 1, {0}, 0, 0, false, LOSS_HALF_SSE, OPT_SGD, 0.01f, 0.9f, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"pretrain_layer sigmoid/sigmoid bce sgd nesterov", AE, {16}, 1, ACT_SIGMOID, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_BCE, OPT_SGD, 0.5f, 0.9f, true, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"pretrain_layer identity/tanh mse adam", AE, {16}, 1, ACT_IDENTITY, ACT_TANH, 1, {0}, 0, 0, false, LOSS_MSE, OPT_ADAM, 0.01f, 0, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"pretrain_layer 2nd layer on a frozen prefix, sgd momentum", AE, {16, 8}, 2, ACT_SIGMOID, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.5f, 0.5f, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"append_layer 36-16-8 end to end, adam", AE, {16, 8}, 2, ACT_TANH, ACT_SIGMOID, 2, {0}, 0, 0, false, LOSS_MSE, OPT_ADAM, 0.005f, 0, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"add_sparsity l1 (lecture: sum), sgd", AE, {16}, 1, ACT_RELU, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.5f, 0, false, PEN_L1, 0, false, NOISE_NONE, 4, 20, 0},
    {"add_sparsity l1_normalised, sgd momentum", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.3f, 0.9f, false, PEN_L1_NORMALISED, 0, false, NOISE_NONE, 4, 20, 0},
    {"add_sparsity kl, sgd", AE, {16}, 1, ACT_SIGMOID, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_HALF_SSE, OPT_SGD, 0.3f, 0, false, PEN_KL, 0, false, NOISE_NONE, 4, 20, 0},
    {"add_sparsity kl + weight_decay, lbfgs (UFLDL)", AE, {16}, 1, ACT_SIGMOID, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_HALF_SSE, OPT_LBFGS, 1.0f, 0, false, PEN_KL, 3e-3f, false, NOISE_NONE, 4, 0, 0},
    {"weight_decay autoencoder, lbfgs in chunks of 50", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_LBFGS, 1.0f, 0, false, PEN_NONE, 1e-3f, false, NOISE_NONE, 4, 0, 50},
    {"weight_decay autoencoder, adam", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_BCE, OPT_ADAM, 0.01f, 0, false, PEN_NONE, 0.01f, false, NOISE_NONE, 4, 20, 0},
    {"add_noise gaussian (clamped), sgd", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.9f, 0, false, PEN_NONE, 0, false, NOISE_GAUSSIAN, 4, 20, 0},
    {"add_noise masking, sgd momentum", AE, {16}, 1, ACT_SIGMOID, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_BCE, OPT_SGD, 0.5f, 0.5f, false, PEN_NONE, 0, false, NOISE_MASKING, 4, 20, 0},
    {"add_noise salt_and_pepper, adam", AE, {16}, 1, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_ADAM, 0.01f, 0, false, PEN_L1, 0, false, NOISE_SALT_PEPPER, 4, 20, 0},
    {"add_noise masking on the code of a frozen prefix", AE, {16, 8}, 2, ACT_TANH, ACT_SIGMOID, 1, {0}, 0, 0, false, LOSS_MSE, OPT_SGD, 0.5f, 0, false, PEN_NONE, 0, false, NOISE_MASKING, 4, 20, 0},
    {"attach_classifier nll (logsoftmax), frozen encoder, sgd", CL, {16}, 1, ACT_TANH, 0, 0, {0}, 0, 0, true, LOSS_NLL, OPT_SGD, 0.5f, 0, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"attach_classifier nll, fine-tuned encoder, adam", CL, {16}, 1, ACT_SIGMOID, 0, 0, {0}, 0, 0, false, LOSS_NLL, OPT_ADAM, 0.01f, 0, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"attach_classifier cross_entropy, hidden relu, fine-tuned, momentum", CL, {16}, 1, ACT_TANH, 0, 0, {10}, 1, ACT_RELU, false, LOSS_CROSS_ENTROPY, OPT_SGD, 0.1f, 0.9f, false, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"attach_classifier cross_entropy, hidden sigmoid x2, frozen, nesterov", CL, {16, 8}, 2, ACT_SIGMOID, 0, 0, {10, 6}, 2, ACT_SIGMOID, true, LOSS_CROSS_ENTROPY, OPT_SGD, 0.5f, 0.9f, true, PEN_NONE, 0, false, NOISE_NONE, 4, 20, 0},
    {"attach_classifier nll + decay (head only), lbfgs (UFLDL fine-tuning)", CL, {16}, 1, ACT_SIGMOID, 0, 0, {0}, 0, 0, false, LOSS_NLL, OPT_LBFGS, 1.0f, 0, false, PEN_NONE, 1e-4f, true, NOISE_NONE, 4, 0, 0},
    {"attach_classifier cross_entropy + weight_decay, frozen, sgd (fused)", CL, {16}, 1, ACT_RELU, 0, 0, {0}, 0, 0, true, LOSS_CROSS_ENTROPY, OPT_SGD, 0.5f, 0, false, PEN_NONE, 0.01f, false, NOISE_NONE, 4, 20, 0},
};
#undef AE
#undef CL
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

int bc_ncases(void) { return NCASES; }
const char *bc_case_name(int i) { return i >= 0 && i < NCASES ? CASES[i].name : NULL; }

/* ---- the data ---- */

/* n images of BC_D pixels, class r % BC_C: a class prototype (a bright band, a column range or
 * a diagonal) times a per-image contrast, plus uniform noise; about a third of the pixels 0. */
static Dataset *bc_data(int n, uint64_t stream) {
    Dataset *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->n = n;
    d->rows = d->cols = 6;
    d->D = BC_D;
    d->C = BC_C;
    d->images = malloc((size_t)n * BC_D);
    d->labels = malloc((size_t)n);
    if (!d->images || !d->labels) {
        dataset_free(d);
        return NULL;
    }
    RngStream rng = rng_stream(BC_SEED, stream);
    for (int r = 0; r < n; r++) {
        int c = (int)rng_next_below(&rng, BC_C);
        double contrast = 0.5 + 0.5 * rng_next_uniform(&rng);
        d->labels[r] = (uint8_t)c;
        for (int p = 0; p < BC_D; p++) {
            int y = p / 6, x = p % 6;
            double proto = c == 0 ? (y >= 2 && y <= 3) : c == 1 ? (x <= 1) : (x == y || x + 1 == y);
            double v = 200.0 * contrast * proto + 90.0 * rng_next_uniform(&rng) - 30.0;
            d->images[(size_t)r * BC_D + p] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return d;
}

/* ---- one case on one backend ---- */

typedef struct Tensor {
    char name[32];
    float *v; /* host */
    size_t n;
} Tensor;

typedef struct CaseResult {
    bool ok;
    char error[1024];
    Tensor grads[BC_MAX_TENSORS];
    int ngrads;
    double parts[3]; /* loss, penalty, decay of the gradient pass */
    EpochStats epochs[BC_MAX_EPOCHS];
    int nepochs;
    Tensor params[BC_MAX_TENSORS];
    int nparams;
    EvalResult eval;
} CaseResult;

static void result_free(CaseResult *r) {
    for (int i = 0; i < r->ngrads; i++) free(r->grads[i].v);
    for (int i = 0; i < r->nparams; i++) free(r->params[i].v);
    eval_result_clear(&r->eval);
    memset(r, 0, sizeof *r);
}

/* Appends the W and b parts of layer l's params (grad: of its grads) to ts, named e.g.
 * "enc[0].W" or "enc[0].dW". */
static void push_layer(const Backend *be, Tensor *ts, int *nt, const Layer *l, const char *stack,
                       int k, bool grad) {
    const float *src[2] = {grad ? l->dW : l->W, grad ? l->db : l->b};
    size_t n[2] = {(size_t)l->O * l->I, (size_t)l->O};
    for (int p = 0; p < 2; p++) {
        Tensor *t = &ts[(*nt)++];
        snprintf(t->name, sizeof t->name, "%s[%d].%s%s", stack, k, grad ? "d" : "",
                 p == 0 ? "W" : "b");
        t->n = n[p];
        t->v = malloc(n[p] * sizeof *t->v);
        be->download(t->v, src[p], n[p] * sizeof *t->v);
    }
}

/* Every parameter tensor of m (grad: the gradients of the task's trained layers only). */
static void collect(const Backend *be, const Model *m, const BcCase *c, Tensor *ts, int *nt,
                    bool grad) {
    bool ae = c->kind == TASK_AUTOENCODER;
    int first_enc = ae ? m->nenc - c->depth : c->freeze ? m->nenc : 0;
    for (int i = 0; i < m->nenc; i++)
        if (!grad || i >= first_enc) push_layer(be, ts, nt, m->enc[i], "enc", i, grad);
    for (int i = 0; i < m->ndec; i++)
        if (!grad || i < c->depth) push_layer(be, ts, nt, m->dec[i], "dec", i, grad);
    for (int i = 0; i < m->nhead; i++) push_layer(be, ts, nt, m->head[i], "head", i, grad);
}

static bool push(Layer *(*arr)[AE_MAX_LAYERS], int *n, Layer *l) {
    if (!l) return false;
    (*arr)[(*n)++] = l;
    return true;
}

/* The case's model on be, initialised from fixed streams on the host (so alike on every
 * backend): the encoder, its mirrored decoder for an autoencoder, the head for a classifier. */
static Model *build_model(const Backend *be, const BcCase *c, AeError *err) {
    Model *m = model_create(be, BC_D, err);
    if (!m) return NULL;
    RngStream init = rng_stream(BC_SEED, RNG_STREAM_INIT);
    int in = BC_D;
    bool ok = true;
    for (int i = 0; i < c->nenc && ok; i++) {
        ok = push(&m->enc, &m->nenc, layer_create(be, in, c->widths[i], c->enc_act, err));
        if (ok) layer_init(be, m->enc[i], INIT_PYTORCH, &init);
        in = c->widths[i];
    }
    if (c->kind == TASK_AUTOENCODER)
        for (int k = 0; k < c->nenc && ok; k++) { /* dec[k] mirrors enc[nenc-1-k] */
            const Layer *e = m->enc[c->nenc - 1 - k];
            Act act = k == c->nenc - 1 ? c->dec_act : c->enc_act;
            ok = push(&m->dec, &m->ndec, layer_create(be, e->O, e->I, act, err));
            if (ok) layer_init(be, m->dec[k], INIT_UFLDL, &init);
        }
    else
        for (int i = 0; i <= c->nhidden && ok; i++) {
            bool last = i == c->nhidden;
            int out = last ? BC_C : c->hidden[i];
            Act act = !last ? c->hidden_act : c->loss == LOSS_NLL ? ACT_LOGSOFTMAX : ACT_IDENTITY;
            ok = push(&m->head, &m->nhead, layer_create(be, in, out, act, err));
            if (ok) layer_init(be, m->head[i], INIT_XAVIER, &init);
            in = out;
        }
    if (!ok || !model_check(m, err)) {
        model_free(m);
        return NULL;
    }
    return m;
}

static TrainTask task_of(const BcCase *c, int stage_index) {
    TrainTask t = {.kind = c->kind, .depth = c->depth, .freeze_encoder = c->freeze,
                   .loss = c->loss, .epochs = c->epochs, .batch_size = c->batch,
                   .lbfgs_chunk = c->lbfgs_chunk, .shuffle = true, .weight_decay = c->decay,
                   .decay_head_only = c->decay_head_only, .seed = BC_SEED,
                   .stage_index = stage_index};
    t.opt = (OptimSpec){.kind = c->opt, .lr = c->lr, .momentum = c->momentum,
                        .nesterov = c->nesterov, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                        .history = 10, .tol_grad = 1e-7, .tol_change = 1e-9};
    t.sparsity = (SparsitySpec){.kind = c->pen, .weight = c->pen == PEN_L1 ? 1e-3f : 0.1f,
                                .rho = 0.1f, .beta = 3.0f};
    switch (c->noise) {
    case NOISE_GAUSSIAN:
        t.noise = (NoiseSpec){.kind = NOISE_GAUSSIAN, .std = 0.3f, .clamp = true, .hi = 1.0f};
        break;
    case NOISE_MASKING: t.noise = (NoiseSpec){.kind = NOISE_MASKING, .fraction = 0.3f}; break;
    case NOISE_SALT_PEPPER:
        t.noise = (NoiseSpec){.kind = NOISE_SALT_PEPPER, .fraction = 0.2f, .hi = 1.0f};
        break;
    default: break;
    }
    return t;
}

static bool record_epoch(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    CaseResult *r = ctx;
    if (r->nepochs < BC_MAX_EPOCHS) r->epochs[r->nepochs++] = *s;
    return true;
}

/* Runs case c on be into r: gradients, training, parameters, evaluation. */
static void run_case(const Backend *be, const BcCase *c, const Dataset *train,
                     const Dataset *test, CaseResult *r) {
    AeError err = {{0}};
    memset(r, 0, sizeof *r);
    Model *m = build_model(be, c, &err);
    DeviceData *dtr = m ? device_data_create(be, train, &err) : NULL;
    DeviceData *dte = dtr ? device_data_create(be, test, &err) : NULL;
    TrainTask t = task_of(c, 1 + (int)(c - CASES));
    TrainHooks h = {.ctx = r, .on_epoch = record_epoch};
    bool ok = dte && train_gradients(m, &t, dtr, r->parts, &err);
    if (ok) collect(be, m, c, r->grads, &r->ngrads, true);
    ok = ok && train_stage(m, &t, dtr, c->kind == TASK_CLASSIFIER ? dte : NULL, &h, &err) ==
                   TRAIN_OK;
    if (ok) collect(be, m, c, r->params, &r->nparams, false);
    ok = ok && model_evaluate(m, dte, 25, &r->eval, &err);
    r->ok = ok;
    if (!ok) snprintf(r->error, sizeof r->error, "%s", err.msg);
    device_data_free(dte);
    device_data_free(dtr);
    model_free(m);
}

/* ---- comparison ---- */

typedef struct Cmp {
    const BcTolerance *tol;
    FILE *out;
    BcFigures *fig;
    const char *cs; /* the case's name */
    const char *ref_name, *test_name;
    double factor; /* on the tolerances of what training produced: tol->lbfgs_factor or 1 */
    bool ok;
} Cmp;

static void fail(Cmp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(Cmp *x, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "backend_compare: FAIL: %s: %s\n", x->cs, msg);
    if (!x->fig->first_failure[0])
        snprintf(x->fig->first_failure, sizeof x->fig->first_failure, "%.150s: %.300s", x->cs, msg);
    x->fig->failures++;
    x->ok = false;
}

static void note_worst(double frac, double *worst, char *at, const char *cs, const char *what) {
    if (frac > *worst || (isnan(frac) && !isnan(*worst))) {
        *worst = frac;
        snprintf(at, 160, "%s: %s", cs, what);
    }
}

/* One tensor, test against ref (see backend_compare.h). grad: a gradient (else a parameter). */
static void cmp_tensor(Cmp *x, const Tensor *ref, const Tensor *test, bool grad) {
    double abs_tol = grad ? x->tol->grad_abs : x->tol->param_abs * x->factor;
    double rel_tol = grad ? x->tol->grad_rel : x->tol->param_rel * x->factor;
    x->fig->tensors++;
    if (strcmp(ref->name, test->name) != 0 || ref->n != test->n) {
        fail(x, "tensor %s (%zu) against %s (%zu)", ref->name, ref->n, test->name, test->n);
        return;
    }
    double scale = 0.0, maxerr = 0.0, worst = 0.0;
    size_t wi = 0;
    bool nan_bad = false;
    for (size_t i = 0; i < ref->n; i++)
        if (isfinite(ref->v[i]) && fabs(ref->v[i]) > scale) scale = fabs(ref->v[i]);
    for (size_t i = 0; i < ref->n; i++) {
        double r = ref->v[i], g = test->v[i];
        if (isnan(r) || isnan(g)) {
            if (isnan(r) != isnan(g) && !nan_bad) nan_bad = true, wi = i;
            continue;
        }
        double e = fabs(g - r), frac = e / (abs_tol * scale + rel_tol * fabs(r) + 1e-300);
        if (e > maxerr) maxerr = e;
        if (frac > worst) worst = frac, wi = i;
    }
    double rel = scale > 0 ? maxerr / scale : maxerr;
    if (grad) {
        note_worst(worst, &x->fig->grad_worst, x->fig->grad_worst_at, x->cs, ref->name);
        if (maxerr > x->fig->grad_max_abs) x->fig->grad_max_abs = maxerr;
        if (rel > x->fig->grad_max_rel) x->fig->grad_max_rel = rel;
    } else {
        note_worst(worst, &x->fig->param_worst, x->fig->param_worst_at, x->cs, ref->name);
        if (maxerr > x->fig->param_max_abs) x->fig->param_max_abs = maxerr;
        if (rel > x->fig->param_max_rel) x->fig->param_max_rel = rel;
    }
    if (x->out)
        fprintf(x->out, "  %-9s %-10s n %-5zu max|ref| %-10.3g max|err| %-10.3g rel %-10.3g "
                "%.3f of tolerance\n", grad ? "gradient" : "parameter", ref->name, ref->n, scale,
                maxerr, rel, worst);
    if (nan_bad || worst > 1.0)
        fail(x, "%s %s: element %zu: %s %.9g, %s %.9g (|err| %.3g; tolerance %g*%.3g + %g*|ref|)",
             grad ? "gradient" : "parameter", ref->name, wi, x->test_name, test->v[wi],
             x->ref_name, ref->v[wi], fabs((double)test->v[wi] - ref->v[wi]), abs_tol, scale,
             rel_tol);
}

/* One scalar; accuracy: a percentage (tol->accuracy points), else metric_abs + metric_rel. */
static void cmp_scalar(Cmp *x, const char *what, double ref, double test, bool accuracy) {
    x->fig->scalars++;
    if (isnan(ref) && isnan(test)) return;
    double tol = accuracy ? x->tol->accuracy
                          : (x->tol->metric_abs + x->tol->metric_rel * fabs(ref)) * x->factor;
    double e = fabs(test - ref);
    if (!accuracy) note_worst(e / (tol + 1e-300), &x->fig->metric_worst, x->fig->metric_worst_at,
                              x->cs, what);
    if (!(e <= tol)) fail(x, "%s: %s %.9g, %s %.9g (|err| %.3g > tolerance %.3g)", what,
                          x->test_name, test, x->ref_name, ref, e, tol);
}

static void cmp_epochs(Cmp *x, const CaseResult *a, const CaseResult *b) {
    if (a->nepochs != b->nepochs) {
        fail(x, "epochs: %s %d, %s %d", x->test_name, b->nepochs, x->ref_name, a->nepochs);
        return;
    }
    for (int e = 0; e < a->nepochs; e++) {
        const EpochStats *p = &a->epochs[e], *q = &b->epochs[e];
        char w[64];
#define EPOCH_FIELD(F, ACC)                                                                  \
    snprintf(w, sizeof w, "epoch %d " #F, e + 1);                                            \
    cmp_scalar(x, w, p->F, q->F, ACC);
        EPOCH_FIELD(loss, false)
        EPOCH_FIELD(penalty, false)
        EPOCH_FIELD(decay, false)
        EPOCH_FIELD(objective, false)
        EPOCH_FIELD(mean_activation, false)
        EPOCH_FIELD(test_accuracy, true)
        EPOCH_FIELD(train_accuracy, true)
#undef EPOCH_FIELD
        if (p->evaluations != q->evaluations) {
            snprintf(w, sizeof w, "epoch %d evaluations", e + 1);
            cmp_scalar(x, w, p->evaluations, q->evaluations, true);
        }
    }
}

static void cmp_eval(Cmp *x, const EvalResult *a, const EvalResult *b) {
    cmp_scalar(x, "evaluate accuracy", a->accuracy, b->accuracy, true);
    cmp_scalar(x, "evaluate recon_mse", a->recon_mse, b->recon_mse, false);
    cmp_scalar(x, "evaluate recon_half_sse", a->recon_half_sse, b->recon_half_sse, false);
    if (!a->confusion != !b->confusion || a->C != b->C) {
        fail(x, "evaluate: confusion matrix on one backend only, or of another size");
        return;
    }
    for (int i = 0; a->confusion && i < a->C * a->C; i++) {
        int d = abs(a->confusion[i] - b->confusion[i]);
        if (d > x->tol->confusion) {
            fail(x, "evaluate confusion[%d][%d]: %s %d, %s %d", i / a->C, i % a->C, x->test_name,
                 b->confusion[i], x->ref_name, a->confusion[i]);
            return;
        }
    }
}

static bool compare_case(Cmp *x, const CaseResult *a, const CaseResult *b) {
    if (!a->ok || !b->ok) {
        if (!a->ok) fail(x, "training on %s failed: %s", x->ref_name, a->error);
        if (!b->ok) fail(x, "training on %s failed: %s", x->test_name, b->error);
        return false;
    }
    if (a->ngrads != b->ngrads || a->nparams != b->nparams)
        fail(x, "tensor counts differ: %d/%d gradients, %d/%d parameters", a->ngrads, b->ngrads,
             a->nparams, b->nparams);
    for (int i = 0; i < a->ngrads && i < b->ngrads; i++) cmp_tensor(x, &a->grads[i], &b->grads[i], true);
    static const char *part[3] = {"gradient pass loss", "gradient pass penalty",
                                  "gradient pass decay"};
    double factor = x->factor;
    x->factor = 1.0; /* one pass: no optimizer has run yet */
    for (int k = 0; k < 3; k++) cmp_scalar(x, part[k], a->parts[k], b->parts[k], false);
    x->factor = factor;
    cmp_epochs(x, a, b);
    for (int i = 0; i < a->nparams && i < b->nparams; i++)
        cmp_tensor(x, &a->params[i], &b->params[i], false);
    cmp_eval(x, &a->eval, &b->eval);
    return x->ok;
}

bool bc_run(const Backend *ref, const Backend *test, int which, const BcTolerance *tol, FILE *out,
            BcFigures *fig) {
    Dataset *train = bc_data(BC_NTRAIN, 11), *tst = bc_data(BC_NTEST, 12);
    bool all = true;
    if (!train || !tst) {
        fprintf(stderr, "backend_compare: out of host memory for the data\n");
        dataset_free(train);
        dataset_free(tst);
        fig->failures++;
        return false;
    }
    for (int i = 0; i < NCASES; i++) {
        if (which >= 0 && i != which) continue;
        const BcCase *c = &CASES[i];
        CaseResult a, b;
        run_case(ref, c, train, tst, &a);
        run_case(test, c, train, tst, &b);
        if (out) fprintf(out, "case %d: %s (%s vs %s)\n", i, c->name, test->name, ref->name);
        Cmp x = {.tol = tol, .out = out, .fig = fig, .cs = c->name, .ref_name = ref->name,
                 .test_name = test->name, .ok = true,
                 .factor = c->opt == OPT_LBFGS ? tol->lbfgs_factor : 1.0};
        bool ok = compare_case(&x, &a, &b);
        if (out)
            fprintf(out, "  %s: %d epochs, loss %.6g -> %.6g (%s), accuracy %.4g%%\n",
                    ok ? "ok" : "FAILED", b.nepochs, b.nepochs ? b.epochs[0].loss : NAN,
                    b.nepochs ? b.epochs[b.nepochs - 1].loss : NAN, test->name, b.eval.accuracy);
        fig->cases++;
        all = all && ok;
        result_free(&a);
        result_free(&b);
    }
    dataset_free(train);
    dataset_free(tst);
    return all;
}

void bc_print_figures(FILE *out, const char *what, const BcFigures *f) {
    fprintf(out, "%s: %d cases, %d tensors, %d scalars compared, %d failures\n", what, f->cases,
            f->tensors, f->scalars, f->failures);
    const char *none = "every one exact";
    fprintf(out, "  gradients:  max |err| %.3g, max |err|/max|ref| %.3g, worst %.3f of tolerance "
            "(%s)\n", f->grad_max_abs, f->grad_max_rel, f->grad_worst,
            f->grad_worst_at[0] ? f->grad_worst_at : none);
    fprintf(out, "  parameters: max |err| %.3g, max |err|/max|ref| %.3g, worst %.3f of tolerance "
            "(%s)\n", f->param_max_abs, f->param_max_rel, f->param_worst,
            f->param_worst_at[0] ? f->param_worst_at : none);
    fprintf(out, "  metrics:    worst %.3f of tolerance (%s)\n", f->metric_worst,
            f->metric_worst_at[0] ? f->metric_worst_at : none);
}
