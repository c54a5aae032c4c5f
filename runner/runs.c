/* runner/runs.c — `aelab runs [DIR...]`: one row per run directory (or sweep point) found under
 * the directories, as a table in text, CSV, Markdown or JSON (contract in runs.h).
 *
 * A row's columns: run (its directory), name, date, commit, status, config (the resolved
 * config's hash, runinfo.h), seed, backend, threads; then the config keys whose values differ
 * between the rows (every key with --all); then the summary metrics in the order first met
 * (class_K_accuracy left out unless --all). --sort and --filter name any of those, or any config
 * key, summary metric or provenance.KEY, shown or not.
 */
#include "runs.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopt.h"
#include "fsutil.h"
#include "report.h"
#include "runinfo.h"
#include "strbuf.h"

#define RUNS_MAX_FILTERS 64
#define RUNS_MAX_DEPTH 8
#define RUNS_GO_ON (-1)

static const char runs_usage[] =
    "usage: aelab runs [DIR...] [--all] [--sort [-]KEY] [--filter KEY=VALUE]...\n"
    "                  [--format text|csv|markdown|json]\n"
    "\n"
    "Lists the runs (and sweep points) found under each DIR (default results/), one row each:\n"
    "run directory, name, date, git commit, status, config hash, seed, backend, threads, the\n"
    "config keys whose values differ between the rows, and the summary metrics.\n"
    "  --all               every config key and every metric (class_K_accuracy included)\n"
    "  --sort [-]KEY       order the rows by KEY (a column, a config key such as\n"
    "                      pipeline[1].pretrain_layer.units, a metric, provenance.KEY);\n"
    "                      numbers numerically; '-' first: descending; rows without it last\n"
    "  --filter KEY=VALUE  keep the rows where KEY is VALUE (numbers compared as numbers); also\n"
    "                      KEY!=VALUE, KEY<VALUE, KEY<=VALUE, KEY>VALUE, KEY>=VALUE; repeatable\n"
    "  --format F          text (default), csv, markdown or json (an array of objects)\n"
    "  -h, --help          this text\n"
    "Exit status: 0 the table (even with every row filtered out); 1 no run found under the\n"
    "directories; 2 a usage error, a missing DIR, or a --sort/--filter KEY that no run has.\n";

typedef enum { FMT_TEXT, FMT_CSV, FMT_MD, FMT_JSON } RunsFormat;

typedef struct RunsArgs {
    const char *dirs[256];
    int ndirs;
    bool all;
    const char *sort;
    bool desc;
    const char *filters[RUNS_MAX_FILTERS];
    int nfilters;
    RunsFormat fmt;
} RunsArgs;

typedef struct RunList {
    RunInfo *r;
    int n, cap;
} RunList;

static const char *const BUILTIN[] = {"run", "name", "date", "commit", "status",
                                      "config", "seed", "backend", "threads"};
#define NBUILTIN (int)(sizeof BUILTIN / sizeof *BUILTIN)

static int runs_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab runs: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'aelab runs --help')\n");
    return 2;
}

/* ---- finding the runs ---- */

static bool skip_dir(const char *name) {
    return name[0] == '.' || strcmp(name, "checkpoints") == 0 || strcmp(name, "weights") == 0 ||
           strcmp(name, "recon") == 0 || strcmp(name, "sweep_plots") == 0;
}

static int only_dirs(const struct dirent *e) { return !skip_dir(e->d_name); }

static void add_run(RunList *l, const char *dir) {
    AeError err;
    RunInfo ri;
    if (!runinfo_load(dir, &ri, &err)) {
        fprintf(stderr, "aelab runs: warning: %s (skipped)\n", err.msg);
        return;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        RunInfo *r = ae_xmalloc((size_t)cap * sizeof *r);
        if (l->n) memcpy(r, l->r, (size_t)l->n * sizeof *r);
        free(l->r);
        l->r = r;
        l->cap = cap;
    }
    l->r[l->n++] = ri;
}

