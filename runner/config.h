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
    int label_column;               /* csv: -1 = last */
    int subset;                     /* first N training examples; 0 = all */
    int test_subset;                /* first N test examples; 0 = all */
    int batch_size;                 /* default for training stages: 1000 */
    bool shuffle;                   /* reshuffle every epoch: true */
} DatasetCfg;

typedef struct TrainCfg {
    int epochs;                     /* required, >= 1 (lbfgs: iterations) */
    LossKind loss;
    OptimSpec opt;
    int batch_size;                 /* 0 = the data set's */
    int subset;                     /* 0 = all training examples */
} TrainCfg;

typedef struct StageCfg {
    StageKind kind;
    char label[CFG_NAME_MAX];       /* `name:` or the kind, with _2, _3... for repeats */
    SrcPos pos;                     /* of the stage's key in the pipeline list */

    DatasetCfg data;                /* load_dataset */

    /* pretrain_layer, append_layer */
    int units;
    Act activation, decoder_activation;
    InitKind init;
    TrainCfg train;                 /* also attach_classifier */

    /* add_sparsity */
    SparsitySpec sparsity;
    float weight_decay;

    /* add_noise */
    NoiseSpec noise;

    /* attach_classifier */
    int classes;                    /* 0 = from the data set */
    int hidden[AE_MAX_LAYERS];      /* optional hidden layer sizes */
    int nhidden;
    Act hidden_activation;
    bool freeze_encoder;            /* false: fine-tune the encoder */

    /* evaluate */
    bool eval_on_test;              /* split: test (true) | train */
} StageCfg;

typedef struct Config {
    char path[CFG_PATH_MAX];        /* the YAML file */
    char name[CFG_NAME_MAX];        /* required: [A-Za-z0-9_.-]+ */
    char description[512];
    uint64_t seed;                  /* 1 */
    char device[8];                 /* auto | cpu | gpu */
    int threads;                    /* 0 = all cores */
    StageCfg *stages;
    int nstages;
} Config;

#endif
