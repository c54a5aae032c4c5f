# aelab template: accuracy per epoch of the classifier stages (plots/accuracy.gp).
# Loaded by a run's accuracy.gp, which sets (and then `load`s this file from the run directory):
#   out_png, data (metrics.csv), plot_title, nstages, xmax, acc_scale (100 when the CSV holds
#   fractions, 1 when percent), ymin, ymax,
#   stage_index[i], stage_label[i], has_train[i] (1: also draw train accuracy),
#   final_acc[i] (the last test accuracy, in percent, labelled at the end of the curve),
#   final_epoch[i], i = 1..nstages.
# Columns read from metrics.csv by name: stage_index, epoch, test_accuracy, train_accuracy.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1280,760 font "DejaVu Sans,15" linewidth 1.5 noenhanced
} else {
    set terminal png size 1280,760 font "DejaVu Sans,13" noenhanced
}
set output out_png
set datafile separator ","
set title plot_title font ",18"
set xlabel "epoch of the stage"
set ylabel "accuracy (%)"
set grid xtics ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror out
set key outside below center horizontal Left reverse samplen 2.5 spacing 1.2 width 2
set xrange [0.5:xmax + 0.5 + 0.09 * xmax]
if (xmax <= 15) { set xtics 1, 1, xmax } else { set xtics autofreq; set mxtics }
set yrange [ymin:ymax]
set format y "%g"
do for [i=1:nstages] {
    set label sprintf("%.2f%%", final_acc[i]) at first final_epoch[i], first final_acc[i] \
        offset 0.8, 0 left tc lt i front
}
sel(i, col) = (column("stage_index") == stage_index[i] ? column(col) * acc_scale : NaN)
xof(i) = (column("stage_index") == stage_index[i] ? column("epoch") : NaN)
cmd = ""
do for [i=1:nstages] {
    cmd = cmd . sprintf("%s data using (xof(%d)):(sel(%d,'test_accuracy')) with linespoints lc %d lw 2 pt 7 ps 1.1 title stage_label[%d].' (test)'", \
        (i > 1 ? ", " : ""), i, i, i, i)
    if (has_train[i]) {
        cmd = cmd . sprintf(", data using (xof(%d)):(sel(%d,'train_accuracy')) with linespoints lc %d dt 2 pt 6 title stage_label[%d].' (train)'", i, i, i, i)
    }
}
eval "plot " . cmd
