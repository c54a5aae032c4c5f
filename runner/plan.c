/* runner/plan.c — shapes, parameter counts, FLOPs and memory per stage (see plan.h for the
 * cost model), printed by plan_print and held against the machine's limits by plan_validate.
 * The model state is simulated the way the pipeline builds it (engine/model.h): enc[0..nenc)
 * bottom-up, dec[0] the top of the decoder (code -> ...), dec[ndec-1] the output layer,
 * head[0..nhead) on the code. Both walk the stages with plan_stage, so what is printed is what
 * is checked. */
#include "plan.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "datacheck.h"

/* ---- checked sizes: saturate at SIZE_OVER instead of wrapping ---- */

#define SIZE_OVER UINT64_MAX

static uint64_t sz_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? SIZE_OVER : r;
}

static uint64_t sz_add(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? SIZE_OVER : r;
}

/* ---- the simulated model ---- */

/* The key of its stage that sets a layer's width. */
typedef enum { PK_UNITS = 0, PK_HIDDEN, PK_CLASSES } PKey;

typedef struct PLayer {
    int I, O;
    Act act;
    int stage;   /* the stage that made it */
    PKey key;
    int index;   /* PK_HIDDEN: the entry of `hidden` */
} PLayer;

typedef struct PModel {
    int D;
    PLayer enc[AE_MAX_LAYERS], dec[AE_MAX_LAYERS], head[AE_MAX_LAYERS + 1];
    int nenc, ndec, nhead;
} PModel;

/* One layer's place in a training chain. */
typedef enum { ROLE_FROZEN = 0, ROLE_TRAINED_NO_DX, ROLE_TRAINED } Role;

typedef struct Chain {
    PLayer l[3 * AE_MAX_LAYERS + 1];
    Role role[3 * AE_MAX_LAYERS + 1];
    int n;
} Chain;

static void chain_add(Chain *ch, PLayer l, Role r) {
    if (ch->n < (int)(sizeof ch->l / sizeof *ch->l)) {
        ch->l[ch->n] = l;
        ch->role[ch->n++] = r;
    }
}

static uint64_t layer_params(PLayer l) {
    return sz_add(sz_mul((uint64_t)l.I, (uint64_t)l.O), (uint64_t)l.O);
}

static uint64_t model_params(const PModel *m) {
    uint64_t n = 0;
    for (int i = 0; i < m->nenc; i++) n = sz_add(n, layer_params(m->enc[i]));
    for (int i = 0; i < m->ndec; i++) n = sz_add(n, layer_params(m->dec[i]));
    for (int i = 0; i < m->nhead; i++) n = sz_add(n, layer_params(m->head[i]));
    return n;
}

static int code_dim(const PModel *m) {
    return m->nenc ? m->enc[m->nenc - 1].O : m->D;
}

/* ---- the cost of one training run ---- */

typedef struct Cost {
    int64_t n, B;           /* examples per epoch, batch */
    double flops;           /* GEMM FLOPs of one epoch (lbfgs: of one evaluation) */
    double once;            /* GEMM FLOPs once per stage: the frozen prefix's outputs */
    uint64_t trained, total;                  /* parameters */
    uint64_t params, grads, opt, acts, bytes; /* memory of one step, bytes */
    int culprit;            /* the chain's layer that needs the most memory; -1: none */
} Cost;

static uint64_t opt_vectors(const OptimSpec *o) {
    if (o->kind == OPT_SGD) return o->momentum != 0 ? 1 : 0;
    if (o->kind == OPT_ADAM) return 2;
    return sz_add(sz_mul(2, (uint64_t)(o->history > 0 ? o->history : 0)), 4);
}

/* The layer's own share of a step: its parameters (with gradients and optimizer state when
 * trained) and its output's values and gradients for a batch. */
static uint64_t layer_bytes(PLayer l, Role r, uint64_t nopt, int64_t B) {
    uint64_t copies = r == ROLE_FROZEN ? 1 : sz_add(2, nopt);
    uint64_t p = sz_mul(sz_mul(4, layer_params(l)), copies);
    return sz_add(p, sz_mul(sz_mul(8, (uint64_t)l.O), (uint64_t)B));
}

