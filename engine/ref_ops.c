/* engine/ref_ops.c — the plain-loop reference of every op of engine/backend.h (ref_ops.h).
 *
 * Conventions: float32 row-major tensors in host memory, one row per example; B = rows,
 * I = inputs, O = outputs, D = features of a data row, C = classes, n = element count.
 * Gradient ops accumulate (+=) into dW/db/dH; ops that "write" overwrite. Every value is computed
 * in double from the float operands and rounded to float once when stored; every sum is a
 * sequential double accumulator. Two places keep float on purpose, because the contract names a
 * float tensor there:
 *  - bias_act_forward rounds the pre-activation z = Y + b to float (it is the float tensor Y
 *    updated in place) before applying the activation in double;
 *  - kl_penalty computes the KL term and its gradient from rhohat as stored (float), the scratch
 *    the contract says is left holding the clamped column means.
 * Optimizer states (v, m) are float tensors too: a step stores them, then uses the stored value.
 *
 * tag-backend-ops: the semantics are in engine/backend.h; the CPU twin is engine/cpu_backend.c,
 * the CUDA twins are in gpu/.
 */
#include "ref_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "rng.h"

/* ---- memory ---- */

static void *ref_alloc(size_t nbytes) { return calloc(1, nbytes ? nbytes : 1); }
static void ref_free(void *p) { free(p); }
static void ref_memcpy(void *dst, const void *src, size_t nbytes) {
    if (nbytes) memcpy(dst, src, nbytes);
}
static void ref_fill(float *x, float v, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}

/* ---- GEMM ----
 * C[i][j] = alpha * sum_k A(i,k) B(k,j) + beta * C[i][j], one double accumulator per element.
 * As in BLAS, beta == 0 means C is not read (it may hold garbage or NaN). */

static float gemm_store(double alpha, double acc, double beta, float c) {
    return (float)(alpha * acc + (beta == 0.0 ? 0.0 : beta * c));
}

/* A (M,K), B (K,N) */
static void ref_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)i * K + k] * B[(size_t)k * N + j];
            C[(size_t)i * N + j] = gemm_store(alpha, acc, beta, C[(size_t)i * N + j]);
        }
}

/* A (M,K), B stored (N,K): B^T(k,j) = B[j][k] */
static void ref_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)i * K + k] * B[(size_t)j * K + k];
            C[(size_t)i * N + j] = gemm_store(alpha, acc, beta, C[(size_t)i * N + j]);
        }
}

/* A stored (K,M): A^T(i,k) = A[k][i]; B (K,N) */
static void ref_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)k * M + i] * B[(size_t)k * N + j];
            C[(size_t)i * N + j] = gemm_store(alpha, acc, beta, C[(size_t)i * N + j]);
        }
}

/* ---- layers ---- */

/* Y (B,O): z = Y + b (rounded to float, see the top of the file), then
 *   identity: z; tanh: tanh z; sigmoid: 1/(1+e^-z); relu: max(z, 0);
 *   logsoftmax (per row): z_j - m - log(sum_k e^(z_k - m)), m = max_k z_k. */
static void ref_bias_act_forward(float *Y, const float *b, Act act, int B, int O) {
    AE_ASSERT(act >= 0 && act < ACT_COUNT);
    for (int r = 0; r < B; r++) {
        float *y = Y + (size_t)r * O;
        for (int j = 0; j < O; j++) {
            float zf = y[j] + b[j];
            double z = zf;
            switch (act) {
            case ACT_TANH: y[j] = (float)tanh(z); break;
            case ACT_SIGMOID: y[j] = (float)(1.0 / (1.0 + exp(-z))); break;
            case ACT_RELU: y[j] = z > 0.0 ? zf : 0.0f; break;
            default: y[j] = zf; break; /* identity; logsoftmax finished below */
            }
        }
        if (act == ACT_LOGSOFTMAX) {
            double m = y[0], s = 0.0;
            for (int j = 1; j < O; j++) m = y[j] > m ? y[j] : m;
            for (int j = 0; j < O; j++) s += exp((double)y[j] - m);
            double logs = log(s);
            for (int j = 0; j < O; j++) y[j] = (float)(((double)y[j] - m) - logs);
        }
    }
}

