# aelab template: reconstructions, one row per kind (input, noisy input, output) and one column
# per example (plots/recon.gp), lectures 19 and 20 (docs/lectures.md).
# Loaded by a run's recon/<name>.gp, which sets (and then `load`s this file):
#   out_png, data (raw float32 little-endian, img_h rows of img_w values, row 0 at the top; NaN =
#   the gaps), img_w, img_h, scale (screen pixels per image pixel), plot_title,
#   nkinds, kind_label[k], kind_y[k] (the centre row of band k, k = 1..nkinds).
# Pixel values are in [0, 1]: 0 black, 1 white (values outside are clipped to the ends).
lm = 160; rm = 24; tm = 76; bm = 24
cw = img_w * scale + lm + rm
ch = img_h * scale + tm + bm
if (cw < 720) { lm = lm + (720 - cw) / 2; rm = rm + (720 - cw) - (720 - cw) / 2; cw = 720 }
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size cw, ch font "DejaVu Sans,15" noenhanced
} else {
    set terminal png size cw, ch font "DejaVu Sans,13" noenhanced
}
set output out_png
set lmargin at screen (lm * 1.0) / cw
set rmargin at screen 1.0 - (rm * 1.0) / cw
set tmargin at screen 1.0 - (tm * 1.0) / ch
set bmargin at screen (bm * 1.0) / ch
set title plot_title font ",18"
unset xtics
set ytics () scale 0
do for [k=1:nkinds] { set ytics add (kind_label[k] kind_y[k]) }
unset key
unset colorbox
set border 0
set xrange [-0.5:img_w - 0.5]
set yrange [img_h - 0.5:-0.5]
set cbrange [0:1]
set palette defined (0 "black", 1 "white")
set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind fillcolor rgb "#3b5b8c" \
    fillstyle solid noborder
plot data binary array=(img_w, img_h) format="%float" endian=little with image
