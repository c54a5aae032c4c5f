/* tests/test_bf16.c — precision bf16 (engine/cpu_bf16.c).
 *
 *  - backend_bf16_round against an independent rounding (the two bf16 neighbours of a float
 *    compared in double, ties to the even one) on a prime-stride sweep of every binade, plus
 *    the named cases: ties both ways, NaN, infinities, the largest float (rounds to inf, as
 *    PyTorch's does), denormals, signed zero.
 *  - The three gemm ops of backend_cpu_bf16 on the AE's shapes against a reference computed
 *    here: inputs rounded to bf16, products and sums in double. Each element must lie within
 *    (K + 2) * 2^-24 * sum_k |a_ik b_kj| + 2^-24 |c| of it (FP32 accumulation of exact bf16
 *    products: K roundings of partial sums, one of alpha, one of the beta sum). And the result
 *    must differ from the unrounded (FP32-input) product by more than that bound somewhere, so
 *    the inputs were really rounded. Same call twice: identical bits.
 *  - Without oneDNN: the refusal's exact text.
 */
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "testutil.h"
#ifdef AE_WITH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float bf_to_f(uint16_t h) { return from_bits((uint32_t)h << 16); }

/* the reference rounding of a finite float: the nearer of its two bf16 neighbours (by value,
 * in double), the even one on a tie; beyond the largest bf16 to inf as IEEE does */
static uint16_t ref_round(float f) {
    uint32_t u = to_bits(f);
    uint16_t lo = (uint16_t)(u >> 16); /* toward zero */
    if ((u & 0xffffu) == 0) return lo;
    uint16_t hi = (uint16_t)(lo + 1); /* away from zero (0x7f7f + 1 = inf) */
    double dl = fabs((double)f - (double)bf_to_f(lo));
    double dh = fabs((double)bf_to_f(hi) - (double)f);
    if ((lo & 0x7fffu) == 0x7f7fu) { /* hi is inf: compare with 2^128 */
        dh = fabs(ldexp(1.0, 128) - fabs((double)f));
    }
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1u) ? hi : lo;
}

static void test_round(void) {
    uint16_t h;
    struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000u, 0x3f80}, /* 1 */
        {0x3f808000u, 0x3f80}, /* tie, even below */
        {0x3f818000u, 0x3f82}, /* tie, even above */
        {0x3f807fffu, 0x3f80}, {0x3f808001u, 0x3f81},
        {0xbf808001u, 0xbf81}, /* sign kept */
        {0x7f7fffffu, 0x7f80}, /* largest float -> inf */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80}, /* +-inf */
        {0x00000000u, 0x0000}, {0x80000000u, 0x8000}, /* +-0 */
        {0x00008000u, 0x0000}, /* denormal tie to even 0 */
        {0x00018000u, 0x0002}, /* denormal tie up to even */
        {0x007fffffu, 0x0080}, /* largest denormal -> smallest normal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float f = from_bits(cases[i].in);
        backend_bf16_round(&h, &f, 1);
        if (h != cases[i].out)
            fprintf(stderr, "round(0x%08x) = 0x%04x, expected 0x%04x\n", cases[i].in, h,
                    cases[i].out);
        CHECK(h == cases[i].out);
    }
    float nans[3] = {from_bits(0x7fc00000u), from_bits(0x7f800001u), from_bits(0xffffffffu)};
    uint16_t hn[3];
    backend_bf16_round(hn, nans, 3);
    for (int i = 0; i < 3; i++) CHECK((hn[i] & 0x7f80u) == 0x7f80u && (hn[i] & 0x7fu) != 0);
    CHECK((hn[2] & 0x8000u) != 0);

    /* the named cases again through the 16-wide path (each repeated to 21 floats: one vector
     * and a tail of 5) */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float v[21];
        uint16_t hv[21];
        for (int k = 0; k < 21; k++) v[k] = from_bits(cases[i].in);
        backend_bf16_round(hv, v, 21);
        int wrong = 0;
        for (int k = 0; k < 21; k++) wrong += hv[k] != cases[i].out;
        CHECK(wrong == 0);
    }
    float vn[32];
    uint16_t hvn[32];
    for (int k = 0; k < 32; k++) vn[k] = nans[k % 3];
    backend_bf16_round(hvn, vn, 32);
    for (int k = 0; k < 32; k++) CHECK(hvn[k] == hn[k % 3]);

    /* the sweep, in one call of a million floats (the parallel path) */
    enum { NS = 1 << 20 };
    float *f = malloc(NS * sizeof *f);
    uint16_t *out = malloc(NS * sizeof *out);
    uint32_t u = 1;
    for (int i = 0; i < NS; i++) {
        do u += 4093u; while ((u & 0x7f800000u) == 0x7f800000u); /* finite only */
        f[i] = from_bits(u);
    }
    backend_bf16_round(out, f, NS);
    int bad = 0;
    for (int i = 0; i < NS; i++)
        if (out[i] != ref_round(f[i]) && bad++ < 5)
            fprintf(stderr, "round(0x%08x) = 0x%04x, reference 0x%04x\n", to_bits(f[i]), out[i],
                    ref_round(f[i]));
    CHECK(bad == 0);
    free(f);
    free(out);
}

