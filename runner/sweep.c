/* runner/sweep.c — parameter sweeps: expanding grids, zips, helpers and seeds into points,
 * running the points (in this process, or as child processes -j at a time), and collecting
 * their summaries into sweep.csv, sweep_by_params.csv and a gnuplot picture. See sweep.h for the
 * syntax, the files and the order of the points.
 *
 * Conventions: a point is "the config + the single-valued --set arguments + KEY=VALUE for each of
 * its parameters", so every point is an ordinary run that `aelab run FILE --set...` could do by
 * hand; the driver re-executes aelab with `--point K` rather than forking a copy of its own state
 * (a child starts clean: its own signal handlers, thread pool and backend). Values keep the text
 * they were given (sweep.csv shows "0.01", not "0.0100000002"). Strings in gnuplot scripts are
 * single-quoted (only '' is special there), as in runner/plots.c; shell words are single-quoted
 * ('\'' for a quote).
 */
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "csvout.h"
#include "diag.h"
#include "fsutil.h"
#include "strbuf.h"
#include "plots.h"
#include "stagekey.h"
#include "yamldoc.h"

#define SWEEP_PATH_MAX 4096
#define SWEEP_DIRNAME_MAX 120 /* the parameters' part of a point's directory name */
#define SWEEP_MAX_JOBS 1024
#define SWEEP_STATUS_FILE "point.status"
#define SWEEP_LOG_FILE "stderr.log"
#define SWEEP_LOG_TAIL 6 /* lines of a failed point's log shown by the driver */

/* growing strings: runner/strbuf.h */

static void str_putn(StrBuf *b, const char *s, size_t n) {
    if (n) strbuf_printf(b, "%.*s", (int)n, s);
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ae_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static char *xstrndup(const char *s, size_t n) {
    char *d = ae_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Appends s to a shell command line as one word: bare when it holds only safe characters,
 * else in single quotes. */
static void str_shell_word(StrBuf *b, const char *s) {
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

/* Appends s as a gnuplot single-quoted string (control characters become spaces). */
static void str_gp_quote(StrBuf *b, const char *s) {
    strbuf_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'') strbuf_printf(b, "''");
        else if ((unsigned char)*s < 0x20) strbuf_printf(b, " ");
        else strbuf_printf(b, "%c", *s);
    }
    strbuf_printf(b, "'");
}

/* ---- value lists ---- */

typedef struct StrList {
    char **v;
    int n, cap;
} StrList;

static void list_push(StrList *l, char *s) { /* takes s */
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        AE_ASSERT(l->v);
    }
    l->v[l->n++] = s;
}

