/* runner/pipeline.c — runs a config's stages in order (docs/architecture.md) and writes
 * the run directory: config.yaml (resolved, with provenance), metrics.csv (rewritten atomically
 * after every epoch, so a killed run keeps every finished row), summary.csv, per_class.csv,
 * confusion.csv, checkpoints/, weights/, recon/ and the plots.
 *
 * The phase state that stages change: the model (encoder, decoder, head), the sparsity penalty
 * and noise in force (until strip_decoder), and the data sets.
 */
#include "pipeline.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckptfile.h"
#include "csvout.h"
#include "cudaload.h"
#include "data.h"
#include "datasets.h"
#include "fsutil.h"
#include "plots.h"
#include "provenance.h"
#include "progress.h"
#include "rundir.h"
#include "stagecache.h"
#include "stagekey.h"

volatile sig_atomic_t pipeline_interrupted;

/* The columns every run's metrics.csv has; the optional ones follow them (metrics_columns),
 * only when the config asks for what they report, so that a config that does not keeps its
 * CSV byte for byte. */
static const char *const METRICS_HEADER[] = {
    "stage_index", "stage", "kind", "epoch", "loss", "penalty", "weight_decay", "objective",
    "train_accuracy", "test_accuracy", "mean_activation", "seconds"};
#define METRICS_BASE_NCOLS (int)(sizeof METRICS_HEADER / sizeof METRICS_HEADER[0])
#define METRICS_MAX_NCOLS (METRICS_BASE_NCOLS + 5)

/* The optional columns' indices in a run's metrics.csv, -1 when absent. */
typedef struct MetricCols {
    const char *header[METRICS_MAX_NCOLS];
    int n;
    int val_loss, val_accuracy, lr, stopped_epoch, restored_epoch;
} MetricCols;

typedef struct Summary {
    char metric[CFG_NAME_MAX + 32];
    double value;
} Summary;

typedef struct Run {
    const Config *cfg;
    const RunOptions *opt;
    const Backend *be;
    const char *device_reason; /* why device auto runs on the CPU; "" otherwise */
    int threads;
    char dir[CFG_PATH_MAX];
    Progress prog;

    Dataset *train_host, *test_host, *val_host;
    DeviceData *train, *test, *val;
    MetricCols cols;
    int batch_size;         /* the data set's default */
    bool shuffle;

    Model *model;
    SparsitySpec sparsity;  /* in force during the autoencoder phase */
    float weight_decay;
    NoiseSpec noise;

    CsvTable *metrics;
    const StageCfg *stage;  /* the stage being trained (for metrics rows) */
    int stage_index;

    Summary *summary;
    int nsummary, summary_cap;
    char cache_dir[CFG_PATH_MAX];  /* "" when the cache is off */
    int cache_lock;                /* the lock of the entry being trained or read; -1: none */
    int ntrained, nreused;         /* training stages trained here / reused */
    bool plots_failed;             /* a picture could not be drawn: the run exits 1 */
    Provenance *prov;              /* runner/provenance.h, collected once at the start */
    char started[32];              /* UTC, ISO 8601: the provenance's date */
    struct timespec t0;
} Run;

/* ---- metrics columns ---- */

/* val_loss, val_accuracy with a validation set; lr when a stage has a schedule; stopped_epoch
 * and restored_epoch when one has early stopping (restored_epoch: with restore_best). */
static void metrics_columns(const Config *c, MetricCols *mc) {
    bool val = false, lr = false, es = false, restore = false;
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        if (s->kind == STAGE_LOAD_DATASET && s->data.validation > 0) val = true;
        if (s->kind != STAGE_PRETRAIN_LAYER && s->kind != STAGE_APPEND_LAYER &&
            s->kind != STAGE_ATTACH_CLASSIFIER)
            continue;
        if (s->train.schedule.kind != SCHED_NONE || s->train.schedule.warmup > 0) lr = true;
        if (s->train.early.metric != ES_NONE) es = true;
        if (s->train.early.metric != ES_NONE && s->train.early.restore_best) restore = true;
    }
    memset(mc, 0, sizeof *mc);
    for (int i = 0; i < METRICS_BASE_NCOLS; i++) mc->header[mc->n++] = METRICS_HEADER[i];
    mc->val_loss = mc->val_accuracy = mc->lr = mc->stopped_epoch = mc->restored_epoch = -1;
    if (val) {
        mc->val_loss = mc->n;
        mc->header[mc->n++] = "val_loss";
        mc->val_accuracy = mc->n;
        mc->header[mc->n++] = "val_accuracy";
    }
    if (lr) {
        mc->lr = mc->n;
        mc->header[mc->n++] = "lr";
    }
    if (es) {
        mc->stopped_epoch = mc->n;
        mc->header[mc->n++] = "stopped_epoch";
    }
    if (restore) {
        mc->restored_epoch = mc->n;
        mc->header[mc->n++] = "restored_epoch";
    }
}

/* ---- small helpers ---- */

