/* runner/plots.c — writes the data and the small gnuplot scripts of a run's pictures, copies the
 * templates (plots/NAME.gp) into the run and renders each script (runner/gnuplot.h), and for
 * `aelab plot` writes every script of a run directory again from its data (plots_replot)
 * without running anything found there.
 *
 * Conventions: X.gp renders X.png; a generated script sets variables and `load`s a template
 * (tag-plots-vars: the variable names here and in the templates' header comments must agree).
 * Everything from outside (titles, CSV cells, file names) enters a script only through
 * gnuplot_quote or gnuplot_quote_file, and comments only through gnuplot_comment. Numbers in
 * scripts are finite (non-finite values from a CSV are refused or left out before they get
 * there).
 * Mosaics: (img_h, img_w) float32 pictures, row 0 at the top, NaN in the 1-pixel gaps.
 */
#include "plots.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvout.h"
#include "fsutil.h"
#include "gnuplot.h"
#include "strbuf.h"

#define PLOTS_PATH_MAX 4096
#define PLOTS_SKIP_MAX 768 /* a "skipped" reason */
#define PLOTS_TEMPLATE_MARK "# aelab template"
#define PLOTS_TARGET_PX 1200 /* long side of a mosaic on screen, before margins */
#define PLOTS_MAX_SIDE 32768 /* pixels, either side of a mosaic */
#define PLOTS_MAX_PIXELS (1L << 24) /* 64 MB of float32 */

static const char *const plots_templates[] = {"loss", "accuracy", "confusion", "per_class",
                                              "tiles", "recon", "sweep"};

static char plots_template_dir_override[PLOTS_PATH_MAX];
static bool plots_noted_missing;

/* ---- paths ---- */

static bool plots_join(char *out, const char *dir, const char *name, AeError *err) {
    int k = snprintf(out, PLOTS_PATH_MAX, "%s/%s", dir, name);
    if (k < 0 || k >= PLOTS_PATH_MAX)
        return ae_fail(err, "%s/%s: error: path too long", dir, name);
    return true;
}

/* The last component of a directory path, trailing slashes ignored ("." for ""). */
static void plots_basename(char *out, size_t n, const char *path) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t k = len - start;
    if (k == 0) {
        snprintf(out, n, ".");
        return;
    }
    if (k >= n)
        k = n - 1;
    memcpy(out, path + start, k);
    out[k] = '\0';
}

/* The run's name for the titles: the directory's last component ("." and ".." resolved). */
static void plots_run_name(char *out, size_t n, const char *run_dir) {
    plots_basename(out, n, run_dir);
    char *abs = strcmp(out, ".") == 0 || strcmp(out, "..") == 0 ? realpath(run_dir, NULL) : NULL;
    if (abs)
        plots_basename(out, n, abs);
    free(abs);
}

/* A picture name becomes a file name in weights/ or recon/: no '/', no control characters, not
 * hidden, not empty. Quotes and spaces are fine (scripts quote it). */
