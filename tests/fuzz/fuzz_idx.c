/* tests/fuzz/fuzz_idx.c — libFuzzer harness for the data-set readers in runner/data.c:
 * idx_read_header, dataset_load_idx (plain and gzip, detected by content) and dataset_load_csv.
 *
 * Input: byte 0 is a mode, the rest the payload.
 *   mode & 3 == 0  payload = images file; the labels file is made valid for the count in the
 *                  payload's header (when it declares at most 1<<16 images), else empty;
 *   mode & 3 == 1  payload = labels file; the images file is made valid (1x1 images) for the
 *                  count in the payload's header (at most 1<<16), else empty;
 *   mode & 3 == 2  payload = images file followed by a labels file: bytes 1-2 (big-endian) of
 *                  the payload give the images file's length;
 *   mode & 3 == 3  payload = a CSV file, label column (mode >> 2) % 4 - 1 (-1 = last).
 *   mode & 4, modes 0-2: the payload file(s) are gzip-compressed before being written, so that
 *                  mutations of the IDX contents are read through zlib's inflate path as well
 *                  (raw gzip damage is reached by payloads that start with 1f 8b).
 *   max_classes is 1 + (mode >> 4) (so 1..16).
 * Checks: no crash, leak or undefined behaviour; a refusal has a one-line "PATH: error: ..."
 * message naming one of the files; a data set that loads is consistent with its header (n, rows,
 * cols, D = rows*cols, labels < C <= max_classes) and, for IDX, with idx_read_header.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "fuzz_util.h"

static uint32_t be32(const uint8_t *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* Writes data to path, gzip-compressed when gz. */
static void write_maybe_gz(const char *path, const uint8_t *data, size_t n, bool gz) {
    if (!gz) {
        fuzz_write(path, data, n);
        return;
    }
    gzFile f = gzopen(path, "wb1");
    if (!f || (n && gzwrite(f, data, (unsigned)n) != (int)n) || gzclose(f) != Z_OK) {
        fprintf(stderr, "fuzz: cannot write scratch file %s\n", path);
        abort();
    }
}

/* A valid companion file for a count taken from the payload's header: labels (rank 1, values
 * i % 10) or 1x1 images (rank 3). Empty when the payload has no header or declares too many. */
static void write_companion(const char *path, const uint8_t *payload, size_t n, bool labels) {
    uint32_t count = n >= 8 ? be32(payload + 4) : 0;
    if (count == 0 || count > (1u << 16)) {
        fuzz_write(path, "", 0);
        return;
    }
    size_t hdr = labels ? 8 : 16;
    uint8_t *b = calloc(hdr + count, 1);
    if (!b) abort();
    b[2] = 0x08;
    b[3] = labels ? 1 : 3;
    put_be32(b + 4, count);
    if (!labels) put_be32(b + 8, 1), put_be32(b + 12, 1);
    for (uint32_t i = 0; i < count; i++) b[hdr + i] = labels ? (uint8_t)(i % 10) : (uint8_t)(i * 7);
    fuzz_write(path, b, hdr + count);
    free(b);
}

static void check_refusal(const AeError *err, const char *a, const char *b) {
    bool names = (strncmp(err->msg, a, strlen(a)) == 0 &&
                  strncmp(err->msg + strlen(a), ": error: ", 9) == 0) ||
                 (b && strncmp(err->msg, b, strlen(b)) == 0 &&
                  strncmp(err->msg + strlen(b), ": error: ", 9) == 0);
    FUZZ_CHECK(names, "refusal without a \"PATH: error: \" message naming the file: \"%s\"",
               err->msg);
    FUZZ_CHECK(fuzz_known("multiline-message") ||
                   (strchr(err->msg, '\n') == NULL && strchr(err->msg, '\r') == NULL),
               "multi-line message: \"%s\"", err->msg);
}

static void check_dataset(const Dataset *d, int max_classes) {
    FUZZ_CHECK(d->n > 0 && d->D > 0 && d->rows > 0 && d->cols > 0 && d->D == d->rows * d->cols,
               "inconsistent shape n=%d rows=%d cols=%d D=%d", d->n, d->rows, d->cols, d->D);
    FUZZ_CHECK(d->C >= 1 && d->C <= max_classes, "C=%d, max_classes %d", d->C, max_classes);
    for (int i = 0; i < d->n; i++)
        FUZZ_CHECK(d->labels[i] < d->C, "label %u >= C=%d", d->labels[i], d->C);
    volatile unsigned sum = 0; /* touch every byte: ASan checks the buffers' extent */
    for (size_t i = 0; i < (size_t)d->n * (size_t)d->D; i++) sum += d->images[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    const char *img = fuzz_path(0, "images.idx"), *lab = fuzz_path(1, "labels.idx");
    bool gz = mode & 4;
    AeError err = {{0}};

    if ((mode & 3) == 3) {
        const char *csv = fuzz_path(2, "data.csv");
        fuzz_write(csv, p, n);
        int label_col = (mode >> 2) % 4 - 2; /* auto, last, first, 1 */
        Dataset *d = dataset_load_csv(csv, label_col, (CsvPixels)((mode >> 4) % 3), &err);
        if (d)
            check_dataset(d, 256);
        else
            check_refusal(&err, csv, NULL);
        dataset_free(d);
        return 0;
    }
    switch (mode & 3) {
    case 0:
        write_maybe_gz(img, p, n, gz);
        write_companion(lab, p, n, true);
        break;
    case 1:
        write_maybe_gz(lab, p, n, gz);
        write_companion(img, p, n, false);
        break;
    default: {
        size_t split = n >= 2 ? ((size_t)p[0] << 8 | p[1]) : 0;
        const uint8_t *q = n >= 2 ? p + 2 : p;
        size_t m = n >= 2 ? n - 2 : 0;
        if (split > m) split = m;
        write_maybe_gz(img, q, split, gz);
        write_maybe_gz(lab, q + split, m - split, gz);
        break;
    }
    }
    int hn = 0, hr = 0, hc = 0;
    AeError herr = {{0}};
    bool header_ok = idx_read_header(img, &hn, &hr, &hc, &herr);
    if (!header_ok)
        check_refusal(&herr, img, NULL);
    else
        FUZZ_CHECK(hn > 0 && hr > 0 && hc > 0, "header %d x %d x %d", hn, hr, hc);

    int max_classes = 1 + (mode >> 4);
    Dataset *d = dataset_load_idx(img, lab, max_classes, &err);
    if (d) {
        check_dataset(d, max_classes);
        FUZZ_CHECK(header_ok && d->n == hn && d->rows == hr && d->cols == hc,
                   "loaded %d x %d x %d, header said %d x %d x %d", d->n, d->rows, d->cols, hn, hr,
                   hc);
    } else {
        check_refusal(&err, img, lab);
    }
    dataset_free(d);
    return 0;
}
