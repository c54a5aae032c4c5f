/* engine/dataset.h — data sets in host memory, as read from IDX or CSV files.
 *
 * Images are kept as uint8 (N,D) row-major, one row per example, and scaled to [0,1] (x/255)
 * when a batch is gathered; labels are uint8 class indices in [0, C).
 */
#ifndef AE_DATASET_H
#define AE_DATASET_H

#include "common.h"

typedef struct Dataset {
    int n;            /* examples */
    int rows, cols;   /* image shape (28, 28 for MNIST); D = rows*cols */
    int D;            /* features per example */
    int C;            /* classes: 1 + the largest label (10 for MNIST) */
    uint8_t *images;  /* (n, D), owned */
    uint8_t *labels;  /* (n), owned */
} Dataset;

void dataset_free(Dataset *d); /* NULL-safe */

/* Loads an images file and its labels file (IDX, plain or gzip, detected by content).
 * Validates: magic (0x00000803 for images, 0x00000801 for labels), rank, dimensions > 0,
 * exact length (a truncated or over-long file is an error), labels < max_classes (10 when 0),
 * and that both files hold the same number of examples. Every failure fills err with
 * "PATH: error: WHAT (at byte N, found F, expected E)" style messages naming the file.
 * Returns a new Dataset or NULL. */
Dataset *dataset_load_idx(const char *images_path, const char *labels_path, int max_classes,
                          AeError *err);

/* Reads only the header of an IDX images file: count and shape (for `aelab check`). */
bool idx_read_header(const char *path, int *n, int *rows, int *cols, AeError *err);

/* Loads a CSV file: one example per line, the label in column `label_col` (0-based, -1 for
 * the last column), the other columns pixel values 0..255 (a header line is skipped when its
 * first cell is not a number). */
Dataset *dataset_load_csv(const char *path, int label_col, AeError *err);

/* Writes an IDX file (plain, or gzip when the path ends in .gz); for tests and fixtures.
 * dims has rank entries. type 0x08 (unsigned byte) only. Atomic (temp file + rename). */
bool idx_write(const char *path, const uint8_t *data, const int *dims, int rank, AeError *err);

/* A new dataset holding rows [0, n) of d (copies). n is clamped to d->n. */
Dataset *dataset_head(const Dataset *d, int n);

/* Histogram of labels: counts (C) must hold d->C entries. */
void dataset_label_counts(const Dataset *d, int *counts);

#endif