/* dZ (B,O) = dY * act'(z), from the activation's output y:
 *   identity: 1; tanh: 1 - y^2; sigmoid: y (1 - y); relu: [y > 0];
 *   logsoftmax: dz_j = dy_j - e^(y_j) * sum_k dy_k (the row sum is taken before any write, so
 *   dZ may alias dY). Then db += column sums of dZ when db is not NULL. */
static void ref_colsum_acc(float *db, const float *dZ, int B, int O);

static void ref_act_backward(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                             float *db) {
    AE_ASSERT(act >= 0 && act < ACT_COUNT);
    for (int r = 0; r < B; r++) {
        const float *dy = dY + (size_t)r * O, *y = Y + (size_t)r * O;
        float *dz = dZ + (size_t)r * O;
        double rowsum = 0.0;
        if (act == ACT_LOGSOFTMAX)
            for (int j = 0; j < O; j++) rowsum += dy[j];
        for (int j = 0; j < O; j++) {
            double g = dy[j], v = y[j];
            switch (act) {
            case ACT_IDENTITY: break;
            case ACT_TANH: g *= 1.0 - v * v; break;
            case ACT_SIGMOID: g *= v * (1.0 - v); break;
            case ACT_RELU: g = v > 0.0 ? g : 0.0; break;
            default: g -= exp(v) * rowsum; break; /* logsoftmax */
            }
            dz[j] = (float)g;
        }
    }
    if (db) ref_colsum_acc(db, dZ, B, O);
}

/* db_j += sum_r dZ[r][j] */
static void ref_colsum_acc(float *db, const float *dZ, int B, int O) {
    for (int j = 0; j < O; j++) {
        double s = 0.0;
        for (int r = 0; r < B; r++) s += dZ[(size_t)r * O + j];
        db[j] = (float)(db[j] + s);
    }
}

/* ---- losses ---- */

/* log clamped at -100, as PyTorch's BCELoss does */
static double clamped_log(double p) {
    double l = log(p);
    return l < -100.0 ? -100.0 : l;
}

/* n = B*O.
 * mse:      L = (1/n) sum (y-t)^2;                    dL/dy = 2 (y-t) / n
 * half_sse: L = (1/B) sum 0.5 (y-t)^2;                dL/dy = (y-t) / B
 * nll:      L = -(1/B) sum_r y[r][l_r];               dL/dy = -[j == l_r] / B
 * cross_entropy: L = (1/B) sum_r (lse_r - y[r][l_r]), lse_r = m + log sum_j e^(y_j - m);
 *                                                     dL/dy = (e^(y_j - lse_r) - [j == l_r]) / B
 * bce:      L = -(1/n) sum t log y + (1-t) log(1-y), logs clamped at -100;
 *           dL/dy = (y - t) / max(y (1-y), 1e-12) / n (PyTorch's backward, eps 1e-12).
 * Then, for act other than identity, dY = act'(.) dY through ref_act_backward, and db += the
 * column sums of dY when db. */
static void ref_loss(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
                     LossKind kind, Act act, int B, int O, float *db) {
    size_t n = (size_t)B * O;
    double total = 0.0;
    switch (kind) {
    case LOSS_MSE:
        for (size_t i = 0; i < n; i++) {
            double d = (double)Y[i] - T[i];
            total += d * d;
            if (dY) dY[i] = (float)(2.0 * d / (double)n);
        }
        total /= (double)n;
        break;
    case LOSS_HALF_SSE:
        for (size_t i = 0; i < n; i++) {
            double d = (double)Y[i] - T[i];
            total += 0.5 * d * d;
            if (dY) dY[i] = (float)(d / B);
        }
        total /= B;
        break;
    case LOSS_NLL:
        for (int r = 0; r < B; r++) {
            AE_ASSERT(labels[r] >= 0 && labels[r] < O);
            total -= Y[(size_t)r * O + labels[r]];
            if (dY)
                for (int j = 0; j < O; j++)
                    dY[(size_t)r * O + j] = j == labels[r] ? (float)(-1.0 / B) : 0.0f;
        }
        total /= B;
        break;
    case LOSS_CROSS_ENTROPY:
        for (int r = 0; r < B; r++) {
            const float *y = Y + (size_t)r * O;
            AE_ASSERT(labels[r] >= 0 && labels[r] < O);
            double m = y[0], s = 0.0;
            for (int j = 1; j < O; j++) m = y[j] > m ? y[j] : m;
            for (int j = 0; j < O; j++) s += exp((double)y[j] - m);
            double lse = m + log(s);
            total += lse - y[labels[r]];
            if (dY)
                for (int j = 0; j < O; j++) {
                    double softmax = exp((double)y[j] - lse);
                    dY[(size_t)r * O + j] = (float)((softmax - (j == labels[r])) / B);
                }
        }
        total /= B;
        break;
    case LOSS_BCE:
        for (size_t i = 0; i < n; i++) {
            double y = Y[i], t = T[i];
            total -= t * clamped_log(y) + (1.0 - t) * clamped_log(1.0 - y);
            if (dY) {
                double den = y * (1.0 - y);
                dY[i] = (float)((y - t) / (den < 1e-12 ? 1e-12 : den) / (double)n);
            }
        }
        total /= (double)n;
        break;
    default: AE_ASSERT(!"unknown loss");
    }
    if (dY && act != ACT_IDENTITY) ref_act_backward(dY, dY, Y, act, B, O, NULL);
    if (dY && db) ref_colsum_acc(db, dY, B, O);
    *out = (float)total;
}