static bool plots_valid_base(const char *base) {
    if (!base || !*base || base[0] == '.' || strlen(base) > 200)
        return false;
    for (const char *p = base; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* True when path is a regular file itself (not a symbolic link, FIFO or device). */
static bool plots_is_file(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Makes RUN_DIR/SUB when missing and fills dir with its path. A symbolic link there is refused,
 * so that a run directory from elsewhere cannot send the pictures outside itself. */
static bool plots_subdir(char *dir, const char *run_dir, const char *sub, AeError *err) {
    if (!plots_join(dir, run_dir, sub, err))
        return false;
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
        return ae_fail(err, "%s: error: is a symbolic link; pictures are written only into a real "
                            "directory of the run",
                       dir);
    return fs_mkdir_p(dir, err);
}

/* ---- gnuplot (runner/gnuplot.h) ---- */

bool plots_have_gnuplot(void) { return gnuplot_find() != NULL; }

static void plots_note_missing(void) {
    if (plots_noted_missing)
        return;
    plots_noted_missing = true;
    fprintf(stderr, "aelab: note: gnuplot not found%s; writing the plot scripts and data without "
                    "PNGs (install gnuplot-nox, then run `aelab plot RUN_DIR`)\n",
            getenv("AELAB_GNUPLOT") ? " ($AELAB_GNUPLOT)" : " on PATH");
}

bool plots_render_script(const char *dir, const char *script, AeError *err) {
    AE_ASSERT(dir && script);
    if (!plots_have_gnuplot()) {
        plots_note_missing();
        return true;
    }
    return gnuplot_render(dir, script, err);
}

/* ---- templates ---- */

void plots_set_template_dir(const char *dir) {
    if (!dir)
        plots_template_dir_override[0] = '\0';
    else
        snprintf(plots_template_dir_override, sizeof plots_template_dir_override, "%s", dir);
}

/* True when dir holds every template. */
static bool plots_template_dir_ok(const char *dir) {
    char p[PLOTS_PATH_MAX];
    for (size_t i = 0; i < sizeof plots_templates / sizeof *plots_templates; i++) {
        int k = snprintf(p, sizeof p, "%s/%s.gp", dir, plots_templates[i]);
        if (k < 0 || k >= (int)sizeof p || !fs_exists(p))
            return false;
    }
    return true;
}

/* The directory holding aelab's own templates, or NULL (see plots.h for the order). */
static const char *plots_find_templates(void) {
    static char dir[PLOTS_PATH_MAX];
    if (plots_template_dir_override[0])
        return plots_template_dir_ok(plots_template_dir_override) ? plots_template_dir_override
                                                                  : NULL;
    const char *env = getenv("AELAB_PLOTS");
    if (env && *env && plots_template_dir_ok(env))
        return env;
    char exe[PLOTS_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* the checkout (bin/, build/tests/), then an installed PREFIX/bin/aelab */
            static const char *const ups[] = {"/../plots", "/../../plots", "/../../../plots",
                                              "/plots", "/../share/aelab/plots"};
            for (size_t i = 0; i < sizeof ups / sizeof *ups; i++) {
                int k = snprintf(dir, sizeof dir, "%s%s", exe, ups[i]);
                if (k > 0 && k < (int)sizeof dir && plots_template_dir_ok(dir))
                    return dir;
            }
        }
    }
    if (plots_template_dir_ok("plots"))
        return "plots";
    return NULL;
}

bool plots_install_template(const char *run_dir, const char *name, AeError *err) {
    char dst_dir[PLOTS_PATH_MAX], dst[PLOTS_PATH_MAX], src[PLOTS_PATH_MAX], file[256];
    snprintf(file, sizeof file, "%s.gp", name);
    if (!plots_join(dst_dir, run_dir, "plots", err) || !plots_join(dst, dst_dir, file, err))
        return false;
    const char *src_dir = plots_find_templates();
    if (!src_dir)
        return ae_fail(err, "%s: error: cannot find aelab's gnuplot template %s (looked in "
                            "$AELAB_PLOTS, plots/ next to or above the executable, "
                            "../share/aelab/plots from it and the current directory); set AELAB_PLOTS to the checkout's plots/",
                       dst, file);
    if (!plots_join(src, src_dir, file, err))
        return false;
    size_t n = 0;
    char *text = fs_read_file(src, &n, err);
    if (!text)
        return false;
    bool ok = plots_subdir(dst_dir, run_dir, "plots", err);
    if (ok) {
        /* Skip the write when the copy is already identical (keeps mtimes quiet). */
        size_t m = 0;
        char *old = plots_is_file(dst) ? fs_read_file(dst, &m, NULL) : NULL;
        if (!old || m != n || memcmp(old, text, n) != 0)
            ok = fs_write_atomic(dst, text, n, err);
        free(old);
    }
    free(text);
    return ok;
}

/* The start of every generated script: what it is, and a `cd` to its own directory so that
 * relative paths work whatever the caller's working directory. */
static void plots_script_head(StrBuf *b, const char *what, const char *shown_name,
                              const char *template_rel) {
    strbuf_printf(b, "# ");
    gnuplot_comment(b, shown_name);
    strbuf_printf(b, " — written by aelab %s: %s\n# Re-render with `gnuplot ", AE_VERSION, what);
    gnuplot_comment(b, shown_name);
    strbuf_printf(b, "` (from any directory) or `aelab plot RUN_DIR`.\n");
    strbuf_printf(b, "# The settings are below; the drawing is in %s.\n", template_rel);
    strbuf_printf(b, "_d = ARG0; _i = strlen(_d)\n"
                     "while (_i > 0 && _d[_i:_i] ne \"/\") { _i = _i - 1 }\n"
                     "if (_i > 0) { cd _d[1:_i] }\n");
}

/* The out_png default and the data file of a mosaic script. */
static void plots_script_files(StrBuf *b, const char *base, int img_h, int img_w) {
    char name[300];
    snprintf(name, sizeof name, "%s.png", base);
    strbuf_printf(b, "if (!exists(\"out_png\")) out_png = ");
    gnuplot_quote_file(b, name);
    snprintf(name, sizeof name, "%s.f32", base);
    strbuf_printf(b, "\ndata = ");
    gnuplot_quote_file(b, name);
    strbuf_printf(b, "  # float32 LE, (%d rows, %d columns), NaN = gap\n", img_h, img_w);
}

/* Writes DIR/NAME.gp (the script text in b) and renders it when gnuplot exists. */
static bool plots_emit(const char *dir, const char *name, const StrBuf *b, AeError *err) {
    char file[300], path[PLOTS_PATH_MAX];
    snprintf(file, sizeof file, "%s.gp", name);
    return plots_join(path, dir, file, err) && fs_write_atomic(path, b->s, b->n, err) &&
           plots_render_script(dir, file, err);
}

/* ---- mosaics ---- */

/* Column index by name, or an error when it is missing. */
static bool plots_need_col(const CsvTable *t, const char *path, const char *name, int *col,
                           AeError *err) {
    *col = csvtable_col(t, name);
    if (*col < 0)
        return ae_fail(err, "%s:1: error: missing column '%s'", path, name);
    return true;
}


/* A mosaic picture: what its BASE.meta.csv holds, and the geometry that follows from it. */
typedef struct Mosaic {
    bool recon;         /* false: weights/ tiles (template tiles.gp); true: recon/ bands */
    char base[256];
    char title[512];
    int count;          /* tiles, or examples */
    int cell_h, cell_w; /* pixels of a tile, or of an example */
    int cols;           /* tiles per row (recon: count) */
    bool per_tile;      /* tiles: each divided by its own max |w| */
    int nkinds;         /* recon: bands, 2 or 3 (with the noisy input) */
    int img_w, img_h;   /* the picture, (img_h, img_w) */
} Mosaic;

static const char *plots_mosaic_sub(const Mosaic *m) { return m->recon ? "recon" : "weights"; }

/* Fills img_w and img_h: 1-pixel gaps around every cell. False (err names path) when the picture
 * would be too large to draw. */
static bool plots_mosaic_geometry(Mosaic *m, const char *path, AeError *err) {
    long long rows = m->recon ? m->nkinds : (m->count + m->cols - 1) / m->cols;
    long long w = (long long)m->cols * (m->cell_w + 1) + 1, h = rows * (m->cell_h + 1) + 1;
    if (w > PLOTS_MAX_SIDE || h > PLOTS_MAX_SIDE || w * h > PLOTS_MAX_PIXELS)
        return ae_fail(err, "%s: error: a picture of %lld x %lld pixels is too large to draw",
                       path, w, h);
    m->img_w = (int)w;
    m->img_h = (int)h;
    return true;
}

/* Writes n floats as little-endian float32 (byte-swapped in place on a big-endian host). */
static bool plots_write_f32(const char *path, float *v, size_t n, AeError *err) {
    const uint32_t one = 1;
    bool little = *(const unsigned char *)&one == 1;
    if (!little) {
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            u = __builtin_bswap32(u);
            memcpy(&v[i], &u, 4);
        }
    }
    return fs_write_atomic(path, v, n * sizeof *v, err);
}

/* The colour range of a tiles picture from its little-endian float32 pixels: the largest finite
 * |value| (1 with per_tile, or when there is none above 0). */
static double plots_cbmax(const Mosaic *m, const float *le, size_t n) {
    const uint32_t one = 1;
    bool little = *(const unsigned char *)&one == 1;
    double mx = 0;
    for (size_t i = 0; i < n && !m->per_tile; i++) {
        uint32_t u;
        float v;
        memcpy(&u, &le[i], 4);
        if (!little)
            u = __builtin_bswap32(u);
        memcpy(&v, &u, 4);
        if (isfinite(v) && fabs(v) > mx)
            mx = fabs(v);
    }
    return m->per_tile || !(mx > 0) ? 1.0 : mx; /* all zero: mid-gray on a unit scale */
}

/* Screen pixels per picture pixel: the long side near PLOTS_TARGET_PX, at least 1. */
static int plots_scale(int img_w, int img_h) {
    int longest = img_w > img_h ? img_w : img_h;
    int s = PLOTS_TARGET_PX / longest;
    return s < 1 ? 1 : s;
}

/* The settings of a tiles script after the common ones. */
static void plots_tiles_vars(StrBuf *b, const Mosaic *m, double cbmax) {
    strbuf_printf(b, "ntiles = %d  # %d x %d pixels each, %d per row\n", m->count, m->cell_h,
                  m->cell_w, m->cols);
    strbuf_printf(b, "cbmax = %.9g  # %s\n", cbmax,
                  m->per_tile ? "each tile divided by its own max |w|"
                              : "the picture's max |w|: gray 0, black -cbmax, white +cbmax");
    strbuf_printf(b, "plot_title = ");
    gnuplot_quote(b, m->title);
    strbuf_printf(b, "\ncb_label = ");
    gnuplot_quote(b, m->per_tile ? "w / max |w| of its tile" : "weight");
    strbuf_printf(b, "\n");
}

/* The settings of a reconstructions script after the common ones. */
static void plots_recon_vars(StrBuf *b, const Mosaic *m) {
    static const char *const labels[3] = {"input", "noisy input", "output"};
    int nk = m->nkinds, h = m->cell_h;
    strbuf_printf(b, "nexamples = %d  # %d x %d pixels each\n", m->count, h, m->cell_w);
    strbuf_printf(b, "plot_title = ");
    gnuplot_quote(b, m->title);
    strbuf_printf(b, "\nnkinds = %d\narray kind_label[%d] = [", nk, nk);
    for (int k = 0; k < nk; k++) {
        strbuf_printf(b, "%s", k ? ", " : "");
        gnuplot_quote(b, labels[nk == 3 ? k : 2 * k]);
    }
    strbuf_printf(b, "]\narray kind_y[%d] = [", nk);
    for (int k = 0; k < nk; k++)
        strbuf_printf(b, "%s%.1f", k ? ", " : "", 1 + k * (h + 1) + (h - 1) / 2.0);
    strbuf_printf(b, "]\n");
}

/* Writes DIR/BASE.gp for the mosaic m (DIR = RUN_DIR/weights or /recon, BASE.f32 there) and
 * renders it; cbmax: tiles only. */
static bool plots_mosaic_script(const char *run_dir, const char *dir, const Mosaic *m,
                                double cbmax, AeError *err) {
    const char *tmpl = m->recon ? "recon" : "tiles";
    if (!plots_install_template(run_dir, tmpl, err))
        return false;
    char shown[400], tmpl_rel[64];
    snprintf(shown, sizeof shown, "%s/%s.gp", plots_mosaic_sub(m), m->base);
    snprintf(tmpl_rel, sizeof tmpl_rel, "../plots/%s.gp", tmpl);
    StrBuf b = {0};
    plots_script_head(&b, m->recon ? "reconstructions" : "a mosaic of weight tiles", shown,
                      tmpl_rel);
    plots_script_files(&b, m->base, m->img_h, m->img_w);
    strbuf_printf(&b, "img_w = %d\nimg_h = %d\nscale = %d\n", m->img_w, m->img_h,
                  plots_scale(m->img_w, m->img_h));
    if (m->recon)
        plots_recon_vars(&b, m);
    else
        plots_tiles_vars(&b, m, cbmax);
    strbuf_printf(&b, "load '%s'\n", tmpl_rel);
    bool ok = plots_emit(dir, m->base, &b, err);
    strbuf_free(&b);
    return ok;
}

/* BASE.meta.csv: the picture's title and shape, one header row and one data row. */
static bool plots_write_meta(const char *path, const Mosaic *m, AeError *err) {
    static const char *const tiles_hdr[] = {"title", "ntiles", "tile_h", "tile_w", "grid_cols",
                                            "per_tile"};
    static const char *const recon_hdr[] = {"title", "nexamples", "height", "width", "noisy"};
    CsvTable *t = m->recon ? csvtable_create(recon_hdr, 5) : csvtable_create(tiles_hdr, 6);
    int r = csvtable_add_row(t, NULL);
    csvtable_set_str(t, r, 0, m->title);
    csvtable_set_int(t, r, 1, m->count);
    csvtable_set_int(t, r, 2, m->cell_h);
    csvtable_set_int(t, r, 3, m->cell_w);
    csvtable_set_int(t, r, 4, m->recon ? m->nkinds == 3 : m->cols);
    if (!m->recon)
        csvtable_set_int(t, r, 5, m->per_tile);
    bool ok = csvtable_write_atomic(t, path, err);
    csvtable_free(t);
    return ok;
}

/* An integer cell of the meta file's one data row, within [lo, hi]. */
static bool plots_meta_int(const CsvTable *t, const char *path, const char *col, int lo, int hi,
                           int *out, AeError *err) {
    int c;
    double v;
    if (!plots_need_col(t, path, col, &c, err))
        return false;
    if (!csvtable_get_num(t, 0, c, &v) || v != floor(v) || v < lo || v > hi)
        return ae_fail(err, "%s:%d: error: column '%s': expected an integer from %d to %d, got "
                            "'%s'",
                       path, csvtable_line(t, 0), col, lo, hi, csvtable_get(t, 0, c));
    *out = (int)v;
    return true;
}

/* Fills m (m->recon set) from the table of its BASE.meta.csv, read from path. */
static bool plots_parse_meta(const CsvTable *t, const char *path, Mosaic *m, AeError *err) {
    int c_title, flag = 0;
    if (csvtable_nrows(t) != 1)
        return ae_fail(err, "%s: error: expected one row after the header, got %d", path,
                       csvtable_nrows(t));
    bool ok = plots_need_col(t, path, "title", &c_title, err) &&
              plots_meta_int(t, path, m->recon ? "nexamples" : "ntiles", 1, 1000000, &m->count,
                             err) &&
              plots_meta_int(t, path, m->recon ? "height" : "tile_h", 1, 4096, &m->cell_h, err) &&
              plots_meta_int(t, path, m->recon ? "width" : "tile_w", 1, 4096, &m->cell_w, err);
    if (ok && m->recon)
        ok = plots_meta_int(t, path, "noisy", 0, 1, &flag, err);
    else if (ok)
        ok = plots_meta_int(t, path, "grid_cols", 1, m->count, &m->cols, err) &&
             plots_meta_int(t, path, "per_tile", 0, 1, &flag, err);
    if (!ok)
        return false;
    snprintf(m->title, sizeof m->title, "%s", csvtable_get(t, 0, c_title));
    if (m->recon) {
        m->cols = m->count;
        m->nkinds = 2 + flag;
    } else {
        m->per_tile = flag;
    }
    return plots_mosaic_geometry(m, path, err);
}

/* Writes RUN_DIR/SUB/BASE.{f32,meta.csv} (img is byte-swapped in place on a big-endian host),
 * then the script, and renders it. */
static bool plots_mosaic_write(const char *run_dir, const Mosaic *m, float *img, AeError *err) {
    char dir[PLOTS_PATH_MAX], path[PLOTS_PATH_MAX], file[300];
    size_t n = (size_t)m->img_w * (size_t)m->img_h;
    if (!plots_subdir(dir, run_dir, plots_mosaic_sub(m), err))
        return false;
    snprintf(file, sizeof file, "%s.f32", m->base);
    if (!plots_join(path, dir, file, err) || !plots_write_f32(path, img, n, err))
        return false;
    snprintf(file, sizeof file, "%s.meta.csv", m->base);
    if (!plots_join(path, dir, file, err) || !plots_write_meta(path, m, err))
        return false;
    return plots_mosaic_script(run_dir, dir, m, m->recon ? 0 : plots_cbmax(m, img, n), err);
}

static bool plots_bad_base(const char *run_dir, const char *base, AeError *err) {
    return ae_fail(err, "%s: error: invalid picture name '%s' (it becomes a file name: no '/', "
                        "no control characters, not empty, not starting with '.')",
                   run_dir, base ? base : "(null)");
}

bool plots_weight_tiles(const char *run_dir, const char *base, const char *title, const float *W,
                        int ntiles, int tile_h, int tile_w, int grid_cols, bool per_tile,
                        AeError *err) {
    AE_ASSERT(run_dir && W && ntiles > 0 && tile_h > 0 && tile_w > 0);
    if (!plots_valid_base(base))
        return plots_bad_base(run_dir, base, err);
    if (grid_cols <= 0)
        grid_cols = (int)ceil(sqrt((double)ntiles));
    if (grid_cols > ntiles)
        grid_cols = ntiles;
    Mosaic m = {.count = ntiles, .cell_h = tile_h, .cell_w = tile_w, .cols = grid_cols,
                .per_tile = per_tile};
    snprintf(m.base, sizeof m.base, "%s", base);
    snprintf(m.title, sizeof m.title, "%s", title ? title : base);
    if (!plots_mosaic_geometry(&m, run_dir, err))
        return false;
    size_t tile_n = (size_t)tile_h * (size_t)tile_w, npx = (size_t)m.img_w * (size_t)m.img_h;
    float *img = ae_xmalloc(npx * sizeof *img); /* (img_h, img_w) */
    for (size_t i = 0; i < npx; i++)
        img[i] = NAN;
    for (int k = 0; k < ntiles; k++) {
        const float *t = W + (size_t)k * tile_n; /* (tile_h, tile_w) */
        double mx = 0;
        for (size_t i = 0; i < tile_n; i++)
            if (isfinite(t[i]) && fabs(t[i]) > mx)
                mx = fabs(t[i]);
        double s = per_tile && mx > 0 ? 1.0 / mx : 1.0;
        int r0 = 1 + (k / grid_cols) * (tile_h + 1), c0 = 1 + (k % grid_cols) * (tile_w + 1);
        for (int y = 0; y < tile_h; y++)
            for (int x = 0; x < tile_w; x++) {
                float v = t[(size_t)y * (size_t)tile_w + (size_t)x];
                img[(size_t)(r0 + y) * (size_t)m.img_w + (size_t)(c0 + x)] =
                    isfinite(v) ? (float)(v * s) : NAN;
            }
    }
    bool ok = plots_mosaic_write(run_dir, &m, img, err);
    free(img);
    return ok;
}

bool plots_reconstructions(const char *run_dir, const char *base, const char *title,
                           const float *inputs, const float *noisy, const float *outputs, int n,
                           int h, int w, AeError *err) {
    AE_ASSERT(run_dir && inputs && outputs && n > 0 && h > 0 && w > 0);
    if (!plots_valid_base(base))
        return plots_bad_base(run_dir, base, err);
    const float *kinds[3] = {inputs, noisy, outputs};
    const float *use[3];
    int nkinds = 0;
    for (int k = 0; k < 3; k++)
        if (kinds[k])
            use[nkinds++] = kinds[k];
    Mosaic m = {.recon = true, .count = n, .cell_h = h, .cell_w = w, .cols = n, .nkinds = nkinds};
    snprintf(m.base, sizeof m.base, "%s", base);
    snprintf(m.title, sizeof m.title, "%s", title ? title : base);
    if (!plots_mosaic_geometry(&m, run_dir, err))
        return false;
    size_t px = (size_t)h * (size_t)w, npx = (size_t)m.img_w * (size_t)m.img_h;
    float *img = ae_xmalloc(npx * sizeof *img); /* (img_h, img_w) */
    for (size_t i = 0; i < npx; i++)
        img[i] = NAN;
    for (int k = 0; k < nkinds; k++)
        for (int e = 0; e < n; e++) {
            const float *src = use[k] + (size_t)e * px; /* (h, w) */
            int r0 = 1 + k * (h + 1), c0 = 1 + e * (w + 1);
            for (int y = 0; y < h; y++)
                memcpy(&img[(size_t)(r0 + y) * (size_t)m.img_w + (size_t)c0],
                       src + (size_t)y * (size_t)w, (size_t)w * sizeof *img);
        }
    bool ok = plots_mosaic_write(run_dir, &m, img, err);
    free(img);
    return ok;
}

/* ---- run curves ---- */

typedef struct StageSummary {
    double index;          /* stage_index */
    char label[128];       /* stage */
    char kind[64];
    double max_epoch;
    bool has_loss, has_penalty, has_decay, has_test, has_train;
    double last_test, last_test_epoch;
    double min_pos, max_val; /* over the loss values drawn (loss, penalty, decay) */
    bool nonpos;             /* a drawn loss value <= 0: no log scale */
    double acc_min, acc_max; /* over test and train accuracy (raw CSV units) */
} StageSummary;

/* The columns of metrics.csv that plots read (-1: absent, for the optional ones). */
typedef struct MetricsCols {
    int idx, stage, epoch, kind;
    int parts[3]; /* loss, penalty, weight_decay */
    int accs[2];  /* test_accuracy, train_accuracy */
} MetricsCols;

/* A number from the cell, or false when the cell is empty; a non-number is an error (ok=false). */
static bool plots_cell(const CsvTable *t, int row, int col, const char *path, double *out,
                       bool *ok, AeError *err) {
    if (col < 0)
        return false;
    const char *s = csvtable_get(t, row, col);
    if (!*s)
        return false;
    if (!csvtable_get_num(t, row, col, out)) {
        *ok = ae_fail(err, "%s:%d: error: column '%s': expected a number, got '%s'", path,
                      csvtable_line(t, row), csvtable_header(t, col), s);
        return false;
    }
    return true;
}

/* As plots_cell for a number that goes into a script: "nan" or "inf" is an error too. */
static bool plots_cell_finite(const CsvTable *t, int row, int col, const char *path,
                              double *out, bool *ok, AeError *err) {
    if (!plots_cell(t, row, col, path, out, ok, err))
        return false;
    if (!isfinite(*out)) {
        *ok = ae_fail(err, "%s:%d: error: column '%s': expected a finite number, got '%s'", path,
                      csvtable_line(t, row), csvtable_header(t, col), csvtable_get(t, row, col));
        return false;
    }
    return true;
}

static bool plots_metrics_cols(const CsvTable *t, const char *path, MetricsCols *c,
                               AeError *err) {
    if (!plots_need_col(t, path, "stage_index", &c->idx, err) ||
        !plots_need_col(t, path, "stage", &c->stage, err) ||
        !plots_need_col(t, path, "epoch", &c->epoch, err) ||
        !plots_need_col(t, path, "loss", &c->parts[0], err))
        return false;
    c->kind = csvtable_col(t, "kind");
    c->parts[1] = csvtable_col(t, "penalty");
    c->parts[2] = csvtable_col(t, "weight_decay");
    c->accs[0] = csvtable_col(t, "test_accuracy");
    c->accs[1] = csvtable_col(t, "train_accuracy");
    return true;
}

/* Adds row r's loss parts and accuracies to its stage s (non-finite values are not drawn). */
static void plots_stage_add(StageSummary *s, const CsvTable *t, int r, const MetricsCols *c,
                            double epoch, const char *path, bool *ok, AeError *err) {
    double v;
    s->max_epoch = fmax(s->max_epoch, epoch);
    for (int p = 0; p < 3; p++) {
        if (!plots_cell(t, r, c->parts[p], path, &v, ok, err) || !isfinite(v))
            continue;
        if (p == 0)
            s->has_loss = true;
        else if (v == 0)
            continue; /* a part that is zero is not drawn */
        else if (p == 1)
            s->has_penalty = true;
        else
            s->has_decay = true;
        if (v <= 0)
            s->nonpos = true;
        else
            s->min_pos = fmin(s->min_pos, v);
        s->max_val = fmax(s->max_val, v);
    }
    for (int a = 0; a < 2; a++) {
        if (!plots_cell(t, r, c->accs[a], path, &v, ok, err) || !isfinite(v))
            continue;
        if (a == 0) {
            s->has_test = true;
            if (epoch >= s->last_test_epoch) {
                s->last_test = v;
                s->last_test_epoch = epoch;
            }
        } else {
            s->has_train = true;
        }
        s->acc_min = fmin(s->acc_min, v);
        s->acc_max = fmax(s->acc_max, v);
    }
}

/* Reads metrics.csv into one summary per stage, in order of first appearance. *out is malloc'ed
 * (caller frees) even when false is returned. */
static bool plots_collect_stages(const CsvTable *t, const char *path, StageSummary **out,
                                 int *nout, AeError *err) {
    int nrows = csvtable_nrows(t), nst = 0;
    StageSummary *st = ae_xcalloc((size_t)(nrows > 0 ? nrows : 1), sizeof *st);
    *out = st;
    *nout = 0;
    MetricsCols c;
    if (!plots_metrics_cols(t, path, &c, err))
        return false;
    bool ok = true;
    for (int r = 0; r < nrows && ok; r++) {
        double idx, epoch;
        if (!plots_cell_finite(t, r, c.idx, path, &idx, &ok, err) ||
            !plots_cell_finite(t, r, c.epoch, path, &epoch, &ok, err)) {
            if (ok)
                ok = ae_fail(err, "%s:%d: error: empty stage_index or epoch", path,
                             csvtable_line(t, r));
            break;
        }
        StageSummary *s = NULL;
        for (int i = 0; i < nst && !s; i++)
            if (st[i].index == idx)
                s = &st[i];
        if (!s) {
            s = &st[nst++];
            s->index = idx;
            snprintf(s->label, sizeof s->label, "%s", csvtable_get(t, r, c.stage));
            if (c.kind >= 0)
                snprintf(s->kind, sizeof s->kind, "%s", csvtable_get(t, r, c.kind));
            s->min_pos = s->acc_min = INFINITY;
            s->max_val = s->acc_max = -INFINITY;
        }
        plots_stage_add(s, t, r, &c, epoch, path, &ok, err);
    }
    *nout = nst;
    return ok;
}

/* Training stages have a loss; the one-row evaluate stages do not count. */
static bool plots_is_training(const StageSummary *s) {
    return s->has_loss && strcmp(s->kind, "evaluate") != 0;
}

static bool plots_is_classifier(const StageSummary *s) {
    return s->has_test && strcmp(s->kind, "evaluate") != 0;
}

/* The start of a run-level script: head, out_png default, data file and title. */
static void plots_curve_head(StrBuf *b, const char *name, const char *what, const char *data,
                             const char *title) {
    char shown[64], tmpl[64];
    snprintf(shown, sizeof shown, "%s.gp", name);
    snprintf(tmpl, sizeof tmpl, "plots/%s.gp", name);
    plots_script_head(b, what, shown, tmpl);
    strbuf_printf(b, "if (!exists(\"out_png\")) out_png = '%s.png'\ndata = '%s'\nplot_title = ",
                  name, data);
    gnuplot_quote(b, title);
    strbuf_printf(b, "\n");
}

/* loss.gp: x counts epochs across the training stages; log y when the values drawn span more
 * than a factor of 10 and are all positive. */
static bool plots_loss_script(const char *run_dir, const char *run_name, const StageSummary *st,
                              int nst, char *skip, AeError *err) {
    int n = 0;
    double lo = INFINITY, hi = -INFINITY, offset = 0;
    bool nonpos = false;
    for (int i = 0; i < nst; i++)
        if (plots_is_training(&st[i])) {
            n++;
            lo = fmin(lo, st[i].min_pos);
            hi = fmax(hi, st[i].max_val);
            nonpos |= st[i].nonpos;
        }
    if (n == 0) {
        snprintf(skip, PLOTS_SKIP_MAX, "metrics.csv has no epoch of a training stage");
        return true;
    }
    if (!plots_install_template(run_dir, "loss", err))
        return false;
    StrBuf b = {0}, idx = {0}, lab = {0}, off = {0}, pen = {0}, dec = {0};
    for (int i = 0, k = 0; i < nst; i++) {
        if (!plots_is_training(&st[i]))
            continue;
        const char *sep = k++ ? ", " : "";
        strbuf_printf(&idx, "%s%.17g", sep, st[i].index);
        strbuf_printf(&lab, "%s", sep);
        gnuplot_quote(&lab, st[i].label);
        strbuf_printf(&off, "%s%.17g", sep, offset);
        strbuf_printf(&pen, "%s%d", sep, st[i].has_penalty);
        strbuf_printf(&dec, "%s%d", sep, st[i].has_decay);
        offset += st[i].max_epoch;
    }
    char title[400];
    snprintf(title, sizeof title, "%s: training loss", run_name);
    plots_curve_head(&b, "loss", "training loss per epoch", "metrics.csv", title);
    strbuf_printf(&b, "nstages = %d\nlogy = %d\nxmax = %.17g\n", n,
                  !nonpos && lo > 0 && hi / lo > 10, offset);
    strbuf_printf(&b, "array stage_index[%d] = [%s]\n", n, idx.s);
    strbuf_printf(&b, "array stage_label[%d] = [%s]\n", n, lab.s);
    strbuf_printf(&b, "array stage_offset[%d] = [%s]  # x = stage_offset + epoch\n", n, off.s);
    strbuf_printf(&b, "array has_penalty[%d] = [%s]\n", n, pen.s);
    strbuf_printf(&b, "array has_decay[%d] = [%s]\n", n, dec.s);
    strbuf_printf(&b, "load 'plots/loss.gp'\n");
    bool ok = plots_emit(run_dir, "loss", &b, err);
    StrBuf *all[] = {&b, &idx, &lab, &off, &pen, &dec};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        strbuf_free(all[i]);
    return ok;
}

/* accuracy.gp: test (and train) accuracy per epoch of each classifier stage. */
static bool plots_accuracy_script(const char *run_dir, const char *run_name,
                                  const StageSummary *st, int nst, char *skip, AeError *err) {
    int n = 0;
    double amin = INFINITY, amax = -INFINITY, xmax = 1;
    for (int i = 0; i < nst; i++)
        if (plots_is_classifier(&st[i])) {
            n++;
            amin = fmin(amin, st[i].acc_min);
            amax = fmax(amax, st[i].acc_max);
            xmax = fmax(xmax, st[i].max_epoch);
        }
    if (n == 0) {
        snprintf(skip, PLOTS_SKIP_MAX, "metrics.csv has no test accuracy of a classifier stage");
        return true;
    }
    if (!plots_install_template(run_dir, "accuracy", err))
        return false;
    double scale = amax <= 1.0 ? 100.0 : 1.0; /* fractions -> percent */
    amin *= scale;
    amax *= scale;
    double span = fmax(amax - amin, 2.0);
    double ymin = fmax(0.0, floor(amin - 0.15 * span));
    double ymax = fmax(fmin(100.0, ceil(amax + 0.15 * span)), ymin + 1);
    StrBuf b = {0}, idx = {0}, lab = {0}, tr = {0}, fa = {0}, fe = {0};
    for (int i = 0, k = 0; i < nst; i++) {
        if (!plots_is_classifier(&st[i]))
            continue;
        const char *sep = k++ ? ", " : "";
        strbuf_printf(&idx, "%s%.17g", sep, st[i].index);
        strbuf_printf(&lab, "%s", sep);
        gnuplot_quote(&lab, st[i].label);
        strbuf_printf(&tr, "%s%d", sep, st[i].has_train);
        strbuf_printf(&fa, "%s%.9g", sep, st[i].last_test * scale);
        strbuf_printf(&fe, "%s%.17g", sep, st[i].last_test_epoch);
    }
    char title[400];
    snprintf(title, sizeof title, "%s: classifier accuracy", run_name);
    plots_curve_head(&b, "accuracy", "accuracy per epoch of the classifier stages", "metrics.csv",
                     title);
    strbuf_printf(&b, "nstages = %d\nxmax = %.17g\nacc_scale = %g\nymin = %g\nymax = %g\n", n,
                  xmax, scale, ymin, ymax);
    strbuf_printf(&b, "array stage_index[%d] = [%s]\n", n, idx.s);
    strbuf_printf(&b, "array stage_label[%d] = [%s]\n", n, lab.s);
    strbuf_printf(&b, "array has_train[%d] = [%s]\n", n, tr.s);
    strbuf_printf(&b, "array final_acc[%d] = [%s]  # percent\n", n, fa.s);
    strbuf_printf(&b, "array final_epoch[%d] = [%s]\n", n, fe.s);
    strbuf_printf(&b, "load 'plots/accuracy.gp'\n");
    bool ok = plots_emit(run_dir, "accuracy", &b, err);
    StrBuf *all[] = {&b, &idx, &lab, &tr, &fa, &fe};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        strbuf_free(all[i]);
    return ok;
}

/* Reads RUN_DIR/NAME into *t, its path into path. True with *t NULL and skip filled when the file
 * is not there (nothing to plot); false, err set, when it cannot be read. */
static bool plots_read_csv(const char *run_dir, const char *name, char *path, CsvTable **t,
                           char *skip, AeError *err) {
    *t = NULL;
    if (!plots_join(path, run_dir, name, err))
        return false;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(skip, PLOTS_SKIP_MAX, "no %s", name);
        return true;
    }
    if (!S_ISREG(st.st_mode))
        return ae_fail(err, "%s: error: not a regular file", path);
    *t = csvtable_read(path, err);
    return *t != NULL;
}

