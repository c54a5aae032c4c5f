/* bench/bench.c — `make bench`: aelab's training epochs against the BLAS roofline and PyTorch.
 *
 * main and the orchestrator, `bench all`: for each round and workload, one `bench work` process
 * (workload.c) then one PyTorch process (bench/peer_torch.py), alternating since the machine is
 * shared and noisy; the workloads whose processes were noisy again while the time budget allows;
 * the extra AE1 rows (PyTorch with OpenBLAS's own core choice, the AVX-512 kernels, passive
 * OpenMP waits); then the start-up timings and `aelab run` of lecture 17. It keeps the whole run
 * within its budget (480 s by default) by dropping, in that order, later rounds, the extra rows
 * and the lecture run, and writes results.md and results.csv (report.c). The other roles and
 * the parts are listed in bench/bench.h.
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the engine's shape
 * name I (a layer's inputs); the bench uses no complex numbers. */
#undef I
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"

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

/* What OpenBLAS's SkylakeX kernels need. */
static bool avx512_usable(void) {
    return cpu_flag("avx512f") && cpu_flag("avx512bw") && cpu_flag("avx512dq") &&
           cpu_flag("avx512vl");
}

/* ---- the measuring processes ---- */

/* Timed epochs (L-BFGS: iterations) per process of workload w: lbfgs60k's evaluations take
 * about six times lbfgs's, so it runs a quarter of the iterations. */
static int workload_iters(const Options *o, int w) {
    if (w == W_LBFGS60K) return o->lbfgs_iters / 4 > 1 ? o->lbfgs_iters / 4 : 1;
    return workload_is_lbfgs(w) ? o->lbfgs_iters : o->epochs;
}

/* The finished process p (freed here) into s: its figures when it exited 0, its error
 * otherwise; says so on stderr, with `who` ("aelab", "torch") and the labels of its set-up. */
static void side_take(Side *s, Proc *p, const char *who, int w, const char *core,
                      const char *label) {
    if (p->rc != 0) {
        snprintf(s->error, sizeof s->error, "failed (exit %d): %s", p->rc, p->err_tail);
        say("%s %s: %s", who, WORKLOAD_NAMES[w], s->error);
    } else {
        s->ran = true;
        side_parse(s, p->out);
        samples_add(&s->others, p->others);
        say("%s %-10s median so far %.3f s (%.1f s wall; other processes used %.2f cores)%s%s",
            who, WORKLOAD_NAMES[w], samples_median(workload_is_lbfgs(w) ? &s->eval_s : &s->epoch_s),
            p->wall_s, p->others, core_label(core), label);
    }
    proc_clear(p);
}

/* The BLAS a peer process reported (blas_* lines) against what its row claims: `same` the
 * very libopenblas file this program mapped, its threading layer and kernels, o->threads
 * threads on both the BLAS and (PyTorch) ATen; otherwise Debian's default pthread build. What
 * differs goes to s->blas_mismatch, and the report then prints no ratio for the row. The
 * kernels: core "" must be this program's (aelab's), a name that one, NULL is not checked
 * (OpenBLAS's own choice). */
static void blas_check(const Options *o, Side *s, bool same, const char *core) {
    if (!s->ran) return;
    char *m = s->blas_mismatch;
    size_t n = sizeof s->blas_mismatch;
    char want[64];
    snprintf(want, sizeof want, "at::get_num_threads %d", o->threads);
    if (same && strcmp(s->blas_lib, o->blas_self) != 0)
        snprintf(m, n, "loaded %s, not %s", s->blas_lib[0] ? s->blas_lib : "no OpenBLAS",
                 o->blas_self);
    else if (!same && !strstr(s->blas_lib, "openblas-pthread"))
        snprintf(m, n, "loaded %s, not Debian's pthread OpenBLAS", s->blas_lib);
    else if (s->blas_parallel != (same ? openblas_get_parallel() : 1))
        snprintf(m, n, "openblas_get_parallel() %d", s->blas_parallel);
    else if (s->blas_threads != o->threads)
        snprintf(m, n, "openblas_get_num_threads() %d, not %d", s->blas_threads, o->threads);
    else if (s->torch_parallel[0] && !strstr(s->torch_parallel, want))
        snprintf(m, n, "PyTorch: %s, not %d threads", s->torch_parallel, o->threads);
    else if (core && strcasecmp(s->corename, core[0] ? core : openblas_get_corename()) != 0)
        snprintf(m, n, "kernels %s, not %s", s->corename, core[0] ? core : "aelab's");
}

