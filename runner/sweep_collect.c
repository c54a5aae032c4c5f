/* runner/sweep_collect.c — the sweep's tables, from the points' run directories whatever state
 * they are in: ROOT/sweep.csv (one row per point) and, when seeds vary, ROOT/sweep_by_params.csv
 * (mean and std across the seeds); then the plot (runner/sweep_plot.c). Columns: see
 * sweep_collect in sweep.h.
 */
#include "sweep_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "plots.h"

#define SWEEP_COLLECT_TAIL 6 /* lines of a point's log that --collect shows */

/* ---- the points' results ---- */

/* The index of metric name in names, or -1. */
static int metric_find(const StrList *names, const char *name) {
    for (int i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0) return i;
    return -1;
}

double sweep_result_num(const PointResult *r, const char *metric) {
    if (!r->summary) return NAN;
    int cm = csvtable_col(r->summary, "metric"), cv = csvtable_col(r->summary, "value");
    for (int i = 0; i < csvtable_nrows(r->summary); i++)
        if (strcmp(csvtable_get(r->summary, i, cm), metric) == 0) {
            double v;
            return csvtable_get_num(r->summary, i, cv, &v) ? v : NAN;
        }
    return NAN;
}

/* The metric's text in a point's summary, or "" (borrowed from r->summary). */
static const char *result_text(const PointResult *r, const char *metric) {
    if (!r->summary) return "";
    int cm = csvtable_col(r->summary, "metric"), cv = csvtable_col(r->summary, "value");
    for (int i = 0; i < csvtable_nrows(r->summary); i++)
        if (strcmp(csvtable_get(r->summary, i, cm), metric) == 0) return csvtable_get(r->summary, i, cv);
    return "";
}

bool sweep_same_others(const Sweep *s, int a, int b, int except) {
    for (int i = 0; i < s->nparams; i++)
        if (i != except && !sweep_is_seed_param(s, i) &&
            strcmp(sweep_point_value(s, a, i), sweep_point_value(s, b, i)) != 0)
            return false;
    return true;
}

