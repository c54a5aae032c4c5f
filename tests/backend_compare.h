/* tests/backend_compare.h — two backends (engine/backend.h) run every training path end to end
 * on the same small synthetic data, and their results are compared.
 *
 * Each case builds the same model on both backends (the same host-side initialisation), then:
 *  1. one full-batch forward and backward pass (train_gradients): the gradient of every trained
 *     parameter tensor (enc[i].dW, enc[i].db, dec[i].dW, ..., head[i].db) and the objective's
 *     parts (loss, penalty, decay) are compared;
 *  2. a few epochs of training (train_stage): every epoch's loss, penalty, decay, objective,
 *     mean activation and accuracies, then every parameter tensor of the model afterwards;
 *  3. evaluation on held-out data (model_evaluate): accuracy, confusion counts, reconstruction
 *     errors.
 * The cases cover every stage kind of the runner (pretrain_layer, append_layer, add_sparsity
 * with l1 / l1_normalised / kl, weight decay, add_noise gaussian / masking / salt_and_pepper,
 * attach_classifier with nll / cross_entropy, frozen and fine-tuned, with and without hidden
 * layers, evaluate), every optimizer (sgd plain i.e. fused, momentum, nesterov, adam, lbfgs,
 * lbfgs with kl and in chunks), every loss and every activation.
 *
 * Comparison of a tensor ("test" against "ref"): element i passes when
 *   |test_i - ref_i| <= abs * max_j |ref_j| + rel * |ref_i|
 * (abs is relative to the tensor's scale: gradients of 1e-6 and weights of 1 are judged alike);
 * NaN matches only NaN. Scalars (losses, metrics) pass when |test - ref| <= abs + rel*|ref|;
 * accuracies (percent) when |test - ref| <= accuracy points; confusion counts when no cell
 * differs by more than `confusion` counts.
 */
#ifndef AE_TESTS_BACKEND_COMPARE_H
#define AE_TESTS_BACKEND_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"

typedef struct BcTolerance {
    double grad_abs, grad_rel;     /* gradients after one pass (relative to the tensor's scale) */
    double param_abs, param_rel;   /* parameters after training (idem) */
    double metric_abs, metric_rel; /* losses, penalties, objectives, reconstruction errors */
    double accuracy;               /* percentage points */
    int confusion;                 /* counts per cell */
    double lbfgs_factor;           /* L-BFGS cases: parameter and metric tolerances times this
                                      (its line search and curvature pairs amplify the
                                      gradients' rounding differences from step to step) */
} BcTolerance;

/* What a comparison found, for the report and for the tests of the harness itself. */
typedef struct BcFigures {
    int cases, tensors, scalars, failures;
    double grad_worst, param_worst, metric_worst; /* largest fraction of the tolerance used */
    double grad_max_abs, grad_max_rel;            /* largest |err|, and |err| / max|ref| */
    double param_max_abs, param_max_rel;
    char grad_worst_at[160], param_worst_at[160], metric_worst_at[160]; /* "case: tensor" */
    char first_failure[480];                      /* "" when none */
} BcFigures;

/* The number of cases, and case i's name. */
int bc_ncases(void);
const char *bc_case_name(int i);

/* Runs case i (all cases when i < 0) on ref and on test, compares, prints one line per tensor
 * and per case to out (NULL: quiet), every failure to stderr (naming the case, the tensor or
 * metric, the element, both values and the tolerance), and adds to *fig (zero it first).
 * Returns true when every comparison passed. A training error on either backend is a failure. */
bool bc_run(const Backend *ref, const Backend *test, int i, const BcTolerance *tol, FILE *out,
            BcFigures *fig);

/* Prints fig's summary (one block of lines) to out. */
void bc_print_figures(FILE *out, const char *what, const BcFigures *fig);

#endif
