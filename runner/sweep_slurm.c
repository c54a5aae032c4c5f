/* runner/sweep_slurm.c — --emit slurm: the sweep as a Slurm job array (ROOT/sweep.sbatch) and
 * the job that collects it (ROOT/sweep_collect.sbatch); what they hold is in sweep.h
 * (sweep_emit_slurm). The resources come from the plan (runner/plan.h) and the user's choices:
 * the command line's --threads, --time, --sbatch, -j and --max-array-size, and the sweep block's
 * `slurm:` entry. Sweeps larger than the cluster's MaxArraySize are split into chunks, which the
 * first task submits; the command lines are built with runner/sweep_emit.c's shell words.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "plan.h"
#include "yamldoc.h"

#define SLURM_DEFAULT_MAX_ARRAY 1001 /* Slurm's MaxArraySize unless the cluster sets it */
#define MEM_MARGIN_FACTOR 1.5
#define MEM_MARGIN_MIB 256           /* the program, its libraries and OpenBLAS's buffers */
#define COLLECT_MEM "1G"
#define COLLECT_MINUTES 30
#define MIB (1024.0 * 1024.0)

/* ---- sbatch options ---- */

/* Splits text into shell words (spaces separate; '...' and "..." quote, a backslash escapes the
 * next character outside single quotes) appended to words. False with why filled for an
 * unterminated quote. */
static bool sbatch_split(const char *text, StrList *words, char *why, size_t whysize) {
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) return true;
        StrBuf w = {0};
        strbuf_printf(&w, "%s", "");
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            char q = *p;
            if (q == '\'' || q == '"') {
                const char *end = p + 1;
                while (*end && *end != q) {
                    if (q == '"' && *end == '\\' && end[1]) end++;
                    end++;
                }
                if (!*end) {
                    snprintf(why, whysize, "unterminated %s quote", q == '\'' ? "single" : "double");
                    strbuf_free(&w);
                    return false;
                }
                for (const char *c = p + 1; c < end; c++) {
                    if (q == '"' && *c == '\\' && c + 1 < end) c++;
                    strbuf_printf(&w, "%c", *c);
                }
                p = end + 1;
            } else {
                if (q == '\\' && p[1]) p++;
                strbuf_printf(&w, "%c", *p++);
            }
        }
        sweep_strlist_push(words, w.s);
    }
}

/* The option a word names ("--mem" for "--mem=4G", "-c" for "-c4"), into buf; "" when the word
 * is not an option (a value). */
static void option_name(const char *w, char *buf, size_t n) {
    buf[0] = '\0';
    if (w[0] != '-' || !w[1]) return;
    if (w[1] == '-') snprintf(buf, n, "%.*s", (int)strcspn(w, "="), w);
    else snprintf(buf, n, "-%c", w[1]);
}

static bool name_in(const char *name, const char *const *names) {
    for (; *names; names++)
        if (strcmp(name, *names) == 0) return true;
    return false;
}

static const char *const REFUSED[] = {"--array", "-a", "--dependency", "-d", "--output", "-o",
                                      "--error", "-e", "--wrap", NULL};
static const char *const MEM_OPTS[] = {"--mem", "--mem-per-cpu", "--mem-per-gpu", NULL};
static const char *const CPU_OPTS[] = {"--cpus-per-task", "-c", NULL};
static const char *const TIME_OPTS[] = {"--time", "-t", NULL};

/* Whether the words are options aelab can carry (see sweep_sbatch_check). */
static bool sbatch_words_ok(const StrList *w, char *why, size_t whysize) {
    if (w->n == 0) {
        snprintf(why, whysize, "no option");
        return false;
    }
    if (w->v[0][0] != '-') {
        snprintf(why, whysize, "expected an sbatch option (starting with -), got '%s'", w->v[0]);
        return false;
    }
    for (int i = 0; i < w->n; i++) {
        char name[64];
        option_name(w->v[i], name, sizeof name);
        if (name_in(name, REFUSED)) {
            snprintf(why, whysize, "%s is aelab's to set (the array, its dependency and its logs)",
                     name);
            return false;
        }
        if (strchr(w->v[i], '\'')) {
            snprintf(why, whysize, "'%s': a quote inside an option cannot go on an #SBATCH line",
                     w->v[i]);
            return false;
        }
    }
    return true;
}