static uint64_t rs = 0x9e3779b97f4a7c15u;
static float urand(void) { /* in [-1, 1) */
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (float)((double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

typedef enum { NN, NT, TN } Op;
static const char *op_name[] = {"nn", "nt", "tn"};

/* A's element (i,k) and B's (k,j) for the op's storage */
static float a_at(Op op, const float *A, int M, int K, int i, int k) {
    return op == TN ? A[(size_t)k * M + i] : A[(size_t)i * K + k];
}
static float b_at(Op op, const float *B, int N, int K, int k, int j) {
    return op == NT ? B[(size_t)j * K + k] : B[(size_t)k * N + j];
}

static void test_gemm(const Backend *be, Op op, int M, int N, int K, float alpha, float beta) {
    size_t an = (size_t)M * K, bn = (size_t)K * N, cn = (size_t)M * N;
    float *A = malloc(an * sizeof *A), *B = malloc(bn * sizeof *B);
    float *C0 = malloc(cn * sizeof *C0), *C = malloc(cn * sizeof *C), *C2 = malloc(cn * sizeof *C2);
    uint16_t *Ah = malloc(an * sizeof *Ah), *Bh = malloc(bn * sizeof *Bh);
    for (size_t i = 0; i < an; i++) A[i] = urand();
    for (size_t i = 0; i < bn; i++) B[i] = 0.1f * urand();
    for (size_t i = 0; i < cn; i++) C0[i] = urand();
    backend_bf16_round(Ah, A, an);
    backend_bf16_round(Bh, B, bn);
    float *Ar = malloc(an * sizeof *Ar), *Br = malloc(bn * sizeof *Br);
    for (size_t i = 0; i < an; i++) Ar[i] = bf_to_f(Ah[i]);
    for (size_t i = 0; i < bn; i++) Br[i] = bf_to_f(Bh[i]);
    memcpy(C, C0, cn * sizeof *C);
    memcpy(C2, C0, cn * sizeof *C2);
    void (*g)(int, int, int, float, const float *, const float *, float, float *) =
        op == NN ? be->gemm_nn : op == NT ? be->gemm_nt : be->gemm_tn;
    g(M, N, K, alpha, A, B, beta, C);
    g(M, N, K, alpha, A, B, beta, C2);
    int bad = 0, rounded = 0;
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, sabs = 0, s32 = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)a_at(op, Ar, M, K, i, k) * (double)b_at(op, Br, N, K, k, j);
                s += p;
                sabs += fabs(p);
                s32 += (double)a_at(op, A, M, K, i, k) * (double)b_at(op, B, N, K, k, j);
            }
            double c0 = beta == 0.0f ? 0.0 : (double)beta * C0[(size_t)i * N + j];
            double want = alpha * s + c0, want32 = alpha * s32 + c0;
            double tol = ((K + 2) * fabs(alpha) * sabs + fabs(want) + fabs(c0)) * ldexp(1.0, -24);
            double got = C[(size_t)i * N + j];
            if (fabs(got - want) > tol && bad++ < 3)
                fprintf(stderr, "%s %dx%dx%d (%d,%d): %.9g, reference %.9g, tolerance %.3g\n",
                        op_name[op], M, N, K, i, j, got, want, tol);
            if (tol > 0 && fabs(got - want) / tol > worst) worst = fabs(got - want) / tol;
            if (fabs(got - want32) > tol) rounded++;
        }
    CHECK(bad == 0);
    CHECK(rounded > 0); /* the inputs were rounded to bf16, not used as float32 */
    CHECK(memcmp(C, C2, cn * sizeof *C) == 0);
    printf("  %s M=%d N=%d K=%d alpha=%g beta=%g: worst error %.3f of the bound, %d of %zu "
           "elements beyond it from the float32 product\n",
           op_name[op], M, N, K, alpha, beta, worst, rounded, cn);
    free(A), free(B), free(C0), free(C), free(C2), free(Ah), free(Bh), free(Ar), free(Br);
}

