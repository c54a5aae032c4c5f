# aelab template: a sweep's metric against each swept parameter, one panel each (plots/sweep.gp).
# Loaded by a sweep's ROOT/sweep_plots/METRIC.gp, which sets (and then `load`s this file from
# its directory; tag-sweep-plot-vars: the names here and in runner/sweep_plot.c must agree):
#   out_png, data (METRIC.dat: one block per curve; columns x, mean, std across seeds, x label),
#   plot_title, y_label, npanels, and for each panel p = 1..npanels:
#   panel_xlabel[p] (the parameter on x), panel_numeric[p] (1: x is the value; 0: x is the
#   value's index, labelled from column 4), panel_logx[p] (1: log x), panel_nx[p] (how many
#   distinct values), panel_first[p] and panel_ncurves[p] (the panel's curves are c =
#   panel_first[p] .. panel_first[p] + panel_ncurves[p] - 1);
#   curve_title[c] ('' for none): curve c is data's block (index) c - 1.
# Up to 3 panels a row; the key only when a panel has several curves (one per combination of the
# other parameters); error bars are the std across seeds.
cols = npanels < 3 ? npanels : 3
rows = (npanels + cols - 1) / cols
width = cols == 1 ? 900 : 640 * cols
height = 480 * rows + 40
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size width, height font "DejaVu Sans,12" linewidth 1.5 noenhanced
} else {
    set terminal png size width, height font "DejaVu Sans,11" noenhanced
}
set output out_png
set grid xtics ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror out
set offsets graph 0.04, graph 0.04, graph 0.1, graph 0.1
set ylabel y_label
set multiplot layout rows, cols title plot_title font ",14"
do for [p=1:npanels] {
    set xlabel panel_xlabel[p]
    if (panel_logx[p]) { set logscale x } else { unset logscale x }
    if (panel_numeric[p]) {
        set xtics autofreq
        set xrange [*:*]
    } else {
        set xrange [-0.5:panel_nx[p] - 0.5]
    }
    if (panel_ncurves[p] > 1) { set key outside top center vertical Left reverse } else { set key off }
    cmd = ""
    do for [c=panel_first[p]:panel_first[p] + panel_ncurves[p] - 1] {
        cmd = cmd . sprintf("%sdata index %d using 1:2:3%s with yerrorlines lw 2 pt 7 ps 1.2 %s", \
            (c > panel_first[p] ? ", " : ""), c - 1, (panel_numeric[p] ? "" : ":xtic(4)"), \
            (curve_title[c] eq "" ? "notitle" : sprintf("title curve_title[%d]", c)))
    }
    eval "plot " . cmd
}
unset multiplot