static void path_join(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static void summary_set(Run *r, const char *metric, double value) {
    for (int i = 0; i < r->nsummary; i++)
        if (strcmp(r->summary[i].metric, metric) == 0) {
            r->summary[i].value = value;
            return;
        }
    if (r->nsummary == r->summary_cap) {
        r->summary_cap = r->summary_cap ? 2 * r->summary_cap : 32;
        r->summary = realloc(r->summary, (size_t)r->summary_cap * sizeof *r->summary);
        AE_ASSERT(r->summary);
    }
    Summary *s = &r->summary[r->nsummary++];
    snprintf(s->metric, sizeof s->metric, "%s", metric);
    s->value = value;
}

/* Prints an error: messages that already say where they come from ("PATH: error: ...") as
 * they are, others after "aelab: error: ". */
static void report_error(const char *msg) {
    if (strstr(msg, ": error: ")) fprintf(stderr, "%s\n", msg);
    else fprintf(stderr, "aelab: error: %s\n", msg);
}

static bool write_summary(Run *r, AeError *err) {
    static const char *const hdr[] = {"metric", "value"};
    CsvTable *t = csvtable_create(hdr, 2);
    for (int i = 0; i < r->nsummary; i++) {
        int row = csvtable_add_row(t, NULL);
        csvtable_set_str(t, row, 0, r->summary[i].metric);
        csvtable_set_num(t, row, 1, r->summary[i].value, "%.9g");
    }
    char path[CFG_PATH_MAX + 32];
    path_join(path, sizeof path, r->dir, "summary.csv");
    bool ok = csvtable_write_atomic(t, path, err);
    csvtable_free(t);
    return ok;
}

static bool write_eval_tables(Run *r, const EvalResult *ev, AeError *err) {
    int C = ev->C;
    char path[CFG_PATH_MAX + 32];
    static const char *const pc_hdr[] = {"class", "correct", "total", "accuracy"};
    CsvTable *pc = csvtable_create(pc_hdr, 4);
    const char **conf_hdr = ae_xcalloc((size_t)C + 1, sizeof *conf_hdr);
    char (*names)[24] = ae_xcalloc((size_t)C + 1, sizeof *names);
    conf_hdr[0] = "true";
    for (int j = 0; j < C; j++) {
        snprintf(names[j], sizeof names[j], "pred_%d", j);
        conf_hdr[j + 1] = names[j];
    }
    CsvTable *cf = csvtable_create(conf_hdr, C + 1);
    for (int i = 0; i < C; i++) {
        long long total = 0, right = ev->confusion[i * C + i];
        int row = csvtable_add_row(cf, NULL);
        csvtable_set_int(cf, row, 0, i);
        for (int j = 0; j < C; j++) {
            total += ev->confusion[i * C + j];
            csvtable_set_int(cf, row, j + 1, ev->confusion[i * C + j]);
        }
        row = csvtable_add_row(pc, NULL);
        csvtable_set_int(pc, row, 0, i);
        csvtable_set_int(pc, row, 1, right);
        csvtable_set_int(pc, row, 2, total);
        double acc = total ? 100.0 * (double)right / (double)total : NAN;
        if (total) csvtable_set_num(pc, row, 3, acc, "%.4f");
        char m[64];
        snprintf(m, sizeof m, "class_%d_accuracy", i);
        if (total) summary_set(r, m, acc);
    }
    path_join(path, sizeof path, r->dir, "per_class.csv");
    bool ok = csvtable_write_atomic(pc, path, err);
    path_join(path, sizeof path, r->dir, "confusion.csv");
    ok = ok && csvtable_write_atomic(cf, path, err);
    csvtable_free(pc);
    csvtable_free(cf);
    free(conf_hdr);
    free(names);
    return ok;
}

/* ---- epoch hooks ---- */

static bool on_epoch(void *ctx, const EpochStats *s, AeError *err) {
    Run *r = ctx;
    progress_epoch(&r->prog, s);
    int row = csvtable_add_row(r->metrics, NULL);
    csvtable_set_int(r->metrics, row, 0, r->stage_index);
    csvtable_set_str(r->metrics, row, 1, r->stage->label);
    csvtable_set_str(r->metrics, row, 2, stage_kind_names[r->stage->kind]);
    csvtable_set_int(r->metrics, row, 3, s->epoch);
    csvtable_set_num(r->metrics, row, 4, s->loss, "%.9g");
    csvtable_set_num(r->metrics, row, 5, s->penalty, "%.9g");
    csvtable_set_num(r->metrics, row, 6, s->decay, "%.9g");
    csvtable_set_num(r->metrics, row, 7, s->objective, "%.9g");
    if (!isnan(s->train_accuracy)) csvtable_set_num(r->metrics, row, 8, s->train_accuracy, "%.4f");
    if (!isnan(s->test_accuracy)) csvtable_set_num(r->metrics, row, 9, s->test_accuracy, "%.4f");
    if (!isnan(s->mean_activation)) csvtable_set_num(r->metrics, row, 10, s->mean_activation, "%.6g");
    csvtable_set_num(r->metrics, row, 11, s->seconds, "%.3f");
    const MetricCols *mc = &r->cols;
    if (mc->val_loss >= 0 && !isnan(s->val_loss))
        csvtable_set_num(r->metrics, row, mc->val_loss, s->val_loss, "%.9g");
    if (mc->val_accuracy >= 0 && !isnan(s->val_accuracy))
        csvtable_set_num(r->metrics, row, mc->val_accuracy, s->val_accuracy, "%.4f");
    if (mc->lr >= 0 && !isnan(s->lr)) csvtable_set_num(r->metrics, row, mc->lr, s->lr, "%.7g");
    if (mc->stopped_epoch >= 0 && s->stopped_epoch > 0)
        csvtable_set_int(r->metrics, row, mc->stopped_epoch, s->stopped_epoch);
    if (mc->restored_epoch >= 0 && s->restored_epoch > 0)
        csvtable_set_int(r->metrics, row, mc->restored_epoch, s->restored_epoch);
    char path[CFG_PATH_MAX + 32];
    path_join(path, sizeof path, r->dir, "metrics.csv");
    return csvtable_write_atomic(r->metrics, path, err);
}

static void on_batch(void *ctx, int epoch, int batch, int nbatches) {
    Run *r = ctx;
    progress_batch(&r->prog, epoch, batch, nbatches);
}

/* Prefixes "stage N (LABEL): " to an engine error that names no file (a divergence, host or
 * backend memory running out), so that the message says where the run was. */
static void stage_context(const Run *r, AeError *err) {
    if (strstr(err->msg, ": error: ")) return;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    ae_fail(err, "stage %d (%s): %s", r->stage_index, r->stage->label, msg);
}

/* ---- data ---- */

/* Reads the data set's files into r->train_host and r->test_host (NULL without a test set). */
static bool read_sets(Run *r, const DatasetCfg *d, AeError *err) {
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX];
    char why[2048];
    if (strcmp(d->name, "csv") == 0) {
        r->train_host = dataset_load_csv(d->train_csv, d->label_column, (CsvPixels)d->pixels, err);
        if (!r->train_host) return false;
        if (d->test_csv[0]) r->test_host = dataset_load_csv(d->test_csv, d->label_column, (CsvPixels)d->pixels, err);
        return !d->test_csv[0] || r->test_host;
    }
    if (!datasets_paths(d, ti, tl, vi, vl, why, sizeof why)) {
        return ae_fail(err, "%s", why);
    }
    /* only the subsets' images are read (and inflated): a bomb behind a small subset stays shut */
    r->train_host = dataset_load_idx_first(ti, tl, 0, d->subset, err);
    if (!r->train_host) return false;
    bool test = vi[0] && vl[0];
    if (test) r->test_host = dataset_load_idx_first(vi, vl, 0, d->test_subset, err);
    return !test || r->test_host;
}

