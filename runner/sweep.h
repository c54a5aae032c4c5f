/* runner/sweep.h — parameter sweeps: many runs of one config that differ in a few values.
 *
 * What makes a sweep (the `aelab run` command line; see 'aelab run --help'):
 *  - a --set whose value holds several values separated by commas at its top level
 *    (`--set add_sparsity.weight=0.01,0.1`; commas inside [], {}, () or quotes do not split:
 *    `hidden=[256,128]` is one value), or a helper call (below);
 *  - a `sweep:` block in the YAML file (the config loader ignores it; it is read here):
 *        sweep:
 *          grid:                       # cartesian product, in this order
 *            add_sparsity.weight: [0.001, 0.01, 0.1]
 *            attach_classifier.optimizer.lr: logspace(-2, 0, 3)
 *          zip:                        # lists of equal length, advanced together
 *            pretrain_layer.units: [64, 128]
 *            attach_classifier.hidden: [[32], [64]]
 *          seeds: 2                    # seeds 1..2; or a list: [1, 7]
 *          add_noise.std: [0.1, 0.2]   # any other key: shorthand for a grid entry
 *          slurm: {time: "1:00:00", sbatch: [--partition=gpu]}  # not a dimension: for
 *                                      # --emit slurm (sweep_emit_slurm)
 *    A value list is a YAML sequence (items of any shape), a helper call, or one scalar.
 *  - helpers, in the block or on the command line: range(a, b[, step]) (a, a+step, ... < b),
 *    linspace(a, b, n) (n values from a to b), logspace(a, b, n) (10^a ... 10^b, n values).
 *
 * Points: the cartesian product of the grid entries (the file's, then the command line's, first
 * entry outermost), then the zip entries, then the seeds (innermost): point K's dimension indices
 * are K's mixed-radix digits, the last dimension fastest. A --set of the key (spelt the same way)
 * replaces the block's entry for it. A grid entry or --set named `seed` is the seeds dimension
 * (the seed is swept once at most, and never zipped); `name` and `sweep` cannot be swept. A
 * point runs as the config with the single-valued --set arguments applied first, then KEY=VALUE
 * for each of its parameters. A sweep's config must be a regular file (not a pipe).
 *
 * Files, under ROOT (--out DIR, else results/<name>):
 *   ROOT/sweep/<K>_<key>=<value>_.../   the point's run directory (the name sanitised to
 *                                        [A-Za-z0-9._+=-], K zero-padded to sort);
 *     .../point.status                  written by the point's run when it ends (atomically):
 *                                        "point: K", "fingerprint: HEX", "exit_code: N",
 *                                        "seconds: S", "stages_trained: N", "stages_reused: N";
 *     .../stderr.log                    the point's stderr when the sweep driver ran it;
 *   ROOT/sweep.csv                      one row per point (see sweep_collect);
 *   ROOT/sweep_by_params.csv            mean and std across seeds (when seeds vary);
 *   ROOT/sweep_plots/METRIC.{dat,gp,png} the metric against each swept parameter (METRIC.gp sets
 *                                        variables and loads plots/sweep.gp, the template, which
 *                                        is copied into ROOT/sweep_plots/plots/);
 *   ROOT/sweep.sbatch                   from --emit slurm; its tasks' logs are
 *                                        ROOT/sweep/slurm-*.out.
 * A point is complete when its point.status says exit_code 0 with the fingerprint of what now
 * determines it (aelab's version, the YAML file's bytes, the --set arguments that apply to it;
 * not the device or thread count) and its summary.csv exists; complete points are skipped
 * unless forced. Points share trained stages through the stage cache (runner/pipeline.h).
 *
 * The implementation is in runner/sweep*.c, one piece each (listed in runner/sweep_internal.h).
 */
#ifndef AE_SWEEP_H
#define AE_SWEEP_H

#include <stdbool.h>
#include <stdio.h>

#include "pipeline.h"

#define SWEEP_MAX_POINTS 100000
#define SWEEP_MAX_VALUES 10000 /* per list or helper */

typedef struct Sweep Sweep;

#define SWEEP_MAX_SBATCH 16 /* --sbatch options */

/* What --emit adds (aelab run --help): the command line's choices; for --emit slurm, the
 * `slurm:` entry of the sweep block (sweep_emit_slurm) fills in what they leave unset. */
