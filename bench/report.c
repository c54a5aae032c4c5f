/* bench/report.c — the report of `bench all`: results.md, the tables (the set-up and method, the
 * training epochs, start-up and loading, where an AE1 epoch goes, the largest element-wise ops,
 * the targets), one writer per section, and results.csv, the raw figures, one row per side and
 * workload. Both are written to a temporary file and renamed into place.
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the engine's shape
 * name I (a layer's inputs); the bench uses no complex numbers. */
#undef I
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"

/* ---- figures ---- */

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

/* Formats a double with prec decimals, or "n/a" for NaN. */
static const char *fmt(char *buf, size_t n, double v, int prec) {
    if (isnan(v) || isinf(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}

typedef struct Row {
    double s, s_min, s_max;   /* aelab s/epoch (lbfgs: s/evaluation) */
    double gflops, roof_s, roof_gflops, pct_roof;
    double peak, pct_peak, roof_pct_peak; /* peak FMA GFLOP/s; the epoch's and roofline's share */
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

/* The mean of the timed epochs (lbfgs: iterations); NaN when there is none. */
static double epoch_mean_s(const Side *s) {
    double m = 0.0;
    for (int i = 0; i < s->epoch_s.n; i++) m += s->epoch_s.v[i];
    return s->epoch_s.n ? m / s->epoch_s.n : NAN;
}

static Row row_make(const Side *a, const Side *t, int w) {
    Row r;
    const Samples *as = workload_is_lbfgs(w) ? &a->eval_s : &a->epoch_s;
    const Samples *ts = workload_is_lbfgs(w) ? &t->eval_s : &t->epoch_s;
    r.n = as->n;
    r.tn = ts->n;
    r.s = a->ran ? samples_median(as) : NAN;
    r.s_min = samples_min(as);
    r.s_max = samples_max(as);
    r.gflops = a->flops / r.s * 1e-9;
    r.roof_s = samples_median(&a->roofline_s);
    r.roof_gflops = a->flops / r.roof_s * 1e-9;
    r.pct_roof = 100.0 * r.roof_s / r.s;
    r.peak = samples_median(&a->peak);
    r.pct_peak = 100.0 * r.gflops / r.peak;
    r.roof_pct_peak = 100.0 * r.roof_gflops / r.peak;
    /* element-wise share: over the mean epoch the ops saw (lbfgs: per iteration) */
    double e = op_total(a, false), epoch_mean = epoch_mean_s(a);
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
    char tcol[700], spcol[80], trss[64];
    if (ts->ran) {
        snprintf(tcol, sizeof tcol, "%s", fmt(a, sizeof a, r.t_s, 3));
        if (ts->features_s > 0)
            snprintf(tcol + strlen(tcol), sizeof tcol - strlen(tcol),
                     " (+ %.3f s once: the features)", ts->features_s);
        if (ts->blas_mismatch[0] || as->blas_mismatch[0])
            snprintf(spcol, sizeof spcol, "none: BLAS check failed");
        else
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
        fprintf(f, "| %s | %s | | | | | | | %s | %s | %s | %s |\n", title, as->error, tcol,
                spcol, trss, load);
        return;
    }
    char pk[32], once[160] = "";
    if (as->flops_once > 0) {
        char o1[32], o2[32];
        snprintf(once, sizeof once, " (+ %s s once: the frozen layers' outputs, roofline %s s)",
                 fmt(o1, sizeof o1, samples_median(&as->once_s), 3),
                 fmt(o2, sizeof o2, samples_median(&as->roofline_once_s), 3));
    }
    fprintf(f,
            "| %s | %s (%s–%s)%s | %s | %s (%s) | %s%% | %s%% | %s%% | %s | %s | %s | %s | %s |\n",
            title,
            fmt(a, sizeof a, r.s, 3), fmt(b, sizeof b, r.s_min, 3), fmt(c, sizeof c, r.s_max, 3),
            once,
            fmt(d, sizeof d, r.gflops, 1), fmt(e, sizeof e, r.roof_s, 3),
            fmt(g, sizeof g, r.roof_gflops, 1), fmt(h, sizeof h, r.pct_roof, 0),
            fmt(pk, sizeof pk, r.pct_peak, 0),
            fmt(i2, sizeof i2, r.elem_pct, 1), fmt(j, sizeof j, r.rss_mb, 0), tcol, spcol, trss,
            load);
}

/* The op indices by their seconds, largest first: all ops, or (elementwise) only the
 * element-wise ops that were called; returns how many. */
static int ops_by_seconds(const Side *s, bool elementwise, int order[OP_COUNT]) {
    int n = 0;
    for (int op = 0; op < OP_COUNT; op++)
        if (!elementwise || (!op_is_gemm(op) && s->op_calls[op])) order[n++] = op;
    for (int x = 0; x < n; x++)
        for (int y = x + 1; y < n; y++)
            if (s->op_sec[order[y]] > s->op_sec[order[x]]) {
                int t = order[x];
                order[x] = order[y];
                order[y] = t;
            }
    return n;
}

/* ---- results.md: the set-up and the method ---- */

static void md_setup(FILE *f, const Options *o, const Results *R, const char *date) {
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const char *core_env = getenv("OPENBLAS_CORETYPE");
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
    if (o->cpu_clock)
        fprintf(f, "- **Clock: every time is the process's CPU time** (`--cpu-clock`, for a busy "
                   "machine: other jobs do not inflate it; with %d thread%s).\n", o->threads,
                o->threads == 1 ? ", CPU time is the time the work took" :
                "s it also counts OpenMP threads spinning: use 1 thread");
    if (o->quick)
        fprintf(f, "- **--quick**: a development run (1 round, 2 epochs, 3 replays), not the "
                   "bench's figures.\n");
    fprintf(f, "- aelab %s, commit %s; PyTorch: %s\n", AE_VERSION, o->commit,
            R->torch[W_AE1].info[0] ? R->torch[W_AE1].info
                                    : (o->python[0] ? "see errors below" : o->python_why));
}

static void md_method(FILE *f, const Options *o, const Results *R) {
    fprintf(f, "- Method: each workload runs in its own process: one warm-up epoch, then %d "
               "timed epochs (L-BFGS: %d iterations); %d round(s), alternating aelab and "
               "PyTorch per workload. Figures are medians over all timed epochs of all rounds. "
               "FLOPs are the GEMM FLOPs the engine performs (bench/flops.c, checked in every "
               "process against the FLOPs of the GEMM calls it made, and in make test against "
               "the engine): 2·B·I·O per layer forward, the same for dW, and for dX above the "
               "lowest trained layer; the classifier epoch adds the forward pass over the 10k "
               "test images; L-BFGS with KL over chunks adds its first pass (the forward pass up "
               "to the code, whose outputs the second pass starts from); a frozen prefix's "
               "outputs are computed once per stage and shown apart (\"+ s once\"). The "
               "roofline is the exact sequence of cblas_sgemm calls of one epoch (L-BFGS: one "
               "whole evaluation) as the engine made them (shapes, transposes, alpha/beta, "
               "buffer aliasing), recorded during the warm-up and replayed alone after the "
               "training, in the same process and threads: one untimed replay (warm), then %d "
               "timed ones; the figure is the median of all timed replays of all processes "
               "(the once-per-stage GEMMs are replayed apart). Each aelab process then "
               "measures the machine's limits, same threads: peak FP32 FMA throughput (12 "
               "independent vector-FMA chains per thread, AVX-512F or AVX2 by cpuid, median of "
               "5 samples of ~60 ms) and a warm 2048³ sgemm (median of 3). Element-wise = every "
               "backend op except the GEMMs (bias+activation, activation backward, column "
               "sums, loss, penalties, noise, gather, optimizer, fills, copies); their MB are "
               "the byte model's minimum traffic (bench/README.md), and each aelab process "
               "ends with a STREAM triad over 4 MiB and 64 MiB arrays, same threads. Peak RSS "
               "is getrusage's ru_maxrss of the process (before the triad's arrays), MNIST "
               "train + test loaded.%s%s\n",
            o->epochs, o->lbfgs_iters, R->rounds_done, o->roofline_reps,
            R->budget_note[0] ? " Note: " : "",
            R->budget_note);
}

/* The other load of every measuring process of the rounds, aelab's and PyTorch's. */
static void md_noise(FILE *f, const Results *R) {
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

/* ---- results.md: the machine's limits ---- */

static void md_machine(FILE *f, const Options *o, const Results *R) {
    Samples pk = {0}, sg = {0};
    const char *isa = "?";
    for (int w = 0; w < W_COUNT; w++) {
        const Side *s = &R->aelab[w];
        for (int k = 0; k < s->peak.n; k++) samples_add(&pk, s->peak.v[k]);
        for (int k = 0; k < s->sgemm_big.n; k++) samples_add(&sg, s->sgemm_big.v[k]);
        if (s->peak_isa[0]) isa = s->peak_isa;
    }
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(f, "## The machine's limits (%d threads, measured in every aelab process)\n\n"
               "| probe | GFLOP/s (median; min–max over processes) | %% of peak FMA |\n"
               "| --- | --- | --- |\n", o->threads);
    fprintf(f, "| peak FP32 FMA (%s, all threads) | %s (%s–%s) | 100%% |\n", isa,
            fmt(a, sizeof a, samples_median(&pk), 1), fmt(b, sizeof b, samples_min(&pk), 1),
            fmt(c, sizeof c, samples_max(&pk), 1));
    fprintf(f, "| cblas_sgemm 2048³ (the large-GEMM rate) | %s (%s–%s) | %s%% |\n",
            fmt(a, sizeof a, samples_median(&sg), 1), fmt(d, sizeof d, samples_min(&sg), 1),
            fmt(e, sizeof e, samples_max(&sg), 1),
            fmt(b, sizeof b, 100.0 * samples_median(&sg) / samples_median(&pk), 0));
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w] || !R->aelab[w].ran) continue;
        Row r = row_make(&R->aelab[w], &R->torch[w], w);
        fprintf(f, "| %s: its GEMM sequence replayed alone (the roofline) | %s | %s%% |\n",
                WORKLOAD_NAMES[w], fmt(a, sizeof a, r.roof_gflops, 1),
                fmt(b, sizeof b, r.roof_pct_peak, 0));
    }
    fprintf(f, "\n");
}

/* ---- results.md: which BLAS each side ran ---- */

static const char *parallel_name(int p) {
    return p == 2 ? "OpenMP" : p == 1 ? "pthreads" : p == 0 ? "sequential" : "?";
}

static void md_blas_row(FILE *f, const char *who, const Side *s, const char *claim) {
    if (!s->ran) return;
    fprintf(f, "| %s | `%s` | %s | %s, %d threads | %s | %s | %s |\n", who,
            s->blas_lib[0] ? s->blas_lib : "?", s->blas_config[0] ? s->blas_config : "?",
            parallel_name(s->blas_parallel), s->blas_threads, s->corename[0] ? s->corename : "?",
            s->torch_parallel[0] ? s->torch_parallel : "—",
            s->blas_mismatch[0] ? s->blas_mismatch : claim);
}

/* What every measuring process read about its own BLAS at run time (the libopenblas file in
 * /proc/self/maps, openblas_get_config/parallel/num_threads/corename on it, PyTorch's
 * torch.__config__.parallel_info()), the AE1 processes as the example. */
static void md_blas(FILE *f, const Options *o, const Results *R) {
    fprintf(f, "## The BLAS each side ran (read by each process at run time)\n\n"
               "aelab links `%s`; the PyTorch peer gets its directory first on LD_LIBRARY_PATH, "
               "so that torch's libblas.so.3 is that build's. A row whose check fails gets no "
               "speed-up ratio.\n\n"
               "| side (AE1 processes) | libopenblas mapped | openblas_get_config() | threading "
               "| kernels | PyTorch ATen | check |\n| --- | --- | --- | --- | --- | --- | --- |\n",
            o->blas_self);
    md_blas_row(f, "aelab", &R->aelab[W_AE1], "ok: the build aelab links");
    md_blas_row(f, "PyTorch (the peer of every row)", &R->torch[W_AE1],
                "ok: the same file, threading, threads and kernels as aelab");
    md_blas_row(f, "kann (bench/peers/kann.sh)", &R->kann,
                "ok: the same file, threading, threads and kernels as aelab");
    md_blas_row(f, "PyTorch, plain Debian python3, aelab's kernels", &R->torch_pthread,
                "ok: Debian's default pthread build (labelled so)");
    md_blas_row(f, "PyTorch, plain Debian python3, its own kernels", &R->torch_default,
                "ok: Debian's default pthread build (labelled so)");
    for (int w = 1; w < W_COUNT; w++)
        if (o->workloads[w] && (R->torch[w].blas_mismatch[0] || R->aelab[w].blas_mismatch[0]))
            fprintf(f, "\n%s: BLAS check failed (%s); no ratio printed.\n", WORKLOAD_NAMES[w],
                    R->torch[w].blas_mismatch[0] ? R->torch[w].blas_mismatch
                                                 : R->aelab[w].blas_mismatch);
    fprintf(f, "\n");
}

/* ---- results.md: training epochs ---- */

/* L-BFGS's second row: the time per iteration, and the evaluations an iteration took. */
static void md_lbfgs_iteration_row(FILE *f, const Side *as, const Side *ts, int w) {
    char a[32], b[32], c[32], d[32], k2[32];
    double ai = samples_median(&as->epoch_s), ti = samples_median(&ts->epoch_s);
    double ae = as->evals_rounds ? as->evals_per_iter_sum / as->evals_rounds : NAN;
    double te = ts->evals_rounds ? ts->evals_per_iter_sum / ts->evals_rounds : NAN;
    fprintf(f, "| %s — per iteration (evaluations/iteration: aelab %s, "
               "PyTorch %s) | %s | | | | | | | %s | %s | | |\n",
            w == W_LBFGS ? "UFLDL L-BFGS" : "L-BFGS on 60k", fmt(a, sizeof a, ae, 2), fmt(b, sizeof b, te, 2), fmt(c, sizeof c, ai, 3),
            ts->ran ? fmt(d, sizeof d, ti, 3) : "—",
            ts->ran ? (snprintf(k2, sizeof k2, "%.2f× (per iteration)", ti / ai), k2) : "—");
}

/* The extra AE1 rows: the AVX-512 kernels, passive OpenMP waits, PyTorch's own core choice. */
static void md_extra_rows(FILE *f, const Results *R) {
    char a[32], b[32], c[32], d[32], k2[32];
    if (R->aelab_skx.ran || R->aelab_skx.error[0])
        table_row(f, "L17 AE1 epoch with the AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX on both "
                     "sides; one process each)", &R->aelab_skx, &R->torch_skx, W_AE1);
    if (R->aelab_bf16.ran || R->aelab_bf16.error[0])
        table_row(f, "L17 AE1 epoch, aelab **precision: bf16** (oneDNN bf16 matmul, FP32 "
                     "accumulation; one process per round) against PyTorch FP32; its roofline "
                     "is still the FP32 sgemm replay", &R->aelab_bf16, &R->torch[W_AE1], W_AE1);
    if (R->aelab_passive.ran || R->aelab_passive.error[0]) {
        static Side none;
        snprintf(none.error, sizeof none.error, "—");
        table_row(f, "L17 AE1 epoch, aelab with OMP_WAIT_POLICY=passive (one process)",
                  &R->aelab_passive, &none, W_AE1);
    }
    const Side *peers[3] = {&R->kann, &R->torch_pthread, &R->torch_default};
    for (int k = 0; k < 3; k++) {
        const Side *t = peers[k];
        if (!t->ran && !t->error[0]) continue;
        char title[300];
        if (k == 0)
            snprintf(title, sizeof title, "L17 AE1 epoch, **kann** (C, CBLAS on the same "
                     "OpenBLAS build; bench/peers/kann.sh; one process; its time in the peer "
                     "column)");
        else
            snprintf(title, sizeof title, "L17 AE1 epoch, PyTorch on **Debian's default pthread "
                     "OpenBLAS** (what a plain python3 gets), %s kernels (one process)",
                     k == 1 ? "aelab's" : "OpenBLAS's own choice of");
        Row r = row_make(&R->aelab[W_AE1], t, W_AE1);
        /* the pthread rows are checked to be the pthread build; kann to be aelab's build */
        const char *ratio = !t->ran ? "—"
                            : t->blas_mismatch[0] ? "none: BLAS check failed"
                            : (snprintf(k2, sizeof k2, "%.2f×%s", r.speedup,
                                        k ? " (not the same BLAS)" : ""), k2);
        fprintf(f, "| %s [%s] | %s | | | | | | | %s | %s | %s | %s |\n", title,
                t->corename[0] ? t->corename : "?", fmt(a, sizeof a, r.s, 3),
                t->ran ? fmt(b, sizeof b, r.t_s, 3) : t->error, ratio,
                fmt(c, sizeof c, r.t_rss_mb, 0), fmt(d, sizeof d, samples_median(&t->others), 2));
    }
}

static void md_training(FILE *f, const Options *o, const Results *R) {
    fprintf(f, "## Training epochs\n\n");
    fprintf(f, "| workload | aelab s/epoch (min–max) | GFLOP/s | roofline s (GFLOP/s) | "
               "%% of roofline | %% of peak FMA | element-wise %% | peak RSS MB | PyTorch "
               "s/epoch | aelab speed-up vs PyTorch (same BLAS) | PyTorch peak RSS MB | other "
               "load (aelab/PyTorch) |\n");
    fprintf(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w]) continue;
        const Side *as = &R->aelab[w], *ts = &R->torch[w];
        char title[160];
        snprintf(title, sizeof title, "%s%s", WORKLOAD_TITLES[w],
                 workload_is_lbfgs(w) ? " — per evaluation" : "");
        table_row(f, title, as, ts, w);
        if (workload_is_lbfgs(w) && as->ran) md_lbfgs_iteration_row(f, as, ts, w);
    }
    md_extra_rows(f, R);
}

