# aelab template: confusion matrix heatmap with the counts printed in the cells (plots/confusion.gp).
# Loaded by a run's confusion.gp, which sets (and then `load`s this file from the run directory):
#   out_png, data (confusion.csv: header true,pred_0..pred_{C-1}, one row per true class),
#   plot_title, nclasses, maxcount (largest cell), class_label[k] (k = 1..nclasses).
# The matrix is read skipping the header line and the first column (the true class); the tic
# labels come from class_label. Colour is log10(1 + count) / log10(1 + maxcount), so the few off-diagonal errors stay visible
# next to the large diagonal; the numbers in the cells are the exact counts.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1000,940 font "DejaVu Sans,15" noenhanced
} else {
    set terminal png size 1000,940 font "DejaVu Sans,13" noenhanced
}
set output out_png
set datafile separator ","
set title plot_title font ",18"
set xlabel "predicted class"
set ylabel "true class"
set size square
set xrange [-0.5:nclasses - 0.5]
set yrange [nclasses - 0.5:-0.5]
set xtics () scale 0
set ytics () scale 0
do for [k=1:nclasses] {
    set xtics add (class_label[k] k - 1)
    set ytics add (class_label[k] k - 1)
}
if (nclasses > 12) { set xtics rotate by 60 right }
set cbrange [0:1]
unset colorbox
set palette defined (0 "#ffffff", 0.25 "#c6dbef", 0.5 "#6baed6", 0.75 "#2171b5", 1 "#08306b")
lg(c) = (maxcount > 0 ? log10(1 + c) / log10(1 + maxcount) : 0)
cellfont = (nclasses <= 12 ? ",14" : (nclasses <= 20 ? ",10" : ",7"))
# Count colour: white on dark cells, light grey for zeros, near-black otherwise.
tcol(c) = (lg(c) >= 0.62 ? 0xffffff : (c == 0 ? 0xb0b0b0 : 0x202020))
plot data matrix skip 1 every ::1 using ($1 - 1):2:(lg($3)) with image notitle, \
     data matrix skip 1 every ::1 using ($1 - 1):2:(sprintf("%d", $3)):(tcol($3)) \
         with labels font cellfont tc rgb variable notitle
