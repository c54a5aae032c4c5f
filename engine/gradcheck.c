/* engine/gradcheck.c — gradient checks against a double-precision reference (gradcheck.h).
 *
 * The reference (ref_*) re-implements the forward semantics of train.h in plain double loops:
 * dense layers, activations, losses, the penalties on the code and weight decay. It shares no
 * code with the backends, so a wrong backward pass cannot hide behind a matching forward one.
 */
#include "gradcheck.h"

#include <math.h>
#include <string.h>

#include "model.h"
#include "rng.h"
#include "train.h"

typedef struct Case {
    const char *name;
    TaskKind kind;
    int dims[6];         /* input, then each encoder layer's width */
    int nenc;
    Act enc_act, dec_act, out_act;
    int head[3];         /* classifier: hidden widths then classes (last) */
    int nhead;
    int depth;           /* autoencoder depth */
    bool freeze;
    LossKind loss;
    PenaltyKind pen;
    float weight_decay;
    bool tied;           /* autoencoder: every decoder layer tied to its mirror encoder */
} Case;

static const Case CASES[] = {
    {"act tanh (ae, mse)", TASK_AUTOENCODER, {6, 4}, 1, ACT_TANH, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_NONE, 0, false},
    {"act sigmoid (ae, mse)", TASK_AUTOENCODER, {6, 4}, 1, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_NONE, 0, false},
    {"act relu (ae, mse)", TASK_AUTOENCODER, {6, 4}, 1, ACT_RELU, ACT_IDENTITY, 0, {0}, 0, 1, false, LOSS_MSE, PEN_NONE, 0, false},
    {"act identity (ae, mse)", TASK_AUTOENCODER, {6, 4}, 1, ACT_IDENTITY, ACT_TANH, 0, {0}, 0, 1, false, LOSS_MSE, PEN_NONE, 0, false},
    {"loss half_sse", TASK_AUTOENCODER, {6, 4}, 1, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_HALF_SSE, PEN_NONE, 0, false},
    {"loss bce", TASK_AUTOENCODER, {6, 4}, 1, ACT_TANH, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_BCE, PEN_NONE, 0, false},
    {"loss nll + logsoftmax", TASK_CLASSIFIER, {6, 5}, 1, ACT_TANH, 0, ACT_LOGSOFTMAX, {4}, 1, 0, false, LOSS_NLL, PEN_NONE, 0, false},
    {"loss cross_entropy", TASK_CLASSIFIER, {6, 5}, 1, ACT_TANH, 0, ACT_IDENTITY, {4}, 1, 0, false, LOSS_CROSS_ENTROPY, PEN_NONE, 0, false},
    {"penalty l1 (lecture)", TASK_AUTOENCODER, {6, 4}, 1, ACT_TANH, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_L1, 0, false},
    {"penalty l1 normalised", TASK_AUTOENCODER, {6, 4}, 1, ACT_TANH, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_L1_NORMALISED, 0, false},
    {"penalty kl + weight decay", TASK_AUTOENCODER, {6, 4}, 1, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_HALF_SSE, PEN_KL, 3e-3f, false},
    {"weight decay (classifier)", TASK_CLASSIFIER, {6, 5}, 1, ACT_RELU, 0, ACT_LOGSOFTMAX, {3}, 1, 0, false, LOSS_NLL, PEN_NONE, 0.05f, false},
    {"stack 6-5-4 ae end to end", TASK_AUTOENCODER, {6, 5, 4}, 2, ACT_TANH, ACT_TANH, 0, {0}, 0, 2, false, LOSS_MSE, PEN_L1, 0, false},
    {"stack 6-5-4 greedy (frozen prefix)", TASK_AUTOENCODER, {6, 5, 4}, 2, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_KL, 0, false},
    {"stack 6-5-4-3 classifier", TASK_CLASSIFIER, {6, 5, 4}, 2, ACT_TANH, 0, ACT_LOGSOFTMAX, {4, 3}, 2, 0, false, LOSS_NLL, PEN_NONE, 0, false},
    {"classifier, frozen encoder", TASK_CLASSIFIER, {6, 5, 4}, 2, ACT_SIGMOID, 0, ACT_LOGSOFTMAX, {3}, 1, 0, true, LOSS_NLL, PEN_NONE, 0, false},
    {"tied 6-4 ae (mse)", TASK_AUTOENCODER, {6, 4}, 1, ACT_TANH, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_MSE, PEN_NONE, 0, true},
    {"tied 6-4 ae + kl + weight decay", TASK_AUTOENCODER, {6, 4}, 1, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_HALF_SSE, PEN_KL, 3e-3f, true},
    {"tied stack 6-5-4 end to end + l1", TASK_AUTOENCODER, {6, 5, 4}, 2, ACT_TANH, ACT_TANH, 0, {0}, 0, 2, false, LOSS_MSE, PEN_L1, 0, true},
    {"tied stack 6-5-4 greedy", TASK_AUTOENCODER, {6, 5, 4}, 2, ACT_SIGMOID, ACT_SIGMOID, 0, {0}, 0, 1, false, LOSS_BCE, PEN_NONE, 0, true},
};

