/* runner/sweep_plot.c — the sweep's picture: the metric against each swept parameter (one
 * panel each, the seed aside), one curve per combination of the other parameters, error bars =
 * the std across seeds. Written as ROOT/sweep_plots/METRIC.dat (one block per curve: x, mean,
 * std, x label), METRIC.gp (the settings, which `load`s the template) and a copy of the
 * checkout's plots/sweep.gp in ROOT/sweep_plots/plots/, as runner/plots.h does for a run's
 * pictures (plots_install_template); rendered to METRIC.png by plots_render_script.
 *
 * tag-sweep-plot-vars: the variables METRIC.gp sets here and the header of plots/sweep.gp must
 * agree. Text from outside goes in through runner/gnuplot.h's quoting.
 */
#include "sweep_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsutil.h"
#include "gnuplot.h"
#include "plots.h"

#define PLOT_MAX_PANELS 64

/* One panel: a parameter on the x axis. */
typedef struct Panel {
    int param;
    bool numeric;              /* x is the value; else the value's index, labelled with it */
    bool logx;
    int nx;                    /* distinct values of the parameter */
    int first, ncurves;        /* its curves: first .. first + ncurves - 1 (1-based) */
} Panel;

/* The picture being built. */
typedef struct Plot {
    const Sweep *s;
    const PointResult *res;
    const char *metric;
    StrBuf dat;                /* METRIC.dat */
    StrBuf titles;             /* the curves' titles, gnuplot strings separated by ", " */
    int ncurves;               /* curves so far, every panel; curve c is the dat's block c - 1 */
    double *vals;              /* (npoints) scratch: the results at one x */
    bool *curve_seen, *x_seen; /* (npoints) scratch */
} Plot;

/* ---- the data ---- */

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

/* The panel's axis: numbers on a numeric axis, logarithmic when they span a factor of 100 or
 * more; such a span with 0 or negatives in it (0, 0.001, 0.01, 0.1) is drawn as categories. */
static void panel_axis(Plot *pl, Panel *pn) {
    const Sweep *s = pl->s;
    double lo, hi, lo_pos;
    pn->numeric = param_numeric(s, pn->param, &lo, &hi, &lo_pos);
    bool wide = pn->numeric && hi / lo_pos >= 100;
    if (wide && lo <= 0) pn->numeric = false;
    pn->logx = wide && pn->numeric;
    pn->nx = 0;
    memset(pl->x_seen, 0, (size_t)s->npoints * sizeof *pl->x_seen);
    for (int k = 0; k < s->npoints; k++) { /* distinct x values */
        if (pl->x_seen[k]) continue;
        pn->nx++;
        const char *xv = sweep_point_value(s, k, pn->param);
        for (int j = k; j < s->npoints; j++)
            if (strcmp(sweep_point_value(s, j, pn->param), xv) == 0) pl->x_seen[j] = true;
    }
}

/* "k1=v1, k2=v2": the other parameters of the curve through point c0 (the seed aside). */
static void curve_label(const Sweep *s, int p, int c0, StrBuf *label) {
    for (int i = 0; i < s->nparams; i++)
        if (i != p && !sweep_is_seed_param(s, i))
            strbuf_printf(label, "%s%s=%s", label->n ? ", " : "", sweep_param_key(s, i),
                          sweep_point_value(s, c0, i));
}

/* The data lines of the curve through point c0: one per x value (in point order) that has a
 * result, "x mean std \"x label\"". Returns their number. */
static int curve_points(Plot *pl, const Panel *pn, int c0, StrBuf *lines) {
    const Sweep *s = pl->s;
    int p = pn->param, xi = 0, npts = 0;
    memset(pl->x_seen, 0, (size_t)s->npoints * sizeof *pl->x_seen);
    for (int k = 0; k < s->npoints; k++) {
        if (!sweep_same_others(s, c0, k, p) || pl->x_seen[k]) continue;
        int nv = 0;
        const char *xv = sweep_point_value(s, k, p);
        for (int j = k; j < s->npoints; j++)
            if (sweep_same_others(s, c0, j, p) && strcmp(sweep_point_value(s, j, p), xv) == 0) {
                pl->x_seen[j] = true;
                double v = sweep_result_num(&pl->res[j], pl->metric);
                if (!isnan(v)) pl->vals[nv++] = v;
            }
        if (nv) {
            double mean, sd, x;
            bool is_int;
            sweep_mean_std(pl->vals, nv, &mean, &sd);
            if (!pn->numeric || !sweep_parse_num(xv, strlen(xv), &x, &is_int)) x = xi;
            strbuf_printf(lines, "%.10g %.10g %.10g \"", x, mean, isnan(sd) ? 0.0 : sd);
            for (const char *q = xv; *q; q++)
                strbuf_printf(lines, "%c", *q == '"' || *q == '\n' ? '\'' : *q);
            strbuf_printf(lines, "\"\n");
            npts++;
        }
        xi++;
    }
    return npts;
}