/* Keeps the first n examples of *set when it has more (n > 0). */
static bool keep_first(const Run *r, Dataset **set, int n, AeError *err) {
    if (n <= 0 || n >= (*set)->n) return true;
    Dataset *h = dataset_head(*set, n, err);
    if (!h) {
        stage_context(r, err);
        return false;
    }
    dataset_free(*set);
    *set = h;
    return true;
}

/* Holds out `validation` examples (N >= 1, or a fraction of the training set) into
 * r->val_host: the last N of a seeded shuffle (dataset_split_validation, on the stream
 * RNG_STREAM_VALIDATION of load_dataset's stage key); the rest keep their order. */
static bool split_validation(Run *r, double validation, AeError *err) {
    int n = r->train_host->n;
    long nval = validation >= 1 ? (long)validation : lround(validation * n);
    if (nval < 1 || nval >= n)
        return ae_fail(err, "%s: error: %s.validation: holds out %ld of the %d training "
                       "examples; at least 1 must be held out and 1 kept", r->cfg->path,
                       r->stage->label, nval, n);
    RngStream rng = rng_stream(train_stage_seed(r->cfg->seed, r->stage_index),
                               RNG_STREAM_VALIDATION);
    Dataset *tr, *va;
    if (!dataset_split_validation(r->train_host, (int)nval, &rng, &tr, &va, err)) {
        stage_context(r, err);
        return false;
    }
    dataset_free(r->train_host);
    r->train_host = tr;
    r->val_host = va;
    return true;
}

static bool load_data(Run *r, const DatasetCfg *d, AeError *err) {
    if (!read_sets(r, d, err)) return false;
    if (r->test_host && r->test_host->D != r->train_host->D)
        return ae_fail(err, "the test set has %d features per example but the training set %d",
                       r->test_host->D, r->train_host->D);
    if (!keep_first(r, &r->train_host, d->subset, err) ||
        (r->test_host && !keep_first(r, &r->test_host, d->test_subset, err)))
        return false;
    if (r->test_host && r->test_host->C > r->train_host->C) r->train_host->C = r->test_host->C;
    if (r->test_host) r->test_host->C = r->train_host->C;
    if (d->validation > 0 && !split_validation(r, d->validation, err)) return false;
    r->batch_size = d->batch_size;
    r->shuffle = d->shuffle;
    r->train = device_data_create(r->be, r->train_host, err);
    if (r->train && r->test_host) r->test = device_data_create(r->be, r->test_host, err);
    if (r->train && r->val_host) r->val = device_data_create(r->be, r->val_host, err);
    if (!r->train || (r->test_host && !r->test) || (r->val_host && !r->val)) {
        stage_context(r, err);
        return false;
    }
    /* The backend holds the training images now; the host copy is needed only for the
     * reconstruction pictures, which use the test set when there is one (peak RSS -47 MB). */
    if (r->test_host) {
        free(r->train_host->images);
        r->train_host->images = NULL;
    }
    r->model = model_create(r->be, r->train_host->D, err);
    if (!r->model) {
        stage_context(r, err);
        return false;
    }
    progress_note(&r->prog, "[%d/%d %s] %d training examples%s, %d features, %d classes",
                  r->stage_index + 1, r->cfg->nstages, r->stage->label, r->train_host->n,
                  r->test_host ? "" : " (no test set)", r->train_host->D, r->train_host->C);
    if (r->test_host)
        progress_note(&r->prog, "[%d/%d %s] %d test examples", r->stage_index + 1,
                      r->cfg->nstages, r->stage->label, r->test_host->n);
    if (r->val_host)
        progress_note(&r->prog, "[%d/%d %s] %d validation examples held out of the training set",
                      r->stage_index + 1, r->cfg->nstages, r->stage->label, r->val_host->n);
    return true;
}

/* ---- pictures ---- */

/* rows x cols with rows <= cols, rows the largest divisor of n not above sqrt(n) */
static void near_square(int n, int *rows, int *cols) {
    int r = (int)sqrt((double)n);
    while (r > 1 && n % r) r--;
    *rows = r;
    *cols = n / r;
}

/* Tiles of a layer's weights: one tile per row of W (O,I). */
static bool layer_tiles(Run *r, const Layer *l, const char *base, const char *title,
                        const float *W, bool per_tile, AeError *err) {
    int th, tw;
    near_square(l->I, &th, &tw);
    int gc = (int)ceil(sqrt((double)l->O));
    return plots_weight_tiles(r->dir, base, title, W, l->O, th, tw, gc, per_tile, err);
}

static float *layer_download_W(const Backend *be, const Layer *l) {
    float *W = ae_xmalloc((size_t)l->O * l->I * sizeof *W);
    be->download(W, l->W, (size_t)l->O * l->I * sizeof *W);
    return W;
}

typedef struct Snapshot {
    float *enc_W, *dec_W;
} Snapshot;

static void tiles_after(Run *r, const Layer *enc, const Layer *dec, const Snapshot *before,
                        bool per_tile) {
    if (!r->opt->plots) return;
    const char *label = r->stage->label;
    const Layer *ls[2] = {enc, dec};
    float *const bw[2] = {before->enc_W, before->dec_W};
    const char *which[2] = {"encoder", "decoder"};
    for (int k = 0; k < 2; k++) {
        if (!ls[k] || !bw[k]) continue;
        size_t n = (size_t)ls[k]->O * ls[k]->I;
        float *after = layer_download_W(r->be, ls[k]);
        float *diff = ae_xmalloc(n * sizeof *diff);
        for (size_t i = 0; i < n; i++) diff[i] = after[i] - bw[k][i];
        char base[256], title[256];
        const char *tags[3] = {"before", "after", "diff"};
        const float *mats[3] = {bw[k], after, diff};
        for (int j = 0; j < 3; j++) {
            snprintf(base, sizeof base, "%02d_%s_%s_%s", r->stage_index, label, which[k], tags[j]);
            snprintf(title, sizeof title, "%s: %s weights %s (%dx%d)", label, which[k],
                     j == 2 ? "after - before" : tags[j], ls[k]->O, ls[k]->I);
            AeError e2;
            if (!layer_tiles(r, ls[k], base, title, mats[j], per_tile, &e2)) {
                report_error(e2.msg);
                r->plots_failed = true;
            }
        }
        free(after);
        free(diff);
    }
}