#define NCASES (int)(sizeof CASES / sizeof CASES[0])
#define ROWS 7
#define L1_WEIGHT 0.1f
#define KL_RHO 0.2f
#define KL_BETA 3.0f

/* ---- the double-precision reference ---- */

typedef struct RefLayer {
    int I, O;
    Act act;
    double *p;            /* W (O,I) then b (O) */
    const double *tiedW;  /* a tied decoder: its encoder's W, stored (I,O); W[o][i] = tiedW[i][o] */
} RefLayer;

static void ref_dense(double *Y, const double *X, const RefLayer *l, int B) {
    for (int r = 0; r < B; r++) {
        double *y = Y + (size_t)r * l->O;
        for (int o = 0; o < l->O; o++) {
            double z = l->p[(size_t)l->O * l->I + o];
            for (int i = 0; i < l->I; i++)
                z += X[(size_t)r * l->I + i] * (l->tiedW ? l->tiedW[(size_t)i * l->O + o]
                                                         : l->p[(size_t)o * l->I + i]);
            switch (l->act) {
            case ACT_TANH: z = tanh(z); break;
            case ACT_SIGMOID: z = 1.0 / (1.0 + exp(-z)); break;
            case ACT_RELU: z = z > 0 ? z : 0; break;
            default: break;
            }
            y[o] = z;
        }
        if (l->act == ACT_LOGSOFTMAX) {
            double mx = y[0], s = 0;
            for (int o = 1; o < l->O; o++) mx = fmax(mx, y[o]);
            for (int o = 0; o < l->O; o++) s += exp(y[o] - mx);
            for (int o = 0; o < l->O; o++) y[o] -= mx + log(s);
        }
    }
}

/* The objective of train.h: loss + penalty on the code + weight decay of trained layers. */
static double ref_objective(const Case *k, RefLayer *L, int n, int first, int code, int target,
                            const double *X, const int *labels) {
    double *A[16];
    A[0] = (double *)X;
    for (int i = 0; i < n; i++) {
        A[i + 1] = malloc(sizeof(double) * ROWS * L[i].O);
        ref_dense(A[i + 1], A[i], &L[i], ROWS);
    }
    const double *Y = A[n];
    int O = L[n - 1].O;
    double f = 0;
    switch (k->loss) {
    case LOSS_MSE:
    case LOSS_HALF_SSE:
    case LOSS_BCE: {
        const double *T = A[target];
        for (int i = 0; i < ROWS * O; i++) {
            double d = Y[i] - T[i];
            if (k->loss == LOSS_BCE) f -= T[i] * log(Y[i]) + (1 - T[i]) * log(1 - Y[i]);
            else f += k->loss == LOSS_MSE ? d * d : 0.5 * d * d;
        }
        f /= k->loss == LOSS_HALF_SSE ? ROWS : ROWS * O;
        break;
    }
    case LOSS_NLL:
        for (int r = 0; r < ROWS; r++) f -= Y[r * O + labels[r]];
        f /= ROWS;
        break;
    case LOSS_CROSS_ENTROPY:
        for (int r = 0; r < ROWS; r++) {
            double mx = Y[r * O], s = 0;
            for (int o = 1; o < O; o++) mx = fmax(mx, Y[r * O + o]);
            for (int o = 0; o < O; o++) s += exp(Y[r * O + o] - mx);
            f += mx + log(s) - Y[r * O + labels[r]];
        }
        f /= ROWS;
        break;
    default: break;
    }
    if (k->pen != PEN_NONE && k->kind == TASK_AUTOENCODER) {
        const double *H = A[code];
        int h = L[code - 1].O;
        if (k->pen == PEN_L1 || k->pen == PEN_L1_NORMALISED) {
            double s = 0;
            for (int i = 0; i < ROWS * h; i++) s += fabs(H[i]);
            f += L1_WEIGHT * s / (k->pen == PEN_L1 ? 1 : ROWS);
        } else {
            for (int j = 0; j < h; j++) {
                double p = 0;
                for (int r = 0; r < ROWS; r++) p += H[r * h + j];
                p /= ROWS;
                f += KL_BETA * (KL_RHO * log(KL_RHO / p) + (1 - KL_RHO) * log((1 - KL_RHO) / (1 - p)));
            }
        }
    }
    for (int i = first; i < n && k->weight_decay > 0; i++)
        for (int j = 0; j < L[i].O * L[i].I; j++) f += 0.5 * k->weight_decay * L[i].p[j] * L[i].p[j];
    for (int i = 1; i <= n; i++) free(A[i]);
    return f;
}

