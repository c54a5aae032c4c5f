/* runner/main.c — the aelab command line: run, check, plot, compare, datasets, gradcheck.
 * Exit codes (DESIGN.md): 0 success, 1 run failed, 2 usage or config error, 3 regression found
 * by compare, 130 interrupted. stdout carries requested output only; diagnostics go to stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


#include "backend.h"
#include "compare.h"
#include "config.h"
#include "dataset.h"
#include "diag.h"
#include "fsutil.h"
#include "datasets.h"
#include "gradcheck.h"
#include "pipeline.h"
#include "plan.h"
#include "plots.h"
#include "schema_doc.h"
#include "sweep.h"

#define MAX_SETS 256

static const char USAGE[] =
    "usage: aelab COMMAND [ARGS]\n"
    "\n"
    "Runs autoencoder experiments described by YAML pipelines.\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml      train the pipeline and write results/<name>/\n"
    "  check FILE.yaml    validate and print the plan (shapes, parameters, FLOPs) without training\n"
    "  plot RUN_DIR       render the run's gnuplot scripts to PNG again\n"
    "  compare BASE CUR   compare accuracy tables; exit 3 on a regression\n"
    "  datasets           list the known data sets and where they were found\n"
    "  gradcheck          check every layer, loss and penalty gradient numerically\n"
    "  keys               print the config reference (every key and its default)\n"
    "\n"
    "options: --help (also after a command), --version\n"
    "exit codes: 0 ok, 1 run failed, 2 usage/config error, 3 regression, 130 interrupted\n";

static const char USAGE_RUN[] =
    "usage: aelab run FILE.yaml [options]\n"
    "\n"
    "Trains the pipeline in FILE.yaml and writes config.yaml (resolved, with provenance),\n"
    "metrics.csv, summary.csv, per_class.csv, confusion.csv, checkpoints/ and plots to the\n"
    "run directory.\n"
    "\n"
    "options:\n"
    "  --set KEY.PATH=VALUE   override a config value; stages by index (pipeline.2.epochs=3)\n"
    "                         or by kind or name (pretrain_layer.optimizer.lr=0.5); repeatable\n"
    "  --out DIR              run directory (default results/<name>); for a sweep, its root\n"
    "  --device auto|cpu|gpu  backend (default: the config's device, auto)\n"
    "  --threads N            CPU threads (default: the config's, 0 = all cores); for a sweep,\n"
    "                         the budget shared by its parallel points\n"
    "  --no-plots             skip the gnuplot scripts and pictures\n"
    "  --no-cache             neither reuse nor store stage results in the shared stage cache\n"
    "  --resume               reuse the stages already complete in the run directory;\n"
    "                         `aelab run --resume RUN_DIR` continues a run from its directory\n"
    "  -q, --quiet            print errors only\n"
    "\n"
    "sweeps: a --set with several values (--set add_sparsity.weight=0.01,0.1; also\n"
    "range(a,b,step), linspace(a,b,n), logspace(a,b,n)) or a `sweep:` block in the file runs\n"
    "every point (the grid's cartesian product x zip x seeds) in results/<name>/sweep/<K>_.../\n"
    "and writes results/<name>/sweep.csv, sweep_by_params.csv (across seeds) and sweep_plots/.\n"
    "  -j, --jobs N           run N points at a time (default 1; 0 = one per core); the\n"
    "                         threads are split so that jobs x threads <= cores\n"
    "  --list                 print the points (index, parameters, run directory) and stop\n"
    "  --point K              run only point K (complete points are skipped)\n"
    "  --force                run points again even when complete\n"
    "  --emit commands        print one self-contained `aelab run ... --point K` command per\n"
    "                         point (for GNU parallel, parallel --sshloginfile)\n"
    "  --emit slurm           write ROOT/sweep.sbatch, a Slurm job array (task K runs point K)\n"
    "                         whose first task submits the job that collects sweep.csv; with\n"
    "                         --cpus-per-task (--threads, else the config's), --mem (the plan's)\n"
    "                         and -j N as a throttle (%N)\n"
    "    --time T             each task's time limit (Slurm's formats: 30, 2:00:00, 1-12)\n"
    "    --sbatch 'OPTIONS'   more sbatch options for the array and the collecting job\n"
    "                         ('--partition=gpu --gres=gpu:1 --account=X'); repeatable\n"
    "    --max-array-size N   the cluster's MaxArraySize (default: scontrol's, else 1001):\n"
    "                         larger sweeps are split into arrays of N\n"
    "  --missing              with --emit: only the points that are not complete\n"
    "  --collect              write sweep.csv and the plot from the points' run directories;\n"
    "                         names the points not complete, with their logs' last lines\n"
    "  --metric NAME          the metric plotted against each parameter (test_accuracy)\n"
    "a sweep exits 1 when any point failed (the others still run), 130 when interrupted.\n";

static const char USAGE_CHECK[] =
    "usage: aelab check FILE.yaml [--set KEY.PATH=VALUE]...\n"
    "\n"
    "Validates FILE.yaml and prints the plan: each stage, the layers it creates, parameter\n"
    "counts, FLOPs per epoch and memory. Reads only the data files' headers. Exit 2 on errors.\n";

static const char USAGE_PLOT[] =
    "usage: aelab plot RUN_DIR\n"
    "\n"
    "Runs gnuplot on every .gp script of a run directory, rendering its PNGs again.\n";

static const char USAGE_DATASETS[] =
    "usage: aelab datasets\n"
    "\n"
    "Lists the known data sets, where each was found (AELAB_DATA, data/, /usr/share/datasets)\n"
    "and its size; `make data` fetches what is missing.\n";

static const char USAGE_GRADCHECK[] =
    "usage: aelab gradcheck [--device cpu|gpu] [--tol T]\n"
    "\n"
    "Compares the engine's gradients for every activation, loss and penalty, and for\n"
    "multi-layer stacks, with central differences of a double-precision reference.\n"
    "Exit 1 when any relative error exceeds T (default 1e-3).\n";

static bool is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "aelab%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'aelab %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return 2;
}

static void on_sigint(int sig) {
    (void)sig;
    if (pipeline_interrupted) _exit(130); /* a second Ctrl-C does not wait for the batch */
    pipeline_interrupted = 1;
}

