/* runner/sweep_internal.h — what the pieces of runner/sweep*.c share; not part of the API (that
 * is runner/sweep.h, which nothing outside these files goes past).
 *
 * The pieces, in the order a sweep goes through them:
 *   sweep_values.c   the value-list grammar: --set lists, range/linspace/logspace, directory names
 *   sweep_spec.c     the sweep spec: the --set lists and the `sweep:` block into ordered dimensions
 *   sweep.c          the Sweep: sweep_open, its points (mixed-radix digits, --set arguments,
 *                    directories), --list and check
 *   sweep_point.c    one point: its fingerprint, its point.status, whether it is complete, and
 *                    running it in this process (--point K)
 *   sweep_exec.c     the driver: points as child processes, -j at a time, signals passed on
 *   sweep_collect.c  sweep.csv and sweep_by_params.csv from the points' run directories
 *   sweep_plot.c     the picture: METRIC.dat and a METRIC.gp that loads plots/sweep.gp
 *   sweep_emit.c     --emit commands, and what both emits share (shell words, validation)
 *   sweep_slurm.c    --emit slurm: the job array script
 *
 * Conventions: a point is "the config + the single-valued --set arguments + KEY=VALUE for each of
 * its parameters", so every point is an ordinary run that `aelab run FILE --set...` could do by
 * hand. Values keep the text they were given (sweep.csv shows "0.01", not "0.0100000002").
 */
#ifndef AE_SWEEP_INTERNAL_H
#define AE_SWEEP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "csvout.h"
#include "diag.h"
#include "strbuf.h"
#include "sweep.h"
#include "xalloc.h"

#define SWEEP_PATH_MAX 4096
#define SWEEP_STATUS_FILE "point.status"
#define SWEEP_LOG_FILE "stderr.log"      /* a point's stderr, when the driver ran it */

/* ---- strings (sweep_values.c) ---- */

