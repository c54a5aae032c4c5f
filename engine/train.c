/* engine/train.c — one training stage over a chain of layers, and evaluation.
 *
 * The chain (train.h) is a list of layers L[0..n-1]; A[i] (B, dim_i) is the input of L[i] and
 * A[i+1] its output, so A[0] is the batch and A[n] the chain's output. Layers from `first`
 * (the lowest trained layer) upward are trained; below `first` the chain is a frozen prefix that
 * is run forward only. t is the index whose activation an autoencoder reconstructs (t == first);
 * the code is A[nenc], where the sparsity penalty acts.
 *
 * Per step: zero the trained gradients; forward; loss (writes dA[n]); backward from the top:
 *   dA[i+1] += penalty'(A[i+1]) when i+1 is the code;
 *   dZ = dA[i+1] * act'(A[i+1]);  dW_i += dZ^T A[i];  db_i += colsum(dZ);  dA[i] = dZ W_i
 * (the last only while i > first); weight decay adds lambda*W_i to dW_i; then the optimizer.
 * A tied decoder layer (model.h) uses its encoder's W^T: its dW goes, transposed, into the
 * encoder's dW, so the shared matrix gets the sum of both layers' gradients.
 *
 * Every buffer is allocated when the stage starts (StageBuffers); the batch loop allocates
 * nothing and never waits for the device: per-batch scalars (loss, penalty, decay, mean |code|)
 * go to slots that are downloaded once per epoch. Running out of host or backend memory fails
 * the stage with an error (TRAIN_ERROR, false) naming what and how much.
 */
#include "train.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "lbfgs.h"

#define MAX_CHAIN (2 * AE_MAX_LAYERS + AE_MAX_LAYERS)

/* Rows per chunk of a full-batch (L-BFGS) evaluation (train.h), and per batch of its test
 * evaluations. */
#define LBFGS_CHUNK TRAIN_LBFGS_CHUNK
#define LBFGS_EVAL_BATCH 10000

typedef struct Chain {
    Layer *L[MAX_CHAIN];
    int n;
    int first;     /* lowest trained layer */
    int code;      /* index of the code activation A[code]; -1 when none (no encoder) */
    int target;    /* autoencoder: index of the reconstructed activation; -1 for a classifier */
} Chain;

typedef struct StageBuffers {
    const Backend *be;
    int B;                   /* rows the buffers hold */
    float *A[MAX_CHAIN + 1]; /* (B, dim_i) */
    float *T;                /* (B, dim_target) clean target when noise is on */
    float *dA[2];            /* (B, maxdim) ping-pong gradients */
    float *rhohat;           /* (code dim) KL scratch */
    int32_t *labels;         /* (B) */
    int32_t *perm;           /* (n) the epoch's order */
    float *slots;            /* (nslots) per-batch scalars */
    int nslots;
    int32_t *conf;           /* (C, C) training confusion counts */
    float *opt_m[MAX_CHAIN], *opt_v[MAX_CHAIN]; /* optimizer state per trained layer */
    float *codes;            /* (n, dim_first) the frozen prefix's outputs, or NULL */
} StageBuffers;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t train_stage_seed(uint64_t seed, int stage_index) {
    return rng_key(seed, 1000 + (uint64_t)stage_index);
}

static int dim_in(const Chain *c, int i) { return i < c->n ? c->L[i]->I : c->L[c->n - 1]->O; }

static bool chain_build(Chain *c, const Model *m, const TrainTask *t, AeError *err) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < m->nenc; i++) c->L[c->n++] = m->enc[i];
    c->code = m->nenc > 0 ? m->nenc : -1;
    if (t->kind == TASK_AUTOENCODER) {
        int k = t->depth;
        if (k < 1 || k > m->nenc || m->ndec < k)
            return ae_fail(err, "cannot train %d layer(s) of an autoencoder with %d encoder and "
                                "%d decoder layers", k, m->nenc, m->ndec);
        for (int i = 0; i < k; i++) c->L[c->n++] = m->dec[i];
        c->first = m->nenc - k;
        c->target = c->first;
    } else {
        if (m->nhead == 0) return ae_fail(err, "a classifier stage needs a head");
        for (int i = 0; i < m->nhead; i++) c->L[c->n++] = m->head[i];
        c->first = t->freeze_encoder ? m->nenc : 0;
        c->target = -1;
    }
    return true;
}

static void buffers_free(StageBuffers *s) {
    const Backend *be = s->be;
    if (!be) return;
    for (int i = 0; i <= MAX_CHAIN; i++) be->free(s->A[i]);
    be->free(s->T);
    be->free(s->dA[0]);
    be->free(s->dA[1]);
    be->free(s->rhohat);
    be->free(s->labels);
    be->free(s->perm);
    be->free(s->slots);
    be->free(s->conf);
    be->free(s->codes);
    for (int i = 0; i < MAX_CHAIN; i++) {
        be->free(s->opt_m[i]);
        be->free(s->opt_v[i]);
    }
    memset(s, 0, sizeof *s);
}

static void *balloc(const Backend *be, size_t nbytes, bool *ok) {
    void *p = be->alloc(nbytes);
    if (!p) *ok = false;
    return p;
}

/* Sizes every buffer of a stage: B rows, n examples for the permutation, nslots scalars, C
 * classes, and optimizer state for the trained layers. */
static bool buffers_create(StageBuffers *s, const Backend *be, const Chain *c, int B, int n,
                           int nslots, int C, OptKind opt, bool noise, AeError *err) {
    memset(s, 0, sizeof *s);
    s->be = be;
    s->B = B;
    bool ok = true;
    int maxdim = 0;
    for (int i = 0; i <= c->n; i++) {
        int d = dim_in(c, i);
        maxdim = d > maxdim ? d : maxdim;
        s->A[i] = balloc(be, (size_t)B * d * sizeof(float), &ok);
    }
    if (noise && c->target >= 0) s->T = balloc(be, (size_t)B * dim_in(c, c->target) * sizeof(float), &ok);
    s->dA[0] = balloc(be, (size_t)B * maxdim * sizeof(float), &ok);
    s->dA[1] = balloc(be, (size_t)B * maxdim * sizeof(float), &ok);
    if (c->code >= 0) s->rhohat = balloc(be, (size_t)dim_in(c, c->code) * sizeof(float), &ok);
    s->labels = balloc(be, (size_t)B * sizeof(int32_t), &ok);
    s->perm = balloc(be, (size_t)n * sizeof(int32_t), &ok);
    s->nslots = nslots;
    s->slots = balloc(be, (size_t)nslots * sizeof(float), &ok);
    if (C > 0) s->conf = balloc(be, (size_t)C * C * sizeof(int32_t), &ok);
    for (int i = c->first; i < c->n; i++) {
        size_t np = c->L[i]->nparams * sizeof(float);
        if (opt == OPT_SGD || opt == OPT_ADAM) s->opt_m[i] = balloc(be, np, &ok);
        if (opt == OPT_ADAM) s->opt_v[i] = balloc(be, np, &ok);
    }
    if (!ok) {
        buffers_free(s);
        return ae_fail(err, "out of %s memory sizing the stage's buffers (batch %d)", be->name, B);
    }
    return true;
}