typedef bool (*PlotsStagesFn)(const char *run_dir, const char *run_name, const StageSummary *st,
                              int nst, char *skip, AeError *err);

/* Reads metrics.csv's stages and hands them to fn (skip filled when there is no metrics.csv). */
static bool plots_from_metrics(const char *run_dir, const char *run_name, PlotsStagesFn fn,
                               char *skip, AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "metrics.csv", path, &t, skip, err))
        return false;
    if (!t)
        return true;
    StageSummary *st = NULL;
    int nst = 0;
    bool ok = plots_collect_stages(t, path, &st, &nst, err) &&
              fn(run_dir, run_name, st, nst, skip, err);
    free(st);
    csvtable_free(t);
    return ok;
}

static bool plots_loss(const char *run_dir, const char *run_name, char *skip, AeError *err) {
    return plots_from_metrics(run_dir, run_name, plots_loss_script, skip, err);
}

static bool plots_accuracy(const char *run_dir, const char *run_name, char *skip, AeError *err) {
    return plots_from_metrics(run_dir, run_name, plots_accuracy_script, skip, err);
}

/* Checks confusion.csv's shape and counts; fills C, the largest count and the total. */
static bool plots_confusion_counts(const CsvTable *t, const char *path, int *C, double *maxcount,
                                   double *total, AeError *err) {
    int nc = csvtable_ncols(t) - 1, nr = csvtable_nrows(t);
    if (nc < 1 || nr != nc)
        return ae_fail(err, "%s: error: expected a square matrix: a header 'true,pred_0,...' and "
                            "one row per class, got %d column%s of predictions and %d row%s",
                       path, nc, nc == 1 ? "" : "s", nr, nr == 1 ? "" : "s");
    *C = nc;
    *maxcount = *total = 0;
    for (int r = 0; r < nc; r++)
        for (int c = 1; c <= nc; c++) {
            double v;
            if (!csvtable_get_num(t, r, c, &v) || !(v >= 0) || !isfinite(v))
                return ae_fail(err, "%s:%d: error: column '%s': expected a count >= 0, got '%s'",
                               path, csvtable_line(t, r), csvtable_header(t, c),
                               csvtable_get(t, r, c));
            *maxcount = fmax(*maxcount, v);
            *total += v;
        }
    return true;
}