/* Input | noisy | output pictures of the first few test (or training) images. */
static void reconstructions(Run *r, const char *tag) {
    if (!r->opt->plots || !r->model->ndec || r->model->ndec != r->model->nenc) return;
    const Dataset *d = r->test_host ? r->test_host : r->train_host;
    int n = d->n < 10 ? d->n : 10, D = d->D;
    if (d->rows * d->cols != D) return;
    float *X = ae_xmalloc((size_t)n * D * sizeof *X), *Y = ae_xmalloc((size_t)n * D * sizeof *Y);
    float *N = r->noise.kind != NOISE_NONE ? ae_xmalloc((size_t)n * D * sizeof *N) : NULL;
    for (size_t i = 0; i < (size_t)n * D; i++) X[i] = d->images[i] * (1.0f / 255.0f);
    AeError err;
    char base[256], title[256];
    snprintf(base, sizeof base, "%02d_%s_%s", r->stage_index, r->stage->label, tag);
    snprintf(title, sizeof title, "%s: reconstructions %s (input%s | output)", r->stage->label,
             tag, N ? " | noisy input" : "");
    if (!model_reconstruct(r->model, X, n, &r->noise, train_stage_seed(r->cfg->seed, r->stage_index),
                           N, Y, &err) ||
        !plots_reconstructions(r->dir, base, title, X, N, Y, n, d->rows, d->cols, &err)) {
        report_error(err.msg);
        r->plots_failed = true;
    }
    free(X);
    free(Y);
    free(N);
}

/* ---- stages ---- */

static TrainTask task_from(const Run *r, const TrainCfg *tc, TaskKind kind) {
    TrainTask t = {.kind = kind, .loss = tc->loss, .opt = tc->opt, .epochs = tc->epochs,
                   .batch_size = tc->batch_size > 0 ? tc->batch_size : r->batch_size,
                   .shuffle = r->shuffle, .subset = tc->subset, .seed = r->cfg->seed,
                   .stage_index = r->stage_index, .schedule = tc->schedule,
                   .early = tc->early, .clip_norm = tc->clip_norm, .val = r->val};
    t.sparsity = r->sparsity; /* after strip_decoder only with keep_sparsity */
    if (kind == TASK_AUTOENCODER) {
        t.noise = r->noise;
        t.weight_decay = r->weight_decay;
    }
    return t;
}

/* The optional columns' summary metrics from a stage's last row: <label>_val_loss (and
 * val_loss), <label>_val_accuracy (and val_accuracy), <label>_stopped_epoch,
 * <label>_restored_epoch. */
static void summarise_optional(Run *r, int row, const char *label) {
    const MetricCols *mc = &r->cols;
    const int col[] = {mc->val_loss, mc->val_accuracy, mc->stopped_epoch, mc->restored_epoch};
    const char *const name[] = {"val_loss", "val_accuracy", "stopped_epoch", "restored_epoch"};
    for (int i = 0; i < 4; i++) {
        double v;
        if (col[i] < 0 || !csvtable_get_num(r->metrics, row, col[i], &v)) continue;
        char m[CFG_NAME_MAX + 32];
        snprintf(m, sizeof m, "%s_%s", label, name[i]);
        summary_set(r, m, v);
        if (i < 2) summary_set(r, name[i], v);
    }
}

/* Summary metrics of a training stage from its last metrics row, per label (a classifier with
 * fine-tuning has two): <label>_final_loss, and where they apply _final_penalty,
 * _final_weight_decay, _final_objective, _final_mean_activation, _test_accuracy. */
static void summarise_stage(Run *r, int stage_index) {
    CsvTable *t = r->metrics;
    for (int row = 0; row < csvtable_nrows(t); row++) {
        double idx, v;
        if (!csvtable_get_num(t, row, 0, &idx) || (int)idx != stage_index) continue;
        const char *label = csvtable_get(t, row, 1);
        bool last = true;
        for (int next = row + 1; next < csvtable_nrows(t); next++)
            if (strcmp(csvtable_get(t, next, 1), label) == 0) last = false;
        if (!last) continue;
        char m[CFG_NAME_MAX + 32];
        if (csvtable_get_num(t, row, 4, &v)) {
            snprintf(m, sizeof m, "%s_final_loss", label);
            summary_set(r, m, v);
        }
        double pen = 0, wd = 0;
        csvtable_get_num(t, row, 5, &pen);
        csvtable_get_num(t, row, 6, &wd);
        if (pen != 0 || wd != 0) {
            snprintf(m, sizeof m, "%s_final_penalty", label);
            summary_set(r, m, pen);
            snprintf(m, sizeof m, "%s_final_weight_decay", label);
            summary_set(r, m, wd);
            if (csvtable_get_num(t, row, 7, &v)) {
                snprintf(m, sizeof m, "%s_final_objective", label);
                summary_set(r, m, v);
            }
        }
        if (csvtable_get_num(t, row, 10, &v)) {
            snprintf(m, sizeof m, "%s_final_mean_activation", label);
            summary_set(r, m, v);
        }
        if (csvtable_get_num(t, row, 9, &v)) {
            snprintf(m, sizeof m, "%s_test_accuracy", label);
            summary_set(r, m, v);
            summary_set(r, "test_accuracy", v);
        }
        summarise_optional(r, row, label);
    }
}

static int train_and_report(Run *r, const TrainTask *t, AeError *err) {
    progress_stage(&r->prog, r->stage_index, r->cfg->nstages, r->stage->label, t->epochs,
                   t->opt.kind == OPT_LBFGS ? 0 : t->batch_size);
    TrainHooks h = {.ctx = r, .on_epoch = on_epoch, .on_batch = on_batch,
                    .interrupt = &pipeline_interrupted};
    /* test accuracy per epoch (classifiers): test_every_epoch, auto = without validation */
    int every = r->stage->test_every_epoch;
    bool per_epoch_test = every == TEST_EVERY_TRUE || (every == TEST_EVERY_AUTO && !r->val);
    TrainStatus st = train_stage(r->model, t, r->train, per_epoch_test ? r->test : NULL, &h, err);
    switch (st) {
    case TRAIN_OK: return 0;
    case TRAIN_INTERRUPTED: return 130;
    default: /* diverged, or out of memory (a file the hooks failed to write names itself) */
        stage_context(r, err);
        return 1;
    }
}

