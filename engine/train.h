/* engine/train.h — training one stage: the batch loop, full-batch L-BFGS, evaluation.
 *
 * A stage trains a chain of the model's layers (see model.h):
 *  - TASK_AUTOENCODER with depth k: the chain is enc[0..nenc-1] followed by dec[0..k-1]; it
 *    reconstructs the activation that feeds enc[nenc-k] (the image when k == nenc). Only
 *    enc[nenc-k..nenc-1] and dec[0..k-1] are trained; the layers below are a frozen prefix.
 *    Greedy layer-wise pretraining is k = 1; end-to-end training of the whole stack is k = nenc.
 *    Noise, when on, corrupts the reconstructed activation before it enters enc[nenc-k]; the
 *    target stays clean. The sparsity penalty acts on the code (enc[nenc-1]'s output).
 *  - TASK_CLASSIFIER: the chain is enc[*] then head[*]; the loss compares the head's output
 *    with the labels; the encoder is trained too unless freeze_encoder.
 * Weight decay applies to the W of every trained layer (of the head only with decay_head_only),
 * never to biases.
 *
 * A frozen prefix (the layers below the first trained one) does not change during the stage:
 * its outputs for the training and validation rows (and, for a classifier, the test rows) are
 * computed once when the stage starts, and the batches are assembled from them (gather_rows).
 *
 * Random numbers: keys derived from (seed, stage index) per stream (shuffle, noise), so a stage
 * draws the same numbers whether or not earlier stages ran in this process.
 *
 * Failures, host or backend memory running out included, come back as TRAIN_ERROR / false /
 * NULL with an AeError saying what; the caller adds which stage it was.
 */
#ifndef AE_TRAIN_H
#define AE_TRAIN_H

#include <signal.h>

#include "backend.h"
#include "dataset.h"
#include "model.h"
#include "schedule.h"

typedef enum { OPT_SGD = 0, OPT_ADAM, OPT_LBFGS, OPT_COUNT } OptKind;

typedef struct OptimSpec {
    OptKind kind;
    float lr;                       /* sgd, adam (lbfgs: initial step, 1 as PyTorch) */
    float momentum;                 /* sgd */
    bool nesterov;                  /* sgd */
    float beta1, beta2, eps;        /* adam: 0.9, 0.999, 1e-8 */
    int history;                    /* lbfgs: 100 */
    int max_iter;                   /* lbfgs: iterations (the stage's `epochs` for lbfgs) */
    int max_eval;                   /* lbfgs: 0 = max_iter * 5/4 as PyTorch */
    double tol_grad, tol_change;    /* lbfgs: 1e-7, 1e-9 */
} OptimSpec;

typedef enum { PEN_NONE = 0, PEN_L1, PEN_L1_NORMALISED, PEN_KL, PEN_COUNT } PenaltyKind;

typedef struct SparsitySpec {
    PenaltyKind kind;
    float weight;       /* l1: the factor (0.1 in lectures 19/20) */
    float rho, beta;    /* kl: target mean activation, weight */
} SparsitySpec;

typedef enum { TASK_AUTOENCODER = 0, TASK_CLASSIFIER } TaskKind;

/* Data uploaded once to the backend. */
typedef struct DeviceData {
    const Backend *be;
    int n, D, C;
    int label_bound; /* 1 + the largest label present (0 when n == 0): what label-indexed writes
                        must have room for, whatever C claims */
    uint8_t *images; /* backend (n,D) */
    uint8_t *labels; /* backend (n) */
} DeviceData;

/* The key from which a stage derives its random streams (layer init, shuffle, noise). */
uint64_t train_stage_seed(uint64_t seed, int stage_index);

/* d's images and labels uploaded to be; NULL with err filled when memory runs out. */
DeviceData *device_data_create(const Backend *be, const Dataset *d, AeError *err);
void device_data_free(DeviceData *dd); /* NULL-safe */

typedef struct TrainTask {
    TaskKind kind;
    int depth;               /* autoencoder: layers trained with their mirrors (see above) */
    bool freeze_encoder;     /* classifier */
    LossKind loss;
    OptimSpec opt;
    int epochs;              /* for lbfgs: iterations */
    int batch_size;          /* ignored by lbfgs (full batch) */
    int lbfgs_chunk;         /* lbfgs: rows per chunk of the full batch; 0 = 10000 (with KL
                                sparsity: a first pass over the chunks for its mean activations) */
    bool shuffle;
    int subset;              /* train on the first `subset` examples; 0 = all */
    SparsitySpec sparsity;   /* on the code; for a classifier only when kept (strip_decoder) */
    float weight_decay;      /* lambda; 0 = none */
    bool decay_head_only;    /* classifier: weight decay on the head's layers only */
    NoiseSpec noise;         /* autoencoder only */
    uint64_t seed;
    int stage_index;         /* for the random streams */
    ScheduleSpec schedule;   /* sgd, adam: the rate per epoch (schedule.h); kind none = opt.lr */
    EarlyStopSpec early;     /* sgd, adam; metric none = off */
    float clip_norm;         /* sgd, adam: rescale the gradient of all trained parameters to
                                this global L2 norm when it is larger; 0 = off */
    const DeviceData *val;   /* validation set: val_loss (and val_accuracy) per epoch; NULL */
    bool recompute_prefix;   /* run a frozen prefix forward every batch instead of computing
                                its codes once per stage (tests compare the two) */
    bool recompute_kl_codes; /* lbfgs, KL in two passes: run the code's layer forward again in
                                the gradient pass instead of keeping the first pass's codes
                                (tests compare the two) */
} TrainTask;

