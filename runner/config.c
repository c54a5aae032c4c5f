/* runner/config.c — YAML file → validated Config: --set overrides, the pipeline's stage-order
 * rules, stage labels, and the resolved config writer.
 *
 * Order of work: parse (runner/yamldoc.c) → apply --set to the tree → validate every mapping
 * against the schema table (runner/schema.c) → check the pipeline as a whole (the model state
 * each stage needs) → print all diagnostics in source order (runner/diag.c).
 *
 * Stage-order rules (the model is an encoder stack, a mirrored decoder while the autoencoder
 * phase lasts, then a classifier head; see docs/architecture.md, "The pipeline"):
 *  - load_dataset comes first, exactly once;
 *  - pretrain_layer, append_layer, add_sparsity and add_noise belong to the autoencoder phase:
 *    not after strip_decoder, not after attach_classifier; append_layer needs a layer below it;
 *  - strip_decoder needs a decoder and comes once;
 *  - attach_classifier comes once, after strip_decoder or when there is no encoder at all;
 *  - evaluate needs a head or a decoder;
 *  - autoencoder stages take mse, half_sse or bce (bce: the reconstruction must be sigmoid);
 *    attach_classifier takes nll (log-softmax head) or cross_entropy (raw scores).
 * Warnings: KL sparsity with a code that is not sigmoid; sparsity or noise that no training
 * stage uses; batch_size with lbfgs; freeze_encoder with no encoder.
 */
#include "config.h"
#include "fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "datapath.h"
#include "diag.h"
#include "machine.h"
#include "plan.h"
#include "schema.h"
#include "yamldoc.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define SET_MAX_SEGMENTS 16

/* ------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------- */

