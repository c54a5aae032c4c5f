/* runner/plan.h — the plan `aelab check` prints: what each stage builds and what it costs.
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
 */
#ifndef AE_PLAN_H
#define AE_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Prints the plan of a validated config to out. data_dims_or_null: {D, C, N} (features,
 * classes, training examples, e.g. from the IDX header) or NULL for MNIST's 784, 10, 60000. */
void plan_print(FILE *out, const Config *c, const int *data_dims_or_null);

/* The plan's largest training step (the "largest step" plan_print ends with), in bytes: the
 * memory one training step of the config needs, by the model above (the data set itself not
 * counted). data_dims_or_null as for plan_print. 0 when nothing trains. */
uint64_t plan_peak_bytes(const Config *c, const int *data_dims_or_null);

#endif
