/* engine/dataset.h — data sets in host memory.
 *
 * Images are kept as uint8 (N,D) row-major, one row per example, and scaled to [0,1] (x/255)
 * when a batch is gathered; labels are uint8 class indices in [0, C). The engine never reads
 * files: runner/data.h fills a Dataset from IDX or CSV files.
 */
#ifndef AE_DATASET_H
#define AE_DATASET_H

#include "common.h"
#include "rng.h"

typedef struct Dataset {
    int n;            /* examples */
    int rows, cols;   /* image shape (28, 28 for MNIST); D = rows*cols */
    int D;            /* features per example */
    int C;            /* classes: 1 + the largest label (10 for MNIST) */
    uint8_t *images;  /* (n, D), owned */
    uint8_t *labels;  /* (n), owned */
} Dataset;

void dataset_free(Dataset *d); /* NULL-safe */

/* A new dataset holding rows [0, n) of d (copies; owned by the caller, dataset_free). n is
 * clamped to d->n. NULL with err filled when host memory runs out. */
Dataset *dataset_head(const Dataset *d, int n, AeError *err);

/* Holds out nval examples of d for validation (0 < nval < d->n): a Fisher-Yates shuffle of
 * 0..n-1 (for i = n-1 down to 1: swap i with rng_next_below(i+1)) drawn from `rng`, and the
 * last nval indices of the shuffled order are the validation set, in that order. *train
 * receives the other examples in their original order, *val the held-out ones (both new,
 * owned by the caller). false with err filled when host memory runs out. */
bool dataset_split_validation(const Dataset *d, int nval, RngStream *rng, Dataset **train,
                              Dataset **val, AeError *err);

/* Histogram of labels: counts (C) must hold d->C entries. */
void dataset_label_counts(const Dataset *d, int *counts);

#endif
