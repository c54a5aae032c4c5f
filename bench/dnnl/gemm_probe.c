/* bench/dnnl/gemm_probe.c — the AE's GEMM shapes on four GEMMs (built by the Makefile as
 * build/bench/dnnl_gemm_probe, only when oneDNN is installed; not part of `make bench`):
 *   openblas   cblas_sgemm (the FP32 CPU backend's)
 *   dnnl_f32   oneDNN's dnnl_sgemm (FP32, row-major)
 *   bf16       the bf16 backend's gemm op: f32 in and out, both inputs rounded to bf16 each call
 *   bf16_pre   oneDNN bf16 matmul alone on operands converted beforehand (f32 out)
 * For each layer (I, O) and batch M: forward C(M,O) = X(M,I) W(O,I)^T (nt), dX(M,I) = dY(M,O)
 * W(O,I) (nn), dW(O,I) += dY^T X (tn, beta 1). Methods are timed interleaved: each round runs
 * every method once on a shape (`reps` calls each, warm), `rounds` rounds; the median per call.
 *
 * usage: dnnl_gemm_probe [--threads N] [--rounds R] [--max-isa avx512_core|avx2]
 * (--max-isa: oneDNN's dnnl_set_max_cpu_isa, to see what a CPU without AVX512_BF16 gets).
 */
#include <cblas.h>
#undef I
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { NN, NT, TN } Op;
static const char *op_label[] = {"dX (nn)", "fwd (nt)", "dW (tn)"};

static dnnl_engine_t eng;
static dnnl_stream_t strm;

typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, pad;
} Pre;

static int pre_make(Pre *p, Op op, int M, int N, int K, float beta, void *a, void *b, float *c) {
    dnnl_memory_desc_t sm, wm, dm;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    dnnl_dims_t ss = {K, 1}, ws = {N, 1}, ds = {N, 1};
    if (op == TN) ss[0] = 1, ss[1] = M;
    if (op == NT) ws[0] = 1, ws[1] = K;
    dnnl_memory_desc_init_by_strides(&sm, 2, sd, dnnl_bf16, ss);
    dnnl_memory_desc_init_by_strides(&wm, 2, wd, dnnl_bf16, ws);
    dnnl_memory_desc_init_by_strides(&dm, 2, dd, dnnl_f32, ds);
    dnnl_matmul_desc_t md;
    dnnl_matmul_desc_init(&md, &sm, &wm, NULL, &dm);
    dnnl_primitive_attr_t attr;
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_post_ops_t po = NULL;
    if (beta != 0.0f) {
        dnnl_post_ops_create(&po);
        dnnl_post_ops_append_sum(po, beta);
        dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL);
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return -1;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    static char last[64];
    if (impl && strcmp(last, impl) != 0) {
        fprintf(stderr, "oneDNN bf16 matmul implementation: %s\n", impl);
        snprintf(last, sizeof last, "%s", impl);
    }
    dnnl_primitive_create(&p->prim, pd);
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t pb = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
    dnnl_memory_create(&p->src, &sm, eng, a);
    dnnl_memory_create(&p->wei, &wm, eng, b);
    dnnl_memory_create(&p->dst, &dm, eng, c);
    p->pad = NULL;
    if (pb) dnnl_memory_create(&p->pad, pmd, eng, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_destroy(pd);
    return 0;
}
static void pre_run(Pre *p) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->wei},
                               {DNNL_ARG_DST, p->dst}, {DNNL_ARG_SCRATCHPAD, p->pad}};
    dnnl_primitive_execute(p->prim, strm, p->pad ? 4 : 3, args);
    dnnl_stream_wait(strm);
}
static void pre_free(Pre *p) {
    dnnl_primitive_destroy(p->prim);
    dnnl_memory_destroy(p->src), dnnl_memory_destroy(p->wei), dnnl_memory_destroy(p->dst);
    if (p->pad) dnnl_memory_destroy(p->pad);
}

static void run_method(int m, Op op, int M, int N, int K, float beta, const float *A,
                       const float *B, float *C, const Backend *bf, Pre *pre) {
    char ta = op == TN ? 'T' : 'N', tb = op == NT ? 'T' : 'N';
    int lda = op == TN ? M : K, ldb = op == NT ? K : N;
    switch (m) {
    case 0:
        cblas_sgemm(CblasRowMajor, op == TN ? CblasTrans : CblasNoTrans,
                    op == NT ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C,
                    N);
        break;
    case 1: dnnl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, N); break;
    case 2:
        (op == NN ? bf->gemm_nn : op == NT ? bf->gemm_nt : bf->gemm_tn)(M, N, K, 1.0f, A, B, beta,
                                                                        C);
        break;
    case 3: pre_run(pre); break;
    }
}

