/* tests/test_plots.c — the gnuplot pictures of a run (runner/plots).
 *
 * Builds a run directory in /tmp with a metrics.csv (three training stages, one with a penalty,
 * a classifier with test and train accuracy, an evaluate row), confusion.csv and per_class.csv,
 * plus synthetic weight tiles (encoder 400 x 28x28, decoder rows 784 x 20x20, per-tile
 * normalised) and reconstructions (with and without a noisy band). Checks:
 *  - without gnuplot (AELAB_GNUPLOT=""), data and scripts are written and no PNG, and the calls
 *    succeed;
 *  - with gnuplot, every script renders a PNG (signature, size > 1 KB) with no gnuplot warning;
 *  - every generated script also runs as `gnuplot RUN/.../x.gp` from another directory;
 *  - plots_replot writes every script again, byte for byte as the drawing functions did, from
 *    the CSVs and the .meta.csv files, renders them all, and never runs a script it finds there
 *    (a planted one that would create a marker file); without gnuplot it writes the scripts and
 *    fails; plots_render_script renders a script aelab wrote and reports a broken one;
 *  - the mosaic's geometry and values (gaps NaN, symmetric range, per-tile scaling), the
 *    .meta.csv files;
 *  - errors: bad picture names, a metrics.csv without its columns or with a non-finite epoch, a
 *    .meta.csv out of range, not a run directory.
 * tests/test_plot_safety.sh drives the same through `aelab plot` and `aelab run`.
 * Exits 77 (skip) after the no-gnuplot checks when gnuplot is not installed.
 * AELAB_KEEP_PLOTS=1 keeps the directory (to look at the PNGs).
 */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvout.h"
#include "fsutil.h"
#include "plots.h"
#include "testutil.h"

static const char *run; /* the run directory: tu_dir() */

