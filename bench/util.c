/* bench/util.c — what every part of the bench uses: the clock, errors, the workload and op
 * names, samples and their medians, a look at /proc/cpuinfo. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

const char *const WORKLOAD_NAMES[W_COUNT] = {"ae1",   "stacked",  "classifier", "denoise",
                                             "lbfgs", "lbfgs60k", "frozen"};
const char *const WORKLOAD_TITLES[W_COUNT] = {
    "L17 AE1 epoch (784-400-784, SGD, 60k)",
    "L17 stacked epoch (784-400-256-400-784)",
    "L17 classifier epoch + test eval (784-400-256-10)",
    "L20 denoising epoch (Adam, noise, L1)",
    "UFLDL L-BFGS (784-196-784, KL, 10k full batch)",
    "full-batch L-BFGS (784-200-784, KL, all 60k)",
    "frozen-encoder classifier (784-400-256 frozen, 256-10 head trained)",
};

bool workload_is_lbfgs(int w) { return w == W_LBFGS || w == W_LBFGS60K; }

const char *const OP_NAMES[OP_COUNT] = {
    "gemm_nn", "gemm_nt", "gemm_tn", "bias_act_forward", "act_backward", "colsum_acc", "loss",
    "l1_penalty", "kl_penalty", "weight_decay", "gather", "gather_rows", "noise", "sgd_step",
    "adam_step",
    "fill", "copy", "upload", "download", "alloc", "free", "dot", "axpy", "scal",
    "confusion_acc",
};

bool op_is_gemm(int op) { return op == OP_GEMM_NN || op == OP_GEMM_NT || op == OP_GEMM_TN; }

/* The clock of the per-op timings and the roofline: wall time, or (bench work --cpu-clock) the
 * process's CPU time. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

void clock_use_cpu_time(void) { bench_clock = CLOCK_PROCESS_CPUTIME_ID; }

bool clock_is_cpu_time(void) { return bench_clock == CLOCK_PROCESS_CPUTIME_ID; }

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

bool parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s) return false;
    *out = v;
    return true;
}

int workload_find(const char *name) {
    for (int w = 0; w < W_COUNT; w++)
        if (strcmp(name, WORKLOAD_NAMES[w]) == 0) return w;
    return -1;
}

long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

bool cpu_flag(const char *flag) {
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

void samples_add(Samples *s, double v) {
    if (s->n < MAX_SAMPLES) s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double samples_median(const Samples *s) {
    if (s->n == 0) return NAN;
    double *t = malloc((size_t)s->n * sizeof *t);
    if (!t) die("out of memory");
    memcpy(t, s->v, (size_t)s->n * sizeof *t);
    qsort(t, (size_t)s->n, sizeof *t, cmp_double);
    double m = s->n % 2 ? t[s->n / 2] : 0.5 * (t[s->n / 2 - 1] + t[s->n / 2]);
    free(t);
    return m;
}

double samples_min(const Samples *s) {
    double m = NAN;
    for (int i = 0; i < s->n; i++)
        if (isnan(m) || s->v[i] < m) m = s->v[i];
    return m;
}

double samples_max(const Samples *s) {
    double m = NAN;
    for (int i = 0; i < s->n; i++)
        if (isnan(m) || s->v[i] > m) m = s->v[i];
    return m;
}

bool blas_mapped_path(char *buf, size_t n) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return false;
    char line[4096];
    int found = 0;
    buf[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = '\0';
        const char *base = strrchr(path, '/') + 1;
        if (strncmp(base, "libopenblas", 11) != 0 || !strstr(base, ".so")) continue;
        char real[PATH_MAX];
        if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
        if (found && strcmp(real, buf) == 0) continue;
        if (found++) break;
        snprintf(buf, n, "%s", real);
    }
    fclose(f);
    if (found != 1) snprintf(buf, n, "%s", found ? "several" : "none");
    return found == 1;
}