/* Adds the panel's curves (one per combination of the other parameters that has a result) to
 * the data and the titles. */
static void plot_panel(Plot *pl, Panel *pn) {
    const Sweep *s = pl->s;
    int p = pn->param;
    panel_axis(pl, pn);
    pn->first = pl->ncurves + 1;
    pn->ncurves = 0;
    memset(pl->curve_seen, 0, (size_t)s->npoints * sizeof *pl->curve_seen);
    for (int c0 = 0; c0 < s->npoints; c0++) {
        if (pl->curve_seen[c0]) continue;
        for (int j = c0; j < s->npoints; j++)
            if (sweep_same_others(s, c0, j, p)) pl->curve_seen[j] = true;
        StrBuf label = {0}, lines = {0};
        curve_label(s, p, c0, &label);
        if (curve_points(pl, pn, c0, &lines)) {
            int block = pl->ncurves;
            strbuf_printf(&pl->dat, "%s# block %d: %s against %s%s%s\n", block ? "\n\n" : "",
                          block, pl->metric, sweep_param_key(s, p), label.n ? "; " : "",
                          label.n ? label.s : "");
            strbuf_printf(&pl->dat, "%s", lines.s);
            strbuf_printf(&pl->titles, "%s", block ? ", " : "");
            gnuplot_quote(&pl->titles, label.n ? label.s : "");
            pl->ncurves++;
            pn->ncurves++;
        }
        strbuf_free(&label);
        strbuf_free(&lines);
    }
}

/* ---- the script and the template ---- */

/* METRIC.gp: a head saying what it is and changing to its own directory, the settings of
 * plots/sweep.gp (tag-sweep-plot-vars), then `load 'plots/sweep.gp'`. */
static void plot_script(const Plot *pl, const Panel *panels, int npanels, const char *dir,
                        StrBuf *gp) {
    const Sweep *s = pl->s;
    const char *metric = pl->metric;
    /* Text from outside (the directory, the metric's name) enters comments through
     * gnuplot_comment and strings through gnuplot_quote: neither can end the line or quote. */
    strbuf_printf(gp, "# ");
    gnuplot_comment(gp, metric);
    strbuf_printf(gp, ".gp — written by aelab %s: ", AE_VERSION);
    gnuplot_comment(gp, metric);
    strbuf_printf(gp, " against each swept parameter of %s\n# Re-render with `gnuplot ", s->name);
    gnuplot_comment(gp, dir);
    strbuf_printf(gp, "/");
    gnuplot_comment(gp, metric);
    strbuf_printf(gp, ".gp` (from any directory) or by collecting the sweep again (`aelab run "
                  "SWEEP.yaml --collect`).\n# Data: ");
    gnuplot_comment(gp, metric);
    strbuf_printf(gp, ".dat, mean and std across seeds (error bars) of each parameter "
                  "combination.\n# The settings are below; the drawing is in plots/sweep.gp.\n");
    strbuf_printf(gp, "_d = ARG0; _i = strlen(_d)\n"
                      "while (_i > 0 && _d[_i:_i] ne \"/\") { _i = _i - 1 }\n"
                      "if (_i > 0) { cd _d[1:_i] }\n");
    StrBuf text = {0}, xl = {0}, num = {0}, logx = {0}, nx = {0}, first = {0}, nc = {0};
    strbuf_printf(&text, "%s.png", metric);
    strbuf_printf(gp, "if (!exists(\"out_png\")) out_png = ");
    gnuplot_quote_file(gp, text.s);
    strbuf_free(&text);
    strbuf_printf(&text, "%s.dat", metric);
    strbuf_printf(gp, "\ndata = ");
    gnuplot_quote_file(gp, text.s);
    strbuf_free(&text);
    strbuf_printf(&text, "%s: %s%s", s->name, metric,
                  s->seed_dim >= 0 ? " (mean and std across seeds)" : "");
    strbuf_printf(gp, "\nplot_title = ");
    gnuplot_quote(gp, text.s);
    strbuf_free(&text);
    strbuf_printf(gp, "\ny_label = ");
    gnuplot_quote(gp, metric);
    for (int i = 0; i < npanels; i++) {
        const char *sep = i ? ", " : "";
        const Panel *pn = &panels[i];
        strbuf_printf(&xl, "%s", sep);
        gnuplot_quote(&xl, sweep_param_key(s, pn->param));
        strbuf_printf(&num, "%s%d", sep, pn->numeric);
        strbuf_printf(&logx, "%s%d", sep, pn->logx);
        strbuf_printf(&nx, "%s%d", sep, pn->nx);
        strbuf_printf(&first, "%s%d", sep, pn->first);
        strbuf_printf(&nc, "%s%d", sep, pn->ncurves);
    }
    strbuf_printf(gp, "\nnpanels = %d\n", npanels);
    strbuf_printf(gp, "array panel_xlabel[%d] = [%s]\n", npanels, xl.s);
    strbuf_printf(gp, "array panel_numeric[%d] = [%s]\n", npanels, num.s);
    strbuf_printf(gp, "array panel_logx[%d] = [%s]\n", npanels, logx.s);
    strbuf_printf(gp, "array panel_nx[%d] = [%s]\n", npanels, nx.s);
    strbuf_printf(gp, "array panel_first[%d] = [%s]\n", npanels, first.s);
    strbuf_printf(gp, "array panel_ncurves[%d] = [%s]\n", npanels, nc.s);
    strbuf_printf(gp, "array curve_title[%d] = [%s]  # '' = none; curve c is block c - 1\n",
                  pl->ncurves, pl->titles.s);
    strbuf_printf(gp, "load 'plots/sweep.gp'\n");
    strbuf_free(&xl);
    strbuf_free(&num);
    strbuf_free(&logx);
    strbuf_free(&nx);
    strbuf_free(&first);
    strbuf_free(&nc);
}

