/* bench/bench.c — `make bench`: aelab's training epochs against the BLAS roofline and PyTorch.
 *
 * One program, three roles (bench/run.sh compiles it with the Makefile's flags against
 * build/lib/libaelab.a and runs the `all` role):
 *   bench work WORKLOAD [--epochs N] [--threads T]
 *       runs one workload in this process: a warm-up epoch, then N timed ones, through a backend
 *       wrapper that forwards every op to backend_cpu() and accumulates wall time per op; then
 *       replays the GEMM calls of one epoch with cblas_sgemm alone (the roofline), then runs
 *       the bandwidth probe (a STREAM triad). Prints "key value..." lines on stdout (the
 *       protocol bench/peer_torch.py speaks too; it prints no `op` lines): per op
 *       "op NAME SECONDS CALLS BYTES" per timed epoch (BYTES: the byte model; the parser also
 *       takes the older 3-field line), and "stream_gbs_l3 X", "stream_gbs_dram Y".
 *   bench load [--threads T]
 *       loads MNIST (train + test, dataset_load_idx) and uploads it; prints the times.
 *   bench all [options]
 *       the orchestrator: for each round and workload, one `work` process then one PyTorch
 *       process (alternating, since the machine is shared and noisy), then start-up and `aelab
 *       run` timings; writes results.md and results.csv.
 *
 * Workloads (LECTURES.md): ae1 (L17 AE1: 784-400-784 tanh/sigmoid, MSE, SGD 0.98), stacked
 * (L17 784-400-256-400-784 end to end), classifier (L17 784-400-256-10 log-softmax NLL, SGD 0.1,
 * fine-tuning, plus the test evaluation of 10k), denoise (L20: Adam 1e-3, gaussian noise
 * 0.1/0.2 clamped to [0,1], L1 0.1 with the lecture's semantics), lbfgs (UFLDL 784-196-784
 * sigmoid, half_sse, KL rho 0.1 beta 3, weight decay 3e-3, full batch of 10k, L-BFGS).
 * Batch 1000 and the 60k training images unless said otherwise.
 *
 * FLOPs are GEMM FLOPs only (2*M*N*K per call): per row, a layer costs 2*I*O forward; a trained
 * layer adds 2*I*O for dW and 2*I*O for dX unless it is the lowest trained layer (whose input
 * gradient is not needed); a frozen prefix costs its forward only. They are computed from the
 * shapes and checked against the count of GEMM calls the wrapper saw.
 *
 * Bytes: each op call also adds the minimum bytes its contract (engine/backend.h) makes it move
 * (the byte model above the timing wrappers), and the worker measures, in the same process and
 * thread count, what a STREAM triad gets from the memory system at the batch's scale (4 MiB
 * arrays) and beyond the caches (64 MiB): element-wise GB/s against the bandwidth on offer.
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the layer shape I
 * (model.h); the bench uses no complex numbers. */
#undef I
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "data.h"
#include "datasets.h"
#include "model.h"
#include "train.h"

/* ---------------------------------------------------------------------------------------- */
/* common                                                                                    */

#define MAX_SAMPLES 512

typedef enum { W_AE1 = 0, W_STACKED, W_CLASSIFIER, W_DENOISE, W_LBFGS, W_COUNT } WorkloadId;

static const char *const WORKLOAD_NAMES[W_COUNT] = {"ae1", "stacked", "classifier", "denoise",
                                                    "lbfgs"};
static const char *const WORKLOAD_TITLES[W_COUNT] = {
    "L17 AE1 epoch (784-400-784, SGD, 60k)",
    "L17 stacked epoch (784-400-256-400-784)",
    "L17 classifier epoch + test eval (784-400-256-10)",
    "L20 denoising epoch (Adam, noise, L1)",
    "UFLDL L-BFGS (784-196-784, KL, 10k full batch)",
};

/* The clock of the per-op timings and the roofline: wall time, or (bench work --cpu-clock, for
 * analysis on a busy machine with --threads 1) the process's CPU time, which other people's
 * jobs do not inflate. */
static clockid_t probe_clock = CLOCK_MONOTONIC;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(probe_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static bool parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s) return false;
    *out = v;
    return true;
}

static int workload_find(const char *name) {
    for (int w = 0; w < W_COUNT; w++)
        if (strcmp(name, WORKLOAD_NAMES[w]) == 0) return w;
    return -1;
}

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

typedef struct Samples {
    double v[MAX_SAMPLES];
    int n;
} Samples;

static void samples_add(Samples *s, double v) {
    if (s->n < MAX_SAMPLES) s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double samples_median(const Samples *s) {
    if (s->n == 0) return NAN;
    double *t = malloc((size_t)s->n * sizeof *t);
    if (!t) die("out of memory");
    memcpy(t, s->v, (size_t)s->n * sizeof *t);
    qsort(t, (size_t)s->n, sizeof *t, cmp_double);
    double m = s->n % 2 ? t[s->n / 2] : 0.5 * (t[s->n / 2 - 1] + t[s->n / 2]);
    free(t);
    return m;
}

static double samples_min(const Samples *s) {
    double m = NAN;
    for (int i = 0; i < s->n; i++)
        if (isnan(m) || s->v[i] < m) m = s->v[i];
    return m;
}

static double samples_max(const Samples *s) {
    double m = NAN;
    for (int i = 0; i < s->n; i++)
        if (isnan(m) || s->v[i] > m) m = s->v[i];
    return m;
}

/* ---------------------------------------------------------------------------------------- */
/* the timing backend: forwards to backend_cpu(), accumulates wall time per op               */

typedef enum {
    OP_GEMM_NN = 0, OP_GEMM_NT, OP_GEMM_TN, OP_BIAS_ACT, OP_ACT_BACKWARD, OP_COLSUM, OP_LOSS,
    OP_L1, OP_KL, OP_WEIGHT_DECAY, OP_GATHER, OP_NOISE, OP_SGD, OP_ADAM, OP_FILL, OP_COPY,
    OP_UPLOAD, OP_DOWNLOAD, OP_ALLOC, OP_FREE, OP_DOT, OP_AXPY, OP_SCAL, OP_CONFUSION, OP_COUNT
} OpId;

static const char *const OP_NAMES[OP_COUNT] = {
    "gemm_nn", "gemm_nt", "gemm_tn", "bias_act_forward", "act_backward", "colsum_acc", "loss",
    "l1_penalty", "kl_penalty", "weight_decay", "gather", "noise", "sgd_step", "adam_step",
    "fill", "copy", "upload", "download", "alloc", "free", "dot", "axpy", "scal",
    "confusion_acc",
};

static bool op_is_gemm(int op) { return op == OP_GEMM_NN || op == OP_GEMM_NT || op == OP_GEMM_TN; }

typedef struct GemmCall {
    char kind; /* 'n' nn, 't' nt, 'T' tn */
    int M, N, K;
    float alpha, beta;
    const void *A, *B, *C;
} GemmCall;

#define MAX_GEMM_REC 8192
#define MAX_EVAL_REC 4096

static struct Probe {
    const Backend *inner;
    Backend outer;
    double sec[OP_COUNT];
    long calls[OP_COUNT];
    double bytes[OP_COUNT];  /* the byte model's minimum traffic (see below) */
    double gemm_flops;       /* 2*M*N*K summed since the last reset */
    bool recording;          /* record GEMM calls (one epoch / one evaluation) */
    bool stop_on_download;   /* lbfgs: stop recording at the end of the first evaluation */
    GemmCall rec[MAX_GEMM_REC];
    int nrec;
    bool lbfgs;              /* time evaluations: from gather to the next download */
    double eval_t0;
    bool in_eval;
    double eval_s[MAX_EVAL_REC];
    int neval;
} P;

static void probe_reset(void) {
    memset(P.sec, 0, sizeof P.sec);
    memset(P.calls, 0, sizeof P.calls);
    memset(P.bytes, 0, sizeof P.bytes);
    P.gemm_flops = 0.0;
}

/* The byte model: the least memory traffic an op's contract (engine/backend.h) allows, added
 * per call to P.bytes next to its time. Every array the op reads counts once per element read,
 * every array it writes once per element written, and a read-modify-write array (+=, in place)
 * twice: float and int32 4 bytes, the uint8 images and labels 1. Small vectors (biases, O
 * floats; the 1-float result slots) count too. The shapes are the call's own (B, O, n), so a
 * NULL output (no gradient wanted) or an aliased one is not counted. What the model leaves out,
 * on purpose: the write-allocate read of a written line (STREAM leaves it out too, so the
 * bandwidth probe below is compared like for like), a second pass the implementation makes
 * over data it already read (the L1 sum then its gradient; KL's column means then dH), and the
 * extra arithmetic of tanh/exp: a floor, not a prediction. GEMMs are counted as A and B read
 * once and C written once (read too when beta != 0); they are compute-bound and the report
 * shows their bytes for no conclusion. alloc and free move nothing (calloc's zeros come from
 * fresh pages); upload, download and copy read and write their bytes. */
#define F4 4.0 /* bytes per float or int32 element */

#define TIMED(op, nbytes, call)                                                           \
    do {                                                                                  \
        double t0_ = now_seconds();                                                       \
        call;                                                                             \
        P.sec[op] += now_seconds() - t0_;                                                 \
        P.calls[op]++;                                                                    \
        P.bytes[op] += (nbytes);                                                          \
    } while (0)

static void *w_alloc(size_t nbytes) {
    double t0 = now_seconds();
    void *p = P.inner->alloc(nbytes);
    P.sec[OP_ALLOC] += now_seconds() - t0;
    P.calls[OP_ALLOC]++;
    return p;
}
static void w_free(void *p) { TIMED(OP_FREE, 0.0, P.inner->free(p)); }
static void w_upload(void *d, const void *s, size_t n) {
    TIMED(OP_UPLOAD, 2.0 * n, P.inner->upload(d, s, n));
}
static void w_download(void *d, const void *s, size_t n) {
    TIMED(OP_DOWNLOAD, 2.0 * n, P.inner->download(d, s, n));
    if (P.in_eval) {
        if (P.neval < MAX_EVAL_REC) P.eval_s[P.neval++] = now_seconds() - P.eval_t0;
        P.in_eval = false;
        if (P.stop_on_download) P.recording = false;
    }
}
/* copy: n bytes read, n written */
static void w_copy(void *d, const void *s, size_t n) {
    TIMED(OP_COPY, 2.0 * n, P.inner->copy(d, s, n));
}
/* fill: x (n) written */
static void w_fill(float *x, float v, size_t n) { TIMED(OP_FILL, F4 * n, P.inner->fill(x, v, n)); }

/* A (M,K) and B (K,N) read, C (M,N) written, and read first when beta != 0 */
static double gemm_bytes(int M, int N, int K, float beta) {
    double mn = (double)M * N;
    return F4 * ((double)M * K + (double)K * N + mn + (beta != 0.0f ? mn : 0.0));
}
static void gemm_note(char kind, int M, int N, int K, float alpha, float beta, const void *A,
                      const void *B, const void *C) {
    P.gemm_flops += 2.0 * M * N * K;
    if (P.recording && P.nrec < MAX_GEMM_REC)
        P.rec[P.nrec++] = (GemmCall){kind, M, N, K, alpha, beta, A, B, C};
}
static void w_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_NN, gemm_bytes(M, N, K, beta), P.inner->gemm_nn(M, N, K, alpha, A, B, beta, C));
    gemm_note('n', M, N, K, alpha, beta, A, B, C);
}
static void w_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_NT, gemm_bytes(M, N, K, beta), P.inner->gemm_nt(M, N, K, alpha, A, B, beta, C));
    gemm_note('t', M, N, K, alpha, beta, A, B, C);
}
static void w_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B,
                      float beta, float *C) {
    TIMED(OP_GEMM_TN, gemm_bytes(M, N, K, beta), P.inner->gemm_tn(M, N, K, alpha, A, B, beta, C));
    gemm_note('T', M, N, K, alpha, beta, A, B, C);
}
/* Y (B,O) in place: read + written; b (O) read */
static void w_bias_act_forward(float *Y, const float *b, Act act, int B, int O) {
    double bo = (double)B * O;
    TIMED(OP_BIAS_ACT, F4 * (2.0 * bo + O), P.inner->bias_act_forward(Y, b, act, B, O));
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
          P.inner->act_backward(dZ, dY, Y, act, B, O, db));
}
/* dZ (B,O) read; db (O) read + written */
static void w_colsum_acc(float *db, const float *dZ, int B, int O) {
    TIMED(OP_COLSUM, F4 * ((double)B * O + 2.0 * O), P.inner->colsum_acc(db, dZ, B, O));
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
          P.inner->loss(out, dY, Y, T, labels, kind, act, B, O, db));
}
/* H (n) read; dH (n) read + written when given; the result written */
static void w_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n) {
    TIMED(OP_L1, F4 * ((double)n + (dH ? 2.0 * n : 0.0) + 1.0),
          P.inner->l1_penalty(out, dH, H, w, denom, n));
}
/* H (B,O) read; rhohat (O) written; dH (B,O) read + written when given; the result written */
static void w_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho,
                         float beta, int B, int O) {
    double bo = (double)B * O;
    TIMED(OP_KL, F4 * (bo + O + (dH ? 2.0 * bo : 0.0) + 1.0),
          P.inner->kl_penalty(out, dH, rhohat, H, rho, beta, B, O));
}
/* W (n) read; dW (n) read + written when given; the result written */
static void w_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n) {
    TIMED(OP_WEIGHT_DECAY, F4 * ((double)n + (dW ? 2.0 * n : 0.0) + 1.0),
          P.inner->weight_decay(out, dW, W, lambda, n));
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
    if (P.lbfgs) {
        P.eval_t0 = now_seconds();
        P.in_eval = true;
    }
    TIMED(OP_GATHER, gather_bytes(y, labels, B, D),
          P.inner->gather(X, y, images, labels, idx, B, D, scale));
}
/* X (n) read, Xn (n) written */
static void w_noise(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key,
                    uint64_t counter, size_t n) {
    TIMED(OP_NOISE, F4 * 2.0 * n, P.inner->noise(Xn, X, spec, key, counter, n));
}
/* p (n) read + written, g (n) read; with momentum, v (n) read + written too */
static void w_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                       bool nesterov) {
    TIMED(OP_SGD, F4 * n * (momentum != 0.0f ? 5.0 : 3.0),
          P.inner->sgd_step(p, g, v, n, lr, momentum, nesterov));
}
/* p, m, v (n) read + written, g (n) read */
static void w_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                        float b2, float eps, int t) {
    TIMED(OP_ADAM, F4 * 7.0 * n, P.inner->adam_step(p, g, m, v, n, lr, b1, b2, eps, t));
}
/* x, y (n) read */
static double w_dot(const float *x, const float *y, size_t n) {
    double t0 = now_seconds();
    double r = P.inner->dot(x, y, n);
    P.sec[OP_DOT] += now_seconds() - t0;
    P.calls[OP_DOT]++;
    P.bytes[OP_DOT] += F4 * 2.0 * n;
    return r;
}
/* y (n) read + written, x (n) read */
static void w_axpy(float *y, float a, const float *x, size_t n) {
    TIMED(OP_AXPY, F4 * 3.0 * n, P.inner->axpy(y, a, x, n));
}
/* x (n) read + written */
static void w_scal(float *x, float a, size_t n) {
    TIMED(OP_SCAL, F4 * 2.0 * n, P.inner->scal(x, a, n));
}
/* Y (B,C) and labels (B) int32 read; conf (C,C) int32 read + written */
static void w_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C) {
    TIMED(OP_CONFUSION, F4 * ((double)B * C + B + 2.0 * C * C),
          P.inner->confusion_acc(conf, Y, labels, B, C));
}