/* `check`: reads the training images' header (never the data) for the plan's shapes; a data
 * set that cannot be found or read is an error pointing at its load_dataset stage. */
static bool check_and_plan(const Config *cfg) {
    const StageCfg *ld = NULL;
    for (int i = 0; i < cfg->nstages && !ld; i++)
        if (cfg->stages[i].kind == STAGE_LOAD_DATASET) ld = &cfg->stages[i];
    int dims[3] = {784, 10, 60000};
    if (ld && strcmp(ld->data.name, "csv") != 0) {
        char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX];
        char why[2048];
        AeError err;
        int n, rows, cols;
        bool found = true;
        if (strcmp(ld->data.name, "idx") == 0) snprintf(ti, sizeof ti, "%s", ld->data.train_images);
        else found = datasets_resolve(ld->data.name, ti, tl, vi, vl, sizeof ti, why, sizeof why);
        if (!found) {
            fprintf(stderr, "%s:%d:%d: error: load_dataset: %s\n", cfg->path, ld->pos.line,
                    ld->pos.col, why);
            return false;
        }
        if (!idx_read_header(ti, &n, &rows, &cols, &err)) {
            /* err.msg is "FILE: error: WHAT": one error, then where the config asked for it */
            fprintf(stderr, "%s (the data set of load_dataset at %s:%d:%d)\n", err.msg,
                    cfg->path, ld->pos.line, ld->pos.col);
            return false;
        }
        dims[0] = rows * cols;
        dims[2] = ld->data.subset > 0 && ld->data.subset < n ? ld->data.subset : n;
    }
    plan_print(stdout, cfg, dims);
    return true;
}