void sweep_values_free(char **values, int n) {
    if (!values) return;
    for (int i = 0; i < n; i++) free(values[i]);
    free(values);
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

/* Parses s[0..n) (spaces around allowed) as a finite double; *is_int when it is an integer
 * written without '.', exponent or hex. */
static bool parse_num(const char *s, size_t n, double *out, bool *is_int) {
    trim(&s, &n);
    if (n == 0 || n > 63) return false;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return false;
    *out = v;
    *is_int = strspn(buf + (buf[0] == '-' || buf[0] == '+'), "0123456789") ==
                  strlen(buf + (buf[0] == '-' || buf[0] == '+')) &&
              fabs(v) < 9e15;
    return true;
}

int sweep_expand_helper(const char *text, char ***values, char *why, size_t whysize) {
    static const char *const names[] = {"range", "linspace", "logspace"};
    const char *s = text;
    size_t n = strlen(text);
    trim(&s, &n);
    int which = -1;
    size_t nl = 0;
    for (int i = 0; i < 3 && which < 0; i++) {
        nl = strlen(names[i]);
        if (n > nl && strncmp(s, names[i], nl) == 0) {
            const char *p = s + nl;
            while (*p == ' ') p++;
            if (*p == '(') which = i;
        }
    }
    if (which < 0 || s[n - 1] != ')') return 0;
    const char *open = strchr(s + nl, '(');
    const char *args = open + 1;
    size_t alen = (size_t)(s + n - 1 - args);
    double a[3];
    bool is_int[3];
    int na = 0;
    for (size_t i = 0, start = 0; i <= alen; i++) {
        if (i < alen && args[i] != ',') continue;
        if (na == 3 || !parse_num(args + start, i - start, &a[na], &is_int[na])) {
            snprintf(why, whysize, "%s(): expected %s, got '%.*s'", names[which],
                     which == 0 ? "range(a, b) or range(a, b, step) with numbers"
                                : which == 1 ? "linspace(a, b, n) with numbers and a count n >= 1"
                                             : "logspace(a, b, n) with numbers and a count n >= 1",
                     (int)n, s);
            return -1;
        }
        na++;
        start = i + 1;
    }
    long count = 0;
    StrList out = {0};
    char buf[64];
    if (which == 0) {
        if (na < 2) {
            snprintf(why, whysize, "range(): expected range(a, b) or range(a, b, step), got '%.*s'",
                     (int)n, s);
            return -1;
        }
        double step = na == 3 ? a[2] : 1.0;
        bool ints = is_int[0] && is_int[1] && (na < 3 || is_int[2]);
        if (step == 0) {
            snprintf(why, whysize, "range(): the step must not be 0 in '%.*s'", (int)n, s);
            return -1;
        }
        double span = (a[1] - a[0]) / step;
        count = span <= 0 ? 0 : (long)ceil(span - 1e-9);
        if (count < 1) {
            snprintf(why, whysize, "range(): '%.*s' is empty (it stops before b)", (int)n, s);
            return -1;
        }
        if (count > SWEEP_MAX_VALUES) goto too_many;
        for (long i = 0; i < count; i++) {
            if (ints) snprintf(buf, sizeof buf, "%lld", (long long)a[0] + (long long)i * (long long)step);
            else snprintf(buf, sizeof buf, "%.10g", a[0] + (double)i * step);
            list_push(&out, xstrdup(buf));
        }
    } else {
        if (na != 3 || !is_int[2] || a[2] < 1) {
            snprintf(why, whysize, "%s(): expected %s(a, b, n) with a count n >= 1, got '%.*s'",
                     names[which], names[which], (int)n, s);
            return -1;
        }
        if (a[2] > SWEEP_MAX_VALUES) goto too_many;
        count = (long)a[2];
        for (long i = 0; i < count; i++) {
            double t = count == 1 ? a[0] : a[0] + (a[1] - a[0]) * (double)i / (double)(count - 1);
            if (count > 1 && i == count - 1) t = a[1]; /* exact end point */
            double v = which == 1 ? t : pow(10.0, t);
            snprintf(buf, sizeof buf, "%.10g", v);
            list_push(&out, xstrdup(buf));
        }
    }
    *values = out.v;
    return out.n;
too_many:
    snprintf(why, whysize, "%.*s gives more than %d values", (int)n, s, SWEEP_MAX_VALUES);
    return -1;
}

int sweep_split_values(const char *text, char ***values, char *why, size_t whysize) {
    StrList parts = {0};
    int depth = 0;
    char quote = 0, prev = ','; /* prev: the last character outside quotes that is not a space */
    size_t start = 0, len = strlen(text);
    for (size_t i = 0; i <= len; i++) {
        char c = text[i];
        if (i < len) {
            if (quote) {
                if (c == '\\' && quote == '"' && i + 1 < len) i++;
                else if (c == quote) quote = 0;
                if (!quote) prev = c;
                continue;
            }
            if (c == ' ' || c == '\t') continue;
            /* as in YAML, a quote opens a quoted scalar only where a scalar starts */
            if ((c == '"' || c == '\'') && strchr(",[{(:", prev)) quote = c;
            else if (c == '[' || c == '{' || c == '(') depth++;
            else if ((c == ']' || c == '}' || c == ')') && --depth < 0) break;
            prev = c;
            if (c != ',' || depth > 0) continue;
        }
        if (quote || depth) break;
        list_push(&parts, xstrndup(text + start, i - start));
        start = i + 1;
    }
    if (quote || depth) { /* not balanced: one value, which the config loader will report */
        sweep_values_free(parts.v, parts.n);
        parts = (StrList){0};
        list_push(&parts, xstrdup(text));
    }
    StrList out = {0};
    for (int i = 0; i < parts.n; i++) {
        const char *s = parts.v[i];
        size_t n = strlen(s);
        trim(&s, &n);
        if (n == 0 && parts.n > 1) {
            snprintf(why, whysize, "empty value (item %d of %d) in the list '%s'", i + 1, parts.n,
                     text);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
        char *one = xstrndup(s, n);
        char **hv = NULL;
        int nh = sweep_expand_helper(one, &hv, why, whysize);
        if (nh < 0) {
            free(one);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
        if (nh == 0) {
            list_push(&out, one);
        } else {
            free(one);
            for (int j = 0; j < nh; j++) list_push(&out, hv[j]);
            free(hv);
        }
        if (out.n > SWEEP_MAX_VALUES) {
            snprintf(why, whysize, "more than %d values in '%s'", SWEEP_MAX_VALUES, text);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
    }
    sweep_values_free(parts.v, parts.n);
    *values = out.v;
    return out.n;
fail:
    sweep_values_free(parts.v, parts.n);
    return -1;
}

void sweep_sanitise(const char *text, char *buf, size_t size) {
    size_t k = 0;
    AE_ASSERT(size > 0);
    for (const char *p = text; *p && k + 1 < size; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("._+=-", c))
            buf[k++] = c;
        else if (c == ',' || c == ':' || c == '/')
            buf[k++] = '-';
    }
    buf[k] = '\0';
}

/* ---- a YAML node as one line of flow YAML (the text a --set value would be) ---- */

static bool plain_is_safe(const char *s) {
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ') return false;
    return strpbrk(s, ",[]{}:#'\"\n\t") == NULL;
}

static void flow_text(StrBuf *b, const YNode *n) {
    if (n->kind == YNODE_SCALAR) {
        if (n->plain && plain_is_safe(n->str)) {
            strbuf_printf(b, "%s", n->str);
            return;
        }
        strbuf_printf(b, "\"");
        for (const char *p = n->str; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') strbuf_printf(b, "\\%c", c);
            else if (c == '\n') strbuf_printf(b, "\\n");
            else if (c == '\t') strbuf_printf(b, "\\t");
            else if (c < 0x20) strbuf_printf(b, "\\x%02x", c);
            else strbuf_printf(b, "%c", c);
        }
        strbuf_printf(b, "\"");
    } else if (n->kind == YNODE_SEQ) {
        strbuf_printf(b, "[");
        for (int i = 0; i < n->nitems; i++) {
            if (i) strbuf_printf(b, ", ");
            flow_text(b, n->items[i]);
        }
        strbuf_printf(b, "]");
    } else {
        strbuf_printf(b, "{");
        for (int i = 0, k = 0; i < n->npairs; i++) {
            if (n->pairs[i].dup) continue;
            if (k++) strbuf_printf(b, ", ");
            flow_text(b, n->pairs[i].key);
            strbuf_printf(b, ": ");
            flow_text(b, n->pairs[i].value);
        }
        strbuf_printf(b, "}");
    }
}

/* ---- the sweep ---- */

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
    SweepDim *dims;
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

static void dim_free(SweepDim *d) {
    sweep_values_free(d->keys, d->nkeys);
    sweep_values_free(d->values, d->nkeys * d->nvalues);
}

void sweep_free(Sweep *s) {
    if (!s) return;
    for (int i = 0; i < s->ndims; i++) dim_free(&s->dims[i]);
    free(s->dims);
    free(s->param_dim);
    free(s->param_j);
    sweep_values_free(s->base, s->nbase);
    free(s->text);
    free(s);
}

int sweep_npoints(const Sweep *s) { return s->npoints; }
int sweep_nparams(const Sweep *s) { return s->nparams; }
const char *sweep_root(const Sweep *s) { return s->root; }

const char *sweep_param_key(const Sweep *s, int i) {
    AE_ASSERT(i >= 0 && i < s->nparams);
    return s->dims[s->param_dim[i]].keys[s->param_j[i]];
}

/* The index of point k along dimension d (the last dimension varies fastest). */
static int point_digit(const Sweep *s, int k, int d) {
    for (int e = s->ndims - 1; e > d; e--) k /= s->dims[e].nvalues;
    return k % s->dims[d].nvalues;
}

const char *sweep_point_value(const Sweep *s, int k, int i) {
    AE_ASSERT(k >= 0 && k < s->npoints && i >= 0 && i < s->nparams);
    const SweepDim *d = &s->dims[s->param_dim[i]];
    return d->values[point_digit(s, k, s->param_dim[i]) * d->nkeys + s->param_j[i]];
}

static bool is_seed_param(const Sweep *s, int i) { return s->param_dim[i] == s->seed_dim; }

void sweep_point_dir(const Sweep *s, int k, char *buf, size_t size) {
    char part[SWEEP_DIRNAME_MAX + 1] = "", kv[512], clean[512];
    size_t used = 0;
    for (int i = 0; i < s->nparams; i++) {
        snprintf(kv, sizeof kv, "%s=%s", sweep_param_key(s, i), sweep_point_value(s, k, i));
        sweep_sanitise(kv, clean, sizeof clean);
        int w = snprintf(part + used, sizeof part - used, "_%s", clean);
        if (w < 0 || (size_t)w >= sizeof part - used) break; /* the index keeps names unique */
        used += (size_t)w;
    }
    snprintf(buf, size, "%s/sweep/%0*d%s", s->root, s->width, k, part);
}

/* The --set arguments of point k: the single-valued ones, then KEY=VALUE per parameter. The
 * array and its strings are new (sweep_values_free with *n). */
static char **point_sets(const Sweep *s, int k, int *n) {
    char **v = ae_xmalloc((size_t)(s->nbase + s->nparams + 1) * sizeof *v);
    int m = 0;
    for (int i = 0; i < s->nbase; i++) v[m++] = xstrdup(s->base[i]);
    for (int i = 0; i < s->nparams; i++) {
        StrBuf b = {0};
        strbuf_printf(&b, "%s=%s", sweep_param_key(s, i), sweep_point_value(s, k, i));
        v[m++] = b.s;
    }
    *n = m;
    return v;
}

/* "k1=v1 k2=v2": point k's parameters, for messages. */
static void point_params(const Sweep *s, int k, StrBuf *b) {
    for (int i = 0; i < s->nparams; i++)
        strbuf_printf(b, "%s%s=%s", i ? " " : "", sweep_param_key(s, i), sweep_point_value(s, k, i));
}

/* FNV-1a over everything that determines point k: aelab's version, the file, its --sets. */
static void point_fingerprint(const Sweep *s, int k, char hex[17]) {
    uint64_t h = 1469598103934665603ULL;
    int n;
    char **sets = point_sets(s, k, &n);
    const char *parts[3] = {AE_VERSION, s->text, NULL};
    for (int p = 0; p < 2 + n; p++) {
        const char *t = p < 2 ? parts[p] : sets[p - 2];
        size_t len = p == 1 ? s->len : strlen(t);
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
        h = (h ^ 0xffu) * 1099511628211ULL; /* separator */
    }
    sweep_values_free(sets, n);
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

/* Loads point k's config; diagnostics to diag_out (NULL: none). */
static Config *point_config(const Sweep *s, int k, FILE *diag_out, int *nerrors) {
    int n;
    char **sets = point_sets(s, k, &n);
    Config *c = config_load_string(s->file, s->text, (const char *const *)sets, n, diag_out, nerrors);
    sweep_values_free(sets, n);
    return c;
}

/* ---- reading the sweep: block, then --set ---- */

typedef struct DimList {
    SweepDim *v;
    int n, cap;
} DimList;

static SweepDim *dims_add(DimList *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        AE_ASSERT(l->v);
    }
    SweepDim *d = &l->v[l->n++];
    memset(d, 0, sizeof *d);
    return d;
}

static bool key_path_ok(const char *k) {
    return *k && !strpbrk(k, "= \t\n") && k[0] != '.' && k[strlen(k) - 1] != '.';
}

/* The values of one block entry: a sequence, a helper call or one scalar. */
static int node_values(const YNode *v, const char *path, Diag *d, char ***out) {
    StrList l = {0};
    if (v->kind == YNODE_SEQ) {
        if (v->nitems == 0) {
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: an empty list of values", path);
            return -1;
        }
        if (v->nitems > SWEEP_MAX_VALUES) {
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: more than %d values", path,
                      SWEEP_MAX_VALUES);
            return -1;
        }
        for (int i = 0; i < v->nitems; i++) {
            StrBuf b = {0};
            flow_text(&b, v->items[i]);
            list_push(&l, b.s);
        }
        *out = l.v;
        return l.n;
    }
    if (v->kind == YNODE_MAP || ynode_is_null(v)) {
        diag_emit(d, DIAG_ERROR, NULL, v->line, v->col,
                  "%s: expected a list of values, a helper (range, linspace, logspace) or one "
                  "value, got %s", path, v->kind == YNODE_MAP ? "a mapping" : "nothing");
        return -1;
    }
    char why[512];
    int n = v->plain ? sweep_expand_helper(v->str, out, why, sizeof why) : 0;
    if (n < 0) {
        diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: %s", path, why);
        return -1;
    }
    if (n > 0) return n;
    StrBuf b = {0};
    flow_text(&b, v);
    list_push(&l, b.s);
    *out = l.v;
    return 1;
}

/* One grid entry KEY: VALUES of the block (grid: or shorthand). */
static bool block_entry(DimList *dims, const YPair *p, const char *section, Diag *d) {
    const char *key = p->key->str;
    char path[600];
    snprintf(path, sizeof path, "sweep.%s%s%s", section, *section ? "." : "", key);
    if (!key_path_ok(key)) {
        diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                  "%s: '%s' is not a key path (like add_sparsity.weight or pipeline.2.epochs)",
                  path, key);
        return false;
    }
    char **vals;
    int n = node_values(p->value, path, d, &vals);
    if (n < 0) return false;
    SweepDim *dim = dims_add(dims);
    dim->keys = ae_xmalloc(sizeof *dim->keys);
    dim->keys[0] = xstrdup(key);
    dim->nkeys = 1;
    dim->values = vals;
    dim->nvalues = n;
    dim->seed = strcmp(key, "seed") == 0;
    dim->line = p->key->line;
    dim->col = p->key->col;
    return true;
}

static bool block_zip(DimList *dims, const YNode *zip, Diag *d) {
    if (zip->kind != YNODE_MAP) {
        diag_emit(d, DIAG_ERROR, NULL, zip->line, zip->col,
                  "sweep.zip: expected a mapping of KEY: [values] (lists of equal length)");
        return false;
    }
    DimList cols = {0}; /* one single-key dimension per entry, then merged */
    bool ok = true;
    for (int i = 0; i < zip->npairs && ok; i++) {
        const YPair *p = &zip->pairs[i];
        if (p->dup) continue;
        if (!block_entry(&cols, p, "zip", d)) {
            ok = false;
        } else if (strcmp(p->key->str, "seed") == 0) {
            diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                      "sweep.zip.seed: the seed cannot be zipped; use `seeds:` (every point runs "
                      "with each seed)");
            ok = false;
        } else if (cols.v[cols.n - 1].nvalues != cols.v[0].nvalues) {
            diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                      "sweep.zip.%s: %d value%s, but sweep.zip.%s has %d (zipped lists advance "
                      "together, so they must be of equal length)", p->key->str,
                      cols.v[cols.n - 1].nvalues, cols.v[cols.n - 1].nvalues == 1 ? "" : "s",
                      cols.v[0].keys[0], cols.v[0].nvalues);
            ok = false;
        }
    }
    if (ok && cols.n > 0) {
        SweepDim *dim = dims_add(dims);
        int nk = cols.n, nv = cols.v[0].nvalues;
        dim->nkeys = nk;
        dim->nvalues = nv;
        dim->keys = ae_xmalloc((size_t)nk * sizeof *dim->keys);
        dim->values = ae_xmalloc((size_t)nk * (size_t)nv * sizeof *dim->values);
        dim->line = cols.v[0].line;
        dim->col = cols.v[0].col;
        for (int j = 0; j < nk; j++) {
            dim->keys[j] = cols.v[j].keys[0];
            for (int r = 0; r < nv; r++) dim->values[r * nk + j] = cols.v[j].values[r];
            free(cols.v[j].keys);
            free(cols.v[j].values);
        }
    } else {
        for (int j = 0; j < cols.n; j++) dim_free(&cols.v[j]);
    }
    free(cols.v);
    return ok;
}

