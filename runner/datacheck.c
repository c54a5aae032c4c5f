/* runner/datacheck.c — the config against its data set's labels (see datacheck.h). */
#include "datacheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "datasets.h"

/* One split's labels: where they come from and how many of each class it holds. */
typedef struct SplitLabels {
    const char *what;              /* "training" | "test" */
    char path[CFG_PATH_MAX];       /* the labels file, or the CSV file */
    bool csv;
    int limit;                     /* subset / test_subset; 0 = all */
    bool known;                    /* read */
    unsigned hist[256];
    int n, bound;                  /* labels counted; largest label + 1 */
} SplitLabels;

/* The split sources of a data set: training first, then the test split when there is one.
 * Returns how many (0 when a named data set cannot be found: reported where it is read). */
static int splits_resolve(const DatasetCfg *ds, SplitLabels s[2]) {
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX], why[2048];
    memset(s, 0, 2 * sizeof *s);
    s[0].what = "training", s[1].what = "test";
    s[0].limit = ds->subset, s[1].limit = ds->test_subset;
    bool csv = strcmp(ds->name, "csv") == 0;
    s[0].csv = s[1].csv = csv;
    if (csv) {
        snprintf(s[0].path, sizeof s[0].path, "%s", ds->train_csv);
        snprintf(s[1].path, sizeof s[1].path, "%s", ds->test_csv);
    } else if (strcmp(ds->name, "idx") == 0) {
        snprintf(s[0].path, sizeof s[0].path, "%s", ds->train_labels);
        snprintf(s[1].path, sizeof s[1].path, "%s",
                 ds->test_images[0] ? ds->test_labels : "");
    } else if (datasets_resolve(ds->name, ti, tl, vi, vl, CFG_PATH_MAX, why, sizeof why)) {
        snprintf(s[0].path, sizeof s[0].path, "%s", tl);
        snprintf(s[1].path, sizeof s[1].path, "%s", vl);
    } else {
        return 0;
    }
    return s[1].path[0] ? 2 : 1;
}

static void split_read(SplitLabels *s, const DatasetCfg *ds) {
    if (s->csv) {
        Dataset *d = dataset_load_csv(s->path, ds->label_column, (CsvPixels)ds->pixels, NULL);
        if (!d) return;
        s->n = s->limit > 0 && s->limit < d->n ? s->limit : d->n;
        memset(s->hist, 0, sizeof s->hist);
        for (int i = 0; i < s->n; i++) s->hist[d->labels[i]]++;
        dataset_free(d);
    } else if (!idx_label_histogram(s->path, s->limit, s->hist, &s->n, NULL)) {
        return;
    }
    s->known = true;
    for (int k = 0; k < 256; k++)
        if (s->hist[k]) s->bound = k + 1;
}

/* The stage's kind node and its arguments (NULL for a bare `- evaluate`). */
static const YNode *stage_item(const YNode *root, int k, const YNode **args) {
    const YNode *pipeline = ynode_get(root, "pipeline");
    *args = NULL;
    if (!pipeline || pipeline->kind != YNODE_SEQ || k >= pipeline->nitems) return NULL;
    const YNode *item = pipeline->items[k];
    if (item->kind != YNODE_MAP) return item;
    for (int i = 0; i < item->npairs; i++)
        if (!item->pairs[i].dup) {
            *args = item->pairs[i].value;
            return item->pairs[i].key;
        }
    return item;
}

