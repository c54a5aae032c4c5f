/* runner/main.c — the aelab command line: run, check, plot, compare, datasets, gradcheck, keys,
 * cache.
 * Exit codes (README.md, "Command line"): 0 success, 1 run failed, 2 usage or config error,
 * 3 regression found by compare, 130 interrupted. stdout carries requested output only;
 * diagnostics go to stderr.
 * Every command reads its options with getopt_long (runner/cliopt.h): `--out DIR`, `--out=DIR`,
 * `-o DIR`, `-oDIR` and bundles such as `-qj2` are all the same to it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


#include "backend.h"
#include "buildid.h"
#include "cache_cmd.h"
#include "cliopt.h"
#include "compare.h"
#include "config.h"
#include "csvout.h"
#include "cudaload.h"
#include "data.h"
#include "datacheck.h"
#include "diag.h"
#include "diff.h"
#include "export.h"
#include "fsutil.h"
#include "datasets.h"
#include "gradcheck.h"
#include "machine.h"
#include "pipeline.h"
#include "plan.h"
#include "plots.h"
#include "report.h"
#include "runs.h"
#include "schema_doc.h"
#include "schema_json.h"
#include "sweep.h"

#define MAX_SETS 256
#define GO_ON (-1) /* a parsing step's "no exit status yet" */

static const char USAGE[] =
    "usage: aelab COMMAND [ARGS]\n"
    "\n"
    "Runs autoencoder experiments described by YAML pipelines.\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml      train the pipeline and write results/<name>/\n"
    "  check FILE.yaml    validate and print the plan (shapes, parameters, FLOPs) without training\n"
    "  plot RUN_DIR       draw the run's pictures again from its data\n"
    "  compare BASE CUR   compare accuracy tables; exit 3 on a regression\n"
    "  baseline RUN_DIR   write a baseline for compare from a run's summary\n"
    "  runs [DIR...]      a table of the runs under DIR (results/): config, metrics\n"
    "  diff RUN_A RUN_B   what differs between two runs: config keys, provenance, metrics\n"
    "  export RUN_DIR     the model as a NumPy .npz (weights, biases, activations, metrics)\n"
    "  encode RUN_DIR     the encoder's codes of a split as .npy or .csv\n"
    "  datasets           list the known data sets and where they were found\n"
    "  gradcheck          check every layer, loss and penalty gradient numerically\n"
    "  keys               print the config reference (every key and its default)\n"
    "  cache ls|du|gc     list, size or prune the stage cache\n"
    "  help COMMAND       the options of COMMAND (as 'aelab COMMAND --help')\n"
    "\n"
    "options: --help (also after a command), --version\n"
    "Options are GNU style: --out DIR or --out=DIR, -o DIR or -oDIR, bundled -qj2, unambiguous\n"
    "prefixes (--thr 2), and -- before an argument that starts with '-'. FILE.yaml '-' is\n"
    "standard input.\n"
    "exit codes: 0 ok, 1 run failed, 2 usage/config error, 3 regression, 130 interrupted\n";

static const char USAGE_RUN[] =
    "usage: aelab run FILE.yaml [options]\n"
    "\n"
    "Trains the pipeline in FILE.yaml ('-': read it from standard input) and writes config.yaml\n"
    "(resolved, with provenance), metrics.csv, summary.csv, per_class.csv, confusion.csv,\n"
    "checkpoints/ and plots to the run directory.\n"
    "\n"
    "options (a value may also follow '=': --out=DIR, --threads=2):\n"
    "  --set KEY.PATH=VALUE   override a config value; stages by index (pipeline.2.epochs=3)\n"
    "                         or by kind or name (pretrain_layer.optimizer.lr=0.5); repeatable\n"
    "  -o, --out DIR          run directory (default results/<name>); for a sweep, its root\n"
    "  --device auto|cpu|gpu  backend (default: the config's device, auto)\n"
    "  --threads N            CPU threads (default: the config's, 0 = all cores); for a sweep,\n"
    "                         the budget shared by its parallel points\n"
    "  --no-plots             skip the gnuplot scripts and pictures\n"
    "  --no-cache             neither reuse nor store stage results in the shared stage cache\n"
    "  --resume               reuse the stages already complete in the run directory;\n"
    "                         `aelab run --resume RUN_DIR` continues a run from its directory\n"
    "  -q, --quiet            print errors only\n"
    "  -v, --verbose          say more: the BLAS library and core and how it was chosen, the\n"
    "                         backends compiled in, where device and threads come from, the\n"
    "                         plan, and at the end each stage's training time and the wall time\n"
    "                         (the last of -q and -v counts)\n"
    "\n"
    "sweeps: a --set with several values (--set add_sparsity.weight=0.01,0.1; also\n"
    "range(a,b,step), linspace(a,b,n), logspace(a,b,n)) or a `sweep:` block in the file runs\n"
    "every point (the grid's cartesian product x zip x seeds) in results/<name>/sweep/<K>_.../\n"
    "and writes results/<name>/sweep.csv, sweep_by_params.csv (across seeds) and sweep_plots/.\n"
    "A sweep needs the config in a file (every point reads it again), not standard input.\n"
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
    "usage: aelab check FILE.yaml [--set KEY.PATH=VALUE]... [-v]\n"
    "\n"
    "Validates FILE.yaml ('-': read it from standard input) and prints the plan: each stage, the\n"
    "layers it creates, parameter counts, FLOPs per epoch and memory. Reads only the data files'\n"
    "headers. Exit 2 on errors.\n"
    "  -v, --verbose   print the resolved config (every default filled in) after the plan\n";

