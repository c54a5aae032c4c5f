/* runner/sweep_plot.c — the sweep's picture: the metric against each swept parameter (one
 * panel each, the seed aside), one curve per combination of the other parameters, error bars =
 * the std across seeds, as ROOT/sweep_plots/METRIC.{dat,gp}; rendered to METRIC.png by
 * plots_render_dir when gnuplot exists. Strings in gnuplot scripts are single-quoted (only ''
 * is special there), as in runner/plots.c.
 */
#include "sweep_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsutil.h"
#include "plots.h"

static void str_putn(StrBuf *b, const char *s, size_t n) {
    if (n) strbuf_printf(b, "%.*s", (int)n, s);
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

/* Whether every value of parameter p parses as a number; then *lo, *hi: their range, and
 * *lo_pos the smallest positive one (INFINITY when none). */
static bool param_numeric(const Sweep *s, int p, double *lo, double *hi, double *lo_pos) {
    *lo = *lo_pos = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < s->npoints; k++) {
        double v;
        bool is_int;
        const char *t = sweep_point_value(s, k, p);
        if (!sweep_parse_num(t, strlen(t), &v, &is_int)) return false;
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
        if (v > 0) *lo_pos = fmin(*lo_pos, v);
    }
    return true;
}

bool sweep_plot_write(const Sweep *s, const PointResult *res, const char *metric, bool *drawn,
                      AeError *err) {
    *drawn = false;
    int panels[64], npanels = 0;
    for (int i = 0; i < s->nparams && npanels < 64; i++)
        if (!sweep_is_seed_param(s, i)) panels[npanels++] = i;
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
                if (sweep_same_others(s, c0, j, p)) curve_seen[j] = true;
            for (int i = 0; i < s->nparams; i++)
                if (i != p && !sweep_is_seed_param(s, i))
                    strbuf_printf(&label, "%s%s=%s", label.n ? ", " : "", sweep_param_key(s, i),
                               sweep_point_value(s, c0, i));
            memset(x_seen, 0, (size_t)s->npoints * sizeof *x_seen);
            int xi = 0, npts = 0;
            for (int k = 0; k < s->npoints; k++) {
                if (!sweep_same_others(s, c0, k, p) || x_seen[k]) continue;
                int nv = 0;
                const char *xv = sweep_point_value(s, k, p);
                for (int j = k; j < s->npoints; j++)
                    if (sweep_same_others(s, c0, j, p) && strcmp(sweep_point_value(s, j, p), xv) == 0) {
                        x_seen[j] = true;
                        double v = sweep_result_num(&res[j], metric);
                        if (!isnan(v)) vals[nv++] = v;
                    }
                if (nv) {
                    double mean, sd, x;
                    bool is_int;
                    sweep_mean_std(vals, nv, &mean, &sd);
                    if (!numeric || !sweep_parse_num(xv, strlen(xv), &x, &is_int)) x = xi;
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
    char dir[SWEEP_PATH_MAX + 16], path[SWEEP_PATH_MAX + 320];
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
