/* runner/compare.c — `aelab compare BASELINE CURRENT`: reads both tables (runner/csvout's
 * reader), resolves a tolerance per metric, prints the verdict table and returns the exit status
 * (contract in compare.h).
 */
#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopt.h"
#include "csvout.h"
#include "compare_internal.h"
#include "fsutil.h"
#include "report.h"

#define COMPARE_EXIT_OK 0
#define COMPARE_EXIT_USAGE 2
#define COMPARE_EXIT_REGRESSION 3
#define COMPARE_MAX_TOL 256
#define COMPARE_GO_ON (-1) /* a step's "no exit status yet" */

static const char compare_usage[] =
    "usage: aelab compare BASELINE CURRENT [--tol METRIC=TOL]... [--default-tol TOL]\n"
    "                     [--format text|json|markdown|junit] [-o FILE] [--name NAME]\n"
    "\n"
    "Compares a run's final figures with a baseline; fails on a regression.\n"
    "  BASELINE            CSV with columns metric,value[,tolerance]\n"
    "  CURRENT             a run directory (its summary.csv) or a summary.csv (metric,value)\n"
    "                      Either side may be a run directory, a summary.csv, a baseline file\n"
    "                      or a sweep directory (its points' metrics, named POINT_DIR/METRIC,\n"
    "                      compared point by point)\n"
    "  TOL                 an absolute difference (0.5) or a percentage of the baseline (3%)\n"
    "  --tol METRIC=TOL    the tolerance for one metric (overrides the baseline's column)\n"
    "  --default-tol TOL   the tolerance for metrics without one (built in: 0.5 for *accuracy,\n"
    "                      in percent points; 3% for every other metric)\n"
    "  --format FORMAT     text (the default: the aligned table), json, markdown, or junit\n"
    "                      (JUnit XML: one testcase per metric, a failure for each failing one)\n"
    "  -o, --output FILE   write the report in FORMAT to FILE (atomically); stdout then keeps\n"
    "                      the text table\n"
    "  --name NAME         the report's name (JUnit testsuite, Markdown heading; default the\n"
    "                      baseline's file name without .csv)\n"
    "  -h, --help          this text\n"
    "\n"
    "When the environment variable GITHUB_STEP_SUMMARY names a file, the Markdown report is\n"
    "appended to it and each failing metric is also printed as a GitHub Actions\n"
    "'::error title=...::...' command. A current value that is not a number is a REGRESSION\n"
    "(\"not a number\" in the json, markdown and junit reports).\n"
    "\n"
    "Verdicts: ok; REGRESSION (outside the tolerance, the bad way); IMPROVED (outside the\n"
    "tolerance, the good way: update the baseline); missing (not in CURRENT); new (only in\n"
    "CURRENT, does not fail).\n"
    "Exit status: 0 every baseline metric present and within tolerance; 3 a REGRESSION,\n"
    "IMPROVED or missing metric; 2 a usage error or an unreadable or malformed file.\n";

typedef struct TolOverride {
    const char *metric; /* borrowed from argv: the text before the last '=' */
    int len;
    Tol tol;
    bool used;
} TolOverride;

static int compare_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab compare: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run `aelab compare --help` for the usage)\n");
    return COMPARE_EXIT_USAGE;
}

bool compare_parse_tol(const char *s, Tol *out) {
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v) || v < 0)
        return false;
    bool rel = false;
    while (*end == ' ')
        end++;
    if (*end == '%') {
        rel = true;
        end++;
    }
    while (*end == ' ')
        end++;
    if (*end)
        return false;
    out->v = v;
    out->relative = rel;
    return true;
}

static bool compare_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static Tol compare_builtin_tol(const char *metric) {
    if (compare_ends_with(metric, "accuracy"))
        return (Tol){0.5, false};
    return (Tol){3.0, true};
}

/* +1 when higher is better, -1 when lower is better, 0 when unknown. */
static int compare_direction(const char *metric) {
    if (compare_ends_with(metric, "accuracy"))
        return +1;
    if (compare_ends_with(metric, "loss") || compare_ends_with(metric, "mse") ||
        compare_ends_with(metric, "error"))
        return -1;
    return 0;
}

static void compare_format_tol(char *buf, size_t n, Tol t) {
    snprintf(buf, n, t.relative ? "%g%%" : "%g", t.v);
}

/* The file that messages about `given` name: a run directory's summary.csv, else given. */
static const char *compare_label(const char *given, char *buf, size_t n) {
    snprintf(buf, n, fs_is_dir(given) && !report_is_sweep(given) ? "%s/summary.csv" : "%s",
             given);
    return buf;
}