/* ---- the picture ---- */

/* Writes DIR/METRIC.{dat,gp} and the template, then renders DIR. */
static bool plot_files(const Plot *pl, const Panel *panels, int npanels, const char *dir,
                       AeError *err) {
    StrBuf gp = {0};
    char path[SWEEP_PATH_MAX + 320];
    plot_script(pl, panels, npanels, dir, &gp);
    bool ok = fs_mkdir_p(dir, err);
    snprintf(path, sizeof path, "%s/%s.dat", dir, pl->metric);
    ok = ok && fs_write_atomic(path, pl->dat.s, pl->dat.n, err);
    snprintf(path, sizeof path, "%s/%s.gp", dir, pl->metric);
    ok = ok && fs_write_atomic(path, gp.s, gp.n, err);
    ok = ok && plots_install_template(dir, "sweep", err);
    snprintf(path, sizeof path, "%s.gp", pl->metric);
    ok = ok && plots_render_script(dir, path, err);
    strbuf_free(&gp);
    return ok;
}

bool sweep_plot_write(const Sweep *s, const PointResult *res, const char *metric, bool *drawn,
                      AeError *err) {
    *drawn = false;
    Panel panels[PLOT_MAX_PANELS];
    int npanels = 0, nused = 0;
    for (int i = 0; i < s->nparams && npanels < PLOT_MAX_PANELS; i++)
        if (!sweep_is_seed_param(s, i)) panels[npanels++] = (Panel){.param = i};
    if (npanels == 0 && s->nparams > 0) panels[npanels++] = (Panel){.param = 0}; /* by seed */
    Plot pl = {.s = s, .res = res, .metric = metric};
    pl.vals = ae_xmalloc((size_t)s->npoints * sizeof *pl.vals);
    pl.curve_seen = ae_xmalloc((size_t)s->npoints * sizeof *pl.curve_seen);
    pl.x_seen = ae_xmalloc((size_t)s->npoints * sizeof *pl.x_seen);
    strbuf_printf(&pl.dat, "# %s of sweep %s: one block per curve; columns: x, mean, std across "
                  "seeds, x label\n", metric, s->name);
    for (int i = 0; i < npanels; i++) {
        plot_panel(&pl, &panels[i]);
        if (panels[i].ncurves) panels[nused++] = panels[i]; /* panels with nothing drawn go */
    }
    bool ok = true;
    if (nused > 0) {
        char dir[SWEEP_PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/sweep_plots", s->root);
        *drawn = true;
        ok = plot_files(&pl, panels, nused, dir, err);
    }
    free(pl.vals);
    free(pl.curve_seen);
    free(pl.x_seen);
    strbuf_free(&pl.dat);
    strbuf_free(&pl.titles);
    return ok;
}