/* dir itself when it is a run, then its subdirectories in version order (point 2 before 10). */
static void find_runs(RunList *l, const char *dir, int depth) {
    if (runinfo_is_run(dir)) add_run(l, dir);
    if (depth >= RUNS_MAX_DEPTH) return;
    struct dirent **ents;
    int n = scandir(dir, &ents, only_dirs, versionsort);
    for (int i = 0; i < n; i++) {
        char sub[4096];
        size_t len = strlen(dir);
        snprintf(sub, sizeof sub, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/",
                 ents[i]->d_name);
        if (fs_is_dir(sub)) find_runs(l, sub, depth + 1);
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

/* ---- values ---- */

static bool parse_num(const char *s, double *v) {
    char *end;
    if (!s || !*s) return false;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* The text of column key for run r (NULL: it has none). hash: 13 bytes of scratch. */
static const char *run_value(const RunInfo *r, const char *key, char *hash) {
    if (strcmp(key, "run") == 0) return r->dir;
    if (strcmp(key, "name") == 0) return runkv_get(&r->config, "name");
    if (strcmp(key, "date") == 0) return runkv_get(&r->prov, "date");
    if (strcmp(key, "commit") == 0) return runkv_get(&r->prov, "git_commit");
    if (strcmp(key, "status") == 0) return r->status;
    if (strcmp(key, "config") == 0) {
        if (!r->has_config) return NULL;
        snprintf(hash, 13, "%012llx",
                 (unsigned long long)(runinfo_config_hash(r) & 0xffffffffffffULL));
        return hash;
    }
    if (strcmp(key, "seed") == 0) return runkv_get(&r->config, "seed");
    if (strcmp(key, "backend") == 0 || strcmp(key, "threads") == 0)
        return runkv_get(&r->prov, key);
    if (strncmp(key, "provenance.", 11) == 0) return runkv_get(&r->prov, key + 11);
    const char *v = runkv_get(&r->metrics, key);
    return v ? v : runkv_get(&r->config, key);
}

static bool any_has(const RunList *l, const char *key) {
    char hash[13];
    for (int i = 0; i < l->n; i++)
        if (run_value(&l->r[i], key, hash)) return true;
    return false;
}

/* ---- filters and order ---- */

typedef struct Filter {
    char key[512];
    const char *op, *value;
} Filter;

static bool parse_filter(const char *s, Filter *f) {
    static const char *const ops[] = {"!=", "<=", ">=", "=", "<", ">"};
    size_t at = strcspn(s, "!<>=");
    if (at == 0 || !s[at] || at >= sizeof f->key) return false;
    for (int k = 0; k < 6; k++)
        if (strncmp(s + at, ops[k], strlen(ops[k])) == 0) {
            memcpy(f->key, s, at);
            f->key[at] = '\0';
            f->op = ops[k];
            f->value = s + at + strlen(ops[k]);
            return true;
        }
    return false;
}

/* -1, 0, 1: numbers numerically, else bytewise. */
static int cmp_values(const char *a, const char *b) {
    double x, y;
    if (parse_num(a, &x) && parse_num(b, &y)) return (x > y) - (x < y);
    int c = strcmp(a, b);
    return (c > 0) - (c < 0);
}

static bool filter_keeps(const Filter *f, const RunInfo *r) {
    char hash[13];
    const char *v = run_value(r, f->key, hash);
    if (!v) return strcmp(f->op, "!=") == 0;
    int c = cmp_values(v, f->value);
    if (strcmp(f->op, "=") == 0) return c == 0;
    if (strcmp(f->op, "!=") == 0) return c != 0;
    if (strcmp(f->op, "<") == 0) return c < 0;
    if (strcmp(f->op, "<=") == 0) return c <= 0;
    if (strcmp(f->op, ">") == 0) return c > 0;
    return c >= 0;
}

static const char *g_sort_key;
static bool g_sort_desc;

static int cmp_runs(const void *pa, const void *pb) {
    const RunInfo *a = pa, *b = pb;
    char ha[13], hb[13];
    const char *va = run_value(a, g_sort_key, ha), *vb = run_value(b, g_sort_key, hb);
    if (!va || !vb) return (!va) - (!vb); /* rows without the key last, in either order */
    int c = cmp_values(va, vb);
    if (g_sort_desc) c = -c;
    return c ? c : strcmp(a->dir, b->dir);
}

/* ---- columns ---- */

typedef struct Columns {
    const char **key; /* borrowed from BUILTIN or the runs */
    int n, cap;
} Columns;

static void col_add(Columns *c, const char *key) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->key[i], key) == 0) return;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        const char **k = ae_xmalloc((size_t)cap * sizeof *k);
        if (c->n) memcpy(k, c->key, (size_t)c->n * sizeof *k);
        free(c->key);
        c->key = k;
        c->cap = cap;
    }
    c->key[c->n++] = key;
}

static bool is_per_class(const char *m) {
    if (strncmp(m, "class_", 6) != 0) return false;
    const char *p = m + 6;
    while (*p >= '0' && *p <= '9') p++;
    return p > m + 6 && strcmp(p, "_accuracy") == 0;
}