/* ---- results.md: start-up, loading, whole run ---- */

static void md_startup_rows(FILE *f, const Results *R) {
    char a[32], b[32];
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

static void md_startup(FILE *f, const Options *o, const Results *R) {
    char a[32];
    fprintf(f, "\n## Start-up, loading, whole run (wall clock%s)\n\n",
            o->cpu_clock ? ", even with --cpu-clock: other jobs' time is in these" : "");
    fprintf(f, "| what | time | notes |\n| --- | --- | --- |\n");
    if (R->startup_error[0])
        fprintf(f, "| start-up + MNIST loading | not measured | %s |\n", R->startup_error);
    else
        md_startup_rows(f, R);
    if (!o->run_lecture) return;
    if (R->run_done)
        fprintf(f, "| `make run` equivalent: `bin/aelab run experiments/lecture17_mnist_"
                   "stacked.yaml` (30 epochs, plots) | %s s | peak RSS %ld MB; other load "
                   "%.2f cores |\n",
                fmt(a, sizeof a, R->run_wall_s, 1), R->run_rss_kb / 1024, R->run_others);
    else
        fprintf(f, "| `make run` equivalent (lecture 17) | %s | |\n", R->run_note);
}

/* ---- results.md: where an AE1 epoch goes ---- */

/* One row per op that was called, the slowest first; returns the seconds they add up to. */
static double md_ae1_op_rows(FILE *f, const Side *ae, double epoch_mean) {
    char a[32], b[32], c[32], d[32];
    double sum = 0.0;
    int order[OP_COUNT];
    ops_by_seconds(ae, false, order);
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
    return sum;
}

/* The rest of the epoch, the GEMMs and the element-wise ops in total. */
static void md_ae1_total_rows(FILE *f, const Row *r, double gm, double em, double epoch_mean,
                              double sum) {
    char a[32], b[32], c[32], d[32];
    fprintf(f, "| outside the ops (shuffle, host bookkeeping, hooks) | | %s | %s%% | | |\n",
            fmt(a, sizeof a, epoch_mean - sum, 4),
            fmt(b, sizeof b, 100.0 * (epoch_mean - sum) / epoch_mean, 1));
    fprintf(f, "| **GEMMs** | | **%s** | **%s%%** | | |\n", fmt(a, sizeof a, gm, 4),
            fmt(b, sizeof b, 100.0 * gm / epoch_mean, 1));
    fprintf(f, "| **element-wise (all other ops)** | | **%s** | **%s%%** (target < 10%%) | "
               "**%s** | **%s** |\n",
            fmt(a, sizeof a, em, 4), fmt(b, sizeof b, 100.0 * em / epoch_mean, 1),
            fmt(c, sizeof c, r->elem_mb, 1), fmt(d, sizeof d, r->elem_gbs, 1));
}

/* The element-wise traffic against the STREAM triad, and the floor it sets. */
static void md_ae1_bandwidth(FILE *f, const Row *r, double em) {
    char a[32], b[32], c[32], d[32], e2[32], g2[32], h2[32], k2[32];
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
            fmt(a, sizeof a, r->elem_mb, 0), fmt(b, sizeof b, em, 3),
            fmt(c, sizeof c, r->elem_gbs, 1), fmt(d, sizeof d, r->stream_l3, 1),
            fmt(e2, sizeof e2, r->stream_dram, 1),
            fmt(h2, sizeof h2, 100.0 * r->elem_gbs / r->stream_l3, 0),
            fmt(g2, sizeof g2, r->floor_s, 3),
            fmt(k2, sizeof k2, r->floor_pct, 1));
}