static void chain_cost(const PModel *m, const Chain *ch, const TrainCfg *t,
                       const DatasetCfg *data, int N, Cost *c) {
    *c = (Cost){.n = N, .culprit = -1};
    if (t->subset > 0 && t->subset < c->n) c->n = t->subset;
    c->B = t->batch_size > 0 ? t->batch_size : data->batch_size;
    if (t->opt.kind == OPT_LBFGS || c->B > c->n) c->B = c->n;
    if (c->B < 1) c->B = 1;
    uint64_t nopt = opt_vectors(&t->opt), act_floats = ch->n ? (uint64_t)ch->l[0].I : 0;
    uint64_t most = 0, codes = 0;
    for (int i = 0; i < ch->n; i++) {
        double io = (double)ch->l[i].I * ch->l[i].O;
        /* A frozen prefix runs forward once per stage (engine/train.c keeps its outputs). */
        if (ch->role[i] == ROLE_FROZEN) {
            c->once += 2.0 * (double)c->n * io;
            if (i + 1 < ch->n && ch->role[i + 1] != ROLE_FROZEN)
                codes = sz_mul((uint64_t)c->n, (uint64_t)ch->l[i].O);
        } else {
            c->flops += (ch->role[i] == ROLE_TRAINED ? 6.0 : 4.0) * (double)c->n * io;
        }
        if (ch->role[i] != ROLE_FROZEN) c->trained = sz_add(c->trained, layer_params(ch->l[i]));
        act_floats = sz_add(act_floats, (uint64_t)ch->l[i].O);
        uint64_t own = layer_bytes(ch->l[i], ch->role[i], nopt, c->B);
        if (c->culprit < 0 || own > most) {
            most = own;
            c->culprit = i;
        }
    }
    c->total = model_params(m);
    c->params = sz_mul(4, c->total);
    c->grads = sz_mul(4, c->trained);
    c->opt = sz_mul(sz_mul(4, nopt), c->trained);
    c->acts = sz_add(sz_mul(sz_mul(8, act_floats), (uint64_t)c->B), sz_mul(4, codes));
    c->bytes = sz_add(sz_add(c->params, c->grads), sz_add(c->opt, c->acts));
}

/* ---- walking the stages ---- */

typedef struct PlanState {
    PModel m;
    DatasetCfg data;
    int data_stage;  /* the load_dataset stage in force; -1 before one */
    int C, N;
    int nval;        /* examples held out for validation; 0 = none */
} PlanState;

/* What one stage does to the model and what its training runs through. */
typedef struct StagePlan {
    Chain train;       /* n = 0: the stage trains nothing */
    Chain tune;        /* attach_classifier's fine-tuning after the frozen phase; n = 0: none */
    uint64_t dropped;  /* strip_decoder: parameters of the decoder dropped */
    bool full;         /* pretrain/append_layer past AE_MAX_LAYERS: nothing added */
} StagePlan;

static void plan_init(PlanState *ps, const int *dims_or_null) {
    int D = dims_or_null ? dims_or_null[0] : 784;
    *ps = (PlanState){.m = {.D = D}, .data = {.batch_size = 1000, .shuffle = true},
                      .data_stage = -1,
                      .C = dims_or_null ? dims_or_null[1] : 10,
                      .N = dims_or_null ? dims_or_null[2] : 60000};
}

static void apply_layer(PlanState *ps, const StageCfg *s, int k, StagePlan *sp) {
    PModel *m = &ps->m;
    if (m->nenc >= AE_MAX_LAYERS) {
        sp->full = true;
        return;
    }
    int I = code_dim(m);
    PLayer e = {I, s->units, s->activation, k, PK_UNITS, 0};
    PLayer dl = {s->units, I, s->decoder_activation, k, PK_UNITS, 0};
    m->enc[m->nenc++] = e;
    memmove(&m->dec[1], &m->dec[0], (size_t)m->ndec * sizeof m->dec[0]);
    m->dec[0] = dl;
    m->ndec++;
    if (s->kind == STAGE_PRETRAIN_LAYER) {
        for (int i = 0; i < m->nenc - 1; i++) chain_add(&sp->train, m->enc[i], ROLE_FROZEN);
        chain_add(&sp->train, e, ROLE_TRAINED_NO_DX);
        chain_add(&sp->train, dl, ROLE_TRAINED);
    } else {
        for (int i = 0; i < m->nenc; i++)
            chain_add(&sp->train, m->enc[i], i == 0 ? ROLE_TRAINED_NO_DX : ROLE_TRAINED);
        for (int i = 0; i < m->ndec; i++) chain_add(&sp->train, m->dec[i], ROLE_TRAINED);
    }
}