/* One `bench work` process of workload w into s; core as for core_env, extra_env one more
 * "K=V" for its environment (or NULL). */
static void run_aelab_worker(const Options *o, int w, Side *s, const char *core,
                             const char *extra_env, bool bf16) {
    char threads[16], epochs[16], ce[96], reps[16];
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(epochs, sizeof epochs, "%d", workload_iters(o, w));
    snprintf(reps, sizeof reps, "%d", o->roofline_reps);
    core_env(ce, sizeof ce, core);
    const char *env[3] = {NULL, NULL, NULL};
    int ne = 0;
    if (core) env[ne++] = ce;
    if (extra_env) env[ne++] = extra_env;
    char *argv[] = {(char *)o->self, "work", (char *)WORKLOAD_NAMES[w], "--threads", threads,
                    "--epochs", epochs, "--roofline-reps", reps,
                    o->cpu_clock ? "--cpu-clock" : NULL, NULL, NULL, NULL};
    if (bf16) { /* after --cpu-clock, or in its place */
        char **end = argv + 9 + (o->cpu_clock ? 1 : 0);
        end[0] = "--precision", end[1] = "bf16";
    }
    Proc p = proc_run(argv, env, false);
    side_take(s, &p, "aelab", w, core,
              extra_env ? " [passive OpenMP waits]" : bf16 ? " [precision bf16]" : "");
    blas_check(o, s, true, core ? core : "");
}

/* One PyTorch peer process of workload w into s (its error when there is no interpreter).
 * same_blas: the OpenBLAS build aelab links, first on LD_LIBRARY_PATH; otherwise the library
 * Debian's alternatives give a plain python3 (pthread OpenBLAS). core as for core_env. */
static void run_torch_worker(const Options *o, int w, Side *s, const char *core, bool same_blas) {
    if (!o->python[0]) {
        snprintf(s->error, sizeof s->error, "%s", o->python_why);
        return;
    }
    char threads[16], epochs[16], nt[48], ob[48], ce[96], ld[400];
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(epochs, sizeof epochs, "%d", workload_iters(o, w));
    snprintf(nt, sizeof nt, "OMP_NUM_THREADS=%d", o->threads);
    snprintf(ob, sizeof ob, "OPENBLAS_NUM_THREADS=%d", o->threads);
    snprintf(ld, sizeof ld, "LD_LIBRARY_PATH=%s", same_blas ? o->blas_dir : "");
    core_env(ce, sizeof ce, core);
    const char *env[] = {nt, ob, ld, core ? ce : NULL, NULL};
    char *argv[] = {(char *)o->python, (char *)o->peer, "--workload", (char *)WORKLOAD_NAMES[w],
                    "--threads", threads, "--epochs", epochs,
                    o->cpu_clock ? "--cpu-clock" : NULL, NULL};
    Proc p = proc_run(argv, env, false);
    side_take(s, &p, "torch", w, core, same_blas ? "" : " [Debian's pthread OpenBLAS]");
    /* core "": OpenBLAS's own choice, nothing to check the kernels against; NULL: aelab's */
    blas_check(o, s, same_blas, !core ? "" : core[0] ? core : NULL);
    if (s->blas_mismatch[0]) say("torch %s: BLAS check failed: %s", WORKLOAD_NAMES[w],
                                 s->blas_mismatch);
}

/* kann's AE1 (bench/peers/kann.sh: built outside the repository with CBLAS against the same
 * OpenBLAS, skipped with its reason when no kann source is at hand) into s. */