static int stage_add_layer(Run *r, const StageCfg *s, bool append, AeError *err) {
    Model *m = r->model;
    if (m->nenc >= AE_MAX_LAYERS) return ae_fail(err, "too many layers (at most %d)", AE_MAX_LAYERS), 2;
    int in = model_code_dim(m);
    Layer *enc = layer_create(r->be, in, s->units, s->activation, err);
    Layer *dec = enc ? layer_create(r->be, s->units, in, s->decoder_activation, err) : NULL;
    if (!enc || !dec) {
        layer_free(r->be, enc);
        stage_context(r, err);
        return 1;
    }
    RngStream rng = rng_stream(train_stage_seed(r->cfg->seed, r->stage_index), RNG_STREAM_INIT);
    layer_init(r->be, enc, s->init, &rng);
    layer_init(r->be, dec, s->init, &rng); /* with tied too: the bias, and the same draws */
    if (s->tied) { /* the decoder uses enc->W^T; its own W stays zero (model.h) */
        dec->tied = enc;
        r->be->fill(dec->W, 0.0f, (size_t)dec->O * dec->I);
    }
    m->enc[m->nenc++] = enc;
    memmove(m->dec + 1, m->dec, (size_t)m->ndec * sizeof *m->dec);
    m->dec[0] = dec;
    m->ndec++;
    if (!model_check(m, err)) return 2;

    Snapshot before = {0};
    bool image_layer = m->nenc == 1;
    if (r->opt->plots) {
        before.enc_W = layer_download_W(r->be, enc);
        if (!s->tied) before.dec_W = layer_download_W(r->be, dec);
    }
    if (image_layer) reconstructions(r, "epoch0");
    TrainTask t = task_from(r, &s->train, TASK_AUTOENCODER);
    t.depth = append ? m->nenc : 1;
    int rc = train_and_report(r, &t, err);
    if (rc == 0) {
        /* tied: one matrix, the encoder's tiles (the decoder's are their transpose) */
        tiles_after(r, enc, s->tied ? NULL : dec, &before, s->init == INIT_UFLDL);
        reconstructions(r, "trained");
    }
    free(before.enc_W);
    free(before.dec_W);
    return rc;
}

static int stage_attach_classifier(Run *r, const StageCfg *s, AeError *err) {
    Model *m = r->model;
    int in = model_code_dim(m);
    int classes = s->classes > 0 ? s->classes : r->train_host->C;
    if (classes < 2) return ae_fail(err, "a classifier needs at least 2 classes, the data has %d", classes), 2;
    RngStream rng = rng_stream(train_stage_seed(r->cfg->seed, r->stage_index), RNG_STREAM_INIT);
    for (int i = 0; i <= s->nhidden; i++) {
        bool last = i == s->nhidden;
        int out = last ? classes : s->hidden[i];
        Act act = last ? (s->train.loss == LOSS_NLL ? ACT_LOGSOFTMAX : ACT_IDENTITY) : s->hidden_activation;
        Layer *l = layer_create(r->be, in, out, act, err);
        if (!l) {
            stage_context(r, err);
            return 1;
        }
        layer_init(r->be, l, s->init, &rng);
        m->head[m->nhead++] = l;
        in = out;
    }
    if (!model_check(m, err)) return 2;
    TrainTask t = task_from(r, &s->train, TASK_CLASSIFIER);
    t.freeze_encoder = s->freeze_encoder;
    t.weight_decay = s->weight_decay;
    int rc = train_and_report(r, &t, err);
    if (rc != 0 || s->finetune_epochs <= 0) return rc;
    /* Fine-tuning (UFLDL): the whole network, encoder and head, with the same loss and
     * optimizer; its rows and summary metrics are labelled <label>_finetune. */
    StageCfg ft = *s;
    snprintf(ft.label, sizeof ft.label, "%.*s_finetune", CFG_NAME_MAX - 10, s->label);
    r->stage = &ft;
    t.freeze_encoder = false;
    t.decay_head_only = true; /* UFLDL's fine-tuning cost decays the softmax weights only */
    t.epochs = s->finetune_epochs;
    t.stage_index = r->stage_index + 1000; /* its own random streams */
    rc = train_and_report(r, &t, err);
    r->stage = s;
    return rc;
}

static int stage_evaluate(Run *r, const StageCfg *s, AeError *err) {
    const DeviceData *d = s->eval_on_test ? r->test : r->train;
    if (!d) return ae_fail(err, "evaluate: the data set has no %s split", s->eval_on_test ? "test" : "train"), 2;
    EvalResult ev;
    if (!model_evaluate(r->model, d, 1000, &ev, err)) {
        stage_context(r, err);
        return 1;
    }
    const char *split = s->eval_on_test ? "test" : "train";
    char m[64];
    if (ev.confusion) {
        snprintf(m, sizeof m, "%s_accuracy", split);
        summary_set(r, m, ev.accuracy);
        if (!write_eval_tables(r, &ev, err)) {
            eval_result_clear(&ev);
            return 1;
        }
        progress_note(&r->prog, "[%d/%d %s] %s accuracy %.2f%%", r->stage_index + 1,
                      r->cfg->nstages, s->label, split, ev.accuracy);
        for (int i = 0; i < ev.C && !r->prog.quiet; i++) {
            long long tot = 0;
            for (int j = 0; j < ev.C; j++) tot += ev.confusion[i * ev.C + j];
            if (tot) fprintf(stderr, "    class %d: %6.2f%% (%d/%lld)\n", i,
                             100.0 * ev.confusion[i * ev.C + i] / (double)tot,
                             ev.confusion[i * ev.C + i], tot);
        }
    }
    if (!isnan(ev.recon_mse)) {
        snprintf(m, sizeof m, "%s_recon_mse", split);
        summary_set(r, m, ev.recon_mse);
        progress_note(&r->prog, "[%d/%d %s] %s reconstruction MSE %.6f", r->stage_index + 1,
                      r->cfg->nstages, s->label, split, ev.recon_mse);
    }
    eval_result_clear(&ev);
    return 0;
}

/* The stage's rows of metrics.csv as a table of their own. */
static CsvTable *stage_rows(const Run *r, int stage_index) {
    int nc = r->cols.n;
    CsvTable *t = csvtable_create(r->cols.header, nc);
    const char *cells[METRICS_MAX_NCOLS];
    for (int row = 0; row < csvtable_nrows(r->metrics); row++) {
        double idx;
        if (!csvtable_get_num(r->metrics, row, 0, &idx) || (int)idx != stage_index) continue;
        for (int c = 0; c < nc; c++) cells[c] = csvtable_get(r->metrics, row, c);
        csvtable_add_row(t, cells);
    }
    return t;
}