static void apply_classifier(PlanState *ps, const StageCfg *s, int k, StagePlan *sp) {
    PModel *m = &ps->m;
    int classes = s->classes > 0 ? s->classes : ps->C;
    int I = code_dim(m);
    m->nhead = 0;
    for (int i = 0; i < s->nhidden && i < AE_MAX_LAYERS; i++) {
        m->head[m->nhead++] = (PLayer){I, s->hidden[i], s->hidden_activation, k, PK_HIDDEN, i};
        I = s->hidden[i];
    }
    Act out_act = s->train.loss == LOSS_NLL ? ACT_LOGSOFTMAX : ACT_IDENTITY;
    m->head[m->nhead++] = (PLayer){I, classes, out_act, k, PK_CLASSES, 0};
    bool enc_trained = !s->freeze_encoder;
    for (int i = 0; i < m->nenc; i++)
        chain_add(&sp->train, m->enc[i],
                  !enc_trained ? ROLE_FROZEN
                  : i == 0     ? ROLE_TRAINED_NO_DX
                               : ROLE_TRAINED);
    for (int i = 0; i < m->nhead; i++) {
        bool needs_dx = i > 0 || (enc_trained && m->nenc > 0);
        chain_add(&sp->train, m->head[i], needs_dx ? ROLE_TRAINED : ROLE_TRAINED_NO_DX);
    }
    if (s->finetune_epochs > 0 && s->freeze_encoder && m->nenc > 0) {
        for (int i = 0; i < m->nenc; i++)
            chain_add(&sp->tune, m->enc[i], i == 0 ? ROLE_TRAINED_NO_DX : ROLE_TRAINED);
        for (int i = 0; i < m->nhead; i++) chain_add(&sp->tune, m->head[i], ROLE_TRAINED);
    }
}

/* Applies stage k to the simulated model and data, filling sp. */
static void plan_stage(PlanState *ps, const StageCfg *s, int k, StagePlan *sp) {
    sp->train.n = sp->tune.n = 0;
    sp->dropped = 0;
    sp->full = false;
    switch (s->kind) {
    case STAGE_LOAD_DATASET:
        ps->data = s->data;
        ps->data_stage = k;
        if (ps->data.subset > 0 && ps->data.subset < ps->N) ps->N = ps->data.subset;
        ps->nval = 0;
        if (ps->data.validation > 0) { /* as split_validation in runner/pipeline.c counts it */
            double v = ps->data.validation;
            ps->nval = (int)(v >= 1 ? v : lround(v * ps->N));
            if (ps->nval > 0 && ps->nval < ps->N) ps->N -= ps->nval;
        }
        break;
    case STAGE_PRETRAIN_LAYER:
    case STAGE_APPEND_LAYER: apply_layer(ps, s, k, sp); break;
    case STAGE_STRIP_DECODER:
        for (int i = 0; i < ps->m.ndec; i++)
            sp->dropped = sz_add(sp->dropped, layer_params(ps->m.dec[i]));
        ps->m.ndec = 0;
        break;
    case STAGE_ATTACH_CLASSIFIER: apply_classifier(ps, s, k, sp); break;
    default: break;
    }
}

/* The training settings of attach_classifier's fine-tuning phase. */
static TrainCfg tune_cfg(const StageCfg *s) {
    TrainCfg t = s->train;
    t.epochs = s->finetune_epochs;
    return t;
}

/* ==== printing ==== */

typedef struct Totals {
    double flops;
    uint64_t peak;
    int ntrain;
} Totals;

/* 1234567 -> "1,234,567"; an overflowed size -> "more than 18,446,744,073,709,551,615" */
static const char *commas(uint64_t v, char *buf, size_t size) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
    if (v == SIZE_OVER) o = (size_t)snprintf(buf, size, "more than ");
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *act_str(Act a) {
    switch (a) {
    case ACT_IDENTITY: return "identity";
    case ACT_TANH: return "tanh";
    case ACT_SIGMOID: return "sigmoid";
    case ACT_RELU: return "relu";
    case ACT_LOGSOFTMAX: return "log-softmax";
    default: return "?";
    }
}

static const char *opt_str(OptKind k) {
    return k == OPT_SGD ? "sgd" : k == OPT_ADAM ? "adam" : "lbfgs";
}

static const char *loss_str(LossKind l) {
    static const char *const names[LOSS_COUNT] = {"mse", "half_sse", "nll", "cross_entropy",
                                                  "bce"};
    return l >= 0 && l < LOSS_COUNT ? names[l] : "?";
}

/* "188.2 GFLOP", "11800 GFLOP" */
static const char *gflop(double flops, char *buf, size_t size) {
    double g = flops / 1e9;
    if (g < 1000)
        snprintf(buf, size, "%.4g GFLOP", g);
    else
        snprintf(buf, size, "%.0f GFLOP", g);
    return buf;
}

