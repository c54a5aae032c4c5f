/* runner/plan.c — shapes, parameter counts, FLOPs and memory per stage (see plan.h for the
 * cost model). The model state is simulated the way the pipeline builds it (engine/model.h):
 * enc[0..nenc) bottom-up, dec[0] the top of the decoder (code -> ...), dec[ndec-1] the output
 * layer, head[0..nhead) on the code. */
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct PLayer {
    int I, O;
    Act act;
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
    return (uint64_t)l.I * (uint64_t)l.O + (uint64_t)l.O;
}

static uint64_t model_params(const PModel *m) {
    uint64_t n = 0;
    for (int i = 0; i < m->nenc; i++) n += layer_params(m->enc[i]);
    for (int i = 0; i < m->ndec; i++) n += layer_params(m->dec[i]);
    for (int i = 0; i < m->nhead; i++) n += layer_params(m->head[i]);
    return n;
}

static int code_dim(const PModel *m) {
    return m->nenc ? m->enc[m->nenc - 1].O : m->D;
}

/* 1234567 -> "1,234,567" */
static const char *commas(uint64_t v, char *buf, size_t size) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
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

/* Prints the cost lines of a training stage and adds its FLOPs to *total. */
static void print_costs(FILE *out, const PModel *m, const Chain *ch, const StageCfg *s,
                        const DatasetCfg *data, int N, double *total_flops, uint64_t *peak) {
    int n = N;
    if (s->train.subset > 0 && s->train.subset < n) n = s->train.subset;
    int B = s->train.batch_size > 0 ? s->train.batch_size : data->batch_size;
    bool lbfgs = s->train.opt.kind == OPT_LBFGS;
    if (lbfgs || B > n) B = n;
    if (B < 1) B = 1;
    double flops = 0;
    uint64_t trained = 0;
    uint64_t act_floats = (uint64_t)(ch->n ? ch->l[0].I : 0);
    for (int i = 0; i < ch->n; i++) {
        double io = (double)ch->l[i].I * ch->l[i].O;
        flops += (ch->role[i] == ROLE_TRAINED ? 6.0 : ch->role[i] == ROLE_TRAINED_NO_DX ? 4.0
                                                                                        : 2.0) *
                 n * io;
        if (ch->role[i] != ROLE_FROZEN) trained += layer_params(ch->l[i]);
        act_floats += (uint64_t)ch->l[i].O;
    }
    uint64_t total = model_params(m);
    uint64_t opt_vectors = 0;
    if (s->train.opt.kind == OPT_SGD && s->train.opt.momentum != 0) opt_vectors = 1;
    if (s->train.opt.kind == OPT_ADAM) opt_vectors = 2;
    if (lbfgs) opt_vectors = 2 * (uint64_t)s->train.opt.history + 4;
    uint64_t b_params = 4 * total, b_grads = 4 * trained, b_opt = 4 * opt_vectors * trained;
    uint64_t b_acts = 4 * 2 * act_floats * (uint64_t)B;
    uint64_t bytes = b_params + b_grads + b_opt + b_acts;
    char a[32], b[32], c1[32], c2[32], c3[32], c4[32], c5[32], g1[32], g2[32];
    fprintf(out, "      parameters: %s trained / %s in the model\n", commas(trained, a, sizeof a),
            commas(total, b, sizeof b));
    int nbatches = (n + B - 1) / B;
    if (lbfgs)
        fprintf(out, "      per evaluation (lbfgs, full batch of %d): %s; %d iterations\n", n,
                gflop(flops, g1, sizeof g1), s->train.epochs);
    else
        fprintf(out, "      per epoch: %d batch%s of %d, %s; %d epoch%s, %s in all\n", nbatches,
                nbatches == 1 ? "" : "es", B, gflop(flops, g1, sizeof g1), s->train.epochs,
                s->train.epochs == 1 ? "" : "s", gflop(flops * s->train.epochs, g2, sizeof g2));
    fprintf(out,
            "      memory: %s bytes (parameters %s, gradients %s, optimizer %s, activations %s)\n",
            commas(bytes, c1, sizeof c1), commas(b_params, c2, sizeof c2),
            commas(b_grads, c3, sizeof c3), commas(b_opt, c4, sizeof c4),
            commas(b_acts, c5, sizeof c5));
    *total_flops += flops * s->train.epochs;
    if (bytes > *peak) *peak = bytes;
}

/* A training stage's "how" line (batching, optimizer, loss), then its costs (print_costs). */
static void print_training(FILE *out, const PModel *m, const Chain *ch, const StageCfg *s,
                           const DatasetCfg *data, int N, double *total_flops, uint64_t *peak) {
    fprintf(out, "      %s, %s lr %g, loss %s\n",
            s->train.opt.kind == OPT_LBFGS ? "full batch" : "mini-batches",
            opt_str(s->train.opt.kind), (double)s->train.opt.lr, loss_str(s->train.loss));
    print_costs(out, m, ch, s, data, N, total_flops, peak);
}

