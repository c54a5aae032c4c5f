/* bench/peers/kann_ae1.c — the L17 AE1 epoch in kann (attractivechaos/kann), the C peer of
 * `make bench`. Built by bench/peers/kann.sh outside the repository's build, against a kann
 * source tree it is given (never part of this repository) compiled with -DHAVE_CBLAS, so that
 * kann's GEMMs are cblas_sgemm calls into the same OpenBLAS build aelab links.
 *
 * The epoch: 784-400-784, tanh then sigmoid, MSE against the input, plain SGD (x -= lr·g)
 * with lr 0.98, batches of 1000 rows gathered from the uint8 MNIST training images (data/mnist,
 * or $AELAB_DATA/mnist) in a shuffled order and scaled by 1/255, as aelab's gather does. One
 * warm-up epoch, then --epochs timed ones. kann runs its graph on one thread; OpenBLAS's own
 * threads (OPENBLAS_NUM_THREADS / --threads) do the GEMMs.
 *
 * Prints the "key value" lines bench/side.c reads: epoch_s, warm_s, corename, blas_lib,
 * blas_config, blas_parallel, blas_threads, info, rss_kb.
 */
#define _GNU_SOURCE
#include <cblas.h>
#undef I
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kann.h"

/* --cpu-clock: the process's CPU time (as `bench work --cpu-clock`), for 1 thread on a busy
 * machine. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fail(const char *what, const char *path) {
    fprintf(stderr, "kann_ae1: error: %s%s%s\n", what, path ? ": " : "", path ? path : "");
    exit(1);
}

/* The 60000 x 784 uint8 training images of an IDX file (uncompressed). */
static uint8_t *read_images(const char *path, int *n) {
    FILE *f = fopen(path, "rb");
    if (!f) fail("cannot open", path);
    uint8_t h[16];
    if (fread(h, 1, 16, f) != 16 || h[2] != 0x08 || h[3] != 3) fail("not an IDX image file", path);
    int rows = (h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7];
    int r = (h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11];
    int c = (h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15];
    if (r * c != 784 || rows <= 0) fail("not 28x28 images", path);
    uint8_t *px = malloc((size_t)rows * 784);
    if (!px || fread(px, 1, (size_t)rows * 784, f) != (size_t)rows * 784) fail("short file", path);
    fclose(f);
    *n = rows;
    return px;
}

/* The libopenblas shared object mapped into this process (/proc/self/maps), resolved. */
static void blas_lib(char *buf, size_t n) {
    snprintf(buf, n, "none");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (!p) continue;
        p[strcspn(p, "\n")] = '\0';
        const char *base = strrchr(p, '/') + 1;
        if (strncmp(base, "libopenblas", 11) != 0) continue;
        char real[PATH_MAX];
        snprintf(buf, n, "%s", realpath(p, real) ? real : p);
        break;
    }
    fclose(f);
}

static kann_t *build_ae1(void) {
    kad_node_t *in = kann_layer_input(784);
    kad_node_t *h = kad_tanh(kann_layer_dense(in, 400));
    kad_node_t *out = kad_sigm(kann_layer_dense(h, 784));
    kad_node_t *truth = kad_feed(2, 1, 784);
    truth->ext_flag |= KANN_F_TRUTH;
    kad_node_t *cost = kad_mse(out, truth);
    out->ext_flag |= KANN_F_OUT;
    cost->ext_flag |= KANN_F_COST;
    return kann_new(cost, 0);
}

/* One epoch over the images in a new shuffled order; returns the mean batch cost. */
static double epoch(kann_t *ann, const uint8_t *px, int n, int *order, float *x, int B,
                    float lr) {
    kann_shuffle(n, order);
    int nv = kann_size_var(ann);
    double total = 0.0;
    int batches = 0;
    for (int b0 = 0; b0 < n; b0 += B) {
        int ms = n - b0 < B ? n - b0 : B;
        for (int r = 0; r < ms; r++) {
            const uint8_t *src = px + (size_t)order[b0 + r] * 784;
            for (int k = 0; k < 784; k++) x[(size_t)r * 784 + k] = src[k] * (1.0f / 255.0f);
        }
        kann_set_batch_size(ann, ms);
        total += kann_cost(ann, 0, 1);
        for (int i = 0; i < nv; i++) ann->x[i] -= lr * ann->g[i];
        batches++;
    }
    return total / batches;
}

int main(int argc, char **argv) {
    int epochs = 3, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cpu-clock") == 0) clock_id = CLOCK_PROCESS_CPUTIME_ID;
        else if (i + 1 < argc && strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) threads = atoi(argv[++i]);
        else fail("unknown option", argv[i]);
    }
    if (epochs < 1) fail("--epochs: expected >= 1", NULL);
    if (threads > 0) openblas_set_num_threads(threads);
    const char *data = getenv("AELAB_DATA");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/mnist/train-images-idx3-ubyte", data ? data : "data");
    int n;
    uint8_t *px = read_images(path, &n);

    kann_srand(1);
    kann_t *ann = build_ae1();
    const int B = 1000;
    float *x = malloc((size_t)B * 784 * sizeof(float));
    int *order = malloc((size_t)n * sizeof(int));
    if (!x || !order || !ann) fail("out of memory", NULL);
    /* the input and the truth are the same batch */
    kann_feed_bind(ann, KANN_F_IN, 0, &x);
    kann_feed_bind(ann, KANN_F_TRUTH, 0, &x);
    kann_switch(ann, 1);
    double first = 0.0, last = 0.0;
    for (int e = 0; e <= epochs; e++) {
        double t0 = now_s();
        last = epoch(ann, px, n, order, x, B, 0.98f);
        double dt = now_s() - t0;
        if (e == 0) {
            first = last;
            printf("warm_s %.6f\n", dt);
        } else {
            printf("epoch_s %.6f\n", dt);
        }
    }
    char lib[PATH_MAX];
    blas_lib(lib, sizeof lib);
    printf("workload ae1\n");
    printf("info kann %s, CBLAS, %d OpenBLAS threads\n", KANN_VERSION, openblas_get_num_threads());
    printf("corename %s\n", openblas_get_corename());
    printf("blas_lib %s\n", lib);
    printf("blas_config %s\n", openblas_get_config());
    printf("blas_parallel %d\n", openblas_get_parallel());
    printf("blas_threads %d\n", openblas_get_num_threads());
    printf("objective %.6g %.6g\n", first, last);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rss_kb %ld\n", ru.ru_maxrss);
    kann_delete(ann);
    free(x);
    free(order);
    free(px);
    return 0;
}