/* Prints the cost lines of one training run and adds it to the totals. */
static void print_costs(FILE *out, const PlanState *ps, const Chain *ch, const TrainCfg *t,
                        Totals *tot) {
    Cost c;
    chain_cost(&ps->m, ch, t, &ps->data, ps->N, &c);
    char a[48], b[48], c1[48], c2[48], c3[48], c4[48], c5[48], g1[32], g2[32];
    fprintf(out, "      parameters: %s trained / %s in the model\n",
            commas(c.trained, a, sizeof a), commas(c.total, b, sizeof b));
    long long nbatches = (c.n + c.B - 1) / c.B;
    if (c.once > 0)
        fprintf(out, "      frozen layers' outputs, once: %s\n", gflop(c.once, g1, sizeof g1));
    if (t->opt.kind == OPT_LBFGS)
        fprintf(out, "      per evaluation (lbfgs, full batch of %lld): %s; %d iterations\n",
                (long long)c.n, gflop(c.flops, g1, sizeof g1), t->epochs);
    else
        fprintf(out, "      per epoch: %lld batch%s of %lld, %s; %d epoch%s, %s in all\n",
                nbatches, nbatches == 1 ? "" : "es", (long long)c.B,
                gflop(c.flops, g1, sizeof g1), t->epochs, t->epochs == 1 ? "" : "s",
                gflop(c.flops * t->epochs + c.once, g2, sizeof g2));
    fprintf(out,
            "      memory: %s bytes (parameters %s, gradients %s, optimizer %s, activations %s)\n",
            commas(c.bytes, c1, sizeof c1), commas(c.params, c2, sizeof c2),
            commas(c.grads, c3, sizeof c3), commas(c.opt, c4, sizeof c4),
            commas(c.acts, c5, sizeof c5));
    tot->flops += c.flops * t->epochs + c.once;
    if (c.bytes > tot->peak) tot->peak = c.bytes;
}

/* The schedule, early stopping and clipping of a training stage, when it has any. */
static void print_controls(FILE *out, const TrainCfg *t) {
    static const char *const sk[] = {"none", "step", "multistep", "exponential", "cosine"};
    static const char *const em[] = {"none", "val_loss", "val_accuracy", "train_loss"};
    const ScheduleSpec *sc = &t->schedule;
    if (sc->kind != SCHED_NONE || sc->warmup > 0)
        fprintf(out, "      schedule: %s per epoch%s, warmup %d epoch%s\n", sk[sc->kind],
                sc->kind == SCHED_NONE ? " (constant after the warmup)" : "", sc->warmup,
                sc->warmup == 1 ? "" : "s");
    if (t->early.metric != ES_NONE)
        fprintf(out, "      early stopping: %s, patience %d, min_delta %g%s\n",
                em[t->early.metric], t->early.patience, t->early.min_delta,
                t->early.restore_best ? ", restores the best epoch" : "");
    if (t->clip_norm > 0)
        fprintf(out, "      gradient clipping: global norm %g\n", (double)t->clip_norm);
}

/* A training stage's "how" line (batching, optimizer, loss), then its costs. */
static void print_training(FILE *out, const PlanState *ps, const Chain *ch, const StageCfg *s,
                           Totals *tot) {
    fprintf(out, "      %s, %s lr %g, loss %s\n",
            s->train.opt.kind == OPT_LBFGS ? "full batch" : "mini-batches",
            opt_str(s->train.opt.kind), (double)s->train.opt.lr, loss_str(s->train.loss));
    if (s->tied)
        fprintf(out, "      tied weights: the new decoder layer uses the encoder's W^T (one matrix; "
                     "its own weight count above is unused)\n");
    print_controls(out, &s->train);
    print_costs(out, ps, ch, &s->train, tot);
    tot->ntrain++;
}

static void print_stack(FILE *out, const PModel *m) {
    fprintf(out, "%d", m->D);
    for (int i = 0; i < m->nenc; i++) fprintf(out, "-%d", m->enc[i].O);
    for (int i = 0; i < m->ndec; i++) fprintf(out, "-%d", m->dec[i].O);
}

static void print_layer_stage(FILE *out, const PlanState *ps, const StageCfg *s,
                              const StagePlan *sp, Totals *tot) {
    if (sp->full) {
        fprintf(out, "(too many layers)\n");
        return;
    }
    const PModel *m = &ps->m;
    PLayer e = m->enc[m->nenc - 1], dl = m->dec[0];
    fprintf(out, "encoder %d->%d %s, decoder %d->%d %s\n", e.I, e.O, act_str(e.act), dl.I, dl.O,
            act_str(dl.act));
    if (s->kind == STAGE_PRETRAIN_LAYER) {
        if (m->nenc > 1)
            fprintf(out, "      trains the new pair on the codes of layer %d (%d layer%s "
                         "below frozen)\n",
                    m->nenc - 1, m->nenc - 1, m->nenc == 2 ? "" : "s");
    } else {
        fprintf(out, "      trains the whole autoencoder ");
        print_stack(out, m);
        fprintf(out, " end to end\n");
    }
    print_training(out, ps, &sp->train, s, tot);
}

