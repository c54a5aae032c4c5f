/* engine/cpu_bf16.c — the CPU backend with bf16 GEMMs (`precision: bf16`, chosen by the runner).
 *
 * What it computes, as PyTorch's CPU autocast does for matmul/linear: each GEMM's two inputs are
 * rounded to bfloat16 (round to nearest, ties to even; NaN stays NaN), the products are
 * accumulated in float32 and C is float32. Everything else (parameters, gradients, optimizer
 * state, every element-wise op) is the FP32 CPU backend's, unchanged: this table is a copy of
 * backend_cpu()'s with the three gemm ops replaced.
 *
 * How: oneDNN's matmul primitive (Debian's libdnnl 2.6, an optional dependency; the Makefile
 * defines AE_WITH_DNNL when it finds it). A primitive is made once per (op, M, N, K, alpha, beta)
 * and kept; the bf16 copies of A and B and oneDNN's scratchpad live in buffers shared by all
 * shapes that grow only when a larger shape is first seen, so a training step allocates nothing.
 * The inputs are rounded here (backend_bf16_round), not by oneDNN, so the rounding is exactly
 * the one the tests check. On a CPU without AVX512_BF16, oneDNN 2.6 runs bf16 matmul on AVX-512
 * (core) with emulated bf16 dot products, and refuses it below AVX-512: backend_cpu_bf16 then
 * returns NULL with the reason.
 *
 * Not thread-safe: one training at a time per process, as the runner runs them.
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common.h"

static inline uint16_t round1(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* The same rounding, 16 at a time (AVX-512F: GCC's -O2 leaves the plain loop at 4 lanes, about
 * 1 ns an element; this takes about 0.1). */
__attribute__((target("avx512f"))) static void round_avx512(uint16_t *dst, const float *src,
                                                            size_t n) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff);
    const __m512i absm = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i qbit = _mm512_set1_epi32(0x40);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_loadu_si512((const void *)(src + i));
        __m512i hi = _mm512_srli_epi32(u, 16);
        __m512i r = _mm512_srli_epi32(
            _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(hi, one))), 16);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absm), inf);
        r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, qbit));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < n; i++) dst[i] = round1(src[i]);
}

void backend_bf16_round(uint16_t *dst, const float *src, size_t n) {
    static int avx512 = -1;
    if (avx512 < 0) avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
    enum { CHUNK = 1 << 16 };
    size_t nchunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (nchunks > 4)
    for (size_t c = 0; c < nchunks; c++) {
        size_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        if (avx512) round_avx512(dst + lo, src + lo, len);
        else
            for (size_t i = lo; i < lo + len; i++) dst[i] = round1(src[i]);
    }
}

#ifdef AE_WITH_DNNL
#include <oneapi/dnnl/dnnl.h>

bool backend_cpu_bf16_compiled(void) { return true; }

typedef enum { OP_NN = 0, OP_NT, OP_TN } GemmOp;

typedef struct Prim {
    GemmOp op;
    int M, N, K;
    float alpha, beta;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, pad; /* handles set per call */
    size_t pad_bytes;
} Prim;

static struct {
    bool ready;
    char failure[256];   /* the first failure after start-up ("" when none) */
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    Prim *prims;
    int nprims, cap;
    uint16_t *a, *b;     /* bf16 copies of A and B */
    void *pad;
    size_t a_cap, b_cap, pad_cap; /* in bytes */
} S;

static void note_failure(const char *what, dnnl_status_t st) {
    if (S.failure[0]) return;
    snprintf(S.failure, sizeof S.failure, "oneDNN bf16 matmul: %s failed (status %d)", what,
             (int)st);
}

static bool grow(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t bytes = (need + 63) / 64 * 64;
    void *q = aligned_alloc(64, bytes);
    if (!q) return false;
    free(*p);
    *p = q;
    *cap = need;
    return true;
}

