/* bench/timing.c — the timing backend: a Backend that forwards every op to backend_cpu() (which
 * is synchronous) and adds, per op, its time on the bench's clock, its calls, and the bytes the
 * byte model below says it moves; it also records the GEMM calls of the warm-up for the roofline
 * (probe.c). One per process (bench work); the worker (workload.c) times L-BFGS's evaluations
 * through the engine's on_evaluation hook and stops the recording after the first.
 *
 * Shapes as in engine/backend.h: B rows (batch), O outputs, I/D inputs, n elements.
 */
#include <string.h>

#include "bench.h"

#define MAX_GEMM_REC 8192

static struct Timing {
    const Backend *inner;
    Backend outer;
    OpStats st;              /* since the last reset */
    bool recording;          /* record GEMM calls (the warm-up epoch / first evaluation) */
    GemmCall rec[MAX_GEMM_REC];
    int nrec;
} tb;

static void stats_reset(void) { memset(&tb.st, 0, sizeof tb.st); }

/* The byte model: the least memory traffic an op's contract (engine/backend.h) allows, added
 * per call to tb.st.bytes next to its time. Every array the op reads counts once per element
 * read, every array it writes once per element written, and a read-modify-write array (+=, in
 * place) twice: float and int32 4 bytes, the uint8 images and labels 1. Small vectors (biases,
 * O floats; the 1-float result slots) count too. The shapes are the call's own (B, O, n), so a
 * NULL output (no gradient wanted) or an aliased one is not counted. What the model leaves out,
 * on purpose: the write-allocate read of a written line (STREAM leaves it out too, so the
 * bandwidth probe, probe.c, is compared like for like), a second pass the implementation makes
 * over data it already read (the L1 sum then its gradient; KL's column means then dH), and the
 * extra arithmetic of tanh/exp: a floor, not a prediction. GEMMs are counted as A and B read
 * once and C written once (read too when beta != 0); they are compute-bound and the report
 * shows their bytes for no conclusion. alloc and free move nothing (calloc's zeros come from
 * fresh pages); upload, download and copy read and write their bytes. */
#define F4 4.0 /* bytes per float or int32 element */

#define TIMED(op, nbytes, call)                                                       \
    do {                                                                              \
        double t0_ = now_seconds();                                                   \
        call;                                                                         \
        tb.st.sec[op] += now_seconds() - t0_;                                         \
        tb.st.calls[op]++;                                                            \
        tb.st.bytes[op] += (nbytes);                                                  \
    } while (0)

static void *w_alloc(size_t nbytes) {
    double t0 = now_seconds();
    void *p = tb.inner->alloc(nbytes);
    tb.st.sec[OP_ALLOC] += now_seconds() - t0;
    tb.st.calls[OP_ALLOC]++;
    return p;
}
static void w_free(void *p) { TIMED(OP_FREE, 0.0, tb.inner->free(p)); }
static void w_upload(void *d, const void *s, size_t n) {
    TIMED(OP_UPLOAD, 2.0 * n, tb.inner->upload(d, s, n));
}
static void w_download(void *d, const void *s, size_t n) {
    TIMED(OP_DOWNLOAD, 2.0 * n, tb.inner->download(d, s, n));
}
/* copy: n bytes read, n written */
static void w_copy(void *d, const void *s, size_t n) {
    TIMED(OP_COPY, 2.0 * n, tb.inner->copy(d, s, n));
}
/* fill: x (n) written */
static void w_fill(float *x, float v, size_t n) { TIMED(OP_FILL, F4 * n, tb.inner->fill(x, v, n)); }