static void md_ae1(FILE *f, const Options *o, const Results *R) {
    const Side *ae = &R->aelab[W_AE1];
    if (!o->workloads[W_AE1] || !ae->ran || !ae->op_rounds) return;
    char a[32], b[32], c[32];
    double epoch_mean = epoch_mean_s(ae);
    fprintf(f, "\n## Where an AE1 epoch goes (aelab, per epoch, mean of the timed epochs "
               "%.3f s)\n\n", epoch_mean);
    fprintf(f, "| op | calls/epoch | s/epoch | %% of epoch | MB/epoch | GB/s |\n"
               "| --- | --- | --- | --- | --- | --- |\n");
    double sum = md_ae1_op_rows(f, ae, epoch_mean);
    double gm = op_total(ae, true), em = op_total(ae, false);
    Row r = row_make(ae, &R->torch[W_AE1], W_AE1);
    md_ae1_total_rows(f, &r, gm, em, epoch_mean, sum);
    fprintf(f, "\nThe GEMMs inside the epoch take %s s against %s s for the same calls "
               "replayed alone: %s%% of the replay's speed.\n",
            fmt(a, sizeof a, gm, 3), fmt(b, sizeof b, samples_median(&ae->roofline_s), 3),
            fmt(c, sizeof c, 100.0 * samples_median(&ae->roofline_s) / gm, 0));
    md_ae1_bandwidth(f, &r, em);
}

