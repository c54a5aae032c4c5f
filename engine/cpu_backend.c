/* engine/cpu_backend.c — the CPU backend: GEMMs through OpenBLAS, everything else as fused
 * element-wise passes over host memory, parallel with OpenMP.
 *
 * Determinism: element-wise passes write disjoint elements, so they are exact whatever the thread
 * count. Reductions (losses, penalties, dot, column sums) are split into a fixed number of chunks
 * (AE_NCHUNKS, independent of the thread count), each summed in double in order, then the chunk
 * sums are added in order: the result depends on neither the thread count nor the scheduling.
 * OpenBLAS's sgemm may depend on the thread count; bit-identity is promised only for the same
 * backend and thread count (docs/architecture.md, "Determinism").
 *
 * tag-backend-ops: the semantics of every op are in engine/backend.h; the plain-loop references
 * are in engine/ref_ops.c and the CUDA twins in gpu/.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend.h"
#include "common.h"
#include "rng.h"
#include "vecmath.h"

/* Work below this many elements runs on one thread: forking costs more than it saves. */
#define PAR_MIN 32768
#define AE_NCHUNKS 64

/* Sums `body` (an expression of i) for i in [lo, hi) in double into `result`, with eight
 * running sums (i mod 8 within each group of eight, the tail into the first) added pairwise at
 * the end: one running sum would wait on the adder's latency at every element. The order is
 * fixed by the code, so the result is the same on every run. */
#define SUM8(result, lo, hi, body)                                                         \
    do {                                                                                   \
        double s8_[8] = {0};                                                               \
        size_t s8_lo = (lo), s8_hi = (hi), s8_i = s8_lo;                                   \
        for (; s8_i + 8 <= s8_hi; s8_i += 8)                                               \
            for (int s8_k = 0; s8_k < 8; s8_k++) {                                         \
                size_t i = s8_i + (size_t)s8_k;                                            \
                s8_[s8_k] += (body);                                                       \
            }                                                                              \
        for (size_t i = s8_i; i < s8_hi; i++) s8_[0] += (body);                            \
        (result) = ((s8_[0] + s8_[1]) + (s8_[2] + s8_[3])) +                               \
                   ((s8_[4] + s8_[5]) + (s8_[6] + s8_[7]));                                \
    } while (0)

/* Sums f(i) for i in [0, n) in double, deterministically (see the top of the file). `body`
 * is an expression of i giving the term. */
#define CHUNKED_SUM(result, n, body)                                                       \
    do {                                                                                   \
        double cs_part[AE_NCHUNKS];                                                        \
        size_t cs_n = (n);                                                                 \
        _Pragma("omp parallel for schedule(static) if (cs_n > PAR_MIN)")                  \
        for (int cs_c = 0; cs_c < AE_NCHUNKS; cs_c++) {                                    \
            size_t cs_lo = cs_n * (size_t)cs_c / AE_NCHUNKS;                               \
            size_t cs_hi = cs_n * (size_t)(cs_c + 1) / AE_NCHUNKS;                         \
            SUM8(cs_part[cs_c], cs_lo, cs_hi, body);                                       \
        }                                                                                  \
        double cs_total = 0.0;                                                             \
        for (int cs_c = 0; cs_c < AE_NCHUNKS; cs_c++) cs_total += cs_part[cs_c];           \
        (result) = cs_total;                                                               \
    } while (0)

/* ---- memory ---- */

static void *cpu_alloc(size_t nbytes) { return calloc(1, nbytes ? nbytes : 1); }
static void cpu_free(void *p) { free(p); }
static void cpu_memcpy(void *dst, const void *src, size_t nbytes) {
    if (nbytes) memcpy(dst, src, nbytes);
}
static void cpu_fill(float *x, float v, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] = v;
}

/* ---- GEMM ---- */

static void cpu_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, K, B, N, beta, C, N);
}
static void cpu_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, alpha, A, K, B, K, beta, C, N);
}
static void cpu_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, alpha, A, M, B, N, beta, C, N);
}

/* ---- layers ---- */

