/* runner/config.h — a validated experiment config: what a YAML file says, every default filled.
 *
 * Produced by config_load (runner/config.c) from YAML through the schema (runner/schema.c);
 * consumed by the pipeline (runner/pipeline.c) and the plan printer. Every value keeps the
 * position it came from (SrcPos), so errors found later still point at the source.
 * The key names, types, defaults and bounds live in one table in runner/schema.c, and the README's
 * "Config reference" mirrors it (tag-schema-readme).
 */
#ifndef AE_CONFIG_H
#define AE_CONFIG_H

#include <stdio.h>

#include "backend.h"
#include "model.h"
#include "train.h"

#define CFG_NAME_MAX 128
#define CFG_PATH_MAX 1024

typedef struct SrcPos {
    int line, col; /* 1-based; 0 when the value was a default or came from --set */
} SrcPos;

typedef enum {
    STAGE_LOAD_DATASET = 0,
    STAGE_PRETRAIN_LAYER,
    STAGE_APPEND_LAYER,
    STAGE_ADD_SPARSITY,
    STAGE_ADD_NOISE,
    STAGE_STRIP_DECODER,
    STAGE_ATTACH_CLASSIFIER,
    STAGE_EVALUATE,
    STAGE_COUNT
} StageKind;

/* The YAML names of the stages, indexed by StageKind. */
extern const char *const stage_kind_names[STAGE_COUNT];

typedef struct DatasetCfg {
    char name[CFG_NAME_MAX];        /* mnist | fashion-mnist | idx | csv */
    char train_images[CFG_PATH_MAX], train_labels[CFG_PATH_MAX]; /* idx: required */
    char test_images[CFG_PATH_MAX], test_labels[CFG_PATH_MAX];   /* idx: optional */
    char train_csv[CFG_PATH_MAX], test_csv[CFG_PATH_MAX];        /* csv */
    int label_column;               /* csv: >= 0, CSV_LABEL_LAST, CSV_LABEL_AUTO (runner/data.h) */
    int pixels;                     /* csv: a CsvPixels (runner/data.h) */
    int subset;                     /* first N training examples; 0 = all */
    int test_subset;                /* first N test examples; 0 = all */
    int batch_size;                 /* default for training stages: 1000 */
    bool shuffle;                   /* reshuffle every epoch: true */
    double validation;              /* held out of the training set (after subset): N >= 1
                                       examples, or a fraction in (0, 1); 0 = none */
} DatasetCfg;

typedef struct TrainCfg {
    int epochs;                     /* required, >= 1 (lbfgs: iterations) */
    LossKind loss;
    OptimSpec opt;
    int batch_size;                 /* 0 = the data set's */
    int subset;                     /* 0 = all training examples */
    ScheduleSpec schedule;          /* kind none: the optimizer's lr every epoch */
    EarlyStopSpec early;            /* early_stopping; metric none = off */
    float clip_norm;                /* global gradient norm cap; 0 = off */
} TrainCfg;

enum { TEST_EVERY_AUTO = 0, TEST_EVERY_TRUE = 1, TEST_EVERY_FALSE = 2 };

typedef struct StageCfg {
    StageKind kind;
    char label[CFG_NAME_MAX];       /* `name:` or the kind, with _2, _3... for repeats */
    SrcPos pos;                     /* of the stage's key in the pipeline list */

    DatasetCfg data;                /* load_dataset */

    /* pretrain_layer, append_layer */
    int units;
    Act activation, decoder_activation;
    InitKind init;
    bool tied;                      /* the new decoder layer uses the new encoder's W^T */
    TrainCfg train;                 /* also attach_classifier */

    /* add_sparsity */
    SparsitySpec sparsity;
    float weight_decay;             /* add_sparsity: for the autoencoder phase;
                                       attach_classifier: for the classifier's training */

    /* strip_decoder */
    bool keep_sparsity;             /* the penalty stays on the code for the classifier */

    /* add_noise */
    NoiseSpec noise;

    /* attach_classifier */
    int classes;                    /* 0 = from the data set */
    int hidden[AE_MAX_LAYERS];      /* optional hidden layer sizes */
    int nhidden;
    Act hidden_activation;
    bool freeze_encoder;            /* false: fine-tune the encoder */
    int test_every_epoch;           /* TEST_EVERY_*: auto = yes without a validation set */
    int finetune_epochs;            /* with freeze_encoder: then train encoder + head together
                                       for this many epochs (lbfgs: iterations); 0 = none */

    /* evaluate */
    bool eval_on_test;              /* split: test (true) | train */
} StageCfg;