static void print_stack(FILE *out, const PModel *m) {
    fprintf(out, "%d", m->D);
    for (int i = 0; i < m->nenc; i++) fprintf(out, "-%d", m->enc[i].O);
    for (int i = 0; i < m->ndec; i++) fprintf(out, "-%d", m->dec[i].O);
}

/* Prints the plan (plan_print) and returns its largest training step, in bytes. */
static uint64_t plan_walk(FILE *out, const Config *c, const int *data_dims_or_null) {
    int D = 784, C = 10, N = 60000;
    if (data_dims_or_null) {
        D = data_dims_or_null[0];
        C = data_dims_or_null[1];
        N = data_dims_or_null[2];
    }
    PModel m = {.D = D};
    DatasetCfg data = {.batch_size = 1000, .shuffle = true};
    double total_flops = 0;
    uint64_t peak = 0;
    int ntrain = 0;
    fprintf(out, "plan for %s (%d stage%s)\n", c->name, c->nstages, c->nstages == 1 ? "" : "s");
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        if (strcmp(s->label, stage_kind_names[s->kind]) == 0)
            fprintf(out, "[%d] %s: ", k, s->label);
        else
            fprintf(out, "[%d] %s (%s): ", k, stage_kind_names[s->kind], s->label);
        Chain ch = {.n = 0};
        switch (s->kind) {
        case STAGE_LOAD_DATASET:
            data = s->data;
            if (data.subset > 0 && data.subset < N) N = data.subset;
            fprintf(out, "%s, %d training examples of %d features, %d classes; batch %d%s\n",
                    data.name, N, D, C, data.batch_size, data.shuffle ? ", shuffled" : "");
            break;
        case STAGE_PRETRAIN_LAYER:
        case STAGE_APPEND_LAYER: {
            if (m.nenc >= AE_MAX_LAYERS) {
                fprintf(out, "(too many layers)\n");
                break;
            }
            int I = code_dim(&m);
            PLayer e = {I, s->units, s->activation}, dl = {s->units, I, s->decoder_activation};
            m.enc[m.nenc++] = e;
            memmove(&m.dec[1], &m.dec[0], (size_t)m.ndec * sizeof m.dec[0]);
            m.dec[0] = dl;
            m.ndec++;
            fprintf(out, "encoder %d->%d %s, decoder %d->%d %s\n", I, s->units,
                    act_str(s->activation), s->units, I, act_str(s->decoder_activation));
            if (s->kind == STAGE_PRETRAIN_LAYER) {
                for (int i = 0; i < m.nenc - 1; i++) chain_add(&ch, m.enc[i], ROLE_FROZEN);
                chain_add(&ch, e, ROLE_TRAINED_NO_DX);
                chain_add(&ch, dl, ROLE_TRAINED);
                if (m.nenc > 1)
                    fprintf(out, "      trains the new pair on the codes of layer %d (%d layer%s "
                                 "below frozen)\n",
                            m.nenc - 1, m.nenc - 1, m.nenc == 2 ? "" : "s");
            } else {
                for (int i = 0; i < m.nenc; i++)
                    chain_add(&ch, m.enc[i], i == 0 ? ROLE_TRAINED_NO_DX : ROLE_TRAINED);
                for (int i = 0; i < m.ndec; i++) chain_add(&ch, m.dec[i], ROLE_TRAINED);
                fprintf(out, "      trains the whole autoencoder ");
                print_stack(out, &m);
                fprintf(out, " end to end\n");
            }
            print_training(out, &m, &ch, s, &data, N, &total_flops, &peak);
            ntrain++;
            break;
        }
        case STAGE_ADD_SPARSITY:
            if (s->sparsity.kind == PEN_KL)
                fprintf(out, "KL sparsity on the code, rho %g, beta %g", (double)s->sparsity.rho,
                        (double)s->sparsity.beta);
            else
                fprintf(out, "%s penalty on the code, weight %g",
                        s->sparsity.kind == PEN_L1 ? "L1" : "normalised L1",
                        (double)s->sparsity.weight);
            if (s->weight_decay > 0)
                fprintf(out, "; weight decay %g", (double)s->weight_decay);
            fprintf(out, "\n");
            break;
        case STAGE_ADD_NOISE:
            if (s->noise.kind == NOISE_GAUSSIAN) {
                fprintf(out, "gaussian noise, mean %g, std %g", (double)s->noise.mean,
                        (double)s->noise.std);
                if (s->noise.clamp)
                    fprintf(out, ", clamped to [%g, %g]", (double)s->noise.lo,
                            (double)s->noise.hi);
                fprintf(out, "\n");
            } else if (s->noise.kind == NOISE_MASKING) {
                fprintf(out, "masking noise, %g of the inputs zeroed\n",
                        (double)s->noise.fraction);
            } else {
                fprintf(out, "salt-and-pepper noise, %g of the inputs set to %g or %g\n",
                        (double)s->noise.fraction, (double)s->noise.lo, (double)s->noise.hi);
            }
            break;
        case STAGE_STRIP_DECODER: {
            uint64_t dropped = 0;
            for (int i = 0; i < m.ndec; i++) dropped += layer_params(m.dec[i]);
            m.ndec = 0;
            char a[32];
            fprintf(out, "drops the decoder (%s parameters); the encoder is ",
                    commas(dropped, a, sizeof a));
            print_stack(out, &m);
            fprintf(out, "\n");
            break;
        }
        case STAGE_ATTACH_CLASSIFIER: {
            int classes = s->classes > 0 ? s->classes : C;
            int I = code_dim(&m);
            m.nhead = 0;
            for (int i = 0; i < s->nhidden && i < AE_MAX_LAYERS; i++) {
                m.head[m.nhead++] = (PLayer){I, s->hidden[i], s->hidden_activation};
                I = s->hidden[i];
            }
            Act out_act = s->train.loss == LOSS_NLL ? ACT_LOGSOFTMAX : ACT_IDENTITY;
            m.head[m.nhead++] = (PLayer){I, classes, out_act};
            fprintf(out, "head");
            for (int i = 0; i < m.nhead; i++)
                fprintf(out, "%s %d->%d %s", i ? "," : "", m.head[i].I, m.head[i].O,
                        m.head[i].act == ACT_IDENTITY ? "(raw scores)" : act_str(m.head[i].act));
            fprintf(out, "; %s\n", m.nenc == 0              ? "no encoder"
                                   : s->freeze_encoder ? "encoder frozen"
                                                       : "fine-tunes the encoder");
            bool enc_trained = !s->freeze_encoder;
            for (int i = 0; i < m.nenc; i++)
                chain_add(&ch, m.enc[i],
                          !enc_trained ? ROLE_FROZEN
                          : i == 0     ? ROLE_TRAINED_NO_DX
                                       : ROLE_TRAINED);
            for (int i = 0; i < m.nhead; i++) {
                bool needs_dx = i > 0 || (enc_trained && m.nenc > 0);
                chain_add(&ch, m.head[i], needs_dx ? ROLE_TRAINED : ROLE_TRAINED_NO_DX);
            }
            print_training(out, &m, &ch, s, &data, N, &total_flops, &peak);
            ntrain++;
            if (s->finetune_epochs > 0 && s->freeze_encoder && m.nenc > 0) {
                Chain ft = {.n = 0};
                for (int i = 0; i < m.nenc; i++)
                    chain_add(&ft, m.enc[i], i == 0 ? ROLE_TRAINED_NO_DX : ROLE_TRAINED);
                for (int i = 0; i < m.nhead; i++) chain_add(&ft, m.head[i], ROLE_TRAINED);
                StageCfg tune = *s;
                tune.train.epochs = s->finetune_epochs;
                fprintf(out, "      then fine-tunes encoder and head together:\n");
                print_costs(out, &m, &ft, &tune, &data, N, &total_flops, &peak);
            }
            break;
        }
        case STAGE_EVALUATE: {
            double f = 0;
            for (int i = 0; i < m.nenc; i++) f += 2.0 * m.enc[i].I * m.enc[i].O;
            for (int i = 0; i < m.nhead; i++) f += 2.0 * m.head[i].I * m.head[i].O;
            for (int i = 0; i < m.ndec; i++) f += 2.0 * m.dec[i].I * m.dec[i].O;
            fprintf(out, "on the %s set: %s%s%s; %.4g MFLOP per example\n",
                    s->eval_on_test ? "test" : "training",
                    m.nhead ? "accuracy, per-class accuracy, confusion matrix" : "",
                    m.nhead && m.ndec ? ", " : "", m.ndec ? "reconstruction error" : "",
                    f / 1e6);
            break;
        }
        default:
            fprintf(out, "\n");
            break;
        }
    }
    char a[32], g[32];
    fprintf(out, "total: %d training stage%s, %s; largest step %s bytes\n", ntrain,
            ntrain == 1 ? "" : "s", gflop(total_flops, g, sizeof g), commas(peak, a, sizeof a));
    return peak;
}

void plan_print(FILE *out, const Config *c, const int *data_dims_or_null) {
    plan_walk(out, c, data_dims_or_null);
}

uint64_t plan_peak_bytes(const Config *c, const int *data_dims_or_null) {
    char *text = NULL;
    size_t len = 0;
    FILE *sink = open_memstream(&text, &len); /* the walk prints as it goes; nobody reads it */
    if (!sink) return 0;
    uint64_t peak = plan_walk(sink, c, data_dims_or_null);
    fclose(sink);
    free(text);
    return peak;
}