static bool block_seeds(DimList *dims, const YPair *p, Diag *d) {
    const YNode *v = p->value;
    StrList l = {0};
    char buf[32];
    if (v->kind == YNODE_SCALAR && v->plain) {
        char *end;
        errno = 0;
        long n = strtol(v->str, &end, 10);
        if (*end || end == v->str || errno || n < 1 || n > SWEEP_MAX_VALUES) goto bad;
        for (long i = 1; i <= n; i++) {
            snprintf(buf, sizeof buf, "%ld", i);
            list_push(&l, xstrdup(buf));
        }
    } else if (v->kind == YNODE_SEQ && v->nitems > 0 && v->nitems <= SWEEP_MAX_VALUES) {
        for (int i = 0; i < v->nitems; i++) {
            const YNode *it = v->items[i];
            if (it->kind != YNODE_SCALAR || !it->str[0] ||
                strspn(it->str, "0123456789") != strlen(it->str) || strlen(it->str) > 20) {
                diag_emit(d, DIAG_ERROR, NULL, it->line, it->col,
                          "sweep.seeds[%d]: expected a seed (an integer >= 0), got \"%s\"", i,
                          it->kind == YNODE_SCALAR ? it->str : "a collection");
                sweep_values_free(l.v, l.n);
                return false;
            }
            list_push(&l, xstrdup(it->str));
        }
    } else {
        goto bad;
    }
    SweepDim *dim = dims_add(dims);
    dim->keys = ae_xmalloc(sizeof *dim->keys);
    dim->keys[0] = xstrdup("seed");
    dim->nkeys = 1;
    dim->values = l.v;
    dim->nvalues = l.n;
    dim->seed = true;
    dim->line = p->key->line;
    dim->col = p->key->col;
    return true;
bad:
    sweep_values_free(l.v, l.n);
    diag_emit(d, DIAG_ERROR, NULL, v->line, v->col,
              "sweep.seeds: expected a count N >= 1 (seeds 1..N) or a list of seeds, got %s%s%s",
              v->kind == YNODE_SCALAR ? "\"" : "", v->kind == YNODE_SCALAR ? v->str : "a mapping",
              v->kind == YNODE_SCALAR ? "\"" : "");
    return false;
}

static bool read_block(DimList *grid, DimList *zip, DimList *seeds, const YNode *sw, Diag *d) {
    if (ynode_is_null(sw)) return true;
    if (sw->kind != YNODE_MAP) {
        diag_emit(d, DIAG_ERROR, NULL, sw->line, sw->col,
                  "sweep: expected a mapping (grid:, zip:, seeds: or KEY: [values])");
        return false;
    }
    bool ok = true;
    for (int i = 0; i < sw->npairs; i++) {
        const YPair *p = &sw->pairs[i];
        if (p->dup) continue;
        const char *k = p->key->str;
        if (strcmp(k, "grid") == 0) {
            if (ynode_is_null(p->value)) continue;
            if (p->value->kind != YNODE_MAP) {
                diag_emit(d, DIAG_ERROR, NULL, p->value->line, p->value->col,
                          "sweep.grid: expected a mapping of KEY: [values]");
                ok = false;
                continue;
            }
            for (int j = 0; j < p->value->npairs; j++)
                if (!p->value->pairs[j].dup) ok &= block_entry(grid, &p->value->pairs[j], "grid", d);
        } else if (strcmp(k, "zip") == 0) {
            if (!ynode_is_null(p->value)) ok &= block_zip(zip, p->value, d);
        } else if (strcmp(k, "seeds") == 0) {
            ok &= block_seeds(seeds, p, d);
        } else {
            ok &= block_entry(grid, p, "", d);
        }
    }
    return ok;
}

/* Whether key is set by any --set argument (single or multi-valued). */
static bool set_by_cli(const char *const *sets, int nsets, const char *key) {
    size_t n = strlen(key);
    for (int i = 0; i < nsets; i++)
        if (strncmp(sets[i], key, n) == 0 && sets[i][n] == '=') return true;
    return false;
}

/* Drops the keys the command line sets from a block dimension; false when none is left. */
static bool drop_cli_keys(SweepDim *d, const char *const *sets, int nsets) {
    int keep = 0;
    for (int j = 0; j < d->nkeys; j++) keep += !set_by_cli(sets, nsets, d->keys[j]);
    if (keep == d->nkeys) return true;
    if (keep == 0) {
        dim_free(d);
        return false;
    }
    char **nk = ae_xmalloc((size_t)keep * sizeof *nk);
    char **nv = ae_xmalloc((size_t)keep * (size_t)d->nvalues * sizeof *nv);
    for (int r = 0; r < d->nvalues; r++)
        for (int j = 0, c = 0; j < d->nkeys; j++) {
            char **cell = &d->values[r * d->nkeys + j];
            if (set_by_cli(sets, nsets, d->keys[j])) {
                free(*cell);
            } else {
                nv[r * keep + c++] = *cell;
            }
        }
    for (int j = 0, c = 0; j < d->nkeys; j++) {
        if (set_by_cli(sets, nsets, d->keys[j])) free(d->keys[j]);
        else nk[c++] = d->keys[j];
    }
    free(d->keys);
    free(d->values);
    d->keys = nk;
    d->values = nv;
    d->nkeys = keep;
    return true;
}