bool sweep_sbatch_check(const char *text, char *why, size_t whysize) {
    StrList w = {0};
    bool ok = sbatch_split(text, &w, why, whysize) && sbatch_words_ok(&w, why, whysize);
    sweep_values_free(w.v, w.n);
    return ok;
}

/* Whether one of the options in words is named in names. */
static bool words_have(const StrList *words, const char *const *names) {
    for (int i = 0; i < words->n; i++) {
        char name[64];
        option_name(words->v[i], name, sizeof name);
        if (name_in(name, names)) return true;
    }
    return false;
}

/* The value of the last option of words named in names ("" when none or it has none). */
static const char *words_value(const StrList *words, const char *const *names) {
    const char *v = "";
    for (int i = 0; i < words->n; i++) {
        char name[64];
        option_name(words->v[i], name, sizeof name);
        if (!name_in(name, names)) continue;
        const char *w = words->v[i];
        if (w[1] == '-') v = strchr(w, '=') ? strchr(w, '=') + 1 : i + 1 < words->n ? words->v[i + 1] : "";
        else v = w[2] ? w + 2 : i + 1 < words->n ? words->v[i + 1] : "";
    }
    return v;
}

/* Appends words as #SBATCH lines, one per option with the values that follow it, leaving out
 * the options named in skip (NULL-terminated lists; NULL: none) and their values. */
static void sbatch_lines(StrBuf *b, const StrList *words, const char *const *const *skip) {
    bool skipping = false, any = false;
    for (int i = 0; i < words->n; i++) {
        char name[64];
        option_name(words->v[i], name, sizeof name);
        if (name[0]) {
            skipping = false;
            for (int j = 0; skip && skip[j]; j++) skipping |= name_in(name, skip[j]);
            if (!skipping) strbuf_printf(b, "%s#SBATCH ", any ? "\n" : "");
            any |= !skipping;
        } else if (!skipping) {
            strbuf_printf(b, " ");
        }
        if (!skipping) sweep_shell_word(b, words->v[i]);
    }
    if (any) strbuf_printf(b, "\n");
}

/* ---- time limits ---- */

int sweep_slurm_minutes(const char *text) {
    if (strcasecmp(text, "UNLIMITED") == 0 || strcasecmp(text, "INFINITE") == 0) return INT_MAX;
    long f[4] = {0};
    int nf = 0;
    bool days = false;
    const char *p = text;
    while (nf < 4) {
        if (*p < '0' || *p > '9') return -1;
        char *end;
        f[nf] = strtol(p, &end, 10);
        if (f[nf] > 10000000 || end - p > 8) return -1;
        nf++;
        p = end;
        if (*p == '-' && nf == 1 && !days) days = true;
        else if (*p != ':') break;
        p++;
    }
    if (*p || (nf > 3 + days)) return -1;
    long secs;
    if (days) secs = f[0] * 86400 + f[1] * 3600 + (nf > 2 ? f[2] * 60 : 0) + (nf > 3 ? f[3] : 0);
    else if (nf == 1) secs = f[0] * 60;
    else if (nf == 2) secs = f[0] * 60 + f[1];
    else secs = f[0] * 3600 + f[1] * 60 + f[2];
    if (secs == 0) return INT_MAX; /* Slurm: a limit of 0 is none */
    long m = (secs + 59) / 60;
    return m < INT_MAX ? (int)m : INT_MAX;
}

/* ---- the `slurm:` entry of the sweep block ---- */

typedef struct SlurmBlock {
    StrList sbatch;            /* its options' words */
    char *time;                /* NULL: not given */
    int throttle, max_array_size; /* 0: not given */
} SlurmBlock;