/* Writes PREFIX.csv (the rows), then for a cache entry (key not NULL) KEY.info, then
 * PREFIX.ckpt (the model): the checkpoint's appearance marks a complete entry. */
static bool save_entry(Run *r, const char *prefix, const char *key, uint64_t h64, AeError *err) {
    char path[CFG_PATH_MAX + 300];
    CsvTable *rows = stage_rows(r, r->stage_index);
    snprintf(path, sizeof path, "%s.csv", prefix);
    bool ok = csvtable_write_atomic(rows, path, err);
    csvtable_free(rows);
    if (!ok) return false;
    if (key && !stagecache_write_info(r->cache_dir, key, r->cfg->name, r->stage->label,
                                      r->stage_index, err))
        return false;
    CheckpointMeta meta;
    memset(&meta, 0, sizeof meta);
    meta.stage_index = r->stage_index;
    meta.config_hash = h64;
    meta.seed = r->cfg->seed;
    snprintf(meta.stage_label, sizeof meta.stage_label, "%s", r->stage->label);
    snprintf(path, sizeof path, "%s.ckpt", prefix);
    return ckptfile_save(path, r->model, &meta, err);
}

static void entry_prefix(const Run *r, char *out, size_t cap) {
    snprintf(out, cap, "%s/checkpoints/%02d_%s", r->dir, r->stage_index, r->stage->label);
}

/* Records in the run directory which cache entry holds the stage: PREFIX.key, the key and a
 * newline (read by `aelab cache gc --keep-referenced`). With the cache off, nothing is recorded
 * and a key left by an earlier run into this directory is removed. */
static bool record_key(const Run *r, const char *prefix, const char *key, AeError *err) {
    char path[CFG_PATH_MAX + 310], line[STAGE_KEY_HEX + 1];
    snprintf(path, sizeof path, "%s.key", prefix);
    if (!r->cache_dir[0]) {
        if (unlink(path) != 0 && errno != ENOENT)
            return ae_fail(err, "%s: cannot remove: %s", path, strerror(errno));
        return true;
    }
    int n = snprintf(line, sizeof line, "%s\n", key);
    return fs_write_atomic(path, line, (size_t)n, err);
}

/* Saves the stage's result in the run directory, and in the stage cache unless to_cache is
 * false (the result came from there). */
static bool save_stage_result(Run *r, const char *key, uint64_t h64, bool to_cache,
                              AeError *err) {
    char dir[CFG_PATH_MAX + 32], prefix[CFG_PATH_MAX + 300];
    path_join(dir, sizeof dir, r->dir, "checkpoints");
    if (!fs_mkdir_p(dir, err)) return false;
    entry_prefix(r, prefix, sizeof prefix);
    if (!save_entry(r, prefix, NULL, h64, err) || !record_key(r, prefix, key, err)) return false;
    /* a cache nobody can write to (STAGECACHE_NOLOCK) is only read */
    if (to_cache && r->cache_dir[0] && r->cache_lock >= 0) {
        AeError e2;
        snprintf(prefix, sizeof prefix, "%s/%s", r->cache_dir, key);
        if (!save_entry(r, prefix, key, h64, &e2))
            progress_note(&r->prog, "warning: stage cache: %s", e2.msg);
    }
    return true;
}

/* Reuses the entry at PREFIX when it exists and matches h64: loads the model and appends the
 * rows. A damaged entry is reported and ignored (the stage is trained). */
static bool try_entry(Run *r, const char *prefix, const char *key, uint64_t h64,
                      const char *what) {
    char path[CFG_PATH_MAX + 300];
    snprintf(path, sizeof path, "%s.ckpt", prefix);
    if (!fs_exists(path)) return false;
    char why[512];
    if (key && !stagecache_check_rows(r->cache_dir, key, why, sizeof why)) {
        progress_note(&r->prog, "warning: stage cache: ignoring a damaged entry: %s; training "
                      "the stage again", why);
        return false;
    }
    AeError err;
    CheckpointMeta meta;
    Model *m = ckptfile_load(path, r->be, &meta, &err);
    if (!m) {
        progress_note(&r->prog, "warning: ignoring %s", err.msg);
        return false;
    }
    if (meta.config_hash != h64 || m->input_dim != r->model->input_dim) {
        model_free(m);
        return false;
    }
    snprintf(path, sizeof path, "%s.csv", prefix);
    CsvTable *rows = csvtable_read(path, &err);
    /* The entry's columns by name: the base ones must all be there; an optional column of
     * this run that the entry lacks (a later stage asks for it, not this one) stays empty. */
    int nc = r->cols.n, from[METRICS_MAX_NCOLS];
    bool fits = rows != NULL;
    for (int c = 0; c < nc && fits; c++) {
        from[c] = csvtable_col(rows, r->cols.header[c]);
        if (from[c] < 0 && c < METRICS_BASE_NCOLS) fits = false;
    }
    if (!fits) {
        progress_note(&r->prog, "warning: ignoring %s", rows ? path : err.msg);
        csvtable_free(rows);
        model_free(m);
        return false;
    }
    const char *cells[METRICS_MAX_NCOLS];
    for (int row = 0; row < csvtable_nrows(rows); row++) {
        for (int c = 0; c < nc; c++) cells[c] = from[c] >= 0 ? csvtable_get(rows, row, from[c]) : "";
        csvtable_add_row(r->metrics, cells);
    }
    csvtable_free(rows);
    model_free(r->model);
    r->model = m;
    progress_note(&r->prog, "[%d/%d %s] reused from %s (nothing trained)", r->stage_index + 1,
                  r->cfg->nstages, r->stage->label, what);
    return true;
}

/* Where a stage's result was found: nowhere, the run directory (--resume), the stage cache. */
typedef enum { REUSE_NONE, REUSE_RUN_DIR, REUSE_CACHE } ReuseFrom;

static ReuseFrom try_reuse(Run *r, const char *key, uint64_t h64) {
    char prefix[CFG_PATH_MAX + 300];
    if (r->opt->resume) {
        entry_prefix(r, prefix, sizeof prefix);
        if (try_entry(r, prefix, NULL, h64, "the run directory")) return REUSE_RUN_DIR;
    }
    if (r->cache_dir[0]) {
        snprintf(prefix, sizeof prefix, "%s/%s", r->cache_dir, key);
        if (try_entry(r, prefix, key, h64, "the stage cache")) return REUSE_CACHE;
    }
    return REUSE_NONE;
}