/* log-softmax of one row in place: y - max - log(sum(exp(y - max))) */
static void logsoftmax_row(float *y, int O) {
    float mx = y[0];
    for (int j = 1; j < O; j++) mx = y[j] > mx ? y[j] : mx;
    double s = 0.0;
    for (int j = 0; j < O; j++) s += exp((double)(y[j] - mx));
    float lse = mx + (float)log(s);
    for (int j = 0; j < O; j++) y[j] -= lse;
}

/* One row of y = act(y + b) for the activations that cost: SIMD through engine/vecmath.h, one
 * clone per vector width (the ifunc resolver picks once; a call covers a whole row). */
#define ROW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
ROW_CLONES static void tanh_row(float *restrict y, const float *restrict b, int O) {
#pragma omp simd
    for (int j = 0; j < O; j++) y[j] = ae_tanhf(y[j] + b[j]);
}
ROW_CLONES static void sigmoid_row(float *restrict y, const float *restrict b, int O) {
#pragma omp simd
    for (int j = 0; j < O; j++) y[j] = ae_sigmoidf(y[j] + b[j]);
}

static void cpu_bias_act_forward(float *Y, const float *b, Act act, int B, int O) {
    size_t n = (size_t)B * O;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int r = 0; r < B; r++) {
        float *y = Y + (size_t)r * O;
        switch (act) {
        case ACT_IDENTITY:
        case ACT_LOGSOFTMAX:
            for (int j = 0; j < O; j++) y[j] += b[j];
            if (act == ACT_LOGSOFTMAX) logsoftmax_row(y, O);
            break;
        case ACT_TANH:
            tanh_row(y, b, O);
            break;
        case ACT_SIGMOID:
            sigmoid_row(y, b, O);
            break;
        case ACT_RELU:
            for (int j = 0; j < O; j++) {
                float z = y[j] + b[j];
                y[j] = z > 0.0f ? z : 0.0f;
            }
            break;
        default: AE_ASSERT(!"unknown activation");
        }
    }
}

/* act'(.) times g, from the activation's output y, for the element-wise activations: the
 * one expression every gradient pass below uses, so that fused and separate passes round
 * alike. */
static inline float act_grad(Act act, float g, float y) {
    switch (act) {
    case ACT_TANH: return g * (1.0f - y * y);
    case ACT_SIGMOID: return g * y * (1.0f - y);
    case ACT_RELU: return y > 0.0f ? g : 0.0f;
    default: return g; /* identity */
    }
}

/* dZ = act'(.) dY over rows, no column sums. */
static void act_backward_rows(float *dZ, const float *dY, const float *Y, Act act, int B, int O) {
    size_t n = (size_t)B * O;
    switch (act) {
    case ACT_IDENTITY:
        if (dZ != dY) memcpy(dZ, dY, n * sizeof *dZ);
        break;
    case ACT_LOGSOFTMAX:
        /* dz_j = dy_j - softmax_j * sum_k dy_k, softmax = exp(y) */
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int r = 0; r < B; r++) {
            const float *dy = dY + (size_t)r * O, *y = Y + (size_t)r * O;
            float *dz = dZ + (size_t)r * O;
            double s = 0.0;
            for (int j = 0; j < O; j++) s += dy[j];
            for (int j = 0; j < O; j++) dz[j] = dy[j] - expf(y[j]) * (float)s;
        }
        break;
    default: /* the element-wise ones; the switch hoisted out of the loops */
#define ACT_LOOP(A)                                                                        \
    _Pragma("omp parallel for simd schedule(static) if (n > PAR_MIN)")                     \
    for (size_t i = 0; i < n; i++) dZ[i] = act_grad(A, dY[i], Y[i]);
        if (act == ACT_TANH) { ACT_LOOP(ACT_TANH) }
        else if (act == ACT_SIGMOID) { ACT_LOOP(ACT_SIGMOID) }
        else if (act == ACT_RELU) { ACT_LOOP(ACT_RELU) }
        else AE_ASSERT(!"unknown activation");
#undef ACT_LOOP
    }
}