static const char USAGE_PLOT[] =
    "usage: aelab plot RUN_DIR\n"
    "\n"
    "Draws a run's pictures again: writes each gnuplot script anew from the run's data\n"
    "(metrics.csv, confusion.csv, per_class.csv, weights/ and recon/ *.f32 with their .meta.csv)\n"
    "and aelab's own templates (plots/), replacing the .gp files there, and renders it to PNG.\n"
    "No script found in RUN_DIR is run, so plotting a run directory from elsewhere runs none of\n"
    "its code. A picture whose data is missing is skipped with a note.\n"
    "Exit 0: at least one picture drawn, none failed; 1: a picture failed (gnuplot, a failed\n"
    "write), or gnuplot is not installed (the scripts are still written); 2: RUN_DIR is missing,\n"
    "not a directory, has neither config.yaml nor metrics.csv, or has nothing to plot.\n";

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

static const char USAGE_KEYS[] =
    "usage: aelab keys [--format markdown|json-schema|paths]\n"
    "\n"
    "Prints the config reference (every key, what it takes, its default) as Markdown, from the\n"
    "schema that validates configs.\n"
    "  --format json-schema   the same schema as a JSON Schema (draft 2020-12), for editors\n"
    "                         (yaml-language-server) and validators\n"
    "  --format paths         the key paths --set takes (KIND.KEY), one a line\n";

/* Long-only options: vals above every character (runner/cliopt.h). */
enum {
    OPT_SET = CLI_LONG_ONLY, OPT_DEVICE, OPT_THREADS, OPT_NO_PLOTS, OPT_NO_CACHE, OPT_RESUME,
    OPT_LIST, OPT_POINT, OPT_FORCE, OPT_EMIT, OPT_COLLECT, OPT_METRIC, OPT_TOL, OPT_VERSION,
    OPT_MISSING, OPT_SBATCH, OPT_TIME, OPT_MAX_ARRAY_SIZE
};

static const struct option HELP_OPTIONS[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "aelab%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'aelab %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return 2;
}

/* The arguments of a command that takes no options but --help: at most maxpos of them, into
 * pos. Returns GO_ON, or the exit status (0 after printing usage, 2 after an error). */
static int parse_plain(int argc, char **argv, const char *usage, const char **pos, int maxpos,
                       int *npos) {
    CliParser p;
    cli_init(&p, argc, argv, "h", HELP_OPTIONS);
    *npos = 0;
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (c == CLI_BAD) return usage_error(argv[0], "%s", p.error);
        if (*npos == maxpos) return usage_error(argv[0], "unexpected argument '%s'", p.arg);
        pos[(*npos)++] = p.arg;
    }
    return GO_ON;
}

static void on_sigint(int sig) {
    (void)sig;
    if (pipeline_interrupted) _exit(130); /* a second Ctrl-C does not wait for the batch */
    pipeline_interrupted = 1;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* How OpenBLAS's core was chosen (prefer_wide_kernels), for -v. */
static const char *blas_core_origin = "as OpenBLAS detected it";

/* The plan's data shapes {D, C, N} (features, classes, training examples). For `check`
 * (report) from the data files, each checked against its header without being loaded
 * (datacheck_files: a CSV is read for its shape); otherwise from the training images' header
 * alone (a CSV's shape when it can be read, else MNIST's). A data set that cannot be found or
 * read returns false, reported (when report) as an error pointing at its load_dataset stage. */
static bool plan_dims(const Config *cfg, int dims[3], bool report) {
    const StageCfg *ld = NULL;
    for (int i = 0; i < cfg->nstages && !ld; i++)
        if (cfg->stages[i].kind == STAGE_LOAD_DATASET) ld = &cfg->stages[i];
    dims[0] = 784, dims[1] = 10, dims[2] = 60000;
    bool csv = ld && strcmp(ld->data.name, "csv") == 0;
    if (!ld) return true;
    if (csv && !report) { /* the CSV's shape when it can be read; else MNIST's */
        AeError ignored;
        if (!datacheck_files(&ld->data, dims, &ignored)) dims[0] = 784, dims[1] = 10, dims[2] = 60000;
        return true;
    }
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX];
    char why[2048];
    AeError err;
    int n, rows, cols;
    bool found = true;
    if (strcmp(ld->data.name, "idx") == 0) snprintf(ti, sizeof ti, "%s", ld->data.train_images);
    else if (!csv) found = datasets_resolve(ld->data.name, ti, tl, vi, vl, sizeof ti, why, sizeof why);
    if (!found) {
        if (report)
            fprintf(stderr, "%s:%d:%d: error: load_dataset: %s\n", cfg->path, ld->pos.line,
                    ld->pos.col, why);
        return false;
    }
    if (report ? !datacheck_files(&ld->data, dims, &err)
               : !idx_read_header(ti, &n, &rows, &cols, &err)) {
        /* err.msg is "FILE: error: WHAT": one error, then where the config asked for it */
        if (report)
            fprintf(stderr, "%s (the data set of load_dataset at %s:%d:%d)\n", err.msg,
                    cfg->path, ld->pos.line, ld->pos.col);
        return false;
    }
    if (report) return true;
    dims[0] = rows * cols;
    dims[2] = ld->data.subset > 0 && ld->data.subset < n ? ld->data.subset : n;
    return true;
}