static void at(Diag *d, DiagLevel level, const YNode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void at(Diag *d, DiagLevel level, const YNode *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(d, level, n ? n->origin : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

/* "3, 5..9": the classes below head that hist does not hold, into buf. Returns how many. */
static int missing_text(const unsigned hist[256], int head, char *buf, size_t cap) {
    int nmissing = 0;
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < head; k++) {
        if (hist[k]) continue;
        int last = k;
        while (last + 1 < head && !hist[last + 1]) last++;
        nmissing += last - k + 1;
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, last > k + 1 ? "%s%d..%d"
                                                          : last > k ? "%s%d, %d" : "%s%d",
                                    len ? ", " : "", k, last);
        k = last;
    }
    return nmissing;
}

/* The classifier stage k against the splits' labels. */
static int check_head(const Config *c, int k, const YNode *root, const SplitLabels *s, int ns,
                      Diag *d) {
    const YNode *args, *kind = stage_item(root, k, &args);
    const StageCfg *st = &c->stages[k];
    int bound = 0;
    for (int i = 0; i < ns; i++)
        if (s[i].known && s[i].bound > bound) bound = s[i].bound;
    if (bound == 0) return 0;
    for (int i = 0; i < ns && st->classes; i++) {
        if (!s[i].known || s[i].bound <= st->classes) continue;
        const YNode *n = ynode_get(args, "classes");
        at(d, DIAG_ERROR, n ? n : kind,
           "pipeline[%d].attach_classifier.classes: %d, but the %s labels go up to %d (%d "
           "classes in %s); set classes: %d or leave it out",
           k, st->classes, s[i].what, s[i].bound - 1, s[i].bound, s[i].path, bound);
        return 1;
    }
    int head = st->classes ? st->classes : bound;
    for (int i = 0; i < ns; i++) {
        char missing[256];
        if (!s[i].known) continue;
        int nmissing = missing_text(s[i].hist, head, missing, sizeof missing);
        if (head == 1) {
            at(d, DIAG_ERROR, kind,
               "pipeline[%d].attach_classifier: the %s labels are all 0 (%d of them in %s): a "
               "classifier needs at least 2 classes (set classes: to the number the data has)",
               k, s[i].what, s[i].n, s[i].path);
            return 1;
        }
        if (nmissing)
            at(d, DIAG_WARNING, kind,
               "pipeline[%d].attach_classifier: the head has %d classes but the %s labels (%d "
               "in %s) hold %d of them; missing: %s",
               k, head, s[i].what, s[i].n, s[i].path, head - nmissing, missing);
    }
    return 0;
}

int datacheck_validate(const Config *c, const YNode *root, Diag *d) {
    const DatasetCfg *ds = NULL;
    int head = -1, nerrors = 0;
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *st = &c->stages[k];
        if (st->kind == STAGE_LOAD_DATASET && !ds) ds = &st->data;
        if (st->kind == STAGE_ATTACH_CLASSIFIER && head < 0) head = k;
    }
    if (!ds) return 0;
    SplitLabels s[2];
    int ns = splits_resolve(ds, s);
    bool named = strcmp(ds->name, "idx") != 0 && strcmp(ds->name, "csv") != 0;
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *st = &c->stages[k];
        if (st->kind != STAGE_EVALUATE || !st->eval_on_test || ns == 2 || (named && ns == 0))
            continue;
        const YNode *args, *kind = stage_item(root, k, &args);
        const YNode *n = ynode_get(args, "split");
        at(d, DIAG_ERROR, n ? n : kind,
           "pipeline[%d].evaluate.split: test, but the data set has no test split (%s); give "
           "load_dataset %s, or use split: train",
           k, ds->name, strcmp(ds->name, "csv") == 0 ? "test_csv" : "test_images and test_labels");
        nerrors++;
    }
    if (head < 0 || ns == 0) return nerrors;
    for (int i = 0; i < ns; i++) split_read(&s[i], ds);
    return nerrors + check_head(c, head, root, s, ns, d);
}

/* A CSV file's shape, from loading it (the loader checks every record). */
static bool csv_shape(const DatasetCfg *ds, const char *path, int *n, int *D, int *C,
                      AeError *err) {
    Dataset *d = dataset_load_csv(path, ds->label_column, (CsvPixels)ds->pixels, err);
    if (!d) return false;
    *n = d->n, *D = d->D, *C = d->C;
    dataset_free(d);
    return true;
}

bool datacheck_files(const DatasetCfg *ds, int dims[3], AeError *err) {
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX], why[2048];
    int n, rows, cols, D, C, n2, D2 = 0, C2 = 0;
    if (strcmp(ds->name, "csv") == 0) {
        if (!csv_shape(ds, ds->train_csv, &n, &D, &C, err)) return false;
        if (ds->test_csv[0] && !csv_shape(ds, ds->test_csv, &n2, &D2, &C2, err)) return false;
        if (ds->test_csv[0] && D2 != D)
            return ae_fail(err, "%s: error: %d features per example, but the training set (%s) "
                           "has %d", ds->test_csv, D2, ds->train_csv, D);
        dims[0] = D;
        dims[1] = ds->test_csv[0] && C2 > C ? C2 : C;
        dims[2] = ds->subset > 0 && ds->subset < n ? ds->subset : n;
        return true;
    }
    if (!datasets_paths(ds, ti, tl, vi, vl, why, sizeof why)) {
        return ae_fail(err, "%s", why);
    }
    if (!idx_check_pair(ti, tl, &n, &rows, &cols, err)) return false;
    int vrows, vcols;
    if (vi[0] && vl[0] && !idx_check_pair(vi, vl, &n2, &vrows, &vcols, err)) return false;
    if (vi[0] && vl[0] && vrows * vcols != rows * cols)
        return ae_fail(err, "%s: error: %d features per example (%d x %d), but the training set "
                       "(%s) has %d", vi, vrows * vcols, vrows, vcols, ti, rows * cols);
    dims[0] = rows * cols;
    dims[1] = 10;
    dims[2] = ds->subset > 0 && ds->subset < n ? ds->subset : n;
    return true;
}
