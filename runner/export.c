/* runner/export.c — `aelab export RUN_DIR` (the model of a checkpoint as a NumPy .npz) and
 * `aelab encode RUN_DIR` (the encoder's code of every example of a split, as .npy or .csv);
 * contract in export.h.
 *
 * Array names in the .npz, for each stack S in encoder, decoder, head and layer K (0 = nearest
 * the input, as in the checkpoint):
 *   S.K.weight      float32 (O, I)   W as nn.Linear stores it: y = act(x . W^T + b)
 *   S.K.bias        float32 (O,)
 *   S.K.activation  str ()           tanh, sigmoid, relu, identity or logsoftmax
 *   input_dim       int64 ()         D
 *   stage           str ()           the checkpoint's stage label ("01_pretrain_layer")
 *   config          str ()           the run's resolved config.yaml, provenance included
 *   metrics.COLUMN  one per column of metrics.csv, a row per epoch: float64 (NaN where empty),
 *                   or str for the text columns (stage, kind)
 * The inputs are the images scaled to [0, 1] (x / 255), as the engine trains on them.
 */
#include "export.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ckptfile.h"
#include "cliopt.h"
#include "config.h"
#include "csvout.h"
#include "data.h"
#include "datasets.h"
#include "fsutil.h"
#include "npy.h"

#define EXPORT_GO_ON (-1)

static const char export_usage[] =
    "usage: aelab export RUN_DIR [--stage NAME] -o FILE.npz\n"
    "\n"
    "Writes a checkpoint of the run as a NumPy .npz (a ZIP of .npy arrays, read by numpy.load\n"
    "with no aelab code): encoder.K.weight (O, I) and encoder.K.bias (O,) for each layer K,\n"
    "the same for decoder.K and head.K, each layer's activation (encoder.K.activation), input_dim,\n"
    "stage, the resolved config (config) and the per-epoch metrics (metrics.COLUMN).\n"
    "  --stage NAME        the checkpoint of stage NAME (its label, as pretrain_layer, its file\n"
    "                      name, as 01_pretrain_layer, or its index, as 1); default: the last\n"
    "  -o, --output FILE   the .npz to write (atomically)\n"
    "  -h, --help          this text\n"
    "Exit status: 0 written; 1 the file could not be written; 2 a usage error, RUN_DIR with no\n"
    "such checkpoint, or a damaged checkpoint.\n";

static const char encode_usage[] =
    "usage: aelab encode RUN_DIR [--split test|train] [--stage NAME] -o FILE.npy|FILE.csv\n"
    "\n"
    "Runs the examples of a split of the run's data set (its subset, as the run used it)\n"
    "through the encoder of a checkpoint and writes their codes: FILE.npy, a float32 array\n"
    "(N, code width), or FILE.csv, with the columns label, code_0, code_1, ...\n"
    "  --split S           test (default) or train\n"
    "  --stage NAME        as for `aelab export` (default: the last checkpoint)\n"
    "  -o, --output FILE   where to write; .npy or .csv by its suffix\n"
    "  -h, --help          this text\n"
    "Exit status: 0 written; 1 the data or the output could not be read or written; 2 a usage\n"
    "error, RUN_DIR with no such checkpoint, or a split the run does not have.\n";

typedef struct ExportArgs {
    const char *cmd, *run, *stage, *output, *split;
} ExportArgs;

static int export_usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "aelab %s: error: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'aelab %s --help')\n", cmd);
    return 2;
}

enum { OPT_STAGE = CLI_LONG_ONLY, OPT_SPLIT };

static int export_parse(int argc, char **argv, ExportArgs *a, bool encode) {
    static const struct option longs[] = {{"stage", required_argument, NULL, OPT_STAGE},
                                          {"split", required_argument, NULL, OPT_SPLIT},
                                          {"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "ho:", longs);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(encode ? encode_usage : export_usage, stdout);
            return 0;
        }
        if (c == CLI_BAD) return export_usage_error(a->cmd, "%s", p.error);
        if (c == CLI_MISSING) return export_usage_error(a->cmd, "%s needs a value", p.name);
        if (c == CLI_ARG) {
            if (a->run) return export_usage_error(a->cmd, "unexpected argument '%s'", p.arg);
            a->run = p.arg;
        } else if (c == OPT_STAGE) {
            a->stage = p.arg;
        } else if (c == 'o') {
            a->output = p.arg;
        } else if (c == OPT_SPLIT && encode) {
            if (strcmp(p.arg, "test") != 0 && strcmp(p.arg, "train") != 0)
                return export_usage_error(a->cmd, "--split: expected test or train, got '%s'",
                                          p.arg);
            a->split = p.arg;
        } else {
            return export_usage_error(a->cmd, "unknown option '%s'", p.name);
        }
    }
    if (!a->run) return export_usage_error(a->cmd, "missing RUN_DIR%s", "");
    if (!a->output) return export_usage_error(a->cmd, "missing -o FILE%s", "");
    return EXPORT_GO_ON;
}