/* Whether config key differs between the rows (absent counts as a value). */
static bool key_differs(const RunList *l, const char *key) {
    const char *first = runkv_get(&l->r[0].config, key);
    for (int i = 1; i < l->n; i++) {
        const char *v = runkv_get(&l->r[i].config, key);
        if ((!v) != (!first) || (v && strcmp(v, first) != 0)) return true;
    }
    return false;
}

static void pick_columns(const RunList *l, bool all, Columns *c) {
    for (int i = 0; i < NBUILTIN; i++) col_add(c, BUILTIN[i]);
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->r[i].config.n; k++) {
            const char *key = l->r[i].config.kv[k].key;
            if (strcmp(key, "name") == 0 || strcmp(key, "seed") == 0) continue;
            if (all || key_differs(l, key)) col_add(c, key);
        }
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->r[i].metrics.n; k++) {
            const char *m = l->r[i].metrics.kv[k].key;
            if (all || !is_per_class(m)) col_add(c, m);
        }
}

/* ---- output ---- */

static void csv_cell(StrBuf *b, const char *s) {
    if (!s[strcspn(s, ",\"\r\n")] && s[0] != ' ' && s[0] != '\t') {
        strbuf_printf(b, "%s", s);
        return;
    }
    strbuf_printf(b, "\"");
    for (; *s; s++) strbuf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    strbuf_printf(b, "\"");
}

static void print_text(const RunList *l, const Columns *c) {
    size_t *w = ae_xcalloc((size_t)c->n, sizeof *w);
    char hash[13];
    for (int k = 0; k < c->n; k++) {
        w[k] = strlen(c->key[k]);
        for (int i = 0; i < l->n; i++) {
            const char *v = run_value(&l->r[i], c->key[k], hash);
            size_t n = v ? strlen(v) : 1;
            if (n > w[k]) w[k] = n;
        }
    }
    for (int i = -1; i < l->n; i++) {
        for (int k = 0; k < c->n; k++) {
            const char *v = i < 0 ? c->key[k] : run_value(&l->r[i], c->key[k], hash);
            if (k + 1 == c->n) printf("%s\n", v ? v : "-");
            else printf("%-*s  ", (int)w[k], v ? v : "-");
        }
    }
    free(w);
}

static void print_table(const RunList *l, const Columns *c, RunsFormat fmt) {
    if (fmt == FMT_TEXT) {
        print_text(l, c);
        return;
    }
    StrBuf b = {0};
    char hash[13];
    if (fmt == FMT_JSON) strbuf_printf(&b, "[");
    for (int i = fmt == FMT_JSON ? 0 : -1; i < l->n; i++) {
        if (fmt == FMT_JSON) strbuf_printf(&b, "%s\n  {", i ? "," : "");
        if (fmt == FMT_MD) strbuf_printf(&b, "|");
        for (int k = 0; k < c->n; k++) {
            const char *v = i < 0 ? c->key[k] : run_value(&l->r[i], c->key[k], hash);
            if (fmt == FMT_CSV) {
                strbuf_printf(&b, "%s", k ? "," : "");
                csv_cell(&b, v ? v : "");
            } else if (fmt == FMT_MD) {
                strbuf_printf(&b, " ");
                report_md(&b, v ? v : "");
                strbuf_printf(&b, " |");
            } else {
                strbuf_printf(&b, "%s", k ? ", " : "");
                report_json(&b, c->key[k]);
                strbuf_printf(&b, ": ");
                if (!v) strbuf_printf(&b, "null");
                else if (strcmp(c->key[k], "run") != 0 && report_json_number(v))
                    strbuf_printf(&b, "%s", v);
                else report_json(&b, v);
            }
        }
        if (fmt == FMT_JSON) strbuf_printf(&b, "}");
        else strbuf_printf(&b, "\n");
        if (fmt == FMT_MD && i < 0) {
            strbuf_printf(&b, "|");
            for (int k = 0; k < c->n; k++) strbuf_printf(&b, " --- |");
            strbuf_printf(&b, "\n");
        }
    }
    if (fmt == FMT_JSON) strbuf_printf(&b, "%s]\n", l->n ? "\n" : "");
    if (b.s) fputs(b.s, stdout);
    strbuf_free(&b);
}

/* ---- the command ---- */

enum { OPT_ALL = CLI_LONG_ONLY, OPT_SORT, OPT_FILTER, OPT_FORMAT };