/* Rows per chunk of a full-batch (L-BFGS) evaluation when TrainTask.lbfgs_chunk is 0. */
#define TRAIN_LBFGS_CHUNK 10000

/* KL sparsity over a full batch of more than one chunk takes two passes over the chunks (the
 * code's mean activations first, then the gradients). The first pass's code activations are kept
 * for the second, which then starts its forward pass from them instead of running the code's
 * layer again, when they take at most this many bytes (rows x code units x 4; all 60,000 MNIST
 * images with 200 units: 48 MB) and that memory can be had; otherwise they are recomputed, with
 * the same bits. */
#define TRAIN_KL_CODES_MAX_BYTES ((size_t)256 << 20)

typedef struct EpochStats {
    int epoch, epochs;       /* 1-based */
    double loss;             /* mean of the batch losses (the task's loss only) */
    double penalty;          /* mean of the batch sparsity penalty values (0 when off) */
    double decay;            /* mean of the batch weight-decay values (0 when off) */
    double objective;        /* loss + penalty + decay: what the optimizer minimises */
    double mean_activation;  /* mean code activation over the epoch (autoencoder) */
    double test_accuracy;    /* percent, classifier stages with test data; else NAN */
    double train_accuracy;   /* percent over the training batches, classifier; else NAN */
    double seconds;          /* wall time of the epoch */
    int evaluations;         /* lbfgs: function evaluations so far */
    double val_loss;         /* the task's loss on the validation set (mean over its
                                examples, without penalties or noise); NAN without one */
    double val_accuracy;     /* percent, classifier stages with a validation set; else NAN */
    double lr;               /* the epoch's learning rate (sgd, adam); NAN for lbfgs */
    int stopped_epoch;       /* with early stopping, on the stage's last row: the epoch it
                                ended at (== epochs when patience never ran out); else 0 */
    int restored_epoch;      /* with restore_best, on the stage's last row: the epoch whose
                                parameters the model holds afterwards; else 0 */
} EpochStats;

typedef struct TrainHooks {
    void *ctx;
    /* Called after each epoch (lbfgs: each iteration). Return false to stop with err set. */
    bool (*on_epoch)(void *ctx, const EpochStats *s, AeError *err);
    /* Called after each batch with the host-known position only (never synchronises). */
    void (*on_batch)(void *ctx, int epoch, int batch, int nbatches);
    volatile sig_atomic_t *interrupt; /* when set, stop after the current batch */
    /* lbfgs: called as each evaluation of the full-batch objective and gradient starts
     * (done = false) and after it ends, its results downloaded (done = true): both passes over
     * the chunks, when KL sparsity takes two. NULL: not called. */
    void (*on_evaluation)(void *ctx, bool done);
} TrainHooks;

typedef enum { TRAIN_OK = 0, TRAIN_INTERRUPTED, TRAIN_DIVERGED, TRAIN_ERROR } TrainStatus;

/* Trains per task; test may be NULL (no test accuracy). On TRAIN_DIVERGED err names the epoch
 * and the first non-finite batch. */
TrainStatus train_stage(Model *m, const TrainTask *task, const DeviceData *train,
                        const DeviceData *test, const TrainHooks *hooks, AeError *err);

/* One forward and backward pass over all rows of data, in order, without noise counters
 * advancing between calls: leaves d(objective)/d(params) in the grads of the task's trained
 * layers (zeroed first) and the objective's parts in parts: loss, penalty, weight decay.
 * For gradient checks. */
bool train_gradients(Model *m, const TrainTask *t, const DeviceData *data, double parts[3],
                     AeError *err);

typedef struct EvalResult {
    double accuracy;       /* percent; NAN without a head */
    int C;
    int32_t *confusion;    /* (C,C) [true][pred], host, owned; NULL without a head */
    double recon_mse;      /* mean squared reconstruction error per element; NAN without decoder */
    double recon_half_sse; /* UFLDL reconstruction term; NAN without decoder */
} EvalResult;

/* Evaluates the model on data: classification (when a head exists) and reconstruction (when a
 * decoder exists), in batches of batch_size. */
bool model_evaluate(Model *m, const DeviceData *data, int batch_size, EvalResult *out,
                    AeError *err);
void eval_result_clear(EvalResult *r);

/* Runs rows [0, n) of X (host, (n,D) floats in [0,1]) through encoder and decoder into Y (host,
 * (n,D)); noisy, when not NULL, receives the corrupted input under `noise` (key from seed). */
bool model_reconstruct(Model *m, const float *X, int n, const NoiseSpec *noise, uint64_t seed,
                       float *noisy, float *Y, AeError *err);

#endif