static bool plots_confusion(const char *run_dir, const char *run_name, char *skip,
                            AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "confusion.csv", path, &t, skip, err))
        return false;
    if (!t)
        return true;
    int C = 0;
    double maxcount = 0, total = 0;
    bool ok = plots_confusion_counts(t, path, &C, &maxcount, &total, err) &&
              plots_install_template(run_dir, "confusion", err);
    if (ok) {
        StrBuf b = {0}, lab = {0};
        for (int r = 0; r < C; r++) {
            strbuf_printf(&lab, "%s", r ? ", " : "");
            gnuplot_quote(&lab, csvtable_get(t, r, 0));
        }
        char title[400];
        snprintf(title, sizeof title, "%s: confusion matrix (%.0f examples)", run_name, total);
        plots_curve_head(&b, "confusion", "confusion matrix heatmap", "confusion.csv", title);
        strbuf_printf(&b, "nclasses = %d\nmaxcount = %.17g\narray class_label[%d] = [%s]\n", C,
                      maxcount, C, lab.s);
        strbuf_printf(&b, "load 'plots/confusion.gp'\n");
        ok = plots_emit(run_dir, "confusion", &b, err);
        strbuf_free(&b);
        strbuf_free(&lab);
    }
    csvtable_free(t);
    return ok;
}