static void at_node(Diag *d, DiagLevel level, const YNode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void at_node(Diag *d, DiagLevel level, const YNode *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(d, level, n ? n->origin : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

static void at_origin(Diag *d, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void at_origin(Diag *d, const char *origin, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(d, DIAG_ERROR, origin, 0, 0, fmt, ap);
    va_end(ap);
}

/* The label a stage gets: its `name:` when given, else the kind, with _K for the K-th (K >= 2)
 * stage of that kind. */
static void stage_label(char *out, size_t size, StageKind kind, const char *given, int occurrence) {
    if (given && given[0])
        snprintf(out, size, "%s", given);
    else if (occurrence <= 1)
        snprintf(out, size, "%s", stage_kind_names[kind]);
    else
        snprintf(out, size, "%s_%d", stage_kind_names[kind], occurrence);
}

/* A pipeline item's parts: the node naming the kind, and the arguments (NULL when none).
 * Returns false when the item is not shaped like a stage. */
static bool item_parts(const YNode *item, const YNode **kind_node, YNode **args) {
    *kind_node = NULL;
    *args = NULL;
    if (item->kind == YNODE_SCALAR && !ynode_is_null(item)) {
        *kind_node = item;
        return true;
    }
    if (item->kind != YNODE_MAP) return false;
    int n = 0;
    for (int i = 0; i < item->npairs; i++) {
        if (item->pairs[i].dup) continue;
        if (n++ == 0) {
            *kind_node = item->pairs[i].key;
            *args = item->pairs[i].value;
        }
    }
    return n == 1 && (*kind_node)->kind == YNODE_SCALAR;
}

/* ------------------------------------------------------------------------------------------
 * --set
 * ---------------------------------------------------------------------------------------- */

typedef struct DomStage {
    int kind;            /* -1: not a well-formed stage */
    char label[CFG_NAME_MAX];
} DomStage;

/* Kinds and labels of the pipeline items as the tree stands now. */
static DomStage *dom_stages(const YNode *pipeline, int *n) {
    *n = pipeline && pipeline->kind == YNODE_SEQ ? pipeline->nitems : 0;
    DomStage *st = ae_xcalloc((size_t)(*n ? *n : 1), sizeof *st);
    int occ[STAGE_COUNT] = {0};
    for (int i = 0; i < *n; i++) {
        const YNode *kn;
        YNode *args;
        st[i].kind = -1;
        if (!item_parts(pipeline->items[i], &kn, &args)) continue;
        int kind = schema_stage_kind(kn->str);
        if (kind < 0) continue;
        st[i].kind = kind;
        const YNode *given = NULL;
        const KeySpec *ks = schema_find(schema_stage(kind), "name");
        if (ks && (ks->flags & KF_LABEL)) given = ynode_get(args, "name");
        stage_label(st[i].label, sizeof st[i].label, kind,
                    given && given->kind == YNODE_SCALAR ? given->str : NULL, ++occ[kind]);
    }
    return st;
}

/* Finds the stage addressed by seg ("pretrain_layer", "pretrain_layer#2" or a label); returns
 * its index, or -1 after reporting. */
static int resolve_stage(const char *seg, const YNode *pipeline, const char *origin, Diag *d) {
    int n;
    DomStage *st = dom_stages(pipeline, &n);
    int found = -1;
    char kindname[128];
    snprintf(kindname, sizeof kindname, "%s", seg);
    char *hash = strchr(kindname, '#');
    long want = 1;
    if (hash) {
        *hash = '\0';
        char *end;
        errno = 0;
        want = strtol(hash + 1, &end, 10);
        if (!hash[1] || *end || errno || want < 1) {
            at_origin(d, origin, "'%s': expected KIND#N with N >= 1 (e.g. pretrain_layer#2)", seg);
            goto done;
        }
    }
    int kind = schema_stage_kind(kindname);
    if (kind >= 0) {
        int count = 0;
        for (int i = 0; i < n && found < 0; i++)
            if (st[i].kind == kind && ++count == want) found = i;
        if (found < 0) {
            count = 0;
            for (int i = 0; i < n; i++) count += st[i].kind == kind;
            if (count == 0)
                at_origin(d, origin, "the pipeline has no %s stage", kindname);
            else
                at_origin(d, origin, "the pipeline has %d %s stage%s; there is no %s#%ld", count,
                          kindname, count == 1 ? "" : "s", kindname, want);
        }
        goto done;
    }
    if (!hash)
        for (int i = 0; i < n && found < 0; i++)
            if (st[i].kind >= 0 && strcmp(st[i].label, seg) == 0) found = i;
    if (found < 0) {
        const char **cands = ae_xmalloc((size_t)(n + STAGE_COUNT + 16) * sizeof *cands);
        int nc = 0;
        const MapSpec *top = schema_top();
        for (int i = 0; i < top->nkeys; i++) cands[nc++] = top->keys[i].key;
        for (int k = 0; k < STAGE_COUNT; k++) cands[nc++] = stage_kind_names[k];
        for (int i = 0; i < n; i++)
            if (st[i].kind >= 0) cands[nc++] = st[i].label;
        const char *near = diag_nearest(kindname, cands, nc);
        if (near)
            at_origin(d, origin,
                      "no top-level key, stage kind or stage name '%s'; did you mean '%s'?",
                      kindname, near);
        else
            at_origin(d, origin,
                      "no top-level key, stage kind or stage name '%s' (a path starts with a "
                      "top-level key, pipeline.N, a stage kind or a stage name)",
                      kindname);
        free(cands);
    }
done:
    free(st);
    return found;
}

/* Splits the path of "KEY.PATH=VALUE" at its dots into segs (copies in doc's arena). Returns
 * the '=', or NULL after reporting. */
static const char *set_split_path(YDoc *doc, const char *arg, const char *origin, char **segs,
                                  int *nsegs, Diag *d) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        at_origin(d, origin, "expected key.path=value (e.g. --set pretrain_layer.epochs=3)");
        return NULL;
    }
    *nsegs = 0;
    char *path = arena_strndup(doc->arena, arg, (size_t)(eq - arg));
    for (char *p = path;;) {
        char *dot = strchr(p, '.');
        if (dot) *dot = '\0';
        if (!*p) {
            at_origin(d, origin, "empty name in the key path '%.*s'", (int)(eq - arg), arg);
            return NULL;
        }
        if (*nsegs == SET_MAX_SEGMENTS) {
            at_origin(d, origin, "the key path has more than %d parts", SET_MAX_SEGMENTS);
            return NULL;
        }
        segs[(*nsegs)++] = p;
        if (!dot) return eq;
        p = dot + 1;
    }
}

/* The VALUE of a --set, read as YAML, as a node of doc; NULL after reporting. */
static YNode *set_parse_value(YDoc *doc, const char *text, const char *origin, Diag *d) {
    YDoc *vdoc = ydoc_parse(text, strlen(text), origin, d);
    if (!vdoc) return NULL;
    YNode *value = vdoc->root ? ydoc_copy(doc, vdoc->root) : ydoc_new_scalar(doc, "", origin);
    int vdoc_errors = vdoc->nerrors;
    ydoc_free(vdoc);
    if (!value) {
        at_origin(d, origin, "the value is too large");
        return NULL;
    }
    return vdoc_errors ? NULL : value;
}

/* pipeline.N.KEY: stage N (segs[1]); -1 after reporting. */
static int set_stage_by_index(const YNode *pipeline, char **segs, int nsegs, const char *origin,
                              Diag *d) {
    int n = pipeline && pipeline->kind == YNODE_SEQ ? pipeline->nitems : 0;
    if (nsegs < 3) {
        at_origin(d, origin, "expected pipeline.N.KEY (N: 0-based stage index)");
        return -1;
    }
    char *end;
    errno = 0;
    long idx = strtol(segs[1], &end, 10);
    if (*end || errno || segs[1][0] == '-' || segs[1][0] == '+') {
        at_origin(d, origin, "'%s' after 'pipeline.' must be a stage index (0 to %d)", segs[1],
                  n - 1);
        return -1;
    }
    if (idx >= n) {
        at_origin(d, origin, "the pipeline has %d stage%s (0 to %d); there is no stage %ld", n,
                  n == 1 ? "" : "s", n - 1, idx);
        return -1;
    }
    return (int)idx;
}

/* The stage a --set path addresses, by index (pipeline.N) or by kind or label; *next receives
 * the index of the segment after the stage's. -1 after reporting. */
static int set_find_stage(const YNode *pipeline, bool by_index, char **segs, int nsegs,
                          const char *origin, int *next, Diag *d) {
    if (by_index) {
        *next = 2;
        return set_stage_by_index(pipeline, segs, nsegs, origin, d);
    }
    *next = 1;
    int stage = resolve_stage(segs[0], pipeline, origin, d);
    if (stage >= 0 && nsegs < 2) {
        at_origin(d, origin, "expected %s.KEY=value: name a key of the stage", segs[0]);
        return -1;
    }
    return stage;
}

/* The argument mapping of pipeline[stage], a stage of kind `kind`: made when the stage has
 * none (`- evaluate` becomes `- evaluate: {}` in place; `- evaluate:` likewise). NULL after
 * reporting arguments that are not a mapping. */
static YNode *set_stage_args(YDoc *doc, YNode *pipeline, int stage, int kind, const char *origin,
                             Diag *d) {
    YNode *item = pipeline->items[stage];
    const YNode *kn;
    YNode *args;
    item_parts(item, &kn, &args);
    const char *kname = stage_kind_names[kind];
    if (item->kind == YNODE_SCALAR) {
        YNode *m = ydoc_new_map(doc, NULL);
        args = ydoc_new_map(doc, NULL);
        m->line = args->line = item->line;
        m->col = args->col = item->col;
        ydoc_map_set(doc, m, kname, args);
        ydoc_seq_set(pipeline, stage, m);
    } else if (ynode_is_null(args)) {
        YNode *m = ydoc_new_map(doc, NULL);
        m->line = args ? args->line : kn->line;
        m->col = args ? args->col : kn->col;
        ydoc_map_set(doc, item, kname, m);
        args = m;
    } else if (args->kind != YNODE_MAP) {
        at_origin(d, origin, "cannot apply: pipeline[%d].%s is not a mapping of keys", stage,
                  kname);
        return NULL;
    }
    return args;
}

/* "%s has no key '%s'" with the nearest key of spec. */
static void report_no_key(const MapSpec *spec, const char *where, const char *key,
                          const char *origin, Diag *d) {
    const char *cands[64];
    int nc = 0;
    for (int i = 0; i < spec->nkeys && nc < 64; i++) cands[nc++] = spec->keys[i].key;
    const char *near = diag_nearest(key, cands, nc);
    if (near)
        at_origin(d, origin, "%s has no key '%s'; did you mean '%s'?", where, key, near);
    else if (nc == 0)
        at_origin(d, origin, "%s has no key '%s' (it takes no keys)", where, key);
    else
        at_origin(d, origin, "%s has no key '%s'", where, key);
}

/* Sets KEY[.SUBKEY...] (segs[next..nsegs)) of a stage's argument mapping to value, each name
 * checked against the stage's schema; missing sub-mappings are made. */
static void set_stage_key(YDoc *doc, YNode *args, int kind, char **segs, int next, int nsegs,
                          YNode *value, const char *origin, Diag *d) {
    const MapSpec *spec = schema_stage(kind);
    char where[256];
    snprintf(where, sizeof where, "%s", stage_kind_names[kind]);
    for (int s = next; s < nsegs; s++) {
        const KeySpec *ks = schema_find(spec, segs[s]);
        if (!ks) {
            report_no_key(spec, where, segs[s], origin, d);
            return;
        }
        if (s == nsegs - 1) {
            ydoc_map_set(doc, args, ks->key, value);
            return;
        }
        if (ks->type != KT_MAP) {
            at_origin(d, origin, "%s.%s has no keys below it", where, ks->key);
            return;
        }
        YNode *sub = ynode_get(args, ks->key);
        if (!sub || ynode_is_null(sub)) {
            sub = ydoc_new_map(doc, origin);
            ydoc_map_set(doc, args, ks->key, sub);
        } else if (sub->kind != YNODE_MAP) {
            at_origin(d, origin, "cannot apply: %s.%s is not a mapping of keys", where, ks->key);
            return;
        }
        args = sub;
        spec = ks->sub;
        size_t wl = strlen(where);
        snprintf(where + wl, sizeof where - wl, ".%s", ks->key);
    }
}

/* A --set of a stage's key: pipeline.N.KEY..., KIND[#K].KEY... or LABEL.KEY... */
static void set_in_pipeline(YDoc *doc, bool by_index, char **segs, int nsegs, YNode *value,
                            const char *origin, Diag *d) {
    YNode *pipeline = ynode_get(doc->root, "pipeline");
    int next;
    int stage = set_find_stage(pipeline, by_index, segs, nsegs, origin, &next, d);
    if (stage < 0) return;
    const YNode *kn;
    YNode *args;
    int kind = item_parts(pipeline->items[stage], &kn, &args) ? schema_stage_kind(kn->str) : -1;
    if (kind < 0) {
        at_origin(d, origin, "cannot apply: pipeline[%d] is not a valid stage (see the errors "
                  "in the file)", stage);
        return;
    }
    const char *kname = stage_kind_names[kind];
    if (by_index && strcmp(segs[next], kname) == 0) next++; /* pipeline.1.pretrain_layer.units */
    if (next >= nsegs) {
        at_origin(d, origin, "expected a key of %s after '%s'", kname, segs[next - 1]);
        return;
    }
    args = set_stage_args(doc, pipeline, stage, kind, origin, d);
    if (args) set_stage_key(doc, args, kind, segs, next, nsegs, value, origin, d);
}

/* Applies one --set argument to the tree. */
static void apply_set(YDoc *doc, const char *arg, Diag *d) {
    size_t olen = strlen(arg) + 8;
    char *origin = arena_alloc(doc->arena, olen);
    snprintf(origin, olen, "--set %s", arg);
    char *segs[SET_MAX_SEGMENTS];
    int nsegs = 0;
    const char *eq = set_split_path(doc, arg, origin, segs, &nsegs, d);
    if (!eq) return;
    YNode *value = set_parse_value(doc, eq + 1, origin, d);
    if (!value) return;

    YNode *root = doc->root;
    if (!root || root->kind != YNODE_MAP) {
        at_origin(d, origin, "cannot apply: the file is not a mapping of keys");
        return;
    }
    const KeySpec *tks = schema_find(schema_top(), segs[0]);
    if (tks && tks->type == KT_OPAQUE) {
        at_origin(d, origin, "'%s' cannot be changed with --set", segs[0]);
        return;
    }
    if (tks && tks->type != KT_PIPELINE) {
        if (nsegs > 1)
            at_origin(d, origin, "'%s' has no keys below it", segs[0]);
        else
            ydoc_map_set(doc, root, segs[0], value);
        return;
    }
    set_in_pipeline(doc, tks != NULL, segs, nsegs, value, origin, d);
}

/* ------------------------------------------------------------------------------------------
 * The pipeline
 * ---------------------------------------------------------------------------------------- */

typedef struct StageSrc {
    int index;            /* position in the pipeline list */
    const YNode *key;     /* the node naming the kind */
    const YNode *args;    /* the argument mapping (or NULL) */
    char path[64];        /* "pipeline[3].pretrain_layer" */
} StageSrc;

/* The node of key `key` in a stage's arguments, else the stage's kind node. */
static const YNode *key_node(const StageSrc *src, const char *key) {
    const YNode *n = ynode_get(src->args, key);
    return n ? n : src->key;
}

static void note_stage(Diag *d, const StageSrc *src, const char *what) {
    at_node(d, DIAG_NOTE, src->key, "%s: %s", src->path, what);
}

/* Schedules, early stopping and clipping act per epoch or per minibatch step: full-batch
 * L-BFGS, with its line search, takes none of them. */
static void check_lbfgs_controls(const StageCfg *s, const StageSrc *src, Diag *d) {
    static const char *const keys[] = {"schedule", "early_stopping", "clip_norm"};
    bool used[] = {s->train.schedule.kind != SCHED_NONE || s->train.schedule.warmup > 0,
                   s->train.early.metric != ES_NONE, s->train.clip_norm > 0};
    for (int i = 0; i < 3; i++)
        if (used[i])
            at_node(d, DIAG_ERROR, key_node(src, keys[i]),
                    "%s.%s: not with lbfgs (full-batch line search); it is for sgd and adam",
                    src->path, keys[i]);
}

/* early_stopping's metric against what the pipeline measures: val_* need a validation set,
 * val_accuracy a classifier. */
static void check_early_metric(const Config *c, const StageSrc *src, Diag *d) {
    bool val = c->nstages > 0 && c->stages[0].kind == STAGE_LOAD_DATASET &&
               c->stages[0].data.validation > 0;
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        EarlyStopMetric m = s->train.early.metric;
        const YNode *es = ynode_get(src[k].args, "early_stopping");
        const YNode *at = ynode_get(es, "metric");
        if (!at) at = key_node(&src[k], "early_stopping");
        if ((m == ES_VAL_LOSS || m == ES_VAL_ACCURACY) && !val)
            at_node(d, DIAG_ERROR, at, "%s.early_stopping.metric: %s needs a validation set "
                    "(load_dataset's validation: N or a fraction)", src[k].path,
                    m == ES_VAL_LOSS ? "val_loss" : "val_accuracy");
        else if (m == ES_VAL_ACCURACY && s->kind != STAGE_ATTACH_CLASSIFIER)
            at_node(d, DIAG_ERROR, at, "%s.early_stopping.metric: val_accuracy is for "
                    "classifiers; an autoencoder stage has val_loss", src[k].path);
    }
}

/* Checks within one stage that the schema cannot express (relations between keys). */
static void check_stage_keys(StageCfg *s, const StageSrc *src, Diag *d) {
    bool trains = s->kind == STAGE_PRETRAIN_LAYER || s->kind == STAGE_APPEND_LAYER ||
                  s->kind == STAGE_ATTACH_CLASSIFIER;
    if (trains) {
        const YNode *opt = ynode_get(src->args, "optimizer");
        if (s->train.opt.kind == OPT_LBFGS) {
            s->train.opt.max_iter = s->train.epochs;
            if (s->train.batch_size != 0)
                at_node(d, DIAG_WARNING, key_node(src, "batch_size"),
                        "%s.batch_size: ignored: lbfgs trains on the full batch", src->path);
        }
        if (s->train.opt.kind == OPT_LBFGS) check_lbfgs_controls(s, src, d);
        if (s->kind == STAGE_ATTACH_CLASSIFIER && s->finetune_epochs > 0 && !s->freeze_encoder)
            at_node(d, DIAG_ERROR, key_node(src, "finetune_epochs"),
                    "%s.finetune_epochs: needs freeze_encoder: true (a first phase that trains "
                    "the head alone)",
                    src->path);
        if (s->train.opt.kind == OPT_SGD && s->train.opt.nesterov && s->train.opt.momentum == 0)
            at_node(d, DIAG_ERROR, ynode_get(opt, "nesterov") ? ynode_get(opt, "nesterov") : opt,
                    "%s.optimizer.nesterov: needs momentum > 0", src->path);
    }
    if (s->kind == STAGE_LOAD_DATASET && s->data.validation >= 1 &&
        s->data.validation != floor(s->data.validation))
        at_node(d, DIAG_ERROR, key_node(src, "validation"),
                "%s.validation: expected a whole number of examples (>= 1) or a fraction in "
                "(0, 1), got %g", src->path, s->data.validation);
    if (s->kind == STAGE_LOAD_DATASET && strcmp(s->data.name, "idx") == 0 &&
        (s->data.test_images[0] != 0) != (s->data.test_labels[0] != 0)) {
        const char *have = s->data.test_images[0] ? "test_images" : "test_labels";
        const char *need = s->data.test_images[0] ? "test_labels" : "test_images";
        at_node(d, DIAG_ERROR, key_node(src, have), "%s: %s needs %s as well", src->path, have,
                need);
    }
    if (s->kind == STAGE_ADD_NOISE) {
        bool bounded = (s->noise.kind == NOISE_GAUSSIAN && s->noise.clamp) ||
                       s->noise.kind == NOISE_SALT_PEPPER;
        if (bounded && !(s->noise.lo < s->noise.hi))
            at_node(d, DIAG_ERROR, key_node(src, "max"), "%s: min (%g) must be below max (%g)",
                    src->path, (double)s->noise.lo, (double)s->noise.hi);
    }
}

static bool is_recon_loss(LossKind l) {
    return l == LOSS_MSE || l == LOSS_HALF_SSE || l == LOSS_BCE;
}

static const char *act_name(Act a) {
    switch (a) {
    case ACT_IDENTITY: return "identity";
    case ACT_TANH: return "tanh";
    case ACT_SIGMOID: return "sigmoid";
    case ACT_RELU: return "relu";
    default: return "logsoftmax";
    }
}

static const char *loss_name(LossKind l) {
    static const char *const names[LOSS_COUNT] = {"mse", "half_sse", "nll", "cross_entropy",
                                                  "bce"};
    return l >= 0 && l < LOSS_COUNT ? names[l] : "?";
}

/* A pending add_sparsity or add_noise: the stage that set it (-1: none) and whether a layer
 * has trained with it since. */
typedef struct Pending {
    int at;
    bool used;
} Pending;

/* Ends a pending setting: warns that it had no effect when no layer trained with it, replaced
 * by the stage at pipeline index replaced_by (or, when -1, by nothing: the phase ended). */
static void pending_end(Diag *d, const StageSrc *src, Pending *p, int replaced_by) {
    if (p->at >= 0 && !p->used) {
        if (replaced_by >= 0)
            at_node(d, DIAG_WARNING, src[p->at].key,
                    "%s: has no effect: replaced by pipeline[%d] before any layer trained "
                    "with it",
                    src[p->at].path, replaced_by);
        else
            at_node(d, DIAG_WARNING, src[p->at].key,
                    "%s: has no effect: no pretrain_layer or append_layer follows it",
                    src[p->at].path);
    }
    p->at = -1;
    p->used = false;
}

/* The model state while the stage-order rules walk the pipeline. */
typedef struct OrderWalk {
    const Config *c;
    const StageSrc *src;
    Diag *d;
    int nenc;                                    /* encoder layers so far */
    int load_at, strip_at, head_at, first_layer_at; /* stage indices, -1: none yet */
    Pending sparsity, noise;
} OrderWalk;

static void order_load_dataset(OrderWalk *w, int k) {
    if (k == 0) {
        w->load_at = k;
        return;
    }
    at_node(w->d, DIAG_ERROR, w->src[k].key, "%s: load_dataset comes once, as the first stage",
            w->src[k].path);
    if (w->load_at >= 0) note_stage(w->d, &w->src[w->load_at], "the data set is loaded here");
}

/* A reconstruction loss, and bce only on a sigmoid reconstruction. */
static void order_layer_loss(OrderWalk *w, int k) {
    const StageCfg *s = &w->c->stages[k];
    const StageSrc *at = &w->src[k];
    const YNode *loss = key_node(at, "loss");
    if (!is_recon_loss(s->train.loss)) {
        at_node(w->d, DIAG_ERROR, loss,
                "%s.loss: %s compares class scores with labels, but %s reconstructs its "
                "input: use mse, half_sse or bce",
                at->path, loss_name(s->train.loss), stage_kind_names[s->kind]);
        return;
    }
    if (s->train.loss != LOSS_BCE) return;
    const StageCfg *out = &w->c->stages[w->first_layer_at];
    const StageSrc *out_src = &w->src[w->first_layer_at];
    if (s->kind == STAGE_PRETRAIN_LAYER && s->decoder_activation != ACT_SIGMOID) {
        at_node(w->d, DIAG_ERROR, loss,
                "%s.loss: bce needs a reconstruction in (0, 1): set "
                "decoder_activation to sigmoid (it is %s)",
                at->path, act_name(s->decoder_activation));
    } else if (s->kind == STAGE_APPEND_LAYER && out->decoder_activation != ACT_SIGMOID) {
        at_node(w->d, DIAG_ERROR, loss,
                "%s.loss: bce needs a reconstruction in (0, 1), but the output "
                "layer (the decoder of pipeline[%d]) is %s",
                at->path, out_src->index, act_name(out->decoder_activation));
        at_node(w->d, DIAG_NOTE, key_node(out_src, "decoder_activation"),
                "%s: the output layer is made here", out_src->path);
    }
}

/* pretrain_layer or append_layer that may train: the stack, the pending settings, the loss. */
static void order_layer(OrderWalk *w, int k) {
    const StageCfg *s = &w->c->stages[k];
    const StageSrc *at = &w->src[k];
    if (++w->nenc > AE_MAX_LAYERS)
        at_node(w->d, DIAG_ERROR, at->key, "%s: too many encoder layers (at most %d)", at->path,
                AE_MAX_LAYERS);
    if (w->first_layer_at < 0) w->first_layer_at = k;
    w->sparsity.used |= w->sparsity.at >= 0;
    w->noise.used |= w->noise.at >= 0;
    order_layer_loss(w, k);
    if (w->sparsity.at >= 0 && w->c->stages[w->sparsity.at].sparsity.kind == PEN_KL &&
        s->activation != ACT_SIGMOID) {
        at_node(w->d, DIAG_WARNING, key_node(at, "activation"),
                "%s.activation: KL sparsity (pipeline[%d]) expects a code in (0, 1), "
                "as sigmoid gives; with %s the mean activation can leave (0, 1)",
                at->path, w->src[w->sparsity.at].index, act_name(s->activation));
    }
}

/* pretrain_layer, append_layer, add_sparsity, add_noise: the autoencoder phase's stages. */
static void order_autoencoder_stage(OrderWalk *w, int k) {
    const StageCfg *s = &w->c->stages[k];
    const StageSrc *at = &w->src[k];
    const char *kname = stage_kind_names[s->kind];
    if (w->strip_at >= 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: the autoencoder phase ended at strip_decoder (pipeline[%d]); %s "
                "needs the decoder",
                at->path, w->src[w->strip_at].index, kname);
        note_stage(w->d, &w->src[w->strip_at], "the decoder is dropped here");
        return;
    }
    if (w->head_at >= 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: a classifier is already attached (pipeline[%d]); %s belongs to "
                "the autoencoder phase, before it",
                at->path, w->src[w->head_at].index, kname);
        note_stage(w->d, &w->src[w->head_at], "the classifier is attached here");
        return;
    }
    if (s->kind == STAGE_APPEND_LAYER && w->nenc == 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: append_layer needs an encoder layer below it; start the stack "
                "with pretrain_layer",
                at->path);
        return;
    }
    if (s->kind == STAGE_ADD_SPARSITY || s->kind == STAGE_ADD_NOISE) {
        Pending *p = s->kind == STAGE_ADD_SPARSITY ? &w->sparsity : &w->noise;
        pending_end(w->d, w->src, p, at->index);
        p->at = k;
        return;
    }
    order_layer(w, k);
}