/* run and check share the file + --set parsing; a sweep goes to runner/sweep.c. */
static int cmd_run_or_check(int argc, char **argv, bool run) {
    const char *cmd = run ? "run" : "check";
    const char *file = NULL;
    const char *sets[MAX_SETS];
    int nsets = 0;
    RunOptions opt = {.threads = -1, .plots = true};
    /* sweeps */
    enum { DO_RUN, DO_LIST, DO_POINT, DO_EMIT_COMMANDS, DO_EMIT_SLURM, DO_COLLECT } action = DO_RUN;
    const char *action_opt = NULL;
    int point = -1, jobs = -1;
    bool force = false;
    const char *metric = NULL;
    SweepEmitOptions emit = {0};
    char why[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        int act = -1, r;
        if (is_help(a)) {
            fputs(run ? USAGE_RUN : USAGE_CHECK, stdout);
            return 0;
        } else if (strcmp(a, "--set") == 0 || strncmp(a, "--set=", 6) == 0) {
            const char *v = a[5] == '=' ? a + 6 : (has_next ? argv[++i] : NULL);
            if (!v) return usage_error(cmd, "%s needs KEY.PATH=VALUE", "--set");
            if (nsets == MAX_SETS) return usage_error(cmd, "more than %s --set options", "256");
            sets[nsets++] = v;
        } else if (run && (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0)) {
            if (!has_next) return usage_error(cmd, "%s needs a directory", a);
            opt.out_dir = argv[++i];
            if (!opt.out_dir[0]) return usage_error(cmd, "%s: expected a directory, got ''", a);
        } else if (run && strcmp(a, "--device") == 0) {
            if (!has_next) return usage_error(cmd, "%s needs auto, cpu or gpu", a);
            opt.device = argv[++i];
            if (strcmp(opt.device, "auto") && strcmp(opt.device, "cpu") && strcmp(opt.device, "gpu"))
                return usage_error(cmd, "--device: expected auto, cpu or gpu, got '%s'", opt.device);
        } else if (run && strcmp(a, "--threads") == 0) {
            if (!has_next || !ae_parse_int(argv[i + 1], 0, 1024, &opt.threads))
                return usage_error(cmd, "--threads: expected an integer 0..1024, got '%s'",
                                   has_next ? argv[i + 1] : "");
            i++;
        } else if (run && (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)) {
            opt.quiet = true;
        } else if (run && strcmp(a, "--no-plots") == 0) {
            opt.plots = false;
        } else if (run && strcmp(a, "--no-cache") == 0) {
            opt.no_cache = true;
        } else if (run && strcmp(a, "--resume") == 0) {
            opt.resume = true;
        } else if (run && (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0)) {
            if (!has_next || !ae_parse_int(argv[i + 1], 0, 1024, &jobs))
                return usage_error(cmd, "-j: expected a number of parallel points 0..1024, got '%s'",
                                   has_next ? argv[i + 1] : "");
            i++;
        } else if (run && strncmp(a, "-j", 2) == 0 && a[2]) { /* -j4 */
            if (!ae_parse_int(a + 2, 0, 1024, &jobs))
                return usage_error(cmd, "-j: expected a number of parallel points 0..1024, got '%s'",
                                   a + 2);
        } else if (run && strcmp(a, "--list") == 0) {
            act = DO_LIST;
        } else if (run && strcmp(a, "--point") == 0) {
            if (!has_next || !ae_parse_int(argv[i + 1], 0, SWEEP_MAX_POINTS - 1, &point))
                return usage_error(cmd, "--point: expected a point index (see --list), got '%s'",
                                   has_next ? argv[i + 1] : "");
            i++;
            act = DO_POINT;
        } else if (run && strcmp(a, "--emit") == 0) {
            if (!has_next || (strcmp(argv[i + 1], "commands") && strcmp(argv[i + 1], "slurm")))
                return usage_error(cmd, "--emit: expected commands or slurm, got '%s'",
                                   has_next ? argv[i + 1] : "");
            act = strcmp(argv[++i], "commands") == 0 ? DO_EMIT_COMMANDS : DO_EMIT_SLURM;
        } else if (run && strcmp(a, "--collect") == 0) {
            act = DO_COLLECT;
        } else if (run && (r = sweep_emit_parse_arg(argc, argv, &i, &emit, why, sizeof why))) {
            if (r < 0) return usage_error(cmd, "%s", why);
        } else if (run && strcmp(a, "--force") == 0) {
            force = true;
        } else if (run && strcmp(a, "--metric") == 0) {
            if (!has_next || !argv[i + 1][0] || strspn(argv[i + 1], "abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(argv[i + 1]) ||
                argv[i + 1][0] == '.')
                return usage_error(cmd, "--metric: expected a metric name of summary.csv "
                                   "(test_accuracy), got '%s'", has_next ? argv[i + 1] : "");
            metric = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error(cmd, "unknown option '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return usage_error(cmd, "unexpected argument '%s' (one config file at a time)", a);
        }
        if (act >= 0) {
            if (action != DO_RUN && (int)action != act)
                return usage_error(cmd, "%s cannot be combined with --list, --point, --emit or "
                                   "--collect", a);
            action = act;
            action_opt = a;
        }
    }
    if (!file) return usage_error(cmd, "missing the config file (%s)", "FILE.yaml");
    if (!sweep_emit_args_fit(&emit, action == DO_EMIT_COMMANDS, action == DO_EMIT_SLURM, why,
                             sizeof why))
        return usage_error(cmd, "%s", why);
    /* `aelab run --resume RUN_DIR`: the run directory's resolved config, written back there */
    static char resolved[4096];
    if (run && opt.resume && fs_is_dir(file)) {
        if (opt.out_dir && strcmp(opt.out_dir, file) != 0)
            return usage_error(cmd, "--resume %s: the run directory is where it writes; drop --out",
                               file);
        snprintf(resolved, sizeof resolved, "%s/config.yaml", file);
        opt.out_dir = file;
        file = resolved;
    }

    Sweep *sweep = NULL;
    int rc = sweep_open(file, sets, nsets, opt.out_dir, &sweep);
    if (rc) return rc;
    if (!sweep && action != DO_RUN)
        return usage_error(cmd, "%s is for sweeps: give a --set with several values or a "
                           "`sweep:` block (see 'aelab run --help')", action_opt);
    if (sweep) {
        /* options every point's run gets (the threads are the driver's business) */
        const char *fwd[8];
        int nfwd = 0;
        if (opt.device) fwd[nfwd++] = "--device", fwd[nfwd++] = opt.device;
        if (!opt.plots) fwd[nfwd++] = "--no-plots";
        if (opt.no_cache) fwd[nfwd++] = "--no-cache";
        if (opt.resume) fwd[nfwd++] = "--resume";
        SweepOptions so = {.jobs = jobs < 0 ? 1 : jobs, .threads = opt.threads,
                           .quiet = opt.quiet, .force = force, .metric = metric,
                           .share_stages = !opt.no_cache, .no_plots = !opt.plots,
                           .child_args = fwd, .nchild_args = nfwd, .emit = emit,
                           .explain = action == DO_COLLECT};
        if (!run) {
            rc = sweep_check(sweep);
            Config *cfg = sweep_point_config(sweep, sweep_first_valid(sweep), NULL, NULL);
            if (cfg && !check_and_plan(cfg)) rc = 2;
            config_free(cfg);
        } else if (action == DO_LIST) {
            rc = sweep_list(sweep, stdout);
        } else if (action == DO_EMIT_COMMANDS) {
            so.jobs = jobs > 0 ? jobs : 0;
            rc = sweep_emit_commands(sweep, &so, stdout);
        } else if (action == DO_EMIT_SLURM) {
            so.jobs = jobs > 0 ? jobs : 0;
            rc = sweep_emit_slurm(sweep, &so, stdout);
        } else if (action == DO_COLLECT) {
            rc = sweep_collect(sweep, &so);
        } else if (action == DO_POINT) {
            signal(SIGINT, on_sigint);
            signal(SIGTERM, on_sigint);
            rc = sweep_run_point(sweep, point, &opt, force);
        } else {
            rc = sweep_run(sweep, &so);
        }
        sweep_free(sweep);
        return rc;
    }

    int nerrors = 0;
    Config *cfg = config_load(file, sets, nsets, &nerrors);
    if (!cfg) {
        fprintf(stderr, "aelab %s: %d error%s in %s\n", cmd, nerrors, nerrors == 1 ? "" : "s", file);
        return 2;
    }
    if (run) {
        opt.provenance_sets = sets;
        opt.nsets = nsets;
        signal(SIGINT, on_sigint);
        signal(SIGTERM, on_sigint);
        rc = pipeline_run(cfg, &opt);
    } else {
        rc = check_and_plan(cfg) ? 0 : 2;
    }
    config_free(cfg);
    return rc;
}

static int cmd_plot(int argc, char **argv) {
    if (argc >= 2 && is_help(argv[1])) {
        fputs(USAGE_PLOT, stdout);
        return 0;
    }
    if (argc != 2) return usage_error("plot", "expected one run directory%s", "");
    AeError err;
    int n = 0;
    if (!plots_render_dir(argv[1], &n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("rendered %d plot%s in %s\n", n, n == 1 ? "" : "s", argv[1]);
    return 0;
}

static int cmd_datasets(int argc, char **argv) {
    if (argc >= 2 && is_help(argv[1])) {
        fputs(USAGE_DATASETS, stdout);
        return 0;
    }
    if (argc != 1) return usage_error("datasets", "unexpected argument '%s'", argv[1]);
    datasets_list(stdout);
    return 0;
}

static int cmd_gradcheck(int argc, char **argv) {
    const char *device = "cpu";
    double tol = 1e-3;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(USAGE_GRADCHECK, stdout);
            return 0;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--tol") == 0 && i + 1 < argc) {
            char *end;
            tol = strtod(argv[++i], &end);
            if (*end || !(tol > 0)) return usage_error("gradcheck", "--tol: expected a number > 0, got '%s'", argv[i]);
        } else {
            return usage_error("gradcheck", "unknown argument '%s'", argv[i]);
        }
    }
    const Backend *be;
    char why[512] = "";
    if (strcmp(device, "cpu") == 0) be = backend_cpu();
    else if (strcmp(device, "gpu") == 0) {
        be = backend_cuda(why, sizeof why);
        if (!be) {
            fprintf(stderr, "aelab gradcheck: error: device gpu requested, but %s\n", why);
            return 2;
        }
    } else return usage_error("gradcheck", "--device: expected cpu or gpu, got '%s'", device);
    printf("gradient checks on %s (central differences of a float64 reference, tolerance %.0e):\n",
           be->name, tol);
    GradcheckReport rep;
    gradcheck_run_all(be, tol, stdout, &rep);
    printf("%d cases, %d parameter tensors, %d failed; worst relative error %.2e (%s)\n",
           rep.ncases, rep.ntensors, rep.nfailed, rep.worst, rep.worst_case);
    return rep.nfailed ? 1 : 0;
}

/* OpenBLAS 0.3.21 (Debian 12) does not recognise some recent Xeons and falls back to its
 * Prescott (SSE3) kernels: a quarter of the speed of its SkylakeX (AVX-512) ones and half of its
 * Haswell (AVX2/FMA) ones (bench/README.md). It reads OPENBLAS_CORETYPE only when the library
 * loads, so when the user has not chosen a core type and the detection fell back, pick the
 * widest kernels the CPU (and the OS: __builtin_cpu_supports checks XCR0) can run, set it and
 * re-execute once. `aelab --version` prints the core in use; the test, bench and sweep scripts
 * export the same one for the programs they run. */
static void prefer_wide_kernels(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("AELAB_NO_REEXEC")) return;
    const char *core = backend_cpu_blas_core();
    if (!core || strcasecmp(core, "prescott") != 0) return;
    __builtin_cpu_init();
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (!want) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("AELAB_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slower kernels */
}

int main(int argc, char **argv) {
    prefer_wide_kernels(argv);
    unsetenv("AELAB_NO_REEXEC");
    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("aelab %s (backends: cpu%s)\nblas: %s (core %s)\n", AE_VERSION,
               backend_cuda_compiled() ? ", cuda" : "", backend_cpu_blas_config(),
               backend_cpu_blas_core());
        return 0;
    }
    if (strcmp(cmd, "run") == 0) return cmd_run_or_check(argc - 1, argv + 1, true);
    if (strcmp(cmd, "check") == 0) return cmd_run_or_check(argc - 1, argv + 1, false);
    if (strcmp(cmd, "plot") == 0) return cmd_plot(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0) return compare_main(argc - 1, argv + 1);
    if (strcmp(cmd, "datasets") == 0) return cmd_datasets(argc - 1, argv + 1);
    if (strcmp(cmd, "gradcheck") == 0) return cmd_gradcheck(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0) {
        if (argc > 2 && is_help(argv[2])) {
            fputs("usage: aelab keys\n\nPrints the config reference (every key, what it takes, "
                  "its default) as Markdown, from the schema that validates configs.\n", stdout);
            return 0;
        }
        schema_doc_print(stdout);
        return 0;
    }
    static const char *const cmds[] = {"run", "check", "plot", "compare", "datasets", "gradcheck", "keys"};
    const char *best = diag_nearest(cmd, cmds, (int)(sizeof cmds / sizeof *cmds));
    fprintf(stderr, "aelab: error: unknown command '%s'", cmd);
    if (best) fprintf(stderr, "; did you mean '%s'?", best);
    fprintf(stderr, "\n(see 'aelab --help')\n");
    return 2;
}