/* A[from+1..n] from A[from]. */
static void chain_forward(const Backend *be, const Chain *c, float *const *A, int from, int to,
                          int B) {
    for (int i = from; i < to; i++) {
        const Layer *l = c->L[i];
        if (l->tied) /* W = tied->W^T, stored (I,O): Y = X . tied->W */
            be->gemm_nn(B, l->O, l->I, 1.0f, A[i], l->tied->W, 0.0f, A[i + 1]);
        else
            be->gemm_nt(B, l->O, l->I, 1.0f, A[i], l->W, 0.0f, A[i + 1]);
        be->bias_act_forward(A[i + 1], l->b, l->act, B, l->O);
    }
}

/* Slot layout per batch: [loss, penalty, mean|code|, decay_0 .. decay_{ntrained-1}] */
#define SLOT_LOSS 0
#define SLOT_PEN 1
#define SLOT_ACT 2
#define SLOT_DECAY 3

typedef struct StepCtx {
    const Backend *be;
    Model *m;
    const TrainTask *task;
    const Chain *c;
    StageBuffers *s;
    const DeviceData *data;
    uint64_t noise_key;
    uint64_t noise_counter;
    int per_batch;   /* slots per batch */
    float sgd_lr;    /* > 0: plain SGD applied inside the backward pass (step_forward_backward) */
    const float *test_codes; /* (test n, dim_first) the frozen prefix's test outputs, or NULL */
    float *kl_grad;  /* (code dim) KL gradient of the whole full batch, added to every row of
                        every chunk; NULL: each step's kl_penalty computes its own */
    float *kl_codes; /* (n, code dim) the code's activations from lbfgs_kl_pass, kept for the
                        gradient pass; NULL: the gradient pass computes them again */
    const float *code_rows; /* set: the step's code activations (B rows of kl_codes), which
                               step_forward copies in instead of running the code's layer */
    /* the validation pass (task->val): its own buffers and host copies, sized at the start */
    StageBuffers *vs;
    float *vslots;   /* (nb of the validation set) host */
    float *val_codes; /* (validation n, dim_first) the frozen prefix's outputs, or NULL */
    int32_t *vconf;  /* (C, C) host */
    float *best[MAX_CHAIN]; /* restore_best: the best epoch's parameters per trained layer */
} StepCtx;

/* One forward + backward over B rows whose indices are perm[offset..offset+B). Writes the
 * batch's scalars to slots[slot0..]. Gradients of trained layers accumulate (caller zeroes).
 * scale = B / N when the batch is one chunk of a full batch of N rows evaluated in chunks
 * (else 1): the mean-type terms (loss, normalised L1, weight decay) are weighted by it, so that
 * the chunks' gradients add up to the full batch's; the lecture's L1 (a sum) is not. The loss
 * slot holds the chunk's own mean; the caller weights it. */
/* The forward half of a step: the batch of B rows perm[offset..offset+B) through the chain up to
 * A[upto] (noise applied on the way for an autoencoder). Returns the reconstruction target
 * (autoencoder; NULL for a classifier). */
static const float *step_forward(StepCtx *x, int offset, int B, int upto) {
    const Backend *be = x->be;
    const Chain *c = x->c;
    const TrainTask *t = x->task;
    StageBuffers *s = x->s;
    bool ae = t->kind == TASK_AUTOENCODER;

    /* The batch enters at `from`: the image, or the frozen prefix's output computed once. */
    int from = s->codes ? c->first : 0;
    if (s->codes)
        be->gather_rows(s->A[from], ae ? NULL : s->labels, s->codes, ae ? NULL : x->data->labels,
                        s->perm + offset, B, dim_in(c, from));
    else
        be->gather(s->A[0], ae ? NULL : s->labels, x->data->images, ae ? NULL : x->data->labels,
                   s->perm + offset, B, x->data->D, 1.0f / 255.0f);

    /* With the code's activations at hand (code_rows) the forward pass stops below the code's
     * layer, whose input the backward pass still needs, and goes on from them. */
    int upto0 = upto;
    if (x->code_rows && upto > c->code) upto = c->code - 1;
    const float *target = NULL;
    if (ae) {
        chain_forward(be, c, s->A, from, c->target, B);
        int d = dim_in(c, c->target);
        if (t->noise.kind != NOISE_NONE) {
            be->copy(s->T, s->A[c->target], (size_t)B * d * sizeof(float));
            be->noise(s->A[c->target], s->T, &t->noise, x->noise_key, x->noise_counter,
                      (size_t)B * d);
            x->noise_counter += (size_t)B * d;
            target = s->T;
        } else {
            target = s->A[c->target];
        }
        chain_forward(be, c, s->A, c->target, upto, B);
    } else {
        chain_forward(be, c, s->A, from, upto, B);
    }
    if (upto != upto0) {
        be->copy(s->A[c->code], x->code_rows, (size_t)B * dim_in(c, c->code) * sizeof(float));
        chain_forward(be, c, s->A, c->code, upto0, B);
    }
    return target;
}