/* Returns whether the autoencoder phase ends here. */
static bool order_strip_decoder(OrderWalk *w, int k) {
    const StageSrc *at = &w->src[k];
    if (w->strip_at >= 0) {
        at_node(w->d, DIAG_ERROR, at->key, "%s: the decoder was already stripped", at->path);
        note_stage(w->d, &w->src[w->strip_at], "stripped here first");
        return false;
    }
    if (w->nenc == 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: there is no decoder to strip: no pretrain_layer before it", at->path);
        return false;
    }
    w->strip_at = k;
    return true;
}

/* Returns whether the autoencoder phase ends here. */
static bool order_attach_classifier(OrderWalk *w, int k) {
    const StageCfg *s = &w->c->stages[k];
    const StageSrc *at = &w->src[k];
    if (w->head_at >= 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: a classifier is already attached; attach_classifier comes once", at->path);
        note_stage(w->d, &w->src[w->head_at], "the classifier is attached here");
        return false;
    }
    if (w->nenc > 0 && w->strip_at < 0) {
        at_node(w->d, DIAG_ERROR, at->key,
                "%s: the decoder is still attached; put strip_decoder before "
                "attach_classifier",
                at->path);
        return false;
    }
    w->head_at = k;
    if (is_recon_loss(s->train.loss))
        at_node(w->d, DIAG_ERROR, key_node(at, "loss"),
                "%s.loss: %s is a reconstruction loss; a classifier uses nll "
                "(log-softmax output) or cross_entropy (raw scores)",
                at->path, loss_name(s->train.loss));
    if (s->freeze_encoder && w->nenc == 0)
        at_node(w->d, DIAG_WARNING, key_node(at, "freeze_encoder"),
                "%s.freeze_encoder: has no effect: there is no encoder", at->path);
    return true;
}