static const char *at(const char *rel) {
    static char buf[8][600];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", run, rel);
    return buf[k];
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A real PNG of more than 1 KB. */
static bool is_png(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    unsigned char sig[8] = {0};
    size_t got = fread(sig, 1, 8, fp);
    fclose(fp);
    static const unsigned char want[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return got == 8 && memcmp(sig, want, 8) == 0 && file_size(path) > 1024;
}

static void write_text(const char *path, const char *text) {
    AeError err;
    if (!fs_write_atomic(path, text, strlen(text), &err))
        fprintf(stderr, "%s\n", err.msg);
}

/* metrics.csv as the pipeline writes it (header from the pipeline's contract). */
static void write_metrics(void) {
    static const char *hdr[] = {"stage_index", "stage", "kind", "epoch", "loss", "penalty",
                                "weight_decay", "objective", "train_accuracy", "test_accuracy",
                                "mean_activation", "seconds"};
    static const double ae[] = {0.1892, 0.0995, 0.085, 0.078, 0.074, 0.071, 0.069, 0.0675};
    static const double cl[] = {1.114769, 0.524831, 0.422878, 0.376357, 0.348854, 0.330525};
    static const double acc[] = {87.14, 89.37, 90.36, 90.95, 91.24, 91.54};
    CsvTable *t = csvtable_create(hdr, 12);
    for (int e = 0; e < 8; e++) {
        int r = csvtable_add_row(t, NULL);
        csvtable_set_int(t, r, 0, 1);
        csvtable_set_str(t, r, 1, "pretrain_layer");
        csvtable_set_str(t, r, 2, "pretrain_layer");
        csvtable_set_int(t, r, 3, e + 1);
        csvtable_set_num(t, r, 4, ae[e], "%.9g");
        csvtable_set_num(t, r, 5, 0.02 * ae[e], "%.9g");
        csvtable_set_num(t, r, 7, 1.02 * ae[e], "%.9g");
        csvtable_set_num(t, r, 10, 0.31, "%.9g");
        csvtable_set_num(t, r, 11, 3.2, "%.3f");
    }
    for (int e = 0; e < 5; e++) {
        int r = csvtable_add_row(t, NULL);
        csvtable_set_int(t, r, 0, 2);
        csvtable_set_str(t, r, 1, "append layer 'two'"); /* a label with a space and quotes */
        csvtable_set_str(t, r, 2, "append_layer");
        csvtable_set_int(t, r, 3, e + 1);
        csvtable_set_num(t, r, 4, 0.0773 - 0.002 * e, "%.9g");
        csvtable_set_num(t, r, 5, 0.0, "%.9g"); /* zero: not drawn */
        csvtable_set_num(t, r, 11, 5.0, "%.3f");
    }
    for (int e = 0; e < 6; e++) {
        int r = csvtable_add_row(t, NULL);
        csvtable_set_int(t, r, 0, 4);
        csvtable_set_str(t, r, 1, "attach_classifier");
        csvtable_set_str(t, r, 2, "attach_classifier");
        csvtable_set_int(t, r, 3, e + 1);
        csvtable_set_num(t, r, 4, cl[e], "%.9g");
        csvtable_set_num(t, r, 8, acc[e] + 0.8, "%.9g");
        csvtable_set_num(t, r, 9, acc[e], "%.9g");
        csvtable_set_num(t, r, 11, 2.3, "%.3f");
    }
    int r = csvtable_add_row(t, NULL);
    csvtable_set_int(t, r, 0, 5);
    csvtable_set_str(t, r, 1, "evaluate");
    csvtable_set_str(t, r, 2, "evaluate");
    csvtable_set_int(t, r, 3, 1);
    csvtable_set_num(t, r, 4, 0.3, "%.9g");
    csvtable_set_num(t, r, 9, 91.54, "%.9g");
    AeError err;
    CHECK(csvtable_write_atomic(t, at("metrics.csv"), &err));
    csvtable_free(t);
}

static void write_eval_csvs(void) {
    char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "true");
    for (int k = 0; k < 10; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ",pred_%d", k);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
    for (int t = 0; t < 10; t++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d", t);
        for (int p = 0; p < 10; p++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ",%d",
                                  p == t ? 900 + 9 * t : (t * 7 + p * 3) % 13);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
    }
    write_text(at("confusion.csv"), buf);
    write_text(at("per_class.csv"), "class,correct,total,accuracy\n"
                                    "0,962,980,98.16\n1,1107,1135,97.53\n2,967,1032,93.70\n"
                                    "3,939,1010,92.97\n4,918,982,93.48\n5,785,892,88.00\n"
                                    "6,915,958,95.51\n7,948,1028,92.22\n8,895,974,91.89\n"
                                    "9,934,1009,92.57\n");
}

/* Synthetic encoder weights (400, 784): oriented stripes under a Gaussian, amplitudes varying
 * by unit, so the picture has structure and a clear range. */
static float *make_weights(void) {
    float *W = malloc(400 * 784 * sizeof *W);
    for (int u = 0; u < 400; u++) {
        double th = u * 0.7, f = 0.25 + 0.2 * ((u * 37) % 11) / 10.0;
        double a = 0.02 + 0.28 * ((u * 13) % 17) / 16.0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                double g = exp(-((x - 13.5) * (x - 13.5) + (y - 13.5) * (y - 13.5)) / 120.0);
                W[u * 784 + y * 28 + x] = (float)(a * g * sin(f * (x * cos(th) + y * sin(th))));
            }
    }
    return W;
}

/* Synthetic "digits" in [0,1]: rings of varying radius; noisy = clamp(x + offsets). */
static void make_images(float *x, float *noisy, float *out, int n) {
    for (int e = 0; e < n; e++)
        for (int y = 0; y < 28; y++)
            for (int c = 0; c < 28; c++) {
                double r = sqrt((y - 14.0) * (y - 14.0) + (c - 14.0) * (c - 14.0));
                double v = exp(-(r - 5.0 - e * 0.5) * (r - 5.0 - e * 0.5) / 3.0);
                double z = v + 0.1 + 0.2 * sin(y * 12.9898 + c * 78.233 + e);
                int i = e * 784 + y * 28 + c;
                x[i] = (float)v;
                noisy[i] = (float)(z < 0 ? 0 : z > 1 ? 1 : z);
                out[i] = (float)(0.85 * v + 0.05);
            }
}