/* Reads one key of the entry into b; errors to d. */
static void block_key(SlurmBlock *b, const YPair *p, Diag *d) {
    const char *k = p->key->str;
    const YNode *v = p->value;
    static const char *const keys[] = {"sbatch", "time", "throttle", "max_array_size"};
    char why[256];
    if (strcmp(k, "sbatch") == 0) {
        int n = v->kind == YNODE_SEQ ? v->nitems : 1;
        for (int i = 0; i < n; i++) {
            const YNode *item = v->kind == YNODE_SEQ ? v->items[i] : v;
            StrList w = {0};
            if (item->kind != YNODE_SCALAR)
                diag_emit(d, DIAG_ERROR, NULL, item->line, item->col, "sweep.slurm.sbatch: "
                          "expected sbatch options (\"--partition=gpu --account=X\") or a list");
            else if (!sbatch_split(item->str, &w, why, sizeof why) || !sbatch_words_ok(&w, why, sizeof why))
                diag_emit(d, DIAG_ERROR, NULL, item->line, item->col, "sweep.slurm.sbatch: %s", why);
            for (int j = 0; j < w.n; j++) sweep_strlist_push(&b->sbatch, w.v[j]);
            free(w.v);
        }
    } else if (strcmp(k, "time") == 0) {
        if (v->kind != YNODE_SCALAR || sweep_slurm_minutes(v->str) < 0)
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "sweep.slurm.time: expected a Slurm "
                      "time limit (MINUTES, \"H:MM:SS\", \"D-HH:MM\" or UNLIMITED)");
        else b->time = xstrdup(v->str);
    } else if (strcmp(k, "throttle") == 0 || strcmp(k, "max_array_size") == 0) {
        int *dst = k[0] == 't' ? &b->throttle : &b->max_array_size;
        int hi = k[0] == 't' ? SWEEP_MAX_POINTS : SWEEP_MAX_ARRAY_SIZE;
        if (v->kind != YNODE_SCALAR || !ae_parse_int(v->str, 1, hi, dst))
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "sweep.slurm.%s: expected an integer "
                      "1..%d", k, hi);
    } else {
        const char *near = diag_nearest(k, keys, 4);
        diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col, "sweep.slurm: unknown key '%s'"
                  "%s%s%s (expected sbatch, time, throttle or max_array_size)", k,
                  near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
}

/* Reads the sweep block's `slurm:` entry of s's file into b. Returns 0, or 2 after errors. */
static int block_read(const Sweep *s, SlurmBlock *b) {
    if (!s->text) return 0;
    Diag quiet, d;
    diag_init(&quiet, NULL, s->file);
    diag_init(&d, stderr, s->file);
    YDoc *doc = ydoc_parse(s->text, s->len, NULL, &quiet);
    const YNode *e = doc && doc->root ? ynode_get(ynode_get(doc->root, "sweep"), "slurm") : NULL;
    if (e && !ynode_is_null(e) && e->kind != YNODE_MAP)
        diag_emit(&d, DIAG_ERROR, NULL, e->line, e->col, "sweep.slurm: expected a mapping (sbatch:, "
                  "time:, throttle:, max_array_size:)");
    for (int i = 0; e && e->kind == YNODE_MAP && i < e->npairs; i++)
        if (!e->pairs[i].dup) block_key(b, &e->pairs[i], &d);
    diag_flush(&d);
    int rc = d.nerrors ? 2 : 0;
    diag_free(&d);
    diag_free(&quiet);
    ydoc_free(doc);
    return rc;
}

/* ---- the cluster ---- */

/* MaxArraySize from `scontrol show config` (bounded by `timeout`), or 0 when it does not
 * answer. */
static int cluster_max_array_size(void) {
    FILE *p = popen("timeout 10 scontrol show config 2>/dev/null", "r");
    if (!p) return 0;
    char line[512];
    int m = 0;
    while (fgets(line, sizeof line, p)) {
        int v;
        if (sscanf(line, "MaxArraySize = %d", &v) == 1 && v >= 1) m = v;
    }
    pclose(p);
    return m <= SWEEP_MAX_ARRAY_SIZE ? m : SWEEP_MAX_ARRAY_SIZE;
}