int main(int argc, char **argv) {
    int threads = 2, rounds = 7;
    const char *max_isa = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-isa") && i + 1 < argc) max_isa = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--threads N] [--rounds R] [--max-isa avx512_core|avx2]\n",
                    argv[0]);
            return 2;
        }
    }
    if (max_isa) {
        dnnl_cpu_isa_t isa = !strcmp(max_isa, "avx2") ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_avx512_core;
        dnnl_status_t st = dnnl_set_max_cpu_isa(isa);
        printf("dnnl_set_max_cpu_isa(%s): status %d\n", max_isa, (int)st);
    }
    backend_cpu_set_threads(threads);
    char why[512];
    const Backend *bf = backend_cpu_bf16(why, sizeof why);
    printf("oneDNN effective ISA: %s (0x%x); bf16 backend: %s\n", backend_cpu_bf16_isa(),
           (unsigned)dnnl_get_effective_cpu_isa(), bf ? "available" : why);
    if (!bf) return 1;
    dnnl_engine_create(&eng, dnnl_cpu, 0);
    dnnl_stream_create(&strm, eng, dnnl_stream_default_flags);
    printf("OpenBLAS %s, core %s; %d threads; median of %d interleaved rounds\n\n",
           backend_cpu_blas_config(), backend_cpu_blas_core(), threads, rounds);
    printf("| M | layer I-O | GEMM | M×N×K | OpenBLAS sgemm µs (GFLOP/s) | dnnl_sgemm | bf16 incl. "
           "conversion | bf16 pre-converted |\n|---|---|---|---|---|---|---|---|\n");
    int layers[][2] = {{784, 400}, {400, 256}, {784, 200}, {256, 10}, {200, 10}};
    int batches[] = {100, 1000};
    double tot[4] = {0};
    for (size_t bi = 0; bi < 2; bi++)
        for (size_t li = 0; li < sizeof layers / sizeof *layers; li++)
            for (int o = 0; o < 3; o++) {
                int Bt = batches[bi], I = layers[li][0], O = layers[li][1];
                Op op = o == 0 ? NT : o == 1 ? NN : TN;
                int M = op == NT ? Bt : op == NN ? Bt : O;
                int N = op == NT ? O : op == NN ? I : I;
                int K = op == NT ? I : op == NN ? O : Bt;
                float beta = op == TN ? 1.0f : 0.0f;
                size_t an = (size_t)M * K, bn = (size_t)K * N, cn = (size_t)M * N;
                float *A = malloc(an * 4), *B = malloc(bn * 4), *C = calloc(cn, 4);
                uint16_t *Ah = malloc(an * 2), *Bh = malloc(bn * 2);
                for (size_t i = 0; i < an; i++) A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
                for (size_t i = 0; i < bn; i++) B[i] = (float)((i * 104729) % 1000) / 5000.0f;
                backend_bf16_round(Ah, A, an);
                backend_bf16_round(Bh, B, bn);
                Pre pre;
                if (pre_make(&pre, op, M, N, K, beta, Ah, Bh, C)) return 1;
                double flop = 2.0 * M * N * K;
                int reps = (int)(2e8 / flop) + 1;
                double *t[4];
                for (int m = 0; m < 4; m++) t[m] = malloc((size_t)rounds * sizeof(double));
                for (int m = 0; m < 4; m++) /* warm-up */
                    for (int r = 0; r < 3; r++) run_method(m, op, M, N, K, beta, A, B, C, bf, &pre);
                for (int r = 0; r < rounds; r++)
                    for (int m = 0; m < 4; m++) {
                        double t0 = now();
                        for (int k = 0; k < reps; k++)
                            run_method(m, op, M, N, K, beta, A, B, C, bf, &pre);
                        t[m][r] = (now() - t0) / reps;
                    }
                printf("| %d | %d-%d | %s | %d×%d×%d |", Bt, I, O, op_label[op], M, N, K);
                for (int m = 0; m < 4; m++) {
                    qsort(t[m], (size_t)rounds, sizeof(double), cmp_d);
                    double med = t[m][rounds / 2];
                    if (bi == 1) tot[m] += med;
                    printf(" %.1f (%.0f)%s |", med * 1e6, flop / med * 1e-9,
                           m == 0 ? "" : "");
                    free(t[m]);
                }
                printf("\n");
                pre_free(&pre);
                free(A), free(B), free(C), free(Ah), free(Bh);
            }
    printf("\nsum over M=1000 rows (µs): OpenBLAS %.0f, dnnl_sgemm %.0f (%.2fx), bf16 %.0f "
           "(%.2fx), bf16 pre-converted %.0f (%.2fx)\n",
           tot[0] * 1e6, tot[1] * 1e6, tot[0] / tot[1], tot[2] * 1e6, tot[0] / tot[2],
           tot[3] * 1e6, tot[0] / tot[3]);
    return 0;
}
