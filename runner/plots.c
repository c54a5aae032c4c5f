/* runner/plots.c — writes the data and the small gnuplot scripts of a run's pictures, copies the
 * templates (plots/NAME.gp) into the run, and runs gnuplot (fork + exec, in the script's directory,
 * stderr captured, exit status checked).
 *
 * Conventions: X.gp renders X.png; a generated script sets variables and `load`s a template
 * (tag-plots-vars: the variable names here and in the templates' header comments must agree);
 * strings in generated scripts are single-quoted (only '' is special there).
 * Mosaics: (img_h, img_w) float32 pictures, row 0 at the top, NaN in the 1-pixel gaps.
 */
#include "plots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csvout.h"
#include "fsutil.h"
#include "strbuf.h"

#define PLOTS_PATH_MAX 4096
#define PLOTS_TEMPLATE_MARK "# aelab template"
#define PLOTS_TARGET_PX 1200 /* long side of a mosaic on screen, before margins */

static const char *const plots_templates[] = {"loss", "accuracy", "confusion", "per_class",
                                              "tiles", "recon"};

static char plots_template_dir_override[PLOTS_PATH_MAX];
static bool plots_noted_missing;

/* growing strings: runner/strbuf.h */

/* Appends s as a gnuplot single-quoted string: '' for ', control characters as spaces. */
static void sb_quote(StrBuf *b, const char *s) {
    strbuf_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_printf(b, "''");
        else if ((unsigned char)*s < 0x20)
            strbuf_printf(b, " ");
        else
            strbuf_printf(b, "%c", *s);
    }
    strbuf_printf(b, "'");
}

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

/* ---- gnuplot ---- */

/* The gnuplot to run, or NULL: $AELAB_GNUPLOT (empty: none), else `gnuplot` on PATH. The result
 * points into a static buffer or the environment. */
static const char *plots_gnuplot(void) {
    static char found[PLOTS_PATH_MAX];
    const char *env = getenv("AELAB_GNUPLOT");
    const char *name = "gnuplot";
    if (env) {
        if (!*env)
            return NULL;
        if (strchr(env, '/'))
            return access(env, X_OK) == 0 ? env : NULL;
        name = env;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        int k = snprintf(found, sizeof found, "%.*s/%s", (int)len, len ? path : ".", name);
        if (k > 0 && k < (int)sizeof found && access(found, X_OK) == 0 && !fs_is_dir(found))
            return found;
        if (!colon)
            break;
        path = colon + 1;
    }
    return NULL;
}

bool plots_have_gnuplot(void) { return plots_gnuplot() != NULL; }

static void plots_note_missing(void) {
    if (plots_noted_missing)
        return;
    plots_noted_missing = true;
    fprintf(stderr, "aelab: note: gnuplot not found%s; writing the plot scripts and data without "
                    "PNGs (install gnuplot-nox, then run `aelab plot RUN_DIR`)\n",
            getenv("AELAB_GNUPLOT") ? " ($AELAB_GNUPLOT)" : " on PATH");
}