static const char *const pictures[] = {
    "loss.png", "accuracy.png", "confusion.png", "per_class.png", "weights/enc_after.png",
    "weights/enc_unit.png", "weights/dec_after.png", "weights/small it's.png",
    "recon/ae_final.png", "recon/dae_final.png",
};
#define NPICTURES (int)(sizeof pictures / sizeof *pictures)

static bool make_all(AeError *err) {
    float *W = make_weights();
    float *Wt = malloc(784 * 400 * sizeof *Wt); /* decoder view: (784 pixel rows, 400) */
    for (int u = 0; u < 400; u++)
        for (int p = 0; p < 784; p++)
            Wt[p * 400 + u] = W[u * 784 + p];
    float x[10 * 784], noisy[10 * 784], out[10 * 784];
    make_images(x, noisy, out, 10);
    bool ok = plots_weight_tiles(run, "enc_after", "encoder weights after pretrain_layer", W, 400,
                                 28, 28, 20, false, err) &&
              plots_weight_tiles(run, "enc_unit",
                                 "encoder weights, each tile scaled to its max |w|", W, 400, 28,
                                 28, 0, true, err) &&
              plots_weight_tiles(run, "dec_after", "decoder weights (one tile per pixel)", Wt, 784,
                                 20, 20, 28, false, err) &&
              /* A name with a space and a quote; 6 tiles of 4x7 in rows of 4; a title with a
               * quote, a backslash and underscores (no enhanced-text surprises). */
              plots_weight_tiles(run, "small it's", "it's a \\ test_with_underscores", W, 6, 4,
                                 7, 4, false, err) &&
              plots_reconstructions(run, "ae_final", "reconstructions after training", x, NULL,
                                    out, 10, 28, 28, err) &&
              plots_reconstructions(run, "dae_final", "denoising: input, noisy input, output", x,
                                    noisy, out, 8, 28, 28, err) &&
              plots_run_curves(run, err);
    free(W);
    free(Wt);
    return ok;
}

static void test_without_gnuplot(void) {
    AeError err = {{0}};
    setenv("AELAB_GNUPLOT", "", 1);
    CHECK(!plots_have_gnuplot());
    bool ok = make_all(&err);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "%s\n", err.msg);
    static const char *const scripts[] = {"loss.gp", "accuracy.gp", "confusion.gp", "per_class.gp",
                                          "weights/enc_after.gp", "recon/dae_final.gp",
                                          "plots/tiles.gp", "plots/loss.gp"};
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++)
        CHECK(file_size(at(scripts[i])) > 0);
    for (int i = 0; i < NPICTURES; i++)
        CHECK(!fs_exists(at(pictures[i])));
    CHECK(file_size(at("weights/enc_after.f32")) == 581L * 581 * 4);
    CHECK(file_size(at("weights/dec_after.f32")) == 589L * 589 * 4);
    CHECK(file_size(at("recon/dae_final.f32")) == (8L * 29 + 1) * (3 * 29 + 1) * 4);
    CHECK(file_size(at("recon/ae_final.f32")) == (10L * 29 + 1) * (2 * 29 + 1) * 4);
    char *meta = fs_read_file(at("weights/enc_after.meta.csv"), NULL, &err);
    CHECK_STR(meta, "title,ntiles,tile_h,tile_w,grid_cols,per_tile\n"
                    "encoder weights after pretrain_layer,400,28,28,20,0\n");
    free(meta);
    meta = fs_read_file(at("recon/dae_final.meta.csv"), NULL, &err);
    CHECK_STR(meta, "title,nexamples,height,width,noisy\n"
                    "\"denoising: input, noisy input, output\",8,28,28,1\n");
    free(meta);
    /* `aelab plot` without gnuplot: every script written again, then a failure saying why. */
    unlink(at("loss.gp"));
    unlink(at("weights/enc_after.gp"));
    PlotsReplot rep;
    CHECK(!plots_replot(run, &rep, &err));
    CHECK(!rep.not_a_run && rep.rendered == NPICTURES && rep.failed == 0 && rep.skipped == 0);
    CHECK(strstr(err.msg, "gnuplot not found ($AELAB_GNUPLOT): wrote 10 plot scripts") != NULL);
    CHECK(file_size(at("loss.gp")) > 0 && file_size(at("weights/enc_after.gp")) > 0);
    unsetenv("AELAB_GNUPLOT");
}