static void run_kann(const Options *o, Side *s) {
    char threads[16], epochs[16];
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(epochs, sizeof epochs, "%d", o->epochs);
    char *argv[] = {"bash", (char *)o->kann, "--threads", threads, "--epochs", epochs,
                    o->cpu_clock ? "--cpu-clock" : NULL, NULL};
    Proc p = proc_run(argv, NULL, false);
    if (p.rc == 3) { /* skipped: no kann source */
        snprintf(s->error, sizeof s->error, "not run: %s", p.err_tail);
        say("kann: %s", s->error);
        proc_clear(&p);
        return;
    }
    side_take(s, &p, "kann", W_AE1, NULL, "");
    blas_check(o, s, true, "");
    if (s->blas_mismatch[0]) say("kann: BLAS check failed: %s", s->blas_mismatch);
}

/* The first value of `key` in a worker's output, or NaN. */
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

/* Five times: `bench load`, `aelab --version` and `aelab datasets`. */
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

/* `aelab run` of lecture 17 into the scratch directory, with the stage cache off. */
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

/* ---- `bench all` ---- */

static const char USAGE_ALL[] =
    "usage: bench all [--threads N] [--rounds R] [--epochs E] [--lbfgs-iters I]\n"
    "                 [--workloads a,b,...] [--aelab BIN] [--python PY | --no-python WHY]\n"
    "                 [--peer FILE] [--kann SCRIPT] [--out DIR] [--scratch DIR] [--commit ID]\n"
    "                 [--no-run] [--no-default-core] [--no-avx512] [--budget SECONDS]\n"
    "                 [--roofline-reps N] [--quick] [--cpu-clock]\n"
    "  Runs every workload (ae1, stacked, classifier, denoise, lbfgs, lbfgs60k, frozen),\n"
    "  alternating aelab and PyTorch (on the OpenBLAS build aelab links, checked at run time),\n"
    "  and writes DIR/results.md and DIR/results.csv (DIR: bench). Defaults: 2 rounds of 3\n"
    "  timed epochs after a warm-up, 8 L-BFGS iterations (lbfgs60k: 2), a budget of 480 s (later rounds,\n"
    "  the extra AE1 rows and the lecture run are skipped when they would not fit).\n";

/* One aelab process then one PyTorch process for workload w, each kept as its own run. */
static void run_pair(const Options *o, Results *R, int w) {
    double t = now_seconds();
    Runs *a = &R->aelab_runs[w], *p = &R->torch_runs[w];
    if (a->n < MAX_PROCS) run_aelab_worker(o, w, &a->p[a->n++], NULL, NULL, false);
    if (p->n < MAX_PROCS) run_torch_worker(o, w, &p->p[p->n++], NULL, true);
    runs_merge(a, &R->aelab[w]);
    runs_merge(p, &R->torch[w]);
    /* precision bf16 (oneDNN's bf16 matmul), interleaved with the FP32 pair it is set against */
    Runs *b = &R->aelab_bf16_runs;
    if (w == W_AE1 && backend_cpu_bf16_compiled() && b->n < MAX_PROCS) {
        run_aelab_worker(o, w, &b->p[b->n++], NULL, NULL, true);
        runs_merge(b, &R->aelab_bf16);
    }
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


/* --workloads a,b,...: only those. */
static void options_workloads(Options *o, const char *v) {
    for (int w = 0; w < W_COUNT; w++) o->workloads[w] = false;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int w = workload_find(tok);
        if (w < 0) die("--workloads: unknown workload '%s'", tok);
        o->workloads[w] = true;
    }
}

/* The options with a numeric value; false when a is none of them. */
static bool options_number(Options *o, const char *a, const char *v) {
    if (strcmp(a, "--threads") == 0) {
        if (!ae_parse_int(v, 0, 1024, &o->threads))
            die("--threads: expected 0..1024, got '%s'", v);
    } else if (strcmp(a, "--rounds") == 0) {
        if (!ae_parse_int(v, 1, 100, &o->rounds)) die("--rounds: expected 1..100, got '%s'", v);
    } else if (strcmp(a, "--epochs") == 0) {
        if (!ae_parse_int(v, 1, 200, &o->epochs)) die("--epochs: expected 1..200, got '%s'", v);
    } else if (strcmp(a, "--lbfgs-iters") == 0) {
        if (!ae_parse_int(v, 1, 400, &o->lbfgs_iters))
            die("--lbfgs-iters: expected 1..400, got '%s'", v);
    } else if (strcmp(a, "--roofline-reps") == 0) {
        if (!ae_parse_int(v, 1, 100, &o->roofline_reps))
            die("--roofline-reps: expected 1..100, got '%s'", v);
    } else if (strcmp(a, "--budget") == 0) {
        int b;
        if (!ae_parse_int(v, 10, 100000, &b))
            die("--budget: expected seconds >= 10, got '%s'", v);
        o->budget_s = b;
    } else {
        return false;
    }
    return true;
}