/* Copies the first lines of gnuplot's stderr into out (newlines kept as " | "). */
static void plots_summarise(char *out, size_t n, const char *msg, int maxlines) {
    size_t k = 0;
    int lines = 0;
    out[0] = '\0';
    for (const char *p = msg; *p && k + 4 < n && lines < maxlines; p++) {
        if (*p == '\n') {
            lines++;
            while (p[1] == '\n')
                p++;
            if (p[1] && lines < maxlines) {
                memcpy(out + k, " | ", 3);
                k += 3;
            }
            continue;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
}

/* Runs `gnuplot -e "out_png='TMP'" SCRIPT` in dir, then renames TMP to SCRIPT's .png.
 * script is a file name inside dir ending in ".gp". */
static bool plots_run_script(const char *dir, const char *script, AeError *err) {
    const char *gp = plots_gnuplot();
    AE_ASSERT(gp);
    char shown[PLOTS_PATH_MAX], png[PLOTS_PATH_MAX], tmp_name[512], tmp[PLOTS_PATH_MAX];
    if (!plots_join(shown, dir, script, err))
        return false;
    size_t sl = strlen(script);
    AE_ASSERT(sl > 3 && strcmp(script + sl - 3, ".gp") == 0);
    static unsigned counter;
    int k = snprintf(tmp_name, sizeof tmp_name, "%.*s.png.tmp.%ld.%u", (int)(sl - 3), script,
                     (long)getpid(), counter++);
    if (k < 0 || k >= (int)sizeof tmp_name)
        return ae_fail(err, "%s: error: file name too long", shown);
    char png_name[512];
    snprintf(png_name, sizeof png_name, "%.*s.png", (int)(sl - 3), script);
    if (!plots_join(png, dir, png_name, err) || !plots_join(tmp, dir, tmp_name, err))
        return false;
    StrBuf setvar = {0};
    strbuf_printf(&setvar, "out_png=");
    sb_quote(&setvar, tmp_name);

    int pfd[2];
    if (pipe(pfd) != 0) {
        free(setvar.s);
        return ae_fail(err, "%s: error: pipe: %s", shown, strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        free(setvar.s);
        return ae_fail(err, "%s: error: fork: %s", shown, strerror(e));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        if (chdir(dir) != 0) {
            static const char m[] = "cannot change to the script's directory\n";
            (void)!write(2, m, sizeof m - 1);
            _exit(126);
        }
        char *argv[] = {(char *)gp, "-e", setvar.s, (char *)script, NULL};
        execv(gp, argv);
        static const char m[] = "cannot execute gnuplot\n";
        (void)!write(2, m, sizeof m - 1);
        _exit(127);
    }
    close(pfd[1]);
    free(setvar.s);
    char msg[8192];
    size_t got = 0;
    for (;;) {
        char chunk[1024];
        ssize_t r = read(pfd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (take > sizeof msg - 1 - got)
            take = sizeof msg - 1 - got;
        memcpy(msg + got, chunk, take);
        got += take;
    }
    msg[got] = '\0';
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int e = errno;
            unlink(tmp);
            return ae_fail(err, "%s: error: waitpid: %s", shown, strerror(e));
        }
    }
    char summary[1024];
    plots_summarise(summary, sizeof summary, msg, 4);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(tmp);
        if (WIFSIGNALED(status))
            return ae_fail(err, "%s: error: gnuplot killed by signal %d: %s", shown,
                           WTERMSIG(status), summary);
        return ae_fail(err, "%s: error: gnuplot exited with status %d: %s", shown,
                       WEXITSTATUS(status), summary[0] ? summary : "(no message)");
    }
    struct stat st;
    if (stat(tmp, &st) != 0 || st.st_size == 0) {
        unlink(tmp);
        return ae_fail(err, "%s: error: gnuplot succeeded but wrote no picture (does the script "
                            "`set output out_png`?)%s%s",
                       shown, summary[0] ? ": " : "", summary);
    }
    if (rename(tmp, png) != 0) {
        int e = errno;
        unlink(tmp);
        return ae_fail(err, "%s: error: rename failed: %s", png, strerror(e));
    }
    if (summary[0])
        fprintf(stderr, "%s: warning: gnuplot: %s\n", shown, summary);
    return true;
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

/* The directory holding the checkout's templates, or NULL (see plots.h for the order). */
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
            static const char *const ups[] = {"/../plots", "/../../plots", "/../../../plots",
                                              "/plots"};
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

/* Makes RUN_DIR/plots/NAME.gp a copy of the checkout's template (when the checkout has one; an
 * existing copy in the run is kept otherwise). */
static bool plots_install_template(const char *run_dir, const char *name, AeError *err) {
    char dst_dir[PLOTS_PATH_MAX], dst[PLOTS_PATH_MAX], file[256];
    snprintf(file, sizeof file, "%s.gp", name);
    if (!plots_join(dst_dir, run_dir, "plots", err) || !plots_join(dst, dst_dir, file, err))
        return false;
    const char *src_dir = plots_find_templates();
    if (!src_dir) {
        if (fs_exists(dst))
            return true;
        return ae_fail(err, "%s: error: cannot find the gnuplot template %s (looked in "
                            "$AELAB_PLOTS and plots/ next to or above the executable and in the "
                            "current directory); set AELAB_PLOTS to the checkout's plots/",
                       dst, file);
    }
    char src[PLOTS_PATH_MAX];
    if (!plots_join(src, src_dir, file, err))
        return false;
    size_t n = 0;
    char *text = fs_read_file(src, &n, err);
    if (!text)
        return false;
    bool ok = fs_mkdir_p(dst_dir, err);
    if (ok) {
        /* Skip the write when the copy is already identical (keeps mtimes quiet). */
        size_t m = 0;
        char *old = fs_exists(dst) ? fs_read_file(dst, &m, NULL) : NULL;
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
    strbuf_printf(b, "# %s — written by aelab %s: %s\n", shown_name, AE_VERSION, what);
    strbuf_printf(b, "# Re-render with `gnuplot %s` (from any directory) or `aelab plot RUN_DIR`.\n",
              shown_name);
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
    sb_quote(b, name);
    snprintf(name, sizeof name, "%s.f32", base);
    strbuf_printf(b, "\ndata = ");
    sb_quote(b, name);
    strbuf_printf(b, "  # float32 LE, (%d rows, %d columns), NaN = gap\n", img_h, img_w);
}

/* Writes DIR/NAME.gp (the script text in b) and renders it when gnuplot exists. */
static bool plots_emit(const char *dir, const char *name, StrBuf *b, AeError *err) {
    char file[300], path[PLOTS_PATH_MAX];
    snprintf(file, sizeof file, "%s.gp", name);
    if (!plots_join(path, dir, file, err))
        return false;
    if (!fs_write_atomic(path, b->s, b->n, err))
        return false;
    if (!plots_have_gnuplot()) {
        plots_note_missing();
        return true;
    }
    return plots_run_script(dir, file, err);
}

/* ---- mosaics ---- */

/* Writes n floats as little-endian float32 (byte-swapped on a big-endian host). */
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

/* Screen pixels per picture pixel: the long side near PLOTS_TARGET_PX, at least 1. */
static int plots_scale(int img_w, int img_h) {
    int longest = img_w > img_h ? img_w : img_h;
    int s = PLOTS_TARGET_PX / longest;
    return s < 1 ? 1 : s;
}

/* Creates RUN_DIR/SUB and fills dir with its path. */
static bool plots_subdir(char *dir, const char *run_dir, const char *sub, AeError *err) {
    if (!plots_join(dir, run_dir, sub, err))
        return false;
    return fs_mkdir_p(dir, err);
}

/* Writes the picture img (img_h, img_w) as SUBDIR/BASE.f32 (img is byte-swapped in place on a
 * big-endian host), installs the template and starts the script in b (head, data file, size
 * and scale). Fills dir with the picture's directory. */
static bool plots_image_begin(StrBuf *b, char dir[PLOTS_PATH_MAX], const char *run_dir,
                              const char *subdir, const char *tmpl, const char *what,
                              const char *base, float *img, int img_w, int img_h,
                              AeError *err) {
    char file[300], path[PLOTS_PATH_MAX], shown[400], tmpl_rel[64];
    if (!plots_subdir(dir, run_dir, subdir, err))
        return false;
    snprintf(file, sizeof file, "%s.f32", base);
    if (!plots_join(path, dir, file, err) ||
        !plots_write_f32(path, img, (size_t)img_w * (size_t)img_h, err) ||
        !plots_install_template(run_dir, tmpl, err))
        return false;
    snprintf(shown, sizeof shown, "%s/%s.gp", subdir, base);
    snprintf(tmpl_rel, sizeof tmpl_rel, "../plots/%s.gp", tmpl);
    plots_script_head(b, what, shown, tmpl_rel);
    plots_script_files(b, base, img_h, img_w);
    strbuf_printf(b, "img_w = %d\nimg_h = %d\nscale = %d\n", img_w, img_h,
                  plots_scale(img_w, img_h));
    return true;
}

bool plots_weight_tiles(const char *run_dir, const char *base, const char *title, const float *W,
                        int ntiles, int tile_h, int tile_w, int grid_cols, bool per_tile,
                        AeError *err) {
    AE_ASSERT(run_dir && W && ntiles > 0 && tile_h > 0 && tile_w > 0);
    if (!plots_valid_base(base))
        return ae_fail(err, "%s: error: invalid picture name '%s' (it becomes a file name: no '/', "
                            "no control characters, not empty, not starting with '.')",
                       run_dir, base ? base : "(null)");
    if (grid_cols <= 0)
        grid_cols = (int)ceil(sqrt((double)ntiles));
    if (grid_cols > ntiles)
        grid_cols = ntiles;
    int grid_rows = (ntiles + grid_cols - 1) / grid_cols;
    int img_w = grid_cols * (tile_w + 1) + 1; /* 1-pixel gaps around every tile */
    int img_h = grid_rows * (tile_h + 1) + 1;
    size_t tile_n = (size_t)tile_h * (size_t)tile_w;
    float *img = ae_xmalloc((size_t)img_w * (size_t)img_h * sizeof *img); /* (img_h, img_w) */
    for (size_t i = 0; i < (size_t)img_w * (size_t)img_h; i++)
        img[i] = NAN;
    double picture_max = 0;
    for (int k = 0; k < ntiles; k++) {
        const float *t = W + (size_t)k * tile_n; /* (tile_h, tile_w) */
        double m = 0;
        for (size_t i = 0; i < tile_n; i++)
            if (isfinite(t[i]) && fabs(t[i]) > m)
                m = fabs(t[i]);
        if (m > picture_max)
            picture_max = m;
        double s = per_tile && m > 0 ? 1.0 / m : 1.0;
        int r0 = 1 + (k / grid_cols) * (tile_h + 1), c0 = 1 + (k % grid_cols) * (tile_w + 1);
        for (int y = 0; y < tile_h; y++)
            for (int x = 0; x < tile_w; x++) {
                float v = t[(size_t)y * (size_t)tile_w + (size_t)x];
                img[(size_t)(r0 + y) * (size_t)img_w + (size_t)(c0 + x)] =
                    isfinite(v) ? (float)(v * s) : NAN;
            }
    }
    double cbmax = per_tile ? 1.0 : picture_max;
    if (!(cbmax > 0))
        cbmax = 1.0; /* an all-zero picture: mid-gray on a unit scale */

    char dir[PLOTS_PATH_MAX];
    StrBuf b = {0};
    bool ok = plots_image_begin(&b, dir, run_dir, "weights", "tiles", "a mosaic of weight tiles",
                                base, img, img_w, img_h, err);
    if (ok) {
        strbuf_printf(&b, "ntiles = %d  # %d x %d pixels each, %d per row\n", ntiles, tile_h,
                      tile_w, grid_cols);
        strbuf_printf(&b, "cbmax = %.9g  # %s\n", cbmax,
                      per_tile ? "each tile divided by its own max |w|"
                               : "the picture's max |w|: gray 0, black -cbmax, white +cbmax");
        strbuf_printf(&b, "plot_title = ");
        sb_quote(&b, title ? title : base);
        strbuf_printf(&b, "\ncb_label = ");
        sb_quote(&b, per_tile ? "w / max |w| of its tile" : "weight");
        strbuf_printf(&b, "\nload '../plots/tiles.gp'\n");
        ok = plots_emit(dir, base, &b, err);
    }
    free(b.s);
    free(img);
    return ok;
}

bool plots_reconstructions(const char *run_dir, const char *base, const char *title,
                           const float *inputs, const float *noisy, const float *outputs, int n,
                           int h, int w, AeError *err) {
    AE_ASSERT(run_dir && inputs && outputs && n > 0 && h > 0 && w > 0);
    if (!plots_valid_base(base))
        return ae_fail(err, "%s: error: invalid picture name '%s' (it becomes a file name: no '/', "
                            "no control characters, not empty, not starting with '.')",
                       run_dir, base ? base : "(null)");
    const float *kinds[3] = {inputs, noisy, outputs};
    const char *labels[3] = {"input", "noisy input", "output"};
    int nkinds = 0;
    const float *use[3];
    const char *use_label[3];
    for (int k = 0; k < 3; k++)
        if (kinds[k]) {
            use[nkinds] = kinds[k];
            use_label[nkinds++] = labels[k];
        }
    int img_w = n * (w + 1) + 1, img_h = nkinds * (h + 1) + 1;
    size_t px = (size_t)h * (size_t)w;
    float *img = ae_xmalloc((size_t)img_w * (size_t)img_h * sizeof *img); /* (img_h, img_w) */
    for (size_t i = 0; i < (size_t)img_w * (size_t)img_h; i++)
        img[i] = NAN;
    for (int k = 0; k < nkinds; k++)
        for (int e = 0; e < n; e++) {
            const float *src = use[k] + (size_t)e * px; /* (h, w) */
            int r0 = 1 + k * (h + 1), c0 = 1 + e * (w + 1);
            for (int y = 0; y < h; y++)
                memcpy(&img[(size_t)(r0 + y) * (size_t)img_w + (size_t)c0],
                       src + (size_t)y * (size_t)w, (size_t)w * sizeof *img);
        }

    char dir[PLOTS_PATH_MAX];
    StrBuf b = {0};
    bool ok = plots_image_begin(&b, dir, run_dir, "recon", "recon", "reconstructions", base, img,
                                img_w, img_h, err);
    if (ok) {
        strbuf_printf(&b, "nexamples = %d  # %d x %d pixels each\n", n, h, w);
        strbuf_printf(&b, "plot_title = ");
        sb_quote(&b, title ? title : base);
        strbuf_printf(&b, "\nnkinds = %d\narray kind_label[%d] = [", nkinds, nkinds);
        for (int k = 0; k < nkinds; k++) {
            strbuf_printf(&b, "%s", k ? ", " : "");
            sb_quote(&b, use_label[k]);
        }
        strbuf_printf(&b, "]\narray kind_y[%d] = [", nkinds);
        for (int k = 0; k < nkinds; k++)
            strbuf_printf(&b, "%s%.1f", k ? ", " : "", 1 + k * (h + 1) + (h - 1) / 2.0);
        strbuf_printf(&b, "]\nload '../plots/recon.gp'\n");
        ok = plots_emit(dir, base, &b, err);
    }
    free(b.s);
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

/* Column index by name, or -1 (optional) / error (required). */
static bool plots_need_col(const CsvTable *t, const char *path, const char *name, int *col,
                           AeError *err) {
    *col = csvtable_col(t, name);
    if (*col < 0)
        return ae_fail(err, "%s:1: error: missing column '%s'", path, name);
    return true;
}

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

/* Reads metrics.csv into one summary per stage, in order of first appearance. *out is malloc'ed
 * (caller frees) even when false is returned. */
static bool plots_collect_stages(const CsvTable *t, const char *path, StageSummary **out, int *nout,
                                 AeError *err) {
    int nrows = csvtable_nrows(t);
    StageSummary *st = ae_xcalloc((size_t)(nrows > 0 ? nrows : 1), sizeof *st);
    int nst = 0;
    *out = st;
    *nout = 0;
    int c_idx, c_stage, c_epoch, c_loss;
    if (!plots_need_col(t, path, "stage_index", &c_idx, err) ||
        !plots_need_col(t, path, "stage", &c_stage, err) ||
        !plots_need_col(t, path, "epoch", &c_epoch, err) ||
        !plots_need_col(t, path, "loss", &c_loss, err))
        return false;
    int c_kind = csvtable_col(t, "kind");
    const int parts[3] = {c_loss, csvtable_col(t, "penalty"), csvtable_col(t, "weight_decay")};
    const int accs[2] = {csvtable_col(t, "test_accuracy"), csvtable_col(t, "train_accuracy")};
    bool ok = true;
    for (int r = 0; r < nrows && ok; r++) {
        double idx, epoch, v;
        if (!plots_cell(t, r, c_idx, path, &idx, &ok, err) ||
            !plots_cell(t, r, c_epoch, path, &epoch, &ok, err)) {
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
            snprintf(s->label, sizeof s->label, "%s", csvtable_get(t, r, c_stage));
            if (c_kind >= 0)
                snprintf(s->kind, sizeof s->kind, "%s", csvtable_get(t, r, c_kind));
            s->min_pos = s->acc_min = INFINITY;
            s->max_val = s->acc_max = -INFINITY;
        }
        s->max_epoch = fmax(s->max_epoch, epoch);
        for (int p = 0; p < 3; p++) {
            if (!plots_cell(t, r, parts[p], path, &v, &ok, err) || !isfinite(v))
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
            if (!plots_cell(t, r, accs[a], path, &v, &ok, err) || !isfinite(v))
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

/* loss.gp: x counts epochs across the training stages; log y when the values drawn span more
 * than a factor of 10 and are all positive. */
static bool plots_loss(const char *run_dir, const char *run_name, const StageSummary *st, int nst,
                       AeError *err) {
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
    if (n == 0)
        return true;
    if (!plots_install_template(run_dir, "loss", err))
        return false;
    StrBuf b = {0}, idx = {0}, lab = {0}, off = {0}, pen = {0}, dec = {0};
    for (int i = 0, k = 0; i < nst; i++) {
        if (!plots_is_training(&st[i]))
            continue;
        const char *sep = k++ ? ", " : "";
        strbuf_printf(&idx, "%s%.17g", sep, st[i].index);
        strbuf_printf(&lab, "%s", sep);
        sb_quote(&lab, st[i].label);
        strbuf_printf(&off, "%s%.17g", sep, offset);
        strbuf_printf(&pen, "%s%d", sep, st[i].has_penalty);
        strbuf_printf(&dec, "%s%d", sep, st[i].has_decay);
        offset += st[i].max_epoch;
    }
    char title[400];
    snprintf(title, sizeof title, "%s: training loss", run_name);
    plots_script_head(&b, "training loss per epoch", "loss.gp", "plots/loss.gp");
    strbuf_printf(&b, "if (!exists(\"out_png\")) out_png = 'loss.png'\ndata = 'metrics.csv'\n");
    strbuf_printf(&b, "plot_title = ");
    sb_quote(&b, title);
    strbuf_printf(&b, "\nnstages = %d\nlogy = %d\nxmax = %.17g\n", n,
              !nonpos && lo > 0 && hi / lo > 10, offset);
    strbuf_printf(&b, "array stage_index[%d] = [%s]\n", n, idx.s);
    strbuf_printf(&b, "array stage_label[%d] = [%s]\n", n, lab.s);
    strbuf_printf(&b, "array stage_offset[%d] = [%s]  # x = stage_offset + epoch\n", n, off.s);
    strbuf_printf(&b, "array has_penalty[%d] = [%s]\n", n, pen.s);
    strbuf_printf(&b, "array has_decay[%d] = [%s]\n", n, dec.s);
    strbuf_printf(&b, "load 'plots/loss.gp'\n");
    bool ok = plots_emit(run_dir, "loss", &b, err);
    free(b.s);
    free(idx.s);
    free(lab.s);
    free(off.s);
    free(pen.s);
    free(dec.s);
    return ok;
}

/* accuracy.gp: test (and train) accuracy per epoch of each classifier stage. */
static bool plots_accuracy(const char *run_dir, const char *run_name, const StageSummary *st,
                           int nst, AeError *err) {
    int n = 0;
    double amin = INFINITY, amax = -INFINITY, xmax = 1;
    for (int i = 0; i < nst; i++)
        if (plots_is_classifier(&st[i])) {
            n++;
            amin = fmin(amin, st[i].acc_min);
            amax = fmax(amax, st[i].acc_max);
            xmax = fmax(xmax, st[i].max_epoch);
        }
    if (n == 0)
        return true;
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
        sb_quote(&lab, st[i].label);
        strbuf_printf(&tr, "%s%d", sep, st[i].has_train);
        strbuf_printf(&fa, "%s%.9g", sep, st[i].last_test * scale);
        strbuf_printf(&fe, "%s%.17g", sep, st[i].last_test_epoch);
    }
    char title[400];
    snprintf(title, sizeof title, "%s: classifier accuracy", run_name);
    plots_script_head(&b, "accuracy per epoch of the classifier stages", "accuracy.gp",
                      "plots/accuracy.gp");
    strbuf_printf(&b, "if (!exists(\"out_png\")) out_png = 'accuracy.png'\ndata = 'metrics.csv'\n");
    strbuf_printf(&b, "plot_title = ");
    sb_quote(&b, title);
    strbuf_printf(&b, "\nnstages = %d\nxmax = %.17g\nacc_scale = %g\nymin = %g\nymax = %g\n", n, xmax,
              scale, ymin, ymax);
    strbuf_printf(&b, "array stage_index[%d] = [%s]\n", n, idx.s);
    strbuf_printf(&b, "array stage_label[%d] = [%s]\n", n, lab.s);
    strbuf_printf(&b, "array has_train[%d] = [%s]\n", n, tr.s);
    strbuf_printf(&b, "array final_acc[%d] = [%s]  # percent\n", n, fa.s);
    strbuf_printf(&b, "array final_epoch[%d] = [%s]\n", n, fe.s);
    strbuf_printf(&b, "load 'plots/accuracy.gp'\n");
    bool ok = plots_emit(run_dir, "accuracy", &b, err);
    free(b.s);
    free(idx.s);
    free(lab.s);
    free(tr.s);
    free(fa.s);
    free(fe.s);
    return ok;
}

/* Reads RUN_DIR/NAME into *t, its path into path. True with *t NULL when the file is not there
 * (nothing to plot); false, err set, when it cannot be read. */
static bool plots_read_csv(const char *run_dir, const char *name, char *path, CsvTable **t,
                           AeError *err) {
    *t = NULL;
    if (!plots_join(path, run_dir, name, err))
        return false;
    if (!fs_exists(path))
        return true;
    *t = csvtable_read(path, err);
    return *t != NULL;
}

static bool plots_loss_and_accuracy(const char *run_dir, const char *run_name, AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "metrics.csv", path, &t, err))
        return false;
    if (!t)
        return true; /* nothing to plot */
    StageSummary *st = NULL;
    int nst = 0;
    bool ok = plots_collect_stages(t, path, &st, &nst, err) &&
              plots_loss(run_dir, run_name, st, nst, err) &&
              plots_accuracy(run_dir, run_name, st, nst, err);
    free(st);
    csvtable_free(t);
    return ok;
}

static bool plots_confusion(const char *run_dir, const char *run_name, AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "confusion.csv", path, &t, err))
        return false;
    if (!t)
        return true; /* nothing to plot */
    StrBuf b = {0}, lab = {0};
    bool ok = true;
    int C = csvtable_ncols(t) - 1;
    if (C < 1 || csvtable_nrows(t) != C) {
        ok = ae_fail(err, "%s: error: expected a square matrix: a header 'true,pred_0,...' and one "
                          "row per class, got %d column%s of predictions and %d row%s",
                     path, C, C == 1 ? "" : "s", csvtable_nrows(t),
                     csvtable_nrows(t) == 1 ? "" : "s");
        goto done;
    }
    double maxcount = 0, total = 0;
    for (int r = 0; r < C && ok; r++)
        for (int c = 1; c <= C && ok; c++) {
            double v;
            if (!csvtable_get_num(t, r, c, &v) || !(v >= 0)) {
                ok = ae_fail(err, "%s:%d: error: column '%s': expected a count >= 0, got '%s'",
                             path, csvtable_line(t, r), csvtable_header(t, c),
                             csvtable_get(t, r, c));
                break;
            }
            maxcount = fmax(maxcount, v);
            total += v;
        }
    if (!ok)
        goto done;
    ok = plots_install_template(run_dir, "confusion", err);
    if (!ok)
        goto done;
    for (int r = 0; r < C; r++) {
        strbuf_printf(&lab, "%s", r ? ", " : "");
        sb_quote(&lab, csvtable_get(t, r, 0));
    }
    plots_script_head(&b, "confusion matrix heatmap", "confusion.gp", "plots/confusion.gp");
    strbuf_printf(&b, "if (!exists(\"out_png\")) out_png = 'confusion.png'\n"
                  "data = 'confusion.csv'\nplot_title = ");
    char title[400];
    snprintf(title, sizeof title, "%s: confusion matrix (%.0f examples)", run_name, total);
    sb_quote(&b, title);
    strbuf_printf(&b, "\nnclasses = %d\nmaxcount = %.17g\narray class_label[%d] = [%s]\n", C, maxcount,
              C, lab.s);
    strbuf_printf(&b, "load 'plots/confusion.gp'\n");
    ok = plots_emit(run_dir, "confusion", &b, err);
done:
    free(b.s);
    free(lab.s);
    csvtable_free(t);
    return ok;
}

static bool plots_per_class(const char *run_dir, const char *run_name, AeError *err) {
    char path[PLOTS_PATH_MAX];
    CsvTable *t;
    if (!plots_read_csv(run_dir, "per_class.csv", path, &t, err))
        return false;
    if (!t)
        return true; /* nothing to plot */
    StrBuf b = {0};
    bool ok = true;
    int c_class, c_acc;
    if (!plots_need_col(t, path, "class", &c_class, err) ||
        !plots_need_col(t, path, "accuracy", &c_acc, err)) {
        ok = false;
        goto done;
    }
    int c_correct = csvtable_col(t, "correct"), c_total = csvtable_col(t, "total");
    int n = csvtable_nrows(t);
    if (n == 0)
        goto done;
    double amin = INFINITY, amax = -INFINITY, asum = 0, correct = 0, total = 0;
    bool counts = c_correct >= 0 && c_total >= 0;
    for (int r = 0; r < n && ok; r++) {
        double a, c = 0, k = 0;
        if (!plots_cell(t, r, c_acc, path, &a, &ok, err)) {
            if (ok)
                ok = ae_fail(err, "%s:%d: error: empty accuracy", path, csvtable_line(t, r));
            break;
        }
        amin = fmin(amin, a);
        amax = fmax(amax, a);
        asum += a;
        if (counts && plots_cell(t, r, c_correct, path, &c, &ok, err) &&
            plots_cell(t, r, c_total, path, &k, &ok, err)) {
            correct += c;
            total += k;
        } else {
            counts = false;
        }
    }
    if (!ok)
        goto done;
    double scale = amax <= 1.0 ? 100.0 : 1.0;
    double overall = counts && total > 0 ? 100.0 * correct / total : scale * asum / n;
    amin *= scale;
    double ymin = fmax(0.0, floor((amin - 0.15 * (100.0 - amin) - 1.0) / 5.0) * 5.0);
    double ymax = 100.0 + 0.06 * (100.0 - ymin);
    ok = plots_install_template(run_dir, "per_class", err);
    if (!ok)
        goto done;
    plots_script_head(&b, "per-class accuracy", "per_class.gp", "plots/per_class.gp");
    strbuf_printf(&b, "if (!exists(\"out_png\")) out_png = 'per_class.png'\n"
                  "data = 'per_class.csv'\nplot_title = ");
    char title[400];
    snprintf(title, sizeof title, "%s: per-class accuracy", run_name);
    sb_quote(&b, title);
    strbuf_printf(&b, "\nnclasses = %d\nacc_scale = %g\nymin = %g\nymax = %g\noverall = %.9g\n", n,
              scale, ymin, ymax, overall);
    strbuf_printf(&b, "load 'plots/per_class.gp'\n");
    ok = plots_emit(run_dir, "per_class", &b, err);
done:
    free(b.s);
    csvtable_free(t);
    return ok;
}

bool plots_run_curves(const char *run_dir, AeError *err) {
    AE_ASSERT(run_dir);
    if (!fs_is_dir(run_dir))
        return ae_fail(err, "%s: error: %s", run_dir,
                       fs_exists(run_dir) ? "not a directory" : "No such file or directory");
    char name[256];
    plots_basename(name, sizeof name, run_dir);
    return plots_loss_and_accuracy(run_dir, name, err) && plots_confusion(run_dir, name, err) &&
           plots_per_class(run_dir, name, err);
}

/* ---- re-rendering ---- */

/* True when the file starts with the template mark (templates are not standalone scripts). */
static bool plots_is_template(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    char line[64] = {0};
    bool is = fgets(line, sizeof line, fp) &&
              strncmp(line, PLOTS_TEMPLATE_MARK, strlen(PLOTS_TEMPLATE_MARK)) == 0;
    fclose(fp);
    return is;
}

static int plots_alpha(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Renders every generated script under dir; failures are printed to stderr and counted. */
static void plots_render_tree(const char *dir, int depth, int *nrendered, int *nfailed) {
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, plots_alpha);
    if (n < 0) {
        fprintf(stderr, "%s: error: cannot list directory: %s\n", dir, strerror(errno));
        (*nfailed)++;
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        char path[PLOTS_PATH_MAX];
        AeError e2;
        if (name[0] == '.' || !plots_join(path, dir, name, &e2))
            continue;
        size_t len = strlen(name);
        if (fs_is_dir(path)) {
            if (depth < 8)
                plots_render_tree(path, depth + 1, nrendered, nfailed);
        } else if (len > 3 && strcmp(name + len - 3, ".gp") == 0 && !plots_is_template(path)) {
            if (plots_run_script(dir, name, &e2)) {
                (*nrendered)++;
            } else {
                fprintf(stderr, "%s\n", e2.msg);
                (*nfailed)++;
            }
        }
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

bool plots_render_dir(const char *run_dir, int *nrendered, AeError *err) {
    AE_ASSERT(run_dir);
    int count = 0;
    if (nrendered)
        *nrendered = 0;
    if (!fs_is_dir(run_dir))
        return ae_fail(err, "%s: error: %s", run_dir,
                       fs_exists(run_dir) ? "not a directory" : "No such file or directory");
    if (!plots_have_gnuplot()) {
        fprintf(stderr,
                "aelab: note: gnuplot not found%s; nothing rendered (install gnuplot-nox)\n",
                getenv("AELAB_GNUPLOT") ? " ($AELAB_GNUPLOT)" : " on PATH");
        return true;
    }
    int nfailed = 0;
    plots_render_tree(run_dir, 0, &count, &nfailed);
    if (nrendered)
        *nrendered = count;
    if (nfailed > 0)
        return ae_fail(err, "%s: error: %d gnuplot script%s failed (messages above); %d rendered",
                       run_dir, nfailed, nfailed == 1 ? "" : "s", count);
    return true;
}