/* The stage-order rules (see the top of this file), by walking the model state. */
static void check_order(const Config *c, const StageSrc *src, Diag *d) {
    OrderWalk w = {.c = c, .src = src, .d = d, .load_at = -1, .strip_at = -1, .head_at = -1,
                   .first_layer_at = -1, .sparsity = {-1, false}, .noise = {-1, false}};
    for (int k = 0; k < c->nstages; k++) {
        const StageCfg *s = &c->stages[k];
        const StageSrc *at = &src[k];
        bool phase_ends = false;
        if (k == 0 && s->kind != STAGE_LOAD_DATASET)
            at_node(d, DIAG_ERROR, at->key,
                    "%s: the first stage must be load_dataset (the data every later stage "
                    "trains on)",
                    at->path);
        switch (s->kind) {
        case STAGE_LOAD_DATASET: order_load_dataset(&w, k); break;
        case STAGE_PRETRAIN_LAYER:
        case STAGE_APPEND_LAYER:
        case STAGE_ADD_SPARSITY:
        case STAGE_ADD_NOISE: order_autoencoder_stage(&w, k); break;
        case STAGE_STRIP_DECODER: phase_ends = order_strip_decoder(&w, k); break;
        case STAGE_ATTACH_CLASSIFIER: phase_ends = order_attach_classifier(&w, k); break;
        case STAGE_EVALUATE:
            if (w.head_at < 0 && !(w.nenc > 0 && w.strip_at < 0))
                at_node(d, DIAG_ERROR, at->key,
                        "%s: nothing to evaluate: no classifier head and no decoder yet",
                        at->path);
            break;
        default: break;
        }
        if (phase_ends) { /* sparsity and noise end with the autoencoder phase */
            pending_end(d, src, &w.sparsity, -1);
            pending_end(d, src, &w.noise, -1);
        }
    }
    pending_end(d, src, &w.sparsity, -1);
    pending_end(d, src, &w.noise, -1);
}