/* The wrapper starts as a copy of the CPU table, so an op added to backend.h later is still
 * forwarded (untimed: it shows up in the "outside the ops" remainder). */
static const Backend *probe_backend(void) {
    P.inner = backend_cpu();
    P.outer = *P.inner;
    Backend *b = &P.outer;
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
    b->noise = w_noise;
    b->sgd_step = w_sgd_step;
    b->adam_step = w_adam_step;
    b->dot = w_dot;
    b->axpy = w_axpy;
    b->scal = w_scal;
    b->confusion_acc = w_confusion_acc;
    return b;
}

/* ---------------------------------------------------------------------------------------- */
/* the roofline: the recorded GEMM calls, replayed with cblas_sgemm alone                   */

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

/* Replays calls[0..n) `reps` times on buffers of the same sizes and aliasing as the recorded
 * ones (one buffer per distinct address, filled with values in [-1, 1]); returns the seconds of
 * each repetition in out. */
static void roofline_replay(const GemmCall *calls, int n, int reps, Samples *out) {
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
            float *C = reg[ix[i][2]].buf;
            switch (c->kind) {
            case 'n':
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->M, c->N, c->K, c->alpha,
                            A, c->K, B, c->N, c->beta, C, c->N);
                break;
            case 't':
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, c->alpha,
                            A, c->K, B, c->K, c->beta, C, c->N);
                break;
            default:
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->M, c->N, c->K, c->alpha,
                            A, c->M, B, c->N, c->beta, C, c->N);
                break;
            }
        }
        samples_add(out, now_seconds() - t0);
        /* keep accumulated values (beta = 1 calls) from growing without bound */
        for (int i = 0; i < nr; i++) memset(reg[i].buf, 0, reg[i].nfloats * sizeof(float));
    }
    for (int i = 0; i < nr; i++) free(reg[i].buf);
    free(reg);
    free(ix);
}