/* The overall accuracy (percent) and the range of the per-class ones (raw CSV units) from
 * per_class.csv's n > 0 rows: sum of correct / sum of total when every row has both, else the
 * mean of the accuracies. */
static bool plots_per_class_stats(const CsvTable *t, const char *path, int c_acc, double *amin,
                                  double *amax, double *overall, AeError *err) {
    int c_correct = csvtable_col(t, "correct"), c_total = csvtable_col(t, "total");
    int n = csvtable_nrows(t);
    double asum = 0, correct = 0, total = 0;
    bool counts = c_correct >= 0 && c_total >= 0, ok = true;
    *amin = INFINITY;
    *amax = -INFINITY;
    for (int r = 0; r < n; r++) {
        double a, c = 0, k = 0;
        if (!plots_cell_finite(t, r, c_acc, path, &a, &ok, err))
            return ok ? ae_fail(err, "%s:%d: error: empty accuracy", path, csvtable_line(t, r))
                      : false;
        *amin = fmin(*amin, a);
        *amax = fmax(*amax, a);
        asum += a;
        if (counts && plots_cell_finite(t, r, c_correct, path, &c, &ok, err) &&
            plots_cell_finite(t, r, c_total, path, &k, &ok, err)) {
            correct += c;
            total += k;
        } else {
            counts = false;
        }
        if (!ok)
            return false;
    }
    double scale = *amax <= 1.0 ? 100.0 : 1.0;
    *overall = counts && total > 0 ? 100.0 * correct / total : scale * asum / n;
    return true;
}

