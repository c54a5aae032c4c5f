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
 *   RUN_DIR/weights/NAME.gp, NAME.f32 -> NAME.png
 *   RUN_DIR/recon/NAME.gp,   NAME.f32 -> NAME.png
 *   RUN_DIR/plots/NAME.gp    the templates
 *
 * A generated script changes to its own directory first, so `gnuplot RUN_DIR/weights/x.gp` works
 * from anywhere and `gnuplot loss.gp` from inside the run directory. X.gp always renders X.png.
 * Pixel data (*.f32) is raw float32, little-endian, row 0 at the top, NaN for the gaps.
 *
 * gnuplot is found as $AELAB_GNUPLOT (a path or a name; set but empty: "no gnuplot") or
 * `gnuplot` on PATH. When it is missing, the data and scripts are still written, no PNG is, a
 * note saying so goes to stderr once per process, and the functions succeed. PNGs are rendered
 * to a temp name and renamed into place; pngcairo when gnuplot has it, else png.
 *
 * Templates are looked up in: plots_set_template_dir's argument, $AELAB_PLOTS, then plots/ next
 * to or above the executable (bin/aelab -> ../plots, build/tests/x -> ../../plots), then ./plots.
 * When none has them, a copy already in RUN_DIR/plots/ is used.
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
 * ceil(sqrt(ntiles))), 1-pixel gaps, written as RUN_DIR/weights/BASE.{f32,gp} and rendered to
 * BASE.png. W is (ntiles, tile_h*tile_w) row-major, one tile per row, each tile row-major. With
 * nn.Linear's (O,I) layout both pictures of lecture 19 are W itself: encoder (400,784) ->
 * 400 tiles of 28x28 in a 20x20 grid; decoder (784,400) -> 784 tiles (one per pixel) of 20x20
 * in a 28x28 grid.
 * Gray = 0, black negative, white positive, symmetric: the range is the picture's own max |w|
 * (docs/lectures.md, L19), or with per_tile each tile divided by its own max |w| and the range 1
 * (UFLDL). Non-finite weights are drawn as gaps and ignored for the range.
 * BASE becomes a file name: no '/', no control characters, not empty, not starting with '.'.
 * title: shown above the picture (NULL: BASE).
 * Returns false (err filled) on a bad BASE, an I/O error or a gnuplot failure. */
bool plots_weight_tiles(const char *run_dir, const char *base, const char *title, const float *W,
                        int ntiles, int tile_h, int tile_w, int grid_cols, bool per_tile,
                        AeError *err);

/* Reconstructions of n examples of (h, w) pixels in [0,1] (0 black, 1 white): one band of n
 * images per kind, labelled "input", "noisy input" (when noisy != NULL) and "output", written as
 * RUN_DIR/recon/BASE.{f32,gp} and rendered to BASE.png. inputs, noisy, outputs are (n, h*w)
 * row-major. Same errors as plots_weight_tiles. */
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
 * A missing CSV, or one with nothing to draw, skips its pictures. Accuracy columns may hold
 * percent or fractions (all values <= 1). Returns false (err filled: file, line and what) on a
 * malformed CSV, missing columns, an I/O error or a gnuplot failure. */
bool plots_run_curves(const char *run_dir, AeError *err);

/* Re-renders every generated .gp under RUN_DIR (recursively, templates and hidden entries
 * skipped, in name order), for `aelab plot RUN_DIR`. *nrendered (may be NULL) counts the PNGs
 * written. Without gnuplot it says so on stderr and returns true with 0. A failing script is
 * reported on stderr as it happens and the others are still rendered; then false is returned with
 * err = "RUN_DIR: error: N gnuplot scripts failed (messages above); M rendered". Also false when
 * RUN_DIR is not a directory. */
bool plots_render_dir(const char *run_dir, int *nrendered, AeError *err);

#endif