/* The directory of the sbatch on PATH into buf, or "" when there is none. */
static void sbatch_dir(char *buf, size_t n) {
    buf[0] = '\0';
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char cand[SWEEP_PATH_MAX];
        snprintf(cand, sizeof cand, "%.*s/sbatch", (int)len, path);
        if (len && cand[0] == '/' && access(cand, X_OK) == 0) {
            snprintf(buf, n, "%.*s", (int)len, path);
            return;
        }
        path += len + (path[len] == ':');
    }
}

/* ---- what the points need ---- */

typedef struct Need {
    const bool *todo;
    uint64_t step, data;       /* of the point that needs the most */
    int threads;               /* the largest `threads` of the points' configs */
} Need;

/* The bytes of the data set as floats: features x (training + test examples) x 4, after the
 * config's subsets; a CSV set: twice its files' size. */
static uint64_t data_bytes(const Config *cfg, const SweepDataShape *d) {
    if (d->csv_bytes) return 2 * d->csv_bytes;
    const StageCfg *ld = NULL;
    for (int i = 0; i < cfg->nstages && !ld; i++)
        if (cfg->stages[i].kind == STAGE_LOAD_DATASET) ld = &cfg->stages[i];
    uint64_t n = (uint64_t)d->dims[2], nt = (uint64_t)d->ntest;
    if (ld && ld->data.subset > 0 && (uint64_t)ld->data.subset < n) n = (uint64_t)ld->data.subset;
    if (ld && ld->data.test_subset > 0 && (uint64_t)ld->data.test_subset < nt)
        nt = (uint64_t)ld->data.test_subset;
    return 4 * (uint64_t)d->dims[0] * (n + nt);
}

static void point_need(const Config *cfg, const SweepDataShape *d, int k, void *ctx) {
    Need *need = ctx;
    if (!need->todo[k]) return;
    uint64_t step = plan_peak_bytes(cfg, d->dims), data = data_bytes(cfg, d);
    if (step + data > need->step + need->data) {
        need->step = step;
        need->data = data;
    }
    if (cfg->threads > need->threads) need->threads = cfg->threads;
}

/* ---- the script ---- */

/* Everything the two scripts are written from. */
typedef struct SlurmPlan {
    const Sweep *s;
    const SweepOptions *opt;
    char cwd[SWEEP_PATH_MAX];
    char root[2 * SWEEP_PATH_MAX + 2];  /* ROOT, absolute */
    char logs[2 * SWEEP_PATH_MAX + 32]; /* ROOT/sweep, absolute, as the two scripts' paths */
    char script[2 * SWEEP_PATH_MAX + 32], collect_script[2 * SWEEP_PATH_MAX + 32];
    char sbatch_dir[SWEEP_PATH_MAX];
    const bool *todo;
    int ntodo;
    int threads, mem_mib;
    Need need;
    const char *time;          /* NULL: none */
    int throttle, max_array;
    const char *max_array_from;
    StrList words;             /* the sbatch options: the block's, then the command line's */
    bool user_mem, user_cpus, user_time;
} SlurmPlan;

/* The array list of chunk c (points [c*max, (c+1)*max) to run, minus c*max), with the throttle,
 * into b; false when the chunk has no point to run. */
static bool chunk_spec(const SlurmPlan *p, int c, StrBuf *b) {
    int from = c * p->max_array, to = from + p->max_array;
    if (to > p->s->npoints) to = p->s->npoints;
    if (sweep_array_list(p->todo, from, to, from, b) == 0) return false;
    if (p->throttle > 0) strbuf_printf(b, "%%%d", p->throttle);
    return true;
}

static int nchunks(const SlurmPlan *p) {
    return (p->s->npoints + p->max_array - 1) / p->max_array;
}

/* The first chunk with a point to run. */
static int first_chunk(const SlurmPlan *p) {
    int c = 0;
    while (c < nchunks(p) - 1) {
        StrBuf b = {0};
        bool any = chunk_spec(p, c, &b);
        strbuf_free(&b);
        if (any) break;
        c++;
    }
    return c;
}