static bool plots_per_class(const char *run_dir, const char *run_name, char *skip,
                            AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "per_class.csv", path, &t, skip, err))
        return false;
    if (!t)
        return true;
    int c_class, c_acc, n = csvtable_nrows(t);
    double amin = 0, amax = 0, overall = 0;
    bool ok = plots_need_col(t, path, "class", &c_class, err) &&
              plots_need_col(t, path, "accuracy", &c_acc, err);
    if (ok && n == 0)
        snprintf(skip, PLOTS_SKIP_MAX, "per_class.csv has no rows");
    else if (ok)
        ok = plots_per_class_stats(t, path, c_acc, &amin, &amax, &overall, err) &&
             plots_install_template(run_dir, "per_class", err);
    if (ok && !skip[0]) {
        double scale = amax <= 1.0 ? 100.0 : 1.0;
        amin *= scale;
        double ymin = fmax(0.0, floor((amin - 0.15 * (100.0 - amin) - 1.0) / 5.0) * 5.0);
        double ymax = 100.0 + 0.06 * (100.0 - ymin);
        char title[400];
        snprintf(title, sizeof title, "%s: per-class accuracy", run_name);
        StrBuf b = {0};
        plots_curve_head(&b, "per_class", "per-class accuracy", "per_class.csv", title);
        strbuf_printf(&b, "nclasses = %d\nacc_scale = %g\nymin = %g\nymax = %g\noverall = %.9g\n",
                      n, scale, ymin, ymax, overall);
        strbuf_printf(&b, "load 'plots/per_class.gp'\n");
        ok = plots_emit(run_dir, "per_class", &b, err);
        strbuf_free(&b);
    }
    csvtable_free(t);
    return ok;
}

