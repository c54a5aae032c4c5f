/* engine/backend.h — the table of operations the model code runs on (CPU: engine/cpu_backend.c,
 * CUDA: gpu/, loaded by runner/cudaload.c). The backend is chosen once at start-up; the model
 * code above it is written once.
 *
 * Conventions
 *  - float32, row-major, one row per example. Shapes: B = rows (examples in the batch),
 *    I = inputs of a layer, O = outputs of a layer, D = features of a data row, C = classes.
 *  - Every pointer an op takes is backend memory: a device pointer on the GPU backend. Host code
 *    never dereferences it; data crosses only through upload/download. (Not an opaque handle,
 *    on purpose: raw pointers keep the model code short; the rule is kept by discipline and
 *    by the GPU tests, which would fault on a host dereference.)
 *  - Ops are asynchronous on the GPU; download and dot synchronise.
 *  - Gradient ops accumulate (+=) into dW/db/dH; the caller zeroes them once per step.
 *    Ops that "write" overwrite.
 *  - Scalar results (loss and penalty values) are written to a 1-float slot in backend memory,
 *    so the batch loop never waits for the device; the caller downloads them once per epoch.
 *
 * tag-backend-ops: each op here has a CPU twin in engine/cpu_backend.c, a plain-loop reference
 * in engine/ref_ops.c used by tests, and a CUDA twin in gpu/.
 */
#ifndef AE_BACKEND_H
#define AE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ACT_IDENTITY = 0, ACT_TANH, ACT_SIGMOID, ACT_RELU, ACT_LOGSOFTMAX, ACT_COUNT } Act;

/* mse: mean over all B*O elements of (y-t)^2 (PyTorch MSELoss).
 * half_sse: (1/B) * sum over rows of 0.5*||y-t||^2 (UFLDL).
 * nll: mean over rows of -y[label] where y holds log-probabilities (PyTorch NLLLoss).
 * cross_entropy: mean over rows of -log softmax(y)[label], y raw scores (CrossEntropyLoss).
 * bce: mean over all elements of -(t log y + (1-t) log(1-y)), logs clamped at -100 (BCELoss). */
typedef enum {
    LOSS_MSE = 0, LOSS_HALF_SSE, LOSS_NLL, LOSS_CROSS_ENTROPY, LOSS_BCE, LOSS_COUNT
} LossKind;

typedef enum { NOISE_NONE = 0, NOISE_GAUSSIAN, NOISE_MASKING, NOISE_SALT_PEPPER, NOISE_COUNT } NoiseKind;

/* Input corruption. gaussian: x + mean + std*N(0,1), clamped to [lo, hi] when clamp is set.
 * masking: each element zeroed with probability `fraction`.
 * salt_pepper: each element, with probability `fraction`, set to lo or hi (half each). */
typedef struct NoiseSpec {
    NoiseKind kind;
    float mean, std;
    bool clamp;
    float lo, hi;
    float fraction;
} NoiseSpec;

/* The version of this table's layout and meaning. Raise it whenever a member is added, removed,
 * reordered or changes what it does: runner/cudaload.c refuses a libaelab-cuda.so built from
 * another engine/backend.h (its abi or size differs) instead of calling through a wrong table. */
#define AE_BACKEND_ABI 3 /* 2: gather_rows; 3: memory_info */