static void step_forward_backward(StepCtx *x, int offset, int B, int slot0, float scale) {
    const Backend *be = x->be;
    const Chain *c = x->c;
    const TrainTask *t = x->task;
    StageBuffers *s = x->s;
    float *slots = s->slots + slot0;
    bool ae = t->kind == TASK_AUTOENCODER;
    const float *target = step_forward(x, offset, B, c->n);

    int top = c->n;
    int dout = dim_in(c, top);
    float *dcur = s->dA[0], *dother = s->dA[1];
    /* The loss hands back the gradient at the top layer's input (it fuses the top's
     * activation derivative), unless a penalty on the code must first be added at the top's
     * output, where the code is the top. */
    bool code_pen = ae || t->sparsity.kind != PEN_NONE;
    Layer *topl = c->L[top - 1];
    bool pen_at_top = code_pen && c->code == top;
    Act top_act = pen_at_top ? ACT_IDENTITY : topl->act;
    /* It also adds the top's bias gradient when nothing changes dZ after it (no penalty at the
     * top, no chunk scale). */
    bool top_db = !pen_at_top && scale == 1.0f;
    if (top_db && x->sgd_lr > 0.0f) be->fill(topl->db, 0.0f, (size_t)topl->O);
    be->loss(slots + SLOT_LOSS, dcur, s->A[top], target, s->labels, t->loss, top_act, B, dout,
             top_db ? topl->db : NULL);
    if (scale != 1.0f) be->scal(dcur, scale, (size_t)B * dout);
    if (!ae && s->conf) be->confusion_acc(s->conf, s->A[top], s->labels, B, dout);

    for (int i = c->n - 1; i >= c->first; i--) {
        Layer *l = c->L[i];
        if (i + 1 == c->code && code_pen) {
            size_t nh = (size_t)B * l->O;
            switch (t->sparsity.kind) {
            case PEN_L1:
                be->l1_penalty(slots + SLOT_PEN, dcur, s->A[i + 1], t->sparsity.weight, 1.0f, nh);
                break;
            case PEN_L1_NORMALISED:
                be->l1_penalty(slots + SLOT_PEN, dcur, s->A[i + 1], t->sparsity.weight,
                               (float)B / scale, nh);
                break;
            case PEN_KL:
                if (x->kl_grad) /* the full batch's, from lbfgs_kl_pass: one row, every row */
                    be->bias_act_forward(dcur, x->kl_grad, ACT_IDENTITY, B, l->O);
                else
                    be->kl_penalty(slots + SLOT_PEN, dcur, s->rhohat, s->A[i + 1],
                                   t->sparsity.rho, t->sparsity.beta, B, l->O);
                break;
            default: break;
            }
            /* mean |code|: an L1 pass with weight 1 over B*O and no gradient */
            be->l1_penalty(slots + SLOT_ACT, NULL, s->A[i + 1], 1.0f, (float)nh, nh);
        }
        float lr = x->sgd_lr;
        if (!(i + 1 == top && top_db)) { /* else the loss gave dZ and db already */
            /* dZ and db together (at the top, dcur is dZ already: identity) */
            Act a = i + 1 == top && top_act != ACT_IDENTITY ? ACT_IDENTITY : l->act;
            if (lr > 0.0f) be->fill(l->db, 0.0f, (size_t)l->O);
            be->act_backward(dcur, dcur, s->A[i + 1], a, B, l->O, l->db);
        }
        if (lr > 0.0f) {
            /* Plain SGD inside the backward pass: the input gradient first, with the old W;
             * then W -= lr dZ^T A by the GEMM itself (no dW buffer to zero, fill and read
             * back) and b -= lr db. */
            if (i > c->first) be->gemm_nn(B, l->I, l->O, 1.0f, dcur, l->W, 0.0f, dother);
            be->gemm_tn(l->O, l->I, B, -lr, dcur, s->A[i], 1.0f, l->W);
            be->axpy(l->b, -lr, l->db, (size_t)l->O);
        } else if (l->tied) {
            /* tied: d(shared W) += (dZ^T A)^T = A^T dZ into the encoder's dW (I,O); the input
             * gradient dZ W = dZ . tied->W^T. Its own W is zero: no weight decay to add. */
            be->gemm_tn(l->I, l->O, B, 1.0f, s->A[i], dcur, 1.0f, l->tied->dW);
            if (i > c->first) be->gemm_nt(B, l->I, l->O, 1.0f, dcur, l->tied->W, 0.0f, dother);
        } else {
            be->gemm_tn(l->O, l->I, B, 1.0f, dcur, s->A[i], 1.0f, l->dW);
            if (t->weight_decay > 0.0f && (!t->decay_head_only || i >= c->code))
                be->weight_decay(slots + SLOT_DECAY + (i - c->first), l->dW, l->W,
                                 t->weight_decay * scale, (size_t)l->O * l->I);
            if (i > c->first) be->gemm_nn(B, l->I, l->O, 1.0f, dcur, l->W, 0.0f, dother);
        }
        if (i > c->first) {
            float *tmp = dcur;
            dcur = dother;
            dother = tmp;
        }
    }
}

static void zero_grads(const Backend *be, const Chain *c) {
    for (int i = c->first; i < c->n; i++) be->fill(c->L[i]->grads, 0.0f, c->L[i]->nparams);
}

/* Sums a batch's slots on the host into the epoch accumulators. */
typedef struct Sums {
    double loss, pen, act, decay;
} Sums;

static Sums slots_sum(const float *h, int ntrained) {
    Sums s = {h[SLOT_LOSS], h[SLOT_PEN], h[SLOT_ACT], 0.0};
    for (int k = 0; k < ntrained; k++) s.decay += h[SLOT_DECAY + k];
    return s;
}

static void shuffle_perm(int32_t *perm, int n, bool shuffle, RngStream *rng) {
    for (int i = 0; i < n; i++) perm[i] = i;
    if (!shuffle) return;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_next_below(rng, (uint64_t)i + 1);
        int32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

/* perm (backend, n) = 0, 1, ..., n-1: full-batch and evaluation passes read rows in order.
 * Uploaded a chunk at a time from the stack: nothing to allocate, nothing that can fail. */
static void upload_identity_perm(const Backend *be, int32_t *perm_dev, int n) {
    int32_t chunk[4096];
    for (int i = 0; i < n; i += 4096) {
        int k = n - i < 4096 ? n - i : 4096;
        for (int j = 0; j < k; j++) chunk[j] = i + j;
        be->upload(perm_dev + i, chunk, (size_t)k * sizeof *chunk);
    }
}

static double confusion_accuracy(const int32_t *conf, int C) {
    long long right = 0, all = 0;
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) {
            all += conf[i * C + j];
            if (i == j) right += conf[i * C + j];
        }
    return all ? 100.0 * (double)right / (double)all : NAN;
}

static bool eval_pass(const Backend *be, Chain *c, const DeviceData *data, int B, int pass,
                      const float *codes, EvalResult *out, AeError *err);

/* The classifier's accuracy on test in batches of B, as model_evaluate finds it; from the frozen
 * prefix's test outputs (x->test_codes) through the trained layers only, when there are. */
static bool stage_test_accuracy(StepCtx *x, const DeviceData *test, int B, double *accuracy,
                                AeError *err) {
    EvalResult ev = {.accuracy = NAN};
    bool ok;
    if (x->test_codes) {
        Chain h = {.code = -1, .target = -1};
        for (int i = x->c->first; i < x->c->n; i++) h.L[h.n++] = x->c->L[i];
        if (h.n == 0) return ae_fail(err, "no trained layers to evaluate");
        int Be = B > 0 && B < test->n ? B : test->n;
        ok = eval_pass(x->be, &h, test, Be, 0, x->test_codes, &ev, err);
    } else {
        ok = model_evaluate(x->m, test, B, &ev, err);
    }
    *accuracy = ev.accuracy;
    eval_result_clear(&ev);
    return ok;
}

/* *out (n, dim) = the outputs of c's layers [0, upto) for rows [0, n) of d, in batches of B rows
 * in order, as an evaluation pass computes them. */
static bool prefix_codes(const Backend *be, const Chain *c, int upto, const DeviceData *d, int n,
                         int B, float **out, AeError *err) {
    if (upto < 1 || upto > c->n) return ae_fail(err, "no frozen layers to compute");
    Chain p = {.code = -1, .target = -1};
    for (int i = 0; i < upto; i++) p.L[p.n++] = c->L[i];
    p.first = p.n;
    int dim = dim_in(c, upto);
    float *P = be->alloc((size_t)n * dim * sizeof(float));
    if (!P)
        return ae_fail(err, "out of %s memory for the frozen layers' outputs (%d rows of %d)",
                       be->name, n, dim);
    StageBuffers s;
    if (!buffers_create(&s, be, &p, B, n, 1, 0, OPT_COUNT, false, err)) {
        be->free(P);
        return false;
    }
    upload_identity_perm(be, s.perm, n);
    for (int off = 0; off < n; off += B) {
        int rows = n - off < B ? n - off : B;
        be->gather(s.A[0], NULL, d->images, NULL, s.perm + off, rows, d->D, 1.0f / 255.0f);
        chain_forward(be, &p, s.A, 0, p.n, rows);
        be->copy(P + (size_t)off * dim, s.A[p.n], (size_t)rows * dim * sizeof(float));
    }
    buffers_free(&s);
    *out = P;
    return true;
}