static void print_sparsity(FILE *out, const StageCfg *s) {
    if (s->sparsity.kind == PEN_KL)
        fprintf(out, "KL sparsity on the code, rho %g, beta %g", (double)s->sparsity.rho,
                (double)s->sparsity.beta);
    else
        fprintf(out, "%s penalty on the code, weight %g",
                s->sparsity.kind == PEN_L1 ? "L1" : "normalised L1", (double)s->sparsity.weight);
    if (s->weight_decay > 0) fprintf(out, "; weight decay %g", (double)s->weight_decay);
    fprintf(out, "\n");
}

static void print_noise(FILE *out, const NoiseSpec *n) {
    if (n->kind == NOISE_GAUSSIAN) {
        fprintf(out, "gaussian noise, mean %g, std %g", (double)n->mean, (double)n->std);
        if (n->clamp) fprintf(out, ", clamped to [%g, %g]", (double)n->lo, (double)n->hi);
        fprintf(out, "\n");
    } else if (n->kind == NOISE_MASKING) {
        fprintf(out, "masking noise, %g of the inputs zeroed\n", (double)n->fraction);
    } else {
        fprintf(out, "salt-and-pepper noise, %g of the inputs set to %g or %g\n",
                (double)n->fraction, (double)n->lo, (double)n->hi);
    }
}

static void print_classifier(FILE *out, const PlanState *ps, const StageCfg *s,
                             const StagePlan *sp, Totals *tot) {
    const PModel *m = &ps->m;
    fprintf(out, "head");
    for (int i = 0; i < m->nhead; i++)
        fprintf(out, "%s %d->%d %s", i ? "," : "", m->head[i].I, m->head[i].O,
                m->head[i].act == ACT_IDENTITY ? "(raw scores)" : act_str(m->head[i].act));
    fprintf(out, "; %s\n", m->nenc == 0          ? "no encoder"
                           : s->freeze_encoder ? "encoder frozen"
                                               : "fine-tunes the encoder");
    print_training(out, ps, &sp->train, s, tot);
    if (sp->tune.n > 0) {
        TrainCfg tune = tune_cfg(s);
        fprintf(out, "      then fine-tunes encoder and head together:\n");
        print_costs(out, ps, &sp->tune, &tune, tot);
    }
}

static void print_evaluate(FILE *out, const PModel *m, const StageCfg *s) {
    double f = 0;
    for (int i = 0; i < m->nenc; i++) f += 2.0 * m->enc[i].I * m->enc[i].O;
    for (int i = 0; i < m->nhead; i++) f += 2.0 * m->head[i].I * m->head[i].O;
    for (int i = 0; i < m->ndec; i++) f += 2.0 * m->dec[i].I * m->dec[i].O;
    fprintf(out, "on the %s set: %s%s%s; %.4g MFLOP per example\n",
            s->eval_on_test ? "test" : "training",
            m->nhead ? "accuracy, per-class accuracy, confusion matrix" : "",
            m->nhead && m->ndec ? ", " : "", m->ndec ? "reconstruction error" : "", f / 1e6);
}

/* The line(s) of stage k after plan_stage applied it. */
static void print_stage(FILE *out, const PlanState *ps, const StageCfg *s, const StagePlan *sp,
                        Totals *tot) {
    char a[48];
    switch (s->kind) {
    case STAGE_LOAD_DATASET:
        fprintf(out, "%s, %d training examples of %d features, %d classes; batch %d%s\n",
                ps->data.name, ps->N, ps->m.D, ps->C, ps->data.batch_size,
                ps->data.shuffle ? ", shuffled" : "");
        if (ps->nval > 0)
            fprintf(out, "      validation: %d examples held out of the training set (seeded "
                         "shuffle); val_loss%s per epoch\n", ps->nval,
                    ps->C > 1 ? " and val_accuracy (classifiers)" : "");
        break;
    case STAGE_PRETRAIN_LAYER:
    case STAGE_APPEND_LAYER: print_layer_stage(out, ps, s, sp, tot); break;
    case STAGE_ADD_SPARSITY: print_sparsity(out, s); break;
    case STAGE_ADD_NOISE: print_noise(out, &s->noise); break;
    case STAGE_STRIP_DECODER:
        fprintf(out, "drops the decoder (%s parameters); the encoder is ",
                commas(sp->dropped, a, sizeof a));
        print_stack(out, &ps->m);
        fprintf(out, "\n");
        break;
    case STAGE_ATTACH_CLASSIFIER: print_classifier(out, ps, s, sp, tot); break;
    case STAGE_EVALUATE: print_evaluate(out, &ps->m, s); break;
    default: fprintf(out, "\n"); break;
    }
}