/* ---- results.md: the largest element-wise ops of every workload ---- */

static void md_largest_ops(FILE *f, const Options *o, const Results *R) {
    char a[32], b[32], c[32], d[32];
    fprintf(f, "\n## The largest element-wise ops per workload (aelab, s per epoch; L-BFGS: per "
               "iteration)\n\n| workload | GEMMs | element-wise | element-wise MB | "
               "element-wise GB/s | largest element-wise ops |\n"
               "| --- | --- | --- | --- | --- | --- |\n");
    for (int w = 0; w < W_COUNT; w++) {
        const Side *s = &R->aelab[w];
        if (!o->workloads[w] || !s->ran || !s->op_rounds) continue;
        int order[OP_COUNT];
        int n = ops_by_seconds(s, true, order);
        Row r = row_make(s, &R->torch[w], w);
        fprintf(f, "| %s | %s s | %s s | %s | %s |", WORKLOAD_NAMES[w],
                fmt(a, sizeof a, op_total(s, true), 3), fmt(b, sizeof b, r.elem_s, 3),
                fmt(c, sizeof c, r.elem_mb, 0), fmt(d, sizeof d, r.elem_gbs, 1));
        for (int x = 0; x < n && x < 4; x++)
            fprintf(f, "%s %s %s s", x ? "," : "", OP_NAMES[order[x]],
                    fmt(a, sizeof a, s->op_sec[order[x]] / s->op_rounds, 3));
        fprintf(f, " |\n");
    }
}

