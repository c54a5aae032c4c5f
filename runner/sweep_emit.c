/* runner/sweep_emit.c — a sweep for other engines: what --emit commands and --emit slurm share
 * (shell words, the points' command lines, the emit options, every point validated and the
 * points to run chosen before anything is emitted) and --emit commands itself, one
 * self-contained shell command per point for GNU parallel and the like. The Slurm job array is
 * runner/sweep_slurm.c. Every command is `aelab run FILE --set... --point K`, as the driver's
 * children run. Shell words are single-quoted ('\'' for a quote) unless they are made of safe
 * characters only.
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "datasets.h"

/* ---- shell words and command lines ---- */

void sweep_shell_word(StrBuf *b, const char *s) {
    bool safe = *s != '\0';
    for (const char *p = s; *p && safe; p++)
        safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               strchr("_./=+,:@%-", *p) != NULL;
    if (safe) {
        strbuf_printf(b, "%s", s);
        return;
    }
    strbuf_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'') strbuf_printf(b, "'\\''");
        else strbuf_printf(b, "%c", *p);
    }
    strbuf_printf(b, "'");
}

void sweep_emit_prefix(const Sweep *s, const SweepOptions *opt, StrBuf *b, bool cd) {
    char exe[SWEEP_PATH_MAX], cwd[SWEEP_PATH_MAX];
    sweep_exe_path(opt, exe, sizeof exe);
    if (cd) {
        if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
        strbuf_printf(b, "cd ");
        sweep_shell_word(b, cwd);
        strbuf_printf(b, " && ");
    }
    sweep_shell_word(b, exe);
    strbuf_printf(b, " run ");
    sweep_shell_word(b, s->file);
    for (int i = 0; i < s->nsets; i++) {
        strbuf_printf(b, " --set ");
        sweep_shell_word(b, s->sets[i]);
    }
    if (s->out_dir) {
        strbuf_printf(b, " --out ");
        sweep_shell_word(b, s->out_dir);
    }
}

void sweep_emit_child_args(const SweepOptions *opt, StrBuf *b) {
    for (int i = 0; i < opt->nchild_args; i++) {
        strbuf_printf(b, " ");
        sweep_shell_word(b, opt->child_args[i]);
    }
}

int sweep_array_list(const bool *todo, int from, int to, int offset, StrBuf *b) {
    int n = 0;
    for (int k = from; k < to; k++) {
        if (!todo[k]) continue;
        int e = k;
        while (e + 1 < to && todo[e + 1]) e++;
        strbuf_printf(b, "%s%d", n ? "," : "", k - offset);
        if (e > k) strbuf_printf(b, "-%d", e - offset);
        n += e - k + 1;
        k = e;
    }
    return n;
}

/* ---- the options ---- */

int sweep_emit_parse_arg(int argc, char **argv, int *i, SweepEmitOptions *eo, char *why,
                         size_t whysize) {
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "--missing") == 0) {
        eo->missing = true;
        return 1;
    }
    if (strcmp(a, "--sbatch") && strcmp(a, "--time") && strcmp(a, "--max-array-size")) return 0;
    if (!v) {
        snprintf(why, whysize, "%s needs a value", a);
        return -1;
    }
    (*i)++;
    if (strcmp(a, "--sbatch") == 0) {
        if (eo->nsbatch == SWEEP_MAX_SBATCH) {
            snprintf(why, whysize, "more than %d --sbatch options", SWEEP_MAX_SBATCH);
            return -1;
        }
        char err[256];
        if (!sweep_sbatch_check(v, err, sizeof err)) {
            snprintf(why, whysize, "--sbatch '%s': %s", v, err);
            return -1;
        }
        eo->sbatch[eo->nsbatch++] = v;
    } else if (strcmp(a, "--time") == 0) {
        if (sweep_slurm_minutes(v) < 0) {
            snprintf(why, whysize, "--time: expected a Slurm time limit (MINUTES, H:MM:SS, "
                     "D-HH[:MM[:SS]] or UNLIMITED), got '%s'", v);
            return -1;
        }
        eo->time = v;
    } else if (!ae_parse_int(v, 1, SWEEP_MAX_ARRAY_SIZE, &eo->max_array_size)) {
        snprintf(why, whysize, "--max-array-size: expected the cluster's MaxArraySize, 1..%d, "
                 "got '%s'", SWEEP_MAX_ARRAY_SIZE, v);
        return -1;
    }
    return 1;
}

bool sweep_emit_args_fit(const SweepEmitOptions *eo, bool emit_commands, bool emit_slurm,
                         char *why, size_t whysize) {
    const char *slurm_only = eo->nsbatch ? "--sbatch" : eo->time ? "--time"
                             : eo->max_array_size ? "--max-array-size" : NULL;
    if (slurm_only && !emit_slurm) {
        snprintf(why, whysize, "%s is for --emit slurm", slurm_only);
        return false;
    }
    if (eo->missing && !emit_commands && !emit_slurm) {
        snprintf(why, whysize, "--missing is for --emit commands and --emit slurm (a sweep run "
                 "skips the complete points by itself)");
        return false;
    }
    return true;
}

/* ---- validating the points ---- */

/* The data set a config reads, as far as emitting needs it: checked as `aelab check` does. */
typedef struct DataCache {
    char key[CFG_NAME_MAX + 4 * CFG_PATH_MAX + 8]; /* the files of the last one looked up */
    bool ok;
    bool unreadable;               /* found but its header unreadable: why is "PATH: error: ..." */
    char why[2048];                /* when not ok: the error (else without a PATH prefix) */
    SweepDataShape shape;
} DataCache;

/* The shape of the data set of the load_dataset stage ld into c->shape (c->ok false and c->why
 * filled when it cannot be found or read), looked up only when it differs from the last. */