static int run_stage(Run *r, const StageCfg *s, AeError *err) {
    switch (s->kind) {
    case STAGE_LOAD_DATASET: return load_data(r, &s->data, err) ? 0 : 1;
    case STAGE_PRETRAIN_LAYER: return stage_add_layer(r, s, false, err);
    case STAGE_APPEND_LAYER: return stage_add_layer(r, s, true, err);
    case STAGE_ADD_SPARSITY:
        r->sparsity = s->sparsity;
        r->weight_decay = s->weight_decay;
        return 0;
    case STAGE_ADD_NOISE: r->noise = s->noise; return 0;
    case STAGE_STRIP_DECODER:
        for (int i = 0; i < r->model->ndec; i++) layer_free(r->be, r->model->dec[i]);
        r->model->ndec = 0;
        if (!s->keep_sparsity) r->sparsity.kind = PEN_NONE;
        r->weight_decay = 0;
        r->noise.kind = NOISE_NONE;
        return 0;
    case STAGE_ATTACH_CLASSIFIER: return stage_attach_classifier(r, s, err);
    case STAGE_EVALUATE: return stage_evaluate(r, s, err);
    default: return ae_fail(err, "unknown stage kind %d", (int)s->kind), 2;
    }
}

/* The message of a process that waits for another to train (or store) a stage it wants. */
static void note_waiting(void *arg, long pid) {
    Run *r = arg;
    char who[48] = "another aelab";
    if (pid) snprintf(who, sizeof who, "another aelab (pid %ld)", pid);
    progress_note(&r->prog, "[%d/%d %s] waiting for %s, which holds this stage in the stage "
                  "cache", r->stage_index + 1, r->cfg->nstages, r->stage->label, who);
}

/* Test hook for tests/test_cache.sh: with AELAB_TEST_CACHE_HOLD=SECONDS, a process that is
 * about to train a stage, holding its cache entry's lock, waits that long first, so that
 * concurrent runs are sure to meet at the lock. */
static void test_hold_lock(void) {
    const char *v = getenv("AELAB_TEST_CACHE_HOLD");
    if (v && *v) sleep((unsigned)strtoul(v, NULL, 10));
}

/* A training stage: reused from the run directory (--resume) or the stage cache when there,
 * else trained and stored. The cache entry's lock is held from the look-up to the store, so
 * that concurrent processes wanting the same stage train it once. */
static int run_training_stage(Run *r, AeError *err) {
    char key[STAGE_KEY_HEX];
    uint64_t h64 = 0;
    StageKeyEnv env = {r->be->name, r->threads, r->cache_dir[0] ? r->cache_dir : NULL};
    if (!stage_key(r->cfg, r->stage_index, &env, key, &h64, err)) return 1;
    r->cache_lock = -1;
    if (r->cache_dir[0]) {
        r->cache_lock = stagecache_lock(r->cache_dir, key, note_waiting, r,
                                        &pipeline_interrupted, err);
        if (r->cache_lock == -1) return pipeline_interrupted ? 130 : 1;
    }
    int rc = 0;
    ReuseFrom from = try_reuse(r, key, h64);
    if (from != REUSE_NONE) {
        r->nreused++;
        summarise_stage(r, r->stage_index);
        char path[CFG_PATH_MAX + 32];
        path_join(path, sizeof path, r->dir, "metrics.csv");
        if (!csvtable_write_atomic(r->metrics, path, err) ||
            !save_stage_result(r, key, h64, from != REUSE_CACHE, err))
            rc = 1;
    } else {
        if (r->cache_lock >= 0) test_hold_lock();
        rc = run_stage(r, r->stage, err);
        summarise_stage(r, r->stage_index);
        if (rc == 0) {
            r->ntrained++;
            progress_note(&r->prog, "[%d/%d %s] trained", r->stage_index + 1, r->cfg->nstages,
                          r->stage->label);
            if (!save_stage_result(r, key, h64, true, err)) rc = 1;
        }
    }
    stagecache_unlock(r->cache_lock);
    r->cache_lock = -1;
    return rc;
}

/* ---- provenance ---- */

static void git_commit(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *p = popen("git rev-parse --short=12 HEAD 2>/dev/null", "r");
    if (!p) return;
    char buf[64];
    if (fgets(buf, sizeof buf, p)) {
        buf[strcspn(buf, "\n")] = 0;
        if (buf[0]) snprintf(out, cap, "%s", buf);
    }
    pclose(p);
}

/* config.yaml with the provenance: what it was before issue 16 (version ... device_reason),
 * then runner/provenance.h's pairs, then, once the run is over (rc >= 0), when it finished,
 * its wall time and exit status. */
static bool write_resolved(Run *r, int rc, AeError *err) {
    char commit[64], threads[16], seed[32], sets[2048] = "", fin[32], wall[32], code[16];
    git_commit(commit, sizeof commit);
    snprintf(threads, sizeof threads, "%d", r->threads);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->cfg->seed);
    for (int i = 0; i < r->opt->nsets; i++) {
        size_t l = strlen(sets);
        snprintf(sets + l, sizeof sets - l, "%s%s", i ? " " : "", r->opt->provenance_sets[i]);
    }
    char blas[256];
    snprintf(blas, sizeof blas, "%s (core %s)", backend_cpu_blas_config(), backend_cpu_blas_core());
    const char *kv[2 * (12 + PROV_MAX)] = {
        "version", AE_VERSION, "git_commit", commit, "seed", seed, "backend", r->be->name,
        "threads", threads, "blas", blas, "date", r->started, "overrides", sets,
        "device_reason", r->device_reason};
    int nkv = 9;
    if (!r->device_reason[0]) nkv--; /* device_reason only when there is one */
    for (int i = 0; r->prov && i < r->prov->n; i++, nkv++) {
        kv[2 * nkv] = r->prov->key[i];
        kv[2 * nkv + 1] = r->prov->value[i];
    }
    if (rc >= 0) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        time_t now = time(NULL);
        strftime(fin, sizeof fin, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        snprintf(wall, sizeof wall, "%.3f", (double)(t1.tv_sec - r->t0.tv_sec) +
                                                1e-9 * (double)(t1.tv_nsec - r->t0.tv_nsec));
        snprintf(code, sizeof code, "%d", rc);
        const char *end[6] = {"finished", fin, "wall_seconds", wall, "exit_status", code};
        memcpy(kv + 2 * nkv, end, sizeof end);
        nkv += 3;
    }
    char path[CFG_PATH_MAX + 32];
    path_join(path, sizeof path, r->dir, "config.yaml");
    return config_write_resolved(r->cfg, path, kv, nkv, err);
}

