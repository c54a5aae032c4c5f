/* bench/probe.c — what the machine offers, measured in the worker's own process and threads:
 * the roofline (the GEMM calls of one epoch, as the timing backend recorded them, replayed with
 * cblas_sgemm alone) and the bandwidth (a STREAM triad at the batch's scale and beyond the
 * caches). The report sets the workloads' GEMM time and element-wise GB/s against them.
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the engine's shape
 * name I (a layer's inputs); the bench uses no complex numbers. */
#undef I
#include <immintrin.h>
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
 * [-1, 1]. One untimed pass first (the buffers' pages, the packing buffers, the thread team:
 * warm), then `reps` timed ones. */
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
    for (int r = -1; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < n; i++) {
            const GemmCall *c = &calls[i];
            const float *A = reg[ix[i][0]].buf, *B = reg[ix[i][1]].buf;
            sgemm_call(c, A, B, reg[ix[i][2]].buf);
        }
        if (r >= 0) samples_add(out, now_seconds() - t0);
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

/* ---- the machine's limits: peak FP32 FMA throughput, and a large sgemm ---- */

#define FMA_ACC 12 /* independent chains: enough to cover the FMA latency on two pipes */

/* The chains are named variables, not an array: GCC keeps an array of vectors in memory at -O2,
 * which would make the probe measure store-to-load forwarding instead. */
#define FMA_STEP(F, x) x = F(x, b, c)
#define FMA_ALL(F)                                                                             \
    do {                                                                                       \
        FMA_STEP(F, a0); FMA_STEP(F, a1); FMA_STEP(F, a2); FMA_STEP(F, a3); FMA_STEP(F, a4);   \
        FMA_STEP(F, a5); FMA_STEP(F, a6); FMA_STEP(F, a7); FMA_STEP(F, a8); FMA_STEP(F, a9);   \
        FMA_STEP(F, a10); FMA_STEP(F, a11);                                                    \
    } while (0)

/* `iters` rounds of FMA_ACC independent FMAs on 16-float vectors; returns a value that depends
 * on all of them, so that none is dropped. */
__attribute__((target("avx512f"))) static float fma_chains_avx512(long iters) {
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = _mm512_set1_ps(1.001f), a2 = _mm512_set1_ps(1.002f),
           a3 = _mm512_set1_ps(1.003f), a4 = _mm512_set1_ps(1.004f), a5 = _mm512_set1_ps(1.005f),
           a6 = _mm512_set1_ps(1.006f), a7 = _mm512_set1_ps(1.007f), a8 = _mm512_set1_ps(1.008f),
           a9 = _mm512_set1_ps(1.009f), a10 = _mm512_set1_ps(1.01f), a11 = _mm512_set1_ps(1.011f);
    for (long i = 0; i < iters; i++) FMA_ALL(_mm512_fmadd_ps);
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}

/* The same on 8-float vectors (AVX2 + FMA). */
__attribute__((target("avx2,fma"))) static float fma_chains_avx2(long iters) {
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_set1_ps(1.001f), a2 = _mm256_set1_ps(1.002f),
           a3 = _mm256_set1_ps(1.003f), a4 = _mm256_set1_ps(1.004f), a5 = _mm256_set1_ps(1.005f),
           a6 = _mm256_set1_ps(1.006f), a7 = _mm256_set1_ps(1.007f), a8 = _mm256_set1_ps(1.008f),
           a9 = _mm256_set1_ps(1.009f), a10 = _mm256_set1_ps(1.01f), a11 = _mm256_set1_ps(1.011f);
    for (long i = 0; i < iters; i++) FMA_ALL(_mm256_fmadd_ps);
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

/* Every OpenMP thread runs `iters` rounds; GFLOP/s of the whole team (2 FLOPs per lane). */
static double fma_sample(bool avx512, long iters, int threads, volatile float *sink) {
    double t0 = now_seconds();
#pragma omp parallel num_threads(threads)
    {
        float v = avx512 ? fma_chains_avx512(iters) : fma_chains_avx2(iters);
#pragma omp atomic
        *sink += v;
    }
    double dt = now_seconds() - t0;
    double lanes = avx512 ? 16.0 : 8.0;
    return 2.0 * lanes * FMA_ACC * (double)iters * threads / dt * 1e-9;
}

double peak_fma_gflops(int threads, const char **isa) {
    bool avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        *isa = "none (no AVX2+FMA)";
        return NAN;
    }
    *isa = avx512 ? "AVX-512F" : "AVX2+FMA";
    volatile float sink = 0.0f;
    long iters = 1 << 16;
    /* size a sample to ~60 ms (the first call also starts the team) */
    for (;;) {
        double t0 = now_seconds();
        fma_sample(avx512, iters, threads, &sink);
        if (now_seconds() - t0 > 0.03 || iters > (1L << 34)) break;
        iters *= 2;
    }
    iters *= 2;
    Samples s = {0};
    for (int k = 0; k < 5; k++) samples_add(&s, fma_sample(avx512, iters, threads, &sink));
    return samples_median(&s);
}

double sgemm_large_gflops(int n) {
    size_t nn = (size_t)n * n;
    float *A = malloc(nn * sizeof *A), *B = malloc(nn * sizeof *B), *C = malloc(nn * sizeof *C);
    if (!A || !B || !C) die("out of memory for the %d^3 sgemm probe", n);
    for (size_t i = 0; i < nn; i++) {
        A[i] = (float)(i % 97) * 0.01f - 0.5f;
        B[i] = (float)(i % 89) * 0.01f - 0.4f;
        C[i] = 0.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    Samples s = {0};
    for (int k = 0; k < 3; k++) {
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f,
                    C, n);
        samples_add(&s, 2.0 * n * (double)nn / (now_seconds() - t0) * 1e-9);
    }
    free(A);
    free(B);
    free(C);
    return samples_median(&s);
}