/* The number of cores this process may run on. */
static int sweep_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int sweep_open(const char *file, const char *const *sets, int nsets, const char *out_dir,
               Sweep **out) {
    *out = NULL;
    int rc = 0;
    Sweep *s = ae_xcalloc(1, sizeof *s);
    s->file = file;
    s->sets = sets;
    s->nsets = nsets;
    s->out_dir = out_dir;
    s->seed_dim = -1;
    DimList grid = {0}, zip = {0}, seeds = {0}, cli = {0};
    StrList base = {0};
    YDoc *doc = NULL;
    Diag d;
    diag_init(&d, stderr, file);

    /* the command line: which --set arguments hold several values */
    for (int i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        if (!eq || eq == sets[i]) {
            list_push(&base, xstrdup(sets[i]));
            continue;
        }
        char **vals, why[768];
        int n = sweep_split_values(eq + 1, &vals, why, sizeof why);
        if (n < 0) {
            fprintf(stderr, "--set %s: error: %s\n", sets[i], why);
            rc = 2;
            continue;
        }
        bool helper = n == 1 && strcmp(vals[0], eq + 1) != 0 && strpbrk(eq + 1, "(");
        if (n == 1 && !helper) {
            list_push(&base, xstrdup(sets[i]));
            sweep_values_free(vals, n);
            continue;
        }
        char *key = xstrndup(sets[i], (size_t)(eq - sets[i]));
        for (int j = 0; j < cli.n; j++)
            if (strcmp(cli.v[j].keys[0], key) == 0) {
                fprintf(stderr, "--set %s: error: '%s' is swept twice on the command line; give "
                        "all its values in one --set\n", sets[i], key);
                rc = 2;
            }
        SweepDim *dim = dims_add(&cli);
        dim->keys = ae_xmalloc(sizeof *dim->keys);
        dim->keys[0] = key;
        dim->nkeys = 1;
        dim->values = vals;
        dim->nvalues = n;
        dim->seed = strcmp(key, "seed") == 0;
    }

    /* the file: read and parse quietly; config_load reports a file it cannot use. A pipe is
     * left alone (reading it here would leave nothing for config_load): no sweep from a pipe. */
    AeError err;
    struct stat st;
    if (stat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (cli.n > 0 && rc == 0) {
            fprintf(stderr, "aelab: error: %s: a sweep (--set %s=%s,...) needs the config in a "
                    "regular file\n", file, cli.v[0].keys[0], cli.v[0].values[0]);
            rc = 2;
        }
        goto done;
    }
    s->text = fs_read_file(file, &s->len, &err);
    if (s->text) {
        Diag quiet;
        diag_init(&quiet, NULL, file);
        doc = ydoc_parse(s->text, s->len, NULL, &quiet);
        diag_free(&quiet);
    }
    if (!doc || doc->nerrors || !doc->root || doc->root->kind != YNODE_MAP) goto not_a_sweep;
    if (rc) goto done;
    const YNode *block = ynode_get(doc->root, "sweep");
    if (block && !read_block(&grid, &zip, &seeds, block, &d)) rc = 2;
    if (rc) goto done;

    /* a --set of a key replaces the block's entry for it */
    DimList all = {0};
    DimList *groups[3] = {&grid, &zip, &seeds};
    for (int g = 0; g < 3; g++) {
        int keep = 0;
        for (int i = 0; i < groups[g]->n; i++)
            if (drop_cli_keys(&groups[g]->v[i], sets, nsets)) groups[g]->v[keep++] = groups[g]->v[i];
        groups[g]->n = keep;
    }
    /* order: grid (file, then command line), zip, then the seeds; every dimension goes into
     * `all` exactly once (it owns them from here) */
    DimList *order[4] = {&grid, &cli, &zip, &seeds};
    const SweepDim *first_seed = NULL;
    for (int want_seed = 0; want_seed < 2; want_seed++)
        for (int g = 0; g < 4; g++)
            for (int i = 0; i < order[g]->n; i++) {
                SweepDim *dim = &order[g]->v[i];
                if (dim->seed != (bool)want_seed) continue;
                if (dim->seed && first_seed) {
                    const SweepDim *at = dim->line ? dim : first_seed;
                    diag_emit(&d, DIAG_ERROR, NULL, at->line, at->col,
                              "sweep: the seed is swept twice (a `seed` entry and `seeds:`)");
                    rc = 2;
                }
                if (dim->seed && !first_seed) first_seed = dim;
                *dims_add(&all) = *dim;
            }
    free(grid.v);
    free(cli.v);
    free(zip.v);
    free(seeds.v);
    grid = cli = zip = seeds = (DimList){0};
    s->dims = all.v;
    s->ndims = all.n;
    if (rc) goto done;
    if (s->ndims == 0) goto not_a_sweep;

    /* parameters; a key swept twice; the name */
    long np = 1;
    for (int i = 0; i < s->ndims; i++) {
        s->nparams += s->dims[i].nkeys;
        np *= s->dims[i].nvalues;
        if (np > SWEEP_MAX_POINTS) {
            fprintf(stderr, "%s: error: the sweep has more than %d points\n", file,
                    SWEEP_MAX_POINTS);
            rc = 2;
            goto done;
        }
        if (s->dims[i].seed) s->seed_dim = i;
    }
    s->npoints = (int)np;
    s->param_dim = ae_xmalloc((size_t)s->nparams * sizeof *s->param_dim);
    s->param_j = ae_xmalloc((size_t)s->nparams * sizeof *s->param_j);
    for (int i = 0, p = 0; i < s->ndims; i++)
        for (int j = 0; j < s->dims[i].nkeys; j++, p++) {
            s->param_dim[p] = i;
            s->param_j[p] = j;
        }
    for (int p = 0; p < s->nparams; p++) {
        const char *key = sweep_param_key(s, p);
        const SweepDim *dim = &s->dims[s->param_dim[p]];
        if (strcmp(key, "name") == 0 || strcmp(key, "sweep") == 0) {
            if (dim->line) diag_emit(&d, DIAG_ERROR, NULL, dim->line, dim->col,
                                     "sweep: '%s' cannot be swept%s", key,
                                     key[0] == 'n' ? " (the points are named by their parameters)" : "");
            else fprintf(stderr, "aelab: error: --set %s: '%s' cannot be swept\n", key, key);
            rc = 2;
        }
        for (int q = 0; q < p; q++)
            if (strcmp(key, sweep_param_key(s, q)) == 0) {
                if (dim->line) diag_emit(&d, DIAG_ERROR, NULL, dim->line, dim->col,
                                         "sweep: '%s' is swept twice", key);
                else fprintf(stderr, "aelab: error: '%s' is swept twice\n", key);
                rc = 2;
            }
    }
    if (rc) goto done;
    s->base = base.v;
    s->nbase = base.n;
    base = (StrList){0};
    s->width = 1;
    for (int v = s->npoints - 1; v >= 10; v /= 10) s->width++;

    /* the first point whose config is valid names the sweep */
    s->first_valid = -1;
    for (int k = 0; k < s->npoints && s->first_valid < 0; k++) {
        Config *c = point_config(s, k, NULL, NULL);
        if (c) {
            s->first_valid = k;
            snprintf(s->name, sizeof s->name, "%s", c->name);
        }
        config_free(c);
    }
    if (s->first_valid < 0) {
        int nerr = 0;
        diag_flush(&d);
        config_free(point_config(s, 0, stderr, &nerr));
        StrBuf pp = {0};
        point_params(s, 0, &pp);
        fprintf(stderr, "aelab: %d error%s in %s with %s (point 0; no point of the sweep has a "
                "valid config)\n", nerr, nerr == 1 ? "" : "s", file, pp.s ? pp.s : "");
        free(pp.s);
        rc = 2;
        goto done;
    }
    if (out_dir) snprintf(s->root, sizeof s->root, "%s", out_dir);
    else snprintf(s->root, sizeof s->root, "results/%s", s->name);
    diag_flush(&d);
    diag_free(&d);
    ydoc_free(doc);
    *out = s;
    return 0;

not_a_sweep:
done:
    diag_flush(&d);
    diag_free(&d);
    for (int i = 0; i < grid.n; i++) dim_free(&grid.v[i]);
    for (int i = 0; i < cli.n; i++) dim_free(&cli.v[i]);
    for (int i = 0; i < zip.n; i++) dim_free(&zip.v[i]);
    for (int i = 0; i < seeds.n; i++) dim_free(&seeds.v[i]);
    free(grid.v);
    free(cli.v);
    free(zip.v);
    free(seeds.v);
    sweep_values_free(base.v, base.n);
    ydoc_free(doc);
    sweep_free(s);
    return rc;
}

/* ---- a point's status file ---- */

typedef struct PointStatus {
    bool present;
    char fingerprint[17];
    int exit_code;
    double seconds;
    int trained, reused;
} PointStatus;

static void status_path(const Sweep *s, int k, char *buf, size_t n, const char *file) {
    char dir[SWEEP_PATH_MAX];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(buf, n, "%s/%s", dir, file);
}

static PointStatus status_read(const Sweep *s, int k) {
    PointStatus st = {.exit_code = -1, .trained = -1, .reused = -1, .seconds = NAN};
    char path[SWEEP_PATH_MAX + 32];
    status_path(s, k, path, sizeof path, SWEEP_STATUS_FILE);
    AeError err;
    char *text = fs_read_file(path, NULL, &err);
    if (!text) return st;
    st.present = true;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        const char *v = colon + 1 + (colon[1] == ' ');
        char *end;
        if (strcmp(line, "fingerprint") == 0) snprintf(st.fingerprint, sizeof st.fingerprint, "%s", v);
        else if (strcmp(line, "exit_code") == 0) st.exit_code = (int)strtol(v, &end, 10);
        else if (strcmp(line, "seconds") == 0) st.seconds = strtod(v, &end);
        else if (strcmp(line, "stages_trained") == 0) st.trained = (int)strtol(v, &end, 10);
        else if (strcmp(line, "stages_reused") == 0) st.reused = (int)strtol(v, &end, 10);
    }
    free(text);
    return st;
}

static bool status_write(const Sweep *s, int k, int exit_code, double seconds, int trained,
                         int reused, AeError *err) {
    char path[SWEEP_PATH_MAX + 32], fp[17];
    status_path(s, k, path, sizeof path, SWEEP_STATUS_FILE);
    point_fingerprint(s, k, fp);
    StrBuf b = {0};
    strbuf_printf(&b, "point: %d\nfingerprint: %s\nexit_code: %d\nseconds: %.3f\n", k, fp, exit_code,
               seconds);
    if (trained >= 0) strbuf_printf(&b, "stages_trained: %d\nstages_reused: %d\n", trained, reused);
    bool ok = fs_write_atomic(path, b.s, b.n, err);
    free(b.s);
    return ok;
}

/* "ok", "failed", "interrupted", "missing" or "stale" (see sweep.h). */
static const char *point_state(const Sweep *s, int k, const PointStatus *st) {
    if (!st->present) return "missing";
    char fp[17];
    point_fingerprint(s, k, fp);
    if (strcmp(fp, st->fingerprint) != 0) return "stale";
    if (st->exit_code == 130) return "interrupted";
    if (st->exit_code != 0) return "failed";
    char path[SWEEP_PATH_MAX + 32];
    status_path(s, k, path, sizeof path, "summary.csv");
    return fs_exists(path) ? "ok" : "missing";
}