typedef struct SweepEmitOptions {
    bool missing;              /* --missing: only the points that are not complete */
    const char *sbatch[SWEEP_MAX_SBATCH]; /* --sbatch 'OPTIONS', as given (shell words) */
    int nsbatch;
    const char *time;          /* --time: each array task's limit, in Slurm's formats */
    int max_array_size;        /* --max-array-size N; 0: not given */
} SweepEmitOptions;

/* How the driver runs points (sweep_run) and what the emitted commands carry. */
typedef struct SweepOptions {
    int jobs;                  /* points at a time; 0: one per core */
    int threads;               /* the thread budget shared by the jobs: < 0 not given (all
                                  cores), 0 all cores, N: N */
    bool quiet;                /* the driver prints errors only */
    bool force;                /* run points even when complete */
    bool share_stages;         /* the points share a stage cache: a point that has a training
                                  stage in common with a running point waits for it to end */
    const char *metric;        /* plotted by sweep_collect; NULL: test_accuracy */
    bool no_plots;             /* sweep_collect writes no plot */
    const char *const *child_args; /* options passed on to every point's run, e.g. "--device",
                                  "gpu", "--no-plots", "--no-cache"; borrowed */
    int nchild_args;
    const char *exe;           /* the aelab binary to run points with; NULL: /proc/self/exe */
    SweepEmitOptions emit;     /* --emit's options */
    bool explain;              /* sweep_collect names every point that is not ok (--collect) */
} SweepOptions;

/* Reads the sweep of FILE with these --set arguments (sets, as given; borrowed for the life of
 * the Sweep). out_dir: --out, the sweep's root (NULL: results/<name>).
 * Returns 0 and *out = NULL when this is not a sweep (no `sweep:` block with entries and no
 * --set with several values) or when the file cannot be read or parsed as YAML: the caller then
 * goes on with config_load, which reports such errors. Returns 0 and a new Sweep (free with
 * sweep_free) otherwise. Returns 2 (nothing in *out) after printing compiler-style errors on
 * stderr: a malformed sweep: block or --set list, a bad helper, zip lists of unequal length,
 * more than SWEEP_MAX_POINTS points, `name` swept, or no point whose config is valid (the
 * errors of point 0 are printed). */
int sweep_open(const char *file, const char *const *sets, int nsets, const char *out_dir,
               Sweep **out);

void sweep_free(Sweep *s); /* NULL-safe */

/* The number of points (>= 1), of parameters (columns: every key of every dimension), a
 * parameter's key, and point k's value of parameter i, as the text given to --set. Borrowed,
 * valid until sweep_free. k and i in range (AE_ASSERT). */
int sweep_npoints(const Sweep *s);
int sweep_nparams(const Sweep *s);
const char *sweep_param_key(const Sweep *s, int i);
const char *sweep_point_value(const Sweep *s, int k, int i);

/* The sweep's root directory (ROOT above) and point k's run directory. Borrowed / written into
 * buf (always NUL-terminated; size >= 64). */
const char *sweep_root(const Sweep *s);
void sweep_point_dir(const Sweep *s, int k, char *buf, size_t size);

/* Prints one line per point: index, parameters, run directory; then a count. Returns 0. */
int sweep_list(const Sweep *s, FILE *out);

/* `aelab check` on a sweep: loads every point's config (errors printed, each group preceded by a
 * line naming the point), prints the plan of the first valid point and the list. Returns 0 when
 * every point is valid, 2 otherwise. */
int sweep_check(const Sweep *s);

/* The first point whose config is valid (every sweep has one: sweep_open checks). */
int sweep_first_valid(const Sweep *s);

/* Loads point k's config (k in range), diagnostics to diag_out (NULL: none); as config_load. */
Config *sweep_point_config(const Sweep *s, int k, FILE *diag_out, int *nerrors);

/* Runs point k in this process (`--point K`): the config with the point's --set arguments,
 * into its run directory, with base's device, threads, plots, quiet and cache options
 * (base->out_dir, provenance_sets and stats are replaced). Skips a complete point (note on
 * stderr) unless force. Writes point.status when the run ends, whatever its exit code.
 * Returns the exit code: pipeline_run's, 2 for a config error or k out of range. */