/* `check`: the plan on stdout; false after reporting a data set it cannot read. */
static bool check_and_plan(const Config *cfg) {
    int dims[3];
    if (!plan_dims(cfg, dims, true)) return false;
    plan_print(stdout, cfg, dims);
    return true;
}

/* `check -v`: the resolved config after the plan. */
static void print_resolved(const Config *cfg) {
    AeError err;
    size_t n;
    char *text = config_resolved_text(cfg, &n, &err);
    if (!text) {
        fprintf(stderr, "aelab check: %s\n", err.msg);
        return;
    }
    printf("\nresolved config (every default filled in):\n");
    fwrite(text, 1, n, stdout);
    free(text);
}

/* ---- run and check: their options ------------------------------------------------------ */

typedef enum { DO_RUN, DO_LIST, DO_POINT, DO_EMIT_COMMANDS, DO_EMIT_SLURM, DO_COLLECT } Action;

typedef struct RunArgs {
    bool run;                   /* `run` (else `check`) */
    const char *cmd;            /* "run" or "check" */
    const char *file;           /* the config; "-" is standard input */
    const char *sets[MAX_SETS]; /* the --set arguments, in order */
    int nsets;
    RunOptions opt;
    bool verbose;
    /* sweeps */
    Action action;
    char action_opt[64];        /* the option that chose it, as spelt */
    int point, jobs;
    bool force;
    const char *metric;
    SweepEmitOptions emit;      /* --missing, --sbatch, --time, --max-array-size */
} RunArgs;