static bool point_complete(const Sweep *s, int k) {
    PointStatus st = status_read(s, k);
    return strcmp(point_state(s, k, &st), "ok") == 0;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- list, check, one point ---- */

static void print_shape(const Sweep *s, FILE *out) {
    fprintf(out, "sweep of %s: %d point%s =", s->name, s->npoints, s->npoints == 1 ? "" : "s");
    for (int i = 0; i < s->ndims; i++) {
        fprintf(out, "%s", i ? " x " : " ");
        for (int j = 0; j < s->dims[i].nkeys; j++)
            fprintf(out, "%s%s", j ? "+" : "", s->dims[i].keys[j]);
        fprintf(out, " (%d)", s->dims[i].nvalues);
    }
    fprintf(out, "; results in %s/\n", s->root);
}

int sweep_list(const Sweep *s, FILE *out) {
    print_shape(s, out);
    int ndone = 0;
    for (int k = 0; k < s->npoints; k++) {
        char dir[SWEEP_PATH_MAX];
        StrBuf pp = {0};
        point_params(s, k, &pp);
        sweep_point_dir(s, k, dir, sizeof dir);
        bool done = point_complete(s, k);
        ndone += done;
        fprintf(out, "%*d  %s  %s%s\n", s->width, k, pp.s ? pp.s : "", dir, done ? "  (complete)" : "");
        free(pp.s);
    }
    if (ndone) fprintf(out, "%d of %d points complete\n", ndone, s->npoints);
    return 0;
}

int sweep_check(const Sweep *s) {
    int nbad = 0;
    for (int k = 0; k < s->npoints; k++) {
        Config *c = point_config(s, k, NULL, NULL);
        if (!c) {
            StrBuf pp = {0};
            point_params(s, k, &pp);
            fprintf(stderr, "aelab check: point %d (%s):\n", k, pp.s ? pp.s : "");
            free(pp.s);
            c = point_config(s, k, stderr, NULL);
            nbad++;
        }
        config_free(c);
    }
    sweep_list(s, stdout);
    if (nbad)
        fprintf(stderr, "aelab check: %d of %d points have errors (above)\n", nbad, s->npoints);
    return nbad ? 2 : 0;
}

int sweep_first_valid(const Sweep *s) { return s->first_valid; }

Config *sweep_point_config(const Sweep *s, int k, FILE *diag_out, int *nerrors) {
    AE_ASSERT(k >= 0 && k < s->npoints);
    return point_config(s, k, diag_out, nerrors);
}

int sweep_run_point(const Sweep *s, int k, const RunOptions *base, bool force) {
    if (k < 0 || k >= s->npoints) {
        fprintf(stderr, "aelab run: error: --point %d: the sweep has %d point%s (0 to %d)\n", k,
                s->npoints, s->npoints == 1 ? "" : "s", s->npoints - 1);
        return 2;
    }
    char dir[SWEEP_PATH_MAX], path[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    if (!force && point_complete(s, k)) {
        if (!base->quiet)
            fprintf(stderr, "aelab: point %d already complete in %s/; skipped (--force runs it "
                    "again)\n", k, dir);
        return 0;
    }
    AeError err;
    if (!fs_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_STATUS_FILE);
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: error: cannot remove: %s\n", path, strerror(errno));
        return 1;
    }
    int nsets, nerr = 0, rc;
    char **sets = point_sets(s, k, &nsets);
    double t0 = now_seconds();
    RunStats stats = {-1, -1};
    Config *cfg = config_load_string(s->file, s->text, (const char *const *)sets, nsets, stderr, &nerr);
    if (!cfg) {
        fprintf(stderr, "aelab run: %d error%s in %s (point %d)\n", nerr, nerr == 1 ? "" : "s",
                s->file, k);
        rc = 2;
    } else {
        RunOptions o = *base;
        o.out_dir = dir;
        o.provenance_sets = (const char *const *)sets;
        o.nsets = nsets;
        o.stats = &stats;
        rc = pipeline_run(cfg, &o);
    }
    config_free(cfg);
    sweep_values_free(sets, nsets);
    if (!status_write(s, k, rc, now_seconds() - t0, stats.ntrained, stats.nreused, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        if (rc == 0) rc = 1;
    }
    return rc;
}

/* ---- the driver ---- */

static volatile pid_t sweep_pids[SWEEP_MAX_JOBS];
static volatile sig_atomic_t sweep_nsignals;

/* Passes the signal on to the running points (their own handlers stop them after the batch;
 * a second signal makes them exit at once). Async-signal-safe. */
static void sweep_on_signal(int sig) {
    sweep_nsignals++;
    for (int i = 0; i < SWEEP_MAX_JOBS; i++)
        if (sweep_pids[i] > 0) kill(sweep_pids[i], sig);
}

typedef struct Job {
    int point;
    double start;
} Job;

/* The absolute path of the aelab binary. */
static void exe_path(const SweepOptions *opt, char *buf, size_t n) {
    const char *e = opt->exe ? opt->exe : "/proc/self/exe";
    char tmp[PATH_MAX];
    if (realpath(e, tmp)) snprintf(buf, n, "%s", tmp);
    else snprintf(buf, n, "%s", e);
}

/* argv of point k's child (strings owned by *store). */
static char **child_argv(const Sweep *s, const SweepOptions *opt, const char *exe, int k,
                         int threads, StrList *store) {
    char buf[32];
    list_push(store, xstrdup(exe));
    list_push(store, xstrdup("run"));
    list_push(store, xstrdup(s->file));
    for (int i = 0; i < s->nsets; i++) {
        list_push(store, xstrdup("--set"));
        list_push(store, xstrdup(s->sets[i]));
    }
    list_push(store, xstrdup("--point"));
    snprintf(buf, sizeof buf, "%d", k);
    list_push(store, xstrdup(buf));
    list_push(store, xstrdup("--threads"));
    snprintf(buf, sizeof buf, "%d", threads);
    list_push(store, xstrdup(buf));
    if (s->out_dir) {
        list_push(store, xstrdup("--out"));
        list_push(store, xstrdup(s->out_dir));
    }
    if (opt->force) list_push(store, xstrdup("--force"));
    for (int i = 0; i < opt->nchild_args; i++) list_push(store, xstrdup(opt->child_args[i]));
    list_push(store, NULL);
    return store->v;
}

/* Starts point k; returns the child's pid or -1 (printed). */
static pid_t launch(const Sweep *s, const SweepOptions *opt, const char *exe, int k, int threads) {
    char dir[SWEEP_PATH_MAX], log[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(log, sizeof log, "%s/%s", dir, SWEEP_LOG_FILE);
    AeError err;
    if (!fs_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    StrList store = {0};
    char **argv = child_argv(s, opt, exe, k, threads, &store);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0); /* the terminal's Ctrl-C reaches the driver only, which passes it on once */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(130);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execv(exe, argv);
        static const char m[] = "aelab: error: cannot execute the aelab binary\n";
        (void)!write(2, m, sizeof m - 1);
        _exit(127);
    }
    int e = errno;
    sweep_values_free(store.v, store.n);
    if (pid < 0) fprintf(stderr, "aelab: error: fork: %s\n", strerror(e));
    return pid;
}

/* Prints the last lines of a failed point's log, indented. */
static void print_log_tail(const char *path) {
    AeError err;
    char *text = fs_read_file(path, NULL, &err);
    if (!text) return;
    int nl = 0;
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') text[--n] = '\0';
    size_t i = n;
    while (i > 0 && nl < SWEEP_LOG_TAIL) {
        i--;
        if (text[i] == '\n') nl++;
    }
    const char *p = text + i + (text[i] == '\n');
    for (char *line = strtok((char *)p, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(stderr, "      | %s\n", line);
    free(text);
}

/* The value of metric `name` in point k's summary.csv ("" when absent). */
static void summary_value(const Sweep *s, int k, const char *name, char *buf, size_t n) {
    char path[SWEEP_PATH_MAX + 32];
    status_path(s, k, path, sizeof path, "summary.csv");
    buf[0] = '\0';
    AeError err;
    CsvTable *t = csvtable_read(path, &err);
    if (!t) return;
    int cm = csvtable_col(t, "metric"), cv = csvtable_col(t, "value");
    for (int r = 0; cm >= 0 && cv >= 0 && r < csvtable_nrows(t); r++)
        if (strcmp(csvtable_get(t, r, cm), name) == 0) snprintf(buf, n, "%s", csvtable_get(t, r, cv));
    csvtable_free(t);
}

static void report_point(const Sweep *s, const SweepOptions *opt, int k, int status, double secs,
                         int ndone, int ntodo) {
    char dir[SWEEP_PATH_MAX], log[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(log, sizeof log, "%s/%s", dir, SWEEP_LOG_FILE);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    /* a point that died without saying how (a crash, a kill) gets its status from here */
    PointStatus st = status_read(s, k);
    char fp[17];
    point_fingerprint(s, k, fp);
    AeError err;
    if ((!st.present || strcmp(st.fingerprint, fp) != 0) &&
        !status_write(s, k, code, secs, -1, -1, &err))
        fprintf(stderr, "%s\n", err.msg);
    StrBuf pp = {0};
    point_params(s, k, &pp);
    if (code == 0) {
        if (!opt->quiet) {
            char v[64];
            summary_value(s, k, opt->metric ? opt->metric : "test_accuracy", v, sizeof v);
            st = status_read(s, k);
            printf("[%d/%d] point %d (%s): ok in %.1f s", ndone, ntodo, k, pp.s ? pp.s : "", secs);
            if (v[0]) printf(", %s %s", opt->metric ? opt->metric : "test_accuracy", v);
            if (st.trained >= 0) printf(", %d stage%s trained, %d reused", st.trained,
                                        st.trained == 1 ? "" : "s", st.reused);
            printf("\n");
            fflush(stdout);
        }
    } else if (code == 130 && sweep_nsignals) {
        fprintf(stderr, "[%d/%d] point %d (%s): interrupted; log in %s\n", ndone, ntodo, k,
                pp.s ? pp.s : "", log);
    } else {
        if (WIFSIGNALED(status))
            fprintf(stderr, "[%d/%d] point %d (%s): FAILED, killed by signal %d; log in %s:\n",
                    ndone, ntodo, k, pp.s ? pp.s : "", WTERMSIG(status), log);
        else
            fprintf(stderr, "[%d/%d] point %d (%s): FAILED with exit code %d; log in %s:\n", ndone,
                    ntodo, k, pp.s ? pp.s : "", code, log);
        print_log_tail(log);
    }
    free(pp.s);
}

/* The stage keys of point k's training stages (runner/stagekey.h), for scheduling: points that
 * share a key share that stage's result through the stage cache. A constant backend name is
 * enough, since only equality between points matters. *n = 0 when the config is invalid. */
static char (*point_keys(const Sweep *s, int k, int *n))[STAGE_KEY_HEX] {
    *n = 0;
    Config *c = point_config(s, k, NULL, NULL);
    if (!c) return NULL;
    char (*keys)[STAGE_KEY_HEX] = ae_xmalloc((size_t)(c->nstages + 1) * sizeof *keys);
    for (int i = 0; i < c->nstages; i++) {
        StageKind kind = c->stages[i].kind;
        AeError err;
        if ((kind == STAGE_PRETRAIN_LAYER || kind == STAGE_APPEND_LAYER ||
             kind == STAGE_ATTACH_CLASSIFIER) &&
            stage_key(c, i, "sweep", keys[*n], NULL, &err))
            (*n)++;
    }
    config_free(c);
    return keys;
}

/* Whether point a would reuse a stage that running point b is computing. */
static bool shares_stage(char (*ka)[STAGE_KEY_HEX], int na, char (*kb)[STAGE_KEY_HEX], int nb) {
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (strcmp(ka[i], kb[j]) == 0) return true;
    return false;
}

int sweep_run(const Sweep *s, const SweepOptions *opt) {
    int cores = sweep_cores();
    int budget = opt->threads > 0 ? opt->threads : cores;
    int jobs = opt->jobs > 0 ? opt->jobs : cores;
    if (jobs > SWEEP_MAX_JOBS) jobs = SWEEP_MAX_JOBS;
    if (jobs > budget) {
        if (!opt->quiet)
            fprintf(stderr, "aelab: note: -j %d is more than the %d thread%s to share; running %d "
                    "points at a time\n", jobs, budget, budget == 1 ? "" : "s", budget);
        jobs = budget;
    }
    int threads = budget / jobs > 1 ? budget / jobs : 1;
    char exe[SWEEP_PATH_MAX];
    exe_path(opt, exe, sizeof exe);

    /* which points need running */
    int *todo = ae_xmalloc((size_t)s->npoints * sizeof *todo);
    int ntodo = 0, nskipped = 0;
    for (int k = 0; k < s->npoints; k++) {
        if (!opt->force && point_complete(s, k)) nskipped++;
        else todo[ntodo++] = k;
    }
    if (!opt->quiet) {
        print_shape(s, stdout);
        if (nskipped)
            printf("%d of %d points already complete, skipped (--force runs them again)\n",
                   nskipped, s->npoints);
        if (ntodo)
            printf("running %d point%s, %d at a time, %d thread%s each; logs in "
                   "%s/sweep/*/%s\n", ntodo, ntodo == 1 ? "" : "s", jobs, threads,
                   threads == 1 ? "" : "s", s->root, SWEEP_LOG_FILE);
        fflush(stdout);
    }

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = sweep_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sweep_nsignals = 0;

    /* Points that share a stage with a running point wait for it, so that they reuse its
     * result from the stage cache instead of computing it at the same time. */
    bool share = opt->share_stages && jobs > 1 && ntodo > 1;
    char(**keys)[STAGE_KEY_HEX] = share ? ae_xcalloc((size_t)s->npoints, sizeof *keys) : NULL;
    int *nkeys = share ? ae_xcalloc((size_t)s->npoints, sizeof *nkeys) : NULL;
    for (int i = 0; share && i < ntodo; i++) keys[todo[i]] = point_keys(s, todo[i], &nkeys[todo[i]]);

    Job running[SWEEP_MAX_JOBS];
    for (int i = 0; i < SWEEP_MAX_JOBS; i++) sweep_pids[i] = 0;
    int next = 0, nrunning = 0, nfinished = 0, nfailed = 0;
    while (next < ntodo || nrunning > 0) {
        while (nrunning < jobs && next < ntodo && !sweep_nsignals) {
            int pick = next;
            for (; share && pick < ntodo; pick++) {
                bool blocked = false;
                for (int r = 0; r < SWEEP_MAX_JOBS && !blocked; r++)
                    if (sweep_pids[r] > 0) {
                        int b = running[r].point, a = todo[pick];
                        blocked = shares_stage(keys[a], nkeys[a], keys[b], nkeys[b]);
                    }
                if (!blocked) break;
            }
            if (pick == ntodo) break; /* every waiting point waits for a running one */
            int k = todo[pick];
            memmove(&todo[next + 1], &todo[next], (size_t)(pick - next) * sizeof *todo);
            todo[next++] = k;
            int slot = 0;
            while (sweep_pids[slot] > 0) slot++;
            sigprocmask(SIG_BLOCK, &block, &prev); /* the pid is in the table before a signal */
            pid_t pid = launch(s, opt, exe, k, threads);
            if (pid > 0) {
                sweep_pids[slot] = pid;
                running[slot] = (Job){k, now_seconds()};
                nrunning++;
            }
            sigprocmask(SIG_SETMASK, &prev, NULL);
            if (pid <= 0) {
                nfailed++;
                nfinished++;
            }
        }
        if (nrunning == 0) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "aelab: error: waitpid: %s\n", strerror(errno));
            break;
        }
        int slot = 0;
        while (slot < SWEEP_MAX_JOBS && sweep_pids[slot] != pid) slot++;
        if (slot == SWEEP_MAX_JOBS) continue; /* not one of ours */
        sigprocmask(SIG_BLOCK, &block, &prev);
        sweep_pids[slot] = 0;
        sigprocmask(SIG_SETMASK, &prev, NULL);
        nrunning--;
        nfinished++;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        nfailed += !ok;
        report_point(s, opt, running[slot].point, status, now_seconds() - running[slot].start,
                     nfinished, ntodo);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    bool interrupted = sweep_nsignals > 0;
    for (int k = 0; share && k < s->npoints; k++) free(keys[k]);
    free(keys);
    free(nkeys);
    free(todo);

    int crc = sweep_collect(s, opt);
    if (interrupted) {
        fprintf(stderr, "aelab: sweep interrupted: %d of %d points not run; run the same command "
                "again to finish it (complete points are skipped)\n", ntodo - nfinished + 0,
                s->npoints);
        return 130;
    }
    if (nfailed) {
        fprintf(stderr, "aelab: %d of %d point%s failed (above; sweep.csv has their status)\n",
                nfailed, ntodo, ntodo == 1 ? "" : "s");
        return 1;
    }
    return crc;
}

/* ---- collecting ---- */

typedef struct PointResult {
    const char *state;
    PointStatus st;
    CsvTable *summary; /* ok points only */
} PointResult;

static int metric_index(StrList *names, const char *name, bool add) {
    for (int i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0) return i;
    if (!add) return -1;
    list_push(names, xstrdup(name));
    return names->n - 1;
}

/* The metric's value in a point's summary, or NAN. */
static double result_num(const PointResult *r, const char *metric) {
    if (!r->summary) return NAN;
    int cm = csvtable_col(r->summary, "metric"), cv = csvtable_col(r->summary, "value");
    for (int i = 0; i < csvtable_nrows(r->summary); i++)
        if (strcmp(csvtable_get(r->summary, i, cm), metric) == 0) {
            double v;
            return csvtable_get_num(r->summary, i, cv, &v) ? v : NAN;
        }
    return NAN;
}

static const char *result_text(const PointResult *r, const char *metric) {
    if (!r->summary) return "";
    int cm = csvtable_col(r->summary, "metric"), cv = csvtable_col(r->summary, "value");
    for (int i = 0; i < csvtable_nrows(r->summary); i++)
        if (strcmp(csvtable_get(r->summary, i, cm), metric) == 0) return csvtable_get(r->summary, i, cv);
    return "";
}

/* Whether points a and b agree on every parameter except `except` and the seed. */
static bool same_others(const Sweep *s, int a, int b, int except) {
    for (int i = 0; i < s->nparams; i++)
        if (i != except && !is_seed_param(s, i) &&
            strcmp(sweep_point_value(s, a, i), sweep_point_value(s, b, i)) != 0)
            return false;
    return true;
}

static void mean_std(const double *v, int n, double *mean, double *sd) {
    double m = 0, q = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m = n ? m / n : NAN;
    for (int i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

static bool write_by_params(const Sweep *s, const PointResult *res, const StrList *metrics,
                            const char *path, AeError *err) {
    int nother = 0;
    for (int i = 0; i < s->nparams; i++) nother += !is_seed_param(s, i);
    int ncols = nother + 1 + 2 * metrics->n;
    const char **hdr = ae_xmalloc((size_t)ncols * sizeof *hdr);
    StrList names = {0};
    int c = 0;
    for (int i = 0; i < s->nparams; i++)
        if (!is_seed_param(s, i)) hdr[c++] = sweep_param_key(s, i);
    hdr[c++] = "n";
    for (int m = 0; m < metrics->n; m++) {
        StrBuf a = {0}, b = {0};
        strbuf_printf(&a, "%s_mean", metrics->v[m]);
        strbuf_printf(&b, "%s_std", metrics->v[m]);
        list_push(&names, a.s);
        list_push(&names, b.s);
        hdr[c++] = a.s;
        hdr[c++] = b.s;
    }
    CsvTable *t = csvtable_create(hdr, ncols);
    bool *seen = ae_xcalloc((size_t)s->npoints, sizeof *seen);
    double *vals = ae_xmalloc((size_t)s->npoints * sizeof *vals);
    int *members = ae_xmalloc((size_t)s->npoints * sizeof *members);
    for (int k = 0; k < s->npoints; k++) {
        if (seen[k]) continue;
        int nm = 0, nok = 0;
        for (int j = k; j < s->npoints; j++)
            if (!seen[j] && same_others(s, k, j, -1)) {
                seen[j] = true;
                members[nm++] = j;
                nok += res[j].summary != NULL;
            }
        int row = csvtable_add_row(t, NULL);
        c = 0;
        for (int i = 0; i < s->nparams; i++)
            if (!is_seed_param(s, i)) csvtable_set_str(t, row, c++, sweep_point_value(s, k, i));
        csvtable_set_int(t, row, c++, nok);
        for (int m = 0; m < metrics->n; m++, c += 2) {
            int nv = 0;
            for (int j = 0; j < nm; j++) {
                double v = result_num(&res[members[j]], metrics->v[m]);
                if (!isnan(v)) vals[nv++] = v;
            }
            double mean, sd;
            mean_std(vals, nv, &mean, &sd);
            if (nv) csvtable_set_num(t, row, c, mean, "%.9g");
            if (nv > 1) csvtable_set_num(t, row, c + 1, sd, "%.9g");
        }
    }
    bool ok = csvtable_write_atomic(t, path, err);
    csvtable_free(t);
    free(seen);
    free(vals);
    free(members);
    free(hdr);
    sweep_values_free(names.v, names.n);
    return ok;
}

/* Whether every value of parameter p parses as a number; then *lo, *hi: their range, and
 * *lo_pos the smallest positive one (INFINITY when none). */
static bool param_numeric(const Sweep *s, int p, double *lo, double *hi, double *lo_pos) {
    *lo = *lo_pos = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < s->npoints; k++) {
        double v;
        bool is_int;
        const char *t = sweep_point_value(s, k, p);
        if (!parse_num(t, strlen(t), &v, &is_int)) return false;
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
        if (v > 0) *lo_pos = fmin(*lo_pos, v);
    }
    return true;
}

/* ROOT/sweep_plots/METRIC.{dat,gp}, rendered when gnuplot exists. Returns false on an I/O or
 * gnuplot error (err filled); *drawn says whether there was anything to draw. */
static bool write_plot(const Sweep *s, const PointResult *res, const char *metric, bool *drawn,
                       AeError *err) {
    *drawn = false;
    int panels[64], npanels = 0;
    for (int i = 0; i < s->nparams && npanels < 64; i++)
        if (!is_seed_param(s, i)) panels[npanels++] = i;
    if (npanels == 0 && s->nparams > 0) panels[npanels++] = 0; /* seeds only: by seed */
    StrBuf dat = {0}, gp = {0}, cmds = {0};
    int block = 0, used_panels = 0;
    double *vals = ae_xmalloc((size_t)s->npoints * sizeof *vals);
    bool *curve_seen = ae_xmalloc((size_t)s->npoints * sizeof *curve_seen);
    bool *x_seen = ae_xmalloc((size_t)s->npoints * sizeof *x_seen);
    strbuf_printf(&dat, "# %s of sweep %s: one block per curve; columns: x, mean, std across seeds, "
               "x label\n", metric, s->name);
    for (int pi = 0; pi < npanels; pi++) {
        int p = panels[pi];
        /* numbers on a numeric axis, logarithmic when they span a factor of 100 or more; such
         * a span with 0 or negatives in it (0, 0.001, 0.01, 0.1) is drawn as categories */
        double lo, hi, lo_pos;
        bool numeric = param_numeric(s, p, &lo, &hi, &lo_pos);
        bool wide = numeric && hi / lo_pos >= 100;
        if (wide && lo <= 0) numeric = false;
        bool logx = wide && numeric;
        StrBuf plot = {0};
        int ncurves = 0, nx = 0;
        memset(curve_seen, 0, (size_t)s->npoints * sizeof *curve_seen);
        memset(x_seen, 0, (size_t)s->npoints * sizeof *x_seen);
        for (int k = 0; k < s->npoints; k++) { /* distinct x values, in order */
            if (x_seen[k]) continue;
            nx++;
            for (int j = k; j < s->npoints; j++)
                if (strcmp(sweep_point_value(s, j, p), sweep_point_value(s, k, p)) == 0) x_seen[j] = true;
        }
        for (int c0 = 0; c0 < s->npoints; c0++) { /* one curve per combination of the others */
            if (curve_seen[c0]) continue;
            StrBuf label = {0}, lines = {0};
            for (int j = c0; j < s->npoints; j++)
                if (same_others(s, c0, j, p)) curve_seen[j] = true;
            for (int i = 0; i < s->nparams; i++)
                if (i != p && !is_seed_param(s, i))
                    strbuf_printf(&label, "%s%s=%s", label.n ? ", " : "", sweep_param_key(s, i),
                               sweep_point_value(s, c0, i));
            memset(x_seen, 0, (size_t)s->npoints * sizeof *x_seen);
            int xi = 0, npts = 0;
            for (int k = 0; k < s->npoints; k++) {
                if (!same_others(s, c0, k, p) || x_seen[k]) continue;
                int nv = 0;
                const char *xv = sweep_point_value(s, k, p);
                for (int j = k; j < s->npoints; j++)
                    if (same_others(s, c0, j, p) && strcmp(sweep_point_value(s, j, p), xv) == 0) {
                        x_seen[j] = true;
                        double v = result_num(&res[j], metric);
                        if (!isnan(v)) vals[nv++] = v;
                    }
                if (nv) {
                    double mean, sd, x;
                    bool is_int;
                    mean_std(vals, nv, &mean, &sd);
                    if (!numeric || !parse_num(xv, strlen(xv), &x, &is_int)) x = xi;
                    strbuf_printf(&lines, "%.10g %.10g %.10g \"", x, mean, isnan(sd) ? 0.0 : sd);
                    for (const char *q = xv; *q; q++)
                        strbuf_printf(&lines, "%c", *q == '"' || *q == '\n' ? '\'' : *q);
                    strbuf_printf(&lines, "\"\n");
                    npts++;
                }
                xi++;
            }
            if (npts) {
                strbuf_printf(&dat, "%s# block %d: %s against %s%s%s\n", block ? "\n\n" : "",
                           block, metric,
                           sweep_param_key(s, p), label.n ? "; " : "", label.n ? label.s : "");
                str_putn(&dat, lines.s, lines.n);
                strbuf_printf(&plot, "%sdata index %d using 1:2:3%s with yerrorlines lw 2 pt 7 ps 1.2 ",
                           ncurves ? ", \\\n     " : "plot ", block, numeric ? "" : ":xtic(4)");
                if (label.n) {
                    strbuf_printf(&plot, "title ");
                    str_gp_quote(&plot, label.s);
                } else {
                    strbuf_printf(&plot, "notitle");
                }
                block++;
                ncurves++;
            }
            free(label.s);
            free(lines.s);
        }
        if (ncurves) {
            used_panels++;
            strbuf_printf(&cmds, "\n# panel: %s against %s\n", metric, sweep_param_key(s, p));
            strbuf_printf(&cmds, "set xlabel ");
            str_gp_quote(&cmds, sweep_param_key(s, p));
            strbuf_printf(&cmds, "\n%s\n", logx ? "set logscale x" : "unset logscale x");
            if (numeric) strbuf_printf(&cmds, "set xtics autofreq\nset xrange [*:*]\n");
            else strbuf_printf(&cmds, "set xrange [-0.5:%d.5]\n", nx - 1);
            strbuf_printf(&cmds, "set key %s\n", ncurves > 1 ? "outside top center vertical Left reverse" : "off");
            str_putn(&cmds, plot.s, plot.n);
            strbuf_printf(&cmds, "\n");
        }
        free(plot.s);
    }
    free(vals);
    free(curve_seen);
    free(x_seen);
    bool ok = true;
    if (used_panels == 0) goto out;
    *drawn = true;
    int cols = used_panels < 3 ? used_panels : 3, rows = (used_panels + cols - 1) / cols;
    char dir[SWEEP_PATH_MAX], path[SWEEP_PATH_MAX + 300];
    snprintf(dir, sizeof dir, "%s/sweep_plots", s->root);
    strbuf_printf(&gp, "# %s.gp — written by aelab %s: %s against each swept parameter of %s\n",
               metric, AE_VERSION, metric, s->name);
    strbuf_printf(&gp, "# Re-render with `gnuplot %s/%s.gp` (from any directory) or `aelab plot %s`.\n",
               dir, metric, dir);
    strbuf_printf(&gp, "# Data: %s.dat, mean and std across seeds (error bars) of each parameter "
               "combination.\n", metric);
    strbuf_printf(&gp, "_d = ARG0; _i = strlen(_d)\n"
                    "while (_i > 0 && _d[_i:_i] ne \"/\") { _i = _i - 1 }\n"
                    "if (_i > 0) { cd _d[1:_i] }\n");
    strbuf_printf(&gp, "if (!exists(\"out_png\")) out_png = ");
    char png[300];
    snprintf(png, sizeof png, "%s.png", metric);
    str_gp_quote(&gp, png);
    snprintf(png, sizeof png, "%s.dat", metric);
    strbuf_printf(&gp, "\ndata = ");
    str_gp_quote(&gp, png);
    strbuf_printf(&gp, "\nif (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                    "    set terminal pngcairo size %d,%d font \"DejaVu Sans,12\" linewidth 1.5 noenhanced\n"
                    "} else {\n"
                    "    set terminal png size %d,%d font \"DejaVu Sans,11\" noenhanced\n"
                    "}\n",
               cols == 1 ? 900 : 640 * cols, 480 * rows + 40, cols == 1 ? 900 : 640 * cols,
               480 * rows + 40);
    strbuf_printf(&gp, "set output out_png\nset grid xtics ytics lc rgb \"#d0d0d0\"\nset border 3\n"
                    "set tics nomirror out\nset offsets graph 0.04, graph 0.04, graph 0.1, graph 0.1\n"
                    "set ylabel ");
    str_gp_quote(&gp, metric);
    StrBuf title = {0};
    strbuf_printf(&title, "%s: %s%s", s->name, metric,
               s->seed_dim >= 0 ? " (mean and std across seeds)" : "");
    strbuf_printf(&gp, "\nset multiplot layout %d,%d title ", rows, cols);
    str_gp_quote(&gp, title.s);
    free(title.s);
    strbuf_printf(&gp, " font \",14\"\n");
    str_putn(&gp, cmds.s, cmds.n);
    strbuf_printf(&gp, "unset multiplot\n");
    ok = fs_mkdir_p(dir, err);
    snprintf(path, sizeof path, "%s/%s.dat", dir, metric);
    ok = ok && fs_write_atomic(path, dat.s, dat.n, err);
    snprintf(path, sizeof path, "%s/%s.gp", dir, metric);
    ok = ok && fs_write_atomic(path, gp.s, gp.n, err);
    if (ok && plots_have_gnuplot()) ok = plots_render_dir(dir, NULL, err);
out:
    free(dat.s);
    free(gp.s);
    free(cmds.s);
    return ok;
}

int sweep_collect(const Sweep *s, const SweepOptions *opt) {
    const char *metric = opt->metric ? opt->metric : "test_accuracy";
    bool quiet = opt->quiet;
    PointResult *res = ae_xcalloc((size_t)s->npoints, sizeof *res);
    StrList metrics = {0};
    int nok = 0, rc = 0;
    for (int k = 0; k < s->npoints; k++) {
        res[k].st = status_read(s, k);
        res[k].state = point_state(s, k, &res[k].st);
        if (strcmp(res[k].state, "ok") != 0) continue;
        char path[SWEEP_PATH_MAX + 32];
        status_path(s, k, path, sizeof path, "summary.csv");
        AeError err;
        res[k].summary = csvtable_read(path, &err);
        int cm = res[k].summary ? csvtable_col(res[k].summary, "metric") : -1;
        int cv = res[k].summary ? csvtable_col(res[k].summary, "value") : -1;
        if (cm < 0 || cv < 0) {
            fprintf(stderr, "%s\n", res[k].summary ? "summary.csv: error: no metric,value columns"
                                                   : err.msg);
            csvtable_free(res[k].summary);
            res[k].summary = NULL;
            res[k].state = "failed";
            continue;
        }
        nok++;
        for (int r = 0; r < csvtable_nrows(res[k].summary); r++)
            metric_index(&metrics, csvtable_get(res[k].summary, r, cm), true);
    }

    /* sweep.csv */
    static const char *const fixed[] = {"status", "exit_code", "seconds", "stages_trained",
                                        "stages_reused", "run_dir"};
    int nfixed = (int)(sizeof fixed / sizeof *fixed);
    int ncols = 1 + s->nparams + nfixed + metrics.n;
    const char **hdr = ae_xmalloc((size_t)ncols * sizeof *hdr);
    int c = 0;
    hdr[c++] = "point";
    for (int i = 0; i < s->nparams; i++) hdr[c++] = sweep_param_key(s, i);
    for (int i = 0; i < nfixed; i++) hdr[c++] = fixed[i];
    for (int i = 0; i < metrics.n; i++) hdr[c++] = metrics.v[i];
    CsvTable *t = csvtable_create(hdr, ncols);
    free(hdr);
    size_t rootlen = strlen(s->root);
    for (int k = 0; k < s->npoints; k++) {
        const PointResult *r = &res[k];
        int row = csvtable_add_row(t, NULL);
        char dir[SWEEP_PATH_MAX];
        sweep_point_dir(s, k, dir, sizeof dir);
        c = 0;
        csvtable_set_int(t, row, c++, k);
        for (int i = 0; i < s->nparams; i++) csvtable_set_str(t, row, c++, sweep_point_value(s, k, i));
        csvtable_set_str(t, row, c++, r->state);
        bool current = strcmp(r->state, "missing") != 0 && strcmp(r->state, "stale") != 0;
        if (current) csvtable_set_int(t, row, c, r->st.exit_code);
        c++;
        if (current && !isnan(r->st.seconds)) csvtable_set_num(t, row, c, r->st.seconds, "%.3f");
        c++;
        if (current && r->st.trained >= 0) csvtable_set_int(t, row, c, r->st.trained);
        c++;
        if (current && r->st.reused >= 0) csvtable_set_int(t, row, c, r->st.reused);
        c++;
        csvtable_set_str(t, row, c++, dir + rootlen + (dir[rootlen] == '/'));
        for (int i = 0; i < metrics.n; i++) csvtable_set_str(t, row, c++, result_text(r, metrics.v[i]));
    }
    AeError err;
    char path[SWEEP_PATH_MAX + 32];
    if (!fs_mkdir_p(s->root, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        rc = 1;
        goto out;
    }
    snprintf(path, sizeof path, "%s/sweep.csv", s->root);
    if (!csvtable_write_atomic(t, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (!quiet) printf("wrote %s (%d point%s, %d ok)\n", path, s->npoints, s->npoints == 1 ? "" : "s", nok);
    if (s->seed_dim >= 0) {
        snprintf(path, sizeof path, "%s/sweep_by_params.csv", s->root);
        if (!write_by_params(s, res, &metrics, path, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else if (!quiet) {
            printf("wrote %s (mean and std across %d seeds)\n", path, s->dims[s->seed_dim].nvalues);
        }
    }
    if (nok && metric_index(&metrics, metric, false) < 0) {
        const char *near = diag_nearest(metric, (const char *const *)metrics.v, metrics.n);
        fprintf(stderr, "aelab: warning: no point has the metric '%s'%s%s%s; no plot\n", metric,
                near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    } else if (nok && !opt->no_plots) {
        bool drawn;
        if (!write_plot(s, res, metric, &drawn, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else if (drawn && !quiet) {
            printf("wrote %s/sweep_plots/%s.gp%s\n", s->root, metric,
                   plots_have_gnuplot() ? " and .png" : " (no gnuplot: no PNG)");
        }
    }
    if (nok < s->npoints) {
        int nmissing = 0;
        for (int k = 0; k < s->npoints; k++) nmissing += strcmp(res[k].state, "ok") != 0;
        if (!quiet)
            printf("%d of %d points are not complete (see the status column)\n", nmissing, s->npoints);
        if (rc == 0) rc = 1;
    }
out:
    csvtable_free(t);
    for (int k = 0; k < s->npoints; k++) csvtable_free(res[k].summary);
    free(res);
    sweep_values_free(metrics.v, metrics.n);
    return rc;
}

/* ---- emitting commands for other engines ---- */

static int emit_threads(const SweepOptions *opt) {
    if (opt->threads >= 0) return opt->threads;
    if (opt->jobs > 0) {
        int t = sweep_cores() / opt->jobs;
        return t > 1 ? t : 1;
    }
    return -1;
}

/* `'EXE' run 'FILE' --set ...` up to the point-specific part. */
static void emit_prefix(const Sweep *s, const SweepOptions *opt, StrBuf *b, bool cd) {
    char exe[SWEEP_PATH_MAX], cwd[SWEEP_PATH_MAX];
    exe_path(opt, exe, sizeof exe);
    if (cd) {
        if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
        strbuf_printf(b, "cd ");
        str_shell_word(b, cwd);
        strbuf_printf(b, " && ");
    }
    str_shell_word(b, exe);
    strbuf_printf(b, " run ");
    str_shell_word(b, s->file);
    for (int i = 0; i < s->nsets; i++) {
        strbuf_printf(b, " --set ");
        str_shell_word(b, s->sets[i]);
    }
    if (s->out_dir) {
        strbuf_printf(b, " --out ");
        str_shell_word(b, s->out_dir);
    }
}

static void emit_child_args(const SweepOptions *opt, StrBuf *b) {
    for (int i = 0; i < opt->nchild_args; i++) {
        strbuf_printf(b, " ");
        str_shell_word(b, opt->child_args[i]);
    }
}

int sweep_emit_commands(const Sweep *s, const SweepOptions *opt, FILE *out) {
    int threads = emit_threads(opt);
    for (int k = 0; k < s->npoints; k++) {
        StrBuf b = {0};
        emit_prefix(s, opt, &b, true);
        strbuf_printf(&b, " --point %d", k);
        if (threads >= 0) strbuf_printf(&b, " --threads %d", threads);
        if (opt->force) strbuf_printf(&b, " --force");
        emit_child_args(opt, &b);
        fprintf(out, "%s -q\n", b.s);
        free(b.s);
    }
    return 0;
}

int sweep_emit_slurm(const Sweep *s, const SweepOptions *opt, FILE *out) {
    char cwd[SWEEP_PATH_MAX], path[SWEEP_PATH_MAX + 32];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
    snprintf(path, sizeof path, "%s/sweep.sbatch", s->root);
    StrBuf logs = {0}; /* Slurm opens the logs before the script's cd: an absolute path */
    if (s->root[0] == '/') strbuf_printf(&logs, "%s/sweep", s->root);
    else strbuf_printf(&logs, "%s/%s/sweep", cwd, s->root);
    StrBuf b = {0}, run = {0}, collect = {0};
    emit_prefix(s, opt, &run, false);
    emit_prefix(s, opt, &collect, false);
    strbuf_printf(&collect, " --collect");
    if (opt->metric) {
        strbuf_printf(&collect, " --metric ");
        str_shell_word(&collect, opt->metric);
    }
    emit_child_args(opt, &collect);
    strbuf_printf(&b, "#!/bin/bash\n");
    strbuf_printf(&b, "# sweep.sbatch — written by aelab %s: the sweep of %s (%d point%s) as a Slurm "
               "job array.\n", AE_VERSION, s->file, s->npoints, s->npoints == 1 ? "" : "s");
    strbuf_printf(&b, "# Submit with:  sbatch %s\n", path);
    strbuf_printf(&b, "# Array task K runs point K (`aelab run ... --point K`; a complete point is "
               "skipped). Task 0 also\n# submits the collecting job, which waits for the whole "
               "array (afterany) and writes\n# %s/sweep.csv. Add the #SBATCH lines your cluster "
               "needs (partition, time, memory).\n", s->root);
    strbuf_printf(&b, "#SBATCH --job-name=aelab-%s\n", s->name);
    strbuf_printf(&b, "#SBATCH --array=0-%d", s->npoints - 1);
    if (opt->jobs > 0) strbuf_printf(&b, "%%%d", opt->jobs);
    strbuf_printf(&b, "\n");
    if (opt->threads > 0) strbuf_printf(&b, "#SBATCH --cpus-per-task=%d\n", opt->threads);
    strbuf_printf(&b, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", logs.s);
    strbuf_printf(&b, "set -euo pipefail\ncd ");
    str_shell_word(&b, cwd);
    strbuf_printf(&b, "\nif [[ ${SLURM_ARRAY_TASK_ID:-} == 0 ]]; then\n"
                   "    sbatch --parsable --job-name=aelab-%s-collect "
                   "--dependency=afterany:\"$SLURM_ARRAY_JOB_ID\" \\\n"
                   "        --output=%s/slurm-collect-%%j.out <<'AELAB_COLLECT'\n"
                   "#!/bin/bash\ncd ", s->name, logs.s);
    str_shell_word(&b, cwd);
    strbuf_printf(&b, " && exec %s\nAELAB_COLLECT\nfi\n", collect.s);
    strbuf_printf(&b, "exec %s --point \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-%d}\"",
               run.s, opt->threads > 0 ? opt->threads : 1);
    if (opt->force) strbuf_printf(&b, " --force");
    emit_child_args(opt, &b);
    strbuf_printf(&b, " -q\n");
    AeError err;
    char sweepdir[SWEEP_PATH_MAX + 8];
    snprintf(sweepdir, sizeof sweepdir, "%s/sweep", s->root); /* where Slurm writes the logs */
    bool ok = fs_mkdir_p(sweepdir, &err) && fs_write_atomic(path, b.s, b.n, &err);
    if (ok && chmod(path, 0755) != 0) ok = ae_fail(&err, "%s: error: chmod: %s", path, strerror(errno));
    free(b.s);
    free(run.s);
    free(collect.s);
    free(logs.s);
    if (!ok) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fprintf(out, "%s\n", path);
    return 0;
}