/* The comment lines at the top of sweep.sbatch. */
static void script_header(const SlurmPlan *p, StrBuf *b) {
    const Sweep *s = p->s;
    char exe[SWEEP_PATH_MAX];
    sweep_exe_path(p->opt, exe, sizeof exe);
    strbuf_printf(b, "#!/bin/bash\n# sweep.sbatch — written by aelab %s: the sweep of %s as a Slurm "
                  "job array, %d point%s to run of %d.\n# Submit with:  sbatch %s\n", AE_VERSION,
                  s->file, p->ntodo, p->ntodo == 1 ? "" : "s", s->npoints, p->script);
    strbuf_printf(b, "# Array task K runs point K (`aelab run ... --point K`; a complete point is "
                  "skipped).\n");
    if (nchunks(p) > 1)
        strbuf_printf(b, "# The sweep is split into arrays of at most %d tasks (MaxArraySize %d, "
                      "%s): the first task\n# of the first submits the others, task K of the one "
                      "submitted with the argument OFFSET running\n# point OFFSET+K (a throttle "
                      "applies to each array).\n", p->max_array, p->max_array, p->max_array_from);
    strbuf_printf(b, "# The first task submits the collecting job, %s, which waits for the whole "
                  "sweep\n# (afterany) and writes %s/sweep.csv.\n", p->collect_script, p->root);
    strbuf_printf(b, "# Resources of each task: ");
    if (p->user_cpus) strbuf_printf(b, "your CPUs option");
    else strbuf_printf(b, "--cpus-per-task=%d (the threads of a point)", p->threads);
    if (p->user_mem) strbuf_printf(b, ", your memory option");
    else strbuf_printf(b, ", --mem=%dM (the largest point: a\n# training step of %.1f MiB + its "
                       "data set, %.1f MiB, times %.1f, + %d MiB for the program)", p->mem_mib,
                       (double)p->need.step / MIB, (double)p->need.data / MIB, MEM_MARGIN_FACTOR,
                       MEM_MARGIN_MIB);
    if (p->user_time) strbuf_printf(b, ", your time option");
    else if (p->time) strbuf_printf(b, ", --time=%s", p->time);
    else strbuf_printf(b, ", no --time (the partition's default; --time T sets one)");
    strbuf_printf(b, ".\n# Assumes a shared filesystem: %s, %s, the aelab binary (%s)\n# and the "
                  "data at the same paths on every node. Logs: %s/slurm-JOB_TASK.out.\n# After "
                  "failures: `aelab run ... --collect` names the points that did not complete, "
                  "`... --emit slurm\n# --missing` writes this script again for them alone.\n",
                  p->cwd, p->root, exe, p->logs);
}

/* Appends `export NAME='value'` when the variable is set here. */
static void export_env(StrBuf *b, const char *name) {
    const char *v = getenv(name);
    if (!v || !v[0]) return;
    strbuf_printf(b, "export %s=", name);
    sweep_shell_word(b, v);
    strbuf_printf(b, "\n");
}

/* set, cd and the environment, shared by both scripts. */
static void script_env(const SlurmPlan *p, StrBuf *b) {
    strbuf_printf(b, "set -uo pipefail\ncd ");
    sweep_shell_word(b, p->cwd);
    strbuf_printf(b, " || exit 1\n");
    export_env(b, "AELAB_DATA");
    export_env(b, "AELAB_CACHE");
    export_env(b, "SLURM_CONF");
    export_env(b, "OPENBLAS_CORETYPE"); /* the BLAS kernels, which the numbers depend on */
    strbuf_printf(b, "export PATH=\"${PATH:-/usr/local/bin:/usr/bin:/bin}");
    if (p->sbatch_dir[0]) {
        strbuf_printf(b, ":");
        sweep_shell_word(b, p->sbatch_dir);
    }
    strbuf_printf(b, "\"\n");
}