/* Column sums (db += sums over rows of dZ), deterministic and streaming: the rows are cut into
 * at most ROW_CHUNKS fixed ranges (a function of B alone, not of the thread count); each range
 * is summed front to back, in row order, into its own doubles; then the ranges' sums are added
 * in range order. Walking narrow column blocks down the rows instead read memory at a stride
 * and ran at a fifth of the bandwidth (bench: 11.5 GB/s against a 55 GB/s triad), so columns
 * are cut only into tiles of COLSUM_TILE: every layer up to that wide is one tile, and a wider
 * one still reads runs of 4 KiB per row. Each column's sum is the same whatever the tiling. */
#define ROW_CHUNKS 16
#define COLSUM_TILE 1024

/* The range sums of one tile: (ROW_CHUNKS, COLSUM_TILE) doubles, static so that no op
 * allocates (an op has no way to report a failure). Used outside parallel regions only, one
 * op at a time, like every op of this backend. */
static double colsum_part[ROW_CHUNKS * COLSUM_TILE];

/* acc (w) = column sums of rows [r0, r1) of dZ (row stride ld, w columns), where
 * dZ = act'(.) dY is written first when dY is not NULL (act element-wise or identity) and read
 * as it is otherwise. */
static void colsum_rows(double *restrict acc, float *dZ, const float *dY, const float *Y, Act act,
                        int r0, int r1, int w, int ld) {
    for (int j = 0; j < w; j++) acc[j] = 0.0;
    for (int r = r0; r < r1; r++) {
        size_t o = (size_t)r * ld;
        float *dz = dZ + o;
        const float *dy = dY ? dY + o : NULL, *y = Y ? Y + o : NULL;
#define COLSUM_LOOP(EXPR)                                                                  \
    _Pragma("omp simd") for (int j = 0; j < w; j++) {                                      \
        float v = (EXPR);                                                                  \
        dz[j] = v;                                                                         \
        acc[j] += v;                                                                       \
    }
        if (!dy) {
#pragma omp simd
            for (int j = 0; j < w; j++) acc[j] += dz[j];
        } else if (act == ACT_TANH) COLSUM_LOOP(act_grad(ACT_TANH, dy[j], y[j]))
        else if (act == ACT_SIGMOID) COLSUM_LOOP(act_grad(ACT_SIGMOID, dy[j], y[j]))
        else if (act == ACT_RELU) COLSUM_LOOP(act_grad(ACT_RELU, dy[j], y[j]))
        else COLSUM_LOOP(dy[j])
#undef COLSUM_LOOP
    }
}

/* db (w) += the range sums in part (nch, w), added in range order. */
static void colsum_combine(float *db, double *part, int nch, int w) {
    for (int k = 1; k < nch; k++)
        for (int j = 0; j < w; j++) part[j] += part[(size_t)k * w + j];
    for (int j = 0; j < w; j++) db[j] += (float)part[j];
}

/* db += column sums of dZ, written from dY first when dY is not NULL (see colsum_rows). */
static void colsum_chunked(float *db, float *dZ, const float *dY, const float *Y, Act act, int B,
                           int O) {
    if (B <= 0 || O <= 0) return;
    int nch = B < ROW_CHUNKS ? B : ROW_CHUNKS;
    double *part = colsum_part;
    for (int j0 = 0; j0 < O; j0 += COLSUM_TILE) {
        int w = O - j0 < COLSUM_TILE ? O - j0 : COLSUM_TILE;
        size_t n = (size_t)B * w;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int k = 0; k < nch; k++)
            colsum_rows(part + (size_t)k * w, dZ + j0, dY ? dY + j0 : NULL, Y ? Y + j0 : NULL,
                        act, (int)((size_t)B * k / nch), (int)((size_t)B * (k + 1) / nch), w, O);
        colsum_combine(db + j0, part, nch, w);
    }
}

static void cpu_colsum_acc(float *db, const float *dZ, int B, int O) {
    colsum_chunked(db, (float *)dZ, NULL, NULL, ACT_IDENTITY, B, O); /* dZ only read */
}

static void cpu_act_backward(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                             float *db) {
    AE_ASSERT(act >= 0 && act < ACT_COUNT);
    if (!db || act == ACT_LOGSOFTMAX) {
        act_backward_rows(dZ, dY, Y, act, B, O);
        if (db) cpu_colsum_acc(db, dZ, B, O);
    } else {
        colsum_chunked(db, dZ, act == ACT_IDENTITY && dZ == dY ? NULL : dY, Y, act, B, O);
    }
}