/* The backend for device cpu, gpu or auto. gpu: the CUDA backend, or NULL with the reason in
 * why (size n). auto: the CUDA backend when it loads, else the CPU with the reason in why, said
 * once per process on stderr unless quiet (a sweep runs many points), and in each run's
 * provenance (device_reason) in any case. */
static const Backend *pick_backend(const char *device, bool quiet, char *why, size_t n) {
    why[0] = '\0';
    if (strcmp(device, "cpu") == 0) return backend_cpu();
    const Backend *g = cudaload_backend(why, n);
    if (g) return g;
    if (strcmp(device, "gpu") == 0) return NULL;
    static bool said;
    if (!said && !quiet) fprintf(stderr, "aelab: note: device auto runs on the CPU: %s\n", why);
    said = true;
    return backend_cpu();
}

int pipeline_run(const Config *cfg, const RunOptions *opt) {
    Run r = {.cfg = cfg, .opt = opt};
    AeError err = {{0}};
    int rc = 0;
    progress_init(&r.prog, opt->quiet);
    const char *device = opt->device ? opt->device : cfg->device;
    char why[512] = "";
    bool bf16 = strcmp(cfg->precision, "bf16") == 0;
    if (bf16 && strcmp(device, "gpu") == 0) { /* --device gpu; the config's is refused on load */
        fprintf(stderr, "aelab: error: precision: bf16 runs on the CPU only (the CUDA backend has "
                        "no bf16 GEMMs); use --device cpu or auto\n");
        return 2;
    }
    r.be = pick_backend(bf16 ? "cpu" : device, opt->quiet, why, sizeof why);
    if (bf16 && strcmp(device, "auto") == 0)
        snprintf(why, sizeof why, "precision: bf16 runs on the CPU only");
    r.device_reason = why;
    if (!r.be) {
        fprintf(stderr, "aelab: error: device gpu requested, but %s\n", why);
        return 2;
    }
    if (bf16 && !(r.be = backend_cpu_bf16(why, sizeof why))) {
        fprintf(stderr, "aelab: error: precision: bf16 is not available: %s\n", why);
        return 2;
    }
    r.threads = backend_cpu_set_threads(opt->threads >= 0 ? opt->threads : cfg->threads);
    if (opt->out_dir) snprintf(r.dir, sizeof r.dir, "%s", opt->out_dir);
    else snprintf(r.dir, sizeof r.dir, "results/%s", cfg->name);
    if (!fs_mkdir_p(r.dir, &err)) {
        report_error(err.msg);
        return 1;
    }
    int lock = rundir_lock(r.dir, &err);
    if (lock == -1) {
        report_error(err.msg);
        return 1;
    }
    time_t start = time(NULL);
    strftime(r.started, sizeof r.started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&start));
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    if (!opt->no_cache) {
        snprintf(r.cache_dir, sizeof r.cache_dir, "%s", stagecache_dir(opt->cache_dir));
        AeError ignored; /* an unwritable cache is only read: its lock says so */
        fs_mkdir_p(r.cache_dir, &ignored);
    }
    r.prov = ae_xmalloc(sizeof *r.prov);
    provenance_collect(r.prov, cfg, r.be->name, r.cache_dir[0] ? r.cache_dir : NULL);
    if (!write_resolved(&r, -1, &err)) {
        report_error(err.msg);
        rundir_unlock(lock);
        free(r.prov);
        return 1;
    }
    /* A resumed run's directory may hold the temp files of the run that was killed. */
    if (opt->resume) fs_remove_stale_temps(r.dir);
    progress_note(&r.prog, "aelab %s: %s on %s (%d thread%s), writing %s/", AE_VERSION, cfg->name,
                  r.be->name, r.threads, r.threads == 1 ? "" : "s", r.dir);
    metrics_columns(cfg, &r.cols);
    r.metrics = csvtable_create(r.cols.header, r.cols.n);

    for (int i = 0; i < cfg->nstages && rc == 0; i++) {
        r.stage = &cfg->stages[i];
        r.stage_index = i;
        bool training = r.stage->kind == STAGE_PRETRAIN_LAYER ||
                        r.stage->kind == STAGE_APPEND_LAYER ||
                        r.stage->kind == STAGE_ATTACH_CLASSIFIER;
        rc = training ? run_training_stage(&r, &err) : run_stage(&r, r.stage, &err);
        if (rc == 0 && pipeline_interrupted) rc = 130;
    }

    if (bf16 && rc == 0 && backend_cpu_bf16_failure()) {
        rc = 1;
        ae_fail(&err, "%s", backend_cpu_bf16_failure());
    }
    AeError e2;
    if (r.nsummary && !write_summary(&r, &e2)) {
        report_error(e2.msg);
        if (rc == 0) rc = 1;
    }
    if (opt->plots && csvtable_nrows(r.metrics) > 0 && !plots_run_curves(r.dir, &e2)) {
        report_error(e2.msg);
        r.plots_failed = true;
    }
    if (r.plots_failed && rc == 0) {
        rc = 1;
        ae_fail(&err, "%s: error: some pictures could not be drawn (messages above)", r.dir);
    }

    if (rc == 130) {
        fprintf(stderr, "aelab: interrupted in stage %d (%s); results so far are in %s/\n",
                r.stage_index, r.stage->label, r.dir);
    } else if (rc != 0) {
        report_error(err.msg[0] ? err.msg : "run failed");
        fprintf(stderr, "aelab: note: results written so far are in %s/\n", r.dir);
    } else {
        progress_note(&r.prog, "done: %d training stage%s trained, %d reused; results in %s/ "
                      "(metrics.csv, summary.csv%s)", r.ntrained, r.ntrained == 1 ? "" : "s",
                      r.nreused, r.dir, opt->plots ? ", plots" : "");
    }
    if (!write_resolved(&r, rc, &e2)) { /* the end time and exit status */
        report_error(e2.msg);
        if (rc == 0) rc = 1;
    }
    free(r.prov);
    if (opt->stats) *opt->stats = (RunStats){r.ntrained, r.nreused};
    csvtable_free(r.metrics);
    free(r.summary);
    model_free(r.model);
    device_data_free(r.train);
    device_data_free(r.test);
    device_data_free(r.val);
    dataset_free(r.train_host);
    dataset_free(r.test_host);
    dataset_free(r.val_host);
    rundir_unlock(lock);
    return rc;
}