void plan_print(FILE *out, const Config *c, const int *data_dims_or_null) {
    PlanState ps;
    plan_init(&ps, data_dims_or_null);
    Totals tot = {0};
    fprintf(out, "plan for %s (%d stage%s)\n", c->name, c->nstages, c->nstages == 1 ? "" : "s");
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        if (strcmp(s->label, stage_kind_names[s->kind]) == 0)
            fprintf(out, "[%d] %s: ", k, s->label);
        else
            fprintf(out, "[%d] %s (%s): ", k, stage_kind_names[s->kind], s->label);
        StagePlan sp;
        plan_stage(&ps, s, k, &sp);
        print_stage(out, &ps, s, &sp, &tot);
    }
    char a[48], g[32];
    fprintf(out, "total: %d training stage%s, %s; largest step %s bytes\n", tot.ntrain,
            tot.ntrain == 1 ? "" : "s", gflop(tot.flops, g, sizeof g),
            commas(tot.peak, a, sizeof a));
}

/* Stage k's training run ch (tune: the fine-tuning phase) against the device's free memory;
 * 1 with msg filled when it does not fit. data: the training set's bytes on the device. */
static int device_step(const PlanState *ps, const Config *c, int k, const Chain *ch,
                       const TrainCfg *t, bool tune, uint64_t data, const char *device,
                       uint64_t free_bytes, uint64_t total_bytes, char *msg, size_t n) {
    Cost cost;
    chain_cost(&ps->m, ch, t, &ps->data, ps->N, &cost);
    uint64_t need = sz_add(cost.bytes, data);
    if (need != SIZE_OVER && need <= free_bytes) return 0;
    char b[6][32], fr[32], tot[32];
    snprintf(msg, n, "pipeline[%d].%s: the plan needs %s on the %s device%s (parameters %s, "
             "gradients %s, optimizer %s, activations %s, training data %s), more than the %s "
             "free there (of %s)", k, stage_kind_names[c->stages[k].kind],
             machine_format_bytes(need, b[0], sizeof b[0]), device,
             tune ? " to fine-tune encoder and head" : "",
             machine_format_bytes(cost.params, b[1], sizeof b[1]),
             machine_format_bytes(cost.grads, b[2], sizeof b[2]),
             machine_format_bytes(cost.opt, b[3], sizeof b[3]),
             machine_format_bytes(cost.acts, b[4], sizeof b[4]),
             machine_format_bytes(data, b[5], sizeof b[5]),
             machine_format_bytes(free_bytes, fr, sizeof fr),
             machine_format_bytes(total_bytes, tot, sizeof tot));
    return 1;
}

int plan_check_device_memory(const Config *c, const int *data_dims_or_null, const char *device,
                             uint64_t free_bytes, uint64_t total_bytes, char *msg, size_t n) {
    PlanState ps;
    plan_init(&ps, data_dims_or_null);
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        StagePlan sp;
        plan_stage(&ps, s, k, &sp);
        uint64_t data = sz_mul((uint64_t)ps.N, sz_add((uint64_t)ps.m.D, 1));
        if (sp.train.n > 0 && device_step(&ps, c, k, &sp.train, &s->train, false, data, device,
                                          free_bytes, total_bytes, msg, n))
            return 1;
        TrainCfg tune = tune_cfg(s);
        if (sp.tune.n > 0 && device_step(&ps, c, k, &sp.tune, &tune, true, data, device,
                                         free_bytes, total_bytes, msg, n))
            return 1;
    }
    return 0;
}

uint64_t plan_peak_bytes(const Config *c, const int *data_dims_or_null) {
    PlanState ps;
    plan_init(&ps, data_dims_or_null);
    uint64_t peak = 0;
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        StagePlan sp;
        plan_stage(&ps, s, k, &sp);
        Cost cost;
        if (sp.train.n > 0) {
            chain_cost(&ps.m, &sp.train, &s->train, &ps.data, ps.N, &cost);
            if (cost.bytes > peak) peak = cost.bytes;
        }
        if (sp.tune.n > 0) {
            TrainCfg tune = tune_cfg(s);
            chain_cost(&ps.m, &sp.tune, &tune, &ps.data, ps.N, &cost);
            if (cost.bytes > peak) peak = cost.bytes;
        }
    }
    return peak;
}