/* ---------------------------------------------------------------------------------------- */
/* the bandwidth probe: a STREAM triad in the worker's own process and threads               */

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
static double stream_gbs(size_t nbytes) {
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

/* ---------------------------------------------------------------------------------------- */
/* worker: one workload in this process                                                      */

typedef struct LayerShape {
    int I, O;
} LayerShape;

/* GEMM FLOPs of one pass over `rows` rows of a chain of n layers whose trained part starts at
 * `first` (n = first: forward only). */
static double chain_flops(const LayerShape *L, int n, int first, double rows) {
    double f = 0.0;
    for (int i = 0; i < n; i++) {
        double io = 2.0 * L[i].I * L[i].O;
        f += io;                          /* forward */
        if (i >= first) f += io;          /* dW */
        if (i > first) f += io;           /* dX */
    }
    return f * rows;
}

typedef struct Worker {
    WorkloadId w;
    int epochs;             /* timed (after one warm-up) */
    Samples epoch_s;        /* per timed epoch (lbfgs: per iteration) */
    double warm_s;
    int evals_after_warm;   /* lbfgs: evaluations at the end of the warm-up iteration */
    int evals_end;
    int eval_index_warm;    /* P.neval at the end of the warm-up iteration */
    double loss_first, loss_last;
} Worker;

static bool worker_on_epoch(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Worker *k = ctx;
    if (s->epoch == 1) {
        k->warm_s = s->seconds;
        k->loss_first = s->objective;
        k->evals_after_warm = s->evaluations;
        k->eval_index_warm = P.neval;
        P.recording = false;
        probe_reset();
    } else {
        samples_add(&k->epoch_s, s->seconds);
    }
    k->loss_last = s->objective;
    k->evals_end = s->evaluations;
    return true;
}

static Layer *add_layer(const Backend *be, Layer **stack, int *n, int I, int O, Act act,
                        InitKind init, RngStream *rng) {
    AeError err;
    Layer *l = layer_create(be, I, O, act, &err);
    if (!l) die("%s", err.msg);
    layer_init(be, l, init, rng);
    stack[(*n)++] = l;
    return l;
}

static int cmd_work(int argc, char **argv) {
    int threads = 0, epochs = 5;
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 0, 1024, &threads)) die("--threads: expected 0..1024");
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 1, MAX_SAMPLES - 1, &epochs)) die("--epochs: expected >= 1");
        } else if (strcmp(argv[i], "--cpu-clock") == 0) {
            probe_clock = CLOCK_PROCESS_CPUTIME_ID;
        } else if (!name) {
            name = argv[i];
        } else {
            die("work: unexpected argument '%s'", argv[i]);
        }
    }
    int w = name ? workload_find(name) : -1;
    if (w < 0) die("work: expected a workload (ae1, stacked, classifier, denoise, lbfgs)");
    threads = backend_cpu_set_threads(threads);

    char ti[1024], tl[1024], vi[1024], vl[1024], why[4096];
    if (!datasets_resolve("mnist", ti, tl, vi, vl, sizeof ti, why, sizeof why))
        die("MNIST not found: %s", why);
    AeError err;
    Dataset *train = dataset_load_idx(ti, tl, 10, &err);
    if (!train) die("%s", err.msg);
    Dataset *test = dataset_load_idx(vi, vl, 10, &err);
    if (!test) die("%s", err.msg);

    const Backend *be = probe_backend();
    DeviceData *dtrain = device_data_create(be, train, &err);
    DeviceData *dtest = dtrain ? device_data_create(be, test, &err) : NULL;
    if (!dtrain || !dtest) die("%s", err.msg);

    Model *m = model_create(be, 784, &err);
    RngStream rng = rng_stream(train_stage_seed(1, 1), RNG_STREAM_INIT);
    TrainTask t = {.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE, .batch_size = 1000,
                   .shuffle = true, .seed = 1, .stage_index = 1};
    t.opt.kind = OPT_SGD;
    t.opt.lr = 0.98f;
    LayerShape L[8];
    int nl = 0, first = 0;
    double rows = train->n, eval_flops = 0.0;
    const DeviceData *eval = NULL;
    switch ((WorkloadId)w) {
    case W_AE1:
    case W_DENOISE:
        add_layer(be, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->dec, &m->ndec, 400, 784, ACT_SIGMOID, INIT_PYTORCH, &rng);
        L[nl++] = (LayerShape){784, 400};
        L[nl++] = (LayerShape){400, 784};
        if (w == W_DENOISE) {
            t.opt = (OptimSpec){.kind = OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                                .eps = 1e-8f};
            t.noise = (NoiseSpec){.kind = NOISE_GAUSSIAN, .mean = 0.1f, .std = 0.2f,
                                  .clamp = true, .lo = 0.0f, .hi = 1.0f};
            t.sparsity = (SparsitySpec){.kind = PEN_L1, .weight = 0.1f};
        }
        break;
    case W_STACKED:
        add_layer(be, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->enc, &m->nenc, 400, 256, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->dec, &m->ndec, 256, 400, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->dec, &m->ndec, 400, 784, ACT_SIGMOID, INIT_PYTORCH, &rng);
        L[nl++] = (LayerShape){784, 400};
        L[nl++] = (LayerShape){400, 256};
        L[nl++] = (LayerShape){256, 400};
        L[nl++] = (LayerShape){400, 784};
        t.depth = 2;
        break;
    case W_CLASSIFIER:
        add_layer(be, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->enc, &m->nenc, 400, 256, ACT_TANH, INIT_PYTORCH, &rng);
        add_layer(be, m->head, &m->nhead, 256, 10, ACT_LOGSOFTMAX, INIT_PYTORCH, &rng);
        L[nl++] = (LayerShape){784, 400};
        L[nl++] = (LayerShape){400, 256};
        L[nl++] = (LayerShape){256, 10};
        t.kind = TASK_CLASSIFIER;
        t.loss = LOSS_NLL;
        t.opt.lr = 0.1f;
        eval = dtest;
        eval_flops = chain_flops(L, nl, nl, test->n);
        break;
    case W_LBFGS:
        add_layer(be, m->enc, &m->nenc, 784, 196, ACT_SIGMOID, INIT_UFLDL, &rng);
        add_layer(be, m->dec, &m->ndec, 196, 784, ACT_SIGMOID, INIT_UFLDL, &rng);
        L[nl++] = (LayerShape){784, 196};
        L[nl++] = (LayerShape){196, 784};
        t.loss = LOSS_HALF_SSE;
        t.opt = (OptimSpec){.kind = OPT_LBFGS, .lr = 1.0f, .history = 100, .max_eval = 1000000,
                            .tol_grad = 1e-7, .tol_change = 1e-9};
        t.subset = 10000;
        t.sparsity = (SparsitySpec){.kind = PEN_KL, .rho = 0.1f, .beta = 3.0f};
        t.weight_decay = 3e-3f;
        rows = t.subset;
        P.lbfgs = true;
        P.stop_on_download = true;
        break;
    default: die("unknown workload");
    }
    if (!model_check(m, &err)) die("%s", err.msg);
    t.epochs = 1 + epochs;
    double flops = chain_flops(L, nl, first, rows) + eval_flops; /* per epoch / evaluation */

    Worker k = {.w = (WorkloadId)w, .epochs = epochs};
    TrainHooks hooks = {.ctx = &k, .on_epoch = worker_on_epoch};
    probe_reset();
    P.nrec = 0;
    P.recording = true;
    TrainStatus st = train_stage(m, &t, dtrain, eval, &hooks, &err);
    if (st != TRAIN_OK) die("train_stage: %s", err.msg);
    int timed = k.epoch_s.n;
    if (timed == 0) die("no timed epochs (the stage stopped after its warm-up)");

    /* what the ops cost per timed epoch (lbfgs: per timed iteration) */
    double op_sec[OP_COUNT], op_bytes[OP_COUNT];
    long op_calls[OP_COUNT];
    for (int op = 0; op < OP_COUNT; op++) {
        op_sec[op] = P.sec[op] / timed;
        op_calls[op] = P.calls[op] / timed;
        op_bytes[op] = P.bytes[op] / timed;
    }
    double counted = P.gemm_flops / timed;

    Samples roof = {0};
    roofline_replay(P.rec, P.nrec, w == W_LBFGS ? 5 : 2, &roof);
    /* The workload's peak RSS, before the probe's arrays (3 x 64 MiB) would add to it. */
    long rss_kb = peak_rss_kb();
    /* 4 MiB: one batch's activations (1000 x 784 floats = 3.1 MB) and what a pass over them
     * can expect from the caches; 64 MiB: what it would get from further out. */
    double gbs_l3 = stream_gbs((size_t)4 << 20), gbs_dram = stream_gbs((size_t)64 << 20);

    printf("workload %s\n", WORKLOAD_NAMES[w]);
    printf("threads %d\n", threads);
    printf("corename %s\n", openblas_get_corename());
    printf("warm_s %.6f\n", k.warm_s);
    for (int i = 0; i < timed; i++) printf("epoch_s %.6f\n", k.epoch_s.v[i]);
    for (int i = 0; i < roof.n; i++) printf("roofline_s %.6f\n", roof.v[i]);
    printf("gemm_calls %d\n", P.nrec);
    if (w == W_LBFGS) {
        printf("flops_per_eval %.6e\n", flops);
        int evals = k.evals_end - k.evals_after_warm;
        printf("evals_per_iter %.4f\n", (double)evals / timed);
        for (int i = k.eval_index_warm; i < P.neval; i++) printf("eval_s %.6f\n", P.eval_s[i]);
        double cnt_eval = evals > 0 ? P.gemm_flops / evals : NAN;
        printf("flops_counted %.6e\n", cnt_eval);
    } else {
        printf("flops_per_epoch %.6e\n", flops);
        printf("flops_counted %.6e\n", counted);
    }
    for (int op = 0; op < OP_COUNT; op++)
        if (op_calls[op] > 0 || op_sec[op] > 0)
            printf("op %s %.6f %ld %.0f\n", OP_NAMES[op], op_sec[op], op_calls[op],
                   op_bytes[op]);
    printf("stream_gbs_l3 %.3f\n", gbs_l3);
    printf("stream_gbs_dram %.3f\n", gbs_dram);
    printf("objective %.6g %.6g\n", k.loss_first, k.loss_last);
    printf("rss_kb %ld\n", rss_kb);

    model_free(m);
    device_data_free(dtrain);
    device_data_free(dtest);
    dataset_free(train);
    dataset_free(test);
    return 0;
}

/* bench load: the time to load MNIST (train + test) and upload it to the CPU backend. */
static int cmd_load(int argc, char **argv) {
    int threads = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 0, 1024, &threads)) die("--threads: expected 0..1024");
        } else {
            die("load: unexpected argument '%s'", argv[i]);
        }
    }
    double t0 = now_seconds();
    backend_cpu_set_threads(threads);
    char ti[1024], tl[1024], vi[1024], vl[1024], why[4096];
    if (!datasets_resolve("mnist", ti, tl, vi, vl, sizeof ti, why, sizeof why))
        die("MNIST not found: %s", why);
    AeError err;
    double t1 = now_seconds();
    Dataset *train = dataset_load_idx(ti, tl, 10, &err);
    Dataset *test = train ? dataset_load_idx(vi, vl, 10, &err) : NULL;
    if (!train || !test) die("%s", err.msg);
    double t2 = now_seconds();
    const Backend *be = backend_cpu();
    DeviceData *a = device_data_create(be, train, &err);
    DeviceData *b = a ? device_data_create(be, test, &err) : NULL;
    if (!a || !b) die("%s", err.msg);
    double t3 = now_seconds();
    printf("resolve_s %.6f\n", t1 - t0);
    printf("load_s %.6f\n", t2 - t1);
    printf("upload_s %.6f\n", t3 - t2);
    printf("rss_kb %ld\n", peak_rss_kb());
    device_data_free(a);
    device_data_free(b);
    dataset_free(train);
    dataset_free(test);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* orchestrator                                                                              */

typedef struct Proc {
    int rc;             /* exit status; -1 when it could not run; 128+N on signal N */
    double wall_s;
    long maxrss_kb;     /* of the child (wait4) */
    double others;      /* CPU cores busy with other processes meanwhile (mean) */
    char *out;          /* stdout, NUL-terminated, owned */
    char err_tail[512]; /* the last stderr line */
} Proc;

static void proc_clear(Proc *p) {
    free(p->out);
    p->out = NULL;
}

/* Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait). */
static double machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return NAN;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return NAN;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static char *read_all(int fd) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) die("out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("out of memory");
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

/* Runs argv (argv[0] looked up in PATH) with env additions `setenv_kv` ("K=V" strings, NULL
 * ended; "K=" unsets K), capturing stdout and stderr (stderr is also echoed to ours when
 * `echo_err`), and its wall time and peak RSS. */
static Proc proc_run(char *const argv[], const char *const *setenv_kv, bool echo_err) {
    Proc p = {.rc = -1};
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    double busy0 = machine_busy_s();
    double t0 = now_seconds();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        for (const char *const *kv = setenv_kv; kv && *kv; kv++) {
            char key[256];
            const char *eq = strchr(*kv, '=');
            size_t kl = eq ? (size_t)(eq - *kv) : strlen(*kv);
            if (kl >= sizeof key) continue;
            memcpy(key, *kv, kl);
            key[kl] = '\0';
            if (eq && eq[1]) setenv(key, eq + 1, 1);
            else unsetenv(key);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    /* stderr is small (progress, errors); read it after stdout: children print little to
     * either, well under a pipe buffer, except stdout which we drain first. */
    p.out = read_all(out_pipe[0]);
    char *errtxt = read_all(err_pipe[0]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) die("wait4: %s", strerror(errno));
    p.wall_s = now_seconds() - t0;
    p.maxrss_kb = ru.ru_maxrss;
    double own = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    p.others = (machine_busy_s() - busy0 - own) / p.wall_s;
    if (p.others < 0) p.others = 0;
    p.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (echo_err && *errtxt) fputs(errtxt, stderr);
    /* the last non-empty line of stderr */
    size_t len = strlen(errtxt);
    while (len && (errtxt[len - 1] == '\n' || errtxt[len - 1] == '\r')) errtxt[--len] = '\0';
    const char *nl = strrchr(errtxt, '\n');
    snprintf(p.err_tail, sizeof p.err_tail, "%s", nl ? nl + 1 : errtxt);
    free(errtxt);
    return p;
}

/* What one side (aelab or PyTorch) measured for one workload, over all rounds. */
typedef struct Side {
    bool ran;
    char error[600];
    Samples epoch_s, roofline_s, eval_s;
    double flops, flops_counted;
    double evals_per_iter_sum;
    int evals_rounds;
    long rss_kb;
    double op_sec[OP_COUNT];
    long op_calls[OP_COUNT];
    double op_bytes[OP_COUNT]; /* the byte model, summed like op_sec; NaN from a 3-field line */
    int op_rounds;
    Samples stream_l3, stream_dram; /* the triad's GB/s, 4 MiB and 64 MiB arrays, per process */
    char corename[64];
    char info[256];
    double obj_first, obj_last;
    Samples others;     /* cores busy with other processes during each of its processes */
    int nprocs, nclean; /* merged sides: processes run, and clean ones (see runs_merge) */
} Side;

/* Parses the "key value" protocol into s (values from several rounds accumulate). */
static void side_parse(Side *s, const char *out) {
    const char *line = out;
    bool ops_seen = false;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[512];
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *sp = strchr(buf, ' ');
        if (sp) {
            *sp = '\0';
            const char *key = buf, *val = sp + 1;
            double v;
            if (strcmp(key, "epoch_s") == 0 && parse_double(val, &v)) samples_add(&s->epoch_s, v);
            else if (strcmp(key, "roofline_s") == 0 && parse_double(val, &v))
                samples_add(&s->roofline_s, v);
            else if (strcmp(key, "eval_s") == 0 && parse_double(val, &v))
                samples_add(&s->eval_s, v);
            else if ((strcmp(key, "flops_per_epoch") == 0 || strcmp(key, "flops_per_eval") == 0) &&
                     parse_double(val, &v))
                s->flops = v;
            else if (strcmp(key, "flops_counted") == 0 && parse_double(val, &v))
                s->flops_counted = v;
            else if (strcmp(key, "evals_per_iter") == 0 && parse_double(val, &v)) {
                s->evals_per_iter_sum += v;
                s->evals_rounds++;
            } else if (strcmp(key, "rss_kb") == 0 && parse_double(val, &v)) {
                if ((long)v > s->rss_kb) s->rss_kb = (long)v;
            } else if (strcmp(key, "corename") == 0) {
                snprintf(s->corename, sizeof s->corename, "%s", val);
            } else if (strcmp(key, "info") == 0) {
                snprintf(s->info, sizeof s->info, "%s", val);
            } else if (strcmp(key, "objective") == 0) {
                sscanf(val, "%lf %lf", &s->obj_first, &s->obj_last);
            } else if (strcmp(key, "stream_gbs_l3") == 0 && parse_double(val, &v)) {
                samples_add(&s->stream_l3, v);
            } else if (strcmp(key, "stream_gbs_dram") == 0 && parse_double(val, &v)) {
                samples_add(&s->stream_dram, v);
            } else if (strcmp(key, "op") == 0) {
                /* "op NAME SECONDS CALLS [BYTES]": a line without BYTES (an older worker)
                 * leaves the op's bytes unknown */
                char name[64];
                double sec, bytes;
                long calls;
                int nf = sscanf(val, "%63s %lf %ld %lf", name, &sec, &calls, &bytes);
                if (nf == 3) bytes = NAN;
                if (nf >= 3)
                    for (int op = 0; op < OP_COUNT; op++)
                        if (strcmp(name, OP_NAMES[op]) == 0) {
                            s->op_sec[op] += sec;
                            s->op_calls[op] = calls;
                            s->op_bytes[op] += bytes;
                            ops_seen = true;
                        }
            }
        }
        line = end ? end + 1 : line + len;
    }
    if (ops_seen) s->op_rounds++;
}

typedef struct Options {
    int threads;
    int rounds;
    int epochs;        /* timed epochs per process (after one warm-up) */
    int lbfgs_iters;   /* timed L-BFGS iterations per process */
    bool workloads[W_COUNT];
    const char *self;  /* this program, for the workers */
    const char *aelab; /* bin/aelab ("" to skip its timings) */
    const char *python;/* an interpreter with torch and numpy ("" when none) */
    const char *python_why;
    const char *peer;  /* bench/peer_torch.py */
    const char *outdir;
    const char *scratch; /* for the lecture run's directory (git-ignored) */
    const char *commit;
    bool run_lecture;  /* time `aelab run` of lecture 17 */
    bool torch_default_core; /* also time PyTorch's AE1 with OpenBLAS's own core choice */
    bool variants;     /* also time AE1 on both sides with the AVX-512 (SkylakeX) kernels */
    double budget_s;   /* the whole `bench all` should end within this */
} Options;

/* A process whose `others` stayed at or below this many cores counts as clean. */
#define CLEAN_OTHERS 0.10
#define MAX_PROCS 6

/* The processes of one side and workload, each parsed on its own. */
typedef struct Runs {
    Side p[MAX_PROCS];
    int n;
} Runs;

typedef struct Results {
    Runs aelab_runs[W_COUNT], torch_runs[W_COUNT];
    double pair_s[W_COUNT];             /* wall time of the slowest aelab + PyTorch pair */
    Side aelab[W_COUNT], torch[W_COUNT]; /* merged from the runs (see runs_merge) */
    Side torch_default; /* AE1 with the library's own core detection */
    Side aelab_skx, torch_skx; /* AE1 with OPENBLAS_CORETYPE=SkylakeX */
    Side aelab_passive;        /* AE1 with OMP_WAIT_POLICY=passive */
    Samples version_s, datasets_s, load_proc_s, load_s, upload_s;
    long load_rss_kb;
    char startup_error[600];
    /* aelab run experiments/lecture17_mnist_stacked.yaml */
    bool run_done;
    double run_wall_s;
    long run_rss_kb;
    double run_others;
    char run_note[1400];
    double total_s;
    int rounds_done;
    char budget_note[300];
} Results;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* core: NULL keeps OPENBLAS_CORETYPE as it is; "" unsets it (the library's own detection);
 * a name sets it. */
static void core_env(char *buf, size_t n, const char *core) {
    snprintf(buf, n, "OPENBLAS_CORETYPE=%s", core ? core : "");
}

static const char *core_label(const char *core) {
    static char buf[96];
    if (!core) return "";
    snprintf(buf, sizeof buf, " [OPENBLAS_CORETYPE=%s]", core[0] ? core : "unset");
    return buf;
}

static int runs_clean(const Runs *r) {
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->p[i].ran && r->p[i].others.n && r->p[i].others.v[0] <= CLEAN_OTHERS) n++;
    return n;
}

/* Merges the processes of r into out: only the clean ones when there is any (other people's
 * jobs only ever add time), all of them otherwise. Peak RSS is the largest of all. */
static void runs_merge(const Runs *r, Side *out) {
    memset(out, 0, sizeof *out);
    int clean = runs_clean(r);
    out->nprocs = r->n;
    out->nclean = clean;
    for (int i = 0; i < r->n; i++) {
        const Side *p = &r->p[i];
        if (!p->ran) {
            if (!out->ran) snprintf(out->error, sizeof out->error, "%s", p->error);
            continue;
        }
        if (p->rss_kb > out->rss_kb) out->rss_kb = p->rss_kb;
        bool is_clean = p->others.n && p->others.v[0] <= CLEAN_OTHERS;
        if (clean && !is_clean) continue;
        out->ran = true;
        out->error[0] = '\0';
        for (int k = 0; k < p->epoch_s.n; k++) samples_add(&out->epoch_s, p->epoch_s.v[k]);
        for (int k = 0; k < p->roofline_s.n; k++) samples_add(&out->roofline_s, p->roofline_s.v[k]);
        for (int k = 0; k < p->eval_s.n; k++) samples_add(&out->eval_s, p->eval_s.v[k]);
        for (int k = 0; k < p->others.n; k++) samples_add(&out->others, p->others.v[k]);
        out->flops = p->flops;
        out->flops_counted = p->flops_counted;
        out->evals_per_iter_sum += p->evals_per_iter_sum;
        out->evals_rounds += p->evals_rounds;
        for (int op = 0; op < OP_COUNT; op++) {
            out->op_sec[op] += p->op_sec[op];
            out->op_bytes[op] += p->op_bytes[op];
            if (p->op_calls[op]) out->op_calls[op] = p->op_calls[op];
        }
        out->op_rounds += p->op_rounds;
        for (int k = 0; k < p->stream_l3.n; k++) samples_add(&out->stream_l3, p->stream_l3.v[k]);
        for (int k = 0; k < p->stream_dram.n; k++)
            samples_add(&out->stream_dram, p->stream_dram.v[k]);
        snprintf(out->corename, sizeof out->corename, "%s", p->corename);
        snprintf(out->info, sizeof out->info, "%s", p->info);
        out->obj_first = p->obj_first;
        out->obj_last = p->obj_last;
    }
}

static void run_aelab_worker(const Options *o, int w, Side *s, const char *core,
                             const char *extra_env) {
    char threads[16], epochs[16], ce[96];
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(epochs, sizeof epochs, "%d", w == W_LBFGS ? o->lbfgs_iters : o->epochs);
    core_env(ce, sizeof ce, core);
    const char *env[3] = {NULL, NULL, NULL};
    int ne = 0;
    if (core) env[ne++] = ce;
    if (extra_env) env[ne++] = extra_env;
    char *argv[] = {(char *)o->self, "work", (char *)WORKLOAD_NAMES[w], "--threads", threads,
                    "--epochs", epochs, NULL};
    Proc p = proc_run(argv, env, false);
    if (p.rc != 0) {
        snprintf(s->error, sizeof s->error, "failed (exit %d): %s", p.rc, p.err_tail);
        say("aelab %s: %s", WORKLOAD_NAMES[w], s->error);
    } else {
        s->ran = true;
        side_parse(s, p.out);
        samples_add(&s->others, p.others);
        say("aelab %-10s median so far %.3f s (%.1f s wall; other processes used %.2f cores)%s%s",
            WORKLOAD_NAMES[w], samples_median(w == W_LBFGS ? &s->eval_s : &s->epoch_s),
            p.wall_s, p.others, core_label(core), extra_env ? " [passive OpenMP waits]" : "");
    }
    proc_clear(&p);
}

static void run_torch_worker(const Options *o, int w, Side *s, const char *core) {
    if (!o->python[0]) {
        snprintf(s->error, sizeof s->error, "%s", o->python_why);
        return;
    }
    char threads[16], epochs[16], nt[48], ob[48], ce[96];
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(epochs, sizeof epochs, "%d", w == W_LBFGS ? o->lbfgs_iters : o->epochs);
    snprintf(nt, sizeof nt, "OMP_NUM_THREADS=%d", o->threads);
    snprintf(ob, sizeof ob, "OPENBLAS_NUM_THREADS=%d", o->threads);
    core_env(ce, sizeof ce, core);
    const char *env[] = {nt, ob, core ? ce : NULL, NULL};
    char *argv[] = {(char *)o->python, (char *)o->peer, "--workload", (char *)WORKLOAD_NAMES[w],
                    "--threads", threads, "--epochs", epochs, NULL};
    Proc p = proc_run(argv, env, false);
    if (p.rc != 0) {
        snprintf(s->error, sizeof s->error, "failed (exit %d): %s", p.rc, p.err_tail);
        say("torch %s: %s", WORKLOAD_NAMES[w], s->error);
    } else {
        s->ran = true;
        side_parse(s, p.out);
        samples_add(&s->others, p.others);
        say("torch %-10s median so far %.3f s (%.1f s wall; other processes used %.2f cores)%s",
            WORKLOAD_NAMES[w], samples_median(w == W_LBFGS ? &s->eval_s : &s->epoch_s),
            p.wall_s, p.others, core_label(core));
    }
    proc_clear(&p);
}

static double sample_value(const char *out, const char *key) {
    size_t kl = strlen(key);
    for (const char *l = out; l && *l;) {
        if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
            double v;
            if (parse_double(l + kl + 1, &v)) return v;
        }
        l = strchr(l, '\n');
        if (l) l++;
    }
    return NAN;
}

