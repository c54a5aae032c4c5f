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

#include "csvout.h"
#include "fsutil.h"

#define COMPARE_EXIT_OK 0
#define COMPARE_EXIT_USAGE 2
#define COMPARE_EXIT_REGRESSION 3
#define COMPARE_MAX_TOL 256

static const char compare_usage[] =
    "usage: aelab compare BASELINE CURRENT [--tol METRIC=TOL]... [--default-tol TOL]\n"
    "\n"
    "Compares a run's final figures with a baseline; fails on a regression.\n"
    "  BASELINE            CSV with columns metric,value[,tolerance]\n"
    "  CURRENT             a run directory (its summary.csv) or a summary.csv (metric,value)\n"
    "  TOL                 an absolute difference (0.5) or a percentage of the baseline (3%)\n"
    "  --tol METRIC=TOL    the tolerance for one metric (overrides the baseline's column)\n"
    "  --default-tol TOL   the tolerance for metrics without one (built in: 0.5 for *accuracy,\n"
    "                      in percent points; 3% for every other metric)\n"
    "  -h, --help          this text\n"
    "\n"
    "Verdicts: ok; REGRESSION (outside the tolerance, the bad way); IMPROVED (outside the\n"
    "tolerance, the good way: update the baseline); missing (not in CURRENT); new (only in\n"
    "CURRENT, does not fail).\n"
    "Exit status: 0 every baseline metric present and within tolerance; 3 a REGRESSION,\n"
    "IMPROVED or missing metric; 2 a usage error or an unreadable or malformed file.\n";

typedef struct Tol {
    double v;
    bool relative; /* v is a percentage of |baseline| */
} Tol;

typedef struct TolOverride {
    const char *metric; /* borrowed from argv: the text before the last '=' */
    int len;
    Tol tol;
    bool used;
} TolOverride;

/* One line of the table; strings are formatted once so the widths can be measured. */
typedef struct Row {
    const char *metric; /* borrowed from a table */
    char base[32], now[48], delta[48], tol[32];
    const char *verdict;
} Row;

static int compare_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab compare: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run `aelab compare --help` for the usage)\n");
    return COMPARE_EXIT_USAGE;
}