/* ---- validation, clipping, early stopping ---- */

/* The task's loss on the validation set (mean over its examples: each batch's mean weighted
 * by its rows), and the accuracy for a classifier (else NAN); no noise, no penalty. */
static void val_measure(StepCtx *x, double *loss, double *acc) {
    const Backend *be = x->be;
    const Chain *c = x->c;
    const TrainTask *t = x->task;
    const DeviceData *v = t->val;
    StageBuffers *s = x->vs;
    bool ae = t->kind == TASK_AUTOENCODER;
    int n = v->n, B = s->B, nb = (n + B - 1) / B, C = ae ? 0 : dim_in(c, c->n);
    if (C) be->fill((float *)s->conf, 0.0f, (size_t)C * C); /* int32 zero == float 0 bits */
    for (int b = 0; b < nb; b++) {
        int off = b * B, rows = off + B <= n ? B : n - off;
        int from = x->val_codes ? c->first : 0;
        if (x->val_codes)
            be->gather_rows(s->A[from], ae ? NULL : s->labels, x->val_codes,
                            ae ? NULL : v->labels, s->perm + off, rows, dim_in(c, from));
        else
            be->gather(s->A[0], ae ? NULL : s->labels, v->images, ae ? NULL : v->labels,
                       s->perm + off, rows, v->D, 1.0f / 255.0f);
        chain_forward(be, c, s->A, from, c->n, rows);
        const float *target = ae ? s->A[c->target] : NULL;
        be->loss(s->slots + b, NULL, s->A[c->n], target, s->labels, t->loss, ACT_IDENTITY, rows,
                 dim_in(c, c->n), NULL);
        if (C) be->confusion_acc(s->conf, s->A[c->n], s->labels, rows, C);
    }
    be->download(x->vslots, s->slots, (size_t)nb * sizeof *x->vslots);
    double sum = 0;
    for (int b = 0; b < nb; b++) {
        int rows = (b + 1) * B <= n ? B : n - b * B;
        sum += (double)x->vslots[b] * rows;
    }
    *loss = sum / n;
    *acc = NAN;
    if (C) {
        be->download(x->vconf, s->conf, (size_t)C * C * sizeof *x->vconf);
        *acc = confusion_accuracy(x->vconf, C);
    }
}

/* Rescales the trained gradients so that their global L2 norm is at most t->clip_norm:
 * g *= clip / ||g|| when ||g|| > clip (the norm over every trained parameter, biases
 * included, as torch.nn.utils.clip_grad_norm_). Synchronises (dot). */
static void clip_gradients(const Backend *be, const Chain *c, float clip) {
    double sq = 0;
    for (int i = c->first; i < c->n; i++)
        sq += be->dot(c->L[i]->grads, c->L[i]->grads, c->L[i]->nparams);
    double norm = sqrt(sq);
    if (!(norm > clip)) return;
    float f = (float)(clip / norm);
    for (int i = c->first; i < c->n; i++) be->scal(c->L[i]->grads, f, c->L[i]->nparams);
}

/* The value of the early-stopping metric in st. */
static double early_metric(const EarlyStopSpec *e, const EpochStats *st) {
    switch (e->metric) {
    case ES_VAL_LOSS: return st->val_loss;
    case ES_VAL_ACCURACY: return st->val_accuracy;
    case ES_TRAIN_LOSS: return st->loss;
    default: return NAN;
    }
}

/* Copies the trained parameters into x->best (to_best) or back. */
static void best_copy(StepCtx *x, bool to_best) {
    const Chain *c = x->c;
    for (int i = c->first; i < c->n; i++) {
        size_t nbytes = c->L[i]->nparams * sizeof(float);
        if (to_best) x->be->copy(x->best[i], c->L[i]->params, nbytes);
        else x->be->copy(c->L[i]->params, x->best[i], nbytes);
    }
}

/* Early stopping after epoch st->epoch: returns true to stop; fills st's stopped/restored
 * epochs on the stage's last row and restores the best parameters there (restore_best). */
static bool early_stop_epoch(StepCtx *x, EarlyStopState *es, EpochStats *st) {
    const EarlyStopSpec *e = &x->task->early;
    if (e->metric == ES_NONE) return false;
    bool improved;
    bool stop = early_stop_update(es, e, st->epoch, early_metric(e, st), &improved);
    if (improved && e->restore_best) best_copy(x, true);
    if (!stop && st->epoch < st->epochs) return false;
    st->stopped_epoch = st->epoch;
    if (e->restore_best && es->best_epoch > 0) {
        st->restored_epoch = es->best_epoch;
        if (es->best_epoch != st->epoch) best_copy(x, false);
    }
    return stop;
}

/* ---- minibatch training (SGD, Adam) ---- */

