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

/* A dataset of the rows idx[0..n) of d (copies). */
static Dataset *dataset_rows(const Dataset *d, const int32_t *idx, int n, AeError *err) {
    Dataset *h = ae_calloc(1, sizeof *h, "a data set", err);
    if (!h) return NULL;
    *h = *d;
    h->n = n;
    h->images = ae_malloc((size_t)n * (size_t)d->D + 1, "the images of a split", err);
    h->labels = h->images ? ae_malloc((size_t)n + 1, "the labels of a split", err) : NULL;
    if (!h->labels) {
        free(h->images);
        free(h);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        memcpy(h->images + (size_t)i * d->D, d->images + (size_t)idx[i] * d->D, (size_t)d->D);
        h->labels[i] = d->labels[idx[i]];
    }
    return h;
}

bool dataset_split_validation(const Dataset *d, int nval, RngStream *rng, Dataset **train,
                              Dataset **val, AeError *err) {
    AE_ASSERT(d && nval > 0 && nval < d->n);
    int n = d->n;
    *train = *val = NULL;
    int32_t *perm = ae_malloc((size_t)n * sizeof *perm, "the validation split", err);
    bool *held = perm ? ae_calloc((size_t)n, sizeof *held, "the validation split", err) : NULL;
    if (!held) {
        free(perm);
        return false;
    }
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_next_below(rng, (uint64_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    const int32_t *vidx = perm + (n - nval);
    for (int i = 0; i < nval; i++) held[vidx[i]] = true;
    /* the kept indices, ascending, overwrite the front of perm (only vidx is still needed,
     * and it lies behind what is written: at most n - nval entries) */
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!held[i]) perm[k++] = i;
    *val = dataset_rows(d, vidx, nval, err);
    *train = *val ? dataset_rows(d, perm, k, err) : NULL;
    free(perm);
    free(held);
    if (!*train) {
        dataset_free(*val);
        *val = NULL;
        return false;
    }
    return true;
}

void dataset_label_counts(const Dataset *d, int *counts) {
    memset(counts, 0, sizeof *counts * (size_t)d->C);
    for (int i = 0; i < d->n; i++) {
        AE_ASSERT(d->labels[i] < d->C);
        counts[d->labels[i]]++;
    }
}