typedef struct Backend {
    /* First, and never moved, so that any version of the table can read them: AE_BACKEND_ABI
     * and sizeof(Backend) of the backend.h the table was built from. */
    int abi;
    size_t size;
    const char *name; /* "cpu" or "cuda" */

    /* ---- memory ---- */
    void *(*alloc)(size_t nbytes);                 /* zero-filled; NULL when out of memory */
    void (*free)(void *p);                         /* NULL-safe */
    void (*upload)(void *dst, const void *src_host, size_t nbytes);
    void (*download)(void *dst_host, const void *src, size_t nbytes); /* synchronises */
    void (*copy)(void *dst, const void *src, size_t nbytes);
    void (*fill)(float *x, float v, size_t n);

    /* ---- dense algebra (row-major; the suffix says which operand is transposed) ---- */
    /* C (M,N) = alpha * A (M,K) . B (K,N) + beta * C */
    void (*gemm_nn)(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                    float *C);
    /* C (M,N) = alpha * A (M,K) . B^T + beta * C, B stored (N,K) */
    void (*gemm_nt)(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                    float *C);
    /* C (M,N) = alpha * A^T . B (K,N) + beta * C, A stored (K,M) */
    void (*gemm_tn)(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                    float *C);

    /* ---- layers ---- */
    /* Y (B,O) = act(Y + b): bias b (O) broadcast over rows, then the activation, in place.
     * logsoftmax is row-wise and stable (max subtracted). */
    void (*bias_act_forward)(float *Y, const float *b, Act act, int B, int O);
    /* dZ (B,O) = dY * act'(.) written from the activation's output Y (tanh: 1-y^2,
     * sigmoid: y(1-y), relu: y>0, identity: 1; logsoftmax: dY - exp(Y) * rowsum(dY)).
     * dZ may alias dY. When db (O) is not NULL, also db += column sums of dZ, exactly as
     * colsum_acc(db, dZ, B, O) would (the CPU does both in one pass over dZ). */
    void (*act_backward)(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                         float *db);
    /* db (O) += column sums of dZ (B,O) */
    void (*colsum_acc)(float *db, const float *dZ, int B, int O);

    /* ---- losses ---- */
    /* *out = loss (see LossKind), dY (B,O) = d loss / d Y (overwritten; NULL to skip).
     * T (B,O) targets for mse/half_sse/bce; labels (B) for nll/cross_entropy (T unused).
     * act: the activation that produced Y; dY then holds the gradient with respect to its
     * input, as act_backward(dY, dY, Y, act, B, O, NULL) after the plain loss would leave it,
     * bit for bit (ACT_IDENTITY: d loss / d Y itself). The CPU fuses the two passes.
     * db (O), when not NULL and dY is: db += column sums of dY as written, bit for bit as
     * colsum_acc(db, dY, B, O) would add them (the CPU does it in the same pass). */
    void (*loss)(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
                 LossKind kind, Act act, int B, int O, float *db);

    /* ---- penalties on activations H and weights W ---- */
    /* L1: *out = w * sum|H| / denom; dH += w * sign(H) / denom (sign(0) = 0).
     * Lecture 19/20 semantics: denom = 1 (not divided by the batch); normalised: denom = B. */
    void (*l1_penalty)(float *out, float *dH, const float *H, float w, float denom, size_t n);
    /* KL sparsity (UFLDL): rhohat (O) = column means of H (B,O), clamped to [1e-6, 1-1e-6];
     * *out = beta * sum_j [rho log(rho/rhohat_j) + (1-rho) log((1-rho)/(1-rhohat_j))];
     * dH += (beta / B) * (-rho/rhohat_j + (1-rho)/(1-rhohat_j)) for every row.
     * rhohat is backend scratch of O floats, left holding the column means. */
    void (*kl_penalty)(float *out, float *dH, float *rhohat, const float *H, float rho,
                       float beta, int B, int O);
    /* L2 weight decay: *out = 0.5 * lambda * sum W^2; dW += lambda * W. */
    void (*weight_decay)(float *out, float *dW, const float *W, float lambda, size_t n);

    /* ---- data ---- */
    /* X (B,D) = images[idx[r]] * scale for each row r; y (B) = labels[idx[r]] (y may be NULL,
     * labels may be NULL). images: uint8 (N,D); labels: uint8 (N); idx: int32 (B). */
    void (*gather)(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                   const int32_t *idx, int B, int D, float scale);
    /* X (B,D) = rows[idx[r]] for each row r (float rows (N,D), e.g. codes computed once);
     * y (B) = labels[idx[r]] (y may be NULL, labels may be NULL). */
    void (*gather_rows)(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                        const int32_t *idx, int B, int D);
    /* Xn (n) = corrupt(X) (NoiseSpec); element i uses the random numbers of
     * (key, counter + i) from engine/rng.h, so both backends draw the same values. */
    void (*noise)(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key,
                  uint64_t counter, size_t n);

    /* ---- optimizer steps (PyTorch semantics) ---- */
    /* SGD: if momentum != 0: v = momentum*v + g; g' = nesterov ? g + momentum*v : v;
     * else g' = g.  p -= lr * g'. */
    void (*sgd_step)(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                     bool nesterov);
    /* Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps), t >= 1. */
    void (*adam_step)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                      float b2, float eps, int t);

    /* ---- vector ops (L-BFGS) ---- */
    double (*dot)(const float *x, const float *y, size_t n); /* synchronises */
    void (*axpy)(float *y, float a, const float *x, size_t n);   /* y += a x */
    void (*scal)(float *x, float a, size_t n);                   /* x *= a */

    /* ---- metrics ---- */
    /* conf (C,C) int32, [true][predicted], += counts of (labels[r], argmax Y[r]) over B rows.
     * Ties go to the lowest index. */
    void (*confusion_acc)(int32_t *conf, const float *Y, const int32_t *labels, int B, int C);

    /* ---- the device ---- */
    /* *free_bytes, *total_bytes = the backend memory free now and in all (CUDA: cudaMemGetInfo
     * of the current device) and true; false when the question does not apply (CPU and
     * reference: their memory is the host's, which runner/machine.c reads) or cannot be
     * answered. Synchronises nothing; allocates nothing. */
    bool (*memory_info)(uint64_t *free_bytes, uint64_t *total_bytes);
} Backend;

/* The CPU backend (OpenBLAS). Never NULL. */
const Backend *backend_cpu(void);

/* The type of the CUDA backend's entry point, gpu_backend_create (gpu/gpu.h), which
 * runner/cudaload.c finds by name in bin/libaelab-cuda.so: the table (static; never freed), or
 * NULL with a reason in why (if not NULL, size n) when no usable device is there. */
typedef const Backend *GpuBackendCreate(char *why, size_t n);

/* precision bf16 (engine/cpu_bf16.c): the CPU backend whose three gemm ops round A and B to
 * bfloat16 (nearest, ties to even) and accumulate in float32 (oneDNN's matmul); everything else
 * is backend_cpu()'s. Its name is "cpu-bf16". NULL with the reason in why (size n) when this
 * binary has no oneDNN or oneDNN cannot run bf16 matmul on this CPU. */
const Backend *backend_cpu_bf16(char *why, size_t n);
bool backend_cpu_bf16_compiled(void);
/* The first GEMM that failed after start-up (it left C = beta C), or NULL: the runner fails
 * the run with it. */
const char *backend_cpu_bf16_failure(void);
/* oneDNN's instruction set on this CPU, in words (static text). */
const char *backend_cpu_bf16_isa(void);
/* dst[i] = src[i] rounded to bfloat16 (nearest, ties to even; NaN stays NaN), as bits. */
void backend_bf16_round(uint16_t *dst, const float *src, size_t n);

/* Whether this binary was built with the CUDA backend. */
bool backend_cuda_compiled(void);

/* The BLAS in use: configuration and the kernel core it selected (OpenBLAS), static text. */
const char *backend_cpu_blas_config(void);
const char *backend_cpu_blas_core(void);

/* Sets the CPU thread count (OpenBLAS and the element-wise passes); n <= 0 means all cores.
 * Returns the count in effect. */
int backend_cpu_set_threads(int n);

#endif