/* A (M,K) and B (K,N) read, C (M,N) written, and read first when beta != 0 */
static double gemm_bytes(int M, int N, int K, float beta) {
    double mn = (double)M * N;
    return F4 * ((double)M * K + (double)K * N + mn + (beta != 0.0f ? mn : 0.0));
}
static void gemm_note(char kind, int M, int N, int K, float alpha, float beta, const void *A,
                      const void *B, const void *C) {
    tb.st.gemm_flops += 2.0 * M * N * K;
    if (tb.recording && tb.nrec >= MAX_GEMM_REC)
        die("more than %d GEMM calls to record for the roofline", MAX_GEMM_REC);
    if (tb.recording) tb.rec[tb.nrec++] = (GemmCall){kind, M, N, K, alpha, beta, A, B, C};
}
static void w_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_NN, gemm_bytes(M, N, K, beta), tb.inner->gemm_nn(M, N, K, alpha, A, B, beta, C));
    gemm_note('n', M, N, K, alpha, beta, A, B, C);
}
static void w_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_NT, gemm_bytes(M, N, K, beta), tb.inner->gemm_nt(M, N, K, alpha, A, B, beta, C));
    gemm_note('t', M, N, K, alpha, beta, A, B, C);
}
static void w_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_TN, gemm_bytes(M, N, K, beta), tb.inner->gemm_tn(M, N, K, alpha, A, B, beta, C));
    gemm_note('T', M, N, K, alpha, beta, A, B, C);
}
/* Y (B,O) in place: read + written; b (O) read */
static void w_bias_act_forward(float *Y, const float *b, Act act, int B, int O) {
    double bo = (double)B * O;
    TIMED(OP_BIAS_ACT, F4 * (2.0 * bo + O), tb.inner->bias_act_forward(Y, b, act, B, O));
}
/* dY (B,O) read; Y (B,O) read unless identity (act' = 1 needs no Y); dZ (B,O) written unless
 * identity in place (then nothing changes); db (O) read + written when given */
static double act_backward_bytes(const float *dZ, const float *dY, Act act, int B, int O,
                                 const float *db) {
    double bo = (double)B * O;
    double n = bo;                                     /* dY */
    if (act != ACT_IDENTITY) n += bo;                  /* Y */
    if (!(act == ACT_IDENTITY && dZ == dY)) n += bo;   /* dZ */
    if (db) n += 2.0 * O;
    return F4 * n;
}
static void w_act_backward(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                           float *db) {
    TIMED(OP_ACT_BACKWARD, act_backward_bytes(dZ, dY, act, B, O, db),
          tb.inner->act_backward(dZ, dY, Y, act, B, O, db));
}
/* dZ (B,O) read; db (O) read + written */
static void w_colsum_acc(float *db, const float *dZ, int B, int O) {
    TIMED(OP_COLSUM, F4 * ((double)B * O + 2.0 * O), tb.inner->colsum_acc(db, dZ, B, O));
}
/* Y (B,O) read (nll without a gradient through an activation: the B labelled elements only);
 * T (B,O) read for mse/half_sse/bce, labels (B) int32 for nll/cross_entropy; dY (B,O) written
 * when given; db (O) read + written when given with dY; the 1-float result written */
static double loss_bytes(const float *dY, LossKind kind, Act act, int B, int O, const float *db) {
    double bo = (double)B * O;
    bool labelled = kind == LOSS_NLL || kind == LOSS_CROSS_ENTROPY;
    double n = kind == LOSS_NLL && (!dY || act == ACT_IDENTITY) ? B : bo; /* Y */
    n += labelled ? B : bo;                                               /* labels or T */
    if (dY) n += bo;
    if (dY && db) n += 2.0 * O;                                           /* db */
    return F4 * (n + 1.0);
}
static void w_loss(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
                   LossKind kind, Act act, int B, int O, float *db) {
    TIMED(OP_LOSS, loss_bytes(dY, kind, act, B, O, db),
          tb.inner->loss(out, dY, Y, T, labels, kind, act, B, O, db));
}
/* H (n) read; dH (n) read + written when given; the result written */
static void w_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    TIMED(OP_L1, F4 * ((double)n + (dH ? 2.0 * n : 0.0) + 1.0),
          tb.inner->l1_penalty(out, dH, H, w, denom, n));
}
/* H (B,O) read; rhohat (O) written; dH (B,O) read + written when given; the result written */
static void w_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho,
                         float beta, int B, int O) {
    double bo = (double)B * O;
    TIMED(OP_KL, F4 * (bo + O + (dH ? 2.0 * bo : 0.0) + 1.0),
          tb.inner->kl_penalty(out, dH, rhohat, H, rho, beta, B, O));
}
/* W (n) read; dW (n) read + written when given; the result written */
static void w_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n) {
    TIMED(OP_WEIGHT_DECAY, F4 * ((double)n + (dW ? 2.0 * n : 0.0) + 1.0),
          tb.inner->weight_decay(out, dW, W, lambda, n));
}
/* images: B rows of D uint8 read; idx (B) int32 read; X (B,D) written; with labels, B uint8
 * read and y (B) int32 written */
static double gather_bytes(const int32_t *y, const uint8_t *labels, int B, int D) {
    double bd = (double)B * D;
    double n = bd + F4 * B + F4 * bd;
    if (y && labels) n += B + F4 * B;
    return n;
}
static void w_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                     const int32_t *idx, int B, int D, float scale) {
    TIMED(OP_GATHER, gather_bytes(y, labels, B, D),
          tb.inner->gather(X, y, images, labels, idx, B, D, scale));
}
/* rows: B rows of D floats read; idx (B) int32 read; X (B,D) written; with labels, B uint8 read
 * and y (B) int32 written */