/* The #SBATCH lines of sweep.sbatch. */
static void script_directives(const SlurmPlan *p, StrBuf *b) {
    int c0 = first_chunk(p);
    StrBuf spec = {0};
    chunk_spec(p, c0, &spec);
    strbuf_printf(b, "#SBATCH --job-name=aelab-%s\n#SBATCH --array=%s\n", p->s->name, spec.s);
    strbuf_free(&spec);
    if (!p->user_cpus) strbuf_printf(b, "#SBATCH --cpus-per-task=%d\n", p->threads);
    if (!p->user_mem) strbuf_printf(b, "#SBATCH --mem=%dM\n", p->mem_mib);
    if (p->time && !p->user_time) strbuf_printf(b, "#SBATCH --time=%s\n", p->time);
    sbatch_lines(b, &p->words, NULL);
    StrBuf log = {0};
    strbuf_printf(&log, "--output=%s/slurm-%%A_%%a", p->logs);
    if (c0 > 0) strbuf_printf(&log, "+%d", c0 * p->max_array);
    strbuf_printf(&log, ".out");
    strbuf_printf(b, "#SBATCH ");
    sweep_shell_word(b, log.s);
    strbuf_printf(b, "\n");
    strbuf_free(&log);
}

/* Appends `NAME=WORD` (a shell assignment) and a newline. */
static void assign(StrBuf *b, const char *name, const char *value) {
    strbuf_printf(b, "%s=", name);
    sweep_shell_word(b, value);
    strbuf_printf(b, "\n");
}

/* What the first task submits: the other chunks, then the collecting job. The shell variables
 * again, script, collect and logs are set before. */
static void script_lead(const SlurmPlan *p, StrBuf *b) {
    int c0 = first_chunk(p), lead = 0;
    while (!p->todo[lead]) lead++;
    strbuf_printf(b, "offset=${1:-%d}\npoint=$((offset + SLURM_ARRAY_TASK_ID))\n"
                  "# The first task submits the rest of the sweep, then the collecting job; a "
                  "submission that\n# fails is reported here and this task's point runs all the "
                  "same.\nif [[ $# -eq 0 && $SLURM_ARRAY_TASK_ID -eq %d && "
                  "${SLURM_RESTART_COUNT:-0} -eq 0 ]]; then\n    after=$SLURM_ARRAY_JOB_ID\n",
                  c0 * p->max_array, lead - c0 * p->max_array);
    StrBuf chunks = {0}; /* OFFSET:ARRAY of every other chunk */
    for (int c = c0 + 1; c < nchunks(p); c++) {
        StrBuf spec = {0};
        if (chunk_spec(p, c, &spec)) strbuf_printf(&chunks, " %d:%s", c * p->max_array, spec.s);
        strbuf_free(&spec);
    }
    if (chunks.s)
        strbuf_printf(b, "    for chunk in%s; do\n"
                  "        off=${chunk%%%%:*}\n"
                  "        if id=$(sbatch --parsable --array=\"${chunk#*:}\" "
                  "--output=\"$logs/slurm-%%A_%%a+$off.out\" \"$script\" \"$off\"); then\n"
                  "            after+=\":${id%%%%;*}\"\n        else\n"
                  "            echo \"aelab: error: points $off+(${chunk#*:}) could not be "
                  "submitted (sbatch said why, above); when the rest has ended, submit what is "
                  "missing: $again\" >&2\n        fi\n    done\n", chunks.s);
    strbuf_free(&chunks);
    strbuf_printf(b, "    if id=$(sbatch --parsable --dependency=\"afterany:$after\" \"$collect\"); then\n"
                  "        echo \"aelab: submitted the collecting job ${id%%%%;*} (after $after)\"\n"
                  "    else\n        echo \"aelab: error: the collecting job could not be "
                  "submitted (sbatch said why, above); when the sweep has ended: sbatch $collect\" >&2\n"
                  "    fi\nfi\n");
}

/* The command that writes this script again for the points not complete: this one's options,
 * plus --missing. */