void sweep_mean_std(const double *v, int n, double *mean, double *sd) {
    double m = 0, q = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m = n ? m / n : NAN;
    for (int i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

/* ---- sweep_by_params.csv ---- */

/* One row per combination of the parameters other than the seed: them, n (points ok), then
 * METRIC_mean and METRIC_std of every metric. */
static bool write_by_params(const Sweep *s, const PointResult *res, const StrList *metrics,
                            const char *path, AeError *err) {
    int nother = 0;
    for (int i = 0; i < s->nparams; i++) nother += !sweep_is_seed_param(s, i);
    int ncols = nother + 1 + 2 * metrics->n;
    const char **hdr = ae_xmalloc((size_t)ncols * sizeof *hdr);
    StrList names = {0};
    int c = 0;
    for (int i = 0; i < s->nparams; i++)
        if (!sweep_is_seed_param(s, i)) hdr[c++] = sweep_param_key(s, i);
    hdr[c++] = "n";
    for (int m = 0; m < metrics->n; m++) {
        StrBuf a = {0}, b = {0};
        strbuf_printf(&a, "%s_mean", metrics->v[m]);
        strbuf_printf(&b, "%s_std", metrics->v[m]);
        sweep_strlist_push(&names, a.s);
        sweep_strlist_push(&names, b.s);
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
            if (!seen[j] && sweep_same_others(s, k, j, -1)) {
                seen[j] = true;
                members[nm++] = j;
                nok += res[j].summary != NULL;
            }
        int row = csvtable_add_row(t, NULL);
        c = 0;
        for (int i = 0; i < s->nparams; i++)
            if (!sweep_is_seed_param(s, i)) csvtable_set_str(t, row, c++, sweep_point_value(s, k, i));
        csvtable_set_int(t, row, c++, nok);
        for (int m = 0; m < metrics->n; m++, c += 2) {
            int nv = 0;
            for (int j = 0; j < nm; j++) {
                double v = sweep_result_num(&res[members[j]], metrics->v[m]);
                if (!isnan(v)) vals[nv++] = v;
            }
            double mean, sd;
            sweep_mean_std(vals, nv, &mean, &sd);
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

/* ---- sweep.csv ---- */

/* Reads every point's status and, for the ok ones, its summary.csv (one it cannot read makes the
 * point "failed", printed); the metrics' names go to metrics in order of first appearance.
 * Returns the number of ok points. */
static int read_results(const Sweep *s, PointResult *res, StrList *metrics) {
    int nok = 0;
    for (int k = 0; k < s->npoints; k++) {
        res[k].st = sweep_status_read(s, k);
        res[k].state = sweep_point_state(s, k, &res[k].st);
        if (strcmp(res[k].state, "ok") != 0) continue;
        char path[SWEEP_PATH_MAX + 32];
        sweep_status_path(s, k, path, sizeof path, "summary.csv");
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
        for (int r = 0; r < csvtable_nrows(res[k].summary); r++) {
            const char *name = csvtable_get(res[k].summary, r, cm);
            if (metric_find(metrics, name) < 0) sweep_strlist_push(metrics, xstrdup(name));
        }
    }
    return nok;
}

/* The table of sweep.csv: point, the parameters, the status columns, the run directory (relative
 * to ROOT), then every metric. */
static CsvTable *results_table(const Sweep *s, const PointResult *res, const StrList *metrics) {
    static const char *const fixed[] = {"status", "exit_code", "seconds", "stages_trained",
                                        "stages_reused", "run_dir"};
    int nfixed = (int)(sizeof fixed / sizeof *fixed);
    int ncols = 1 + s->nparams + nfixed + metrics->n;
    const char **hdr = ae_xmalloc((size_t)ncols * sizeof *hdr);
    int c = 0;
    hdr[c++] = "point";
    for (int i = 0; i < s->nparams; i++) hdr[c++] = sweep_param_key(s, i);
    for (int i = 0; i < nfixed; i++) hdr[c++] = fixed[i];
    for (int i = 0; i < metrics->n; i++) hdr[c++] = metrics->v[i];
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
        for (int i = 0; i < metrics->n; i++)
            csvtable_set_str(t, row, c++, result_text(r, metrics->v[i]));
    }
    return t;
}

/* ---- the points that are not complete (--collect) ---- */

void sweep_print_log_tail(const char *path, int nlines) {
    AeError err;
    char *text = fs_read_file(path, NULL, &err);
    if (!text) return;
    int nl = 0;
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') text[--n] = '\0';
    size_t i = n;
    while (i > 0 && nl < nlines) {
        i--;
        if (text[i] == '\n') nl++;
    }
    const char *p = text + i + (text[i] == '\n');
    for (char *line = strtok((char *)p, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(stderr, "      | %s\n", line);
    free(text);
}

/* A point's newest log: its path (new) and modification time. */
typedef struct PointLog {
    char *path;
    time_t mtime;
} PointLog;

/* Keeps path as point k's log when it is newer than the one found so far. */
static void log_offer(PointLog *logs, int k, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || (logs[k].path && st.st_mtime < logs[k].mtime)) return;
    free(logs[k].path);
    logs[k].path = xstrdup(path);
    logs[k].mtime = st.st_mtime;
}

/* Every point's newest log: the stderr.log in its run directory (the driver's) or a Slurm task's
 * ROOT/sweep/slurm-JOB_TASK[+OFFSET].out, which is point TASK+OFFSET. A new array. */
static PointLog *point_logs(const Sweep *s) {
    PointLog *logs = ae_xcalloc((size_t)s->npoints, sizeof *logs);
    char path[SWEEP_PATH_MAX + 300];
    for (int k = 0; k < s->npoints; k++) {
        sweep_status_path(s, k, path, sizeof path, SWEEP_LOG_FILE);
        log_offer(logs, k, path);
    }
    snprintf(path, sizeof path, "%s/sweep", s->root);
    DIR *dir = opendir(path);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        unsigned long job, task, off = 0;
        int end = 0;
        if (sscanf(e->d_name, "slurm-%lu_%lu%n", &job, &task, &end) < 2) continue;
        if (e->d_name[end] == '+') {
            int more = 0;
            if (sscanf(e->d_name + end, "+%lu%n", &off, &more) < 1) continue;
            end += more;
        }
        if (strcmp(e->d_name + end, ".out") != 0 || task + off >= (unsigned long)s->npoints)
            continue;
        snprintf(path, sizeof path, "%s/sweep/%s", s->root, e->d_name);
        log_offer(logs, (int)(task + off), path);
    }
    if (dir) closedir(dir);
    return logs;
}

/* Names every point that is not ok on stderr, with its state and its newest log's last lines;
 * then their indices as an --array= list, and how to run them again, on stdout. */
static void explain_incomplete(const Sweep *s, const SweepOptions *opt, const PointResult *res) {
    fflush(stdout); /* what was written comes first */
    PointLog *logs = point_logs(s);
    bool *todo = ae_xcalloc((size_t)s->npoints, sizeof *todo);
    for (int k = 0; k < s->npoints; k++) {
        if (strcmp(res[k].state, "ok") == 0) {
            free(logs[k].path); /* complete points have logs too */
            continue;
        }
        todo[k] = true;
        StrBuf pp = {0};
        sweep_point_params(s, k, &pp);
        fprintf(stderr, "aelab: point %d (%s): %s", k, pp.s ? pp.s : "", res[k].state);
        if (strcmp(res[k].state, "failed") == 0 && res[k].st.exit_code > 0)
            fprintf(stderr, " with exit code %d", res[k].st.exit_code);
        if (logs[k].path) {
            fprintf(stderr, "; log %s:\n", logs[k].path);
            sweep_print_log_tail(logs[k].path, SWEEP_COLLECT_TAIL);
        } else {
            fprintf(stderr, "; no log\n");
        }
        free(pp.s);
        free(logs[k].path);
    }
    free(logs);
    if (!opt->quiet) {
        StrBuf list = {0}, again = {0};
        sweep_array_list(todo, 0, s->npoints, 0, &list);
        sweep_emit_prefix(s, opt, &again, false);
        printf("not complete: --array=%s\nto run them again: %s --emit slurm --missing (with the "
               "options of the first --emit), or the same sweep without --collect\n", list.s,
               again.s);
        strbuf_free(&list);
        strbuf_free(&again);
    }
    free(todo);
}

/* ---- collecting ---- */

/* The plot of the metric, or a warning when no point has it. Returns 1 after an error (printed),
 * else 0. */
static int collect_plot(const Sweep *s, const SweepOptions *opt, const PointResult *res,
                        const StrList *metrics, const char *metric) {
    if (metric_find(metrics, metric) < 0) {
        const char *near = diag_nearest(metric, (const char *const *)metrics->v, metrics->n);
        fprintf(stderr, "aelab: warning: no point has the metric '%s'%s%s%s; no plot\n", metric,
                near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return 0;
    }
    if (opt->no_plots) return 0;
    bool drawn;
    AeError err;
    if (!sweep_plot_write(s, res, metric, &drawn, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (drawn && !opt->quiet)
        printf("wrote %s/sweep_plots/%s.gp%s\n", s->root, metric,
               plots_have_gnuplot() ? " and .png" : " (no gnuplot: no PNG)");
    return 0;
}

/* The metric the sweep is judged by: --metric, else a validation metric when the points have
 * one (val_accuracy, then val_loss), else test_accuracy. Choosing by a test metric while
 * validation metrics exist is selection on the test set: a warning says so. */
static const char *pick_metric(const SweepOptions *opt, const StrList *metrics) {
    bool have_val = false;
    for (int i = 0; i < metrics->n; i++) have_val |= strstr(metrics->v[i], "val_") != NULL;
    const char *m = opt->metric;
    if (!m) m = metric_find(metrics, "val_accuracy") >= 0 ? "val_accuracy"
                : metric_find(metrics, "val_loss") >= 0   ? "val_loss"
                                                          : "test_accuracy";
    if (have_val && strstr(m, "test_"))
        fprintf(stderr, "aelab: warning: selecting by the test metric '%s' although the points "
                        "have validation metrics: that is selection on the test set; use "
                        "--metric val_accuracy or val_loss\n", m);
    return m;
}

/* Lower is better for losses and errors, higher for the rest (accuracies). */
static bool metric_lower_better(const char *m) {
    return strstr(m, "loss") || strstr(m, "mse") || strstr(m, "error");
}

/* Prints the best complete point by the metric, and which metric that was. */
static void print_best(const Sweep *s, const PointResult *res, const char *metric) {
    bool lower = metric_lower_better(metric);
    int best = -1;
    double bv = NAN;
    for (int k = 0; k < s->npoints; k++) {
        double v = sweep_result_num(&res[k], metric);
        if (isnan(v)) continue;
        if (best < 0 || (lower ? v < bv : v > bv)) best = k, bv = v;
    }
    if (best < 0) return;
    StrBuf pp = {0};
    sweep_point_params(s, best, &pp);
    printf("best point by %s (%s, %s is better): point %d (%s), %s %.9g\n", metric,
           strstr(metric, "val_") ? "validation" : strstr(metric, "test_") ? "test set" : "summary",
           lower ? "lower" : "higher", best, pp.s ? pp.s : "", metric, bv);
    strbuf_free(&pp);
}

int sweep_collect(const Sweep *s, const SweepOptions *opt) {
    bool quiet = opt->quiet;
    PointResult *res = ae_xcalloc((size_t)s->npoints, sizeof *res);
    StrList metrics = {0};
    int rc = 0;
    int nok = read_results(s, res, &metrics);
    const char *metric = pick_metric(opt, &metrics);
    CsvTable *t = results_table(s, res, &metrics);
    AeError err;
    char path[SWEEP_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/sweep.csv", s->root);
    if (!fs_mkdir_p(s->root, &err) || !csvtable_write_atomic(t, path, &err)) {
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
    if (nok && !quiet) print_best(s, res, metric);
    if (nok && collect_plot(s, opt, res, &metrics, metric)) rc = 1;
    if (nok < s->npoints) {
        int nmissing = 0;
        for (int k = 0; k < s->npoints; k++) nmissing += strcmp(res[k].state, "ok") != 0;
        if (!quiet)
            printf("%d of %d points are not complete (see the status column)\n", nmissing, s->npoints);
        if (opt->explain) explain_incomplete(s, opt, res);
        if (rc == 0) rc = 1;
    }
out:
    csvtable_free(t);
    for (int k = 0; k < s->npoints; k++) csvtable_free(res[k].summary);
    free(res);
    sweep_values_free(metrics.v, metrics.n);
    return rc;
}