/* ---- losses ---- */

static inline float clamp_log(float p) {
    /* BCELoss clamps log at -100 */
    float l = logf(p);
    return l < -100.0f ? -100.0f : l;
}

/* The squared-error losses in one pass: the sum of c*(y-t)^2 in CHUNKED_SUM's chunks and
 * order (so the value is the one CHUNKED_SUM gives), and dZ = act'(.) s (y-t) (act
 * element-wise) written as it goes. */
/* One chunk of squared_error: the gradient, then the sum over the same elements (still in
 * cache). Cloned: SUM8's eight running sums fill one AVX-512 register of doubles (same order
 * of additions in every clone). */
ROW_CLONES static double se_chunk(float *dZ, const float *Y, const float *T, double c, float s,
                                  Act act, size_t lo, size_t hi) {
#define SE_GRAD(A)                                                                         \
    _Pragma("omp simd") for (size_t i = lo; i < hi; i++)                                 \
        dZ[i] = act_grad(A, s * (Y[i] - T[i]), Y[i]);
    if (dZ) {
        if (act == ACT_TANH) { SE_GRAD(ACT_TANH) }
        else if (act == ACT_SIGMOID) { SE_GRAD(ACT_SIGMOID) }
        else if (act == ACT_RELU) { SE_GRAD(ACT_RELU) }
        else { SE_GRAD(ACT_IDENTITY) }
    }
#undef SE_GRAD
    double sum;
    SUM8(sum, lo, hi, c * (double)(Y[i] - T[i]) * (double)(Y[i] - T[i]));
    return sum;
}

static double squared_error(float *dZ, const float *Y, const float *T, double c, float s, Act act,
                            size_t n) {
    double part[AE_NCHUNKS];
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int k = 0; k < AE_NCHUNKS; k++)
        part[k] = se_chunk(dZ, Y, T, c, s, act, n * (size_t)k / AE_NCHUNKS,
                           n * (size_t)(k + 1) / AE_NCHUNKS);
    double total = 0.0;
    for (int k = 0; k < AE_NCHUNKS; k++) total += part[k];
    return total;
}

/* Rows of the value's running sum per block in squared_error_colsum: a block's Y and T are
 * still in cache when SUM8 reads them again. */
#define SE_BLOCK 32

/* Rows [r0, r1) of squared_error with the column sums: the dZ rows exactly as se_chunk writes
 * them, their column sums into acc in row order (as colsum_rows adds them), and the value,
 * SE_BLOCK rows at a time. Cloned like se_chunk. */
ROW_CLONES static double se_rows_colsum(double *restrict acc, float *dZ, const float *Y,
                                        const float *T, double c, float s, Act act, int r0, int r1,
                                        int j0, int w, int O) {
    for (int j = 0; j < w; j++) acc[j] = 0.0;
    double total = 0.0;
    for (int rb = r0; rb < r1; rb += SE_BLOCK) {
        int re = r1 - rb < SE_BLOCK ? r1 : rb + SE_BLOCK;
        for (int r = rb; r < re; r++) {
            size_t o = (size_t)r * O + (size_t)j0;
            float *dz = dZ + o;
            const float *y = Y + o, *t = T + o;
#define SE_COLSUM(A)                                                                       \
    _Pragma("omp simd") for (int j = 0; j < w; j++) {                                      \
        float v = act_grad(A, s * (y[j] - t[j]), y[j]);                                    \
        dz[j] = v;                                                                         \
        acc[j] += v;                                                                       \
    }
            if (act == ACT_TANH) { SE_COLSUM(ACT_TANH) }
            else if (act == ACT_SIGMOID) { SE_COLSUM(ACT_SIGMOID) }
            else if (act == ACT_RELU) { SE_COLSUM(ACT_RELU) }
            else { SE_COLSUM(ACT_IDENTITY) }
#undef SE_COLSUM
        }
        if (j0 > 0) continue; /* the value: once, over whole rows, with the first tile */
        double part;
        SUM8(part, (size_t)rb * O, (size_t)re * O,
             c * (double)(Y[i] - T[i]) * (double)(Y[i] - T[i]));
        total += part;
    }
    return total;
}