/* The option a with its value v (an argument of its own); dies when a is unknown. */
static void options_value(Options *o, const char *a, const char *v) {
    if (options_number(o, a, v)) return;
    if (strcmp(a, "--workloads") == 0) {
        options_workloads(o, v);
    } else if (strcmp(a, "--aelab") == 0) {
        o->aelab = v;
    } else if (strcmp(a, "--python") == 0) {
        o->python = v;
    } else if (strcmp(a, "--no-python") == 0) {
        o->python = "";
        o->python_why = v;
    } else if (strcmp(a, "--peer") == 0) {
        o->peer = v;
    } else if (strcmp(a, "--kann") == 0) {
        o->kann = v;
    } else if (strcmp(a, "--out") == 0) {
        o->outdir = v;
    } else if (strcmp(a, "--scratch") == 0) {
        o->scratch = v;
    } else if (strcmp(a, "--commit") == 0) {
        o->commit = v;
    } else {
        die("all: unknown option '%s' (see bench all --help)", a);
    }
}

/* `bench all`'s options over the defaults; false after --help (the usage is printed). */
static bool options_parse(Options *o, int argc, char **argv, const char *self) {
    *o = (Options){.threads = 0, .rounds = 2, .epochs = 3, .lbfgs_iters = 8, .roofline_reps = 5, .self = self,
                   .aelab = "", .python = "", .python_why = "not installed (make bench-deps)",
                   .peer = "bench/peer_torch.py", .kann = "bench/peers/kann.sh", .outdir = "bench", .scratch = "build/bench",
                   .commit = "unknown",
                   .run_lecture = true, .torch_default_core = true, .variants = true,
                   .budget_s = 480.0};
    for (int w = 0; w < W_COUNT; w++) o->workloads[w] = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            fputs(USAGE_ALL, stdout);
            return false;
        } else if (strcmp(a, "--no-run") == 0) {
            o->run_lecture = false;
        } else if (strcmp(a, "--cpu-clock") == 0) {
            o->cpu_clock = true;
        } else if (strcmp(a, "--quick") == 0) {
            /* for development on a busy machine: the figures are not the bench's */
            o->quick = true;
            o->rounds = 1;
            o->epochs = 2;
            o->lbfgs_iters = 4;
            o->roofline_reps = 3;
            o->run_lecture = false;
            o->torch_default_core = false;
        } else if (strcmp(a, "--no-default-core") == 0) {
            o->torch_default_core = false;
        } else if (strcmp(a, "--no-avx512") == 0) {
            o->variants = false;
        } else if (!v) {
            die("all: %s needs a value (see bench all --help)", a);
        } else {
            options_value(o, a, v);
            i++;
        }
    }
    if (o->threads <= 0) o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    blas_mapped_path(o->blas_self, sizeof o->blas_self);
    snprintf(o->blas_dir, sizeof o->blas_dir, "%s", o->blas_self);
    char *slash = strrchr(o->blas_dir, '/');
    if (slash) *slash = '\0';
    return true;
}

/* The time `bench all` started, and what a round took, for the budget. */
typedef struct Clock {
    double t0;
    double round_s; /* the last full round */
} Clock;

/* Whether `need` more seconds, then the lecture run and a margin, fit the budget. */
static bool budget_fits(const Options *o, const Results *R, const Clock *c, double need) {
    return now_seconds() - c->t0 + need + lecture_estimate(o, R) + 15.0 <= o->budget_s;
}