/* The run-level pictures. Each draws its picture and returns true, or returns true with skip
 * filled (nothing to draw from), or false with err. */
typedef bool (*PlotsCurveFn)(const char *run_dir, const char *run_name, char *skip, AeError *err);
static const struct {
    const char *png;
    PlotsCurveFn draw;
} plots_curves[] = {{"loss.png", plots_loss},
                    {"accuracy.png", plots_accuracy},
                    {"confusion.png", plots_confusion},
                    {"per_class.png", plots_per_class}};
#define PLOTS_NCURVES (int)(sizeof plots_curves / sizeof *plots_curves)

bool plots_run_curves(const char *run_dir, AeError *err) {
    AE_ASSERT(run_dir);
    if (!fs_is_dir(run_dir))
        return ae_fail(err, "%s: error: %s", run_dir,
                       fs_exists(run_dir) ? "not a directory" : "No such file or directory");
    char name[256], skip[PLOTS_SKIP_MAX];
    plots_run_name(name, sizeof name, run_dir);
    bool ok = true;
    for (int i = 0; i < PLOTS_NCURVES; i++) {
        AeError later;
        skip[0] = '\0';
        if (plots_curves[i].draw(run_dir, name, skip, ok ? err : &later))
            continue;
        if (!ok && strcmp(later.msg, err->msg) != 0) /* loss and accuracy share metrics.csv */
            fprintf(stderr, "%s\n", later.msg);
        ok = false;
    }
    return ok;
}

/* ---- `aelab plot`: every script written again from the run's data ---- */

/* Counts one picture of plots_replot and says on stderr what became of it. */
static void plots_record(PlotsReplot *rep, const char *png, bool ok, const char *skip,
                         const AeError *e) {
    if (!ok) {
        fprintf(stderr, "%s\n", e->msg);
        rep->failed++;
    } else if (skip[0]) {
        fprintf(stderr, "aelab: note: skipped %s: %s\n", png, skip);
        rep->skipped++;
    } else {
        rep->rendered++;
    }
}

/* Writes DIR/BASE.gp again from BASE.meta.csv and BASE.f32 (whose size must agree) and renders
 * it; m->recon and m->base are set. skip filled when there is no BASE.meta.csv. */