static void run_startup(const Options *o, Results *r) {
    char threads[16];
    snprintf(threads, sizeof threads, "%d", o->threads);
    for (int i = 0; i < 5; i++) {
        char *largv[] = {(char *)o->self, "load", "--threads", threads, NULL};
        Proc p = proc_run(largv, NULL, false);
        if (p.rc != 0) {
            snprintf(r->startup_error, sizeof r->startup_error, "bench load failed (exit %d): %s",
                     p.rc, p.err_tail);
            proc_clear(&p);
            return;
        }
        samples_add(&r->load_proc_s, p.wall_s);
        samples_add(&r->load_s, sample_value(p.out, "load_s"));
        samples_add(&r->upload_s, sample_value(p.out, "upload_s"));
        double rss = sample_value(p.out, "rss_kb");
        if (rss > r->load_rss_kb) r->load_rss_kb = (long)rss;
        proc_clear(&p);
        if (!o->aelab[0]) continue;
        char *vargv[] = {(char *)o->aelab, "--version", NULL};
        /* the user's environment: bin/aelab picks its kernels itself (re-exec included) */
        const char *env[] = {"OPENBLAS_CORETYPE=", NULL};
        p = proc_run(vargv, env, false);
        if (p.rc == 0) samples_add(&r->version_s, p.wall_s);
        proc_clear(&p);
        char *dargv[] = {(char *)o->aelab, "datasets", NULL};
        p = proc_run(dargv, env, false);
        if (p.rc == 0) samples_add(&r->datasets_s, p.wall_s);
        proc_clear(&p);
    }
}

static void run_lecture(const Options *o, Results *r) {
    if (!o->aelab[0]) {
        snprintf(r->run_note, sizeof r->run_note, "not measured: bin/aelab is not built");
        return;
    }
    if (access(o->aelab, X_OK) != 0) {
        snprintf(r->run_note, sizeof r->run_note, "not measured: %s: %s", o->aelab,
                 strerror(errno));
        return;
    }
    char outdir[1100], threads[16];
    snprintf(outdir, sizeof outdir, "%s/lecture17_run", o->scratch);
    snprintf(threads, sizeof threads, "%d", o->threads);
    const char *env[] = {"OPENBLAS_CORETYPE=", NULL};
    /* A cold run: the runner's stage cache would otherwise answer a repeated run at once. */
    char *hargv[] = {(char *)o->aelab, "run", "--help", NULL};
    Proc h = proc_run(hargv, env, false);
    bool has_no_cache = h.out && strstr(h.out, "--no-cache");
    proc_clear(&h);
    char *argv[] = {(char *)o->aelab, "run", "experiments/lecture17_mnist_stacked.yaml", "--out",
                    outdir, "--threads", threads, "-q", has_no_cache ? "--no-cache" : NULL, NULL};
    say("timing `%s run experiments/lecture17_mnist_stacked.yaml` (30 epochs) ...", o->aelab);
    Proc p = proc_run(argv, env, false);
    if (p.rc != 0) {
        snprintf(r->run_note, sizeof r->run_note, "not measured: `aelab run` exited %d: %s", p.rc,
                 p.err_tail);
    } else {
        r->run_done = true;
        r->run_wall_s = p.wall_s;
        r->run_rss_kb = p.maxrss_kb;
        r->run_others = p.others;
        snprintf(r->run_note, sizeof r->run_note, "results in %s", outdir);
    }
    say("aelab run: %s", r->run_done ? "done" : r->run_note);
    proc_clear(&p);
}

/* ---- report ---- */

static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t') c++;
                snprintf(buf, n, "%s", c);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static bool cpu_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return false;
    char line[4096];
    bool found = false;
    size_t fl = strlen(flag);
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag))
            if ((p == line || p[-1] == ' ') && (p[fl] == ' ' || p[fl] == '\n')) found = true;
        break;
    }
    fclose(f);
    return found;
}

/* What OpenBLAS's SkylakeX kernels need. */
static bool avx512_usable(void) {
    return cpu_flag("avx512f") && cpu_flag("avx512bw") && cpu_flag("avx512dq") &&
           cpu_flag("avx512vl");
}