/* Parses "0.5" or "3%" (>= 0, finite). */
static bool compare_parse_tol(const char *s, Tol *out) {
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

/* Reads a metric table; checks the columns and that metric names are present and unique.
 * Returns NULL after printing the error. */
static CsvTable *compare_read(const char *path, int *c_metric, int *c_value) {
    AeError err;
    CsvTable *t = csvtable_read(path, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
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

int compare_main(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    TolOverride over[COMPARE_MAX_TOL];
    int nover = 0;
    Tol default_tol = {0, false};
    bool have_default = false;
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && a[0] == '-' && a[1]) {
            if (strcmp(a, "--") == 0) {
                options_done = true;
            } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                fputs(compare_usage, stdout);
                return COMPARE_EXIT_OK;
            } else if (strcmp(a, "--tol") == 0 || strncmp(a, "--tol=", 6) == 0) {
                const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v)
                    return compare_usage_error("%s needs METRIC=TOL", a);
                const char *eq = strrchr(v, '=');
                if (!eq || eq == v)
                    return compare_usage_error("--tol expects METRIC=TOL, got '%s'", v);
                if (nover == COMPARE_MAX_TOL)
                    return compare_usage_error("too many --tol options (at most %s)", "256");
                Tol t;
                if (!compare_parse_tol(eq + 1, &t))
                    return compare_usage_error(
                        "--tol %s: expected a tolerance >= 0 like 0.5 or 3%%", v);
                over[nover++] = (TolOverride){v, (int)(eq - v), t, false};
            } else if (strcmp(a, "--default-tol") == 0 || strncmp(a, "--default-tol=", 14) == 0) {
                const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v)
                    return compare_usage_error("%s needs a tolerance like 0.5 or 3%%", a);
                if (!compare_parse_tol(v, &default_tol))
                    return compare_usage_error(
                        "--default-tol: expected a tolerance >= 0 like 0.5 or 3%%, got '%s'", v);
                have_default = true;
            } else {
                return compare_usage_error("unknown option '%s'", a);
            }
            continue;
        }
        if (npos == 2)
            return compare_usage_error("unexpected argument '%s' (expected BASELINE CURRENT)", a);
        pos[npos++] = a;
    }
    if (npos < 2)
        return compare_usage_error("%s", npos == 0 ? "missing BASELINE and CURRENT"
                                                   : "missing CURRENT (a run directory or a "
                                                     "summary.csv)");

    const char *base_path = pos[0];
    char cur_path[4096];
    if (fs_is_dir(pos[1])) {
        int k = snprintf(cur_path, sizeof cur_path, "%s/summary.csv", pos[1]);
        if (k < 0 || k >= (int)sizeof cur_path)
            return compare_usage_error("path too long: %s", pos[1]);
        if (!fs_exists(cur_path)) {
            fprintf(stderr, "%s: error: no summary.csv in this run directory (did the run reach "
                            "its evaluate stage?)\n",
                    pos[1]);
            return COMPARE_EXIT_USAGE;
        }
    } else {
        snprintf(cur_path, sizeof cur_path, "%s", pos[1]);
    }

    int status = COMPARE_EXIT_USAGE;
    Row *rows = NULL;
    int bm, bv, cm, cv;
    CsvTable *cur = NULL;
    CsvTable *base = compare_read(base_path, &bm, &bv);
    if (!base)
        goto done;
    cur = compare_read(cur_path, &cm, &cv);
    if (!cur)
        goto done;
    int bt = csvtable_col(base, "tolerance");
    int nb = csvtable_nrows(base), nc = csvtable_nrows(cur);
    if (nb == 0) {
        fprintf(stderr, "%s: error: the baseline lists no metrics\n", base_path);
        goto done;
    }

    /* Validate the whole baseline before printing anything. */
    for (int r = 0; r < nb; r++) {
        double v;
        Tol t;
        const char *vs = csvtable_get(base, r, bv);
        if (!csvtable_get_num(base, r, bv, &v) || !isfinite(v)) {
            fprintf(stderr, "%s:%d: error: %s: value: expected a finite number, got '%s'\n",
                    base_path, csvtable_line(base, r), csvtable_get(base, r, bm), vs);
            goto done;
        }
        const char *ts = bt >= 0 ? csvtable_get(base, r, bt) : "";
        if (*ts && !compare_parse_tol(ts, &t)) {
            fprintf(stderr, "%s:%d: error: %s: tolerance: expected a number >= 0 or a percentage "
                            "like 3%%, got '%s'\n",
                    base_path, csvtable_line(base, r), csvtable_get(base, r, bm), ts);
            goto done;
        }
    }

    rows = calloc((size_t)(nb + nc), sizeof *rows);
    if (!rows) {
        fprintf(stderr, "aelab compare: error: out of memory\n");
        goto done;
    }
    int nrows = 0, nok = 0, nreg = 0, nimp = 0, nmiss = 0, nnew = 0;
    for (int r = 0; r < nb; r++) {
        Row *row = &rows[nrows++];
        row->metric = csvtable_get(base, r, bm);
        double b = 0, now = 0;
        csvtable_get_num(base, r, bv, &b);
        snprintf(row->base, sizeof row->base, "%.6g", b);

        Tol tol = have_default ? default_tol : compare_builtin_tol(row->metric);
        const char *ts = bt >= 0 ? csvtable_get(base, r, bt) : "";
        if (*ts)
            compare_parse_tol(ts, &tol);
        for (int k = 0; k < nover; k++)
            if ((int)strlen(row->metric) == over[k].len &&
                strncmp(over[k].metric, row->metric, (size_t)over[k].len) == 0) {
                tol = over[k].tol;
                over[k].used = true;
            }
        compare_format_tol(row->tol, sizeof row->tol, tol);

        int q = compare_find(cur, cm, row->metric);
        if (q < 0) {
            snprintf(row->now, sizeof row->now, "-");
            snprintf(row->delta, sizeof row->delta, "-");
            row->verdict = "missing";
            nmiss++;
            continue;
        }
        const char *ns = csvtable_get(cur, q, cv);
        if (!csvtable_get_num(cur, q, cv, &now) || isnan(now)) {
            compare_clip(row->now, sizeof row->now, *ns ? ns : "(empty)");
            snprintf(row->delta, sizeof row->delta, "-");
            row->verdict = "REGRESSION";
            nreg++;
            continue;
        }
        snprintf(row->now, sizeof row->now, "%.6g", now);
        double d = now - b;
        if (tol.relative && b != 0)
            snprintf(row->delta, sizeof row->delta, "%+.3g (%+.2f%%)", d, 100.0 * d / fabs(b));
        else
            snprintf(row->delta, sizeof row->delta, "%+.3g", d);
        double limit = tol.relative ? tol.v / 100.0 * fabs(b) : tol.v;
        /* A hair of slack so that a difference equal to the tolerance, as printed, passes. */
        double slack = 1e-9 * fmax(1.0, fabs(b));
        if (isfinite(d) && fabs(d) <= limit + slack) {
            row->verdict = "ok";
            nok++;
        } else if (isfinite(d) && compare_direction(row->metric) * d > 0) {
            row->verdict = "IMPROVED";
            nimp++;
        } else {
            row->verdict = "REGRESSION";
            nreg++;
        }
    }
    for (int q = 0; q < nc; q++) {
        const char *m = csvtable_get(cur, q, cm);
        if (compare_find(base, bm, m) >= 0)
            continue;
        Row *row = &rows[nrows++];
        row->metric = m;
        double v;
        const char *ns = csvtable_get(cur, q, cv);
        if (csvtable_get_num(cur, q, cv, &v))
            snprintf(row->now, sizeof row->now, "%.6g", v);
        else
            compare_clip(row->now, sizeof row->now, ns);
        snprintf(row->base, sizeof row->base, "-");
        snprintf(row->delta, sizeof row->delta, "-");
        snprintf(row->tol, sizeof row->tol, "-");
        row->verdict = "new";
        nnew++;
    }
    for (int k = 0; k < nover; k++)
        if (!over[k].used)
            fprintf(stderr, "aelab compare: warning: --tol %.*s: no such metric in %s\n",
                    over[k].len, over[k].metric, base_path);

    /* The table: metric left-aligned, numbers right-aligned, verdict last. */
    int w[5] = {(int)strlen("metric"), (int)strlen("baseline"), (int)strlen("now"),
                (int)strlen("delta"), (int)strlen("tolerance")};
    for (int i = 0; i < nrows; i++) {
        const char *cells[5] = {rows[i].metric, rows[i].base, rows[i].now, rows[i].delta,
                                rows[i].tol};
        for (int j = 0; j < 5; j++)
            if ((int)strlen(cells[j]) > w[j])
                w[j] = (int)strlen(cells[j]);
    }
    printf("%-*s  %*s  %*s  %*s  %*s  %s\n", w[0], "metric", w[1], "baseline", w[2], "now", w[3],
           "delta", w[4], "tolerance", "verdict");
    for (int i = 0; i < nrows; i++)
        printf("%-*s  %*s  %*s  %*s  %*s  %s\n", w[0], rows[i].metric, w[1], rows[i].base, w[2],
               rows[i].now, w[3], rows[i].delta, w[4], rows[i].tol, rows[i].verdict);
    printf("%d metric%s compared: %d ok, %d REGRESSION, %d IMPROVED, %d missing; %d new\n", nb,
           nb == 1 ? "" : "s", nok, nreg, nimp, nmiss, nnew);
    if (nimp > 0)
        printf("IMPROVED means outside the tolerance in the good direction: if the change is "
               "intended, update %s\n",
               base_path);
    fflush(stdout);
    status = (nreg || nimp || nmiss) ? COMPARE_EXIT_REGRESSION : COMPARE_EXIT_OK;
done:
    free(rows);
    csvtable_free(base);
    csvtable_free(cur);
    return status;
}