/* ---- one case ---- */

/* Initialises the chain's layers (Xavier), then gives every bias a random value in [-0.5, 0.5)
 * too, so that the bias gradients are exercised. */
static void chain_init(const Backend *be, Layer **all, int n, RngStream *rng) {
    for (int i = 0; i < n; i++) layer_init(be, all[i], INIT_XAVIER, rng);
    for (int i = 0; i < n; i++) {
        float *p = malloc(all[i]->nparams * sizeof *p);
        be->download(p, all[i]->params, all[i]->nparams * sizeof *p);
        for (int o = 0; o < all[i]->O; o++)
            p[(size_t)all[i]->O * all[i]->I + o] = 0.5f * (2 * rng_next_uniform(rng) - 1);
        be->upload(all[i]->params, p, all[i]->nparams * sizeof *p);
        free(p);
    }
}

/* R[i] = the chain's layer i in double (shapes, activation, parameters downloaded). */
static void ref_layers_from(const Backend *be, Layer **all, int n, RefLayer *R) {
    for (int i = 0; i < n; i++) {
        R[i] = (RefLayer){all[i]->I, all[i]->O, all[i]->act,
                          malloc(sizeof(double) * all[i]->nparams), NULL};
        float *p = malloc(all[i]->nparams * sizeof *p);
        be->download(p, all[i]->params, all[i]->nparams * sizeof *p);
        for (size_t j = 0; j < all[i]->nparams; j++) R[i].p[j] = p[j];
        free(p);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n && all[i]->tied; j++)
            if (all[j] == all[i]->tied) R[i].tiedW = R[j].p;
}

/* What ref_objective needs to evaluate the case at its reference parameters. */
typedef struct RefPoint {
    const Case *k;
    RefLayer *R;
    int n, first, code, target;
    const double *X;
    const int *labels;
} RefPoint;

/* The relative error of the analytic gradient g over parameters [lo, hi) of reference layer i:
 * max |numeric - analytic| / max(max |numeric|, 1e-8), numeric by central differences (h 1e-6).
 * A non-finite difference makes it infinite. */
static double tensor_error(const RefPoint *at, int i, size_t lo, size_t hi, const float *g) {
    double *p = at->R[i].p;
    double maxdiff = 0, maxnum = 0;
    for (size_t j = lo; j < hi; j++) {
        double save = p[j], h = 1e-6;
        p[j] = save + h;
        double fp = ref_objective(at->k, at->R, at->n, at->first, at->code, at->target, at->X,
                                  at->labels);
        p[j] = save - h;
        double fm = ref_objective(at->k, at->R, at->n, at->first, at->code, at->target, at->X,
                                  at->labels);
        p[j] = save;
        double num = (fp - fm) / (2 * h);
        double diff = fabs(num - g[j]);
        if (!isfinite(diff)) diff = INFINITY; /* fmax would drop a NaN */
        maxdiff = fmax(maxdiff, diff);
        maxnum = fmax(maxnum, fabs(num));
    }
    return maxdiff / fmax(maxnum, 1e-8);
}