/* ---- results.md: the targets ---- */

/* A same-BLAS speed-up, or why there is none. */
static const char *ratio_text(char *buf, size_t n, const Side *a, const Side *t, double ratio) {
    if (!a->ran || !t->ran) snprintf(buf, n, "not measured: %s", !a->ran ? a->error : t->error);
    else if (a->blas_mismatch[0] || t->blas_mismatch[0])
        snprintf(buf, n, "no ratio: BLAS check failed (%s)",
                 t->blas_mismatch[0] ? t->blas_mismatch : a->blas_mismatch);
    else snprintf(buf, n, "%.2f×", ratio);
    return buf;
}

static const char *met(bool ok, bool measured) { return !measured ? "—" : ok ? "met" : "not met"; }

/* The targets of issue 17, each met or not with its figure. */
static void md_targets17(FILE *f, const Options *o, const Results *R) {
    char a[32], b[32], c[32], t1[800];
    const Side *ae = &R->aelab[W_AE1], *tt = &R->torch[W_AE1];
    Row r = row_make(ae, tt, W_AE1);
    bool ok_ratio = ae->ran && tt->ran && !ae->blas_mismatch[0] && !tt->blas_mismatch[0];
    fprintf(f, "| FP32 AE1 epoch ≥ 2.0× PyTorch on the same BLAS build and threads | %s "
               "(%s s vs %s s) | %s |\n", ratio_text(t1, sizeof t1, ae, tt, r.speedup),
            fmt(a, sizeof a, r.s, 3), fmt(b, sizeof b, r.t_s, 3),
            met(r.speedup >= 2.0, ok_ratio));
    double big = samples_median(&ae->sgemm_big);
    fprintf(f, "| FP32 AE1 epoch ≥ 85%% of the machine's large-GEMM rate | %s%% (%s GFLOP/s vs "
               "%s GFLOP/s for a 2048³ sgemm) | %s |\n",
            fmt(a, sizeof a, 100.0 * r.gflops / big, 0), fmt(b, sizeof b, r.gflops, 1),
            fmt(c, sizeof c, big, 1), met(r.gflops >= 0.85 * big, ae->ran && !isnan(big)));
    if (R->aelab_skx.ran && R->torch_skx.ran) {
        const Side *xa = &R->aelab_skx, *xt = &R->torch_skx;
        Row x = row_make(xa, xt, W_AE1);
        double xbig = samples_median(&xa->sgemm_big);
        bool okx = !xa->blas_mismatch[0] && !xt->blas_mismatch[0];
        char g[32];
        fprintf(f, "| the same two with the AVX-512 kernels (SkylakeX, one process each) | %s "
                   "(%s s vs %s s); %s%% of that build's 2048³ rate (%s GFLOP/s) | %s, %s |\n",
                ratio_text(t1, sizeof t1, xa, xt, x.speedup), fmt(a, sizeof a, x.s, 3),
                fmt(b, sizeof b, x.t_s, 3), fmt(c, sizeof c, 100.0 * x.gflops / xbig, 0),
                fmt(g, sizeof g, xbig, 1), met(x.speedup >= 2.0, okx),
                met(x.gflops >= 0.85 * xbig, !isnan(xbig)));
    }
    char worst[600] = "";
    bool all = true, any = false;
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w] || !R->aelab[w].ran) continue;
        Row q = row_make(&R->aelab[w], &R->torch[w], w);
        any = true;
        if (!(q.pct_roof >= 90.0)) {
            all = false;
            snprintf(worst + strlen(worst), sizeof worst - strlen(worst), "%s%s %.0f%%",
                     worst[0] ? ", " : "", WORKLOAD_NAMES[w], q.pct_roof);
        }
    }
    fprintf(f, "| every workload ≥ 90%% of its sgemm roofline | %s | %s |\n",
            all ? "all ≥ 90%" : worst, met(all, any));
    const Side *la = &R->aelab[W_LBFGS60K], *lt = &R->torch[W_LBFGS60K];
    Row l = row_make(la, lt, W_LBFGS60K);
    bool ok_l = la->ran && lt->ran && !la->blas_mismatch[0] && !lt->blas_mismatch[0];
    fprintf(f, "| full-batch L-BFGS on 60,000 images ≥ 2× PyTorch (per evaluation) | %s "
               "(%s s vs %s s) | %s |\n", ratio_text(t1, sizeof t1, la, lt, l.speedup),
            fmt(a, sizeof a, l.s, 3), fmt(b, sizeof b, l.t_s, 3), met(l.speedup >= 2.0, ok_l));
    fprintf(f, "| full-batch L-BFGS on 60,000 images: peak RSS ≤ 400 MB | %s MB (PyTorch %s MB) "
               "| %s |\n", fmt(a, sizeof a, l.rss_mb, 0), fmt(b, sizeof b, l.t_rss_mb, 0),
            met(l.rss_mb <= 400.0, la->ran));
    const Side *bf = &R->aelab_bf16;
    if (!bf->ran) {
        fprintf(f, "| bf16 (opt-in): AE1 ≥ 2.5× PyTorch FP32, ≥ 1.6× aelab FP32 | not measured: "
                   "%s | — |\n", bf->error[0] ? bf->error
                                               : "this build has no oneDNN (libdnnl-dev)");
    } else {
        Row rb = row_make(bf, tt, W_AE1);
        double vs_fp32 = r.s / rb.s;
        bool okb = tt->ran && !bf->blas_mismatch[0] && !tt->blas_mismatch[0];
        fprintf(f, "| bf16 (opt-in): AE1 ≥ 2.5× PyTorch FP32 and ≥ 1.6× aelab FP32 | %s vs "
                   "PyTorch FP32, %.2f× vs aelab FP32 (%s s vs %s s and %s s) | %s, %s |\n",
                ratio_text(t1, sizeof t1, bf, tt, rb.speedup), vs_fp32, fmt(a, sizeof a, rb.s, 3),
                fmt(b, sizeof b, r.t_s, 3), fmt(c, sizeof c, r.s, 3),
                met(rb.speedup >= 2.5, okb), met(vs_fp32 >= 1.6, ae->ran));
    }
    fprintf(f, "| bf16: lecture-17 test accuracy within 0.5 points of FP32 | not run by the bench "
               "(two full lecture runs); measured by hand: bench/README.md | — |\n");
}

