/* runner/report_baseline.c — `aelab baseline`: a run's summary turned into a baseline for
 * `aelab compare` (contract in report.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopt.h"
#include "compare_internal.h"
#include "fsutil.h"
#include "report.h"

#define BASELINE_MAX_TOL 256
#define BASELINE_GO_ON (-1)

static const char baseline_usage[] =
    "usage: aelab baseline RUN [--acc N] [--rel TOL] [--no-per-class] [--tol METRIC=TOL]...\n"
    "                      [-o FILE]\n"
    "\n"
    "Writes a baseline for `aelab compare` (metric,value,tolerance) from a run's summary.\n"
    "  RUN                 a run directory, a summary.csv or a sweep directory (its points'\n"
    "                      metrics, named POINT_DIR/METRIC)\n"
    "  --acc N             tolerance of the accuracies, in points (default 1.0); per-class\n"
    "                      accuracies (class_K_accuracy) get twice that\n"
    "  --rel TOL           tolerance of every other metric (default 3%)\n"
    "  --no-per-class      leave the per-class accuracies out (compare then lists them as new)\n"
    "  --tol METRIC=TOL    the tolerance of one metric (after the rules above); repeatable\n"
    "  -o, --output FILE   write the baseline to FILE (atomically) instead of stdout\n"
    "  -h, --help          this text\n"
    "\n"
    "TOL is an absolute difference (0.5) or a percentage of the value (3%).\n"
    "Exit status: 0 written; 2 a usage error, an unreadable RUN, a --tol naming no metric of\n"
    "RUN, or a value that is not a finite number.\n";

typedef struct BaselineArgs {
    const char *run, *output, *acc, *rel;
    const char *tol[BASELINE_MAX_TOL]; /* METRIC=TOL, borrowed from argv */
    bool tol_used[BASELINE_MAX_TOL];
    int ntol;
    bool per_class;
} BaselineArgs;

enum { OPT_ACC = CLI_LONG_ONLY, OPT_REL, OPT_NO_PER_CLASS, OPT_TOL };

static int baseline_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab baseline: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run `aelab baseline --help` for the usage)\n");
    return 2;
}

/* One option with its value v (NULL: missing). Returns BASELINE_GO_ON or the exit status. */
static int baseline_option(BaselineArgs *a, int opt, const char *v, const char *spelt) {
    Tol t;
    if (!v)
        return baseline_usage_error("%s needs a value", spelt);
    if (opt == 'o') {
        a->output = v;
    } else if (opt == OPT_ACC) {
        if (!compare_parse_tol(v, &t) || t.relative)
            return baseline_usage_error("--acc: expected a number of points >= 0, got '%s'", v);
        a->acc = v;
    } else if (opt == OPT_REL) {
        if (!compare_parse_tol(v, &t))
            return baseline_usage_error("--rel: expected a tolerance like 3%% or 0.5, got '%s'",
                                        v);
        a->rel = v;
    } else {
        const char *eq = strrchr(v, '=');
        if (!eq || eq == v || !compare_parse_tol(eq + 1, &t))
            return baseline_usage_error("--tol expects METRIC=TOL (TOL like 0.5 or 3%%), got '%s'",
                                        v);
        if (a->ntol == BASELINE_MAX_TOL)
            return baseline_usage_error("too many --tol options (at most %s)", "256");
        a->tol[a->ntol++] = v;
    }
    return BASELINE_GO_ON;
}