static const struct option RUN_OPTIONS[] = {
    {"set", required_argument, NULL, OPT_SET},
    {"out", required_argument, NULL, 'o'},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"no-plots", no_argument, NULL, OPT_NO_PLOTS},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"jobs", required_argument, NULL, 'j'},
    {"list", no_argument, NULL, OPT_LIST},
    {"point", required_argument, NULL, OPT_POINT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"emit", required_argument, NULL, OPT_EMIT},
    {"collect", no_argument, NULL, OPT_COLLECT},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"missing", no_argument, NULL, OPT_MISSING},
    {"sbatch", required_argument, NULL, OPT_SBATCH},
    {"time", required_argument, NULL, OPT_TIME},
    {"max-array-size", required_argument, NULL, OPT_MAX_ARRAY_SIZE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static const struct option CHECK_OPTIONS[] = {
    {"set", required_argument, NULL, OPT_SET},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* --list, --point, --emit and --collect choose what a sweep does: one of them at a time. */
static int set_action(RunArgs *a, Action act, const char *spelt) {
    if (a->action != DO_RUN && a->action != act)
        return usage_error(a->cmd, "%s cannot be combined with --list, --point, --emit or "
                           "--collect", spelt);
    a->action = act;
    snprintf(a->action_opt, sizeof a->action_opt, "%s", spelt);
    return GO_ON;
}

static bool metric_name_ok(const char *v) {
    return v[0] && v[0] != '.' &&
           strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
               strlen(v);
}

/* --emit's own options, validated by runner/sweep_emit.c (which reads them as NAME VALUE). */
static int emit_option(RunArgs *a, const CliParser *p) {
    const char *name = p->opt == OPT_MISSING ? "--missing" : p->opt == OPT_SBATCH ? "--sbatch"
                       : p->opt == OPT_TIME ? "--time" : "--max-array-size";
    char *argv[2] = {(char *)name, (char *)p->arg};
    int i = 0;
    char why[512];
    if (p->opt != OPT_MISSING && !p->arg) return usage_error(a->cmd, "%s needs a value", name);
    if (sweep_emit_parse_arg(p->arg ? 2 : 1, argv, &i, &a->emit, why, sizeof why) < 0)
        return usage_error(a->cmd, "%s", why);
    return GO_ON;
}

/* The sweep options of `run`; v is NULL when the option ended the command line. */
static int sweep_option(RunArgs *a, const CliParser *p) {
    const char *cmd = a->cmd, *v = p->arg;
    switch (p->opt) {
    case 'j':
        if (!v || !ae_parse_int(v, 0, 1024, &a->jobs))
            return usage_error(cmd, "-j: expected a number of parallel points 0..1024, got '%s'",
                               v ? v : "");
        return GO_ON;
    case OPT_LIST: return set_action(a, DO_LIST, p->name);
    case OPT_COLLECT: return set_action(a, DO_COLLECT, p->name);
    case OPT_FORCE: a->force = true; return GO_ON;
    case OPT_POINT:
        if (!v || !ae_parse_int(v, 0, SWEEP_MAX_POINTS - 1, &a->point))
            return usage_error(cmd, "--point: expected a point index (see --list), got '%s'",
                               v ? v : "");
        return set_action(a, DO_POINT, p->name);
    case OPT_EMIT:
        if (!v || (strcmp(v, "commands") && strcmp(v, "slurm")))
            return usage_error(cmd, "--emit: expected commands or slurm, got '%s'", v ? v : "");
        return set_action(a, strcmp(v, "commands") == 0 ? DO_EMIT_COMMANDS : DO_EMIT_SLURM,
                          p->name);
    case OPT_MISSING:
    case OPT_SBATCH:
    case OPT_TIME:
    case OPT_MAX_ARRAY_SIZE: return emit_option(a, p);
    case OPT_METRIC:
        if (!v || !metric_name_ok(v))
            return usage_error(cmd, "--metric: expected a metric name of summary.csv "
                               "(test_accuracy), got '%s'", v ? v : "");
        a->metric = v;
        return GO_ON;
    default:
        AE_ASSERT(!"an option in RUN_OPTIONS without a case");
    }
    return 2;
}

/* One option of run or check (only those of its table arrive here); v is NULL when the
 * option ended the command line. */
static int run_option(RunArgs *a, const CliParser *p) {
    const char *cmd = a->cmd, *v = p->arg;
    switch (p->opt) {
    case 'h':
        fputs(a->run ? USAGE_RUN : USAGE_CHECK, stdout);
        return 0;
    case OPT_SET:
        if (!v) return usage_error(cmd, "%s needs KEY.PATH=VALUE", "--set");
        if (a->nsets == MAX_SETS) return usage_error(cmd, "more than %s --set options", "256");
        a->sets[a->nsets++] = v;
        return GO_ON;
    case 'o':
        if (!v) return usage_error(cmd, "%s needs a directory", p->name);
        if (!v[0]) return usage_error(cmd, "%s: expected a directory, got ''", p->name);
        a->opt.out_dir = v;
        return GO_ON;
    case OPT_DEVICE:
        if (!v) return usage_error(cmd, "%s needs auto, cpu or gpu", "--device");
        if (strcmp(v, "auto") && strcmp(v, "cpu") && strcmp(v, "gpu"))
            return usage_error(cmd, "--device: expected auto, cpu or gpu, got '%s'", v);
        a->opt.device = v;
        return GO_ON;
    case OPT_THREADS:
        if (!v || !ae_parse_int(v, 0, 1024, &a->opt.threads))
            return usage_error(cmd, "--threads: expected an integer 0..1024, got '%s'",
                               v ? v : "");
        return GO_ON;
    case 'q': a->opt.quiet = true, a->verbose = false; return GO_ON;
    case 'v': a->verbose = true, a->opt.quiet = false; return GO_ON;
    case OPT_NO_PLOTS: a->opt.plots = false; return GO_ON;
    case OPT_NO_CACHE: a->opt.no_cache = true; return GO_ON;
    case OPT_RESUME: a->opt.resume = true; return GO_ON;
    default: return sweep_option(a, p);
    }
}

/* Reads run's or check's command line into a. Returns GO_ON, or the exit status. */
static int parse_run_args(int argc, char **argv, RunArgs *a) {
    CliParser p;
    cli_init(&p, argc, argv, a->run ? "ho:qvj:" : "hv", a->run ? RUN_OPTIONS : CHECK_OPTIONS);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        int rc = GO_ON;
        if (c == CLI_BAD)
            rc = usage_error(a->cmd, "%s", p.error);
        else if (c == CLI_ARG && a->file)
            rc = usage_error(a->cmd, "unexpected argument '%s' (one config file at a time)", p.arg);
        else if (c == CLI_ARG)
            a->file = p.arg;
        else
            rc = run_option(a, &p); /* an option, or CLI_MISSING: p.opt without p.arg */
        if (rc != GO_ON) return rc;
    }
    if (!a->file) return usage_error(a->cmd, "missing the config file (%s)", "FILE.yaml");
    char why[512];
    if (!sweep_emit_args_fit(&a->emit, a->action == DO_EMIT_COMMANDS,
                             a->action == DO_EMIT_SLURM, why, sizeof why))
        return usage_error(a->cmd, "%s", why);
    return GO_ON;
}

/* `aelab run --resume RUN_DIR`: the run directory's resolved config, written back there. */
static int resume_from_dir(RunArgs *a) {
    static char resolved[4096];
    if (!a->run || !a->opt.resume || strcmp(a->file, "-") == 0 || !fs_is_dir(a->file))
        return GO_ON;
    if (a->opt.out_dir && strcmp(a->opt.out_dir, a->file) != 0)
        return usage_error(a->cmd, "--resume %s: the run directory is where it writes; drop --out",
                           a->file);
    snprintf(resolved, sizeof resolved, "%s/config.yaml", a->file);
    a->opt.out_dir = a->file;
    a->file = resolved;
    return GO_ON;
}

/* A config on standard input is read once, but every point of a sweep reads its config again:
 * a --set with several values is refused here (a `sweep:` block, by config_load). */
static int refuse_stdin_sweep(const RunArgs *a) {
    for (int i = 0; i < a->nsets; i++) {
        const char *eq = strchr(a->sets[i], '=');
        char **values = NULL;
        char why[256];
        int n = eq ? sweep_split_values(eq + 1, &values, why, sizeof why) : 1;
        sweep_values_free(values, n > 0 ? n : 0);
        if (n < 0) {
            fprintf(stderr, "--set %s: error: %s\n", a->sets[i], why);
            return 2;
        }
        if (n > 1)
            return usage_error(a->cmd, "--set %s: a sweep needs the config in a file (every "
                               "point reads it again), not standard input", a->sets[i]);
    }
    return GO_ON;
}

/* ---- -v, --verbose ------------------------------------------------------------------- */

/* What the run will use, before its progress lines: the BLAS core, the backends, where the
 * device and threads come from, the run directory and the stage cache. cfg may be NULL (a
 * sweep's point: its config is loaded later). */
static void verbose_setup(const RunOptions *opt, const Config *cfg) {
    fprintf(stderr, "aelab: verbose: blas %s, core %s (%s)\n", backend_cpu_blas_config(),
            backend_cpu_blas_core(), blas_core_origin);
    fprintf(stderr, "aelab: verbose: backends compiled in: cpu%s; device %s (%s)\n",
            backend_cuda_compiled() ? ", cuda" : "",
            opt->device ? opt->device : cfg ? cfg->device : "of the config",
            opt->device ? "--device" : "the config's");
    if (opt->threads >= 0 || cfg) {
        int threads = opt->threads >= 0 ? opt->threads : cfg->threads;
        fprintf(stderr, "aelab: verbose: threads %d (%s%s)\n", threads,
                opt->threads >= 0 ? "--threads" : "the config's", threads ? "" : ": all cores");
    }
    const char *env = getenv("AELAB_CACHE");
    fprintf(stderr, "aelab: verbose: stage cache %s%s\n",
            opt->no_cache ? "off (--no-cache)" : env && env[0] ? env : "results/.cache",
            opt->resume ? "; --resume: complete stages in the run directory are reused" : "");
}

/* The config, its overrides and the plan (when the data set's header can be read; otherwise
 * the run reports the data set itself). */
static void verbose_config(const RunArgs *a, const Config *cfg) {
    fprintf(stderr, "aelab: verbose: config %s: name %s, %d stage%s, seed %llu, %d --set "
            "override%s\n", cfg->path, cfg->name, cfg->nstages, cfg->nstages == 1 ? "" : "s",
            (unsigned long long)cfg->seed, a->nsets, a->nsets == 1 ? "" : "s");
    for (int i = 0; i < a->nsets; i++) fprintf(stderr, "aelab: verbose:   --set %s\n", a->sets[i]);
    int dims[3];
    if (plan_dims(cfg, dims, false)) plan_print(stderr, cfg, dims);
}

/* After the run: each stage's epochs and training seconds (its rows of metrics.csv, in order;
 * a reused stage shows the time it took when it was trained), then the wall time. */
static void verbose_finish(const char *dir, double seconds, int rc) {
    char path[CFG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    AeError err;
    CsvTable *t = fs_exists(path) ? csvtable_read(path, &err) : NULL;
    int ci = t ? csvtable_col(t, "stage_index") : -1, cl = t ? csvtable_col(t, "stage") : -1,
        cs = t ? csvtable_col(t, "seconds") : -1;
    int nrows = ci >= 0 && cl >= 0 && cs >= 0 ? csvtable_nrows(t) : 0;
    for (int r = 0, epochs; r < nrows; r += epochs) {
        double index = 0, sum = 0, s;
        csvtable_get_num(t, r, ci, &index);
        for (epochs = 0; r + epochs < nrows &&
                         strcmp(csvtable_get(t, r + epochs, ci), csvtable_get(t, r, ci)) == 0;
             epochs++)
            if (csvtable_get_num(t, r + epochs, cs, &s)) sum += s;
        fprintf(stderr, "aelab: verbose: [%d %s] %d epoch%s, %.3f s of training\n",
                (int)index + 1, csvtable_get(t, r, cl), epochs, epochs == 1 ? "" : "s", sum);
    }
    csvtable_free(t);
    fprintf(stderr, "aelab: verbose: wall time %.3f s, exit status %d\n", seconds, rc);
}

/* ---- run and check: the work ------------------------------------------------------------ */

static int run_point(RunArgs *a, const Sweep *sweep) {
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    if (a->verbose) verbose_setup(&a->opt, NULL);
    double t0 = wall_seconds();
    int rc = sweep_run_point(sweep, a->point, &a->opt, a->force);
    if (a->verbose) {
        char dir[4096];
        sweep_point_dir(sweep, a->point, dir, sizeof dir);
        verbose_finish(dir, wall_seconds() - t0, rc);
    }
    return rc;
}

/* `check` on a sweep: every point's config, then the plan of the first valid one. */
static int check_sweep(const RunArgs *a, const Sweep *sweep) {
    int rc = sweep_check(sweep);
    Config *cfg = sweep_point_config(sweep, sweep_first_valid(sweep), NULL, NULL);
    if (cfg && !check_and_plan(cfg)) rc = 2;
    else if (cfg && a->verbose) print_resolved(cfg);
    config_free(cfg);
    return rc;
}

static int run_sweep(RunArgs *a, const Sweep *sweep) {
    /* options every point's run gets (the threads are the driver's business) */
    const char *fwd[8];
    int nfwd = 0;
    if (a->opt.device) fwd[nfwd++] = "--device", fwd[nfwd++] = a->opt.device;
    if (!a->opt.plots) fwd[nfwd++] = "--no-plots";
    if (a->opt.no_cache) fwd[nfwd++] = "--no-cache";
    if (a->opt.resume) fwd[nfwd++] = "--resume";
    if (a->verbose) fwd[nfwd++] = "--verbose";
    SweepOptions so = {.jobs = a->jobs < 0 ? 1 : a->jobs, .threads = a->opt.threads,
                       .quiet = a->opt.quiet, .force = a->force, .metric = a->metric,
                       .share_stages = !a->opt.no_cache, .no_plots = !a->opt.plots,
                       .child_args = fwd, .nchild_args = nfwd, .emit = a->emit,
                       .explain = a->action == DO_COLLECT};
    if (!a->run) return check_sweep(a, sweep);
    switch (a->action) {
    case DO_LIST: return sweep_list(sweep, stdout);
    case DO_EMIT_COMMANDS:
        so.jobs = a->jobs > 0 ? a->jobs : 0;
        return sweep_emit_commands(sweep, &so, stdout);
    case DO_EMIT_SLURM:
        so.jobs = a->jobs > 0 ? a->jobs : 0;
        return sweep_emit_slurm(sweep, &so, stdout);
    case DO_COLLECT: return sweep_collect(sweep, &so);
    case DO_POINT: return run_point(a, sweep);
    default: return sweep_run(sweep, &so);
    }
}

static int run_pipeline(RunArgs *a, const Config *cfg) {
    a->opt.provenance_sets = a->sets;
    a->opt.nsets = a->nsets;
    if (a->verbose) {
        verbose_setup(&a->opt, cfg);
        verbose_config(a, cfg);
    }
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    double t0 = wall_seconds();
    int rc = pipeline_run(cfg, &a->opt);
    if (a->verbose) {
        char dir[CFG_PATH_MAX + 16];
        if (a->opt.out_dir) snprintf(dir, sizeof dir, "%s", a->opt.out_dir);
        else snprintf(dir, sizeof dir, "results/%s", cfg->name);
        verbose_finish(dir, wall_seconds() - t0, rc);
    }
    return rc;
}

/* run and check on a GPU (device gpu, or auto when the CUDA backend loads): the plan's device
 * peak against the device's free memory (plan_check_device_memory, runner/plan.h). 0 when it
 * fits, when no GPU is used or the device does not answer; 2 after reporting the error, which
 * names the stage, the figure and the limit. `check` with device gpu and no usable GPU says so
 * in a note and goes on (a config may be checked on one machine for another); `run` leaves that
 * error to pipeline_run. */
static int device_memory_check(const RunArgs *a, const Config *cfg) {
    const char *device = a->opt.device ? a->opt.device : cfg->device;
    if (strcmp(device, "cpu") == 0) return 0;
    char why[512] = "";
    const Backend *be = cudaload_backend(why, sizeof why);
    if (!be) {
        if (!a->run && strcmp(device, "gpu") == 0)
            fprintf(stderr, "aelab check: note: device memory not checked: %s\n", why);
        return 0;
    }
    uint64_t free_bytes, total_bytes;
    if (!be->memory_info || !be->memory_info(&free_bytes, &total_bytes)) return 0;
    int dims[3];
    bool known = plan_dims(cfg, dims, false);
    char msg[512];
    if (!plan_check_device_memory(cfg, known ? dims : NULL, be->name, free_bytes, total_bytes,
                                  msg, sizeof msg))
        return 0;
    fprintf(stderr, "aelab %s: error: %s\n", a->cmd, msg);
    return 2;
}

/* One config (not a sweep): load it, then run it or print its plan. */
static int run_single(RunArgs *a) {
    bool from_stdin = strcmp(a->file, "-") == 0;
    if (from_stdin && isatty(STDIN_FILENO))
        fprintf(stderr, "aelab %s: reading the config from standard input (end it with Ctrl-D)\n",
                a->cmd);
    int nerrors = 0;
    Config *cfg = config_load(a->file, a->sets, a->nsets, &nerrors);
    if (!cfg) {
        fprintf(stderr, "aelab %s: %d error%s in %s\n", a->cmd, nerrors, nerrors == 1 ? "" : "s",
                from_stdin ? CONFIG_STDIN_NAME : a->file);
        return 2;
    }
    int rc = device_memory_check(a, cfg);
    if (rc) {
        /* the error is said; check still prints the plan that explains it */
        if (!a->run) check_and_plan(cfg);
    } else if (a->run) {
        rc = run_pipeline(a, cfg);
    } else {
        rc = check_and_plan(cfg) ? 0 : 2;
        if (rc == 0 && a->verbose) print_resolved(cfg);
    }
    config_free(cfg);
    return rc;
}

/* run and check share the file + --set parsing; a sweep goes to runner/sweep.c. */
static int cmd_run_or_check(int argc, char **argv, bool run) {
    RunArgs a = {.run = run, .cmd = run ? "run" : "check", .opt = {.threads = -1, .plots = true},
                 .action = DO_RUN, .point = -1, .jobs = -1};
    int rc = parse_run_args(argc, argv, &a);
    char why[160]; /* --emit writes --threads for another machine: not held to this one's CPUs */
    if (rc == GO_ON && a.action != DO_EMIT_COMMANDS && a.action != DO_EMIT_SLURM &&
        !machine_threads_ok(machine_limits(), a.opt.threads, why, sizeof why))
        return usage_error(a.cmd, "--threads: %s", why);
    if (rc == GO_ON) rc = resume_from_dir(&a);
    if (rc != GO_ON) return rc;
    if (strcmp(a.file, "-") == 0) { /* standard input: never a sweep */
        rc = refuse_stdin_sweep(&a);
        if (rc == GO_ON && a.action != DO_RUN)
            rc = usage_error(a.cmd, "%s is for sweeps, and a sweep needs the config in a file",
                             a.action_opt);
        return rc == GO_ON ? run_single(&a) : rc;
    }
    Sweep *sweep = NULL;
    rc = sweep_open(a.file, a.sets, a.nsets, a.opt.out_dir, &sweep);
    if (rc) return rc;
    if (!sweep && a.action != DO_RUN)
        return usage_error(a.cmd, "%s is for sweeps: give a --set with several values or a "
                           "`sweep:` block", a.action_opt);
    if (!sweep) return run_single(&a);
    rc = run_sweep(&a, sweep);
    sweep_free(sweep);
    return rc;
}

/* ---- the other commands -------------------------------------------------------------- */

static int cmd_plot(int argc, char **argv) {
    const char *dir[1];
    int n = 0;
    int rc = parse_plain(argc, argv, USAGE_PLOT, dir, 1, &n);
    if (rc != GO_ON) return rc;
    if (n != 1) return usage_error("plot", "expected one run directory%s", "");
    AeError err;
    PlotsReplot rep;
    if (!plots_replot(dir[0], &rep, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return rep.not_a_run ? 2 : 1;
    }
    printf("rendered %d plot%s in %s", rep.rendered, rep.rendered == 1 ? "" : "s", dir[0]);
    if (rep.skipped) printf(" (%d skipped, as noted)", rep.skipped);
    printf("\n");
    return 0;
}

static int cmd_datasets(int argc, char **argv) {
    int n, rc = parse_plain(argc, argv, USAGE_DATASETS, NULL, 0, &n);
    if (rc != GO_ON) return rc;
    datasets_list(stdout);
    return 0;
}

static int cmd_keys(int argc, char **argv) {
    static const struct option longs[] = {{"format", required_argument, NULL, 'f'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *format = "markdown";
    CliParser p;
    cli_init(&p, argc, argv, "h", longs);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') return fputs(USAGE_KEYS, stdout), 0;
        if (c == CLI_BAD) return usage_error("keys", "%s", p.error);
        if (c == CLI_MISSING) return usage_error("keys", "%s needs a value", p.name);
        if (c == CLI_ARG) return usage_error("keys", "unexpected argument '%s'", p.arg);
        format = p.arg;
    }
    if (strcmp(format, "markdown") == 0) schema_doc_print(stdout);
    else if (strcmp(format, "json-schema") == 0) schema_json_print(stdout);
    else if (strcmp(format, "paths") == 0) schema_paths_print(stdout);
    else return usage_error("keys", "--format: expected markdown, json-schema or paths, got '%s'",
                            format);
    return 0;
}

/* gradcheck's options into *device and *tol. Returns GO_ON, or the exit status. */
static int parse_gradcheck_args(int argc, char **argv, const char **device, double *tol) {
    static const struct option longs[] = {{"device", required_argument, NULL, OPT_DEVICE},
                                          {"tol", required_argument, NULL, OPT_TOL},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "h", longs);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        char *end;
        if (c == 'h') {
            fputs(USAGE_GRADCHECK, stdout);
            return 0;
        } else if (c == CLI_BAD) {
            return usage_error("gradcheck", "%s", p.error);
        } else if (c == CLI_ARG) {
            return usage_error("gradcheck", "unexpected argument '%s'", p.arg);
        } else if (!p.arg) {
            return usage_error("gradcheck", p.opt == OPT_TOL ? "%s needs a number > 0"
                               : "%s needs cpu or gpu", p.name);
        } else if (c == OPT_DEVICE) {
            *device = p.arg;
        } else if (c == OPT_TOL) {
            *tol = strtod(p.arg, &end);
            if (*end || end == p.arg || !(*tol > 0))
                return usage_error("gradcheck", "--tol: expected a number > 0, got '%s'", p.arg);
        }
    }
    return GO_ON;
}

static int cmd_gradcheck(int argc, char **argv) {
    const char *device = "cpu";
    double tol = 1e-3;
    int rc = parse_gradcheck_args(argc, argv, &device, &tol);
    if (rc != GO_ON) return rc;
    const Backend *be;
    char why[512] = "";
    if (strcmp(device, "cpu") == 0) be = backend_cpu();
    else if (strcmp(device, "gpu") == 0) {
        be = cudaload_backend(why, sizeof why);
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
    setenv("AELAB_NO_REEXEC", "chosen", 1); /* the value tells the new process why (for -v) */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slower kernels */
}

typedef struct Command {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[0] is the command's name */
} Command;

static int cmd_run(int argc, char **argv) { return cmd_run_or_check(argc, argv, true); }
static int cmd_check(int argc, char **argv) { return cmd_run_or_check(argc, argv, false); }

static const Command COMMANDS[] = {{"run", cmd_run},           {"check", cmd_check},
                                   {"plot", cmd_plot},         {"compare", compare_main},
                                   {"datasets", cmd_datasets}, {"gradcheck", cmd_gradcheck},
                                   {"keys", cmd_keys},
                                   {"baseline", report_baseline_main},
                                   {"runs", runs_main},          {"diff", diff_main},
                                   {"export", export_main},      {"encode", encode_main},
                                   {"cache", cache_main}};
#define NCOMMANDS (int)(sizeof COMMANDS / sizeof *COMMANDS)

static const Command *find_command(const char *name) {
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
    return NULL;
}

static int unknown_command(const char *name) {
    const char *cmds[NCOMMANDS];
    for (int i = 0; i < NCOMMANDS; i++) cmds[i] = COMMANDS[i].name;
    const char *best = diag_nearest(name, cmds, NCOMMANDS);
    fprintf(stderr, "aelab: error: unknown command '%s'", name);
    if (best) fprintf(stderr, "; did you mean '%s'?", best);
    fprintf(stderr, "\n(see 'aelab --help')\n");
    return 2;
}

static int print_version(void) {
    printf("aelab %s (backends: cpu%s)\nblas: %s (core %s)\nonednn: %s\nbuild: %s\n", AE_VERSION,
           backend_cuda_compiled() ? ", cuda" : "", backend_cpu_blas_config(),
           backend_cpu_blas_core(),
           backend_cpu_bf16_compiled() ? backend_cpu_bf16_isa()
                                       : "none (precision: bf16 needs libdnnl-dev at build time)",
           aelab_build_id());
    return 0;
}

/* `aelab help [COMMAND]`, `aelab --help [COMMAND]`: the usage, or the command's. */
static int print_help(int argc, char **argv, int first) {
    if (first >= argc) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (first + 1 < argc)
        return usage_error(NULL, "unexpected argument '%s' (help takes one command)",
                           argv[first + 1]);
    const Command *c = find_command(argv[first]);
    if (!c) return unknown_command(argv[first]);
    char *args[] = {argv[first], "--help", NULL};
    return c->main(2, args);
}

int main(int argc, char **argv) {
    prefer_wide_kernels(argv);
    const char *reexec = getenv("AELAB_NO_REEXEC");
    if (reexec && strcmp(reexec, "chosen") == 0)
        blas_core_origin = "chosen by aelab: OpenBLAS detected only Prescott";
    else if (getenv("OPENBLAS_CORETYPE"))
        blas_core_origin = "from OPENBLAS_CORETYPE";
    unsetenv("AELAB_NO_REEXEC");
    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    /* aelab's own options come before the command; the command's own, after it */
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, OPT_VERSION},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "h", longs);
    int c;
    bool help = false, version = false;
    while ((c = cli_next(&p)) != CLI_DONE && c != CLI_ARG) {
        if (c == CLI_BAD) return usage_error(NULL, "%s", p.error);
        help |= c == 'h';
        version |= c == OPT_VERSION;
    }
    if (help) return print_help(argc, argv, c == CLI_ARG ? p.index : argc);
    if (version && c == CLI_ARG)
        return usage_error(NULL, "--version takes no arguments, got '%s'", p.arg);
    if (version) return print_version();
    if (c != CLI_ARG) return usage_error(NULL, "missing the command%s", "");
    const char *name = p.arg;
    if (strcmp(name, "help") == 0) return print_help(argc, argv, p.index + 1);
    if (strcmp(name, "version") == 0) {
        if (p.index + 1 < argc)
            return usage_error(NULL, "version takes no arguments, got '%s'", argv[p.index + 1]);
        return print_version();
    }
    const Command *cmd = find_command(name);
    if (!cmd) return unknown_command(name);
    return cmd->main(argc - p.index, argv + p.index);
}