static void data_lookup(const StageCfg *ld, DataCache *c) {
    char key[sizeof c->key];
    snprintf(key, sizeof key, "%s\n%s\n%s\n%s\n%s", ld->data.name, ld->data.train_images,
             ld->data.test_images, ld->data.train_csv, ld->data.test_csv);
    if (c->key[0] && strcmp(key, c->key) == 0) return;
    snprintf(c->key, sizeof c->key, "%s", key);
    c->ok = true;
    c->unreadable = false;
    c->shape = (SweepDataShape){.dims = {784, 10, 60000}};
    struct stat st;
    if (strcmp(ld->data.name, "csv") == 0) {
        if (stat(ld->data.train_csv, &st) == 0) c->shape.csv_bytes += (uint64_t)st.st_size;
        if (ld->data.test_csv[0] && stat(ld->data.test_csv, &st) == 0)
            c->shape.csv_bytes += (uint64_t)st.st_size;
        return;
    }
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX];
    if (strcmp(ld->data.name, "idx") == 0) {
        snprintf(ti, sizeof ti, "%s", ld->data.train_images);
        snprintf(vi, sizeof vi, "%s", ld->data.test_images);
    } else if (!datasets_resolve(ld->data.name, ti, tl, vi, vl, sizeof ti, c->why, sizeof c->why)) {
        c->ok = false;
        return;
    }
    AeError err;
    int n, rows, cols;
    if (!idx_read_header(ti, &n, &rows, &cols, &err)) {
        c->ok = false;
        c->unreadable = true;
        snprintf(c->why, sizeof c->why, "%s", err.msg);
        return;
    }
    c->shape.known = true;
    c->shape.dims[0] = rows * cols;
    c->shape.dims[2] = n;
    if (vi[0] && idx_read_header(vi, &n, &rows, &cols, &err)) c->shape.ntest = n;
}

/* Prints "aelab run: point K (PARAMS):", the line before a point's errors. */
static void name_bad_point(const Sweep *s, int k) {
    StrBuf pp = {0};
    sweep_point_params(s, k, &pp);
    fprintf(stderr, "aelab run: point %d (%s):\n", k, pp.s ? pp.s : "");
    free(pp.s);
}

/* Checks point k's data set (the config loaded); false after printing why. */
static bool check_point_data(const Sweep *s, int k, const Config *cfg, DataCache *dc) {
    const StageCfg *ld = NULL;
    for (int i = 0; i < cfg->nstages && !ld; i++)
        if (cfg->stages[i].kind == STAGE_LOAD_DATASET) ld = &cfg->stages[i];
    if (!ld) return true;
    data_lookup(ld, dc);
    if (dc->ok) return true;
    name_bad_point(s, k);
    if (dc->unreadable)
        fprintf(stderr, "%s (the data set of load_dataset at %s:%d:%d)\n", dc->why, s->file,
                ld->pos.line, ld->pos.col);
    else
        fprintf(stderr, "%s:%d:%d: error: load_dataset: %s\n", s->file, ld->pos.line,
                ld->pos.col, dc->why);
    return false;
}

int sweep_emit_check_points(const Sweep *s, SweepPointFn each, void *ctx) {
    int nbad = 0;
    DataCache *dc = ae_xcalloc(1, sizeof *dc);
    for (int k = 0; k < s->npoints; k++) {
        Config *c = sweep_point_config(s, k, NULL, NULL);
        if (!c) {
            name_bad_point(s, k);
            config_free(sweep_point_config(s, k, stderr, NULL));
            nbad++;
        } else if (!check_point_data(s, k, c, dc)) {
            nbad++;
        } else if (each) {
            each(c, &dc->shape, k, ctx);
        }
        config_free(c);
    }
    free(dc);
    if (nbad)
        fprintf(stderr, "aelab run: error: %d of %d points have errors (above); nothing emitted\n",
                nbad, s->npoints);
    return nbad;
}

bool *sweep_emit_todo(const Sweep *s, bool missing, int *ntodo) {
    bool *todo = ae_xmalloc((size_t)s->npoints * sizeof *todo);
    *ntodo = 0;
    for (int k = 0; k < s->npoints; k++) {
        todo[k] = !missing || !sweep_point_complete(s, k);
        *ntodo += todo[k];
    }
    if (*ntodo == 0)
        fprintf(stderr, "aelab: every point of the sweep is complete (%d of %d); nothing to "
                "emit\n", s->npoints, s->npoints);
    return todo;
}

/* ---- --emit commands ---- */

/* The --threads of each point: opt->threads when given, else the cores shared by opt->jobs;
 * -1: none (each point uses the config's). */
static int emit_threads(const SweepOptions *opt) {
    if (opt->threads >= 0) return opt->threads;
    if (opt->jobs > 0) {
        int t = sweep_cores() / opt->jobs;
        return t > 1 ? t : 1;
    }
    return -1;
}

int sweep_emit_commands(const Sweep *s, const SweepOptions *opt, FILE *out) {
    if (sweep_emit_check_points(s, NULL, NULL)) return 2;
    int threads = emit_threads(opt), ntodo;
    bool *todo = sweep_emit_todo(s, opt->emit.missing, &ntodo);
    for (int k = 0; k < s->npoints; k++) {
        if (!todo[k]) continue;
        StrBuf b = {0};
        sweep_emit_prefix(s, opt, &b, true);
        strbuf_printf(&b, " --point %d", k);
        if (threads >= 0) strbuf_printf(&b, " --threads %d", threads);
        if (opt->force) strbuf_printf(&b, " --force");
        sweep_emit_child_args(opt, &b);
        fprintf(out, "%s -q\n", b.s);
        free(b.s);
    }
    free(todo);
    return 0;
}