/* Formats a double with prec decimals, or "n/a" for NaN. */
static const char *fmt(char *buf, size_t n, double v, int prec) {
    if (isnan(v) || isinf(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}

typedef struct Row {
    double s, s_min, s_max;   /* aelab s/epoch (lbfgs: s/evaluation) */
    double gflops, roof_s, roof_gflops, pct_roof;
    double elem_pct;          /* element-wise ops / epoch */
    double elem_s, elem_mb;   /* element-wise seconds and byte-model MB per epoch */
    double elem_gbs;          /* elem_mb / elem_s, in GB/s */
    double stream_l3, stream_dram; /* the triad's GB/s, 4 MiB and 64 MiB arrays */
    /* The floor: the element-wise bytes at the triad's 4 MiB bandwidth, in seconds and as a
     * share of an epoch whose other parts stay as measured. */
    double floor_s, floor_pct;
    double rss_mb;
    double t_s, t_rss_mb, speedup;
    int n, tn;
} Row;

static double op_total(const Side *s, bool gemm) {
    double t = 0.0;
    for (int op = 0; op < OP_COUNT; op++)
        if (op_is_gemm(op) == gemm) t += s->op_sec[op];
    return s->op_rounds ? t / s->op_rounds : NAN;
}

/* The byte model's bytes per epoch (lbfgs: per iteration) of the GEMMs or of the rest. */
static double op_bytes_total(const Side *s, bool gemm) {
    double b = 0.0;
    for (int op = 0; op < OP_COUNT; op++)
        if (op_is_gemm(op) == gemm) b += s->op_bytes[op];
    return s->op_rounds ? b / s->op_rounds : NAN;
}

static Row row_make(const Side *a, const Side *t, int w) {
    Row r;
    const Samples *as = w == W_LBFGS ? &a->eval_s : &a->epoch_s;
    const Samples *ts = w == W_LBFGS ? &t->eval_s : &t->epoch_s;
    r.n = as->n;
    r.tn = ts->n;
    r.s = a->ran ? samples_median(as) : NAN;
    r.s_min = samples_min(as);
    r.s_max = samples_max(as);
    r.gflops = a->flops / r.s * 1e-9;
    r.roof_s = samples_median(&a->roofline_s);
    r.roof_gflops = a->flops / r.roof_s * 1e-9;
    r.pct_roof = 100.0 * r.roof_s / r.s;
    /* element-wise share: over the mean epoch the ops saw (lbfgs: per iteration) */
    double g = op_total(a, true), e = op_total(a, false);
    double epoch_mean = 0.0;
    for (int i = 0; i < a->epoch_s.n; i++) epoch_mean += a->epoch_s.v[i];
    epoch_mean = a->epoch_s.n ? epoch_mean / a->epoch_s.n : NAN;
    (void)g;
    r.elem_pct = 100.0 * e / epoch_mean;
    r.elem_s = e;
    r.elem_mb = op_bytes_total(a, false) * 1e-6;
    r.elem_gbs = r.elem_mb / e * 1e-3;
    r.stream_l3 = samples_median(&a->stream_l3);
    r.stream_dram = samples_median(&a->stream_dram);
    r.floor_s = r.elem_mb / r.stream_l3 * 1e-3;
    r.floor_pct = 100.0 * r.floor_s / (epoch_mean - e + r.floor_s);
    r.rss_mb = a->rss_kb / 1024.0;
    r.t_s = t->ran ? samples_median(ts) : NAN;
    r.t_rss_mb = t->ran ? t->rss_kb / 1024.0 : NAN;
    r.speedup = r.t_s / r.s;
    return r;
}

/* One line of the training table: aelab's side as, PyTorch's ts. */
static void table_row(FILE *f, const char *title, const Side *as, const Side *ts, int w) {
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32], i2[32], j[32];
    Row r = row_make(as, ts, w);
    char tcol[700], spcol[64], trss[64];
    if (ts->ran) {
        snprintf(tcol, sizeof tcol, "%s", fmt(a, sizeof a, r.t_s, 3));
        snprintf(spcol, sizeof spcol, "%s×", fmt(b, sizeof b, r.speedup, 2));
        snprintf(trss, sizeof trss, "%s", fmt(c, sizeof c, r.t_rss_mb, 0));
    } else {
        snprintf(tcol, sizeof tcol, "%s", ts->error[0] ? ts->error : "not run");
        snprintf(spcol, sizeof spcol, "—");
        snprintf(trss, sizeof trss, "—");
    }
    char load[120], na[24] = "", nb[24] = "";
    if (as->nprocs) snprintf(na, sizeof na, " (%d/%d)", as->nclean, as->nprocs);
    if (ts->nprocs) snprintf(nb, sizeof nb, " (%d/%d)", ts->nclean, ts->nprocs);
    snprintf(load, sizeof load, "%s%s / %s%s", fmt(a, sizeof a, samples_median(&as->others), 2),
             na, fmt(b, sizeof b, samples_median(&ts->others), 2), nb);
    if (!as->ran) {
        fprintf(f, "| %s | %s | | | | | | %s | %s | %s | %s |\n", title, as->error, tcol, spcol,
                trss, load);
        return;
    }
    fprintf(f, "| %s | %s (%s–%s) | %s | %s (%s) | %s%% | %s%% | %s | %s | %s | %s | %s |\n",
            title,
            fmt(a, sizeof a, r.s, 3), fmt(b, sizeof b, r.s_min, 3), fmt(c, sizeof c, r.s_max, 3),
            fmt(d, sizeof d, r.gflops, 1), fmt(e, sizeof e, r.roof_s, 3),
            fmt(g, sizeof g, r.roof_gflops, 1), fmt(h, sizeof h, r.pct_roof, 0),
            fmt(i2, sizeof i2, r.elem_pct, 1), fmt(j, sizeof j, r.rss_mb, 0), tcol, spcol, trss,
            load);
}

static void write_report(const Options *o, Results *R) {
    char path[1200], tmp[1300];
    snprintf(path, sizeof path, "%s/results.md", o->outdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("%s: %s", tmp, strerror(errno));
    char cpu[256], date[64];
    cpu_model(cpu, sizeof cpu);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&now));
    const char *core_env = getenv("OPENBLAS_CORETYPE");
    char a[32], b[32], c[32], d[32], k2[32], p2[32];

    fprintf(f, "# aelab benchmarks\n\n");
    fprintf(f, "Produced by `make bench` (bench/run.sh, bench/bench.c, bench/peer_torch.py) on "
               "%s.\n\n", date);
    fprintf(f, "- CPU: %s, %ld cores online (avx2 %s, fma %s, avx512f %s)\n", cpu,
            sysconf(_SC_NPROCESSORS_ONLN), cpu_flag("avx2") ? "yes" : "no",
            cpu_flag("fma") ? "yes" : "no", cpu_flag("avx512f") ? "yes" : "no");
    fprintf(f, "- OpenBLAS: %s; core in use: **%s** (OPENBLAS_CORETYPE=%s)\n",
            openblas_get_config(), openblas_get_corename(), core_env ? core_env : "unset");
    fprintf(f, "- Threads: %d (OpenBLAS and OpenMP in aelab; torch.set_num_threads, "
               "OMP_NUM_THREADS and OPENBLAS_NUM_THREADS in PyTorch)\n", o->threads);
    fprintf(f, "- aelab %s, commit %s; PyTorch: %s\n", AE_VERSION, o->commit,
            R->torch[W_AE1].info[0] ? R->torch[W_AE1].info
                                    : (o->python[0] ? "see errors below" : o->python_why));
    fprintf(f, "- Method: each workload runs in its own process: one warm-up epoch, then %d "
               "timed epochs (L-BFGS: %d iterations); %d round(s), alternating aelab and "
               "PyTorch per workload. Figures are medians over all timed epochs of all rounds. "
               "FLOPs are the GEMM FLOPs of forward + backward (2·B·I·O per layer forward, "
               "the same for dW, and for dX above the lowest trained layer; the classifier "
               "epoch adds the forward pass over the 10k test images). The roofline replays "
               "the exact sequence of cblas_sgemm calls of one epoch (the shapes, transposes "
               "and buffer aliasing the engine used), in the same process, twice per process "
               "(L-BFGS: 5 evaluations), median over the processes. Element-wise = every "
               "backend op except the GEMMs (bias+activation, activation backward, column "
               "sums, loss, penalties, noise, gather, optimizer, fills, copies); their MB are "
               "the byte model's minimum traffic (bench/README.md), and each aelab process "
               "ends with a STREAM triad over 4 MiB and 64 MiB arrays, same threads. Peak RSS "
               "is getrusage's ru_maxrss of the process (before the triad's arrays), MNIST "
               "train + test loaded.%s%s\n",
            o->epochs, o->lbfgs_iters, R->rounds_done, R->budget_note[0] ? " Note: " : "",
            R->budget_note);
    {
        Samples all = {0};
        for (int w = 0; w < W_COUNT; w++) {
            const Runs *runs[2] = {&R->aelab_runs[w], &R->torch_runs[w]};
            for (int k = 0; k < 2; k++)
                for (int i = 0; i < runs[k]->n; i++)
                    for (int j = 0; j < runs[k]->p[i].others.n; j++)
                        samples_add(&all, runs[k]->p[i].others.v[j]);
        }
        fprintf(f, "- Noise: CPU used by other processes while each measuring process ran "
                   "(/proc/stat minus the process's own CPU time), in cores out of %ld: "
                   "median %.2f, max %.2f. Processes with more than 0.10 count as noisy: a "
                   "workload whose process was noisy is run again when the time budget allows, "
                   "and the figures use only the clean processes when there is one (the `other "
                   "load` column: median of the processes used, then clean/all processes).\n\n",
                sysconf(_SC_NPROCESSORS_ONLN), samples_median(&all), samples_max(&all));
    }

    fprintf(f, "## Training epochs\n\n");
    fprintf(f, "| workload | aelab s/epoch (min–max) | GFLOP/s | roofline s (GFLOP/s) | "
               "%% of roofline | element-wise %% | peak RSS MB | PyTorch s/epoch | "
               "aelab speed-up vs PyTorch | PyTorch peak RSS MB | other load (aelab/PyTorch) |\n");
    fprintf(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w]) continue;
        const Side *as = &R->aelab[w], *ts = &R->torch[w];
        char title[160];
        snprintf(title, sizeof title, "%s%s", WORKLOAD_TITLES[w],
                 w == W_LBFGS ? " — per evaluation" : "");
        table_row(f, title, as, ts, w);
        if (w == W_LBFGS && as->ran) {
            double ai = samples_median(&as->epoch_s), ti = samples_median(&ts->epoch_s);
            double ae = as->evals_rounds ? as->evals_per_iter_sum / as->evals_rounds : NAN;
            double te = ts->evals_rounds ? ts->evals_per_iter_sum / ts->evals_rounds : NAN;
            fprintf(f, "| UFLDL L-BFGS — per iteration (evaluations/iteration: aelab %s, "
                       "PyTorch %s) | %s | | | | | | %s | %s | | |\n",
                    fmt(a, sizeof a, ae, 2), fmt(b, sizeof b, te, 2), fmt(c, sizeof c, ai, 3),
                    ts->ran ? fmt(d, sizeof d, ti, 3) : "—",
                    ts->ran ? (snprintf(k2, sizeof k2, "%.2f× (per iteration)", ti / ai), k2)
                            : "—");
        }
    }
    if (R->aelab_skx.ran || R->aelab_skx.error[0])
        table_row(f, "L17 AE1 epoch with the AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX on both "
                     "sides; one process each)", &R->aelab_skx, &R->torch_skx, W_AE1);
    if (R->aelab_passive.ran || R->aelab_passive.error[0]) {
        static Side none;
        snprintf(none.error, sizeof none.error, "—");
        table_row(f, "L17 AE1 epoch, aelab with OMP_WAIT_POLICY=passive (one process)",
                  &R->aelab_passive, &none, W_AE1);
    }
    if (R->torch_default.ran || R->torch_default.error[0]) {
        Row r = row_make(&R->aelab[W_AE1], &R->torch_default, W_AE1);
        fprintf(f, "| L17 AE1 epoch, PyTorch with OpenBLAS's own core choice (%s; what a plain "
                   "`python3` gets here) | %s | | | | | | %s | %s | %s | %s |\n",
                R->torch_default.corename[0] ? R->torch_default.corename : "?",
                fmt(a, sizeof a, r.s, 3),
                R->torch_default.ran ? fmt(b, sizeof b, r.t_s, 3) : R->torch_default.error,
                R->torch_default.ran ? (snprintf(k2, sizeof k2, "%.2f×", r.speedup), k2) : "—",
                fmt(c, sizeof c, r.t_rss_mb, 0),
                fmt(d, sizeof d, samples_median(&R->torch_default.others), 2));
    }

    fprintf(f, "\n## Start-up, loading, whole run\n\n");
    fprintf(f, "| what | time | notes |\n| --- | --- | --- |\n");
    if (R->startup_error[0]) {
        fprintf(f, "| start-up + MNIST loading | not measured | %s |\n", R->startup_error);
    } else {
        double ver = samples_median(&R->version_s), load = samples_median(&R->load_s);
        double up = samples_median(&R->upload_s);
        if (R->version_s.n)
            fprintf(f, "| `bin/aelab --version` (process start, incl. the OPENBLAS_CORETYPE "
                       "re-exec) | %s s | median of %d |\n", fmt(a, sizeof a, ver, 3),
                    R->version_s.n);
        if (R->datasets_s.n)
            fprintf(f, "| `bin/aelab datasets` (start-up + IDX headers) | %s s | median of %d |\n",
                    fmt(a, sizeof a, samples_median(&R->datasets_s), 3), R->datasets_s.n);
        fprintf(f, "| dataset_load_idx, MNIST train + test (55 MB of IDX) + upload | %s s + %s s "
                   "| in process, median of %d; peak RSS %ld MB |\n", fmt(a, sizeof a, load, 3),
                fmt(b, sizeof b, up, 3), R->load_s.n, R->load_rss_kb / 1024);
        fprintf(f, "| whole process: start + load + upload (`bench load`) | %s s | "
                   "median of %d |\n",
                fmt(a, sizeof a, samples_median(&R->load_proc_s), 3), R->load_proc_s.n);
        if (R->version_s.n)
            fprintf(f, "| **start-up + loading** (aelab start-up + load + upload) | **%s s** | "
                       "target < 0.3 s |\n", fmt(a, sizeof a, ver + load + up, 3));
    }
    if (o->run_lecture) {
        if (R->run_done)
            fprintf(f, "| `make run` equivalent: `bin/aelab run experiments/lecture17_mnist_"
                       "stacked.yaml` (30 epochs, plots) | %s s | peak RSS %ld MB; other load "
                       "%.2f cores |\n",
                    fmt(a, sizeof a, R->run_wall_s, 1), R->run_rss_kb / 1024, R->run_others);
        else
            fprintf(f, "| `make run` equivalent (lecture 17) | %s | |\n", R->run_note);
    }

    /* the AE1 breakdown */
    const Side *ae = &R->aelab[W_AE1];
    if (o->workloads[W_AE1] && ae->ran && ae->op_rounds) {
        double epoch_mean = 0.0;
        for (int i = 0; i < ae->epoch_s.n; i++) epoch_mean += ae->epoch_s.v[i];
        epoch_mean /= ae->epoch_s.n;
        fprintf(f, "\n## Where an AE1 epoch goes (aelab, per epoch, mean of the timed epochs "
                   "%.3f s)\n\n", epoch_mean);
        fprintf(f, "| op | calls/epoch | s/epoch | %% of epoch | MB/epoch | GB/s |\n"
                   "| --- | --- | --- | --- | --- | --- |\n");
        double sum = 0.0;
        int order[OP_COUNT];
        for (int op = 0; op < OP_COUNT; op++) order[op] = op;
        for (int x = 0; x < OP_COUNT; x++)
            for (int y = x + 1; y < OP_COUNT; y++)
                if (ae->op_sec[order[y]] > ae->op_sec[order[x]]) {
                    int t = order[x];
                    order[x] = order[y];
                    order[y] = t;
                }
        for (int x = 0; x < OP_COUNT; x++) {
            int op = order[x];
            if (ae->op_calls[op] == 0) continue;
            double s = ae->op_sec[op] / ae->op_rounds;
            double mb = ae->op_bytes[op] / ae->op_rounds * 1e-6;
            sum += s;
            /* bytes and bandwidth for the element-wise ops only: the GEMMs are compute-bound */
            bool bw = !op_is_gemm(op);
            fprintf(f, "| %s | %ld | %s | %s%% | %s | %s |\n", OP_NAMES[op], ae->op_calls[op],
                    fmt(a, sizeof a, s, 4), fmt(b, sizeof b, 100.0 * s / epoch_mean, 1),
                    bw ? fmt(c, sizeof c, mb, 1) : "—",
                    bw && mb > 0 ? fmt(d, sizeof d, mb / s * 1e-3, 1) : "—");
        }
        double gm = op_total(ae, true), em = op_total(ae, false);
        Row r = row_make(ae, &R->torch[W_AE1], W_AE1);
        fprintf(f, "| outside the ops (shuffle, host bookkeeping, hooks) | | %s | %s%% | | |\n",
                fmt(a, sizeof a, epoch_mean - sum, 4),
                fmt(b, sizeof b, 100.0 * (epoch_mean - sum) / epoch_mean, 1));
        fprintf(f, "| **GEMMs** | | **%s** | **%s%%** | | |\n", fmt(a, sizeof a, gm, 4),
                fmt(b, sizeof b, 100.0 * gm / epoch_mean, 1));
        fprintf(f, "| **element-wise (all other ops)** | | **%s** | **%s%%** (target < 10%%) | "
                   "**%s** | **%s** |\n",
                fmt(a, sizeof a, em, 4), fmt(b, sizeof b, 100.0 * em / epoch_mean, 1),
                fmt(c, sizeof c, r.elem_mb, 1), fmt(d, sizeof d, r.elem_gbs, 1));
        fprintf(f, "\nThe GEMMs inside the epoch take %s s against %s s for the same calls "
                   "replayed alone: %s%% of the replay's speed.\n",
                fmt(a, sizeof a, gm, 3), fmt(b, sizeof b, samples_median(&ae->roofline_s), 3),
                fmt(c, sizeof c, 100.0 * samples_median(&ae->roofline_s) / gm, 0));
        char e2[32], g2[32], h2[32];
        fprintf(f, "\nMB/epoch is the byte model's minimum traffic (every array the op's "
                   "contract reads counted once, every array it writes once, read-modify-write "
                   "twice; bench/README.md). The element-wise ops move %s MB per epoch in %s s: "
                   "%s GB/s. A STREAM triad (a = b + s·c, 12 bytes per element) in the same "
                   "processes and threads gets %s GB/s over 4 MiB arrays (one batch's "
                   "activations are 1000×784 floats = 3.1 MB) and %s GB/s over 64 MiB arrays "
                   "(median of the processes' medians of 5): the element-wise ops run at %s%% "
                   "of the 4 MiB triad's bandwidth. At the triad's 4 MiB bandwidth "
                   "the element-wise ops would take %s s = %s%% of the epoch (with the GEMMs "
                   "and the rest as measured): the floor for this pass structure.\n",
                fmt(a, sizeof a, r.elem_mb, 0), fmt(b, sizeof b, em, 3),
                fmt(c, sizeof c, r.elem_gbs, 1), fmt(d, sizeof d, r.stream_l3, 1),
                fmt(e2, sizeof e2, r.stream_dram, 1),
                fmt(h2, sizeof h2, 100.0 * r.elem_gbs / r.stream_l3, 0),
                fmt(g2, sizeof g2, r.floor_s, 3),
                fmt(k2, sizeof k2, r.floor_pct, 1));
    }

    /* the largest element-wise ops of every workload */
    fprintf(f, "\n## The largest element-wise ops per workload (aelab, s per epoch; L-BFGS: per "
               "iteration)\n\n| workload | GEMMs | element-wise | element-wise MB | "
               "element-wise GB/s | largest element-wise ops |\n"
               "| --- | --- | --- | --- | --- | --- |\n");
    for (int w = 0; w < W_COUNT; w++) {
        const Side *s = &R->aelab[w];
        if (!o->workloads[w] || !s->ran || !s->op_rounds) continue;
        int order[OP_COUNT], n = 0;
        for (int op = 0; op < OP_COUNT; op++)
            if (!op_is_gemm(op) && s->op_calls[op]) order[n++] = op;
        for (int x = 0; x < n; x++)
            for (int y = x + 1; y < n; y++)
                if (s->op_sec[order[y]] > s->op_sec[order[x]]) {
                    int t = order[x];
                    order[x] = order[y];
                    order[y] = t;
                }
        Row r = row_make(s, &R->torch[w], w);
        fprintf(f, "| %s | %s s | %s s | %s | %s |", WORKLOAD_NAMES[w],
                fmt(a, sizeof a, op_total(s, true), 3), fmt(b, sizeof b, r.elem_s, 3),
                fmt(c, sizeof c, r.elem_mb, 0), fmt(d, sizeof d, r.elem_gbs, 1));
        for (int x = 0; x < n && x < 4; x++)
            fprintf(f, "%s %s %s s", x ? "," : "", OP_NAMES[order[x]],
                    fmt(a, sizeof a, s->op_sec[order[x]] / s->op_rounds, 3));
        fprintf(f, " |\n");
    }

    /* the targets */
    fprintf(f, "\n## Targets (issue 7)\n\n| target | measured | met |\n| --- | --- | --- |\n");
    if (ae->ran) {
        Row r = row_make(ae, &R->torch[W_AE1], W_AE1);
        if (R->torch[W_AE1].ran)
            fprintf(f, "| AE1 epoch ≥ 2.5× faster than PyTorch (same threads, same OpenBLAS "
                       "core) | %s× | %s |\n", fmt(a, sizeof a, r.speedup, 2),
                    r.speedup >= 2.5 ? "yes" : "no");
        else
            fprintf(f, "| AE1 epoch ≥ 2.5× faster than PyTorch | %s | — |\n",
                    R->torch[W_AE1].error);
        if (R->torch_default.ran) {
            Row rd = row_make(ae, &R->torch_default, W_AE1);
            fprintf(f, "| AE1 epoch ≥ 2.5× faster than PyTorch as a plain `python3` runs it "
                       "(OpenBLAS's own core choice: %s) | %s× | %s |\n",
                    R->torch_default.corename, fmt(a, sizeof a, rd.speedup, 2),
                    rd.speedup >= 2.5 ? "yes" : "no");
        }
        fprintf(f, "| AE1 epoch ≥ 80%% of the roofline | %s%% (%s s vs %s s) | %s |\n",
                fmt(a, sizeof a, r.pct_roof, 0), fmt(b, sizeof b, r.s, 3),
                fmt(c, sizeof c, r.roof_s, 3), r.pct_roof >= 80 ? "yes" : "no");
        fprintf(f, "| element-wise < 10%% of an AE1 epoch | %s%% (%s MB at %s GB/s; floor at "
                   "the triad's %s GB/s: %s s = %s%%) | %s |\n",
                fmt(a, sizeof a, r.elem_pct, 1), fmt(b, sizeof b, r.elem_mb, 0),
                fmt(c, sizeof c, r.elem_gbs, 1), fmt(d, sizeof d, r.stream_l3, 1),
                fmt(k2, sizeof k2, r.floor_s, 3), fmt(p2, sizeof p2, r.floor_pct, 1),
                r.elem_pct < 10 ? "yes" : "no");
    }
    long worst = 0;
    for (int w = 0; w < W_COUNT; w++)
        if (R->aelab[w].rss_kb > worst) worst = R->aelab[w].rss_kb;
    if (R->run_done && R->run_rss_kb > worst) worst = R->run_rss_kb;
    fprintf(f, "| peak RSS ≤ 150 MB | %ld MB (largest of the workloads%s) | %s |\n",
            worst / 1024, R->run_done ? " and the lecture 17 run" : "",
            worst <= 150 * 1024 ? "yes" : "no");
    if (!R->startup_error[0] && R->version_s.n) {
        double su = samples_median(&R->version_s) + samples_median(&R->load_s) +
                    samples_median(&R->upload_s);
        fprintf(f, "| start-up + loading < 0.3 s | %s s | %s |\n", fmt(a, sizeof a, su, 3),
                su < 0.3 ? "yes" : "no");
    }
    fprintf(f, "\n`make bench` took %.0f s. Raw figures: bench/results.csv.\n", R->total_s);
    fclose(f);
    if (rename(tmp, path) != 0) die("rename %s: %s", path, strerror(errno));

    /* CSV: one row per (side, workload) */
    snprintf(path, sizeof path, "%s/results.csv", o->outdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) die("%s: %s", tmp, strerror(errno));
    fprintf(f, "date,threads,corename,side,workload,unit,samples,median_s,min_s,max_s,"
               "flops,gflops,roofline_s,roofline_gflops,pct_roofline,elementwise_pct,"
               "peak_rss_mb,speedup_vs_torch,other_load_cores,elementwise_mb,elementwise_gbs,"
               "stream_gbs_l3,stream_gbs_dram,note\n");
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w]) continue;
        for (int side = 0; side < 2; side++) {
            const Side *s = side ? &R->torch[w] : &R->aelab[w];
            Row r = row_make(&R->aelab[w], &R->torch[w], w);
            const Samples *ss = w == W_LBFGS ? &s->eval_s : &s->epoch_s;
            double med = samples_median(ss);
            fprintf(f, "%s,%d,%s,%s,%s,%s,%d,%.6f,%.6f,%.6f,%.6e,%.3f,", date, o->threads,
                    s->corename[0] ? s->corename : openblas_get_corename(),
                    side ? "pytorch" : "aelab", WORKLOAD_NAMES[w],
                    w == W_LBFGS ? "evaluation" : "epoch", ss->n, med, samples_min(ss),
                    samples_max(ss), R->aelab[w].flops, R->aelab[w].flops / med * 1e-9);
            if (side == 0)
                fprintf(f, "%.6f,%.3f,%.1f,%.2f,%.1f,%.3f,", r.roof_s, r.roof_gflops, r.pct_roof,
                        r.elem_pct, r.rss_mb, r.speedup);
            else
                fprintf(f, ",,,,%.1f,,", s->rss_kb / 1024.0);
            fprintf(f, "%.3f,", samples_median(&s->others));
            if (side == 0)
                fprintf(f, "%.1f,%.2f,%.2f,%.2f,", r.elem_mb, r.elem_gbs, r.stream_l3,
                        r.stream_dram);
            else
                fprintf(f, ",,,,");
            char note[600];
            snprintf(note, sizeof note, "%s", s->ran ? "" : s->error);
            for (char *p = note; *p; p++)
                if (*p == ',' || *p == '"' || *p == '\n') *p = ' ';
            fprintf(f, "%s\n", note);
        }
        if (w == W_LBFGS) {
            for (int side = 0; side < 2; side++) {
                const Side *s = side ? &R->torch[w] : &R->aelab[w];
                if (!s->ran) continue;
                fprintf(f, "%s,%d,%s,%s,lbfgs,iteration,%d,%.6f,%.6f,%.6f,,,,,,,,,,,,,,"
                           "evaluations per iteration %.2f\n", date, o->threads,
                        s->corename[0] ? s->corename : openblas_get_corename(),
                        side ? "pytorch" : "aelab", s->epoch_s.n, samples_median(&s->epoch_s),
                        samples_min(&s->epoch_s), samples_max(&s->epoch_s),
                        s->evals_rounds ? s->evals_per_iter_sum / s->evals_rounds : NAN);
            }
        }
    }
    if (R->torch_default.ran)
        fprintf(f, "%s,%d,%s,pytorch-default-core,ae1,epoch,%d,%.6f,%.6f,%.6f,,,,,,,%.1f,,%.3f,,,,,\n",
                date, o->threads, R->torch_default.corename, R->torch_default.epoch_s.n,
                samples_median(&R->torch_default.epoch_s),
                samples_min(&R->torch_default.epoch_s), samples_max(&R->torch_default.epoch_s),
                R->torch_default.rss_kb / 1024.0, samples_median(&R->torch_default.others));
    if (!R->startup_error[0]) {
        fprintf(f, "%s,%d,%s,aelab,load_mnist,process,%d,%.6f,%.6f,%.6f,,,,,,,%.1f,,,,,,,"
                   "load+upload in process %.4f s\n", date, o->threads, openblas_get_corename(),
                R->load_proc_s.n, samples_median(&R->load_proc_s), samples_min(&R->load_proc_s),
                samples_max(&R->load_proc_s), R->load_rss_kb / 1024.0,
                samples_median(&R->load_s) + samples_median(&R->upload_s));
        if (R->version_s.n)
            fprintf(f, "%s,%d,%s,aelab,startup_version,process,%d,%.6f,%.6f,%.6f,,,,,,,,,,,,,,\n", date,
                    o->threads, openblas_get_corename(), R->version_s.n,
                    samples_median(&R->version_s), samples_min(&R->version_s),
                    samples_max(&R->version_s));
    }
    if (R->run_done)
        fprintf(f, "%s,%d,%s,aelab,lecture17_run,run,1,%.6f,%.6f,%.6f,,,,,,,%.1f,,%.3f,,,,,\n", date,
                o->threads, openblas_get_corename(), R->run_wall_s, R->run_wall_s, R->run_wall_s,
                R->run_rss_kb / 1024.0, R->run_others);
    else if (o->run_lecture)
        fprintf(f, "%s,%d,%s,aelab,lecture17_run,run,0,,,,,,,,,,,,,,,,,not measured\n", date,
                o->threads,
                openblas_get_corename());
    fclose(f);
    if (rename(tmp, path) != 0) die("rename %s: %s", path, strerror(errno));
}