static TrainStatus train_minibatch(StepCtx *x, const DeviceData *test, const TrainHooks *hooks,
                                   int n, AeError *err) {
    const Backend *be = x->be;
    const TrainTask *t = x->task;
    const Chain *c = x->c;
    StageBuffers *s = x->s;
    int B = t->batch_size < n ? t->batch_size : n;
    int nb = (n + B - 1) / B;
    int ntrained = c->n - c->first;
    int C = t->kind == TASK_CLASSIFIER ? dim_in(c, c->n) : 0;
    RngStream rng = rng_stream(train_stage_seed(t->seed, t->stage_index), RNG_STREAM_SHUFFLE);
    int32_t *perm = ae_malloc((size_t)n * sizeof *perm, "the shuffle order", err);
    float *hslots = perm ? ae_malloc((size_t)s->nslots * sizeof *hslots, "the batch losses", err)
                         : NULL;
    int32_t *hconf = hslots && C ? ae_malloc((size_t)C * C * sizeof *hconf,
                                             "the confusion counts", err) : NULL;
    TrainStatus status = hslots && (hconf || !C) ? TRAIN_OK : TRAIN_ERROR;
    int adam_t = 0;
    /* Plain SGD (no momentum, no weight decay, no clipping) is applied by the backward pass
     * itself. */
    bool tied = false; /* a tied decoder changes the encoder's W: no update inside backward */
    for (int i = c->first; i < c->n; i++) tied |= c->L[i]->tied != NULL;
    bool plain_sgd = t->opt.kind == OPT_SGD && t->opt.momentum == 0.0f &&
                     !(t->weight_decay > 0.0f) && !(t->clip_norm > 0.0f) && !tied;
    EarlyStopState es;
    early_stop_init(&es);

    for (int epoch = 1; epoch <= t->epochs && status == TRAIN_OK; epoch++) {
        double t0 = now_seconds();
        float lr = schedule_lr(&t->schedule, t->opt.lr, epoch, t->epochs);
        x->sgd_lr = plain_sgd ? lr : 0.0f;
        shuffle_perm(perm, n, t->shuffle, &rng);
        be->upload(s->perm, perm, (size_t)n * sizeof *perm);
        be->fill(s->slots, 0.0f, (size_t)s->nslots);
        if (C) be->fill((float *)s->conf, 0.0f, (size_t)C * C); /* int32 zero == float 0 bits */
        int done = 0;
        for (int b = 0; b < nb; b++) {
            int off = b * B, rows = off + B <= n ? B : n - off;
            if (!(x->sgd_lr > 0.0f)) zero_grads(be, c);
            step_forward_backward(x, off, rows, b * x->per_batch, 1.0f);
            adam_t++;
            if (t->clip_norm > 0.0f) clip_gradients(be, c, t->clip_norm);
            for (int i = c->first; i < c->n && !(x->sgd_lr > 0.0f); i++) {
                Layer *l = c->L[i];
                if (t->opt.kind == OPT_SGD)
                    be->sgd_step(l->params, l->grads, s->opt_m[i], l->nparams, lr,
                                 t->opt.momentum, t->opt.nesterov);
                else
                    be->adam_step(l->params, l->grads, s->opt_m[i], s->opt_v[i], l->nparams,
                                  lr, t->opt.beta1, t->opt.beta2, t->opt.eps, adam_t);
            }
            done++;
            if (hooks && hooks->on_batch) hooks->on_batch(hooks->ctx, epoch, b + 1, nb);
            if (hooks && hooks->interrupt && *hooks->interrupt) {
                status = TRAIN_INTERRUPTED;
                break;
            }
        }
        if (status != TRAIN_OK) break;
        be->download(hslots, s->slots, (size_t)nb * x->per_batch * sizeof *hslots);
        EpochStats st = {.epoch = epoch, .epochs = t->epochs, .test_accuracy = NAN,
                         .train_accuracy = NAN, .val_loss = NAN, .val_accuracy = NAN, .lr = lr};
        for (int b = 0; b < done; b++) {
            Sums sm = slots_sum(hslots + (size_t)b * x->per_batch, ntrained);
            if (!isfinite(sm.loss) || !isfinite(sm.pen) || !isfinite(sm.decay)) {
                ae_fail(err, "training diverged: the loss became %s in epoch %d, batch %d of %d",
                        isnan(sm.loss + sm.pen + sm.decay) ? "NaN" : "infinite", epoch, b + 1, nb);
                status = TRAIN_DIVERGED;
                break;
            }
            st.loss += sm.loss;
            st.penalty += sm.pen;
            st.decay += sm.decay;
            st.mean_activation += sm.act;
        }
        if (status != TRAIN_OK) break;
        st.loss /= done;
        st.penalty /= done;
        st.decay /= done;
        st.mean_activation = t->kind == TASK_AUTOENCODER ? st.mean_activation / done : NAN;
        st.objective = st.loss + st.penalty + st.decay;
        if (C) {
            be->download(hconf, s->conf, (size_t)C * C * sizeof *hconf);
            st.train_accuracy = confusion_accuracy(hconf, C);
            if (test && !stage_test_accuracy(x, test, t->batch_size, &st.test_accuracy, err)) {
                status = TRAIN_ERROR;
                break;
            }
        }
        if (t->val) val_measure(x, &st.val_loss, &st.val_accuracy);
        bool stop = early_stop_epoch(x, &es, &st);
        st.seconds = now_seconds() - t0;
        if (hooks && hooks->on_epoch && !hooks->on_epoch(hooks->ctx, &st, err)) status = TRAIN_ERROR;
        if (stop) break;
    }
    free(perm);
    free(hslots);
    free(hconf);
    return status;
}

/* ---- full-batch L-BFGS ---- */

typedef struct LbfgsCtx {
    StepCtx *x;
    int n;
    float *hslots;
    float *kl_host;  /* (code dim) host scratch of lbfgs_kl_pass */
    Sums last;       /* parts of the last evaluation */
    const DeviceData *test;
    const TrainHooks *hooks;
    double t0;
    AeError *err;
    bool failed;
    bool interrupted;
} LbfgsCtx;

static void params_scatter(const Backend *be, const Chain *c, const float *x) {
    size_t off = 0;
    for (int i = c->first; i < c->n; i++) {
        be->copy(c->L[i]->params, x + off, c->L[i]->nparams * sizeof(float));
        off += c->L[i]->nparams;
    }
}

static void grads_gather(const Backend *be, const Chain *c, float *g, bool params) {
    size_t off = 0;
    for (int i = c->first; i < c->n; i++) {
        be->copy(g + off, params ? c->L[i]->params : c->L[i]->grads,
                 c->L[i]->nparams * sizeof(float));
        off += c->L[i]->nparams;
    }
}

/* KL sparsity over a full batch evaluated in chunks needs the code's mean activations over all
 * n rows before any gradient: a forward pass up to the code first, chunk by chunk (drawing the
 * same noise the gradient pass then draws), summed into rhohat and, with x->kl_codes, kept for
 * the gradient pass (copied out of the stage's buffer, and back into it by step_forward, so that
 * every op reads the addresses it always reads: the bits cannot depend on where rows lie); then,
 * on the host, as kl_penalty computes them (rhohat clamped to [1e-6, 1-1e-6]), the penalty
 * (returned) and the gradient row beta/n * (-rho/rhohat + (1-rho)/(1-rhohat)) into x->kl_grad,
 * which step_forward_backward adds to every row. */
static double lbfgs_kl_pass(LbfgsCtx *lc) {
    StepCtx *x = lc->x;
    const Backend *be = x->be;
    const Chain *c = x->c;
    int n = lc->n, B = x->s->B, O = dim_in(c, c->code);
    float rho = x->task->sparsity.rho, beta = x->task->sparsity.beta;
    uint64_t counter = x->noise_counter;
    be->fill(x->s->rhohat, 0.0f, (size_t)O);
    for (int off = 0; off < n; off += B) {
        int rows = n - off < B ? n - off : B;
        step_forward(x, off, rows, c->code);
        be->colsum_acc(x->s->rhohat, x->s->A[c->code], rows, O);
        if (x->kl_codes)
            be->copy(x->kl_codes + (size_t)off * O, x->s->A[c->code],
                     (size_t)rows * O * sizeof(float));
    }
    x->noise_counter = counter;
    be->download(lc->kl_host, x->s->rhohat, (size_t)O * sizeof(float));
    double kl = 0.0;
    for (int j = 0; j < O; j++) {
        float p = lc->kl_host[j] / (float)n;
        if (p < 1e-6f) p = 1e-6f;
        if (p > 1.0f - 1e-6f) p = 1.0f - 1e-6f;
        kl += rho * log((double)rho / p) + (1.0 - rho) * log((1.0 - rho) / (1.0 - p));
        lc->kl_host[j] = beta / (float)n * (-rho / p + (1.0f - rho) / (1.0f - p));
    }
    be->upload(x->kl_grad, lc->kl_host, (size_t)O * sizeof(float));
    return beta * kl;
}