/* ---- penalties ---- */

static double sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

/* L = w * sum |h| / denom;  dH += w * sign(h) / denom (sign(0) = 0) */
static void ref_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs((double)H[i]);
    *out = (float)((double)w * s / denom);
    if (dH)
        for (size_t i = 0; i < n; i++) dH[i] = (float)(dH[i] + (double)w * sign(H[i]) / denom);
}

/* p_j = clamp(mean_r H[r][j], 1e-6, 1-1e-6), stored to rhohat (float);
 * L = beta * sum_j [rho log(rho/p_j) + (1-rho) log((1-rho)/(1-p_j))];
 * dH[r][j] += (beta/B) (-rho/p_j + (1-rho)/(1-p_j)) for every row r. */
static void ref_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho,
                           float beta, int B, int O) {
    double kl = 0.0;
    for (int j = 0; j < O; j++) {
        double s = 0.0;
        for (int r = 0; r < B; r++) s += H[(size_t)r * O + j];
        double mean = s / B;
        if (mean < 1e-6) mean = 1e-6;
        if (mean > 1.0 - 1e-6) mean = 1.0 - 1e-6;
        rhohat[j] = (float)mean;
        double p = rhohat[j];
        kl += rho * log(rho / p) + (1.0 - rho) * log((1.0 - rho) / (1.0 - p));
    }
    *out = (float)(beta * kl);
    if (dH)
        for (int r = 0; r < B; r++)
            for (int j = 0; j < O; j++) {
                double p = rhohat[j];
                float *d = dH + (size_t)r * O + j;
                *d = (float)(*d + (double)beta / B * (-rho / p + (1.0 - rho) / (1.0 - p)));
            }
}

/* L = 0.5 * lambda * sum W^2;  dW += lambda * W */
static void ref_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)W[i] * W[i];
    *out = (float)(0.5 * lambda * s);
    if (dW)
        for (size_t i = 0; i < n; i++) dW[i] = (float)(dW[i] + (double)lambda * W[i]);
}

/* ---- data ---- */

/* X[r][j] = images[idx_r][j] * scale; y_r = labels[idx_r] */
static void ref_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                       const int32_t *idx, int B, int D, float scale) {
    for (int r = 0; r < B; r++) {
        for (int j = 0; j < D; j++)
            X[(size_t)r * D + j] = (float)(images[(size_t)idx[r] * D + j] * (double)scale);
        if (y && labels) y[r] = labels[idx[r]];
    }
}

/* X[r][j] = rows[idx_r][j]; y_r = labels[idx_r] */
static void ref_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                            const int32_t *idx, int B, int D) {
    for (int r = 0; r < B; r++) {
        for (int j = 0; j < D; j++) X[(size_t)r * D + j] = rows[(size_t)idx[r] * D + j];
        if (y && labels) y[r] = labels[idx[r]];
    }
}

/* Element i, with u = rng_uniform(key, counter + i) and g = rng_normal(key, counter + i):
 *   none:        x;
 *   gaussian:    x + mean + std * g, then clamped to [lo, hi] when clamp is set;
 *   masking:     0 if u < fraction, else x;
 *   salt_pepper: if u < fraction: lo when u < fraction/2, else hi; otherwise x. */