/* Labels: `name:` or kind[_K]; unique. */
static void assign_labels(Config *c, const StageSrc *src, Diag *d) {
    int occ[STAGE_COUNT] = {0};
    for (int k = 0; k < c->nstages; k++) {
        StageCfg *s = &c->stages[k];
        char given[CFG_NAME_MAX], automatic[CFG_NAME_MAX];
        snprintf(given, sizeof given, "%s", s->label);
        stage_label(s->label, sizeof s->label, s->kind, given, ++occ[s->kind]);
        stage_label(automatic, sizeof automatic, s->kind, NULL, occ[s->kind]);
        /* --set reads KIND.key and TOPKEY before labels: a label must not hide behind them */
        if (given[0] && strcmp(given, automatic) != 0 &&
            (schema_stage_kind(given) >= 0 || schema_find(schema_top(), given))) {
            at_node(d, DIAG_ERROR, key_node(&src[k], "name"),
                    "%s: the stage name '%s' is taken by a %s; choose another", src[k].path,
                    given, schema_stage_kind(given) >= 0 ? "stage kind" : "top-level key");
            snprintf(s->label, sizeof s->label, "%s", automatic);
            continue;
        }
        for (int j = 0; j < k; j++) {
            if (strcmp(c->stages[j].label, s->label) != 0) continue;
            at_node(d, DIAG_ERROR, key_node(&src[k], "name"),
                    "%s: the stage name '%s' is already used by pipeline[%d]", src[k].path,
                    s->label, src[j].index);
            note_stage(d, &src[j], "the first stage with that name");
            break;
        }
    }
}