/* argv[1] --max-isa avx512_core | avx2: oneDNN limited to that instruction set first (what a
 * CPU without AVX512_BF16 gets; tests/test_bf16.sh runs both). */
int main(int argc, char **argv) {
#ifdef AE_WITH_DNNL
    if (argc == 3 && strcmp(argv[1], "--max-isa") == 0)
        CHECK(dnnl_set_max_cpu_isa(strcmp(argv[2], "avx2") == 0 ? dnnl_cpu_isa_avx2
                                                                : dnnl_cpu_isa_avx512_core) ==
              dnnl_success);
#else
    (void)argc, (void)argv;
#endif
    test_round();
    char why[512] = "";
    const Backend *be = backend_cpu_bf16(why, sizeof why);
    if (!backend_cpu_bf16_compiled()) {
        CHECK(be == NULL);
        CHECK_STR(why, "this aelab was built without oneDNN (install libdnnl-dev: make deps, then "
                       "rebuild)");
        printf("test_bf16: no oneDNN in this build; the gemm checks are skipped\n");
        return tu_summary("test_bf16");
    }
    if (!be) {
        printf("test_bf16: no bf16 matmul: %s\n", why);
        return 77;
    }
    CHECK_STR(be->name, "cpu-bf16");
    CHECK(be->bias_act_forward == backend_cpu()->bias_act_forward);
    CHECK(be->adam_step == backend_cpu()->adam_step);
    backend_cpu_set_threads(2);
    printf("oneDNN instruction set: %s\n", backend_cpu_bf16_isa());
    /* forward (nt), dX (nn), dW (tn, beta 1) as training runs them, and odd sizes */
    int shapes[][3] = {{100, 200, 784}, {100, 784, 200}, {100, 10, 200}, {7, 5, 3}, {33, 17, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        test_gemm(be, NT, M, N, K, 1.0f, 0.0f);
        test_gemm(be, NN, M, N, K, 1.0f, 0.0f);
        test_gemm(be, TN, N, K, M, 1.0f, 1.0f);
    }
    test_gemm(be, NN, 20, 30, 40, 0.5f, 0.25f);
    test_gemm(be, TN, 20, 30, 40, -2.0f, 1.0f);
    CHECK(backend_cpu_bf16_failure() == NULL);
    /* K = 0: C = beta C, as cblas_sgemm leaves it */
    float c[2] = {3.0f, -1.0f};
    be->gemm_nn(1, 2, 0, 1.0f, c, c, 0.5f, c);
    CHECK(c[0] == 1.5f && c[1] == -0.5f);
    return tu_summary("test_bf16");
}
