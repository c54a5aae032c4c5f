/* runner/plots.h — gnuplot pictures of a run: weight tiles, reconstructions, loss and accuracy
 * curves, the confusion heatmap and per-class accuracy.
 *
 * The drawing lives in gnuplot templates (the checkout's plots/NAME.gp, first line
 * "# aelab template"). Each picture is a small generated script next to its PNG that sets
 * variables and `load`s a template; the templates are copied into RUN_DIR/plots/, so a run
 * directory is self-contained:
 *
 *   RUN_DIR/loss.gp       -> loss.png        (from metrics.csv)
 *   RUN_DIR/accuracy.gp   -> accuracy.png    (from metrics.csv, classifier stages)
 *   RUN_DIR/confusion.gp  -> confusion.png   (from confusion.csv)
 *   RUN_DIR/per_class.gp  -> per_class.png   (from per_class.csv)
 *   RUN_DIR/weights/NAME.gp, NAME.f32, NAME.meta.csv -> NAME.png
 *   RUN_DIR/recon/NAME.gp,   NAME.f32, NAME.meta.csv -> NAME.png
 *   RUN_DIR/plots/NAME.gp    the templates
 *
 * A generated script changes to its own directory first, so `gnuplot RUN_DIR/weights/x.gp` works
 * from anywhere and `gnuplot loss.gp` from inside the run directory. X.gp always renders X.png.
 * Pixel data (*.f32) is raw float32, little-endian, row 0 at the top, NaN for the gaps;
 * NAME.meta.csv holds the picture's shape and title (one header row, one data row), from which
 * plots_replot writes NAME.gp again.
 *
 * Safety: every script that is run is one aelab has just written. Text from outside (titles,
 * stage and class names from the CSVs, file names) only ever appears in them as gnuplot
 * single-quoted strings (runner/gnuplot.h), so no backquote, system(), @macro, quote or newline
 * in a CSV or a file name can run a command or end a string early; file names are written as
 * './NAME', never read as gnuplot's "<command" or "|command". Templates always come from aelab's
 * own plots/, never from a run directory, and pictures are written only into real directories
 * of the run (a symbolic link for weights/, recon/ or plots/ is refused).
 *
 * gnuplot is found as $AELAB_GNUPLOT (a path or a name; set but empty: "no gnuplot") or
 * `gnuplot` on PATH. When it is missing, the data and scripts are still written, no PNG is, a
 * note saying so goes to stderr once per process, and the drawing functions succeed. PNGs are
 * rendered to a temp name, checked to be whole (a full disk truncates them while gnuplot still
 * exits 0) and renamed into place (gnuplot_render); pngcairo when gnuplot has it, else png.
 *
 * Templates are looked up in: plots_set_template_dir's argument, $AELAB_PLOTS, then plots/ next
 * to or above the executable (bin/aelab -> ../plots, build/tests/x -> ../../plots), then
 * ../share/aelab/plots from it (an installed PREFIX/bin/aelab, `make install`), then ./plots.
 * When none has them, drawing fails (a copy found in a run directory is never used).
 *
 * Errors ("PATH: error: WHAT") name the file; a gnuplot failure carries its exit status and the
 * first lines it printed on stderr. Warnings gnuplot prints while succeeding are passed on to
 * stderr as "PATH: warning: gnuplot: ...".
 */
#ifndef AE_PLOTS_H
#define AE_PLOTS_H

#include <stdbool.h>

#include "common.h"

/* Use `dir` for the templates (copied; NULL restores the search above). */
void plots_set_template_dir(const char *dir);

/* True when a gnuplot executable was found (see above). */
bool plots_have_gnuplot(void);

/* A mosaic of ntiles tiles of (tile_h, tile_w) pixels, grid_cols per row (<= 0:
 * ceil(sqrt(ntiles))), 1-pixel gaps, written as RUN_DIR/weights/BASE.{f32,meta.csv,gp} and
 * rendered to BASE.png. W is (ntiles, tile_h*tile_w) row-major, one tile per row, each tile
 * row-major. With nn.Linear's (O,I) layout both pictures of lecture 19 are W itself: encoder
 * (400,784) -> 400 tiles of 28x28 in a 20x20 grid; decoder (784,400) -> 784 tiles (one per pixel)
 * of 20x20 in a 28x28 grid.
 * Gray = 0, black negative, white positive, symmetric: the range is the picture's own max |w|
 * (as in lecture 19), or with per_tile each tile divided by its own max |w| and the range 1
 * (UFLDL). Non-finite weights are drawn as gaps and ignored for the range.
 * BASE becomes a file name: no '/', no control characters, not empty, not starting with '.'.
 * title: shown above the picture (NULL: BASE).
 * Returns false (err filled) on a bad BASE, an I/O error or a gnuplot failure. */
