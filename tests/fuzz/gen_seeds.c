/* tests/fuzz/gen_seeds.c — writes the generated seed inputs of the IDX and checkpoint fuzzers
 * (tests/fuzz/run.sh builds it with clang and calls it with the corpus directory).
 *
 * Usage: gen_seeds OUTDIR [MNIST_IMAGES MNIST_LABELS]
 * Writes OUTDIR/idx/ (inputs for fuzz_idx.c: a mode byte, then the payload) and
 * OUTDIR/checkpoint/ (inputs for fuzz_checkpoint.c: a checkpoint, then a flags byte) from small
 * models and data sets made here, through the real encoders (idx_write, checkpoint_encode), plus
 * the first images of MNIST when its files are given. Exit 1 when a file cannot be written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "data.h"

static const char *outdir;

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* OUTDIR/sub/name := prefix byte (if >= 0) + data + suffix byte (if >= 0) */
static void seed(const char *sub, const char *name, int prefix, const void *data, size_t n,
                 int suffix) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (prefix >= 0) fputc(prefix, f);
    if (n) fwrite(data, 1, n, f);
    if (suffix >= 0) fputc(suffix, f);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Writes an IDX file through idx_write to a scratch path and returns its bytes. */
static unsigned char *idx_bytes(const uint8_t *data, const int *dims, int rank, bool gz,
                                size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/.scratch%s", outdir, gz ? ".gz" : "");
    AeError err;
    if (!idx_write(path, data, dims, rank, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    unsigned char *b = slurp(path, n);
    unlink(path);
    return b;
}

static void idx_seeds(const char *mn_images, const char *mn_labels) {
    uint8_t pix[5 * 3 * 2], lab[5];
    for (int i = 0; i < 30; i++) pix[i] = (uint8_t)(i * 37);
    for (int i = 0; i < 5; i++) lab[i] = (uint8_t)(i % 3);
    int idims[3] = {5, 3, 2}, ldims[1] = {5};
    size_t ni, nl, ngz;
    unsigned char *im = idx_bytes(pix, idims, 3, false, &ni);
    unsigned char *lb = idx_bytes(lab, ldims, 1, false, &nl);
    unsigned char *imgz = idx_bytes(pix, idims, 3, true, &ngz);
    const int MC10 = 9 << 4; /* max_classes 10 */
    seed("idx", "images-plain", MC10 | 0, im, ni, -1);
    seed("idx", "images-gzip-by-harness", MC10 | 4, im, ni, -1);
    seed("idx", "images-gzip-raw", MC10 | 0, imgz, ngz, -1);
    seed("idx", "labels-plain", MC10 | 1, lb, nl, -1);
    seed("idx", "labels-gzip-by-harness", MC10 | 5, lb, nl, -1);
    seed("idx", "labels-max2", (1 << 4) | 1, lb, nl, -1);
    /* a pair: 2-byte big-endian split, images, labels */
    unsigned char *pair = malloc(2 + ni + nl);
    pair[0] = (unsigned char)(ni >> 8), pair[1] = (unsigned char)ni;
    memcpy(pair + 2, im, ni);
    memcpy(pair + 2 + ni, lb, nl);
    seed("idx", "pair", MC10 | 2, pair, 2 + ni + nl, -1);
    seed("idx", "pair-gzip", MC10 | 6, pair, 2 + ni + nl, -1);
    free(pair);
    seed("idx", "images-truncated", MC10, im, ni - 3, -1);
    seed("idx", "images-header-only", MC10, im, 16, -1);
    seed("idx", "gzip-truncated", MC10, imgz, ngz / 2, -1);
    free(im);
    free(lb);
    free(imgz);

    /* CSV (mode 3, label column: last / 0 / 1 / 2) */
    static const char *const csvs[] = {
        "a,b,c,label\n1,2,3,0\n4,5,6,1\n",
        "label,p1,p2\n0,255,0\n1,0,255\n2,128,128\n",
        "0,1,2,3\r\n4,5,6,7\r\n",
        "\"x\",\"y\"\n\"1\",\"2\"\n",
        "1.5, 2 ,3,0\n\n4,5,6,1\n",
    };
    for (size_t k = 0; k < sizeof csvs / sizeof csvs[0]; k++) {
        char name[32];
        snprintf(name, sizeof name, "csv-%zu", k);
        seed("idx", name, 3 | (int)(k % 4) << 2, csvs[k], strlen(csvs[k]), -1);
    }

    /* the first 3 MNIST images and labels, headers rewritten for n = 3 */
    if (mn_images && mn_labels) {
        AeError err;
        Dataset *d = dataset_load_idx(mn_images, mn_labels, 10, &err);
        if (!d) {
            fprintf(stderr, "gen_seeds: skipping MNIST: %s\n", err.msg);
            return;
        }
        int dims3[3] = {3, d->rows, d->cols}, dims1[1] = {3};
        unsigned char *mi = idx_bytes(d->images, dims3, 3, false, &ni);
        unsigned char *ml = idx_bytes(d->labels, dims1, 1, false, &nl);
        seed("idx", "mnist-3-images", MC10, mi, ni, -1);
        seed("idx", "mnist-3-labels", MC10 | 1, ml, nl, -1);
        free(mi);
        free(ml);
        dataset_free(d);
    }
}

static Layer *layer(const Backend *be, int I, int O, Act act, RngStream *rng) {
    AeError err;
    Layer *l = layer_create(be, I, O, act, &err);
    if (!l) {
        fprintf(stderr, "gen_seeds: %s\n", err.msg);
        exit(1);
    }
    layer_init(be, l, INIT_PYTORCH, rng);
    return l;
}

static void ckpt_seed(const char *name, const Model *m, const char *label, int flags) {
    CheckpointMeta meta;
    memset(&meta, 0, sizeof meta);
    meta.stage_index = 2;
    meta.epoch = 3;
    meta.seed = 1;
    meta.config_hash = 0x1234;
    for (int k = 0; k < CHECKPOINT_NRNG; k++) meta.rng_counters[k] = (uint64_t)k * 1000;
    snprintf(meta.stage_label, sizeof meta.stage_label, "%s", label);
    AeError err;
    unsigned char *b;
    size_t n;
    if (!checkpoint_encode(name, m, &meta, &b, &n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    seed("checkpoint", name, -1, b, n, flags);
    free(b);
}

static void checkpoint_seeds(void) {
    const Backend *be = backend_cpu();
    RngStream rng = rng_stream(7, RNG_STREAM_INIT);
    AeError err;
    Model *m = model_create(be, 6, &err);
    if (!m) {
        fprintf(stderr, "gen_seeds: %s\n", err.msg);
        exit(1);
    }
    ckpt_seed("empty-model", m, "load_dataset", 3);
    m->enc[m->nenc++] = layer(be, 6, 4, ACT_TANH, &rng);
    m->dec[m->ndec++] = layer(be, 4, 6, ACT_SIGMOID, &rng);
    ckpt_seed("pretrain", m, "pretrain_layer", 3);
    ckpt_seed("pretrain-raw", m, "pretrain_layer", 0);
    layer_free(be, m->dec[0]);
    m->ndec = 0;
    m->enc[m->nenc++] = layer(be, 4, 3, ACT_RELU, &rng);
    m->dec[m->ndec++] = layer(be, 3, 4, ACT_IDENTITY, &rng);
    m->dec[m->ndec++] = layer(be, 4, 6, ACT_SIGMOID, &rng);
    ckpt_seed("append", m, "append_layer", 3);
    for (int i = 0; i < m->ndec; i++) layer_free(be, m->dec[i]);
    m->ndec = 0;
    m->head[m->nhead++] = layer(be, 3, 5, ACT_TANH, &rng);
    m->head[m->nhead++] = layer(be, 5, 2, ACT_LOGSOFTMAX, &rng);
    ckpt_seed("classifier", m, "attach_classifier", 3);
    ckpt_seed("classifier-size-only", m, "attach_classifier", 1);
    model_free(m);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: gen_seeds OUTDIR [MNIST_IMAGES MNIST_LABELS]\n");
        return 2;
    }
    outdir = argv[1];
    idx_seeds(argc == 4 ? argv[2] : NULL, argc == 4 ? argv[3] : NULL);
    checkpoint_seeds();
    return 0;
}