/* The full-batch objective and gradient, in chunks of at most x->s->B rows. */
static double lbfgs_eval(void *vctx, const float *xv, float *g) {
    LbfgsCtx *lc = vctx;
    StepCtx *x = lc->x;
    const Backend *be = x->be;
    int n = lc->n, B = x->s->B, nchunks = (n + B - 1) / B;
    int ntrained = x->c->n - x->c->first;
    const TrainHooks *h = lc->hooks;
    if (h && h->on_evaluation) h->on_evaluation(h->ctx, false);
    params_scatter(be, x->c, xv);
    zero_grads(be, x->c);
    be->fill(x->s->slots, 0.0f, (size_t)x->s->nslots);
    double kl = x->kl_grad ? lbfgs_kl_pass(lc) : 0.0;
    int O = x->kl_codes ? dim_in(x->c, x->c->code) : 0;
    for (int k = 0; k < nchunks; k++) {
        int off = k * B, rows = off + B <= n ? B : n - off;
        x->code_rows = x->kl_codes ? x->kl_codes + (size_t)off * O : NULL;
        step_forward_backward(x, off, rows, k * x->per_batch, (float)rows / n);
    }
    x->code_rows = NULL;
    grads_gather(be, x->c, g, false);
    be->download(lc->hslots, x->s->slots, (size_t)nchunks * x->per_batch * sizeof(float));
    if (h && h->on_evaluation) h->on_evaluation(h->ctx, true);
    Sums total = {.pen = kl};
    for (int k = 0; k < nchunks; k++) {
        int rows = (k + 1) * B <= n ? B : n - k * B;
        Sums sm = slots_sum(lc->hslots + (size_t)k * x->per_batch, ntrained);
        total.loss += sm.loss * rows / n;
        total.pen += sm.pen;
        total.act += sm.act * rows / n;
        total.decay += sm.decay;
    }
    lc->last = total;
    return total.loss + total.pen + total.decay;
}

static bool lbfgs_iter(void *vctx, int iter, double f, int evals) {
    LbfgsCtx *lc = vctx;
    StepCtx *x = lc->x;
    EpochStats st = {.epoch = iter, .epochs = x->task->epochs, .loss = lc->last.loss,
                     .penalty = lc->last.pen, .decay = lc->last.decay, .objective = f,
                     .mean_activation = x->task->kind == TASK_AUTOENCODER ? lc->last.act : NAN,
                     .test_accuracy = NAN, .train_accuracy = NAN, .evaluations = evals,
                     .val_loss = NAN, .val_accuracy = NAN, .lr = NAN};
    const TrainHooks *h = lc->hooks;
    if (x->task->kind == TASK_CLASSIFIER && lc->test &&
        !stage_test_accuracy(x, lc->test, LBFGS_EVAL_BATCH, &st.test_accuracy, lc->err)) {
        lc->failed = true;
        return false;
    }
    if (x->task->val) val_measure(x, &st.val_loss, &st.val_accuracy);
    double t1 = now_seconds();
    st.seconds = t1 - lc->t0;
    lc->t0 = t1;
    if (h && h->on_batch) h->on_batch(h->ctx, iter, 1, 1);
    if (h && h->on_epoch && !h->on_epoch(h->ctx, &st, lc->err)) {
        lc->failed = true;
        return false;
    }
    if (h && h->interrupt && *h->interrupt) {
        lc->interrupted = true;
        return false;
    }
    return true;
}

static TrainStatus train_lbfgs(StepCtx *x, const DeviceData *test, const TrainHooks *hooks, int n,
                               AeError *err) {
    const Backend *be = x->be;
    const Chain *c = x->c;
    size_t np = 0;
    for (int i = c->first; i < c->n; i++) np += c->L[i]->nparams;
    LbfgsCtx lc = {.x = x, .n = n, .test = test, .hooks = hooks, .err = err};
    /* KL sparsity on a trained code over more than one chunk: two passes (lbfgs_kl_pass). */
    bool kl2 = x->task->sparsity.kind == PEN_KL && c->code > c->first && n > x->s->B;
    int O = kl2 ? dim_in(c, c->code) : 0;
    lc.hslots = ae_malloc((size_t)x->s->nslots * sizeof(float), "the chunk losses", err);
    if (kl2 && lc.hslots) lc.kl_host = ae_malloc((size_t)O * sizeof(float), "the KL row", err);
    if (!lc.hslots || (kl2 && !lc.kl_host)) {
        free(lc.hslots);
        return TRAIN_ERROR;
    }
    float *xv = be->alloc(np * sizeof(float));
    if (kl2) x->kl_grad = be->alloc((size_t)O * sizeof(float));
    if (!xv || (kl2 && !x->kl_grad)) {
        ae_fail(err, "out of %s memory for L-BFGS (%zu parameters)", be->name, np);
        be->free(xv);
        be->free(x->kl_grad);
        free(lc.hslots);
        free(lc.kl_host);
        return TRAIN_ERROR;
    }
    /* the first pass's codes for the second, when they fit the bound and can be had */
    size_t codes_bytes = (size_t)n * O * sizeof(float);
    if (kl2 && !x->task->recompute_kl_codes && codes_bytes <= TRAIN_KL_CODES_MAX_BYTES)
        x->kl_codes = be->alloc(codes_bytes);
    upload_identity_perm(be, x->s->perm, n);
    grads_gather(be, c, xv, true);
    lc.t0 = now_seconds();

    LbfgsOptions o = lbfgs_defaults();
    o.lr = x->task->opt.lr > 0 ? x->task->opt.lr : 1.0f;
    if (x->task->opt.history > 0) o.history = x->task->opt.history;
    o.max_iter = x->task->epochs;
    o.max_eval = x->task->opt.max_eval;
    if (x->task->opt.tol_grad > 0) o.tol_grad = x->task->opt.tol_grad;
    if (x->task->opt.tol_change > 0) o.tol_change = x->task->opt.tol_change;
    LbfgsResult res;
    bool ok = lbfgs_minimize(be, xv, np, lbfgs_eval, lbfgs_iter, &lc, &o, &res, err);
    params_scatter(be, c, xv);
    be->free(xv);
    be->free(x->kl_grad);
    be->free(x->kl_codes);
    x->kl_grad = NULL;
    x->kl_codes = NULL;
    free(lc.hslots);
    free(lc.kl_host);
    if (lc.failed) return TRAIN_ERROR;
    if (!ok) {
        if (!isfinite(res.f)) {
            ae_fail(err, "training diverged: the objective became %s at L-BFGS iteration %d "
                         "(evaluation %d)", isnan(res.f) ? "NaN" : "infinite",
                    res.iterations + 1, res.evaluations);
            return TRAIN_DIVERGED;
        }
        return TRAIN_ERROR;
    }
    if (lc.interrupted) return TRAIN_INTERRUPTED;
    return TRAIN_OK;
}

/* Labels index the head's C outputs (the label losses, the confusion matrix): data whose labels
 * reach past them is refused before anything runs. */
static bool labels_fit(const DeviceData *d, int C, AeError *err) {
    if (d->label_bound <= C) return true;
    return ae_fail(err, "the labels go up to %d but the classifier has %d outputs (classes 0..%d)",
                   d->label_bound - 1, C, C - 1);
}