/* The primitive for one shape, made on first use; NULL (failure noted) when oneDNN refuses. */
static Prim *prim_for(GemmOp op, int M, int N, int K, float alpha, float beta,
                      dnnl_status_t *st_out) {
    for (int i = 0; i < S.nprims; i++) {
        Prim *p = &S.prims[i];
        if (p->op == op && p->M == M && p->N == N && p->K == K && p->alpha == alpha &&
            p->beta == beta)
            return p;
    }
    if (S.nprims == S.cap) {
        int cap = S.cap ? 2 * S.cap : 32;
        Prim *np = realloc(S.prims, (size_t)cap * sizeof *np);
        if (!np) return NULL;
        S.prims = np;
        S.cap = cap;
    }
    dnnl_memory_desc_t src_md, wei_md, dst_md;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    dnnl_dims_t ss = {K, 1}, ws = {N, 1}, ds = {N, 1};
    if (op == OP_TN) ss[0] = 1, ss[1] = M; /* A stored (K,M) */
    if (op == OP_NT) ws[0] = 1, ws[1] = K; /* B stored (N,K) */
    dnnl_status_t st = dnnl_memory_desc_init_by_strides(&src_md, 2, sd, dnnl_bf16, ss);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_strides(&wei_md, 2, wd, dnnl_bf16, ws);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_strides(&dst_md, 2, dd, dnnl_f32, ds);
    dnnl_matmul_desc_t md;
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&md, &src_md, &wei_md, NULL, &dst_md);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (st == dnnl_success) st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && alpha != 1.0f)
        st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    if (st == dnnl_success && beta != 0.0f) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, beta);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &md, attr, S.eng, NULL);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    Prim p = {.op = op, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta};
    if (st == dnnl_success) st = dnnl_primitive_create(&p.prim, pd);
    if (st == dnnl_success) {
        const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        p.pad_bytes = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
        st = dnnl_memory_create(&p.src, &src_md, S.eng, DNNL_MEMORY_NONE);
        if (st == dnnl_success) st = dnnl_memory_create(&p.wei, &wei_md, S.eng, DNNL_MEMORY_NONE);
        if (st == dnnl_success) st = dnnl_memory_create(&p.dst, &dst_md, S.eng, DNNL_MEMORY_NONE);
        if (st == dnnl_success && p.pad_bytes)
            st = dnnl_memory_create(&p.pad, pmd, S.eng, DNNL_MEMORY_NONE);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) {
        *st_out = st;
        return NULL;
    }
    S.prims[S.nprims] = p;
    return &S.prims[S.nprims++];
}

/* C (M,N) = alpha op(A) op(B) + beta C with bf16-rounded A and B */
static void bf16_gemm(GemmOp op, int M, int N, int K, float alpha, const float *A,
                      const float *B, float beta, float *C) {
    if (M <= 0 || N <= 0) return;
    size_t an = (size_t)M * (size_t)K, bn = (size_t)K * (size_t)N;
    dnnl_status_t st = dnnl_success;
    Prim *p = K > 0 ? prim_for(op, M, N, K, alpha, beta, &st) : NULL;
    if (p && grow((void **)&S.a, &S.a_cap, an * sizeof *S.a) &&
        grow((void **)&S.b, &S.b_cap, bn * sizeof *S.b) &&
        grow(&S.pad, &S.pad_cap, p->pad_bytes)) {
        backend_bf16_round(S.a, A, an);
        backend_bf16_round(S.b, B, bn);
        dnnl_memory_set_data_handle(p->src, S.a);
        dnnl_memory_set_data_handle(p->wei, S.b);
        dnnl_memory_set_data_handle(p->dst, C);
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src},
                                   {DNNL_ARG_WEIGHTS, p->wei},
                                   {DNNL_ARG_DST, p->dst},
                                   {DNNL_ARG_SCRATCHPAD, p->pad}};
        if (p->pad) dnnl_memory_set_data_handle(p->pad, S.pad);
        st = dnnl_primitive_execute(p->prim, S.stream, p->pad ? 4 : 3, args);
        if (st == dnnl_success) st = dnnl_stream_wait(S.stream);
        if (st == dnnl_success) return;
        note_failure("execute", st);
    } else if (K > 0) {
        note_failure(p ? "allocating its buffers" : "making a primitive", p ? dnnl_out_of_memory : st);
    }
    /* K == 0, or a failure (noted above; the runner fails the run): C = beta C as FP32 does */
    for (size_t i = 0; i < (size_t)M * (size_t)N; i++) C[i] = beta == 0.0f ? 0.0f : beta * C[i];
}