static void ref_noise(float *Xn, const float *X, const NoiseSpec *s, uint64_t key,
                      uint64_t counter, size_t n) {
    AE_ASSERT(s->kind >= 0 && s->kind < NOISE_COUNT);
    for (size_t i = 0; i < n; i++) {
        double v = X[i];
        if (s->kind == NOISE_GAUSSIAN) {
            v += (double)s->mean + (double)s->std * rng_normal(key, counter + i);
            if (s->clamp) v = v < s->lo ? s->lo : (v > s->hi ? s->hi : v);
        } else if (s->kind == NOISE_MASKING) {
            if (rng_uniform(key, counter + i) < s->fraction) v = 0.0;
        } else if (s->kind == NOISE_SALT_PEPPER) {
            float u = rng_uniform(key, counter + i);
            if (u < s->fraction) v = u < 0.5f * s->fraction ? s->lo : s->hi;
        }
        Xn[i] = (float)v;
    }
}

/* ---- optimizers ---- */

/* with momentum mu != 0: v = mu v + g; g' = nesterov ? g + mu v : v; without: g' = g.
 * p -= lr g' */
static void ref_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                         bool nesterov) {
    for (size_t i = 0; i < n; i++) {
        double step = g[i];
        if (momentum != 0.0f) {
            v[i] = (float)((double)momentum * v[i] + g[i]);
            step = nesterov ? g[i] + (double)momentum * v[i] : v[i];
        }
        p[i] = (float)(p[i] - (double)lr * step);
    }
}

/* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
static void ref_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr,
                          float b1, float b2, float eps, int t) {
    AE_ASSERT(t >= 1);
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        m[i] = (float)((double)b1 * m[i] + (1.0 - b1) * gi);
        v[i] = (float)((double)b2 * v[i] + (1.0 - b2) * gi * gi);
        double mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] = (float)(p[i] - (double)lr * mhat / (sqrt(vhat) + eps));
    }
}

/* ---- vector ops ---- */

/* sum x_i y_i */
static double ref_dot(const float *x, const float *y, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * y[i];
    return s;
}
/* y += a x */
static void ref_axpy(float *y, float a, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = (float)(y[i] + (double)a * x[i]);
}
/* x *= a */
static void ref_scal(float *x, float a, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)x[i] * a);
}

/* ---- metrics ---- */

/* conf[l_r][argmax_j Y[r][j]] += 1, ties to the lowest j */
static void ref_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    for (int r = 0; r < B; r++) {
        const float *y = Y + (size_t)r * C;
        int best = 0;
        for (int j = 1; j < C; j++)
            if (y[j] > y[best]) best = j;
        AE_ASSERT(labels[r] >= 0 && labels[r] < C);
        conf[(size_t)labels[r] * C + best] += 1;
    }
}

/* ---- the device ---- */

/* Not applicable: host memory. */
static bool ref_memory_info(uint64_t *free_bytes, uint64_t *total_bytes) {
    (void)free_bytes, (void)total_bytes;
    return false;
}

static const Backend REF_BACKEND = {
    .name = "reference",
    .alloc = ref_alloc,
    .free = ref_free,
    .upload = ref_memcpy,
    .download = ref_memcpy,
    .copy = ref_memcpy,
    .fill = ref_fill,
    .gemm_nn = ref_gemm_nn,
    .gemm_nt = ref_gemm_nt,
    .gemm_tn = ref_gemm_tn,
    .bias_act_forward = ref_bias_act_forward,
    .act_backward = ref_act_backward,
    .colsum_acc = ref_colsum_acc,
    .loss = ref_loss,
    .l1_penalty = ref_l1_penalty,
    .kl_penalty = ref_kl_penalty,
    .weight_decay = ref_weight_decay,
    .gather = ref_gather,
    .gather_rows = ref_gather_rows,
    .noise = ref_noise,
    .sgd_step = ref_sgd_step,
    .adam_step = ref_adam_step,
    .dot = ref_dot,
    .axpy = ref_axpy,
    .scal = ref_scal,
    .confusion_acc = ref_confusion_acc,
    .memory_info = ref_memory_info,
};

const Backend *backend_reference(void) { return &REF_BACKEND; }