static void again_command(const SlurmPlan *p, StrBuf *b) {
    const SweepOptions *opt = p->opt;
    sweep_emit_prefix(p->s, opt, b, true);
    strbuf_printf(b, " --emit slurm --missing");
    if (opt->threads > 0) strbuf_printf(b, " --threads %d", opt->threads);
    if (opt->jobs > 0) strbuf_printf(b, " -j %d", opt->jobs);
    if (opt->emit.time) {
        strbuf_printf(b, " --time ");
        sweep_shell_word(b, opt->emit.time);
    }
    for (int i = 0; i < opt->emit.nsbatch; i++) {
        strbuf_printf(b, " --sbatch ");
        sweep_shell_word(b, opt->emit.sbatch[i]);
    }
    if (opt->emit.max_array_size) strbuf_printf(b, " --max-array-size %d", opt->emit.max_array_size);
    if (opt->force) strbuf_printf(b, " --force");
    if (opt->metric) {
        strbuf_printf(b, " --metric ");
        sweep_shell_word(b, opt->metric);
    }
    sweep_emit_child_args(opt, b);
}

/* The text of sweep.sbatch. */
static void slurm_script(const SlurmPlan *p, StrBuf *b) {
    const Sweep *s = p->s;
    StrBuf run = {0}, again = {0};
    sweep_emit_prefix(s, p->opt, &run, false);
    again_command(p, &again);
    script_header(p, b);
    script_directives(p, b);
    script_env(p, b);
    strbuf_printf(b, "if [[ -z ${SLURM_ARRAY_TASK_ID:-} ]]; then\n    echo \"aelab: error: submit "
                  "this script with sbatch (array task K runs point K)\" >&2\n    exit 2\nfi\n");
    assign(b, "again", again.s); /* the command for the points not complete, for messages */
    assign(b, "script", p->script);
    assign(b, "collect", p->collect_script);
    assign(b, "logs", p->logs);
    script_lead(p, b);
    strbuf_printf(b, "echo \"aelab: array job ${SLURM_ARRAY_JOB_ID} task ${SLURM_ARRAY_TASK_ID}: "
                  "point $point on $(hostname)\"\n");
    strbuf_printf(b, "exec %s --point \"$point\" --threads \"${SLURM_CPUS_PER_TASK:-%d}\"", run.s,
                  p->threads);
    if (p->opt->force) strbuf_printf(b, " --force");
    sweep_emit_child_args(p->opt, b);
    strbuf_printf(b, "\n");
    strbuf_free(&run);
    strbuf_free(&again);
}

/* The text of sweep_collect.sbatch: the user's options but its own small resources. */
static void collect_script(const SlurmPlan *p, StrBuf *b) {
    const Sweep *s = p->s;
    StrBuf collect = {0};
    sweep_emit_prefix(s, p->opt, &collect, false);
    strbuf_printf(&collect, " --collect");
    if (p->opt->metric) {
        strbuf_printf(&collect, " --metric ");
        sweep_shell_word(&collect, p->opt->metric);
    }
    sweep_emit_child_args(p->opt, &collect);
    int minutes = COLLECT_MINUTES, m = p->time ? sweep_slurm_minutes(p->time) : -1;
    if (p->user_time) m = sweep_slurm_minutes(words_value(&p->words, TIME_OPTS));
    if (m > 0 && m < minutes) minutes = m;
    strbuf_printf(b, "#!/bin/bash\n# sweep_collect.sbatch — written by aelab %s: writes %s/sweep.csv "
                  "from the points of the sweep\n# of %s once its arrays have ended; the first "
                  "task of %s submits it\n# (sbatch --dependency=afterany:JOBS %s).\n",
                  AE_VERSION, p->root, s->file, p->script, p->collect_script);
    strbuf_printf(b, "#SBATCH --job-name=aelab-%s-collect\n", s->name);
    static const char *const *const own[] = {MEM_OPTS, CPU_OPTS, TIME_OPTS, NULL};
    sbatch_lines(b, &p->words, own);
    StrBuf log = {0};
    strbuf_printf(&log, "--output=%s/slurm-collect-%%j.out", p->logs);
    strbuf_printf(b, "#SBATCH --cpus-per-task=1\n#SBATCH --mem=%s\n#SBATCH --time=%d\n#SBATCH ",
                  COLLECT_MEM, minutes);
    sweep_shell_word(b, log.s);
    strbuf_printf(b, "\n");
    strbuf_free(&log);
    script_env(p, b);
    strbuf_printf(b, "exec %s\n", collect.s);
    strbuf_free(&collect);
}