int sweep_run_point(const Sweep *s, int k, const RunOptions *base, bool force);

/* The driver: runs every point that is not complete as a child process
 * (`EXE run FILE --set... --point K --threads T [--out ROOT] CHILD_ARGS`, its stderr in the
 * point's stderr.log), opt->jobs at a time with threads = max(1, budget / jobs) each, where the
 * budget is opt->threads or the cores this process may use (jobs is capped at the budget). With
 * opt->share_stages, a point whose training stages include one of a running point's (same stage
 * key, runner/stagekey.h) starts after that point ends, and reuses its result. A failing point is reported with the last lines of its log and the others go on. SIGINT and
 * SIGTERM are passed on to the running points, which stop after their batch; no new point
 * starts. Then writes the sweep's tables and plot (sweep_collect).
 * Returns 0 when every point succeeded, 1 when any failed (or collecting failed), 130 when
 * interrupted. */
int sweep_run(const Sweep *s, const SweepOptions *opt);

/* Writes ROOT/sweep.csv from the points' run directories (whatever state they are in), plus
 * ROOT/sweep_by_params.csv and the plot. sweep.csv has one row per point, in point order, with
 * the columns: point, each parameter's key, status (ok | failed | interrupted | missing: no
 * point.status | stale: written for another config), exit_code, seconds, stages_trained,
 * stages_reused, run_dir (relative to ROOT), then every metric of the points' summary.csv (in
 * order of first appearance; empty unless status is ok). When the sweep has a seeds dimension,
 * sweep_by_params.csv has one row per combination of the other parameters: those parameters,
 * n (points ok), then METRIC_mean and METRIC_std (sample standard deviation, empty when n < 2)
 * for every metric. The plot (ROOT/sweep_plots/METRIC.gp, rendered by gnuplot when present):
 * one panel per swept parameter other than the seed, the metric's mean against the parameter's
 * value (numeric values on a numeric axis, else in order), one curve per combination of the other
 * parameters, error bars = std across seeds (opt->metric, default test_accuracy; none with
 * opt->no_plots). A metric no point has is a warning, not an error. Prints what it wrote unless
 * opt->quiet. Returns 0 when every point is ok, 1 when some are not, a file could not be
 * written, the template plots/sweep.gp was not found (looked for as runner/plots.h's templates)
 * or gnuplot failed (printed). With opt->explain (--collect), every point that is not ok is
 * named on stderr with its state and the last lines of its newest log (the stderr.log the driver
 * writes, or a Slurm task's ROOT/sweep/slurm-*.out), and their indices follow on stdout as an
 * --array= list, with the command that re-submits them (--emit slurm --missing). */
int sweep_collect(const Sweep *s, const SweepOptions *opt);

/* --emit commands: one self-contained shell command per point to run, point order:
 *   cd 'CWD' && 'EXE' run 'FILE' --set '...'... --point K [--out 'DIR'] [--threads T] ARGS -q
 * where T is opt->threads when given, else max(1, cores / opt->jobs) when opt->jobs > 0, and
 * ARGS are opt->child_args. The points to run: all, or with opt->emit.missing those that are not
 * complete (none: a note on stderr, nothing on out). Every point is validated first, as
 * `aelab check` does (its config, its data set found): an invalid point refuses the emit with
 * its errors. Returns 0, or 2 after such errors (nothing emitted). */
int sweep_emit_commands(const Sweep *s, const SweepOptions *opt, FILE *out);