static void bf16_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B,
                         float beta, float *C) {
    bf16_gemm(OP_NN, M, N, K, alpha, A, B, beta, C);
}
static void bf16_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B,
                         float beta, float *C) {
    bf16_gemm(OP_NT, M, N, K, alpha, A, B, beta, C);
}
static void bf16_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B,
                         float beta, float *C) {
    bf16_gemm(OP_TN, M, N, K, alpha, A, B, beta, C);
}

static Backend BF16_BACKEND;
const char *backend_cpu_bf16_isa(void);

const Backend *backend_cpu_bf16(char *why, size_t n) {
    if (S.ready) return &BF16_BACKEND;
    dnnl_status_t st = dnnl_engine_create(&S.eng, dnnl_cpu, 0);
    if (st != dnnl_success) {
        snprintf(why, n, "oneDNN could not create its CPU engine (status %d)", (int)st);
        return NULL;
    }
    st = dnnl_stream_create(&S.stream, S.eng, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        snprintf(why, n, "oneDNN could not create a stream (status %d)", (int)st);
        dnnl_engine_destroy(S.eng);
        return NULL;
    }
    /* Can this CPU run it at all? One small primitive, of the shape a layer's forward has. */
    Prim *p = prim_for(OP_NT, 4, 4, 4, 1.0f, 0.0f, &st);
    if (!p) {
        snprintf(why, n,
                 "oneDNN %s bf16 matmul on this CPU (status %d; its instruction set here: %s; "
                 "bf16 needs AVX-512, natively AVX512_BF16)",
                 st == dnnl_unimplemented ? "has no" : "failed to make a", (int)st,
                 backend_cpu_bf16_isa());
        dnnl_stream_destroy(S.stream);
        dnnl_engine_destroy(S.eng);
        return NULL;
    }
    BF16_BACKEND = *backend_cpu();
    BF16_BACKEND.name = "cpu-bf16";
    BF16_BACKEND.gemm_nn = bf16_gemm_nn;
    BF16_BACKEND.gemm_nt = bf16_gemm_nt;
    BF16_BACKEND.gemm_tn = bf16_gemm_tn;
    S.ready = true;
    return &BF16_BACKEND;
}

const char *backend_cpu_bf16_failure(void) { return S.failure[0] ? S.failure : NULL; }

const char *backend_cpu_bf16_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16 (native bf16 dot products)";
    case dnnl_cpu_isa_avx512_core: return "avx512_core (bf16 emulated)";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx (native bf16)";
    default: return dnnl_get_effective_cpu_isa() > dnnl_cpu_isa_avx512_core_bf16
                        ? "beyond avx512_core_bf16 (native bf16)"
                        : "below avx512_core (no bf16 matmul)";
    }
}

#else /* no oneDNN */

bool backend_cpu_bf16_compiled(void) { return false; }

const Backend *backend_cpu_bf16(char *why, size_t n) {
    snprintf(why, n, "this aelab was built without oneDNN (install libdnnl-dev: make deps, then "
                     "rebuild)");
    return NULL;
}

const char *backend_cpu_bf16_failure(void) { return NULL; }
const char *backend_cpu_bf16_isa(void) { return "none (built without oneDNN)"; }

#endif