static bool plots_mosaic_again(const char *run_dir, const char *dir, Mosaic *m, char *skip,
                               AeError *err) {
    char meta[PLOTS_PATH_MAX], data[PLOTS_PATH_MAX], file[300];
    snprintf(file, sizeof file, "%s.meta.csv", m->base);
    if (!plots_join(meta, dir, file, err))
        return false;
    snprintf(file, sizeof file, "%s.f32", m->base);
    if (!plots_join(data, dir, file, err))
        return false;
    if (!fs_exists(meta)) {
        snprintf(skip, PLOTS_SKIP_MAX, "no %s.meta.csv beside %s (written by an older aelab: run "
                                       "its stage again to draw it)",
                 m->base, file);
        return true;
    }
    if (!plots_is_file(meta))
        return ae_fail(err, "%s: error: not a regular file", meta);
    CsvTable *t = csvtable_read(meta, err);
    if (!t)
        return false;
    bool ok = plots_parse_meta(t, meta, m, err);
    csvtable_free(t);
    if (!ok)
        return false;
    size_t n = (size_t)m->img_w * (size_t)m->img_h, len = 0;
    struct stat st;
    if (lstat(data, &st) != 0 || !S_ISREG(st.st_mode))
        return ae_fail(err, "%s: error: not a regular file", data);
    if ((size_t)st.st_size != n * sizeof(float))
        return ae_fail(err, "%s: error: %lld bytes, expected %zu: %d x %d float32 pixels (from "
                            "%s.meta.csv)",
                       data, (long long)st.st_size, n * sizeof(float), m->img_h, m->img_w,
                       m->base);
    double cbmax = 1.0;
    if (!m->recon && !m->per_tile) {
        float *img = (float *)fs_read_file(data, &len, err);
        if (!img)
            return false;
        cbmax = plots_cbmax(m, img, len / sizeof(float));
        free(img);
    }
    return plots_mosaic_script(run_dir, dir, m, cbmax, err);
}

/* plots_replot's part for RUN_DIR/weights or /recon: every BASE.f32 there, in name order. */
static int plots_alpha(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void plots_replot_mosaics(const char *run_dir, bool recon, PlotsReplot *rep) {
    char dir[PLOTS_PATH_MAX], png[PLOTS_PATH_MAX], skip[PLOTS_SKIP_MAX] = "";
    AeError e;
    struct stat st;
    if (!plots_join(dir, run_dir, recon ? "recon" : "weights", &e) || lstat(dir, &st) != 0)
        return; /* no pictures of that kind */
    struct dirent **list = NULL;
    int n = S_ISDIR(st.st_mode) ? scandir(dir, &list, NULL, plots_alpha) : -1;
    if (n < 0) {
        ae_fail(&e, "%s: error: %s", dir,
                S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory (or a symbolic link)");
        plots_record(rep, dir, false, skip, &e);
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, ".f32") == 0 && name[0] != '.') {
            Mosaic m = {.recon = recon};
            memcpy(m.base, name, len - 4 < sizeof m.base ? len - 4 : sizeof m.base - 1);
            skip[0] = '\0';
            bool ok = true;
            if (!plots_valid_base(m.base) || len - 4 >= sizeof m.base)
                snprintf(skip, sizeof skip, "not a picture name aelab writes");
            else
                ok = plots_mosaic_again(run_dir, dir, &m, skip, &e);
            if (snprintf(png, sizeof png, "%s/%.*s.png", dir, (int)(len - 4), name) < 0)
                png[0] = '\0';
            plots_record(rep, png, ok, skip, &e);
        }
        free(list[i]);
    }
    free(list);
}

/* A run directory: there, a directory, with config.yaml or metrics.csv. */
static bool plots_is_run(const char *dir, AeError *err) {
    if (!fs_is_dir(dir))
        return ae_fail(err, "%s: error: %s", dir,
                       fs_exists(dir) ? "not a directory (`aelab plot` takes a run directory)"
                                      : "No such file or directory");
    char cfg[PLOTS_PATH_MAX], metrics[PLOTS_PATH_MAX];
    if (!plots_join(cfg, dir, "config.yaml", err) || !plots_join(metrics, dir, "metrics.csv", err))
        return false;
    if (!fs_exists(cfg) && !fs_exists(metrics))
        return ae_fail(err, "%s: error: not a run directory: it has neither config.yaml nor "
                            "metrics.csv (`aelab plot` takes a directory `aelab run` wrote)",
                       dir);
    return true;
}

/* The outcome of plots_replot once every picture was tried. */
static bool plots_replot_verdict(const char *dir, PlotsReplot *rep, bool have_gnuplot,
                                 AeError *err) {
    int tried = rep->rendered + rep->failed;
    if (rep->failed)
        return ae_fail(err, "%s: error: %d of %d picture%s failed (messages above); %d drawn",
                       dir, rep->failed, tried, tried == 1 ? "" : "s", rep->rendered);
    if (rep->rendered == 0) {
        rep->not_a_run = true;
        return ae_fail(err, "%s: error: nothing to plot: no training epoch in metrics.csv, no "
                            "confusion.csv or per_class.csv, no pictures in weights/ or recon/",
                       dir);
    }
    if (!have_gnuplot)
        return ae_fail(err, "%s: error: gnuplot not found%s: wrote %d plot script%s, rendered no "
                            "PNG (install gnuplot-nox, then run `aelab plot` again)",
                       dir, getenv("AELAB_GNUPLOT") ? " ($AELAB_GNUPLOT)" : " on PATH",
                       rep->rendered, rep->rendered == 1 ? "" : "s");
    return true;
}

bool plots_replot(const char *run_dir, PlotsReplot *rep, AeError *err) {
    AE_ASSERT(run_dir && rep);
    *rep = (PlotsReplot){0};
    char dir[PLOTS_PATH_MAX], name[256], png[PLOTS_PATH_MAX], skip[PLOTS_SKIP_MAX];
    snprintf(dir, sizeof dir, "%s", run_dir);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0'; /* "run/" names its files "run/loss.png" */
    if (!plots_is_run(dir, err)) {
        rep->not_a_run = true;
        return false;
    }
    bool have = plots_have_gnuplot();
    if (!have)
        plots_noted_missing = true; /* the verdict says it */
    plots_run_name(name, sizeof name, dir);
    for (int i = 0; i < PLOTS_NCURVES; i++) {
        AeError e;
        skip[0] = '\0';
        bool ok = plots_curves[i].draw(dir, name, skip, &e);
        snprintf(png, sizeof png, "%s/%s", dir, plots_curves[i].png);
        plots_record(rep, png, ok, skip, &e);
    }
    plots_replot_mosaics(dir, false, rep);
    plots_replot_mosaics(dir, true, rep);
    return plots_replot_verdict(dir, rep, have, err);
}