/* --emit slurm: writes ROOT/sweep.sbatch, a Slurm job-array script, and prints its path on out;
 * `sbatch ROOT/sweep.sbatch` submits the sweep. Array task K of the job submitted with the
 * script argument OFFSET (none: the first chunk's) runs point OFFSET+K. The script holds:
 *  - resources: --cpus-per-task, the threads of each point (opt->threads when > 0, else the
 *    config's `threads` when > 0, else 1); --mem, the most any point to run needs: the plan's
 *    largest training step (runner/plan.h) plus its data set as 32-bit floats (a CSV data set:
 *    twice its files' size), times 1.5, plus 256 MiB for the program, in MiB rounded up;
 *    --time, opt->emit.time or the block's `time` (none when neither is given); then the options
 *    of the block's `sbatch` and opt->emit.sbatch, in that order (#SBATCH lines; Slurm keeps
 *    the last of an option). A memory, CPU or time option among them replaces aelab's own.
 *  - the array: the points to run (all, or with opt->emit.missing those that are not complete;
 *    none: a note, nothing written), in chunks of MaxArraySize indices (opt->emit.max_array_size,
 *    else `scontrol show config`'s when it answers, else the block's `max_array_size`, else
 *    Slurm's default 1001), each limited to opt->jobs tasks at a time (%N; the block's
 *    `throttle` when opt->jobs is 0). The first chunk is the script's #SBATCH --array; the
 *    first task of that job submits the other chunks (`sbatch --array=LIST sweep.sbatch
 *    OFFSET`), then the collecting job: `aelab run FILE --set... --collect` once every chunk
 *    has ended (--dependency=afterany), with the same sbatch options but --cpus-per-task=1,
 *    --mem=1G and a --time of at most 30 minutes. A submission that fails is reported in that
 *    task's log, with what to do, and never stops the task's own point.
 *  - logs: ROOT/sweep/slurm-JOB_TASK.out (ROOT/sweep/slurm-JOB_TASK+OFFSET.out past the first
 *    chunk), one per task: the point's progress, one line per stage (trained or reused); the
 *    collecting job's in ROOT/sweep/slurm-collect-JOB.out.
 *  - the environment: AELAB_DATA, AELAB_CACHE, SLURM_CONF and OPENBLAS_CORETYPE (the BLAS
 *    kernels, which the numbers depend on) as they were at emit time (when set), so that it
 *    runs the same under --export=NONE. It assumes a shared filesystem: the
 *    working directory, ROOT, the aelab binary and the data at the same paths on every node.
 * The sweep block's `slurm:` entry: {sbatch: "OPTIONS" or [OPTION, ...], time: T, throttle: N,
 * max_array_size: N}. Every point is validated first (as sweep_emit_commands). Returns 0; 2
 * after errors in the points or the `slurm:` entry (printed, nothing written); 1 when the file
 * cannot be written (printed). */
int sweep_emit_slurm(const Sweep *s, const SweepOptions *opt, FILE *out);

/* Reads argv[*i] when it is one of --emit's options (--missing, --sbatch OPTIONS, --time T,
 * --max-array-size N) into eo: returns 1 with *i on its last word, 0 when argv[*i] is not one
 * of them, -1 with why filled (a usage error: a missing or bad value). */
int sweep_emit_parse_arg(int argc, char **argv, int *i, SweepEmitOptions *eo, char *why,
                         size_t whysize);

/* Whether the options in eo fit the action: --sbatch, --time and --max-array-size are for
 * --emit slurm, --missing for either --emit. False with why filled when not. */
bool sweep_emit_args_fit(const SweepEmitOptions *eo, bool emit_commands, bool emit_slurm,
                         char *why, size_t whysize);

/* ---- pieces, exported for tests ---- */

/* Splits a --set value at its top-level commas (outside [], {}, () and quoted scalars; as in
 * YAML, a quote starts a quoted scalar only at the start of a value), trims spaces around each
 * part and expands helper calls. Text with an unbalanced bracket or quote is one value (the
 * config loader reports it). Returns the number of values (>= 1) and a new array of new strings
 * in *values (free with sweep_values_free); or -1 with why filled (an empty part such as
 * "1,,2", a bad helper, more than SWEEP_MAX_VALUES values). */
int sweep_split_values(const char *text, char ***values, char *why, size_t whysize);

/* Expands range(a, b[, step]), linspace(a, b, n) or logspace(a, b, n) (spaces allowed). Returns
 * 0 when text is not a helper call (nothing allocated); the number of values (>= 1) and a new
 * array in *values; or -1 with why filled (bad arguments, an empty range, too many values).
 * Integers in, integers out for range; otherwise values are printed with %.10g. */
int sweep_expand_helper(const char *text, char ***values, char *why, size_t whysize);

void sweep_values_free(char **values, int n); /* NULL-safe */

/* Turns "KEY=VALUE" text into a directory-name part: letters, digits and . _ + = - are kept,
 * ',', ':' and '/' become '-', other characters (spaces, brackets, quotes) are dropped. Writes at most size-1
 * characters to buf (always NUL-terminated). */
void sweep_sanitise(const char *text, char *buf, size_t size);

#endif