/* ---- the checkpoint ---- */

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_ckpt(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".ckpt") == 0;
}

/* Whether checkpoint file base ("01_pretrain_layer", no suffix) is stage `want`. */
static bool stage_matches(const char *base, const char *want) {
    if (strcmp(base, want) == 0) return true;
    const char *us = strchr(base, '_');
    if (us && strcmp(us + 1, want) == 0) return true;
    char *end;
    long k = strtol(want, &end, 10);
    return *want && !*end && us && strtol(base, NULL, 10) == k;
}

/* The checkpoint's path and stage (its file name without .ckpt) into path and base. Returns
 * EXPORT_GO_ON, or 2 after a message. */
static int find_checkpoint(const ExportArgs *a, char *path, size_t cap, char *base,
                           size_t bcap) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/checkpoints", a->run);
    struct dirent **ents;
    int n = scandir(dir, &ents, is_ckpt, by_name);
    if (n < 0) {
        fprintf(stderr, "%s: error: not a run directory with checkpoints (no %s)\n", a->run,
                dir);
        return 2;
    }
    int pick = -1;
    for (int i = 0; i < n; i++) {
        char b[256];
        snprintf(b, sizeof b, "%.*s", (int)(strlen(ents[i]->d_name) - 5), ents[i]->d_name);
        if (!a->stage || stage_matches(b, a->stage)) pick = i;
    }
    if (pick >= 0) {
        snprintf(path, cap, "%s/%s", dir, ents[pick]->d_name);
        snprintf(base, bcap, "%.*s", (int)(strlen(ents[pick]->d_name) - 5), ents[pick]->d_name);
    } else if (n == 0) {
        fprintf(stderr, "%s: error: no checkpoint (*.ckpt) in %s\n", a->run, dir);
    } else {
        fprintf(stderr, "%s: error: no checkpoint of stage '%s'; there are:", a->run, a->stage);
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %.*s", (int)(strlen(ents[i]->d_name) - 5), ents[i]->d_name);
        fprintf(stderr, "\n");
    }
    for (int i = 0; i < n; i++) free(ents[i]);
    free(ents);
    return pick >= 0 ? EXPORT_GO_ON : 2;
}

static Model *load_model(const ExportArgs *a, char *base, size_t bcap) {
    char path[4400];
    if (find_checkpoint(a, path, sizeof path, base, bcap) != EXPORT_GO_ON) return NULL;
    AeError err;
    Model *m = ckptfile_load(path, backend_cpu(), NULL, &err);
    if (!m) fprintf(stderr, "%s\n", err.msg);
    return m;
}

static const char *act_text(Act a) {
    static const char *const names[ACT_COUNT] = {"identity", "tanh", "sigmoid", "relu",
                                                 "logsoftmax"};
    return a >= 0 && a < ACT_COUNT ? names[a] : "?";
}

/* ---- export ---- */

static bool add_layer(NpzWriter *z, const Backend *be, const char *stack, int k, const Layer *l,
                      AeError *err) {
    float *p = ae_xmalloc(l->nparams * sizeof *p);
    be->download(p, l->params, l->nparams * sizeof *p);
    char name[64];
    size_t wshape[2] = {(size_t)l->O, (size_t)l->I}, bshape[1] = {(size_t)l->O};
    const char *act = act_text(l->act);
    snprintf(name, sizeof name, "%s.%d.weight", stack, k);
    bool ok = npz_add(z, name, NPY_F4, wshape, 2, p, err);
    snprintf(name, sizeof name, "%s.%d.bias", stack, k);
    ok = ok && npz_add(z, name, NPY_F4, bshape, 1, p + (size_t)l->O * l->I, err);
    snprintf(name, sizeof name, "%s.%d.activation", stack, k);
    ok = ok && npz_add_strings(z, name, &act, 1, 0, err);
    free(p);
    return ok;
}

