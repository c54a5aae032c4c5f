/* tests/test_pipeline.c — a tiny pipeline end to end on generated data: every stage kind runs,
 * the CSVs are checked cell by cell (structure, values that must agree with each other), and a
 * second run with the same seed writes byte-identical CSVs apart from the `seconds` column.
 *
 * Data: 8x8 images of 3 classes, class k a bright band in rows 2k+1..2k+2 over random dark
 * pixels; 300 training and 90 test examples. Easy enough that the classifier must exceed 90%. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "csvout.h"
#include "data.h"
#include "pipeline.h"
#include "rng.h"
#include "testutil.h"

static void make_set(const char *dir, const char *prefix, int n, uint64_t seed) {
    uint8_t *img = malloc((size_t)n * 64), *lab = malloc((size_t)n);
    RngStream r = rng_stream(seed, 9);
    for (int i = 0; i < n; i++) {
        int k = i % 3;
        lab[i] = (uint8_t)k;
        for (int p = 0; p < 64; p++) {
            int row = p / 8;
            bool band = row == 2 * k + 1 || row == 2 * k + 2;
            img[i * 64 + p] = (uint8_t)(band ? 180 + rng_next_below(&r, 70) : rng_next_below(&r, 60));
        }
    }
    char path[512];
    AeError err;
    int dims3[3] = {n, 8, 8}, dims1[1] = {n};
    snprintf(path, sizeof path, "%s/%s-images.idx", dir, prefix);
    CHECK(idx_write(path, img, dims3, 3, &err));
    snprintf(path, sizeof path, "%s/%s-labels.idx", dir, prefix);
    CHECK(idx_write(path, lab, dims1, 1, &err));
    free(img);
    free(lab);
}

static const char *CONFIG =
    "name: tiny\n"
    "seed: 7\n"
    "pipeline:\n"
    "  - load_dataset: {name: idx, train_images: %1$s/train-images.idx, train_labels: %1$s/train-labels.idx,\n"
    "                   test_images: %1$s/test-images.idx, test_labels: %1$s/test-labels.idx, batch_size: 50}\n"
    "  - add_noise: {kind: masking, fraction: 0.2}\n"
    "  - add_sparsity: {kind: l1_normalised, weight: 0.01}\n"
    "  - pretrain_layer: {units: 16, activation: tanh, decoder_activation: sigmoid, loss: mse,\n"
    "                     optimizer: {name: sgd, lr: 1.0, momentum: 0.5}, epochs: 3}\n"
    "  - append_layer: {units: 8, activation: tanh, decoder_activation: tanh, loss: mse,\n"
    "                   optimizer: {name: adam, lr: 0.01}, epochs: 2}\n"
    "  - evaluate: {split: test}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {hidden: [6], classes: 3, loss: nll, optimizer: {name: sgd, lr: 0.5}, epochs: 4}\n"
    "  - evaluate: {split: test}\n";

static char *slurp(const char *path);

static CsvTable *read_csv(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    AeError err;
    CsvTable *t = csvtable_read(path, &err);
    if (!t) fprintf(stderr, "%s\n", err.msg);
    CHECK(t != NULL);
    return t;
}

static double num(const CsvTable *t, int row, const char *col) {
    double v = NAN;
    int c = csvtable_col(t, col);
    CHECK(c >= 0);
    if (c >= 0 && !csvtable_get_num(t, row, c, &v)) v = NAN;
    return v;
}

static const char *str(const CsvTable *t, int row, const char *col) {
    int c = csvtable_col(t, col);
    CHECK(c >= 0);
    return c >= 0 ? csvtable_get(t, row, c) : "";
}

/* Runs the tiny config with the --set overrides; cache: a cache directory or NULL for none. */
static int run_with(const char *datadir, const char *out, const char *const *sets, int nsets,
                    const char *cache, bool resume, RunStats *stats) {
    char yaml[4096];
    snprintf(yaml, sizeof yaml, CONFIG, datadir);
    int nerr = 0;
    Config *cfg = config_load_string("tiny.yaml", yaml, sets, nsets, stderr, &nerr);
    CHECK(cfg != NULL);
    if (!cfg) return -1;
    RunOptions opt = {.out_dir = out, .device = "cpu", .threads = 1, .quiet = true, .plots = false,
                      .cache_dir = cache, .no_cache = cache == NULL, .resume = resume,
                      .stats = stats};
    int rc = pipeline_run(cfg, &opt);
    config_free(cfg);
    return rc;
}

static int run_once(const char *datadir, const char *out) {
    return run_with(datadir, out, NULL, 0, NULL, false, NULL);
}