/* The validation pass's buffers and the restore_best copies, sized before the first epoch
 * (B: the training batch rows). */
static bool extras_create(StepCtx *x, StageBuffers *vs, int B, int C, AeError *err) {
    const TrainTask *t = x->task;
    const Backend *be = x->be;
    const Chain *c = x->c;
    if (t->val) {
        int n = t->val->n, Bv = B < n ? B : n, nb = (n + Bv - 1) / Bv;
        if (C && !labels_fit(t->val, C, err)) return false;
        if (t->val->D != c->L[0]->I)
            return ae_fail(err, "the validation set has %d features, the model takes %d",
                           t->val->D, c->L[0]->I);
        if (!buffers_create(vs, be, c, Bv, n, nb, C, OPT_COUNT, false, err)) return false;
        x->vs = vs;
        upload_identity_perm(be, vs->perm, n);
        /* the frozen prefix's outputs once, in the batches val_measure then takes them in */
        if (x->s->codes && !prefix_codes(be, c, c->first, t->val, n, Bv, &x->val_codes, err))
            return false;
        x->vslots = ae_malloc((size_t)nb * sizeof *x->vslots, "the validation losses", err);
        if (!x->vslots) return false;
        if (C && !(x->vconf = ae_malloc((size_t)C * C * sizeof *x->vconf,
                                        "the validation confusion counts", err)))
            return false;
    }
    if (t->early.metric != ES_NONE && t->early.restore_best)
        for (int i = c->first; i < c->n; i++)
            if (!(x->best[i] = be->alloc(c->L[i]->nparams * sizeof(float))))
                return ae_fail(err, "out of %s memory for the best epoch's parameters",
                               be->name);
    return true;
}

static void extras_free(StepCtx *x) {
    if (x->vs) buffers_free(x->vs);
    free(x->vslots);
    free(x->vconf);
    x->be->free(x->val_codes);
    for (int i = 0; i < MAX_CHAIN; i++) x->be->free(x->best[i]);
}

/* What the stage asks for that full-batch L-BFGS does not do. */
static bool lbfgs_refuses(const TrainTask *t, AeError *err) {
    if (t->opt.kind != OPT_LBFGS) return true;
    if (t->schedule.kind != SCHED_NONE || t->schedule.warmup > 0)
        return ae_fail(err, "lbfgs takes no learning-rate schedule");
    if (t->early.metric != ES_NONE) return ae_fail(err, "lbfgs takes no early stopping");
    if (t->clip_norm > 0.0f) return ae_fail(err, "lbfgs takes no clip_norm");
    return true;
}

TrainStatus train_stage(Model *m, const TrainTask *t, const DeviceData *train,
                        const DeviceData *test, const TrainHooks *hooks, AeError *err) {
    const Backend *be = m->be;
    Chain c;
    if (!chain_build(&c, m, t, err)) return TRAIN_ERROR;
    if (c.L[0]->I != train->D)
        return ae_fail(err, "the model takes %d inputs but the data has %d features",
                       c.L[0]->I, train->D), TRAIN_ERROR;
    int n = t->subset > 0 && t->subset < train->n ? t->subset : train->n;
    bool full = t->opt.kind == OPT_LBFGS;
    /* Full batch in chunks of LBFGS_CHUNK rows, so memory does not grow with the data set (KL
     * sparsity in two passes over the chunks: lbfgs_kl_pass). */
    int chunk = t->lbfgs_chunk > 0 ? t->lbfgs_chunk : LBFGS_CHUNK;
    int B = full ? (chunk < n ? chunk : n) : (t->batch_size < n ? t->batch_size : n);
    int nb = (n + B - 1) / B;
    int ntrained = c.n - c.first;
    int per_batch = SLOT_DECAY + ntrained;
    int C = t->kind == TASK_CLASSIFIER ? dim_in(&c, c.n) : 0;
    if (C && (!labels_fit(train, C, err) || (test && !labels_fit(test, C, err))))
        return TRAIN_ERROR;
    /* A frozen prefix's outputs, once: for the training rows in the stage's batches, for the
     * test rows in the batches its per-epoch evaluation uses. */
    float *codes = NULL, *test_codes = NULL;
    bool prefix = c.first > 0 && !t->recompute_prefix;
    if (prefix && !prefix_codes(be, &c, c.first, train, n, B, &codes, err)) return TRAIN_ERROR;
    if (prefix && C && test && test->n > 0) {
        int eb = full ? LBFGS_EVAL_BATCH : t->batch_size;
        if (!prefix_codes(be, &c, c.first, test, test->n, eb > 0 && eb < test->n ? eb : test->n,
                          &test_codes, err)) {
            be->free(codes);
            return TRAIN_ERROR;
        }
    }
    StageBuffers s;
    if (!buffers_create(&s, be, &c, B, n, nb * per_batch, C, t->opt.kind,
                        t->noise.kind != NOISE_NONE, err)) {
        be->free(codes);
        be->free(test_codes);
        return TRAIN_ERROR;
    }
    s.codes = codes;
    uint64_t stage_seed = train_stage_seed(t->seed, t->stage_index);
    StepCtx x = {.be = be, .m = m, .task = t, .c = &c, .s = &s, .data = train,
                 .noise_key = rng_key(stage_seed, RNG_STREAM_NOISE), .per_batch = per_batch,
                 .test_codes = test_codes};
    StageBuffers vs;
    TrainStatus st = TRAIN_ERROR;
    if (lbfgs_refuses(t, err) && extras_create(&x, &vs, B, C, err))
        st = full ? train_lbfgs(&x, test, hooks, n, err) : train_minibatch(&x, test, hooks, n, err);
    extras_free(&x);
    zero_grads(be, &c);
    buffers_free(&s);
    be->free(test_codes);
    return st;
}

bool train_gradients(Model *m, const TrainTask *t, const DeviceData *data, double parts[3],
                     AeError *err) {
    const Backend *be = m->be;
    Chain c;
    if (!chain_build(&c, m, t, err)) return false;
    int n = data->n;
    int ntrained = c.n - c.first;
    int per_batch = SLOT_DECAY + ntrained;
    int C = t->kind == TASK_CLASSIFIER ? dim_in(&c, c.n) : 0;
    if (C && !labels_fit(data, C, err)) return false;
    StageBuffers s;
    if (!buffers_create(&s, be, &c, n, n, per_batch, C, OPT_COUNT, t->noise.kind != NOISE_NONE,
                        err))
        return false;
    StepCtx x = {.be = be, .m = m, .task = t, .c = &c, .s = &s, .data = data,
                 .noise_key = rng_key(train_stage_seed(t->seed, t->stage_index), RNG_STREAM_NOISE),
                 .per_batch = per_batch};
    float *h = ae_malloc((size_t)per_batch * sizeof *h, "the batch losses", err);
    if (!h) {
        buffers_free(&s);
        return false;
    }
    upload_identity_perm(be, s.perm, n);
    zero_grads(be, &c);
    step_forward_backward(&x, 0, n, 0, 1.0f);
    be->download(h, s.slots, (size_t)per_batch * sizeof *h);
    Sums sm = slots_sum(h, ntrained);
    parts[0] = sm.loss;
    parts[1] = sm.pen;
    parts[2] = sm.decay;
    free(h);
    buffers_free(&s);
    return true;
}

