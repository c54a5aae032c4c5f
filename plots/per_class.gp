# aelab template: per-class accuracy as a bar chart (plots/per_class.gp).
# Loaded by a run's per_class.gp, which sets (and then `load`s this file from the run directory):
#   out_png, data (per_class.csv: class,correct,total,accuracy), plot_title, nclasses,
#   acc_scale (100 when the CSV holds fractions, 1 when percent), ymin, ymax,
#   overall (overall accuracy in percent: sum of correct / sum of total, drawn as a dashed line).
# Bars are labelled with their accuracy; the x tic labels are the `class` column.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1280,760 font "DejaVu Sans,15" noenhanced
} else {
    set terminal png size 1280,760 font "DejaVu Sans,13" noenhanced
}
set output out_png
set datafile separator ","
set key autotitle columnhead
set title plot_title font ",18"
set xlabel "class"
set ylabel "accuracy (%)"
set border 3
set tics nomirror out
set xtics scale 0
if (nclasses > 12) { set xtics rotate by 45 right }
set grid ytics lc rgb "#d0d0d0"
set xrange [-0.6:nclasses - 0.4]
set yrange [ymin:ymax]
set style fill solid 0.85 border rgb "#08306b"
set boxwidth 0.7
unset key
set arrow from graph 0, first overall to graph 1, first overall nohead dt 2 lw 2 lc rgb "#c0392b" front
set label sprintf("- - overall %.2f%%", overall) at graph 1, graph 1 offset 0, 1.2 right \
    tc rgb "#c0392b" front
barfont = (nclasses <= 12 ? ",13" : ",9")
plot data using 0:(column("accuracy") * acc_scale):xtic(1) with boxes lc rgb "#4292c6", \
     data using 0:(column("accuracy") * acc_scale):(sprintf("%.1f", column("accuracy") * acc_scale)) \
         with labels offset 0, 0.7 font barfont