/* The rounds: every selected workload once per round, as long as another round fits. */
static void run_rounds(const Options *o, Results *R, Clock *c) {
    for (int round = 0; round < o->rounds; round++) {
        if (round > 0 && !budget_fits(o, R, c, c->round_s)) {
            snprintf(R->budget_note, sizeof R->budget_note,
                     "stopped after %d of %d rounds to stay within the %.0f s budget "
                     "(a round took %.0f s)", round, o->rounds, o->budget_s, c->round_s);
            say("%s", R->budget_note);
            break;
        }
        R->rounds_done = round + 1;
        say("round %d of %d", round + 1, o->rounds);
        double r0 = now_seconds();
        for (int w = 0; w < W_COUNT; w++)
            if (o->workloads[w]) run_pair(o, R, w);
        c->round_s = now_seconds() - r0;
    }
}

/* Noisy processes (other people's jobs took more than CLEAN_OTHERS cores meanwhile): run their
 * workload again while the budget allows, so that each side has as many clean processes as
 * rounds were run. */
static void rerun_noisy(const Options *o, Results *R, const Clock *c) {
    for (int pass = 0; pass < 2; pass++)
        for (int w = 0; w < W_COUNT; w++) {
            if (!o->workloads[w]) continue;
            int want = R->rounds_done;
            bool short_a = runs_clean(&R->aelab_runs[w]) < want;
            bool short_t = o->python[0] && runs_clean(&R->torch_runs[w]) < want;
            if (!short_a && !short_t) continue;
            if (R->aelab_runs[w].n >= MAX_PROCS || R->torch_runs[w].n >= MAX_PROCS) continue;
            if (!budget_fits(o, R, c, R->pair_s[w] + 0.45 * c->round_s)) continue;
            say("again: %s (a process shared the machine with other jobs)", WORKLOAD_NAMES[w]);
            run_pair(o, R, w);
        }
}

/* The extra AE1 rows, which cost about 45% of a round. */
static void run_extra_rows(const Options *o, Results *R, const Clock *c) {
    bool extra_ok = budget_fits(o, R, c, 0.45 * c->round_s);
    if (!extra_ok && (o->torch_default_core || o->variants))
        say("skipping the extra AE1 rows to stay within the %.0f s budget", o->budget_s);
    if (!extra_ok || !o->workloads[W_AE1]) return;
    if (o->kann[0]) run_kann(o, &R->kann);
    /* What a default Debian python3 gets: libblas.so.3 through the alternatives (the pthread
     * OpenBLAS, whose threads and PyTorch's OpenMP threads share the cores), with aelab's
     * kernels and with the library's own core choice. */
    if (o->python[0]) run_torch_worker(o, W_AE1, &R->torch_pthread, NULL, false);
    if (o->torch_default_core && o->python[0])
        run_torch_worker(o, W_AE1, &R->torch_default, "", false);
    /* The AVX-512 kernels: Debian's OpenBLAS has them (SkylakeX) but neither detects this CPU
     * nor is told to use them; one AE1 process per side shows what they would give. */
    if (o->variants && avx512_usable() && strcasecmp(openblas_get_corename(), "skylakex") != 0) {
        say("AE1 with OPENBLAS_CORETYPE=SkylakeX (AVX-512) ...");
        run_aelab_worker(o, W_AE1, &R->aelab_skx, "SkylakeX", NULL, false);
        run_torch_worker(o, W_AE1, &R->torch_skx, "SkylakeX", true);
    }
    /* Idle OpenMP threads spin before they sleep (libgomp's default); on a shared machine a
     * spinning thread takes the core its partner needs. */
    if (o->variants && !getenv("OMP_WAIT_POLICY")) {
        say("AE1 with OMP_WAIT_POLICY=passive ...");
        run_aelab_worker(o, W_AE1, &R->aelab_passive, NULL, "OMP_WAIT_POLICY=passive", false);
    }
}