static void md_targets(FILE *f, const Options *o, const Results *R) {
    char a[32];
    fprintf(f, "\n## Targets (issue 17)\n\n| target | measured | met |\n| --- | --- | --- |\n");
    md_targets17(f, o, R);
    fprintf(f, "\n## Earlier targets (issue 7)\n\n| target | measured | met |\n"
               "| --- | --- | --- |\n");
    if (R->aelab[W_AE1].ran)
        fprintf(f, "| element-wise < 10%% of an AE1 epoch | %.1f%% | %s |\n",
                row_make(&R->aelab[W_AE1], &R->torch[W_AE1], W_AE1).elem_pct,
                row_make(&R->aelab[W_AE1], &R->torch[W_AE1], W_AE1).elem_pct < 10 ? "yes"
                                                                                    : "no");
    long worst = 0;
    for (int w = 0; w <= W_LBFGS; w++) /* issue 7's workloads */
        if (R->aelab[w].rss_kb > worst) worst = R->aelab[w].rss_kb;
    if (R->run_done && R->run_rss_kb > worst) worst = R->run_rss_kb;
    fprintf(f, "| peak RSS ≤ 150 MB | %ld MB (largest of issue 7's five workloads%s) | %s |\n",
            worst / 1024, R->run_done ? " and the lecture 17 run" : "",
            worst <= 150 * 1024 ? "yes" : "no");
    if (!R->startup_error[0] && R->version_s.n) {
        double su = samples_median(&R->version_s) + samples_median(&R->load_s) +
                    samples_median(&R->upload_s);
        fprintf(f, "| start-up + loading < 0.3 s | %s s | %s |\n", fmt(a, sizeof a, su, 3),
                su < 0.3 ? "yes" : "no");
    }
}