/* squared_error with db += the column sums of dZ, in colsum_chunked's row ranges and order (so
 * db is bit for bit what colsum_acc would add); the value is summed range by range, in order. */
static double squared_error_colsum(float *dZ, const float *Y, const float *T, double c, float s,
                                   Act act, int B, int O, float *db) {
    if (B <= 0 || O <= 0) return 0.0;
    int nch = B < ROW_CHUNKS ? B : ROW_CHUNKS;
    double *part = colsum_part, val[ROW_CHUNKS];
    for (int j0 = 0; j0 < O; j0 += COLSUM_TILE) {
        int w = O - j0 < COLSUM_TILE ? O - j0 : COLSUM_TILE;
        size_t n = (size_t)B * w;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int k = 0; k < nch; k++) {
            double v = se_rows_colsum(part + (size_t)k * w, dZ, Y, T, c, s, act,
                                      (int)((size_t)B * k / nch),
                                      (int)((size_t)B * (k + 1) / nch), j0, w, O);
            if (j0 == 0) val[k] = v;
        }
        colsum_combine(db + j0, part, nch, w);
    }
    double total = 0.0;
    for (int k = 0; k < nch; k++) total += val[k];
    return total;
}

static void cpu_loss(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
                     LossKind kind, Act act, int B, int O, float *db) {
    AE_ASSERT(act >= 0 && act < ACT_COUNT);
    size_t n = (size_t)B * O;
    double total = 0.0;
    switch (kind) {
    case LOSS_MSE:
    case LOSS_HALF_SSE: {
        /* mse:      L = (1/n) sum (y-t)^2 ;     dL/dy = 2 (y-t) / n
         * half_sse: L = (1/B) sum 0.5 (y-t)^2 ; dL/dy = (y-t) / B */
        if (act == ACT_LOGSOFTMAX) break; /* row-wise: the general path below */
        bool mse = kind == LOSS_MSE;
        double c = mse ? 1.0 : 0.5, div = mse ? (double)n : (double)B;
        float s = mse ? 2.0f / (float)n : 1.0f / (float)B;
        total = db && dY ? squared_error_colsum(dY, Y, T, c, s, act, B, O, db)
                         : squared_error(dY, Y, T, c, s, act, n);
        *out = (float)(total / div);
        return;
    }
    default: break;
    }
    switch (kind) {
    case LOSS_MSE:
        CHUNKED_SUM(total, n, (double)(Y[i] - T[i]) * (double)(Y[i] - T[i]));
        total /= (double)n;
        if (dY) {
            float s = 2.0f / (float)n;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
            for (size_t i = 0; i < n; i++) dY[i] = s * (Y[i] - T[i]);
        }
        break;
    case LOSS_HALF_SSE:
        CHUNKED_SUM(total, n, 0.5 * (double)(Y[i] - T[i]) * (double)(Y[i] - T[i]));
        total /= (double)B;
        if (dY) {
            float s = 1.0f / (float)B;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
            for (size_t i = 0; i < n; i++) dY[i] = s * (Y[i] - T[i]);
        }
        break;
    case LOSS_NLL: {
        /* L = -(1/B) sum_r y[r, label_r] ; dL/dy = -onehot / B */
        CHUNKED_SUM(total, (size_t)B, -(double)Y[i * O + labels[i]]);
        total /= (double)B;
        if (dY) {
            memset(dY, 0, n * sizeof *dY);
            for (int r = 0; r < B; r++) dY[(size_t)r * O + labels[r]] = -1.0f / (float)B;
        }
        break;
    }
    case LOSS_CROSS_ENTROPY: {
        /* L = (1/B) sum_r (logsumexp(y_r) - y[r, label_r]) ; dL/dy = (softmax - onehot) / B */
        double part[AE_NCHUNKS];
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int c = 0; c < AE_NCHUNKS; c++) {
            int lo = (int)((size_t)B * c / AE_NCHUNKS), hi = (int)((size_t)B * (c + 1) / AE_NCHUNKS);
            double s = 0.0;
            for (int r = lo; r < hi; r++) {
                const float *y = Y + (size_t)r * O;
                float mx = y[0];
                for (int j = 1; j < O; j++) mx = y[j] > mx ? y[j] : mx;
                double se = 0.0;
                for (int j = 0; j < O; j++) se += exp((double)(y[j] - mx));
                double lse = mx + log(se);
                s += lse - y[labels[r]];
                if (dY) {
                    float *d = dY + (size_t)r * O;
                    for (int j = 0; j < O; j++)
                        d[j] = (float)(exp((double)y[j] - lse) / B);
                    d[labels[r]] -= 1.0f / (float)B;
                }
            }
            part[c] = s;
        }
        for (int c = 0; c < AE_NCHUNKS; c++) total += part[c];
        total /= (double)B;
        break;
    }
    case LOSS_BCE: {
        /* L = -(1/n) sum t log y + (1-t) log(1-y) ; dL/dy = (y - t) / (y (1-y)) / n,
         * with y(1-y) floored at 1e-12 as PyTorch does (its eps). */
        CHUNKED_SUM(total, n,
                    -((double)T[i] * clamp_log(Y[i]) + (1.0 - T[i]) * clamp_log(1.0f - Y[i])));
        total /= (double)n;
        if (dY) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
            for (size_t i = 0; i < n; i++) {
                float den = Y[i] * (1.0f - Y[i]);
                if (den < 1e-12f) den = 1e-12f;
                dY[i] = (Y[i] - T[i]) / den / (float)n;
            }
        }
        break;
    }
    default: AE_ASSERT(!"unknown loss");
    }
    if (dY && act != ACT_IDENTITY) act_backward_rows(dY, dY, Y, act, B, O);
    if (dY && db) cpu_colsum_acc(db, dY, B, O);
    *out = (float)total;
}