/* metrics.COLUMN for each column of RUN/metrics.csv (none when the file is missing). */
static bool add_metrics(NpzWriter *z, const char *run, AeError *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.csv", run);
    if (!fs_exists(path)) return true;
    CsvTable *t = csvtable_read(path, err);
    if (!t) return false;
    size_t n = (size_t)csvtable_nrows(t);
    double *v = ae_xmalloc((n ? n : 1) * sizeof *v);
    const char **s = ae_xmalloc((n ? n : 1) * sizeof *s);
    bool ok = true;
    for (int c = 0; ok && c < csvtable_ncols(t); c++) {
        bool numeric = true;
        for (size_t r = 0; r < n; r++) {
            s[r] = csvtable_get(t, (int)r, c);
            if (!csvtable_get_num(t, (int)r, c, &v[r])) {
                v[r] = NAN;
                numeric &= !*s[r];
            }
        }
        char name[256];
        snprintf(name, sizeof name, "metrics.%s", csvtable_header(t, c));
        ok = numeric ? npz_add(z, name, NPY_F8, &n, 1, v, err)
                     : npz_add_strings(z, name, s, n, 1, err);
    }
    free(v);
    free(s);
    csvtable_free(t);
    return ok;
}

static bool add_all(NpzWriter *z, const Model *m, const char *run, const char *stage,
                    AeError *err) {
    const char *stacks[3] = {"encoder", "decoder", "head"};
    Layer *const *ls[3] = {m->enc, m->dec, m->head};
    const int ns[3] = {m->nenc, m->ndec, m->nhead};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < ns[s]; k++)
            if (!add_layer(z, m->be, stacks[s], k, ls[s][k], err)) return false;
    int64_t d = m->input_dim;
    if (!npz_add(z, "input_dim", NPY_I8, NULL, 0, &d, err) ||
        !npz_add_strings(z, "stage", &stage, 1, 0, err))
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.yaml", run);
    if (fs_exists(path)) {
        char *text = fs_read_file(path, NULL, err);
        const char *ct = text;
        bool ok = text && npz_add_strings(z, "config", &ct, 1, 0, err);
        free(text);
        if (!ok) return false;
    }
    return add_metrics(z, run, err);
}

int export_main(int argc, char **argv) {
    ExportArgs a = {.cmd = "export"};
    int rc = export_parse(argc, argv, &a, false);
    if (rc != EXPORT_GO_ON) return rc;
    char stage[256];
    Model *m = load_model(&a, stage, sizeof stage);
    if (!m) return 2;
    NpzWriter *z = npz_create();
    AeError err;
    rc = add_all(z, m, a.run, stage, &err) && npz_write(z, a.output, &err) ? 0 : 1;
    if (rc) fprintf(stderr, "%s\n", err.msg);
    npz_free(z);
    model_free(m);
    return rc;
}

/* ---- encode ---- */

/* The split of the run's data set, with the run's subset applied. NULL after a message. */
static Dataset *load_split(const ExportArgs *a, int *rc) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.yaml", a->run);
    *rc = 2;
    Config *cfg = fs_exists(path) ? config_load(path, NULL, 0, NULL) : NULL;
    if (!cfg) {
        fprintf(stderr, "%s: error: cannot read the run's resolved config %s\n", a->run, path);
        return NULL;
    }
    const DatasetCfg *d = &cfg->stages[0].data; /* load_dataset comes first (config.c) */
    bool test = strcmp(a->split, "test") == 0;
    char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX], why[2048];
    AeError err;
    Dataset *set = NULL;
    *rc = 1;
    if (strcmp(d->name, "csv") == 0) {
        if (test && !d->test_csv[0]) *rc = 2;
        else set = dataset_load_csv(test ? d->test_csv : d->train_csv, d->label_column,
                                    (CsvPixels)d->pixels, &err);
    } else if (datasets_paths(d, ti, tl, vi, vl, why, sizeof why)) {
        if (test && !(vi[0] && vl[0])) *rc = 2;
        else set = dataset_load_idx(test ? vi : ti, test ? vl : tl, 0, &err);
    } else {
        snprintf(err.msg, sizeof err.msg, "%.*s", (int)sizeof err.msg - 1, why);
    }
    int keep = test ? d->test_subset : d->subset;
    if (set && keep > 0 && keep < set->n) {
        Dataset *h = dataset_head(set, keep, &err);
        dataset_free(set);
        set = h;
    }
    if (!set && *rc == 2)
        fprintf(stderr, "%s: error: the run's data set has no test split\n", a->run);
    else if (!set)
        fprintf(stderr, "%s\n", err.msg);
    config_free(cfg);
    return set;
}