static int baseline_parse_args(int argc, char **argv, BaselineArgs *a) {
    static const struct option longs[] = {{"acc", required_argument, NULL, OPT_ACC},
                                          {"rel", required_argument, NULL, OPT_REL},
                                          {"no-per-class", no_argument, NULL, OPT_NO_PER_CLASS},
                                          {"tol", required_argument, NULL, OPT_TOL},
                                          {"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "ho:", longs);
    int rc = BASELINE_GO_ON;
    for (int c; rc == BASELINE_GO_ON && (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(baseline_usage, stdout);
            return 0;
        } else if (c == CLI_BAD) {
            return baseline_usage_error("%s", p.error);
        } else if (c == CLI_ARG) {
            if (a->run)
                return baseline_usage_error("unexpected argument '%s' (expected one RUN)", p.arg);
            a->run = p.arg;
        } else if (p.opt == OPT_NO_PER_CLASS) {
            a->per_class = false;
        } else {
            rc = baseline_option(a, p.opt, p.arg, p.name);
        }
    }
    if (rc == BASELINE_GO_ON && !a->run)
        return baseline_usage_error("%s", "missing RUN (a run directory or a summary.csv)");
    return rc;
}

/* class_K_accuracy, K one or more digits. */
static bool baseline_is_class(const char *m) {
    if (strncmp(m, "class_", 6) != 0)
        return false;
    const char *p = m + 6;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, "_accuracy") == 0;
}

static bool baseline_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The metric's tolerance text into buf (the rules in report.h). */
static const char *baseline_tol(BaselineArgs *a, const char *metric, char *buf, size_t n) {
    const char *base = strrchr(metric, '/'); /* a sweep point's metric: the name after it */
    base = base ? base + 1 : metric;
    if (baseline_is_class(base))
        snprintf(buf, n, "%g", 2 * strtod(a->acc, NULL));
    else
        snprintf(buf, n, "%s", baseline_ends_with(base, "accuracy") ? a->acc : a->rel);
    for (int k = 0; k < a->ntol; k++) {
        const char *eq = strrchr(a->tol[k], '=');
        if ((size_t)(eq - a->tol[k]) == strlen(metric) &&
            strncmp(a->tol[k], metric, strlen(metric)) == 0) {
            snprintf(buf, n, "%s", eq + 1);
            a->tol_used[k] = true;
        }
    }
    return buf;
}

/* Appends s as one CSV field, quoted when it needs it. */
static void baseline_field(StrBuf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t') {
        strbuf_printf(b, "%s", s);
        return;
    }
    strbuf_printf(b, "\"");
    for (; *s; s++)
        strbuf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    strbuf_printf(b, "\"");
}

/* The baseline's text from the table t. Returns false after printing why not. */
static bool baseline_build(BaselineArgs *a, const CsvTable *t, int cm, int cv, StrBuf *b) {
    strbuf_printf(b, "metric,value,tolerance\n");
    for (int r = 0; r < csvtable_nrows(t); r++) {
        const char *m = csvtable_get(t, r, cm), *base = strrchr(m, '/');
        if (!a->per_class && baseline_is_class(base ? base + 1 : m))
            continue;
        double v;
        if (!csvtable_get_num(t, r, cv, &v) || !isfinite(v)) {
            fprintf(stderr, "%s: error: %s: value '%s' is not a finite number; a baseline cannot "
                            "hold it\n",
                    a->run, m, csvtable_get(t, r, cv));
            return false;
        }
        char tol[64];
        baseline_field(b, m);
        strbuf_printf(b, ",%s,%s\n", csvtable_get(t, r, cv), baseline_tol(a, m, tol, sizeof tol));
    }
    for (int k = 0; k < a->ntol; k++)
        if (!a->tol_used[k]) {
            fprintf(stderr, "%s: error: --tol %.*s: no such metric in the summary\n", a->run,
                    (int)(strrchr(a->tol[k], '=') - a->tol[k]), a->tol[k]);
            return false;
        }
    return true;
}

int report_baseline_main(int argc, char **argv) {
    BaselineArgs a = {.acc = "1.0", .rel = "3%", .per_class = true};
    int rc = baseline_parse_args(argc, argv, &a);
    if (rc != BASELINE_GO_ON)
        return rc;
    AeError err;
    StrBuf b = {0};
    rc = 2;
    CsvTable *t = report_read_metrics(a.run, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        return rc;
    }
    int cm = csvtable_col(t, "metric"), cv = csvtable_col(t, "value");
    if (cm < 0 || cv < 0)
        fprintf(stderr, "%s: error: expected the columns metric,value\n", a.run);
    else if (baseline_build(&a, t, cm, cv, &b)) {
        if (!a.output) {
            fputs(b.s, stdout);
            rc = 0;
        } else if (report_write(&b, a.output, false, &err)) {
            rc = 0;
        } else {
            fprintf(stderr, "%s\n", err.msg);
        }
    }
    strbuf_free(&b);
    csvtable_free(t);
    return rc;
}