static inline char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ae_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static inline char *xstrndup(const char *s, size_t n) {
    char *d = ae_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A growing array of owned strings; free with sweep_values_free(l.v, l.n). */
typedef struct StrList {
    char **v;
    int n, cap;
} StrList;

/* Appends s (taken: the list owns it from here; NULL allowed, as an argv terminator). */
void sweep_strlist_push(StrList *l, char *s);

/* Parses s[0..n) (spaces around allowed) as a finite double; *is_int when it is an integer
 * written without '.', exponent or hex (and below 9e15). False when it is not such a number. */
bool sweep_parse_num(const char *s, size_t n, double *out, bool *is_int);

/* ---- the sweep (sweep_spec.c, sweep.c) ---- */

typedef struct SweepDim {
    char **keys;   /* (nkeys) owned */
    int nkeys;
    char **values; /* (nvalues, nkeys) row-major, owned */
    int nvalues;
    bool seed;     /* the seeds dimension */
    int line, col; /* where the block declared it; 0: the command line */
} SweepDim;

struct Sweep {
    const char *file;          /* borrowed */
    char *text;                /* the file's bytes, NUL-terminated */
    size_t len;
    const char *const *sets;   /* every --set as given, borrowed */
    int nsets;
    char **base;               /* the single-valued --set arguments, in order (owned) */
    int nbase;
    SweepDim *dims;            /* grid (file, then command line), zip, then the seeds */
    int ndims;
    int nparams;
    int *param_dim, *param_j;  /* parameter i = key param_j[i] of dims[param_dim[i]] */
    int seed_dim;              /* index in dims, or -1 */
    int npoints;
    int width;                 /* digits of the largest point index */
    char root[SWEEP_PATH_MAX];
    const char *out_dir;       /* borrowed: --out, or NULL */
    char name[CFG_NAME_MAX];
    int first_valid;           /* the first point whose config loads */
};

/* Frees a dimension's keys and values (not d itself). */
void sweep_dim_free(SweepDim *d);

/* Reads what s->file and s->sets (set by the caller) say to sweep: fills s->text and s->len
 * (the file's bytes, when it is a regular file), s->base and s->nbase (the single-valued --set
 * arguments), and s->dims and s->ndims (in the order of sweep.h; every entry the command line
 * sets removed from the block's). s->ndims is 0 when this is not a sweep. Errors go to d (or to
 * stderr directly, for the command line's); returns 0, or 2 after an error. What it filled is
 * freed by sweep_free either way. */
int sweep_spec_read(Sweep *s, Diag *d);

/* The --set arguments of point k: the single-valued ones, then KEY=VALUE per parameter. The
 * array and its strings are new (sweep_values_free with *n). */
char **sweep_point_sets(const Sweep *s, int k, int *n);

/* Appends "k1=v1 k2=v2", point k's parameters, for messages. */
void sweep_point_params(const Sweep *s, int k, StrBuf *b);

/* Whether parameter i is the seed. */
bool sweep_is_seed_param(const Sweep *s, int i);

/* "sweep of NAME: N points = KEY (n) x ...; results in ROOT/", one line. */
void sweep_print_shape(const Sweep *s, FILE *out);

/* ---- one point (sweep_point.c) ---- */

/* What a point's point.status says (see sweep.h); -1 / NAN where it says nothing. */
typedef struct PointStatus {
    bool present;              /* the file exists */
    char fingerprint[17];
    int exit_code;
    double seconds;
    int trained, reused;
} PointStatus;

/* FNV-1a, as 16 hex digits, over everything that determines point k: aelab's version, the
 * file's bytes, the point's --set arguments. */
void sweep_point_fingerprint(const Sweep *s, int k, char hex[17]);

/* DIR/file, where DIR is point k's run directory. */
void sweep_status_path(const Sweep *s, int k, char *buf, size_t n, const char *file);

/* Point k's point.status; .present false when it cannot be read. */
PointStatus sweep_status_read(const Sweep *s, int k);

/* Writes point k's point.status atomically with its current fingerprint; trained < 0 leaves the
 * stage counts out. False with err filled on an I/O error. */
bool sweep_status_write(const Sweep *s, int k, int exit_code, double seconds, int trained,
                        int reused, AeError *err);

/* "ok", "failed", "interrupted", "missing" or "stale" (see sweep.h), from st = point k's
 * status. Static strings. */
const char *sweep_point_state(const Sweep *s, int k, const PointStatus *st);

/* Whether point k is ok (its status current and successful, its summary.csv there). */
bool sweep_point_complete(const Sweep *s, int k);

/* A monotonic clock, in seconds. */
double sweep_now_seconds(void);

/* ---- running (sweep_exec.c) ---- */

/* The number of cores this process may run on (>= 1). */
int sweep_cores(void);

/* The absolute path of the aelab binary: opt->exe, else /proc/self/exe, resolved. */
void sweep_exe_path(const SweepOptions *opt, char *buf, size_t n);

/* ---- results (sweep_collect.c, sweep_plot.c) ---- */

/* Point k's result, as sweep_collect read it. */
typedef struct PointResult {
    const char *state;         /* sweep_point_state's, or "failed" for an unreadable summary */
    PointStatus st;
    CsvTable *summary;         /* its summary.csv (metric,value); ok points only, else NULL */
} PointResult;

/* The metric's value in a point's summary, or NAN (no summary, no such metric, not a number). */
double sweep_result_num(const PointResult *r, const char *metric);

/* Whether points a and b agree on every parameter except `except` (-1: none) and the seed. */
bool sweep_same_others(const Sweep *s, int a, int b, int except);

/* The mean of v[0..n) (NAN when n = 0) and its sample standard deviation (NAN when n < 2). */
void sweep_mean_std(const double *v, int n, double *mean, double *sd);

/* Prints the last n lines of the log at path on stderr, each after "      | " (nothing when it
 * cannot be read). */
void sweep_print_log_tail(const char *path, int n);

/* Writes ROOT/sweep_plots/METRIC.{dat,gp} and the template ROOT/sweep_plots/plots/sweep.gp,
 * and renders METRIC.png when gnuplot exists (see sweep.h for what is drawn). res: every point's
 * result. *drawn says whether there was anything to draw (nothing is written otherwise).
 * Returns false on an I/O or gnuplot error (err filled). */
bool sweep_plot_write(const Sweep *s, const PointResult *res, const char *metric, bool *drawn,
                      AeError *err);

/* ---- emitting (sweep_emit.c, sweep_slurm.c) ---- */

#define SWEEP_MAX_ARRAY_SIZE 4000001 /* Slurm's own bound on MaxArraySize */

/* Appends s to a shell command line as one word: bare when it holds only safe characters,
 * else in single quotes. */
void sweep_shell_word(StrBuf *b, const char *s);

/* `'EXE' run 'FILE' --set ... [--out 'DIR']`: every point's command up to its own part; with
 * cd, after `cd 'CWD' && `. */
void sweep_emit_prefix(const Sweep *s, const SweepOptions *opt, StrBuf *b, bool cd);

/* The options passed on to every point (opt->child_args), as shell words after a space each. */
void sweep_emit_child_args(const SweepOptions *opt, StrBuf *b);

/* Appends the indices k in [from, to) with todo[k], minus offset, as a Slurm --array list
 * ("0-3,7,9-10"). Returns how many there are. */
int sweep_array_list(const bool *todo, int from, int to, int offset, StrBuf *b);

/* The data set of a point, as far as emitting needs it. */
typedef struct SweepDataShape {
    bool known;        /* dims read from the IDX headers (else MNIST's, what the plan assumes) */
    int dims[3];       /* features, classes, training examples: plan_print's data dims */
    int ntest;         /* test examples in the file; 0: none or unknown */
    uint64_t csv_bytes; /* csv: the files' sizes */
} SweepDataShape;

typedef void (*SweepPointFn)(const Config *cfg, const SweepDataShape *data, int k, void *ctx);

/* Validates every point as `aelab check` does: its config, and that its data set is found and
 * its header readable. Prints the errors of each invalid point after a line naming it, then a
 * count; calls each (when not NULL) with every valid point's config and data set. Returns the
 * number of invalid points. */
int sweep_emit_check_points(const Sweep *s, SweepPointFn each, void *ctx);

/* The points to emit: all, or with missing those not complete (sweep_point_complete). A new
 * array of npoints flags, their count in *ntodo; when it is 0, says so on stderr. */
bool *sweep_emit_todo(const Sweep *s, bool missing, int *ntodo);

/* Whether text, an --sbatch value, is a list of sbatch options aelab can carry (shell words,
 * each option starting with '-', none of those the script sets itself: --array, --dependency,
 * --output, --error, --wrap); why filled when not. */
bool sweep_sbatch_check(const char *text, char *why, size_t whysize);

/* A Slurm time limit (MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS,
 * DAYS-HOURS:MINUTES, DAYS-HOURS:MINUTES:SECONDS, UNLIMITED or INFINITE) in minutes, rounded
 * up; INT_MAX for no limit; -1 when text is none of these. */
int sweep_slurm_minutes(const char *text);

#endif