static void test_mosaic_values(void) {
    AeError err;
    size_t len = 0;
    float *W = make_weights();
    float *img = (float *)fs_read_file(at("weights/enc_after.f32"), &len, &err);
    CHECK(img && len == 581u * 581 * 4);
    if (img) {
        CHECK(isnan(img[0]) && isnan(img[29]) && isnan(img[581 * 29 + 5]));
        CHECK(img[581 * 1 + 1] == W[0]);                        /* tile 0, pixel (0,0) */
        CHECK(img[581 * (1 + 3) + 1 + 29 + 2] == W[784 + 3 * 28 + 2]); /* tile 1, pixel (3,2) */
        CHECK(img[581 * (1 + 29) + 1] == W[20 * 784]);           /* tile 20 starts row 2 */
    }
    free(img);
    /* Per-tile: every tile's max |value| is 1. */
    img = (float *)fs_read_file(at("weights/enc_unit.f32"), &len, &err);
    CHECK(img != NULL);
    if (img) {
        for (int k = 0; k < 400; k += 57) {
            double m = 0;
            int r0 = 1 + (k / 20) * 29, c0 = 1 + (k % 20) * 29;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    m = fmax(m, fabs(img[(r0 + y) * 581 + c0 + x]));
            CHECK_NEAR(m, 1.0, 1e-6, 0);
        }
    }
    free(img);
    /* The scripts state the symmetric range: the picture's max |w|. */
    double wmax = 0;
    for (int i = 0; i < 400 * 784; i++)
        wmax = fmax(wmax, fabs(W[i]));
    free(W);
    char line[64];
    snprintf(line, sizeof line, "cbmax = %.9g ", wmax);
    char *gp = fs_read_file(at("weights/enc_after.gp"), NULL, &err);
    CHECK(gp && strstr(gp, line) && strstr(gp, "load '../plots/tiles.gp'"));
    free(gp);
    gp = fs_read_file(at("weights/enc_unit.gp"), NULL, &err);
    CHECK(gp && strstr(gp, "cbmax = 1 ") != NULL);
    free(gp);
    gp = fs_read_file(at("loss.gp"), NULL, &err);
    CHECK(gp && strstr(gp, "nstages = 3\n") && strstr(gp, "'append layer ''two'''") &&
          strstr(gp, "array stage_offset[3] = [0, 8, 13]") &&
          strstr(gp, "array has_penalty[3] = [1, 0, 0]") && strstr(gp, "logy = 1"));
    free(gp);
    gp = fs_read_file(at("accuracy.gp"), NULL, &err);
    CHECK(gp && strstr(gp, "nstages = 1\n") && strstr(gp, "array final_acc[1] = [91.54]"));
    free(gp);
}

