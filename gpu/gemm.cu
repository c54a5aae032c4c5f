/* gpu/gemm.cu — the three row-major GEMMs on cuBLAS, and the cuBLAS handle they share.
 *
 * cuBLAS is column-major. A row-major (R,C) matrix with leading dimension C is, read column-
 * major, its transpose (C,R) with the same leading dimension. So the row-major product
 * C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: swap the operands and
 * the M/N sizes, and keep each operand's own transpose flag.
 *
 * Precision: CUBLAS_DEFAULT_MATH, set explicitly. In cuBLAS >= 11 it means true FP32 products
 * with FP32 accumulation for cublasSgemm: no TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH) and no
 * BF16x9 emulation (CUBLAS_FP32_EMULATED_BF16X9_MATH) unless asked for, which we never do. We do
 * not use CUBLAS_PEDANTIC_MATH: for SGEMM it would guarantee nothing more and may select slower
 * reference kernels. The GPU tests compare these GEMMs against the CPU's at 1e-4 relative, which
 * TF32 (10-bit mantissa) would fail.
 * Determinism: cuBLAS gives bit-identical results run to run on the same GPU model and toolkit
 * with one stream per handle (cuBLAS docs, "Results reproducibility"); we use one handle on the
 * default stream.
 * tag-backend-ops: twin of gemm_* in engine/cpu_backend.c (cblas_sgemm, CblasRowMajor).
 */
#include "common.cuh"
#include "ops.h"

static cublasHandle_t handle;
static bool handle_ready;

bool gpu_gemm_init(char *why, size_t n) {
    if (handle_ready) return true;
    cublasStatus_t st = cublasCreate(&handle);
    if (st != CUBLAS_STATUS_SUCCESS) {
        if (why && n) snprintf(why, n, "cublasCreate failed: %s", cublasGetStatusName(st));
        return false;
    }
    st = cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH);
    if (st != CUBLAS_STATUS_SUCCESS) {
        if (why && n) snprintf(why, n, "cublasSetMathMode failed: %s", cublasGetStatusName(st));
        CUBLAS_CHECK(cublasDestroy(handle));
        return false;
    }
    handle_ready = true;
    return true;
}

/* The handle, asserting that gpu_gemm_init succeeded (a programmer error otherwise). */
static cublasHandle_t ready_handle(void) {
    if (!handle_ready) {
        fprintf(stderr, "%s:%d: internal error: cuBLAS used before gpu_gemm_init\n", __FILE__,
                __LINE__);
        abort();
    }
    return handle;
}

/* A leading dimension cuBLAS accepts even for an empty operand (it requires >= 1). */
static int ld(int x) { return x > 1 ? x : 1; }

/* C (M,N) = alpha A (M,K) B (K,N) + beta C; column-major: C^T (N,M) = B^T (N,K) A^T (K,M). */
void gpu_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C) {
    if (M <= 0 || N <= 0) return;
    CUBLAS_CHECK(cublasSgemm(ready_handle(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &alpha, B,
                             ld(N), A, ld(K), &beta, C, ld(N)));
}

/* C (M,N) = alpha A (M,K) B^T + beta C, B stored (N,K), i.e. column-major (K,N) with ld K;
 * column-major: C^T = op_T(B) A^T. */
void gpu_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C) {
    if (M <= 0 || N <= 0) return;
    CUBLAS_CHECK(cublasSgemm(ready_handle(), CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &alpha, B,
                             ld(K), A, ld(K), &beta, C, ld(N)));
}

/* C (M,N) = alpha A^T B (K,N) + beta C, A stored (K,M), i.e. column-major (M,K) with ld M;
 * column-major: C^T = B^T op_T(A). */
void gpu_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C) {
    if (M <= 0 || N <= 0) return;
    CUBLAS_CHECK(cublasSgemm(ready_handle(), CUBLAS_OP_N, CUBLAS_OP_T, N, M, K, &alpha, B,
                             ld(N), A, ld(M), &beta, C, ld(N)));
}