/* ==== checking against the machine ==== */

/* Where an error about a key of stage k points: the key's node in the YAML tree (after --set),
 * else the stage's kind node, else nowhere (line 0). */
typedef struct Blame {
    int stage;
    char key[48];      /* "units", "hidden[2]", "optimizer.history", "batch_size" */
    const YNode *node;
} Blame;

/* The kind node of pipeline item k and its argument mapping (NULL when it has none). The
 * config loaded without errors, so item k is stage k and has one key. */
static const YNode *stage_node(const YNode *pipeline, int k, const YNode **args) {
    *args = NULL;
    if (!pipeline || pipeline->kind != YNODE_SEQ || k < 0 || k >= pipeline->nitems) return NULL;
    const YNode *item = pipeline->items[k];
    if (item->kind != YNODE_MAP || item->npairs < 1) return item;
    if (item->pairs[0].value && item->pairs[0].value->kind == YNODE_MAP)
        *args = item->pairs[0].value;
    return item->pairs[0].key;
}

/* Points b at key `path` ("optimizer.history") of stage k; index >= 0 picks that item of a
 * list value. Falls back to the nearest node that exists. */
static void blame_key(Blame *b, const YNode *pipeline, int k, const char *path, int index) {
    const YNode *args;
    b->stage = k;
    b->node = stage_node(pipeline, k, &args);
    if (index >= 0) snprintf(b->key, sizeof b->key, "%s[%d]", path, index);
    else snprintf(b->key, sizeof b->key, "%s", path);
    char part[48];
    for (const char *p = path; *p && args;) {
        size_t len = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)len, p);
        const YNode *n = ynode_get(args, part);
        if (!n) break;
        b->node = n;
        args = n->kind == YNODE_MAP ? n : NULL;
        p += len + (p[len] == '.');
    }
    if (index >= 0 && b->node && b->node->kind == YNODE_SEQ && index < b->node->nitems)
        b->node = b->node->items[index];
}

static bool step_fits(const PlanState *ps, const Chain *ch, const TrainCfg *t, uint64_t limit) {
    Cost c;
    chain_cost(&ps->m, ch, t, &ps->data, ps->N, &c);
    return c.bytes != SIZE_OVER && c.bytes <= limit;
}

/* The key to blame for a step that does not fit (see plan.h). */
static void blame_step(const PlanState *ps, const Chain *ch, const TrainCfg *t, const Cost *c,
                       int k, const YNode *pipeline, uint64_t limit, Blame *b) {
    TrainCfg t1 = *t;
    bool lbfgs = t->opt.kind == OPT_LBFGS;
    if (lbfgs) t1.opt.history = 1;
    else t1.batch_size = 1;
    if (step_fits(ps, ch, &t1, limit)) {
        /* the batch is the stage's own or, when it has none, its data set's */
        int where = lbfgs || t->batch_size > 0 || ps->data_stage < 0 ? k : ps->data_stage;
        blame_key(b, pipeline, where, lbfgs ? "optimizer.history" : "batch_size", -1);
        return;
    }
    PLayer l = ch->l[c->culprit];
    static const char *const keys[] = {"units", "hidden", "classes"};
    blame_key(b, pipeline, l.stage, keys[l.key], l.key == PK_HIDDEN ? l.index : -1);
}

/* Keys already reported, so that the stages after a layer that cannot fit do not repeat it. */
typedef struct Reported {
    char path[32][96];
    int n;
} Reported;

static bool reported_add(Reported *r, const char *path) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->path[i], path) == 0) return false;
    if (r->n < (int)(sizeof r->path / sizeof r->path[0])) snprintf(r->path[r->n++], 96, "%s", path);
    return true;
}

