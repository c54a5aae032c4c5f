/* bench/probe.c — what the machine offers, measured in the worker's own process and threads:
 * the roofline (the GEMM calls of one epoch, as the timing backend recorded them, replayed with
 * cblas_sgemm alone) and the bandwidth (a STREAM triad at the batch's scale and beyond the
 * caches). The report sets the workloads' GEMM time and element-wise GB/s against them.
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the engine's shape
 * name I (a layer's inputs); the bench uses no complex numbers. */
#undef I
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- the roofline: the recorded GEMM calls, replayed with cblas_sgemm alone ---- */

typedef struct Region {
    const void *addr; /* as recorded */
    size_t nfloats;   /* largest extent used through this address */
    float *buf;       /* the replay's own buffer */
} Region;

static int region_index(Region *r, int *nr, int cap, const void *addr, size_t nfloats) {
    for (int i = 0; i < *nr; i++)
        if (r[i].addr == addr) {
            if (nfloats > r[i].nfloats) r[i].nfloats = nfloats;
            return i;
        }
    if (*nr == cap) die("too many distinct GEMM operands to replay");
    r[*nr] = (Region){addr, nfloats, NULL};
    return (*nr)++;
}

/* The recorded call c on the replay's buffers, row-major as the engine's gemm_* are. */
static void sgemm_call(const GemmCall *c, const float *A, const float *B, float *C) {
    switch (c->kind) {
    case 'n':
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->M, c->N, c->K, c->alpha, A,
                    c->K, B, c->N, c->beta, C, c->N);
        break;
    case 't':
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, c->alpha, A, c->K,
                    B, c->K, c->beta, C, c->N);
        break;
    default:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->M, c->N, c->K, c->alpha, A, c->M,
                    B, c->N, c->beta, C, c->N);
        break;
    }
}

/* One buffer per distinct address, as large as its largest use, filled with values in
 * [-1, 1]. */
void roofline_replay(const GemmCall *calls, int n, int reps, Samples *out) {
    enum { CAP = 512 };
    Region *reg = calloc(CAP, sizeof *reg);
    int (*ix)[3] = malloc((size_t)(n ? n : 1) * sizeof *ix);
    if (!reg || !ix) die("out of memory");
    int nr = 0;
    for (int i = 0; i < n; i++) {
        const GemmCall *c = &calls[i];
        size_t mk = (size_t)c->M * c->K, kn = (size_t)c->K * c->N, mn = (size_t)c->M * c->N;
        ix[i][0] = region_index(reg, &nr, CAP, c->A, mk);
        ix[i][1] = region_index(reg, &nr, CAP, c->B, c->kind == 't' ? (size_t)c->N * c->K : kn);
        ix[i][2] = region_index(reg, &nr, CAP, c->C, mn);
    }
    uint64_t state = 12345;
    for (int i = 0; i < nr; i++) {
        reg[i].buf = malloc(reg[i].nfloats * sizeof(float));
        if (!reg[i].buf) die("out of memory for the roofline buffers");
        for (size_t k = 0; k < reg[i].nfloats; k++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            reg[i].buf[k] = (float)((double)(state >> 40) / 8388608.0 - 1.0);
        }
    }
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < n; i++) {
            const GemmCall *c = &calls[i];
            const float *A = reg[ix[i][0]].buf, *B = reg[ix[i][1]].buf;
            sgemm_call(c, A, B, reg[ix[i][2]].buf);
        }
        samples_add(out, now_seconds() - t0);
        /* keep accumulated values (beta = 1 calls) from growing without bound */
        for (int i = 0; i < nr; i++) memset(reg[i].buf, 0, reg[i].nfloats * sizeof(float));
    }
    for (int i = 0; i < nr; i++) free(reg[i].buf);
    free(reg);
    free(ix);
}

/* ---- the bandwidth probe: a STREAM triad in the worker's own process and threads ---- */

#define STREAM_SAMPLES 5
#define STREAM_SAMPLE_S 0.2

/* a (n) = b (n) + s c (n): the shape of the engine's element-wise passes (two streams in, one
 * out), parallel the way they are (static schedule, the thread count backend_cpu_set_threads
 * set). simd as in the engine's act_backward loop: the probe should be the fastest such a pass
 * can be, so that the comparison is a bound. */
static void stream_triad(float *restrict a, const float *restrict b, const float *restrict c,
                         float s, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

/* The triad's bandwidth over three arrays of `nbytes` each: GB/s counting 12 bytes per element
 * (STREAM's convention: no write-allocate), the median of STREAM_SAMPLES samples of about
 * STREAM_SAMPLE_S seconds each (enough repetitions of the triad to take that long). The arrays
 * are first touched by the same static schedule, so each thread's pages and lines are where
 * that thread wants them, as the engine's buffers are after their first pass. */
double stream_gbs(size_t nbytes) {
    size_t n = nbytes / sizeof(float);
    float *a = malloc(nbytes), *b = malloc(nbytes), *c = malloc(nbytes);
    if (!a || !b || !c) die("out of memory for the bandwidth probe (3 x %zu bytes)", nbytes);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
    }
    stream_triad(a, b, c, 3.0f, n); /* warm: caches, pages, the thread pool */
    double t0 = now_seconds();
    stream_triad(a, b, c, 3.0f, n);
    double once = now_seconds() - t0;
    long reps = once > 0.0 ? (long)ceil(STREAM_SAMPLE_S / once) : 1000;
    if (reps < 1) reps = 1;
    Samples gbs = {0};
    for (int k = 0; k < STREAM_SAMPLES; k++) {
        t0 = now_seconds();
        for (long r = 0; r < reps; r++) stream_triad(a, b, c, 3.0f, n);
        double dt = now_seconds() - t0;
        samples_add(&gbs, 12.0 * (double)n * (double)reps / dt * 1e-9);
    }
    /* the result is looked at, so the stores cannot be dropped as dead */
    if (a[n / 2] != 7.0f) die("bandwidth probe: triad gave %g, expected 7", a[n / 2]);
    free(a);
    free(b);
    free(c);
    return samples_median(&gbs);
}