/* Runs fn with stderr sent to a file; returns what was printed (malloc'ed). */
static char *with_stderr_captured(bool (*fn)(AeError *), bool *ok, AeError *err) {
    const char *log = at("stderr.log");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    *ok = fn(err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = fs_read_file(log, NULL, err);
    unlink(log);
    return text;
}

static bool render_all(AeError *err) {
    PlotsReplot rep;
    bool ok = plots_replot(run, &rep, err);
    return ok && rep.rendered == NPICTURES && rep.skipped == 0;
}

static const char *const scripts_kept[] = {"loss.gp", "accuracy.gp", "confusion.gp",
                                           "per_class.gp", "weights/enc_after.gp",
                                           "weights/enc_unit.gp", "weights/small it's.gp",
                                           "recon/dae_final.gp"};
#define NKEPT (int)(sizeof scripts_kept / sizeof *scripts_kept)

static void test_with_gnuplot(void) {
    AeError err = {{0}};
    bool ok = false;
    char *log = with_stderr_captured(make_all, &ok, &err);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(log && log[0] == '\0'); /* no gnuplot warnings */
    if (log && log[0])
        fprintf(stderr, "stderr was:\n%s\n", log);
    free(log);
    for (int i = 0; i < NPICTURES; i++) {
        bool png = is_png(at(pictures[i]));
        CHECK(png);
        if (!png)
            fprintf(stderr, "  not a PNG > 1 KB: %s (%ld bytes)\n", at(pictures[i]),
                    file_size(at(pictures[i])));
    }

    /* Each script also runs by hand, from another directory. */
    for (int i = 0; i < NPICTURES; i++) {
        char gp[600], cmd[1400];
        snprintf(gp, sizeof gp, "%s", at(pictures[i]));
        memcpy(gp + strlen(gp) - 4, ".gp", 4);
        unlink(at(pictures[i]));
        snprintf(cmd, sizeof cmd, "cd / && gnuplot \"%s\" 2>&1", gp);
        int rc = system(cmd);
        CHECK(rc == 0);
        CHECK(is_png(at(pictures[i])));
    }

    /* `aelab plot`: writes every script again, the same bytes, renders them all, quietly;
     * runs none of the scripts it finds: planted ones would leave a marker file. */
    char *before[NKEPT];
    for (int i = 0; i < NKEPT; i++)
        before[i] = fs_read_file(at(scripts_kept[i]), NULL, &err);
    for (int i = 0; i < NPICTURES; i++)
        unlink(at(pictures[i]));
    char planted[900];
    snprintf(planted, sizeof planted, "system('touch %s')\n", at("MARKER"));
    write_text(at("loss.gp"), planted);
    write_text(at("weights/enc_unit.gp"), planted);
    write_text(at("extra.gp"), planted);
    write_text(at("plots/tiles.gp"), planted);
    log = with_stderr_captured(render_all, &ok, &err);
    CHECK(ok);
    CHECK(log && log[0] == '\0');
    free(log);
    for (int i = 0; i < NPICTURES; i++)
        CHECK(is_png(at(pictures[i])));
    CHECK(!fs_exists(at("plots/tiles.png")) && !fs_exists(at("extra.png")));
    CHECK(!fs_exists(at("MARKER")));
    for (int i = 0; i < NKEPT; i++) {
        char *again = fs_read_file(at(scripts_kept[i]), NULL, &err);
        CHECK(before[i] && again && strcmp(before[i], again) == 0);
        free(before[i]);
        free(again);
    }
    int rc = system("cd / && gnuplot \"$AELAB_TEST_RUN/extra.gp\" 2>/dev/null");
    CHECK(rc == 0 && fs_exists(at("MARKER"))); /* control: the planted script does touch it */
    unlink(at("MARKER"));
    unlink(at("extra.gp"));

    /* plots_render_script, for a script aelab just wrote: a broken one is reported with
     * gnuplot's message and leaves no PNG; a good one renders. */
    char flat[600];
    snprintf(flat, sizeof flat, "%s/flat", run);
    CHECK(fs_mkdir_p(flat, &err));
    write_text(at("flat/good.gp"), "set terminal png\nset output out_png\nplot x\n");
    write_text(at("flat/broken.gp"), "set terminal png\nset output out_png\nplot nosuchvar\n");
    CHECK(plots_render_script(flat, "good.gp", &err));
    CHECK(is_png(at("flat/good.png")));
    fprintf(stderr, "(one gnuplot error about broken.gp expected next)\n");
    CHECK(!plots_render_script(flat, "broken.gp", &err));
    CHECK(strstr(err.msg, "broken.gp") != NULL);
}

static void test_errors(void) {
    AeError err;
    float w[4] = {1, 2, 3, 4};
    CHECK(!plots_weight_tiles(run, "../escape", NULL, w, 1, 2, 2, 1, false, &err));
    CHECK(strstr(err.msg, "invalid picture name '../escape'") != NULL);
    CHECK(!plots_reconstructions(run, "", NULL, w, NULL, w, 1, 2, 2, &err));

    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad_run", run);
    AeError e2;
    CHECK(fs_mkdir_p(bad, &e2));
    char p[400];
    snprintf(p, sizeof p, "%s/metrics.csv", bad);
    write_text(p, "stage_index,stage,loss\n1,a,0.5\n");
    CHECK(!plots_run_curves(bad, &err));
    char want[600];
    snprintf(want, sizeof want, "%s:1: error: missing column 'epoch'", p);
    CHECK_STR(err.msg, want);
    write_text(p, "stage_index,stage,epoch,loss\n1,a,1,0.5\n1,a,2,zero\n");
    CHECK(!plots_run_curves(bad, &err));
    snprintf(want, sizeof want, "%s:3: error: column 'loss': expected a number, got 'zero'", p);
    CHECK_STR(err.msg, want);
    unlink(p);
    snprintf(p, sizeof p, "%s/confusion.csv", bad);
    write_text(p, "true,pred_0,pred_1\n0,5,1\n");
    CHECK(!plots_run_curves(bad, &err));
    CHECK(strstr(err.msg, "expected a square matrix") != NULL);
    unlink(p);
    snprintf(p, sizeof p, "%s/metrics.csv", bad);
    write_text(p, "stage_index,stage,epoch,loss\n1,a,1,0.5\n1,a,inf,0.4\n");
    CHECK(!plots_run_curves(bad, &err));
    snprintf(want, sizeof want, "%s:3: error: column 'epoch': expected a finite number, got 'inf'",
             p);
    CHECK_STR(err.msg, want);
    unlink(p);

    /* Not a run directory. */
    PlotsReplot rep;
    CHECK(!plots_run_curves(at("no_such_dir"), &err));
    CHECK(!plots_replot(at("no_such_dir"), &rep, &err) && rep.not_a_run);
    CHECK(strstr(err.msg, "no_such_dir: error: No such file or directory") != NULL);
    CHECK(!plots_replot(at("metrics.csv"), &rep, &err) && rep.not_a_run);
    CHECK(strstr(err.msg, "metrics.csv: error: not a directory") != NULL);
    CHECK(!plots_replot(bad, &rep, &err) && rep.not_a_run); /* empty now */
    CHECK(strstr(err.msg, "bad_run: error: not a run directory") != NULL);

    /* A .meta.csv out of range fails its picture, naming the file; the others are drawn. */
    setenv("AELAB_GNUPLOT", "", 1);
    char meta[600];
    snprintf(meta, sizeof meta, "%s", at("weights/dec_after.meta.csv"));
    char *keep = fs_read_file(meta, NULL, &err);
    write_text(meta, "title,ntiles,tile_h,tile_w,grid_cols,per_tile\nx,0,20,20,28,0\n");
    fprintf(stderr, "(one error about dec_after.meta.csv expected next)\n");
    CHECK(!plots_replot(run, &rep, &err) && !rep.not_a_run);
    CHECK(rep.failed == 1 && rep.rendered == NPICTURES - 1);
    CHECK(strstr(err.msg, "1 of 10 pictures failed") != NULL);
    if (keep)
        write_text(meta, keep);
    free(keep);
    unsetenv("AELAB_GNUPLOT");
}

int main(void) {
    tu_tmpdir("plots");
    run = tu_dir();
    setenv("AELAB_TEST_RUN", run, 1);
    write_metrics();
    write_eval_csvs();
    test_without_gnuplot();
    test_mosaic_values();
    test_errors();
    if (!plots_have_gnuplot()) {
        int rc = tu_tmpdir_done(tu_summary("test_plots"));
        if (rc)
            return rc;
        printf("test_plots: skipped the rendering checks: gnuplot not found on PATH (apt-get "
               "install gnuplot-nox)\n");
        return 77;
    }
    test_with_gnuplot();
    int rc = tu_summary("test_plots");
    if (getenv("AELAB_KEEP_PLOTS")) {
        fprintf(stderr, "files kept in %s\n", run);
        return rc;
    }
    return tu_tmpdir_done(rc);
}