/* ---- penalties ---- */

/* One chunk of cpu_l1_penalty: dH += g sign(H) (when dH), then the chunk's sum of |H| (cloned
 * like se_chunk). */
ROW_CLONES static double l1_chunk(float *dH, const float *H, float g, size_t lo, size_t hi) {
    if (dH) {
#pragma omp simd
        for (size_t i = lo; i < hi; i++) dH[i] += H[i] > 0.0f ? g : (H[i] < 0.0f ? -g : 0.0f);
    }
    double sum;
    SUM8(sum, lo, hi, fabs((double)H[i]));
    return sum;
}

static void cpu_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    /* CHUNKED_SUM's chunks and order, the gradient added chunk by chunk just before the chunk
     * is summed (one pass over H from memory instead of two) */
    double part[AE_NCHUNKS];
    float g = w / denom;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int k = 0; k < AE_NCHUNKS; k++)
        part[k] = l1_chunk(dH, H, g, n * (size_t)k / AE_NCHUNKS, n * (size_t)(k + 1) / AE_NCHUNKS);
    double s = 0.0;
    for (int k = 0; k < AE_NCHUNKS; k++) s += part[k];
    *out = (float)(w * s / denom);
}

static void cpu_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho,
                           float beta, int B, int O) {
    /* rhohat_j = mean_r H[r,j] */
    for (int j = 0; j < O; j++) rhohat[j] = 0.0f;
    cpu_colsum_acc(rhohat, H, B, O);
    double kl = 0.0;
    for (int j = 0; j < O; j++) {
        float p = rhohat[j] / (float)B;
        if (p < 1e-6f) p = 1e-6f;
        if (p > 1.0f - 1e-6f) p = 1.0f - 1e-6f;
        rhohat[j] = p;
        kl += rho * log((double)rho / p) + (1.0 - rho) * log((1.0 - rho) / (1.0 - p));
    }
    *out = (float)(beta * kl);
    if (dH) {
        /* d/dH[r,j] of beta * KL = (beta / B) * (-rho/p_j + (1-rho)/(1-p_j)) */
        size_t n = (size_t)B * O;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int r = 0; r < B; r++) {
            float *d = dH + (size_t)r * O;
            for (int j = 0; j < O; j++)
                d[j] += beta / (float)B * (-rho / rhohat[j] + (1.0f - rho) / (1.0f - rhohat[j]));
        }
    }
}