static const char USAGE_ALL[] =
    "usage: bench all [--threads N] [--rounds R] [--epochs E] [--lbfgs-iters I]\n"
    "                 [--workloads a,b,...] [--aelab BIN] [--python PY | --no-python WHY]\n"
    "                 [--peer FILE] [--out DIR] [--scratch DIR] [--commit ID] [--no-run]\n"
    "                 [--no-default-core] [--no-avx512] [--budget SECONDS]\n"
    "  Runs every workload (ae1, stacked, classifier, denoise, lbfgs), alternating aelab and\n"
    "  PyTorch, and writes DIR/results.md and DIR/results.csv (DIR: bench). Defaults: 2 rounds\n"
    "  of 3 timed epochs after a warm-up, 8 L-BFGS iterations, a budget of 480 s (later rounds,\n"
    "  the extra AE1 rows and the lecture run are skipped when they would not fit).\n";

/* One aelab process then one PyTorch process for workload w, each kept as its own run. */
static void run_pair(const Options *o, Results *R, int w) {
    double t = now_seconds();
    Runs *a = &R->aelab_runs[w], *p = &R->torch_runs[w];
    if (a->n < MAX_PROCS) run_aelab_worker(o, w, &a->p[a->n++], NULL, NULL);
    if (p->n < MAX_PROCS) run_torch_worker(o, w, &p->p[p->n++], NULL);
    runs_merge(a, &R->aelab[w]);
    runs_merge(p, &R->torch[w]);
    t = now_seconds() - t;
    if (t > R->pair_s[w]) R->pair_s[w] = t;
}