static void w_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                          const int32_t *idx, int B, int D) {
    double bd = (double)B * D;
    double n = F4 * bd + F4 * B + F4 * bd + (y && labels ? B + F4 * B : 0.0);
    TIMED(OP_GATHER_ROWS, n, tb.inner->gather_rows(X, y, rows, labels, idx, B, D));
}
/* X (n) read, Xn (n) written */
static void w_noise(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key,
                    uint64_t counter, size_t n) {
    TIMED(OP_NOISE, F4 * 2.0 * n, tb.inner->noise(Xn, X, spec, key, counter, n));
}
/* p (n) read + written, g (n) read; with momentum, v (n) read + written too */
static void w_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                       bool nesterov) {
    TIMED(OP_SGD, F4 * n * (momentum != 0.0f ? 5.0 : 3.0),
          tb.inner->sgd_step(p, g, v, n, lr, momentum, nesterov));
}
/* p, m, v (n) read + written, g (n) read */
static void w_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                        float b2, float eps, int t) {
    TIMED(OP_ADAM, F4 * 7.0 * n, tb.inner->adam_step(p, g, m, v, n, lr, b1, b2, eps, t));
}
/* x, y (n) read */
static double w_dot(const float *x, const float *y, size_t n) {
    double t0 = now_seconds();
    double r = tb.inner->dot(x, y, n);
    tb.st.sec[OP_DOT] += now_seconds() - t0;
    tb.st.calls[OP_DOT]++;
    tb.st.bytes[OP_DOT] += F4 * 2.0 * n;
    return r;
}
/* y (n) read + written, x (n) read */
static void w_axpy(float *y, float a, const float *x, size_t n) {
    TIMED(OP_AXPY, F4 * 3.0 * n, tb.inner->axpy(y, a, x, n));
}
/* x (n) read + written */
static void w_scal(float *x, float a, size_t n) {
    TIMED(OP_SCAL, F4 * 2.0 * n, tb.inner->scal(x, a, n));
}
/* Y (B,C) and labels (B) int32 read; conf (C,C) int32 read + written */
static void w_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    TIMED(OP_CONFUSION, F4 * ((double)B * C + B + 2.0 * C * C),
          tb.inner->confusion_acc(conf, Y, labels, B, C));
}

/* The wrapper starts as a copy of the CPU table, so an op added to backend.h later is still
 * forwarded (untimed: it shows up in the "outside the ops" remainder). */
bool timing_bf16; /* bench work --precision bf16: forward to backend_cpu_bf16() instead */
const Backend *timing_backend(void) {
    char why[512];
    tb.inner = timing_bf16 ? backend_cpu_bf16(why, sizeof why) : backend_cpu();
    if (!tb.inner) die("--precision bf16: %s", why);
    tb.outer = *tb.inner;
    Backend *b = &tb.outer;
    b->name = "cpu (timed)";
    b->alloc = w_alloc;
    b->free = w_free;
    b->upload = w_upload;
    b->download = w_download;
    b->copy = w_copy;
    b->fill = w_fill;
    b->gemm_nn = w_gemm_nn;
    b->gemm_nt = w_gemm_nt;
    b->gemm_tn = w_gemm_tn;
    b->bias_act_forward = w_bias_act_forward;
    b->act_backward = w_act_backward;
    b->colsum_acc = w_colsum_acc;
    b->loss = w_loss;
    b->l1_penalty = w_l1_penalty;
    b->kl_penalty = w_kl_penalty;
    b->weight_decay = w_weight_decay;
    b->gather = w_gather;
    b->gather_rows = w_gather_rows;
    b->noise = w_noise;
    b->sgd_step = w_sgd_step;
    b->adam_step = w_adam_step;
    b->dot = w_dot;
    b->axpy = w_axpy;
    b->scal = w_scal;
    b->confusion_acc = w_confusion_acc;
    return b;
}

void timing_start(void) {
    stats_reset();
    tb.nrec = 0;
    tb.recording = true;
}

void timing_warmup_done(void) {
    tb.recording = false;
    stats_reset();
}

void timing_stop_recording(void) { tb.recording = false; }

const OpStats *timing_stats(void) { return &tb.st; }

const GemmCall *timing_gemm_calls(int *n) {
    *n = tb.nrec;
    return tb.rec;
}