static void cpu_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n) {
    double s;
    CHUNKED_SUM(s, n, (double)W[i] * W[i]);
    *out = (float)(0.5 * lambda * s);
    if (dW) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (size_t i = 0; i < n; i++) dW[i] += lambda * W[i];
    }
}

/* ---- data ---- */

ROW_CLONES static void gather_row(float *restrict dst, const uint8_t *restrict src, int D,
                                  float scale) {
#pragma omp simd
    for (int j = 0; j < D; j++) dst[j] = src[j] * scale;
}

static void cpu_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                       const int32_t *idx, int B, int D, float scale) {
#pragma omp parallel for schedule(static) if ((size_t)B * D > PAR_MIN)
    for (int r = 0; r < B; r++)
        gather_row(X + (size_t)r * D, images + (size_t)idx[r] * D, D, scale);
    if (y && labels)
        for (int r = 0; r < B; r++) y[r] = labels[idx[r]];
}

static void cpu_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                            const int32_t *idx, int B, int D) {
#pragma omp parallel for schedule(static) if ((size_t)B * D > PAR_MIN)
    for (int r = 0; r < B; r++)
        memcpy(X + (size_t)r * D, rows + (size_t)idx[r] * D, (size_t)D * sizeof *X);
    if (y && labels)
        for (int r = 0; r < B; r++) y[r] = labels[idx[r]];
}

/* One Gaussian-noise value: x + mean + std z, clamped to [lo, hi] when clamp. Scalars, not the
 * NoiseSpec: a load through the pointer in the loop below would stop its vectorisation. */
static inline float gauss_value(float x, float z, float mean, float sd, float lo, float hi,
                                int clamp) {
    float v = x + mean + sd * z;
    return clamp ? (v < lo ? lo : (v > hi ? hi : v)) : v;
}

/* Elements [2q, 2q+2) of Xn for the pairs q in [0, np) (pair q is the stream's pair p0 + q):
 * straight-line code over pairs, vectorised by the clones; one loop per clamp setting (a
 * select on an int in the loop stops GCC 12's vectoriser). */
ROW_CLONES static void gaussian_pairs(float *restrict Xn, const float *restrict X, float mean,
                                      float sd, float lo, float hi, int clamp, uint64_t key,
                                      uint64_t p0, size_t np) {
#define GAUSS_LOOP(CLAMP)                                                                  \
    _Pragma("omp simd") for (size_t q = 0; q < np; q++) {                                  \
        RngNormalPair z = rng_normal_pair(key, p0 + q);                                    \
        Xn[2 * q] = gauss_value(X[2 * q], z.z0, mean, sd, lo, hi, CLAMP);                  \
        Xn[2 * q + 1] = gauss_value(X[2 * q + 1], z.z1, mean, sd, lo, hi, CLAMP);          \
    }
    if (clamp) { GAUSS_LOOP(1) }
    else { GAUSS_LOOP(0) }
#undef GAUSS_LOOP
}

/* Gaussian noise a Box-Muller pair at a time (engine/rng.h): counters [counter, counter+n).
 * A pair cut by either end of the range gives its one element alone. */
static void cpu_noise_gaussian(float *Xn, const float *X, const NoiseSpec *s, uint64_t key,
                               uint64_t counter, size_t n) {
    if (!n) return;
    size_t head = counter & 1; /* element 0 is the second half of a pair */
    float mean = s->mean, sd = s->std, lo = s->lo, hi = s->hi;
    int clamp = s->clamp;
    if (head)
        Xn[0] = gauss_value(X[0], rng_normal_pair(key, counter >> 1).z1, mean, sd, lo, hi, clamp);
    size_t np = (n - head) / 2; /* whole pairs */
    uint64_t p0 = (counter + head) >> 1;
    size_t nblk = np / 2048 + 1;
#pragma omp parallel for schedule(static) if (n > PAR_MIN / 4)
    for (size_t k = 0; k < nblk; k++) {
        size_t b0 = np * k / nblk, b1 = np * (k + 1) / nblk;
        gaussian_pairs(Xn + head + 2 * b0, X + head + 2 * b0, mean, sd, lo, hi, clamp, key,
                       p0 + b0, b1 - b0);
    }
    if ((n - head) & 1) /* the last element is the first half of a pair */
        Xn[n - 1] =
            gauss_value(X[n - 1], rng_normal_pair(key, p0 + np).z0, mean, sd, lo, hi, clamp);
}