typedef struct Config {
    char path[CFG_PATH_MAX];        /* the YAML file */
    char name[CFG_NAME_MAX];        /* required: [A-Za-z0-9_.-]+, not starting with . or - */
    char description[512];
    uint64_t seed;                  /* 1 */
    char device[8];                 /* auto | cpu | gpu */
    int threads;                    /* 0 = all cores */
    char precision[8];              /* fp32 | bf16 (the GEMMs' inputs; engine/cpu_bf16.c) */
    StageCfg *stages;
    int nstages;
} Config;

/* ---- loading (runner/config.c) ----
 *
 * Errors are reported compiler-style (see runner/diag.h), all of them in one pass (at most 50
 * printed), e.g.
 *   exp.yaml:7:32: error: pipeline[1].pretrain_layer.optimizer.lr: expected a number > 0, got "0.98x"
 * Warnings (printed too) do not make a load fail.
 *
 * `sets` are --set arguments, "key.path=value", applied in order to the YAML tree before
 * validation; a path is one of
 *   seed | name | description | device | threads            (top-level keys)
 *   pipeline.N.KEY[.SUBKEY]                                  (N: 0-based stage index)
 *   KIND.KEY[.SUBKEY]      e.g. pretrain_layer.epochs        (the first stage of that kind)
 *   KIND#K.KEY[.SUBKEY]    e.g. pretrain_layer#2.optimizer.lr (the K-th, 1-based)
 *   LABEL.KEY[.SUBKEY]     a stage's label (its `name:`, or pretrain_layer_2 style)
 * A missing key is created. The value is read as YAML (`3`, `0.5`, `[256, 128]`, `"a b"`). A bad
 * path is an error naming the --set argument and the nearest valid name; errors in a --set value
 * are reported as `--set ARG: error: ...`.
 */

/* The name of standard input in messages and Config.path. */
#define CONFIG_STDIN_NAME "<stdin>"

/* Reads and validates the YAML file at path with the --set overrides; diagnostics go to stderr.
 * path "-" reads standard input to its end (at most 16 MiB, as a file), named
 * CONFIG_STDIN_NAME in messages (`<stdin>:3:5: error: ...`); a `sweep:` block there is an error,
 * since a sweep's points read their config again.
 * Returns a new Config (free with config_free) or NULL when there was any error; *nerrors (if
 * not NULL) receives the number of errors. */
Config *config_load(const char *path, const char *const *sets, int nsets, int *nerrors);

/* As config_load on the text yaml_text, for tests and fuzzers: messages name the file
 * `name_for_messages` and go to diag_out (NULL: discarded). Config.path = name_for_messages. */
Config *config_load_string(const char *name_for_messages, const char *yaml_text,
                           const char *const *sets, int nsets, FILE *diag_out, int *nerrors);

void config_free(Config *c); /* NULL-safe */

/* Writes c as YAML with every default filled in (loading it again gives an identical Config),
 * followed by a `provenance:` mapping of nkv pairs taken from provenance_kv as
 * {key0, value0, key1, value1, ...} (2*nkv strings; nkv may be 0). Atomic: written to a temp
 * file next to path, then renamed. On failure returns false with err filled
 * ("PATH: error: ...") and leaves no temp file. */
bool config_write_resolved(const Config *c, const char *path, const char *const *provenance_kv,
                           int nkv, AeError *err);

/* The same YAML, without provenance, as a malloc'ed NUL-terminated string of *n bytes; NULL
 * with err filled when it cannot be made. */
char *config_resolved_text(const Config *c, size_t *n, AeError *err);

/* The stage whose label is `label`, or NULL. Borrowed. */
const StageCfg *config_find_stage(const Config *c, const char *label);

#endif