/* A pipeline item that is not shaped like a stage (one key, its kind). */
static void report_bad_item(const YNode *item, const char *ipath, Diag *d) {
    if (item->kind != YNODE_MAP || item->npairs < 2) {
        char got[32];
        snprintf(got, sizeof got, "%s",
                 item->kind == YNODE_SEQ   ? "a list"
                 : item->kind == YNODE_MAP ? "an empty mapping"
                                           : "nothing");
        at_node(d, DIAG_ERROR, item,
                "%s: expected a stage such as '- evaluate: {split: test}', got %s", ipath, got);
        return;
    }
    char keys[256] = "";
    int shown = 0;
    for (int j = 0; j < item->npairs && shown < 4; j++) {
        if (item->pairs[j].dup || item->pairs[j].key->kind != YNODE_SCALAR) continue;
        size_t l = strlen(keys);
        snprintf(keys + l, sizeof keys - l, "%s'%s'", shown ? ", " : "", item->pairs[j].key->str);
        shown++;
    }
    const YNode *k0 = item->pairs[0].key;
    bool hint = k0->kind == YNODE_SCALAR && schema_stage_kind(k0->str) >= 0 &&
                ynode_is_null(item->pairs[0].value);
    if (hint)
        at_node(d, DIAG_ERROR, item,
                "%s: a stage has one key, its kind, but this one has %s; indent the "
                "stage's keys under '%s:'",
                ipath, keys, k0->str);
    else
        at_node(d, DIAG_ERROR, item,
                "%s: a stage has one key, its kind (like '- evaluate: {split: "
                "test}'), but this one has %s",
                ipath, keys);
}

static void report_unknown_stage(const YNode *kn, const char *ipath, Diag *d) {
    const char *near = diag_nearest(kn->str, (const char *const *)stage_kind_names, STAGE_COUNT);
    if (near) {
        at_node(d, DIAG_ERROR, kn, "%s: unknown stage '%s'; did you mean '%s'?", ipath, kn->str,
                near);
        return;
    }
    char list[256] = "";
    for (int k = 0; k < STAGE_COUNT; k++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", k ? ", " : "", stage_kind_names[k]);
    }
    at_node(d, DIAG_ERROR, kn, "%s: unknown stage '%s' (stages: %s)", ipath, kn->str, list);
}

/* Pipeline item i into the next StageCfg of c (and its StageSrc), validated against its kind's
 * schema; an item that is not a stage is reported and skipped. */
static void build_stage(Config *c, StageSrc *src, const YNode *item, int i, Diag *d) {
    const YNode *kn;
    YNode *args;
    char ipath[32];
    snprintf(ipath, sizeof ipath, "pipeline[%d]", i);
    if (!item_parts(item, &kn, &args)) {
        report_bad_item(item, ipath, d);
        return;
    }
    int kind = schema_stage_kind(kn->str);
    if (kind < 0) {
        report_unknown_stage(kn, ipath, d);
        return;
    }
    StageCfg *s = &c->stages[c->nstages];
    StageSrc *ss = &src[c->nstages];
    c->nstages++;
    s->kind = (StageKind)kind;
    if (!kn->origin) s->pos = (SrcPos){kn->line, kn->col};
    ss->index = i;
    ss->key = kn;
    ss->args = args && args->kind == YNODE_MAP ? args : NULL;
    snprintf(ss->path, sizeof ss->path, "%s.%s", ipath, stage_kind_names[kind]);
    const YNode *where = args && args->kind == YNODE_MAP ? args : kn;
    int errs = schema_apply(schema_stage(kind), args, where, ss->path, s, d);
    if (errs == 0) check_stage_keys(s, ss, d);
}