static bool same_file(const char *a, const char *b) {
    char *x = slurp(a), *y = slurp(b);
    bool same = x[0] && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* The stage cache and --resume: reuse when every input of the key matches, recompute when any
 * changes; a resumed run ends with exactly the numbers of an uninterrupted one. */
static void test_reuse(const char *dir, const char *reference) {
    char cache[600], out[700], a[800], b[800];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    RunStats st;
    snprintf(out, sizeof out, "%s/c1", dir);
    CHECK(run_with(dir, out, NULL, 0, cache, false, &st) == 0);
    CHECK(st.ntrained == 3 && st.nreused == 0);
    snprintf(out, sizeof out, "%s/c2", dir);
    CHECK(run_with(dir, out, NULL, 0, cache, false, &st) == 0);
    CHECK(st.ntrained == 0 && st.nreused == 3);
    snprintf(a, sizeof a, "%s/summary.csv", reference);
    snprintf(b, sizeof b, "%s/summary.csv", out);
    CHECK(same_file(a, b));
    snprintf(a, sizeof a, "%s/c1/metrics.csv", dir);
    snprintf(b, sizeof b, "%s/metrics.csv", out);
    CHECK(same_file(a, b));

    /* each input of the key in turn */
    const char *later[] = {"attach_classifier.optimizer.lr=0.4"};
    CHECK(run_with(dir, out, later, 1, cache, false, &st) == 0);
    CHECK(st.ntrained == 1 && st.nreused == 2);
    const char *middle[] = {"append_layer.epochs=1"};
    CHECK(run_with(dir, out, middle, 1, cache, false, &st) == 0);
    CHECK(st.ntrained == 2 && st.nreused == 1);
    const char *noise[] = {"add_noise.fraction=0.3"};
    CHECK(run_with(dir, out, noise, 1, cache, false, &st) == 0);
    CHECK(st.ntrained == 3 && st.nreused == 0);
    const char *seed[] = {"seed=8"};
    CHECK(run_with(dir, out, seed, 1, cache, false, &st) == 0);
    CHECK(st.ntrained == 3 && st.nreused == 0);
    const char *batch[] = {"load_dataset.batch_size=60"};
    CHECK(run_with(dir, out, batch, 1, cache, false, &st) == 0);
    CHECK(st.ntrained == 3 && st.nreused == 0);
    /* the data: same path, new contents */
    sleep(1);
    make_set(dir, "test", 90, 3);
    CHECK(run_with(dir, out, NULL, 0, cache, false, &st) == 0);
    CHECK(st.ntrained == 3 && st.nreused == 0);
    make_set(dir, "test", 90, 2);
    /* the thread count is not part of the key: same numbers either way (checked above) */

    /* resume: a run killed during the classifier has the first two stages' results only */
    snprintf(out, sizeof out, "%s/r", dir);
    CHECK(run_with(dir, out, NULL, 0, NULL, false, &st) == 0);
    snprintf(a, sizeof a, "%s/checkpoints/07_attach_classifier.ckpt", out);
    CHECK(unlink(a) == 0);
    snprintf(a, sizeof a, "%s/summary.csv", out);
    CHECK(unlink(a) == 0);
    CHECK(run_with(dir, out, NULL, 0, NULL, true, &st) == 0);
    CHECK(st.ntrained == 1 && st.nreused == 2);
    snprintf(b, sizeof b, "%s/summary.csv", dir);
    char ref[800];
    snprintf(ref, sizeof ref, "%s/summary.csv", reference);
    CHECK(same_file(ref, a));
    (void)b;
}

/* The file's bytes with the last column (seconds) of metrics.csv blanked. */
static char *csv_without_seconds(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *out = calloc(1, 1 << 20), line[4096];
    while (fgets(line, sizeof line, f)) {
        char *comma = strrchr(line, ',');
        if (comma) strcpy(comma, "\n");
        strcat(out, line);
    }
    fclose(f);
    return out;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    char *out = calloc(1, 1 << 20);
    size_t n = fread(out, 1, (1 << 20) - 1, f);
    out[n] = 0;
    fclose(f);
    return out;
}

int main(void) {
    char tmpl[] = "/tmp/aelab-pipeline-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    make_set(dir, "train", 300, 1);
    make_set(dir, "test", 90, 2);
    char out1[600], out2[600];
    snprintf(out1, sizeof out1, "%s/run1", dir);
    snprintf(out2, sizeof out2, "%s/run2", dir);
    CHECK(run_once(dir, out1) == 0);
    CHECK(run_once(dir, out2) == 0);

    /* metrics.csv: 3 + 2 + 4 rows, stage labels and kinds, epochs 1..n, parts that add up */
    CsvTable *m = read_csv(out1, "metrics.csv");
    if (m) {
        static const char *const expect_stage[] = {"pretrain_layer", "pretrain_layer", "pretrain_layer",
            "append_layer", "append_layer", "attach_classifier", "attach_classifier",
            "attach_classifier", "attach_classifier"};
        static const int expect_index[] = {3, 3, 3, 4, 4, 7, 7, 7, 7};
        static const int expect_epoch[] = {1, 2, 3, 1, 2, 1, 2, 3, 4};
        CHECK(csvtable_nrows(m) == 9);
        for (int r = 0; r < csvtable_nrows(m) && r < 9; r++) {
            CHECK_STR(str(m, r, "stage"), expect_stage[r]);
            CHECK_STR(str(m, r, "kind"), expect_stage[r]);
            CHECK(num(m, r, "stage_index") == expect_index[r]);
            CHECK(num(m, r, "epoch") == expect_epoch[r]);
            double loss = num(m, r, "loss"), pen = num(m, r, "penalty"), wd = num(m, r, "weight_decay");
            CHECK(isfinite(loss) && loss > 0);
            CHECK_NEAR(num(m, r, "objective"), loss + pen + wd, 1e-7, 1e-6);
            CHECK(num(m, r, "seconds") >= 0);
            bool clf = r >= 5;
            CHECK(clf ? pen == 0 : pen > 0); /* the penalty ends with the decoder */
            CHECK(clf == (str(m, r, "test_accuracy")[0] != 0));
            CHECK(clf == (str(m, r, "train_accuracy")[0] != 0));
            CHECK(clf == (str(m, r, "mean_activation")[0] == 0));
            if (clf) CHECK(num(m, r, "test_accuracy") >= 0 && num(m, r, "test_accuracy") <= 100);
            else CHECK(num(m, r, "mean_activation") > 0 && num(m, r, "mean_activation") < 1);
        }
        CHECK(num(m, 2, "loss") < num(m, 0, "loss"));
        CHECK(num(m, 8, "loss") < num(m, 5, "loss"));
        CHECK(num(m, 8, "test_accuracy") > 90);
        printf("tiny pipeline: AE %.4f -> %.4f, stacked %.4f, classifier %.2f%%\n",
               num(m, 0, "loss"), num(m, 2, "loss"), num(m, 4, "loss"), num(m, 8, "test_accuracy"));
    }

    /* per_class.csv and confusion.csv agree with each other and with summary.csv */
    CsvTable *pc = read_csv(out1, "per_class.csv"), *cf = read_csv(out1, "confusion.csv");
    CsvTable *sm = read_csv(out1, "summary.csv");
    if (pc && cf && sm) {
        CHECK(csvtable_nrows(pc) == 3 && csvtable_nrows(cf) == 3 && csvtable_ncols(cf) == 4);
        CHECK_STR(csvtable_header(cf, 0), "true");
        CHECK_STR(csvtable_header(cf, 3), "pred_2");
        double right = 0, all = 0;
        for (int k = 0; k < 3; k++) {
            double row = 0;
            for (int j = 0; j < 3; j++) row += num(cf, k, j == 0 ? "pred_0" : j == 1 ? "pred_1" : "pred_2");
            CHECK(num(pc, k, "class") == k);
            CHECK(num(pc, k, "total") == row);
            CHECK(num(pc, k, "total") == 30);
            CHECK(num(pc, k, "correct") == num(cf, k, k == 0 ? "pred_0" : k == 1 ? "pred_1" : "pred_2"));
            CHECK_NEAR(num(pc, k, "accuracy"), 100.0 * num(pc, k, "correct") / row, 1e-4, 0);
            right += num(pc, k, "correct");
            all += row;
        }
        double acc = NAN, last_epoch_acc = m ? num(m, 8, "test_accuracy") : NAN;
        for (int r = 0; r < csvtable_nrows(sm); r++)
            if (strcmp(csvtable_get(sm, r, 0), "test_accuracy") == 0) csvtable_get_num(sm, r, 1, &acc);
        CHECK_NEAR(acc, 100.0 * right / all, 1e-6, 0);
        CHECK_NEAR(acc, last_epoch_acc, 1e-3, 0);
        bool have_recon = false, have_final = false;
        for (int r = 0; r < csvtable_nrows(sm); r++) {
            have_recon |= strcmp(csvtable_get(sm, r, 0), "test_recon_mse") == 0;
            have_final |= strcmp(csvtable_get(sm, r, 0), "append_layer_final_loss") == 0;
        }
        CHECK(have_recon && have_final);
    }

    /* same seed, same thread count: byte-identical CSVs (timing aside) */
    const char *files[] = {"summary.csv", "per_class.csv", "confusion.csv"};
    for (int i = 0; i < 3; i++) {
        char p1[700], p2[700];
        snprintf(p1, sizeof p1, "%s/%s", out1, files[i]);
        snprintf(p2, sizeof p2, "%s/%s", out2, files[i]);
        char *a = slurp(p1), *b = slurp(p2);
        CHECK(a[0] && strcmp(a, b) == 0);
        free(a);
        free(b);
    }
    char p1[700], p2[700];
    snprintf(p1, sizeof p1, "%s/metrics.csv", out1);
    snprintf(p2, sizeof p2, "%s/metrics.csv", out2);
    char *a = csv_without_seconds(p1), *b = csv_without_seconds(p2);
    CHECK(a[0] && strcmp(a, b) == 0);
    free(a);
    free(b);
    struct stat st;
    snprintf(p1, sizeof p1, "%s/checkpoints/07_attach_classifier.ckpt", out1);
    CHECK(stat(p1, &st) == 0 && st.st_size > 0);
    snprintf(p1, sizeof p1, "%s/config.yaml", out1);
    CHECK(stat(p1, &st) == 0 && st.st_size > 0);

    test_reuse(dir, out1);

    csvtable_free(m);
    csvtable_free(pc);
    csvtable_free(cf);
    csvtable_free(sm);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (tu_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tu_summary("test_pipeline");
}