static double run_case(const Backend *be, const Case *k, int *ntensors, AeError *err) {
    int D = k->dims[0];
    RngStream rng = rng_stream(42, RNG_STREAM_INIT);
    Model *m = model_create(be, D, err);
    int prev = D;
    for (int i = 0; i < k->nenc; i++) {
        m->enc[m->nenc++] = layer_create(be, prev, k->dims[i + 1], k->enc_act, NULL);
        prev = k->dims[i + 1];
    }
    if (k->kind == TASK_AUTOENCODER) {
        for (int i = k->nenc - 1; i >= 0; i--) {
            Act a = i == 0 ? k->dec_act : k->enc_act;
            m->dec[m->ndec++] = layer_create(be, k->dims[i + 1], k->dims[i], a, NULL);
        }
    } else {
        for (int i = 0; i < k->nhead; i++) {
            Act a = i == k->nhead - 1 ? k->out_act : k->enc_act;
            m->head[m->nhead++] = layer_create(be, prev, k->head[i], a, NULL);
            prev = k->head[i];
        }
    }
    Layer *all[16];
    int n = 0;
    for (int i = 0; i < m->nenc; i++) all[n++] = m->enc[i];
    if (k->kind == TASK_AUTOENCODER)
        for (int i = 0; i < k->depth; i++) all[n++] = m->dec[i];
    else
        for (int i = 0; i < m->nhead; i++) all[n++] = m->head[i];
    chain_init(be, all, n, &rng);
    for (int i = 0; k->tied && i < m->ndec; i++) { /* tied: the decoder's own W unused, zero */
        m->dec[i]->tied = m->enc[m->nenc - 1 - i];
        be->fill(m->dec[i]->W, 0.0f, (size_t)m->dec[i]->O * m->dec[i]->I);
    }

    /* data: random bytes; labels over the classes */
    int classes = k->kind == TASK_CLASSIFIER ? k->head[k->nhead - 1] : 1;
    Dataset ds = {.n = ROWS, .rows = 1, .cols = D, .D = D, .C = classes};
    uint8_t img[ROWS * 8], lab[ROWS];
    for (int i = 0; i < ROWS * D; i++) img[i] = (uint8_t)(20 + rng_next_below(&rng, 216));
    for (int r = 0; r < ROWS; r++) lab[r] = (uint8_t)(r % classes);
    ds.images = img;
    ds.labels = lab;
    DeviceData *dd = device_data_create(be, &ds, err);

    TrainTask t = {.kind = k->kind, .depth = k->depth, .freeze_encoder = k->freeze,
                   .loss = k->loss, .epochs = 1, .batch_size = ROWS, .seed = 1,
                   .weight_decay = k->weight_decay};
    t.opt.kind = OPT_SGD;
    t.sparsity.kind = k->pen;
    t.sparsity.weight = L1_WEIGHT;
    t.sparsity.rho = KL_RHO;
    t.sparsity.beta = KL_BETA;
    double parts[3];
    double worst = -1;
    if (!dd || !train_gradients(m, &t, dd, parts, err)) goto done;

    int first = k->kind == TASK_AUTOENCODER ? m->nenc - k->depth : (k->freeze ? m->nenc : 0);
    int code = m->nenc, target = k->kind == TASK_AUTOENCODER ? first : -1;
    RefLayer R[16];
    ref_layers_from(be, all, n, R);
    double X[ROWS * 8];
    int labels[ROWS];
    for (int i = 0; i < ROWS * D; i++) X[i] = (double)(img[i] * (1.0f / 255.0f));
    for (int r = 0; r < ROWS; r++) labels[r] = lab[r];

    worst = 0;
    for (int i = first; i < n; i++) {
        float *g = malloc(all[i]->nparams * sizeof *g);
        be->download(g, all[i]->grads, all[i]->nparams * sizeof *g);
        size_t nw = (size_t)all[i]->O * all[i]->I;
        /* two tensors: W [0, nw) and b [nw, nparams) */
        for (int part = 0; part < 2; part++) {
            size_t lo = part ? nw : 0, hi = part ? all[i]->nparams : nw;
            RefPoint at = {k, R, n, first, code, target, X, labels};
            worst = fmax(worst, tensor_error(&at, i, lo, hi, g));
            (*ntensors)++;
        }
        free(g);
    }
    /* the objective itself must match the reference too */
    double fref = ref_objective(k, R, n, first, code, target, X, labels);
    double feng = parts[0] + parts[1] + parts[2];
    double ferr = fabs(fref - feng) / fmax(fabs(fref), 1e-8);
    worst = isfinite(ferr) ? fmax(worst, ferr) : INFINITY;
    for (int i = 0; i < n; i++) free(R[i].p);
done:
    device_data_free(dd);
    model_free(m);
    return worst;
}

void gradcheck_run_all(const Backend *be, double tol, FILE *out, GradcheckReport *rep) {
    memset(rep, 0, sizeof *rep);
    for (int c = 0; c < NCASES; c++) {
        AeError err = {{0}};
        int nt = 0;
        double e = run_case(be, &CASES[c], &nt, &err);
        bool ok = e >= 0 && e <= tol;
        rep->ncases++;
        rep->ntensors += nt;
        if (!ok) rep->nfailed++;
        if (e > rep->worst || e < 0) {
            rep->worst = e < 0 ? INFINITY : e;
            snprintf(rep->worst_case, sizeof rep->worst_case, "%s", CASES[c].name);
        }
        if (out) {
            if (e < 0) fprintf(out, "  FAIL  %-36s error: %s\n", CASES[c].name, err.msg);
            else fprintf(out, "  %s  %-36s %2d tensors  max rel error %.2e\n", ok ? "ok  " : "FAIL",
                         CASES[c].name, nt, e);
        }
    }
}