/* Checks one training run of stage k; returns 1 when it reported an error. */
static int check_step(const PlanState *ps, const Config *cfg, int k, const Chain *ch,
                      const TrainCfg *t, bool tune, const YNode *pipeline,
                      const MachineLimits *lim, Diag *d, Reported *rep) {
    Cost c;
    chain_cost(&ps->m, ch, t, &ps->data, ps->N, &c);
    /* an overflowed size is refused even where nothing limits the memory */
    if ((c.bytes != SIZE_OVER && c.bytes <= lim->memory) || c.culprit < 0) return 0;
    Blame b;
    blame_step(ps, ch, t, &c, k, pipeline, lim->memory, &b);
    char path[96], stage[48], where[96] = "";
    snprintf(path, sizeof path, "pipeline[%d].%s.%s", b.stage,
             stage_kind_names[cfg->stages[b.stage].kind], b.key);
    if (!reported_add(rep, path)) return 0;
    snprintf(stage, sizeof stage, "pipeline[%d].%s", k, stage_kind_names[cfg->stages[k].kind]);
    if (tune) snprintf(where, sizeof where, " to fine-tune encoder and head in %s", stage);
    else if (b.stage != k) snprintf(where, sizeof where, " in %s", stage);
    char total[32], p[32], g[32], o[32], a[32], limit[80];
    diag_emit(d, DIAG_ERROR, b.node ? b.node->origin : NULL, b.node ? b.node->line : 0,
              b.node ? b.node->col : 0,
              "%s: the plan needs %s (parameters %s, gradients %s, optimizer %s, activations "
              "%s)%s, more than %s",
              path, machine_format_bytes(c.bytes, total, sizeof total),
              machine_format_bytes(c.params, p, sizeof p),
              machine_format_bytes(c.grads, g, sizeof g), machine_format_bytes(c.opt, o, sizeof o),
              machine_format_bytes(c.acts, a, sizeof a), where,
              machine_describe_memory(lim, limit, sizeof limit));
    return 1;
}

static int check_threads(const Config *c, const YNode *root, const MachineLimits *lim, Diag *d) {
    char why[160];
    if (machine_threads_ok(lim, c->threads, why, sizeof why)) return 0;
    const YNode *n = ynode_get(root, "threads");
    diag_emit(d, DIAG_ERROR, n ? n->origin : NULL, n ? n->line : 0, n ? n->col : 0,
              "threads: %s", why);
    return 1;
}

/* {D, C, N} of the config's data set where the config alone tells (the header of an idx file
 * that can be read; only a regular file, so that a FIFO cannot block the check); NULL
 * otherwise, for MNIST's shape (Fashion-MNIST's too). */
static const int *config_dims(const Config *c, int dims[3]) {
    const StageCfg *ld = NULL;
    for (int i = 0; i < c->nstages && !ld; i++)
        if (c->stages[i].kind == STAGE_LOAD_DATASET) ld = &c->stages[i];
    struct stat st;
    int n, rows, cols, D;
    if (!ld || strcmp(ld->data.name, "idx") != 0 || stat(ld->data.train_images, &st) != 0 ||
        !S_ISREG(st.st_mode) || !idx_read_header(ld->data.train_images, &n, &rows, &cols, NULL) ||
        n < 1 || rows < 1 || cols < 1 || __builtin_mul_overflow(rows, cols, &D))
        return NULL;
    dims[0] = D;
    dims[1] = 10;
    dims[2] = n;
    return dims;
}

/* precision: bf16 needs the CPU and oneDNN's bf16 matmul (engine/cpu_bf16.c) */
static int check_precision(const Config *c, const YNode *root, Diag *d) {
    if (strcmp(c->precision, "bf16") != 0) return 0;
    const YNode *n = ynode_get(root, "precision");
    char why[512] = "";
    if (strcmp(c->device, "gpu") == 0)
        snprintf(why, sizeof why, "runs on the CPU only (the CUDA backend has no bf16 GEMMs); "
                                  "set device: cpu or auto");
    else if (backend_cpu_bf16(why, sizeof why))
        return 0;
    diag_emit(d, DIAG_ERROR, n ? n->origin : NULL, n ? n->line : 0, n ? n->col : 0,
              "precision: bf16 %s%s", strcmp(c->device, "gpu") == 0 ? "" : "is not available: ",
              why);
    return 1;
}

int plan_validate(const Config *c, const YNode *root, const MachineLimits *lim, Diag *d) {
    int nerrors = check_threads(c, root, lim, d) + check_precision(c, root, d), dims[3];
    const YNode *pipeline = ynode_get(root, "pipeline");
    PlanState ps;
    plan_init(&ps, config_dims(c, dims));
    Reported rep = {.n = 0};
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        StagePlan sp;
        plan_stage(&ps, s, k, &sp);
        if (sp.train.n > 0)
            nerrors += check_step(&ps, c, k, &sp.train, &s->train, false, pipeline, lim, d, &rep);
        if (sp.tune.n > 0) {
            TrainCfg tune = tune_cfg(s);
            nerrors += check_step(&ps, c, k, &sp.tune, &tune, true, pipeline, lim, d, &rep);
        }
    }
    return nerrors + datacheck_validate(c, root, d); /* labels against the head */
}