/* Seconds `aelab run` of lecture 17 should take: 10 epochs each of AE1, stacked and classifier
 * at the measured medians, plus plots and start-up; 150 s when those were not measured. */
static double lecture_estimate(const Options *o, const Results *R) {
    if (!o->run_lecture) return 0.0;
    double e = 0.0;
    int ws[3] = {W_AE1, W_STACKED, W_CLASSIFIER};
    for (int k = 0; k < 3; k++) {
        double m = samples_median(&R->aelab[ws[k]].epoch_s);
        if (isnan(m)) return 150.0;
        e += 10.0 * m;
    }
    return 1.2 * e + 15.0;
}

static int cmd_all(int argc, char **argv, const char *self) {
    Options o = {.threads = 0, .rounds = 2, .epochs = 3, .lbfgs_iters = 8, .self = self,
                 .aelab = "", .python = "", .python_why = "not installed (make bench-deps)",
                 .peer = "bench/peer_torch.py", .outdir = "bench", .scratch = "build/bench",
                 .commit = "unknown",
                 .run_lecture = true, .torch_default_core = true, .variants = true,
                 .budget_s = 480.0};
    for (int w = 0; w < W_COUNT; w++) o.workloads[w] = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            fputs(USAGE_ALL, stdout);
            return 0;
        } else if (strcmp(a, "--no-run") == 0) {
            o.run_lecture = false;
        } else if (strcmp(a, "--no-default-core") == 0) {
            o.torch_default_core = false;
        } else if (strcmp(a, "--no-avx512") == 0) {
            o.variants = false;
        } else if (!v) {
            die("all: %s needs a value (see bench all --help)", a);
        } else if (strcmp(a, "--threads") == 0) {
            if (!ae_parse_int(v, 0, 1024, &o.threads)) die("--threads: expected 0..1024, got '%s'", v);
            i++;
        } else if (strcmp(a, "--rounds") == 0) {
            if (!ae_parse_int(v, 1, 100, &o.rounds)) die("--rounds: expected 1..100, got '%s'", v);
            i++;
        } else if (strcmp(a, "--epochs") == 0) {
            if (!ae_parse_int(v, 1, 200, &o.epochs)) die("--epochs: expected 1..200, got '%s'", v);
            i++;
        } else if (strcmp(a, "--lbfgs-iters") == 0) {
            if (!ae_parse_int(v, 1, 400, &o.lbfgs_iters))
                die("--lbfgs-iters: expected 1..400, got '%s'", v);
            i++;
        } else if (strcmp(a, "--budget") == 0) {
            int b;
            if (!ae_parse_int(v, 10, 100000, &b)) die("--budget: expected seconds >= 10, got '%s'", v);
            o.budget_s = b;
            i++;
        } else if (strcmp(a, "--workloads") == 0) {
            for (int w = 0; w < W_COUNT; w++) o.workloads[w] = false;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int w = workload_find(tok);
                if (w < 0) die("--workloads: unknown workload '%s'", tok);
                o.workloads[w] = true;
            }
            i++;
        } else if (strcmp(a, "--aelab") == 0) {
            o.aelab = v;
            i++;
        } else if (strcmp(a, "--python") == 0) {
            o.python = v;
            i++;
        } else if (strcmp(a, "--no-python") == 0) {
            o.python = "";
            o.python_why = v;
            i++;
        } else if (strcmp(a, "--peer") == 0) {
            o.peer = v;
            i++;
        } else if (strcmp(a, "--out") == 0) {
            o.outdir = v;
            i++;
        } else if (strcmp(a, "--scratch") == 0) {
            o.scratch = v;
            i++;
        } else if (strcmp(a, "--commit") == 0) {
            o.commit = v;
            i++;
        } else {
            die("all: unknown option '%s' (see bench all --help)", a);
        }
    }
    if (o.threads <= 0) o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    mkdir(o.outdir, 0777);

    Results *R = calloc(1, sizeof *R);
    if (!R) die("out of memory");
    double t0 = now_seconds();
    say("threads %d, OpenBLAS core %s, %d round(s) of %d timed epoch(s) after a warm-up; "
        "PyTorch: %s", o.threads, openblas_get_corename(), o.rounds, o.epochs,
        o.python[0] ? o.python : o.python_why);
    double round_s = 0.0;
    for (int round = 0; round < o.rounds; round++) {
        double elapsed = now_seconds() - t0;
        if (round > 0 && elapsed + round_s + lecture_estimate(&o, R) + 15.0 > o.budget_s) {
            snprintf(R->budget_note, sizeof R->budget_note,
                     "stopped after %d of %d rounds to stay within the %.0f s budget "
                     "(a round took %.0f s)", round, o.rounds, o.budget_s, round_s);
            say("%s", R->budget_note);
            break;
        }
        R->rounds_done = round + 1;
        say("round %d of %d", round + 1, o.rounds);
        double r0 = now_seconds();
        for (int w = 0; w < W_COUNT; w++)
            if (o.workloads[w]) run_pair(&o, R, w);
        round_s = now_seconds() - r0;
    }
    /* Noisy processes (other people's jobs took more than CLEAN_OTHERS cores meanwhile): run
     * their workload again while the budget allows, so that each side has as many clean
     * processes as rounds were run. */
    for (int pass = 0; pass < 2; pass++)
        for (int w = 0; w < W_COUNT; w++) {
            if (!o.workloads[w]) continue;
            int want = R->rounds_done;
            bool short_a = runs_clean(&R->aelab_runs[w]) < want;
            bool short_t = o.python[0] && runs_clean(&R->torch_runs[w]) < want;
            if (!short_a && !short_t) continue;
            if (R->aelab_runs[w].n >= MAX_PROCS || R->torch_runs[w].n >= MAX_PROCS) continue;
            double elapsed = now_seconds() - t0;
            if (elapsed + R->pair_s[w] + 0.45 * round_s + lecture_estimate(&o, R) + 15.0 >
                o.budget_s)
                continue;
            say("again: %s (a process shared the machine with other jobs)", WORKLOAD_NAMES[w]);
            run_pair(&o, R, w);
        }
    /* The extra AE1 rows cost about 45% of a round. */
    bool extra_ok = now_seconds() - t0 + 0.45 * round_s + lecture_estimate(&o, R) + 15.0 <=
                    o.budget_s;
    if (!extra_ok && (o.torch_default_core || o.variants))
        say("skipping the extra AE1 rows to stay within the %.0f s budget", o.budget_s);
    if (extra_ok && o.torch_default_core && o.python[0] && o.workloads[W_AE1])
        run_torch_worker(&o, W_AE1, &R->torch_default, "");
    /* The AVX-512 kernels: Debian's OpenBLAS has them (SkylakeX) but neither detects this CPU
     * nor is told to use them; one AE1 process per side shows what they would give. */
    if (extra_ok && o.variants && o.workloads[W_AE1] && avx512_usable() &&
        strcasecmp(openblas_get_corename(), "skylakex") != 0) {
        say("AE1 with OPENBLAS_CORETYPE=SkylakeX (AVX-512) ...");
        run_aelab_worker(&o, W_AE1, &R->aelab_skx, "SkylakeX", NULL);
        run_torch_worker(&o, W_AE1, &R->torch_skx, "SkylakeX");
    }
    /* Idle OpenMP threads spin before they sleep (libgomp's default); on a shared machine a
     * spinning thread takes the core its partner needs. */
    if (extra_ok && o.variants && o.workloads[W_AE1] && !getenv("OMP_WAIT_POLICY")) {
        say("AE1 with OMP_WAIT_POLICY=passive ...");
        run_aelab_worker(&o, W_AE1, &R->aelab_passive, NULL, "OMP_WAIT_POLICY=passive");
    }
    say("start-up and loading ...");
    run_startup(&o, R);
    if (o.run_lecture) {
        double left = o.budget_s - (now_seconds() - t0), need = lecture_estimate(&o, R);
        if (need > left)
            snprintf(R->run_note, sizeof R->run_note,
                     "not measured: the bench's time budget (estimated %.0f s, %.0f s left of "
                     "%.0f; BENCH_ARGS=\"--budget S\" raises it)", need, left, o.budget_s);
        else
            run_lecture(&o, R);
    }
    R->total_s = now_seconds() - t0;
    write_report(&o, R);
    say("wrote %s/results.md and %s/results.csv (%.0f s)", o.outdir, o.outdir, R->total_s);
    free(R);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: bench work WORKLOAD [--epochs N] [--threads T]\n"
              "       bench load [--threads T]\n", stderr);
        fputs(USAGE_ALL, stderr);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "work") == 0) return cmd_work(argc - 2, argv + 2);
    if (strcmp(argv[1], "load") == 0) return cmd_load(argc - 2, argv + 2);
    if (strcmp(argv[1], "all") == 0) return cmd_all(argc - 2, argv + 2, argv[0]);
    die("unknown command '%s' (work, load, all)", argv[1]);
}
