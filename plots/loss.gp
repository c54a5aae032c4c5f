# aelab template: training loss per epoch, one colour per training stage (plots/loss.gp).
# Loaded by a run's loss.gp, which sets (and then `load`s this file from the run directory):
#   out_png, data (metrics.csv), plot_title, nstages, logy (0|1), xmax,
#   stage_index[i], stage_label[i], stage_offset[i] (x = stage_offset + epoch),
#   has_penalty[i], has_decay[i] (1: also draw that part of the objective), i = 1..nstages.
# Columns read from metrics.csv by name: stage_index, epoch, loss, penalty, weight_decay.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1280,760 font "DejaVu Sans,15" linewidth 1.5 noenhanced
} else {
    set terminal png size 1280,760 font "DejaVu Sans,13" noenhanced
}
set output out_png
set datafile separator ","
set title plot_title font ",18"
set xlabel "epoch (counted across the training stages)"
set ylabel (logy ? "loss (log scale)" : "loss") . ", mean over the epoch's batches"
set grid xtics ytics mytics lc rgb "#d0d0d0"
set border 3
set tics nomirror out
set key outside below center horizontal Left reverse samplen 2.5 spacing 1.2 width 2
set xrange [0.5:xmax + 0.5]
if (xmax <= 15) { set xtics 1, 1, xmax } else { set xtics autofreq; set mxtics }
if (logy) { set logscale y; set format y "%g" } else { set offsets 0, 0, graph 0.05, graph 0.05 }
# Stage boundaries: a dotted line after the last epoch of each stage but the last.
do for [i=2:nstages] {
    set arrow from first stage_offset[i] + 0.5, graph 0 to first stage_offset[i] + 0.5, graph 1 \
        nohead dt 3 lc rgb "#808080"
}
sel(i, col) = (column("stage_index") == stage_index[i] ? column(col) : NaN)
xof(i) = (column("stage_index") == stage_index[i] ? column("epoch") + stage_offset[i] : NaN)
cmd = ""
do for [i=1:nstages] {
    cmd = cmd . sprintf("%s data using (xof(%d)):(sel(%d,'loss')) with linespoints lc %d lw 2 pt 7 ps 1.1 title stage_label[%d]", \
        (i > 1 ? ", " : ""), i, i, i, i)
    if (has_penalty[i]) {
        cmd = cmd . sprintf(", data using (xof(%d)):(sel(%d,'penalty')) with linespoints lc %d dt 2 pt 6 title stage_label[%d].' (penalty)'", i, i, i, i)
    }
    if (has_decay[i]) {
        cmd = cmd . sprintf(", data using (xof(%d)):(sel(%d,'weight_decay')) with linespoints lc %d dt 3 pt 4 title stage_label[%d].' (weight decay)'", i, i, i, i)
    }
}
eval "plot " . cmd