static void cpu_noise(float *Xn, const float *X, const NoiseSpec *s, uint64_t key, uint64_t counter,
                      size_t n) {
    if (s->kind == NOISE_GAUSSIAN) {
        cpu_noise_gaussian(Xn, X, s, key, counter, n);
        return;
    }
#pragma omp parallel for schedule(static) if (n > PAR_MIN / 4)
    for (size_t i = 0; i < n; i++) {
        float v = X[i];
        switch (s->kind) {
        case NOISE_NONE: break;
        case NOISE_GAUSSIAN:
            v = v + s->mean + s->std * rng_normal(key, counter + i);
            if (s->clamp) v = v < s->lo ? s->lo : (v > s->hi ? s->hi : v);
            break;
        case NOISE_MASKING:
            if (rng_uniform(key, counter + i) < s->fraction) v = 0.0f;
            break;
        case NOISE_SALT_PEPPER: {
            float u = rng_uniform(key, counter + i);
            if (u < s->fraction) v = u < 0.5f * s->fraction ? s->lo : s->hi;
            break;
        }
        default: AE_ASSERT(!"unknown noise");
        }
        Xn[i] = v;
    }
}

/* ---- optimizers ---- */

static void cpu_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                         bool nesterov) {
    if (momentum == 0.0f) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        v[i] = momentum * v[i] + g[i];
        float d = nesterov ? g[i] + momentum * v[i] : v[i];
        p[i] -= lr * d;
    }
}

static void cpu_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr,
                          float b1, float b2, float eps, int t) {
    /* PyTorch: step = lr / bc1; denom = sqrt(v) / sqrt(bc2) + eps */
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    float step = (float)(lr / bc1), sbc2 = (float)sqrt(bc2);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}

/* ---- vector ops ---- */

static double cpu_dot(const float *x, const float *y, size_t n) {
    double s;
    CHUNKED_SUM(s, n, (double)x[i] * y[i]);
    return s;
}
static void cpu_axpy(float *y, float a, const float *x, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}
static void cpu_scal(float *x, float a, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

/* ---- metrics ---- */

static void cpu_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    for (int r = 0; r < B; r++) {
        const float *y = Y + (size_t)r * C;
        int best = 0;
        for (int j = 1; j < C; j++)
            if (y[j] > y[best]) best = j;
        conf[labels[r] * C + best]++;
    }
}

/* ---- the device ---- */

/* Not applicable: the CPU backend's memory is the host's (runner/machine.c). */
static bool cpu_memory_info(uint64_t *free_bytes, uint64_t *total_bytes) {
    (void)free_bytes, (void)total_bytes;
    return false;
}

static const Backend CPU_BACKEND = {
    .abi = AE_BACKEND_ABI,
    .size = sizeof(Backend),
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .copy = cpu_memcpy,
    .fill = cpu_fill,
    .gemm_nn = cpu_gemm_nn,
    .gemm_nt = cpu_gemm_nt,
    .gemm_tn = cpu_gemm_tn,
    .bias_act_forward = cpu_bias_act_forward,
    .act_backward = cpu_act_backward,
    .colsum_acc = cpu_colsum_acc,
    .loss = cpu_loss,
    .l1_penalty = cpu_l1_penalty,
    .kl_penalty = cpu_kl_penalty,
    .weight_decay = cpu_weight_decay,
    .gather = cpu_gather,
    .gather_rows = cpu_gather_rows,
    .noise = cpu_noise,
    .sgd_step = cpu_sgd_step,
    .adam_step = cpu_adam_step,
    .dot = cpu_dot,
    .axpy = cpu_axpy,
    .scal = cpu_scal,
    .confusion_acc = cpu_confusion_acc,
    .memory_info = cpu_memory_info,
};

const Backend *backend_cpu(void) { return &CPU_BACKEND; }

const char *backend_cpu_blas_config(void) { return openblas_get_config(); }
const char *backend_cpu_blas_core(void) { return openblas_get_corename(); }

int backend_cpu_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    return n;
}
