# aelab template: a mosaic of weight tiles in gray (plots/tiles.gp), lecture 19 (docs/lectures.md).
# Loaded by a run's weights/<name>.gp, which sets (and then `load`s this file):
#   out_png, data (raw float32 little-endian, img_h rows of img_w values, row 0 at the top; NaN =
#   the gaps between tiles), img_w, img_h, scale (screen pixels per mosaic pixel), cbmax,
#   plot_title, cb_label.
# Gray is 0, black is -cbmax or below, white is +cbmax or above (a symmetric range: the
# picture's own max |w|, or 1 when each tile was divided by its own max |w|). Gaps show the
# background colour, which is not a gray, so tile borders never look like weights.
lm = 24; rm = 210; tm = 76; bm = 24
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
unset ytics
unset key
set border 0
set xrange [-0.5:img_w - 0.5]
set yrange [img_h - 0.5:-0.5]
set cbrange [-cbmax:cbmax]
set cbtics (sprintf("%.3g", -cbmax) -cbmax, "0" 0, sprintf("%.3g", cbmax) cbmax)
set cblabel cb_label
set colorbox user origin screen (lm + img_w * scale + 20.0) / cw, screen (bm * 1.0) / ch \
    size screen 24.0 / cw, screen (img_h * scale * 1.0) / ch
set palette defined (0 "black", 0.5 "#808080", 1 "white")
set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind fillcolor rgb "#3b5b8c" \
    fillstyle solid noborder
plot data binary array=(img_w, img_h) format="%float" endian=little with image