static void build_pipeline(Config *c, const YNode *pipeline, Diag *d) {
    if (ynode_is_null(pipeline) || pipeline->kind != YNODE_SEQ || pipeline->nitems == 0) {
        const char *got = ynode_is_null(pipeline)       ? "nothing"
                          : pipeline->kind == YNODE_MAP ? "a mapping"
                          : pipeline->kind == YNODE_SEQ ? "an empty list"
                                                        : "a single value";
        at_node(d, DIAG_ERROR, pipeline,
                "pipeline: expected a list of stages starting with '- load_dataset: {name: "
                "mnist}', got %s",
                got);
        return;
    }
    int n = pipeline->nitems;
    c->stages = ae_xcalloc((size_t)n, sizeof *c->stages);
    StageSrc *src = ae_xcalloc((size_t)n, sizeof *src);
    for (int i = 0; i < n; i++) build_stage(c, src, pipeline->items[i], i, d);
    if (c->nstages > 0) {
        assign_labels(c, src, d);
        check_order(c, src, d);
        check_early_metric(c, src, d);
    }
    free(src);
}

/* The directories aelab keeps under results/ for itself (tests/regress.sh's baselines and its
 * runs, the stage cache): a run of one of these names would write into them. */
static const char *const RESERVED_RUN_NAMES[] = {"baselines", "regress", "regress-short",
                                                 ".cache"};

static void check_reserved_name(const Config *c, const YNode *root, Diag *d) {
    for (size_t i = 0; i < sizeof RESERVED_RUN_NAMES / sizeof *RESERVED_RUN_NAMES; i++) {
        /* case-insensitive: on such a file system "Baselines" is the same directory */
        if (strcasecmp(c->name, RESERVED_RUN_NAMES[i]) != 0) continue;
        at_node(d, DIAG_ERROR, ynode_get(root, "name"),
                "name: '%s' is reserved: aelab keeps results/%s/ for its own files; choose "
                "another name",
                c->name, RESERVED_RUN_NAMES[i]);
    }
}

/* ------------------------------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------------------------- */

static Config *load(const char *name, const char *text, size_t len, const char *const *sets,
                    int nsets, Diag *d) {
    Config *c = ae_xcalloc(1, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", name);
    YDoc *doc = ydoc_parse(text, len, NULL, d);
    if (!doc) return c;
    for (int i = 0; i < nsets; i++) apply_set(doc, sets[i], d);
    datapath_resolve(doc, name); /* relative data paths: from the config's directory */
    const YNode *root = doc->root;
    if (!root || ynode_is_null(root)) {
        diag_emit(d, DIAG_ERROR, NULL, root ? root->line : 1, root ? root->col : 1,
                  "the file holds no settings; a config needs at least 'name' and 'pipeline'");
    } else if (root->kind != YNODE_MAP) {
        at_node(d, DIAG_ERROR, root,
                "a config is a mapping of keys (name:, pipeline:, ...), not a %s",
                root->kind == YNODE_SEQ ? "list" : "single value");
    } else {
        schema_apply(schema_top(), root, root, "", c, d);
        check_reserved_name(c, root, d);
        const YNode *pipeline = ynode_get(root, "pipeline");
        if (pipeline) build_pipeline(c, pipeline, d);
        const YPair *sweep = ynode_get_pair(root, "sweep");
        if (sweep && !ynode_is_null(sweep->value) && strcmp(name, CONFIG_STDIN_NAME) == 0)
            at_node(d, DIAG_ERROR, sweep->key,
                    "sweep: a sweep needs the config in a file (every point reads it again), "
                    "not standard input");
        if (d->nerrors == 0) plan_validate(c, root, machine_limits(), d); /* memory, threads */
    }
    ydoc_free(doc);
    return c;
}

static Config *finish(Config *c, Diag *d, int *nerrors) {
    diag_flush(d);
    if (nerrors) *nerrors = d->nerrors;
    if (d->nerrors) {
        config_free(c);
        c = NULL;
    }
    diag_free(d);
    return c;
}

Config *config_load_string(const char *name_for_messages, const char *yaml_text,
                           const char *const *sets, int nsets, FILE *diag_out, int *nerrors) {
    Diag d;
    diag_init(&d, diag_out, name_for_messages);
    Config *c = load(name_for_messages, yaml_text, strlen(yaml_text), sets, nsets, &d);
    return finish(c, &d, nerrors);
}

/* The text of path ("-": standard input) into a new buffer of *len bytes, or NULL after
 * reporting why not. */
static char *read_config(const char *path, size_t *len, Diag *d) {
    bool from_stdin = strcmp(path, "-") == 0;
    char why[256];
    int fd = from_stdin ? -1 : fs_open_regular(path, NULL, why, sizeof why);
    FILE *f = from_stdin ? stdin : fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0) {
            snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
            close(fd);
        }
        diag_emit(d, DIAG_ERROR, NULL, 0, 0, "%s", why);
        return NULL;
    }
    char *text = ae_xmalloc(CONFIG_MAX_BYTES + 1);
    *len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    bool bad = ferror(f);
    int saved = errno;
    if (!from_stdin) fclose(f);
    if (bad || *len > CONFIG_MAX_BYTES) {
        if (bad)
            diag_emit(d, DIAG_ERROR, NULL, 0, 0, "cannot read: %s", strerror(saved));
        else
            diag_emit(d, DIAG_ERROR, NULL, 0, 0, "larger than %u bytes: not a config",
                      CONFIG_MAX_BYTES);
        free(text);
        return NULL;
    }
    return text;
}

Config *config_load(const char *path, const char *const *sets, int nsets, int *nerrors) {
    const char *name = strcmp(path, "-") == 0 ? CONFIG_STDIN_NAME : path;
    Diag d;
    diag_init(&d, stderr, name);
    size_t len = 0;
    char *text = read_config(path, &len, &d);
    if (!text) return finish(NULL, &d, nerrors);
    Config *c = load(name, text, len, sets, nsets, &d);
    free(text);
    return finish(c, &d, nerrors);
}

