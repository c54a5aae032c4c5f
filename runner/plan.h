/* runner/plan.h — the plan `aelab check` prints: what each stage builds and what it costs, and
 * the check that the machine can run it.
 *
 * For every stage: the layers it creates (`pretrain_layer: encoder 784->400 tanh, decoder
 * 400->784 sigmoid`); for training stages the parameters (trained / in the model), the GEMM
 * FLOPs of one epoch and the memory of one training step. Conventions (N = training examples
 * the stage sees, I/O = a layer's inputs/outputs, B = batch):
 *  - FLOPs count the dense layers' GEMMs only (2 per multiply-add): a trained layer that must
 *    pass a gradient to its input costs 6*N*I*O per epoch (forward, dW, dX), one whose input
 *    is the data or a frozen layer 4*N*I*O (forward, dW), a frozen layer below it 2*N*I*O.
 *    For lbfgs the figure is per function evaluation (the full batch).
 *  - memory = parameters of the whole model + gradients of the trained layers + optimizer state
 *    (sgd with momentum: 1 vector, adam: 2, lbfgs: 2*history+4) + activations of one batch
 *    (input and every layer output of the trained chain, values and gradients), float32.
 * Every size is computed in 64 bits with overflow checks: a size that does not fit saturates
 * ("more than 16 EiB") instead of wrapping.
 */
#ifndef AE_PLAN_H
#define AE_PLAN_H

#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "machine.h"
#include "yamldoc.h"

/* Prints the plan of a validated config to out. data_dims_or_null: {D, C, N} (features,
 * classes, training examples, e.g. from the IDX header) or NULL for MNIST's 784, 10, 60000. */
void plan_print(FILE *out, const Config *c, const int *data_dims_or_null);

/* Checks a config that loaded without errors against the machine's limits, reporting to d
 * (config_load calls it last, with root the YAML tree the config came from, so that errors
 * point at the key to change):
 *  - `threads` above machine_max_threads(lim) is an error at that key;
 *  - a training step whose memory is more than lim->memory is an error naming the key that
 *    makes it so (optimizer.history when history 1 would fit, batch_size when a batch of 1
 *    would, else the width key (units, hidden[i], classes) of the layer that needs the most),
 *    the plan's figure with its parts, and the limit, e.g.
 *      x.yaml:5:29: error: pipeline[1].pretrain_layer.units: the plan needs 14.6 TiB
 *      (parameters 5.7 TiB, gradients 5.7 TiB, optimizer 0 bytes, activations 3.6 TiB), more
 *      than this machine's 23.5 GiB
 *    A key already blamed for an earlier stage is not reported again for the later stages
 *    that carry the same layer.
 * Then the checks against the data set's labels (runner/datacheck.h).
 * The data set's shape is the IDX header's for `idx` (when it can be read), else MNIST's.
 * Returns the number of errors reported. */
int plan_validate(const Config *c, const YNode *root, const MachineLimits *lim, Diag *d);

/* The plan's largest training step (the "largest step" plan_print ends with), in bytes: the
 * memory one training step of the config needs, by the model above (the data set itself not
 * counted). data_dims_or_null as for plan_print. 0 when nothing trains. */
uint64_t plan_peak_bytes(const Config *c, const int *data_dims_or_null);

/* The plan against a device's memory (a backend whose memory_info answers: the CUDA backend).
 * A stage's device peak is its training step (the memory above: parameters, gradients,
 * optimizer state, activations) plus the training set a run uploads to the device once, as
 * uint8 (N*(D+1) bytes; the test split, whose size the plan does not know, is not counted).
 * Returns 0 when every stage's peak fits in free_bytes (or nothing trains); else 1, with msg
 * (size n) naming the first stage that does not fit, its figure with its parts, and the limit:
 *   pipeline[1].pretrain_layer: the plan needs 14.6 GiB on the cuda device (parameters
 *   5.7 GiB, gradients 5.7 GiB, optimizer 0 bytes, activations 3.1 GiB, training data
 *   44.9 MiB), more than the 12.0 GiB free there (of 80.0 GiB)
 * device: the backend's name; data_dims_or_null as for plan_print. */
int plan_check_device_memory(const Config *c, const int *data_dims_or_null, const char *device,
                             uint64_t free_bytes, uint64_t total_bytes, char *msg, size_t n);

#endif