bool plots_weight_tiles(const char *run_dir, const char *base, const char *title, const float *W,
                        int ntiles, int tile_h, int tile_w, int grid_cols, bool per_tile,
                        AeError *err);

/* Reconstructions of n examples of (h, w) pixels in [0,1] (0 black, 1 white): one band of n
 * images per kind, labelled "input", "noisy input" (when noisy != NULL) and "output", written as
 * RUN_DIR/recon/BASE.{f32,meta.csv,gp} and rendered to BASE.png. inputs, noisy, outputs are
 * (n, h*w) row-major. Same errors as plots_weight_tiles. */
bool plots_reconstructions(const char *run_dir, const char *base, const char *title,
                           const float *inputs, const float *noisy, const float *outputs, int n,
                           int h, int w, AeError *err);

/* Writes and renders the run-level pictures from the CSVs present in RUN_DIR:
 *   loss.gp       training loss per epoch, one curve per training stage (x counts epochs across
 *                 stages; penalty and weight-decay parts dashed when a stage has them non-zero;
 *                 log y when the values span more than a factor of 10);
 *   accuracy.gp   test (and train, when present) accuracy per epoch of the classifier stages;
 *   confusion.gp  heatmap of confusion.csv with the counts in the cells;
 *   per_class.gp  bar chart of per_class.csv with the overall accuracy as a line.
 * A missing CSV, or one with nothing to draw, skips its pictures silently. Accuracy columns may
 * hold percent or fractions (all values <= 1). Every picture is tried; returns false when one
 * failed: a malformed CSV, missing columns, a non-finite stage index, epoch or count, an I/O
 * error or a gnuplot failure. err then holds the first failure (file, line and what); later
 * ones are printed to stderr as they happen. */
bool plots_run_curves(const char *run_dir, AeError *err);

/* What plots_replot did. */
typedef struct PlotsReplot {
    int rendered; /* pictures drawn (scripts written, when there is no gnuplot) */
    int skipped;  /* pictures with nothing to draw from (each named in a note on stderr) */
    int failed;   /* pictures that failed (each reported on stderr) */
    bool not_a_run; /* false returned because RUN_DIR is not a run or has nothing to plot */
} PlotsReplot;

/* `aelab plot RUN_DIR`: writes every picture's script again from the run's data (metrics.csv,
 * confusion.csv, per_class.csv, weights/ and recon/ *.f32 with their .meta.csv) and aelab's own
 * templates, replacing the .gp files in RUN_DIR atomically, and renders them. No script or
 * template found in RUN_DIR is ever run; other .gp files there are left alone. A picture whose
 * data is missing is skipped with a note "aelab: note: skipped PATH.png: WHY" on stderr; a
 * picture that fails is reported on stderr as it happens and the others are still drawn.
 * Returns true when at least one picture was drawn and none failed. Returns false with err:
 *   - rep->not_a_run: RUN_DIR is missing, not a directory, holds neither config.yaml nor
 *     metrics.csv ("not a run directory"), or has nothing to plot;
 *   - otherwise: "RUN_DIR: error: N of M pictures failed (messages above)", or gnuplot was not
 *     found (the scripts are written, no PNG is).
 * rep is filled in every case. */
bool plots_replot(const char *run_dir, PlotsReplot *rep, AeError *err);

/* Renders DIR/SCRIPT (a file name ending in ".gp") to DIR/SCRIPT's .png, for a script aelab has
 * just written itself; never call it on a script found in a directory (see plots_replot).
 * Without gnuplot: the note above, true. False (err filled) when gnuplot fails or writes no
 * complete PNG, or the rename fails. */
bool plots_render_script(const char *dir, const char *script, AeError *err);

/* Makes DIR/plots/NAME.gp a copy of aelab's own template NAME.gp (loss, accuracy, confusion,
 * per_class, tiles, recon, sweep), found as described at the top of this file. A copy already in
 * DIR is replaced unless identical, and never used in place of a missing template: it may come
 * from anywhere. False (err filled) when the template cannot be found or written. */
bool plots_install_template(const char *dir, const char *name, AeError *err);

#endif