/* ---- emitting ---- */

/* Fills what p is written from, but the points' needs (p->need). */
static void plan_fill(SlurmPlan *p, SlurmBlock *blk) {
    const SweepEmitOptions *eo = &p->opt->emit;
    if (!getcwd(p->cwd, sizeof p->cwd)) snprintf(p->cwd, sizeof p->cwd, ".");
    /* absolute: Slurm opens the logs before the script's cd */
    if (p->s->root[0] == '/') snprintf(p->root, sizeof p->root, "%s", p->s->root);
    else snprintf(p->root, sizeof p->root, "%s/%s", p->cwd, p->s->root);
    snprintf(p->logs, sizeof p->logs, "%s/sweep", p->root);
    snprintf(p->script, sizeof p->script, "%s/sweep.sbatch", p->root);
    snprintf(p->collect_script, sizeof p->collect_script, "%s/sweep_collect.sbatch", p->root);
    sbatch_dir(p->sbatch_dir, sizeof p->sbatch_dir);
    p->words = blk->sbatch;
    blk->sbatch = (StrList){0};
    for (int i = 0; i < eo->nsbatch; i++) {
        char why[256];
        sbatch_split(eo->sbatch[i], &p->words, why, sizeof why); /* checked when parsed */
    }
    p->user_mem = words_have(&p->words, MEM_OPTS);
    p->user_cpus = words_have(&p->words, CPU_OPTS);
    p->user_time = words_have(&p->words, TIME_OPTS);
    p->time = eo->time ? eo->time : blk->time;
    p->throttle = p->opt->jobs > 0 ? p->opt->jobs : blk->throttle;
    int cluster = eo->max_array_size ? 0 : cluster_max_array_size();
    p->max_array = eo->max_array_size ? eo->max_array_size : cluster ? cluster
                   : blk->max_array_size ? blk->max_array_size : SLURM_DEFAULT_MAX_ARRAY;
    p->max_array_from = eo->max_array_size ? "from --max-array-size"
                        : cluster ? "from scontrol show config"
                        : blk->max_array_size ? "from sweep.slurm.max_array_size"
                                              : "Slurm's default";
}

/* Writes text to path (executable). False after printing the error. */
static bool write_script(const char *path, const StrBuf *text) {
    AeError err;
    bool ok = fs_write_atomic(path, text->s, text->n, &err);
    if (ok && chmod(path, 0755) != 0) ok = ae_fail(&err, "%s: error: chmod: %s", path, strerror(errno));
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    return ok;
}

int sweep_emit_slurm(const Sweep *s, const SweepOptions *opt, FILE *out) {
    SlurmBlock blk = {0};
    SlurmPlan *p = ae_xcalloc(1, sizeof *p);
    p->s = s;
    p->opt = opt;
    int rc = block_read(s, &blk);
    p->todo = sweep_emit_todo(s, opt->emit.missing, &p->ntodo);
    p->need.todo = p->todo;
    if (rc == 0 && sweep_emit_check_points(s, point_need, &p->need)) rc = 2;
    if (rc || p->ntodo == 0) goto out;
    plan_fill(p, &blk);
    p->threads = opt->threads > 0 ? opt->threads : p->need.threads > 0 ? p->need.threads : 1;
    double bytes = (double)(p->need.step + p->need.data) * MEM_MARGIN_FACTOR;
    p->mem_mib = (int)((bytes + MIB - 1) / MIB) + MEM_MARGIN_MIB;
    AeError err;
    StrBuf a = {0}, c = {0};
    slurm_script(p, &a);
    collect_script(p, &c);
    bool ok = fs_mkdir_p(p->logs, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    ok = ok && write_script(p->collect_script, &c) && write_script(p->script, &a);
    strbuf_free(&a);
    strbuf_free(&c);
    if (!ok) rc = 1;
    else fprintf(out, "%s/sweep.sbatch\n", s->root);
out:
    sweep_values_free(blk.sbatch.v, blk.sbatch.n);
    free(blk.time);
    sweep_values_free(p->words.v, p->words.n);
    free((bool *)p->todo);
    free(p);
    return rc;
}