/* codes (n, code width) = the encoder of m applied to the images of d / 255, in batches. */
static float *encode_all(const Model *m, const Dataset *d) {
    const Backend *be = m->be;
    enum { BATCH = 1000 };
    int widest = d->D, C = model_code_dim(m);
    for (int k = 0; k < m->nenc; k++)
        if (m->enc[k]->O > widest) widest = m->enc[k]->O;
    float *X = ae_xmalloc((size_t)BATCH * d->D * sizeof *X);
    float *codes = ae_xmalloc(((size_t)d->n * C + 1) * sizeof *codes);
    float *buf[2] = {be->alloc((size_t)BATCH * widest * sizeof(float)),
                     be->alloc((size_t)BATCH * widest * sizeof(float))};
    AE_ASSERT(buf[0] && buf[1]);
    for (int off = 0; off < d->n; off += BATCH) {
        int B = d->n - off < BATCH ? d->n - off : BATCH, cur = 0;
        for (size_t i = 0; i < (size_t)B * d->D; i++)
            X[i] = d->images[(size_t)off * d->D + i] * (1.0f / 255.0f);
        be->upload(buf[0], X, (size_t)B * d->D * sizeof *X);
        for (int k = 0; k < m->nenc; k++, cur ^= 1) {
            const Layer *l = m->enc[k];
            be->gemm_nt(B, l->O, l->I, 1.0f, buf[cur], l->W, 0.0f, buf[cur ^ 1]);
            be->bias_act_forward(buf[cur ^ 1], l->b, l->act, B, l->O);
        }
        be->download(codes + (size_t)off * C, buf[cur], (size_t)B * C * sizeof *codes);
    }
    be->free(buf[0]);
    be->free(buf[1]);
    free(X);
    return codes;
}

static bool write_codes_csv(const char *path, const float *codes, const Dataset *d, int C,
                            AeError *err) {
    const char **hdr = ae_xmalloc((size_t)(C + 1) * sizeof *hdr);
    char **names = ae_xmalloc((size_t)(C + 1) * sizeof *names);
    hdr[0] = "label";
    for (int j = 0; j < C; j++) {
        names[j] = ae_xmalloc(32);
        snprintf(names[j], 32, "code_%d", j);
        hdr[j + 1] = names[j];
    }
    CsvTable *t = csvtable_create(hdr, C + 1);
    for (int i = 0; i < d->n; i++) {
        int r = csvtable_add_row(t, NULL);
        csvtable_set_int(t, r, 0, d->labels[i]);
        for (int j = 0; j < C; j++)
            csvtable_set_num(t, r, j + 1, codes[(size_t)i * C + j], "%.9g");
    }
    bool ok = csvtable_write_atomic(t, path, err);
    csvtable_free(t);
    for (int j = 0; j < C; j++) free(names[j]);
    free(names);
    free(hdr);
    return ok;
}

int encode_main(int argc, char **argv) {
    ExportArgs a = {.cmd = "encode", .split = "test"};
    int rc = export_parse(argc, argv, &a, true);
    if (rc != EXPORT_GO_ON) return rc;
    size_t ol = strlen(a.output);
    bool csv = ol > 4 && strcmp(a.output + ol - 4, ".csv") == 0;
    if (!csv && !(ol > 4 && strcmp(a.output + ol - 4, ".npy") == 0))
        return export_usage_error("encode", "-o: expected a FILE.npy or FILE.csv, got '%s'",
                                  a.output);
    char stage[256];
    Model *m = load_model(&a, stage, sizeof stage);
    if (!m) return 2;
    Dataset *d = load_split(&a, &rc);
    if (d && d->D != m->input_dim) {
        fprintf(stderr, "%s: error: the %s split has %d features per example, the model %d\n",
                a.run, a.split, d->D, m->input_dim);
        rc = 2;
    } else if (d) {
        float *codes = encode_all(m, d);
        int C = model_code_dim(m);
        size_t shape[2] = {(size_t)d->n, (size_t)C};
        AeError err;
        bool ok = csv ? write_codes_csv(a.output, codes, d, C, &err)
                      : npy_write(a.output, NPY_F4, shape, 2, codes, &err);
        if (!ok) fprintf(stderr, "%s\n", err.msg);
        rc = ok ? 0 : 1;
        free(codes);
    }
    dataset_free(d);
    model_free(m);
    return rc;
}