void config_free(Config *c) {
    if (!c) return;
    free(c->stages);
    free(c);
}

const StageCfg *config_find_stage(const Config *c, const char *label) {
    for (int i = 0; i < c->nstages; i++)
        if (strcmp(c->stages[i].label, label) == 0) return &c->stages[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------
 * The resolved config
 * ---------------------------------------------------------------------------------------- */

typedef struct Emitter {
    yaml_emitter_t em;
    bool ok;
} Emitter;

static void emit(Emitter *e, yaml_event_t *ev) {
    if (e->ok && !yaml_emitter_emit(&e->em, ev)) e->ok = false;
}

static bool looks_null(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static void emit_scalar(Emitter *e, const char *s, bool is_string) {
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    if (is_string) style = looks_null(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style);
    emit(e, &ev);
}

static void emit_start(Emitter *e, bool map, bool flow) {
    yaml_event_t ev;
    if (map)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                            flow ? YAML_FLOW_MAPPING_STYLE
                                                 : YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             flow ? YAML_FLOW_SEQUENCE_STYLE
                                                  : YAML_BLOCK_SEQUENCE_STYLE);
    emit(e, &ev);
}

static void emit_end(Emitter *e, bool map) {
    yaml_event_t ev;
    if (map)
        yaml_mapping_end_event_initialize(&ev);
    else
        yaml_sequence_end_event_initialize(&ev);
    emit(e, &ev);
}

/* The keys of spec that apply, from the struct at base. */
static void emit_spec(Emitter *e, const MapSpec *spec, const void *base, bool flow) {
    emit_start(e, true, flow);
    char buf[CFG_PATH_MAX + 32];
    for (int i = 0; i < spec->nkeys; i++) {
        const KeySpec *ks = &spec->keys[i];
        if (ks->type == KT_PIPELINE || ks->type == KT_OPAQUE) continue;
        if (!schema_applies(spec, ks, base)) continue;
        emit_scalar(e, ks->key, false);
        if (ks->type == KT_MAP) {
            emit_spec(e, ks->sub, (const char *)base + ks->offset, true);
        } else if (ks->type == KT_INT_LIST) {
            int count;
            memcpy(&count, (const char *)base + ks->count_offset, sizeof count);
            emit_start(e, false, true);
            for (int j = 0; j < count; j++) {
                int v;
                memcpy(&v, (const char *)base + ks->offset + (size_t)j * sizeof v, sizeof v);
                snprintf(buf, sizeof buf, "%d", v);
                emit_scalar(e, buf, false);
            }
            emit_end(e, false);
        } else {
            schema_format(ks, base, buf, sizeof buf);
            emit_scalar(e, buf, ks->type == KT_STRING);
        }
    }
    emit_end(e, true);
}

static int write_handler(void *data, unsigned char *buffer, size_t size) {
    return fwrite(buffer, 1, size, (FILE *)data) == size;
}

/* The resolved YAML of c into f; where names the destination in errors. */
static bool write_resolved(const Config *c, FILE *f, const char *where,
                           const char *const *provenance_kv, int nkv, AeError *err) {
    Emitter e = {.ok = true};
    bool emitter_ready = false;
    fprintf(f, "# %s resolved by aelab %s: every default filled in.\n"
               "# `aelab run` on this file repeats the run.\n",
            c->path, AE_VERSION);
    if (!yaml_emitter_initialize(&e.em)) {
        ae_fail(err, "%s: error: cannot initialise the YAML emitter", where);
        goto fail;
    }
    emitter_ready = true;
    yaml_emitter_set_output(&e.em, write_handler, f);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, 100);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    emit(&e, &ev);

    const MapSpec *top = schema_top();
    emit_start(&e, true, false);
    for (int i = 0; i < top->nkeys; i++) {
        const KeySpec *ks = &top->keys[i];
        if (ks->type == KT_OPAQUE) continue;
        emit_scalar(&e, ks->key, false);
        if (ks->type != KT_PIPELINE) {
            char val[600];
            schema_format(ks, c, val, sizeof val);
            emit_scalar(&e, val, ks->type == KT_STRING);
            continue;
        }
        emit_start(&e, false, false);
        for (int k = 0; k < c->nstages; k++) {
            const StageCfg *s = &c->stages[k];
            const MapSpec *spec = schema_stage(s->kind);
            emit_start(&e, true, false);
            emit_scalar(&e, stage_kind_names[s->kind], false);
            emit_spec(&e, spec, s, spec->nkeys == 0);
            emit_end(&e, true);
        }
        emit_end(&e, false);
    }
    if (nkv > 0) {
        emit_scalar(&e, "provenance", false);
        emit_start(&e, true, false);
        for (int i = 0; i < nkv; i++) {
            emit_scalar(&e, provenance_kv[2 * i], true);
            emit_scalar(&e, provenance_kv[2 * i + 1] ? provenance_kv[2 * i + 1] : "", true);
        }
        emit_end(&e, true);
    }
    emit_end(&e, true);
    yaml_document_end_event_initialize(&ev, 1);
    emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    emit(&e, &ev);
    if (!e.ok || !yaml_emitter_flush(&e.em)) {
        ae_fail(err, "%s: error: cannot write the YAML: %s", where,
                e.em.problem ? e.em.problem : strerror(errno));
        goto fail;
    }
    yaml_emitter_delete(&e.em);
    return true;
fail:
    if (emitter_ready) yaml_emitter_delete(&e.em);
    return false;
}

bool config_write_resolved(const Config *c, const char *path, const char *const *provenance_kv,
                           int nkv, AeError *err) {
    AtomicFile *af = af_open(path, err); /* temp file + rename, runner/fsutil.h */
    if (!af) return false;
    if (!write_resolved(c, af_file(af), path, provenance_kv, nkv, err)) {
        af_abort(af);
        return false;
    }
    return af_commit(af, err);
}

char *config_resolved_text(const Config *c, size_t *n, AeError *err) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        ae_fail(err, "error: cannot open a memory stream: %s", strerror(errno));
        return NULL;
    }
    bool ok = write_resolved(c, f, "(memory)", NULL, 0, err);
    if (fclose(f) != 0 && ok) ok = ae_fail(err, "error: cannot write the YAML to memory");
    if (!ok) {
        free(text);
        return NULL;
    }
    *n = len;
    return text;
}
