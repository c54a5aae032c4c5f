/* engine/dataset.c — the in-memory Dataset (see dataset.h); runner/data.c reads the files. */
#include "dataset.h"

#include <string.h>

void dataset_free(Dataset *d) {
    if (!d) return;
    free(d->images);
    free(d->labels);
    free(d);
}

Dataset *dataset_head(const Dataset *d, int n, AeError *err) {
    AE_ASSERT(d && n >= 0);
    if (n > d->n) n = d->n;
    Dataset *h = ae_calloc(1, sizeof *h, "a data set", err);
    if (!h) return NULL;
    *h = *d;
    h->n = n;
    h->images = ae_malloc((size_t)n * (size_t)d->D, "the images of a subset", err);
    h->labels = h->images ? ae_malloc((size_t)n, "the labels of a subset", err) : NULL;
    if (!h->labels) {
        free(h->images);
        free(h);
        return NULL;
    }
    memcpy(h->images, d->images, (size_t)n * (size_t)d->D);
    memcpy(h->labels, d->labels, (size_t)n);
    return h;
}

void dataset_label_counts(const Dataset *d, int *counts) {
    memset(counts, 0, sizeof *counts * (size_t)d->C);
    for (int i = 0; i < d->n; i++) {
        AE_ASSERT(d->labels[i] < d->C);
        counts[d->labels[i]]++;
    }
}