/* Reads a metric table; checks the columns and that metric names are present and unique.
 * Returns NULL after printing the error. */
static CsvTable *compare_read(const char *given, int *c_metric, int *c_value) {
    AeError err;
    CsvTable *t = report_read_metrics(given, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    char label[4096];
    const char *path = compare_label(given, label, sizeof label);
    *c_metric = csvtable_col(t, "metric");
    *c_value = csvtable_col(t, "value");
    if (*c_metric < 0 || *c_value < 0) {
        fprintf(stderr,
                "%s:1: error: missing column '%s' (expected a header metric,value[,tolerance])\n",
                path, *c_metric < 0 ? "metric" : "value");
        goto fail;
    }
    for (int r = 0; r < csvtable_nrows(t); r++) {
        const char *m = csvtable_get(t, r, *c_metric);
        if (!*m) {
            fprintf(stderr, "%s:%d: error: empty metric name\n", path, csvtable_line(t, r));
            goto fail;
        }
        for (int q = 0; q < r; q++)
            if (strcmp(csvtable_get(t, q, *c_metric), m) == 0) {
                fprintf(stderr, "%s:%d: error: duplicate metric '%s' (first on line %d)\n", path,
                        csvtable_line(t, r), m, csvtable_line(t, q));
                goto fail;
            }
    }
    return t;
fail:
    csvtable_free(t);
    return NULL;
}

static int compare_find(const CsvTable *t, int c_metric, const char *metric) {
    for (int r = 0; r < csvtable_nrows(t); r++)
        if (strcmp(csvtable_get(t, r, c_metric), metric) == 0)
            return r;
    return -1;
}

/* Copies s into buf, shortened with "..." when it does not fit. */
static void compare_clip(char *buf, size_t n, const char *s) {
    if (strlen(s) < n) {
        snprintf(buf, n, "%s", s);
        return;
    }
    snprintf(buf, n, "%.*s...", (int)(n - 4), s);
}

typedef struct CompareArgs {
    const char *base_path;        /* BASELINE */
    const char *current;          /* CURRENT, as given */
    TolOverride over[COMPARE_MAX_TOL];
    int nover;
    Tol default_tol;
    bool have_default;
    const char *format; /* "text", "json", "markdown" or "junit" */
    const char *output; /* -o FILE, or NULL */
    const char *name;   /* --name, or NULL */
} CompareArgs;

/* The two tables and their columns (bt: the baseline's tolerance column, or -1). */
typedef struct Tables {
    CsvTable *base, *cur;
    int bm, bv, bt, cm, cv;
} Tables;

enum { OPT_TOL = CLI_LONG_ONLY, OPT_DEFAULT_TOL, OPT_FORMAT, OPT_NAME };

/* The options that take a plain word: --format, -o, --name. Returns COMPARE_GO_ON, or the exit
 * status. */
static int compare_word_option(CompareArgs *a, int opt, const char *v, const char *spelt) {
    if (!v)
        return compare_usage_error("%s needs a value", spelt);
    if (opt == 'o') {
        a->output = v;
    } else if (opt == OPT_NAME) {
        a->name = v;
    } else if (strcmp(v, "text") == 0 || strcmp(v, "json") == 0 || strcmp(v, "markdown") == 0 ||
               strcmp(v, "junit") == 0) {
        a->format = v;
    } else {
        return compare_usage_error("--format: expected text, json, markdown or junit, got '%s'",
                                   v);
    }
    return COMPARE_GO_ON;
}

/* --tol METRIC=TOL (v NULL: the option ended the command line). */
static int compare_add_override(CompareArgs *a, const char *v, const char *spelt) {
    if (!v)
        return compare_usage_error("%s needs METRIC=TOL", spelt);
    const char *eq = strrchr(v, '=');
    if (!eq || eq == v)
        return compare_usage_error("--tol expects METRIC=TOL, got '%s'", v);
    if (a->nover == COMPARE_MAX_TOL)
        return compare_usage_error("too many --tol options (at most %s)", "256");
    Tol t;
    if (!compare_parse_tol(eq + 1, &t))
        return compare_usage_error("--tol %s: expected a tolerance >= 0 like 0.5 or 3%%", v);
    a->over[a->nover++] = (TolOverride){v, (int)(eq - v), t, false};
    return COMPARE_GO_ON;
}

/* Reads the command line into a. Returns COMPARE_GO_ON, or the exit status. */
static int compare_parse_args(int argc, char **argv, CompareArgs *a) {
    static const struct option longs[] = {{"tol", required_argument, NULL, OPT_TOL},
                                          {"default-tol", required_argument, NULL, OPT_DEFAULT_TOL},
                                          {"format", required_argument, NULL, OPT_FORMAT},
                                          {"output", required_argument, NULL, 'o'},
                                          {"name", required_argument, NULL, OPT_NAME},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *pos[2] = {NULL, NULL};
    int npos = 0, rc = COMPARE_GO_ON;
    CliParser p;
    cli_init(&p, argc, argv, "ho:", longs);
    for (int c; rc == COMPARE_GO_ON && (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(compare_usage, stdout);
            return COMPARE_EXIT_OK;
        } else if (c == CLI_BAD) {
            return compare_usage_error("%s", p.error);
        } else if (c == CLI_ARG) {
            if (npos == 2)
                return compare_usage_error("unexpected argument '%s' (expected BASELINE CURRENT)",
                                           p.arg);
            pos[npos++] = p.arg;
        } else if (p.opt == OPT_TOL) {
            rc = compare_add_override(a, p.arg, p.name);
        } else if (p.opt != OPT_DEFAULT_TOL) {
            rc = compare_word_option(a, p.opt, p.arg, p.name);
        } else if (!p.arg) {
            return compare_usage_error("%s needs a tolerance like 0.5 or 3%%", p.name);
        } else if (!compare_parse_tol(p.arg, &a->default_tol)) {
            return compare_usage_error(
                "--default-tol: expected a tolerance >= 0 like 0.5 or 3%%, got '%s'", p.arg);
        } else {
            a->have_default = true;
        }
    }
    if (rc == COMPARE_GO_ON && npos < 2)
        return compare_usage_error("%s", npos == 0 ? "missing BASELINE and CURRENT"
                                                   : "missing CURRENT (a run directory or a "
                                                     "summary.csv)");
    a->base_path = pos[0];
    a->current = pos[1];
    return rc;
}

/* Every baseline value a finite number, every tolerance cell empty or a tolerance; the whole
 * baseline is checked before anything is printed. */
static bool compare_check_baseline(const CsvTable *base, const char *path, int bm, int bv,
                                   int bt) {
    for (int r = 0; r < csvtable_nrows(base); r++) {
        double v;
        Tol t;
        const char *vs = csvtable_get(base, r, bv);
        if (!csvtable_get_num(base, r, bv, &v) || !isfinite(v)) {
            fprintf(stderr, "%s:%d: error: %s: value: expected a finite number, got '%s'\n", path,
                    csvtable_line(base, r), csvtable_get(base, r, bm), vs);
            return false;
        }
        const char *ts = bt >= 0 ? csvtable_get(base, r, bt) : "";
        if (*ts && !compare_parse_tol(ts, &t)) {
            fprintf(stderr, "%s:%d: error: %s: tolerance: expected a number >= 0 or a percentage "
                            "like 3%%, got '%s'\n",
                    path, csvtable_line(base, r), csvtable_get(base, r, bm), ts);
            return false;
        }
    }
    return true;
}

/* A metric's tolerance: --tol, the baseline's column (ts), --default-tol, the built-in. */
static Tol compare_tolerance(CompareArgs *a, const char *metric, const char *ts) {
    Tol tol = a->have_default ? a->default_tol : compare_builtin_tol(metric);
    if (*ts)
        compare_parse_tol(ts, &tol);
    for (int k = 0; k < a->nover; k++)
        if ((int)strlen(metric) == a->over[k].len &&
            strncmp(a->over[k].metric, metric, (size_t)a->over[k].len) == 0) {
            tol = a->over[k].tol;
            a->over[k].used = true;
        }
    return tol;
}

/* The verdict on a current value now against baseline b (row->now, delta filled). */
static const char *compare_judge(Row *row, double b, double now, Tol tol, Counts *n) {
    snprintf(row->now, sizeof row->now, "%.6g", now);
    double d = now - b;
    row->cur = now;
    row->has_cur = true;
    row->d = d;
    row->has_d = isfinite(d);
    if (tol.relative && b != 0)
        snprintf(row->delta, sizeof row->delta, "%+.3g (%+.2f%%)", d, 100.0 * d / fabs(b));
    else
        snprintf(row->delta, sizeof row->delta, "%+.3g", d);
    double limit = tol.relative ? tol.v / 100.0 * fabs(b) : tol.v;
    /* A hair of slack so that a difference equal to the tolerance, as printed, passes. */
    double slack = 1e-9 * fmax(1.0, fabs(b));
    if (isfinite(d) && fabs(d) <= limit + slack) {
        n->ok++;
        return "ok";
    }
    if (isfinite(d) && compare_direction(row->metric) * d > 0) {
        n->imp++;
        return "IMPROVED";
    }
    n->reg++;
    return "REGRESSION";
}

/* The row of baseline metric r. */
static void compare_baseline_row(CompareArgs *a, const Tables *t, int r, Row *row, Counts *n) {
    row->metric = csvtable_get(t->base, r, t->bm);
    double b = 0, now = 0;
    csvtable_get_num(t->base, r, t->bv, &b);
    snprintf(row->base, sizeof row->base, "%.6g", b);
    row->b = b;
    row->has_b = true;
    Tol tol = compare_tolerance(a, row->metric, t->bt >= 0 ? csvtable_get(t->base, r, t->bt) : "");
    compare_format_tol(row->tol, sizeof row->tol, tol);

    int q = compare_find(t->cur, t->cm, row->metric);
    if (q < 0) {
        snprintf(row->now, sizeof row->now, "-");
        snprintf(row->delta, sizeof row->delta, "-");
        row->verdict = "missing";
        row->note = "not in the run";
        n->miss++;
        return;
    }
    const char *ns = csvtable_get(t->cur, q, t->cv);
    if (!csvtable_get_num(t->cur, q, t->cv, &now) || isnan(now)) {
        compare_clip(row->now, sizeof row->now, *ns ? ns : "(empty)");
        snprintf(row->delta, sizeof row->delta, "-");
        row->verdict = "REGRESSION";
        row->note = "not a number";
        n->reg++;
        return;
    }
    row->verdict = compare_judge(row, b, now, tol, n);
}

/* The row of a metric only CURRENT has (row q). */
static void compare_new_row(const CsvTable *cur, int cm, int cv, int q, Row *row) {
    row->metric = csvtable_get(cur, q, cm);
    double v;
    const char *ns = csvtable_get(cur, q, cv);
    row->note = "not in the baseline";
    if (csvtable_get_num(cur, q, cv, &v)) {
        snprintf(row->now, sizeof row->now, "%.6g", v);
        row->cur = v;
        row->has_cur = true;
    } else {
        compare_clip(row->now, sizeof row->now, ns);
    }
    snprintf(row->base, sizeof row->base, "-");
    snprintf(row->delta, sizeof row->delta, "-");
    snprintf(row->tol, sizeof row->tol, "-");
    row->verdict = "new";
}

/* The table: metric left-aligned, numbers right-aligned, verdict last; then the summary. */
static void compare_text(StrBuf *b, const CompareReport *r) {
    int w[5] = {(int)strlen("metric"), (int)strlen("baseline"), (int)strlen("now"),
                (int)strlen("delta"), (int)strlen("tolerance")};
    const Row *rows = r->rows;
    for (int i = 0; i < r->nrows; i++) {
        const char *cells[5] = {rows[i].metric, rows[i].base, rows[i].now, rows[i].delta,
                                rows[i].tol};
        for (int j = 0; j < 5; j++)
            if ((int)strlen(cells[j]) > w[j])
                w[j] = (int)strlen(cells[j]);
    }
    strbuf_printf(b, "%-*s  %*s  %*s  %*s  %*s  %s\n", w[0], "metric", w[1], "baseline", w[2],
                  "now", w[3], "delta", w[4], "tolerance", "verdict");
    for (int i = 0; i < r->nrows; i++)
        strbuf_printf(b, "%-*s  %*s  %*s  %*s  %*s  %s\n", w[0], rows[i].metric, w[1],
                      rows[i].base, w[2], rows[i].now, w[3], rows[i].delta, w[4], rows[i].tol,
                      rows[i].verdict);
    const Counts *n = &r->n;
    strbuf_printf(b, "%d metric%s compared: %d ok, %d REGRESSION, %d IMPROVED, %d missing; %d new\n",
                  r->nb, r->nb == 1 ? "" : "s", n->ok, n->reg, n->imp, n->miss, n->added);
    if (n->imp > 0)
        strbuf_printf(b, "IMPROVED means outside the tolerance in the good direction: if the "
                         "change is intended, update %s\n",
                      r->base);
}

bool compare_row_fails(const Row *r) {
    return strcmp(r->verdict, "ok") != 0 && strcmp(r->verdict, "new") != 0;
}

/* The report in `format` (not text) appended to b. */
static void compare_format(StrBuf *b, const char *format, const CompareReport *r) {
    if (strcmp(format, "json") == 0)
        compare_json(b, r);
    else if (strcmp(format, "markdown") == 0)
        compare_markdown(b, r);
    else
        compare_junit(b, r);
}

/* Writes the report where the options say: on stdout the text table, or the report in
 * --format when there is no -o FILE; in FILE the report in --format; for GitHub Actions
 * (GITHUB_STEP_SUMMARY set) the Markdown report appended to that file and one error command
 * per failing metric on stdout. Returns COMPARE_EXIT_OK, or COMPARE_EXIT_USAGE after a write
 * error (printed). */
static int compare_emit(const CompareArgs *a, const CompareReport *r) {
    StrBuf text = {0}, rep = {0}, md = {0};
    compare_text(&text, r);
    if (strcmp(a->format, "text") == 0)
        strbuf_printf(&rep, "%s", text.s);
    else
        compare_format(&rep, a->format, r);
    fputs(a->output ? text.s : rep.s, stdout);
    fflush(stdout);
    AeError err;
    bool ok = !a->output || report_write(&rep, a->output, false, &err);
    const char *summary = getenv("GITHUB_STEP_SUMMARY");
    if (ok && summary && *summary) {
        compare_markdown(&md, r);
        ok = report_write(&md, summary, true, &err);
        compare_github_errors(stdout, r);
        fflush(stdout);
    }
    if (!ok)
        fprintf(stderr, "%s\n", err.msg);
    strbuf_free(&text);
    strbuf_free(&rep);
    strbuf_free(&md);
    return ok ? COMPARE_EXIT_OK : COMPARE_EXIT_USAGE;
}

/* Both tables read and the baseline checked: the rows, the warnings, the table. */
static int compare_tables(CompareArgs *a, const Tables *t) {
    int nb = csvtable_nrows(t->base), nc = csvtable_nrows(t->cur);
    Row *rows = calloc((size_t)(nb + nc), sizeof *rows);
    if (!rows) {
        fprintf(stderr, "aelab compare: error: out of memory\n");
        return COMPARE_EXIT_USAGE;
    }
    Counts n = {0};
    int nrows = 0;
    for (int r = 0; r < nb; r++)
        compare_baseline_row(a, t, r, &rows[nrows++], &n);
    for (int q = 0; q < nc; q++)
        if (compare_find(t->base, t->bm, csvtable_get(t->cur, q, t->cm)) < 0) {
            compare_new_row(t->cur, t->cm, t->cv, q, &rows[nrows++]);
            n.added++;
        }
    for (int k = 0; k < a->nover; k++)
        if (!a->over[k].used)
            fprintf(stderr, "aelab compare: warning: --tol %.*s: no such metric in %s\n",
                    a->over[k].len, a->over[k].metric, a->base_path);
    CompareReport rep = {rows, nrows, nb, n, a->name, a->base_path, a->current};
    int status = compare_emit(a, &rep);
    free(rows);
    if (status != COMPARE_EXIT_OK)
        return status;
    return (n.reg || n.imp || n.miss) ? COMPARE_EXIT_REGRESSION : COMPARE_EXIT_OK;
}

/* The report's name: --name, else the baseline's file name without its directory and .csv. */
static void compare_default_name(CompareArgs *a, char *buf, size_t n) {
    if (a->name)
        return;
    const char *base = strrchr(a->base_path, '/');
    base = base && base[1] ? base + 1 : a->base_path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".csv") == 0)
        len -= 4;
    snprintf(buf, n, "%.*s", (int)len, base);
    a->name = buf;
}

int compare_main(int argc, char **argv) {
    CompareArgs a = {.format = "text"};
    char name[256];
    int status = compare_parse_args(argc, argv, &a);
    if (status != COMPARE_GO_ON)
        return status;
    compare_default_name(&a, name, sizeof name);

    status = COMPARE_EXIT_USAGE;
    Tables t = {0};
    t.base = compare_read(a.base_path, &t.bm, &t.bv);
    if (!t.base)
        goto done;
    t.cur = compare_read(a.current, &t.cm, &t.cv);
    if (!t.cur)
        goto done;
    if (csvtable_nrows(t.base) == 0) {
        fprintf(stderr, "%s: error: the baseline lists no metrics\n", a.base_path);
        goto done;
    }
    t.bt = csvtable_col(t.base, "tolerance");
    char label[4096];
    if (!compare_check_baseline(t.base, compare_label(a.base_path, label, sizeof label), t.bm,
                                t.bv, t.bt))
        goto done;
    status = compare_tables(&a, &t);
done:
    csvtable_free(t.base);
    csvtable_free(t.cur);
    return status;
}