/* ---- data on the device ---- */

DeviceData *device_data_create(const Backend *be, const Dataset *d, AeError *err) {
    DeviceData *dd = ae_calloc(1, sizeof *dd, "a data set's handle", err);
    if (!dd) return NULL;
    dd->be = be;
    dd->n = d->n;
    dd->D = d->D;
    dd->C = d->C;
    /* Taken from the labels themselves, so a Dataset whose C understates them cannot make the
     * label-indexed writes (losses, confusion) overrun. */
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= dd->label_bound) dd->label_bound = d->labels[i] + 1;
    dd->images = be->alloc((size_t)d->n * d->D);
    dd->labels = be->alloc((size_t)d->n);
    if (!dd->images || !dd->labels) {
        device_data_free(dd);
        ae_fail(err, "out of %s memory for %d examples of %d features", be->name, d->n, d->D);
        return NULL;
    }
    be->upload(dd->images, d->images, (size_t)d->n * d->D);
    be->upload(dd->labels, d->labels, (size_t)d->n);
    return dd;
}

void device_data_free(DeviceData *dd) {
    if (!dd) return;
    dd->be->free(dd->images);
    dd->be->free(dd->labels);
    free(dd);
}

/* ---- evaluation ---- */

void eval_result_clear(EvalResult *r) {
    if (!r) return;
    free(r->confusion);
    r->confusion = NULL;
}

/* One evaluation pass over data in batches of B: pass 0 runs enc + head into the confusion
 * counts (out->confusion, out->accuracy), pass 1 runs enc + dec into the reconstruction
 * errors. c holds the pass's chain. With codes (pass 0 only) the batches are taken from those
 * float rows (the outputs of layers that come before c) instead of the images. */
static bool eval_pass(const Backend *be, Chain *c, const DeviceData *data, int B, int pass,
                      const float *codes, EvalResult *out, AeError *err) {
    int n = data->n, nb = (n + B - 1) / B;
    int C = pass == 0 ? dim_in(c, c->n) : 0;
    if (C && !labels_fit(data, C, err)) return false;
    /* host copies of the results: the counts (C,C), or two losses per batch */
    size_t nhost = pass == 0 ? (size_t)C * C * sizeof(int32_t) : (size_t)2 * nb * sizeof(float);
    void *host = ae_malloc(nhost, pass == 0 ? "the confusion counts" : "the batch losses", err);
    StageBuffers s;
    c->first = c->n; /* nothing trained */
    if (!host || !buffers_create(&s, be, c, B, n, 2 * nb, C, OPT_COUNT, false, err)) {
        free(host);
        return false;
    }
    upload_identity_perm(be, s.perm, n);
    for (int b = 0; b < nb; b++) {
        int off = b * B, rows = off + B <= n ? B : n - off;
        if (codes)
            be->gather_rows(s.A[0], pass == 0 ? s.labels : NULL, codes,
                            pass == 0 ? data->labels : NULL, s.perm + off, rows, c->L[0]->I);
        else
            be->gather(s.A[0], pass == 0 ? s.labels : NULL, data->images,
                       pass == 0 ? data->labels : NULL, s.perm + off, rows, data->D,
                       1.0f / 255.0f);
        chain_forward(be, c, s.A, 0, c->n, rows);
        if (pass == 0) {
            be->confusion_acc(s.conf, s.A[c->n], s.labels, rows, C);
        } else {
            be->loss(s.slots + 2 * b, NULL, s.A[c->n], s.A[0], NULL, LOSS_MSE, ACT_IDENTITY,
                     rows, data->D, NULL);
            be->loss(s.slots + 2 * b + 1, NULL, s.A[c->n], s.A[0], NULL, LOSS_HALF_SSE,
                     ACT_IDENTITY, rows, data->D, NULL);
        }
    }
    if (pass == 0) {
        out->C = C;
        out->confusion = host;
        be->download(out->confusion, s.conf, nhost);
        out->accuracy = confusion_accuracy(out->confusion, C);
    } else {
        float *h = host;
        be->download(h, s.slots, nhost);
        double mse = 0, half = 0;
        for (int b = 0; b < nb; b++) {
            int rows = (b + 1) * B <= n ? B : n - b * B;
            mse += (double)h[2 * b] * rows;
            half += (double)h[2 * b + 1] * rows;
        }
        out->recon_mse = mse / n;
        out->recon_half_sse = half / n;
        free(h);
    }
    buffers_free(&s);
    return true;
}

/* Forward passes of a whole stack list over data in batches; used for both heads and decoders. */
bool model_evaluate(Model *m, const DeviceData *data, int batch_size, EvalResult *out,
                    AeError *err) {
    memset(out, 0, sizeof *out);
    out->accuracy = out->recon_mse = out->recon_half_sse = NAN;
    int n = data->n, B = batch_size > 0 && batch_size < n ? batch_size : n;
    for (int pass = 0; pass < 2; pass++) {
        Chain c = {0};
        for (int i = 0; i < m->nenc; i++) c.L[c.n++] = m->enc[i];
        if (pass == 0) {
            if (!m->nhead) continue;
            for (int i = 0; i < m->nhead; i++) c.L[c.n++] = m->head[i];
        } else {
            if (!m->ndec) continue;
            for (int i = 0; i < m->ndec; i++) c.L[c.n++] = m->dec[i];
        }
        if (c.n == 0) continue;
        if (!eval_pass(m->be, &c, data, B, pass, NULL, out, err)) {
            eval_result_clear(out);
            return false;
        }
    }
    return true;
}

bool model_reconstruct(Model *m, const float *X, int n, const NoiseSpec *noise, uint64_t seed,
                       float *noisy, float *Y, AeError *err) {
    const Backend *be = m->be;
    if (!m->ndec) return ae_fail(err, "the model has no decoder to reconstruct with");
    Chain c = {0};
    for (int i = 0; i < m->nenc; i++) c.L[c.n++] = m->enc[i];
    for (int i = 0; i < m->ndec; i++) c.L[c.n++] = m->dec[i];
    c.first = c.n;
    StageBuffers s;
    bool use_noise = noise && noise->kind != NOISE_NONE;
    if (!buffers_create(&s, be, &c, n, 1, 1, 0, OPT_COUNT, use_noise, err)) return false;
    size_t nx = (size_t)n * m->input_dim;
    if (use_noise) {
        be->upload(s.T, X, nx * sizeof *X);
        be->noise(s.A[0], s.T, noise, rng_key(seed, RNG_STREAM_NOISE), 0, nx);
        if (noisy) be->download(noisy, s.A[0], nx * sizeof *X);
    } else {
        be->upload(s.A[0], X, nx * sizeof *X);
    }
    chain_forward(be, &c, s.A, 0, c.n, n);
    be->download(Y, s.A[c.n], nx * sizeof *Y);
    buffers_free(&s);
    return true;
}