/* ---- results.csv ---- */

/* The two rows (aelab, PyTorch) of workload w. */
static void csv_workload(FILE *f, const Options *o, const Results *R, int w, const char *date) {
    for (int side = 0; side < 2; side++) {
        const Side *s = side ? &R->torch[w] : &R->aelab[w];
        Row r = row_make(&R->aelab[w], &R->torch[w], w);
        const Samples *ss = workload_is_lbfgs(w) ? &s->eval_s : &s->epoch_s;
        double med = samples_median(ss);
        fprintf(f, "%s,%d,%s,%s,%s,%s,%d,%.6f,%.6f,%.6f,%.6e,%.3f,", date, o->threads,
                s->corename[0] ? s->corename : openblas_get_corename(),
                side ? "pytorch" : "aelab", WORKLOAD_NAMES[w],
                workload_is_lbfgs(w) ? "evaluation" : "epoch", ss->n, med, samples_min(ss),
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
}

/* L-BFGS per iteration, for each side that ran. */
static void csv_lbfgs_iterations(FILE *f, const Options *o, const Results *R, int w,
                                 const char *date) {
    for (int side = 0; side < 2; side++) {
        const Side *s = side ? &R->torch[w] : &R->aelab[w];
        if (!s->ran) continue;
        fprintf(f, "%s,%d,%s,%s,%s,iteration,%d,%.6f,%.6f,%.6f,,,,,,,,,,,,,,"
                   "evaluations per iteration %.2f\n", date, o->threads,
                s->corename[0] ? s->corename : openblas_get_corename(),
                side ? "pytorch" : "aelab", WORKLOAD_NAMES[w], s->epoch_s.n, samples_median(&s->epoch_s),
                samples_min(&s->epoch_s), samples_max(&s->epoch_s),
                s->evals_rounds ? s->evals_per_iter_sum / s->evals_rounds : NAN);
    }
}

/* PyTorch's AE1 with its own core choice, start-up and loading, the lecture run. */
static void csv_extras(FILE *f, const Options *o, const Results *R, const char *date) {
    if (R->torch_default.ran)
        fprintf(f, "%s,%d,%s,pytorch-default-core,ae1,epoch,%d,%.6f,%.6f,%.6f,,,,,,,%.1f,,%.3f,"
                   ",,,,\n", date, o->threads, R->torch_default.corename,
                R->torch_default.epoch_s.n, samples_median(&R->torch_default.epoch_s),
                samples_min(&R->torch_default.epoch_s), samples_max(&R->torch_default.epoch_s),
                R->torch_default.rss_kb / 1024.0, samples_median(&R->torch_default.others));
    if (!R->startup_error[0]) {
        fprintf(f, "%s,%d,%s,aelab,load_mnist,process,%d,%.6f,%.6f,%.6f,,,,,,,%.1f,,,,,,,"
                   "load+upload in process %.4f s\n", date, o->threads, openblas_get_corename(),
                R->load_proc_s.n, samples_median(&R->load_proc_s), samples_min(&R->load_proc_s),
                samples_max(&R->load_proc_s), R->load_rss_kb / 1024.0,
                samples_median(&R->load_s) + samples_median(&R->upload_s));
        if (R->version_s.n)
            fprintf(f, "%s,%d,%s,aelab,startup_version,process,%d,%.6f,%.6f,%.6f,,,,,,,,,,,,,,"
                       "\n", date, o->threads, openblas_get_corename(), R->version_s.n,
                    samples_median(&R->version_s), samples_min(&R->version_s),
                    samples_max(&R->version_s));
    }
    if (R->run_done)
        fprintf(f, "%s,%d,%s,aelab,lecture17_run,run,1,%.6f,%.6f,%.6f,,,,,,,%.1f,,%.3f,,,,,\n",
                date, o->threads, openblas_get_corename(), R->run_wall_s, R->run_wall_s,
                R->run_wall_s, R->run_rss_kb / 1024.0, R->run_others);
    else if (o->run_lecture)
        fprintf(f, "%s,%d,%s,aelab,lecture17_run,run,0,,,,,,,,,,,,,,,,,not measured\n", date,
                o->threads, openblas_get_corename());
}

/* The GPU section: AE1 on the CUDA backend against its cuBLAS roofline and issue 13's target. */
static void md_gpu(FILE *f, const Results *R) {
    fprintf(f, "\n## GPU (CUDA backend: AE1, one epoch of 60,000 images resident on the device)"
               "\n\n");
    if (!R->gpu_ran) {
        fprintf(f, "Not measured: %s\n", R->gpu_note);
        return;
    }
    double e = samples_median(&R->gpu_epoch_s), roof = samples_median(&R->gpu_roof_s);
    fprintf(f, "| figure | seconds |\n| --- | --- |\n");
    fprintf(f, "| epoch, median of %d (min %.4f, max %.4f) | %.4f |\n", R->gpu_epoch_s.n,
            samples_min(&R->gpu_epoch_s), samples_max(&R->gpu_epoch_s), e);
    fprintf(f, "| warm-up epoch | %.4f |\n", R->gpu_warm_s);
    fprintf(f, "| roofline: the epoch's GEMMs alone through cuBLAS, median of %d | %.4f |\n",
            R->gpu_roof_s.n, roof);
    fprintf(f, "\nThe epoch runs at %.0f%% of its roofline; target (issue 13) <= 0.005 s: %s.\n",
            100.0 * roof / e, e <= 0.005 ? "met" : "not met");
}

static void csv_write(FILE *f, const Options *o, const Results *R, const char *date) {
    fprintf(f, "date,threads,corename,side,workload,unit,samples,median_s,min_s,max_s,"
               "flops,gflops,roofline_s,roofline_gflops,pct_roofline,elementwise_pct,"
               "peak_rss_mb,speedup_vs_torch,other_load_cores,elementwise_mb,elementwise_gbs,"
               "stream_gbs_l3,stream_gbs_dram,note\n");
    for (int w = 0; w < W_COUNT; w++) {
        if (!o->workloads[w]) continue;
        csv_workload(f, o, R, w, date);
        if (workload_is_lbfgs(w)) csv_lbfgs_iterations(f, o, R, w, date);
    }
    csv_extras(f, o, R, date);
    if (R->gpu_ran)
        fprintf(f, "%s,%d,%s,aelab-cuda,ae1,epoch,%d,%.6f,%.6f,%.6f,,,%.6f,,%.1f,,,,,,,,,\n",
                date, o->threads, "cuda", R->gpu_epoch_s.n, samples_median(&R->gpu_epoch_s),
                samples_min(&R->gpu_epoch_s), samples_max(&R->gpu_epoch_s),
                samples_median(&R->gpu_roof_s),
                100.0 * samples_median(&R->gpu_roof_s) / samples_median(&R->gpu_epoch_s));
    else
        fprintf(f, "%s,%d,cuda,aelab-cuda,ae1,epoch,0,,,,,,,,,,,,,,,,,%s\n", date, o->threads,
                strchr(R->gpu_note, ',') ? "not measured" : R->gpu_note);
}

/* ---- the files ---- */

/* Opens DIR/NAME.tmp for writing; path gets DIR/NAME, tmp the temporary name. */
static FILE *out_open(const char *dir, const char *name, char path[1200], char tmp[1300]) {
    snprintf(path, 1200, "%s/%s", dir, name);
    snprintf(tmp, 1300, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("%s: %s", tmp, strerror(errno));
    return f;
}

static void out_close(FILE *f, const char *path, const char *tmp) {
    fclose(f);
    if (rename(tmp, path) != 0) die("rename %s: %s", path, strerror(errno));
}

void report_write(const Options *o, const Results *R) {
    char path[1200], tmp[1300], date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&now));
    FILE *f = out_open(o->outdir, "results.md", path, tmp);
    md_setup(f, o, R, date);
    md_method(f, o, R);
    md_noise(f, R);
    md_machine(f, o, R);
    md_blas(f, o, R);
    md_training(f, o, R);
    md_startup(f, o, R);
    md_ae1(f, o, R);
    md_largest_ops(f, o, R);
    md_targets(f, o, R);
    md_gpu(f, R);
    fprintf(f, "\n`make bench` took %.0f s. Raw figures: bench/results.csv.\n", R->total_s);
    out_close(f, path, tmp);

    f = out_open(o->outdir, "results.csv", path, tmp);
    csv_write(f, o, R, date);
    out_close(f, path, tmp);
}