/* `bench gpu`: AE1 on the CUDA backend, or the reason it did not run (no GPU: a note). */
static void run_gpu(const Options *o, Results *R) {
    char epochs[16];
    snprintf(epochs, sizeof epochs, "%d", o->epochs);
    char *argv[] = {(char *)o->self, "gpu", "--epochs", epochs, NULL};
    Proc p = proc_run(argv, NULL, false);
    if (p.rc != 0) {
        snprintf(R->gpu_note, sizeof R->gpu_note, "bench gpu failed (exit %d): %s", p.rc,
                 p.err_tail);
        proc_clear(&p);
        return;
    }
    for (const char *l = p.out; l && *l;) {
        double v;
        if (strncmp(l, "gpu_skip ", 9) == 0) {
            const char *e = strchr(l, '\n');
            snprintf(R->gpu_note, sizeof R->gpu_note, "skipped: %.*s",
                     (int)(e ? e - l - 9 : (long)strlen(l + 9)), l + 9);
        } else if (strncmp(l, "gpu_epoch_s ", 12) == 0 && parse_double(l + 12, &v)) {
            samples_add(&R->gpu_epoch_s, v);
        } else if (strncmp(l, "gpu_roofline_s ", 15) == 0 && parse_double(l + 15, &v)) {
            samples_add(&R->gpu_roof_s, v);
        } else if (strncmp(l, "gpu_warm_s ", 11) == 0 && parse_double(l + 11, &v)) {
            R->gpu_warm_s = v;
        }
        l = strchr(l, '\n');
        if (l) l++;
    }
    R->gpu_ran = R->gpu_epoch_s.n > 0;
    if (!R->gpu_ran && !R->gpu_note[0])
        snprintf(R->gpu_note, sizeof R->gpu_note, "bench gpu printed no epoch times");
    proc_clear(&p);
}

/* The lecture run, when the time left allows it; a note in the report otherwise. */
static void run_lecture_in_budget(const Options *o, Results *R, const Clock *c) {
    double left = o->budget_s - (now_seconds() - c->t0), need = lecture_estimate(o, R);
    if (need > left)
        snprintf(R->run_note, sizeof R->run_note,
                 "not measured: the bench's time budget (estimated %.0f s, %.0f s left of "
                 "%.0f; BENCH_ARGS=\"--budget S\" raises it)", need, left, o->budget_s);
    else
        run_lecture(o, R);
}

static int cmd_all(int argc, char **argv, const char *self) {
    Options o;
    if (!options_parse(&o, argc, argv, self)) return 0;
    mkdir(o.outdir, 0777);
    Results *R = calloc(1, sizeof *R);
    if (!R) die("out of memory");
    Clock c = {.t0 = now_seconds(), .round_s = 0.0};
    say("threads %d, OpenBLAS core %s, %d round(s) of %d timed epoch(s) after a warm-up; "
        "PyTorch: %s", o.threads, openblas_get_corename(), o.rounds, o.epochs,
        o.python[0] ? o.python : o.python_why);
    run_rounds(&o, R, &c);
    /* CPU time is what other jobs do not inflate: no reruns for their sake */
    if (!o.cpu_clock) rerun_noisy(&o, R, &c);
    run_extra_rows(&o, R, &c);
    say("start-up and loading ...");
    run_startup(&o, R);
    if (o.run_lecture) run_lecture_in_budget(&o, R, &c);
    say("GPU (bench gpu) ...");
    run_gpu(&o, R);
    say("GPU: %s", R->gpu_ran ? "measured" : R->gpu_note);
    R->total_s = now_seconds() - c.t0;
    report_write(&o, R);
    say("wrote %s/results.md and %s/results.csv (%.0f s)", o.outdir, o.outdir, R->total_s);
    free(R);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: bench work WORKLOAD [--epochs N] [--threads T]\n"
              "       bench load [--threads T]\n"
              "       bench gpu [--epochs N]\n", stderr);
        fputs(USAGE_ALL, stderr);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "work") == 0) return cmd_work(argc - 2, argv + 2);
    if (strcmp(argv[1], "load") == 0) return cmd_load(argc - 2, argv + 2);
    if (strcmp(argv[1], "gpu") == 0) return cmd_gpu(argc - 2, argv + 2);
    if (strcmp(argv[1], "all") == 0) return cmd_all(argc - 2, argv + 2, argv[0]);
    die("unknown command '%s' (work, load, gpu, all)", argv[1]);
}