static int runs_option(RunsArgs *a, int c, const char *v, const char *spelt) {
    if (c == OPT_ALL) {
        a->all = true;
        return RUNS_GO_ON;
    }
    if (!v || !*v) return runs_usage_error("%s needs a value", spelt);
    if (c == OPT_SORT) {
        a->desc = v[0] == '-';
        a->sort = v + a->desc;
        if (!*a->sort) return runs_usage_error("--sort: expected [-]KEY, got '%s'", v);
    } else if (c == OPT_FILTER) {
        Filter f;
        if (!parse_filter(v, &f))
            return runs_usage_error("--filter: expected KEY=VALUE (or !=, <, <=, >, >=), got "
                                    "'%s'", v);
        if (a->nfilters == RUNS_MAX_FILTERS)
            return runs_usage_error("too many --filter options (at most %s)", "64");
        a->filters[a->nfilters++] = v;
    } else {
        static const char *const names[] = {"text", "csv", "markdown", "json"};
        int k = 0;
        while (k < 4 && strcmp(names[k], v) != 0) k++;
        if (k == 4)
            return runs_usage_error("--format: expected text, csv, markdown or json, got '%s'", v);
        a->fmt = (RunsFormat)k;
    }
    return RUNS_GO_ON;
}

static int runs_parse(int argc, char **argv, RunsArgs *a) {
    static const struct option longs[] = {{"all", no_argument, NULL, OPT_ALL},
                                          {"sort", required_argument, NULL, OPT_SORT},
                                          {"filter", required_argument, NULL, OPT_FILTER},
                                          {"format", required_argument, NULL, OPT_FORMAT},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "h", longs);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(runs_usage, stdout);
            return 0;
        }
        if (c == CLI_BAD) return runs_usage_error("%s", p.error);
        if (c == CLI_MISSING) return runs_usage_error("%s needs a value", p.name);
        if (c == CLI_ARG) {
            if (a->ndirs == 256) return runs_usage_error("too many directories (at most %s)",
                                                         "256");
            a->dirs[a->ndirs++] = p.arg;
            continue;
        }
        int rc = runs_option(a, c, p.arg, p.name);
        if (rc != RUNS_GO_ON) return rc;
    }
    if (a->ndirs == 0) a->dirs[a->ndirs++] = "results";
    return RUNS_GO_ON;
}

/* Keeps the rows every filter keeps; 2 (after a message) when a filter's key is in no row. */
static int apply_filters(const RunsArgs *a, RunList *l) {
    for (int k = 0; k < a->nfilters; k++) {
        Filter f;
        parse_filter(a->filters[k], &f);
        if (!any_has(l, f.key))
            return runs_usage_error("--filter: no run has '%s'", f.key);
        int kept = 0;
        for (int i = 0; i < l->n; i++) {
            if (filter_keeps(&f, &l->r[i])) l->r[kept++] = l->r[i];
            else runinfo_clear(&l->r[i]);
        }
        l->n = kept;
    }
    return RUNS_GO_ON;
}

int runs_main(int argc, char **argv) {
    RunsArgs a = {.fmt = FMT_TEXT};
    int rc = runs_parse(argc, argv, &a);
    if (rc != RUNS_GO_ON) return rc;
    for (int i = 0; i < a.ndirs; i++)
        if (!fs_is_dir(a.dirs[i])) return runs_usage_error("%s: no such directory", a.dirs[i]);
    RunList l = {0};
    for (int i = 0; i < a.ndirs; i++) find_runs(&l, a.dirs[i], 0);
    if (l.n == 0) {
        fprintf(stderr, "aelab runs: no run directory (config.yaml or summary.csv) under %s%s\n",
                a.dirs[0], a.ndirs > 1 ? " and the others" : "");
        free(l.r);
        return 1;
    }
    if (a.sort && !any_has(&l, a.sort)) rc = runs_usage_error("--sort: no run has '%s'", a.sort);
    if (rc == RUNS_GO_ON) rc = apply_filters(&a, &l);
    if (rc == RUNS_GO_ON) {
        if (a.sort) {
            g_sort_key = a.sort;
            g_sort_desc = a.desc;
            qsort(l.r, (size_t)l.n, sizeof *l.r, cmp_runs);
        }
        Columns c = {0};
        if (l.n) pick_columns(&l, a.all, &c);
        else for (int i = 0; i < NBUILTIN; i++) col_add(&c, BUILTIN[i]);
        print_table(&l, &c, a.fmt);
        free(c.key);
        rc = 0;
    }
    for (int i = 0; i < l.n; i++) runinfo_clear(&l.r[i]);
    free(l.r);
    return rc;
}
