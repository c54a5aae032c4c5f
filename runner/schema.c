/* runner/schema.c — THE table of config keys (tag-schema-readme: the README's "Config
 * reference" mirrors it) and the validator it drives. See schema.h.
 *
 * A row says: key, type, C field, default (as YAML text), bounds, flags, the selector values it
 * applies to, and help. Defaults are parsed by the same code as user values, so a default
 * cannot disagree with the bounds (tests load every default).
 */
#include "schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "data.h"

_Static_assert(sizeof(Act) == sizeof(int), "CT_INT stores Act as an int");
_Static_assert(sizeof(LossKind) == sizeof(int), "CT_INT stores LossKind as an int");
_Static_assert(sizeof(InitKind) == sizeof(int), "CT_INT stores InitKind as an int");
_Static_assert(sizeof(OptKind) == sizeof(int), "CT_INT stores OptKind as an int");
_Static_assert(sizeof(PenaltyKind) == sizeof(int), "CT_INT stores PenaltyKind as an int");
_Static_assert(sizeof(NoiseKind) == sizeof(int), "CT_INT stores NoiseKind as an int");
_Static_assert(sizeof(ScheduleKind) == sizeof(int), "CT_INT stores ScheduleKind as an int");
_Static_assert(sizeof(EarlyStopMetric) == sizeof(int), "CT_INT stores EarlyStopMetric as an int");

/* ------------------------------------------------------------------------------------------
 * Enumerations (the YAML names of the engine's enums)
 * ---------------------------------------------------------------------------------------- */

static const EnumName act_names[] = {
    {"tanh", ACT_TANH}, {"sigmoid", ACT_SIGMOID}, {"relu", ACT_RELU},
    {"identity", ACT_IDENTITY}, {NULL, 0}};
static const EnumName loss_names[] = {
    {"mse", LOSS_MSE}, {"half_sse", LOSS_HALF_SSE}, {"nll", LOSS_NLL},
    {"cross_entropy", LOSS_CROSS_ENTROPY}, {"bce", LOSS_BCE}, {NULL, 0}};
static const EnumName init_names[] = {
    {"pytorch", INIT_PYTORCH}, {"ufldl", INIT_UFLDL}, {"xavier", INIT_XAVIER}, {NULL, 0}};
/* selector order: sgd = bit 0, adam = bit 1, lbfgs = bit 2 */
static const EnumName opt_names[] = {
    {"sgd", OPT_SGD}, {"adam", OPT_ADAM}, {"lbfgs", OPT_LBFGS}, {NULL, 0}};
/* selector order: l1 = bit 0, l1_normalised = bit 1, kl = bit 2 */
static const EnumName penalty_names[] = {
    {"l1", PEN_L1}, {"l1_normalised", PEN_L1_NORMALISED}, {"kl", PEN_KL}, {NULL, 0}};
/* selector order: gaussian = bit 0, masking = bit 1, salt_and_pepper = bit 2 */
static const EnumName noise_names[] = {
    {"gaussian", NOISE_GAUSSIAN}, {"masking", NOISE_MASKING},
    {"salt_and_pepper", NOISE_SALT_PEPPER}, {NULL, 0}};
/* selector order: mnist = bit 0, fashion-mnist = bit 1, idx = bit 2, csv = bit 3 */
static const EnumName dataset_names[] = {
    {"mnist", 0}, {"fashion-mnist", 1}, {"idx", 2}, {"csv", 3}, {NULL, 0}};
static const EnumName device_names[] = {{"auto", 0}, {"cpu", 1}, {"gpu", 2}, {NULL, 0}};
static const EnumName precision_names[] = {{"fp32", 0}, {"bf16", 1}, {NULL, 0}};
static const EnumName split_names[] = {{"test", 1}, {"train", 0}, {NULL, 0}};
/* names a KT_INT key also accepts (schema_format prints them for their values) */
static const EnumName label_column_names[] = {
    {"auto", CSV_LABEL_AUTO}, {"first", CSV_LABEL_FIRST}, {"last", CSV_LABEL_LAST}, {NULL, 0}};
static const EnumName pixels_names[] = {
    {"auto", CSV_PIXELS_AUTO}, {"byte", CSV_PIXELS_BYTE}, {"unit", CSV_PIXELS_UNIT}, {NULL, 0}};
/* selector order: none = bit 0, step = bit 1, multistep = bit 2, exponential = bit 3,
 * cosine = bit 4 */
static const EnumName schedule_names[] = {
    {"none", SCHED_NONE}, {"step", SCHED_STEP}, {"multistep", SCHED_MULTISTEP},
    {"exponential", SCHED_EXPONENTIAL}, {"cosine", SCHED_COSINE}, {NULL, 0}};
/* selector order: none = bit 0, val_loss = bit 1, val_accuracy = bit 2, train_loss = bit 3 */
static const EnumName early_names[] = {
    {"none", ES_NONE}, {"val_loss", ES_VAL_LOSS}, {"val_accuracy", ES_VAL_ACCURACY},
    {"train_loss", ES_TRAIN_LOSS}, {NULL, 0}};
static const EnumName test_every_names[] = {
    {"auto", TEST_EVERY_AUTO}, {"true", TEST_EVERY_TRUE}, {"false", TEST_EVERY_FALSE},
    {NULL, 0}};

#define SEL(i) (1u << (i))
#define OPT_SGD_BIT SEL(0)
#define OPT_ADAM_BIT SEL(1)
#define OPT_LBFGS_BIT SEL(2)
#define POS_RANGE (KF_MIN | KF_MIN_EXCL) /* > 0 */
#define NONNEG KF_MIN                    /* >= 0 (with .min = 0) */

/* ------------------------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------------------------- */

static const char *const lr_defaults[] = {NULL, "0.001", "1"}; /* sgd, adam, lbfgs */

static const KeySpec optimizer_keys[] = {
    {.key = "name", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(OptimSpec, kind),
     .names = opt_names, .flags = KF_REQUIRED,
     .help = "sgd, adam or lbfgs; lbfgs trains on the full batch, epochs = its iterations"},
    {.key = "lr", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(OptimSpec, lr),
     .sel_defs = lr_defaults, .flags = POS_RANGE, .min = 0, .required_for = OPT_SGD_BIT,
     .help = "the learning rate; sgd has no default, adam 0.001, lbfgs 1"},
    {.key = "momentum", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(OptimSpec, momentum), .def = "0",
     .flags = KF_MIN | KF_MAX | KF_MAX_EXCL, .min = 0, .max = 1, .only = OPT_SGD_BIT,
     .help = "sgd momentum (PyTorch semantics); 0 = plain sgd"},
    {.key = "nesterov", .type = KT_BOOL, .ctype = CT_BOOL,
     .offset = offsetof(OptimSpec, nesterov), .def = "false", .only = OPT_SGD_BIT,
     .help = "Nesterov momentum (needs momentum > 0)"},
    {.key = "beta1", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(OptimSpec, beta1),
     .def = "0.9", .flags = KF_MIN | KF_MAX | KF_MAX_EXCL, .min = 0, .max = 1,
     .only = OPT_ADAM_BIT, .help = "adam: decay of the first-moment average"},
    {.key = "beta2", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(OptimSpec, beta2),
     .def = "0.999", .flags = KF_MIN | KF_MAX | KF_MAX_EXCL, .min = 0, .max = 1,
     .only = OPT_ADAM_BIT, .help = "adam: decay of the second-moment average"},
    {.key = "eps", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(OptimSpec, eps),
     .def = "1e-8", .flags = POS_RANGE, .min = 0, .only = OPT_ADAM_BIT,
     .help = "adam: added to the denominator"},
    {.key = "history", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(OptimSpec, history),
     .def = "100", .flags = KF_MIN, .min = 1, .only = OPT_LBFGS_BIT,
     .help = "lbfgs: correction pairs kept"},
    {.key = "max_eval", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(OptimSpec, max_eval),
     .def = "0", .flags = NONNEG, .min = 0, .only = OPT_LBFGS_BIT,
     .help = "lbfgs: most function evaluations; 0 = 1.25 x iterations (PyTorch)"},
    {.key = "tol_grad", .type = KT_FLOAT, .ctype = CT_DOUBLE,
     .offset = offsetof(OptimSpec, tol_grad), .def = "1e-7", .flags = NONNEG, .min = 0,
     .only = OPT_LBFGS_BIT, .help = "lbfgs: stop when max |gradient| <= tol_grad"},
    {.key = "tol_change", .type = KT_FLOAT, .ctype = CT_DOUBLE,
     .offset = offsetof(OptimSpec, tol_change), .def = "1e-9", .flags = NONNEG, .min = 0,
     .only = OPT_LBFGS_BIT, .help = "lbfgs: stop when a step or the change of loss is smaller"},
};
static const MapSpec optimizer_spec = {"optimizer", optimizer_keys,
                                       (int)(sizeof optimizer_keys / sizeof *optimizer_keys),
                                       "name"};

#define SCHED_STEP_BIT SEL(1)
#define SCHED_MULTI_BIT SEL(2)
#define SCHED_EXP_BIT SEL(3)
#define SCHED_COS_BIT SEL(4)
static const KeySpec schedule_keys[] = {
    {.key = "kind", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(ScheduleSpec, kind),
     .names = schedule_names, .def = "none",
     .help = "none (the optimizer's lr; with warmup only the warmup), step, multistep, "
             "exponential or cosine; applied per epoch"},
    {.key = "step_size", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(ScheduleSpec, step_size), .def = "1", .flags = KF_MIN, .min = 1,
     .only = SCHED_STEP_BIT, .required_for = SCHED_STEP_BIT,
     .help = "step: epochs between decays by gamma"},
    {.key = "gamma", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(ScheduleSpec, gamma),
     .def = "0.1", .flags = POS_RANGE, .min = 0,
     .only = SCHED_STEP_BIT | SCHED_MULTI_BIT | SCHED_EXP_BIT,
     .help = "step, multistep, exponential: the factor of each decay"},
    {.key = "milestones", .type = KT_INT_LIST, .ctype = CT_INT,
     .offset = offsetof(ScheduleSpec, milestones), .size = SCHEDULE_MAX_MILESTONES,
     .count_offset = offsetof(ScheduleSpec, nmilestones), .flags = KF_MIN, .min = 1,
     .only = SCHED_MULTI_BIT, .required_for = SCHED_MULTI_BIT,
     .help = "multistep: epoch counts after the warmup at which the rate is multiplied by gamma"},
    {.key = "min_lr", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(ScheduleSpec, min_lr),
     .def = "0", .flags = NONNEG, .min = 0, .only = SCHED_COS_BIT,
     .help = "cosine: the rate the curve ends at"},
    {.key = "warmup", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(ScheduleSpec, warmup),
     .def = "0", .flags = NONNEG, .min = 0,
     .help = "epochs of linear warmup (epoch e <= warmup: lr * e / warmup) before the schedule"},
};
static const MapSpec schedule_spec = {"schedule", schedule_keys,
                                      (int)(sizeof schedule_keys / sizeof *schedule_keys), "kind"};

#define ES_ON_BITS (SEL(1) | SEL(2) | SEL(3))
static const KeySpec early_keys[] = {
    {.key = "metric", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(EarlyStopSpec, metric),
     .names = early_names, .def = "none",
     .help = "none (off), val_loss, val_accuracy (classifiers) or train_loss; val_* need "
             "load_dataset's validation"},
    {.key = "patience", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(EarlyStopSpec, patience), .def = "5", .flags = KF_MIN, .min = 1,
     .only = ES_ON_BITS, .help = "epochs in a row without improvement before the stage stops"},
    {.key = "min_delta", .type = KT_FLOAT, .ctype = CT_DOUBLE,
     .offset = offsetof(EarlyStopSpec, min_delta), .def = "0", .flags = NONNEG, .min = 0,
     .only = ES_ON_BITS, .help = "an improvement must exceed this to count"},
    {.key = "restore_best", .type = KT_BOOL, .ctype = CT_BOOL,
     .offset = offsetof(EarlyStopSpec, restore_best), .def = "false", .only = ES_ON_BITS,
     .help = "at the end of the stage, put back the parameters of the best epoch"},
};
static const MapSpec early_spec = {"early_stopping", early_keys,
                                   (int)(sizeof early_keys / sizeof *early_keys), "metric"};

static const KeySpec top_keys[] = {
    {.key = "name", .type = KT_STRING, .ctype = CT_CHARS, .offset = offsetof(Config, name),
     .size = CFG_NAME_MAX, .flags = KF_REQUIRED | KF_NAME,
     .help = "the experiment's name; runs go to results/<name>/"},
    {.key = "description", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(Config, description), .size = sizeof(((Config *)0)->description),
     .def = "", .help = "free text, copied to the outputs"},
    {.key = "seed", .type = KT_INT, .ctype = CT_U64, .offset = offsetof(Config, seed), .def = "1",
     .flags = NONNEG, .min = 0, .help = "seed of every random stream (init, shuffle, noise)"},
    {.key = "device", .type = KT_ENUM, .ctype = CT_CHARS, .offset = offsetof(Config, device),
     .size = sizeof(((Config *)0)->device), .names = device_names, .def = "auto",
     .help = "auto (the GPU when there is one), cpu or gpu"},
    {.key = "threads", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(Config, threads),
     .def = "0", .flags = NONNEG, .min = 0,
     .help = "CPU threads; 0 = all cores; more than 4 per online CPU is an error"},
    {.key = "precision", .type = KT_ENUM, .ctype = CT_CHARS, .offset = offsetof(Config, precision),
     .size = sizeof(((Config *)0)->precision), .names = precision_names, .def = "fp32",
     .help = "fp32, or bf16: GEMM inputs rounded to bfloat16, FP32 accumulation, FP32 weights "
             "and optimizer state (PyTorch's CPU autocast); CPU only, needs oneDNN"},
    {.key = "pipeline", .type = KT_PIPELINE, .flags = KF_REQUIRED,
     .help = "the list of stages, starting with load_dataset"},
    {.key = "sweep", .type = KT_OPAQUE, .help = "parameter sweep (runner/sweep.c)"},
    {.key = "provenance", .type = KT_OPAQUE,
     .help = "written by aelab into resolved configs; ignored when read"},
};
static const MapSpec top_spec = {"top level", top_keys,
                                 (int)(sizeof top_keys / sizeof *top_keys), NULL};

#define DATA_IDX SEL(2)
#define DATA_CSV SEL(3)
static const KeySpec load_dataset_keys[] = {
    {.key = "name", .type = KT_ENUM, .ctype = CT_CHARS, .offset = offsetof(StageCfg, data.name),
     .size = CFG_NAME_MAX, .names = dataset_names, .flags = KF_REQUIRED,
     .help = "mnist, fashion-mnist, idx (your IDX files) or csv"},
    {.key = "train_images", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.train_images), .size = CFG_PATH_MAX, .only = DATA_IDX,
     .required_for = DATA_IDX, .help = "the training images file, IDX, plain or gzip"},
    {.key = "train_labels", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.train_labels), .size = CFG_PATH_MAX, .only = DATA_IDX,
     .required_for = DATA_IDX, .help = "the training labels file, IDX"},
    {.key = "test_images", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.test_images), .size = CFG_PATH_MAX, .only = DATA_IDX,
     .help = "the test images file; optional"},
    {.key = "test_labels", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.test_labels), .size = CFG_PATH_MAX, .only = DATA_IDX,
     .help = "the test labels file, with test_images"},
    {.key = "train_csv", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.train_csv), .size = CFG_PATH_MAX, .only = DATA_CSV,
     .required_for = DATA_CSV, .help = "the training examples, one per line"},
    {.key = "test_csv", .type = KT_STRING, .ctype = CT_CHARS,
     .offset = offsetof(StageCfg, data.test_csv), .size = CFG_PATH_MAX, .only = DATA_CSV,
     .help = "the test examples; optional"},
    /* tag-csv-keys: the values are runner/data.h's CSV_LABEL_* and CsvPixels */
    {.key = "label_column", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(StageCfg, data.label_column), .names = label_column_names, .def = "auto",
     .flags = KF_MIN, .min = -1, .only = DATA_CSV,
     .help = "the label's column: first, last, N (0-based; -1 = last) or auto (the last, but a "
             "file that looks label-first is refused)"},
    {.key = "pixels", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, data.pixels),
     .names = pixels_names, .def = "auto", .only = DATA_CSV,
     .help = "pixel values: byte (0..255), unit (already in [0, 1]) or auto (byte, but pixels "
             "all in [0, 1] with fractions are refused)"},
    {.key = "subset", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(StageCfg, data.subset),
     .def = "0", .flags = NONNEG, .min = 0, .help = "keep the first N training examples; 0 = all"},
    {.key = "test_subset", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(StageCfg, data.test_subset), .def = "0", .flags = NONNEG, .min = 0,
     .help = "keep the first N test examples; 0 = all"},
    {.key = "batch_size", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(StageCfg, data.batch_size), .def = "1000", .flags = KF_MIN, .min = 1,
     .help = "examples per batch, for every stage that does not set its own"},
    {.key = "shuffle", .type = KT_BOOL, .ctype = CT_BOOL,
     .offset = offsetof(StageCfg, data.shuffle), .def = "true",
     .help = "reshuffle the training set every epoch"},
    {.key = "validation", .type = KT_FLOAT, .ctype = CT_DOUBLE,
     .offset = offsetof(StageCfg, data.validation), .def = "0", .flags = NONNEG, .min = 0,
     .help = "hold out the last N training examples (after subset and a seeded shuffle), or a "
             "fraction in (0, 1); 0 = none"},
};

/* Keys every training stage has (pretrain_layer, append_layer, attach_classifier). */
#define TRAIN_KEYS(loss_def)                                                                    \
    {.key = "epochs", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(StageCfg, train.epochs), \
     .flags = KF_REQUIRED | KF_MIN, .min = 1,                                                   \
     .help = "passes over the training data; lbfgs: iterations"},                             \
    {.key = "loss", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, train.loss), \
     .names = loss_names, .def = loss_def,                                                      \
     .help = "mse, half_sse (UFLDL), bce; classifiers: nll, cross_entropy"},                   \
    {.key = "optimizer", .type = KT_MAP, .offset = offsetof(StageCfg, train.opt),              \
     .sub = &optimizer_spec, .flags = KF_REQUIRED,                                              \
     .help = "how to train, e.g. {name: sgd, lr: 0.1}"},                                        \
    {.key = "batch_size", .type = KT_INT, .ctype = CT_INT,                                      \
     .offset = offsetof(StageCfg, train.batch_size), .def = "0", .flags = NONNEG, .min = 0,     \
     .help = "examples per batch; 0 = load_dataset's batch_size"},                             \
    {.key = "subset", .type = KT_INT, .ctype = CT_INT,                                          \
     .offset = offsetof(StageCfg, train.subset), .def = "0", .flags = NONNEG, .min = 0,         \
     .help = "train on the first N examples; 0 = all"},                                      \
    {.key = "schedule", .type = KT_MAP, .offset = offsetof(StageCfg, train.schedule),          \
     .sub = &schedule_spec, .help = "learning rate per epoch (sgd, adam), e.g. {kind: cosine}"}, \
    {.key = "early_stopping", .type = KT_MAP, .offset = offsetof(StageCfg, train.early),       \
     .sub = &early_spec,                                                                        \
     .help = "stop when a metric stops improving (sgd, adam), e.g. {metric: val_loss}"},      \
    {.key = "clip_norm", .type = KT_FLOAT, .ctype = CT_FLOAT,                                   \
     .offset = offsetof(StageCfg, train.clip_norm), .def = "0", .flags = NONNEG, .min = 0,      \
     .help = "rescale the gradient to this global L2 norm when larger (sgd, adam); 0 = off"}

/* The optional label of a stage (first in its table, so resolved configs show it first). */
#define LABEL_KEY                                                                               \
    {.key = "name", .type = KT_STRING, .ctype = CT_CHARS, .offset = offsetof(StageCfg, label),  \
     .size = CFG_NAME_MAX, .flags = KF_LABEL,                                                   \
     .help = "a label for this stage in outputs and --set; default: the kind, _2, _3..."}

#define LAYER_KEYS(dec_def)                                                                     \
    {.key = "units", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(StageCfg, units),     \
     .flags = KF_REQUIRED | KF_MIN, .min = 1, .help = "width of the new code layer"},          \
    {.key = "activation", .type = KT_ENUM, .ctype = CT_INT,                                     \
     .offset = offsetof(StageCfg, activation), .names = act_names, .def = "tanh",               \
     .help = "activation of the new encoder layer"},                                           \
    {.key = "decoder_activation", .type = KT_ENUM, .ctype = CT_INT,                             \
     .offset = offsetof(StageCfg, decoder_activation), .names = act_names, .def = dec_def,      \
     .help = "activation of the new decoder layer"},                                           \
    {.key = "init", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, init),      \
     .names = init_names, .def = "pytorch",                                                     \
     .help = "pytorch (U(+-1/sqrt(fan_in))), ufldl or xavier"},                                \
    {.key = "tied", .type = KT_BOOL, .ctype = CT_BOOL, .offset = offsetof(StageCfg, tied),      \
     .def = "false",                                                                            \
     .help = "tied weights: the new decoder layer's weight is the encoder's transpose (one "    \
             "matrix, gradients summed; the decoder keeps its own bias)"}

static const KeySpec pretrain_layer_keys[] = {LABEL_KEY, LAYER_KEYS("sigmoid"),
                                              TRAIN_KEYS("mse")};
static const KeySpec append_layer_keys[] = {LABEL_KEY, LAYER_KEYS("tanh"), TRAIN_KEYS("mse")};

#define PEN_L1_BITS (SEL(0) | SEL(1))
#define PEN_KL_BIT SEL(2)
static const KeySpec add_sparsity_keys[] = {
    {.key = "kind", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, sparsity.kind),
     .names = penalty_names, .flags = KF_REQUIRED,
     .help = "l1 (lectures 19/20: not divided by the batch), l1_normalised, or kl (UFLDL)"},
    {.key = "weight", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(StageCfg, sparsity.weight), .def = "0.1", .flags = NONNEG, .min = 0,
     .only = PEN_L1_BITS, .help = "l1: the penalty's factor"},
    {.key = "rho", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(StageCfg, sparsity.rho),
     .def = "0.1", .flags = KF_MIN | KF_MIN_EXCL | KF_MAX | KF_MAX_EXCL, .min = 0, .max = 1,
     .only = PEN_KL_BIT, .help = "kl: target mean activation of each code unit"},
    {.key = "beta", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(StageCfg, sparsity.beta), .def = "3", .flags = NONNEG, .min = 0,
     .only = PEN_KL_BIT, .help = "kl: weight of the KL term"},
    {.key = "weight_decay", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(StageCfg, weight_decay), .def = "0", .flags = NONNEG, .min = 0,
     .help = "L2 penalty (lambda/2) sum W^2 on the trained weights, biases excluded"},
};

#define NOISE_GAUSS SEL(0)
#define NOISE_MASK SEL(1)
#define NOISE_SP SEL(2)
static const KeySpec add_noise_keys[] = {
    {.key = "kind", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, noise.kind),
     .names = noise_names, .flags = KF_REQUIRED,
     .help = "gaussian, masking or salt_and_pepper"},
    {.key = "mean", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(StageCfg, noise.mean),
     .def = "0", .only = NOISE_GAUSS, .help = "gaussian: mean of the added noise"},
    {.key = "std", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(StageCfg, noise.std),
     .def = "0.1", .flags = NONNEG, .min = 0, .only = NOISE_GAUSS,
     .help = "gaussian: standard deviation"},
    {.key = "clamp", .type = KT_BOOL, .ctype = CT_BOOL, .offset = offsetof(StageCfg, noise.clamp),
     .def = "true", .only = NOISE_GAUSS, .help = "gaussian: clamp the result to [min, max]"},
    {.key = "min", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(StageCfg, noise.lo),
     .def = "0", .only = NOISE_GAUSS | NOISE_SP,
     .help = "gaussian: lower clamp; salt_and_pepper: the pepper value"},
    {.key = "max", .type = KT_FLOAT, .ctype = CT_FLOAT, .offset = offsetof(StageCfg, noise.hi),
     .def = "1", .only = NOISE_GAUSS | NOISE_SP,
     .help = "gaussian: upper clamp; salt_and_pepper: the salt value"},
    {.key = "fraction", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(StageCfg, noise.fraction), .def = "0.25",
     .flags = KF_MIN | KF_MAX, .min = 0, .max = 1, .only = NOISE_MASK | NOISE_SP,
     .help = "masking, salt_and_pepper: share of the inputs corrupted"},
};

static const KeySpec strip_decoder_keys[] = {
    {.key = "keep_sparsity", .type = KT_BOOL, .ctype = CT_BOOL,
     .offset = offsetof(StageCfg, keep_sparsity), .def = "false",
     .help = "keep the sparsity penalty on the code while the classifier trains (the lectures "
             "rebuild the network as nn.Sequential(*children[:-1]), which drops it: false)"},
};

static const KeySpec attach_classifier_keys[] = {
    LABEL_KEY,
    {.key = "classes", .type = KT_INT, .ctype = CT_INT, .offset = offsetof(StageCfg, classes),
     .def = "0", .flags = KF_MIN | KF_MAX, .min = 0, .max = 256,
     .help = "outputs of the head; 0 = the data set's class count"},
    {.key = "hidden", .type = KT_INT_LIST, .ctype = CT_INT, .offset = offsetof(StageCfg, hidden),
     .size = AE_MAX_LAYERS - 1, .count_offset = offsetof(StageCfg, nhidden),
     .flags = KF_MIN, .min = 1, .help = "widths of hidden layers in the head, e.g. [256]"},
    {.key = "hidden_activation", .type = KT_ENUM, .ctype = CT_INT,
     .offset = offsetof(StageCfg, hidden_activation), .names = act_names, .def = "tanh",
     .help = "activation of the head's hidden layers"},
    {.key = "init", .type = KT_ENUM, .ctype = CT_INT, .offset = offsetof(StageCfg, init),
     .names = init_names, .def = "pytorch", .help = "initialisation of the head's layers"},
    {.key = "freeze_encoder", .type = KT_BOOL, .ctype = CT_BOOL,
     .offset = offsetof(StageCfg, freeze_encoder), .def = "false",
     .help = "train the head only (true; the encoder's outputs are then computed once per "
             "stage, not every batch) or fine-tune the encoder too (false)"},
    {.key = "test_every_epoch", .type = KT_ENUM, .ctype = CT_INT,
     .offset = offsetof(StageCfg, test_every_epoch), .names = test_every_names, .def = "auto",
     .help = "test accuracy every epoch: auto = true without a validation set, else false"},
    {.key = "finetune_epochs", .type = KT_INT, .ctype = CT_INT,
     .offset = offsetof(StageCfg, finetune_epochs), .def = "0", .flags = NONNEG, .min = 0,
     .help = "with freeze_encoder: afterwards, epochs training encoder and head together"},
    {.key = "weight_decay", .type = KT_FLOAT, .ctype = CT_FLOAT,
     .offset = offsetof(StageCfg, weight_decay), .def = "0", .flags = NONNEG, .min = 0,
     .help = "L2 penalty (lambda/2) sum W^2 on the trained weights, biases excluded"},
    TRAIN_KEYS("nll"),
};

static const KeySpec evaluate_keys[] = {
    LABEL_KEY,
    {.key = "split", .type = KT_ENUM, .ctype = CT_BOOL, .offset = offsetof(StageCfg, eval_on_test),
     .names = split_names, .def = "test", .help = "test or train"},
};

#define SPEC(kind, keys, sel) {kind, keys, (int)(sizeof keys / sizeof *keys), sel}
static const MapSpec stage_specs[STAGE_COUNT] = {
    [STAGE_LOAD_DATASET] = SPEC("load_dataset", load_dataset_keys, "name"),
    [STAGE_PRETRAIN_LAYER] = SPEC("pretrain_layer", pretrain_layer_keys, NULL),
    [STAGE_APPEND_LAYER] = SPEC("append_layer", append_layer_keys, NULL),
    [STAGE_ADD_SPARSITY] = SPEC("add_sparsity", add_sparsity_keys, "kind"),
    [STAGE_ADD_NOISE] = SPEC("add_noise", add_noise_keys, "kind"),
    [STAGE_STRIP_DECODER] = SPEC("strip_decoder", strip_decoder_keys, NULL),
    [STAGE_ATTACH_CLASSIFIER] = SPEC("attach_classifier", attach_classifier_keys, NULL),
    [STAGE_EVALUATE] = SPEC("evaluate", evaluate_keys, NULL),
};

const char *const stage_kind_names[STAGE_COUNT] = {
    [STAGE_LOAD_DATASET] = "load_dataset",
    [STAGE_PRETRAIN_LAYER] = "pretrain_layer",
    [STAGE_APPEND_LAYER] = "append_layer",
    [STAGE_ADD_SPARSITY] = "add_sparsity",
    [STAGE_ADD_NOISE] = "add_noise",
    [STAGE_STRIP_DECODER] = "strip_decoder",
    [STAGE_ATTACH_CLASSIFIER] = "attach_classifier",
    [STAGE_EVALUATE] = "evaluate",
};

/* Names people reach for that the table spells differently (checked after edit distance). */
static const char *const synonyms[][2] = {
    {"learning_rate", "lr"}, {"lr_rate", "lr"},         {"num_epochs", "epochs"},
    {"n_epochs", "epochs"},  {"iterations", "epochs"},  {"max_iter", "epochs"},
    {"size", "units"},       {"hidden_units", "units"}, {"width", "units"},
    {"act", "activation"},   {"optim", "optimizer"},    {"opt", "optimizer"},
    {"optimiser", "optimizer"}, {"num_classes", "classes"}, {"n_classes", "classes"},
    {"dataset", "name"},     {"type", "kind"},          {"l2", "weight_decay"},
    {"batch", "batch_size"}, {"sparsity", "weight"},    {"noise", "std"},
};

const MapSpec *schema_top(void) {
    return &top_spec;
}

const MapSpec *schema_stage(StageKind kind) {
    AE_ASSERT(kind >= 0 && kind < STAGE_COUNT);
    return &stage_specs[kind];
}

int schema_stage_kind(const char *name) {
    for (int k = 0; k < STAGE_COUNT; k++)
        if (strcmp(stage_kind_names[k], name) == 0) return k;
    return -1;
}

const KeySpec *schema_find(const MapSpec *spec, const char *key) {
    for (int i = 0; i < spec->nkeys; i++)
        if (strcmp(spec->keys[i].key, key) == 0) return &spec->keys[i];
    return NULL;
}

int schema_enum_names(const EnumName *names, const char **out, int max) {
    int n = 0;
    for (; names[n].name && n < max; n++) out[n] = names[n].name;
    return n;
}

const char *schema_enum_name(const EnumName *names, int v) {
    for (int i = 0; names[i].name; i++)
        if (names[i].value == v) return names[i].name;
    return "?";
}

static int enum_index(const EnumName *names, const char *s) {
    for (int i = 0; names[i].name; i++)
        if (strcmp(names[i].name, s) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * Descriptions and formatting
 * ---------------------------------------------------------------------------------------- */

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static void describe_bounds(const KeySpec *ks, char *buf, size_t size) {
    bool lo = ks->flags & KF_MIN, hi = ks->flags & KF_MAX;
    bool lox = ks->flags & KF_MIN_EXCL, hix = ks->flags & KF_MAX_EXCL;
    if (lo && hi)
        append(buf, size, " in %c%g, %g%c", lox ? '(' : '[', ks->min, ks->max, hix ? ')' : ']');
    else if (lo)
        append(buf, size, " %s %g", lox ? ">" : ">=", ks->min);
    else if (hi)
        append(buf, size, " %s %g", hix ? "<" : "<=", ks->max);
}

void schema_describe(const KeySpec *ks, char *buf, size_t size) {
    buf[0] = '\0';
    switch (ks->type) {
    case KT_INT:
        append(buf, size, "an integer");
        describe_bounds(ks, buf, size);
        for (int i = 0; ks->names && ks->names[i].name; i++)
            append(buf, size, "%s%s", i ? ", " : ", or one of ", ks->names[i].name);
        break;
    case KT_FLOAT:
        append(buf, size, "a number");
        describe_bounds(ks, buf, size);
        break;
    case KT_BOOL:
        append(buf, size, "true or false");
        break;
    case KT_STRING:
        if (ks->flags & KF_NAME)
            append(buf, size, "a name of letters, digits, '_', '.' and '-', not starting with '.' or '-'");
        else if (ks->flags & KF_LABEL)
            append(buf, size, "a name of letters, digits, '_' and '-', not starting with '-'");
        else
            append(buf, size, "a string");
        break;
    case KT_ENUM:
        append(buf, size, "one of ");
        for (int i = 0; ks->names[i].name; i++)
            append(buf, size, "%s%s", i ? ", " : "", ks->names[i].name);
        break;
    case KT_INT_LIST:
        append(buf, size, "a list of integers");
        describe_bounds(ks, buf, size);
        break;
    case KT_MAP:
        append(buf, size, "a mapping of keys");
        break;
    case KT_PIPELINE:
        append(buf, size, "a list of stages");
        break;
    case KT_OPAQUE:
        append(buf, size, "anything");
        break;
    }
}

/* Shortest %g text that reads back to the same float / double. */
static void format_float(char *buf, size_t size, float v) {
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

static void format_double(char *buf, size_t size, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void schema_format(const KeySpec *ks, const void *base, char *buf, size_t size) {
    const char *field = (const char *)base + ks->offset;
    switch (ks->ctype) {
    case CT_INT: {
        int v;
        memcpy(&v, field, sizeof v);
        const char *name = ks->names ? schema_enum_name(ks->names, v) : NULL;
        if (name && (ks->type == KT_ENUM || enum_index(ks->names, name) >= 0))
            snprintf(buf, size, "%s", name);
        else
            snprintf(buf, size, "%d", v);
        break;
    }
    case CT_U64: {
        uint64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%llu", (unsigned long long)v);
        break;
    }
    case CT_FLOAT: {
        float v;
        memcpy(&v, field, sizeof v);
        format_float(buf, size, v);
        break;
    }
    case CT_DOUBLE: {
        double v;
        memcpy(&v, field, sizeof v);
        format_double(buf, size, v);
        break;
    }
    case CT_BOOL: {
        bool v;
        memcpy(&v, field, sizeof v);
        if (ks->type == KT_ENUM)
            snprintf(buf, size, "%s", schema_enum_name(ks->names, v ? 1 : 0));
        else
            snprintf(buf, size, "%s", v ? "true" : "false");
        break;
    }
    case CT_CHARS:
        snprintf(buf, size, "%s", field);
        break;
    case CT_NONE:
        AE_ASSERT(!"schema_format on a key without a field");
    }
}

int schema_selector_index(const MapSpec *spec, const void *base) {
    if (!spec->selector) return -1;
    const KeySpec *ks = schema_find(spec, spec->selector);
    AE_ASSERT(ks && ks->type == KT_ENUM);
    const char *field = (const char *)base + ks->offset;
    if (ks->ctype == CT_CHARS) return enum_index(ks->names, field);
    int v;
    memcpy(&v, field, sizeof v);
    for (int i = 0; ks->names[i].name; i++)
        if (ks->names[i].value == v) return i;
    return -1;
}

bool schema_applies(const MapSpec *spec, const KeySpec *ks, const void *base) {
    if (!ks->only) return true;
    int sel = schema_selector_index(spec, base);
    return sel < 0 || (ks->only & SEL(sel));
}

/* ------------------------------------------------------------------------------------------
 * Conversion of one scalar
 * ---------------------------------------------------------------------------------------- */

/* CV_RANGE: outside the key's bounds; CV_OVERFLOW / CV_UNDERFLOW: outside the C type. */
typedef enum {
    CV_OK = 0, CV_BAD, CV_NONFINITE, CV_RANGE, CV_OVERFLOW, CV_UNDERFLOW, CV_TOO_LONG
} CvResult;

static bool in_bounds(const KeySpec *ks, double v) {
    if (ks->flags & KF_MIN) {
        if ((ks->flags & KF_MIN_EXCL) ? !(v > ks->min) : !(v >= ks->min)) return false;
    }
    if (ks->flags & KF_MAX) {
        if ((ks->flags & KF_MAX_EXCL) ? !(v < ks->max) : !(v <= ks->max)) return false;
    }
    return true;
}

static bool is_nonfinite_word(const char *s) {
    if (*s == '+' || *s == '-') s++;
    if (*s == '.') s++;
    return strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
           strcasecmp(s, "infinity") == 0;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]* (dots only with allow_dot): safe as a file name, never "." or
 * "..", never an option. */
static bool name_ok(const char *s, bool allow_dot) {
    if (!*s || *s == '.' || *s == '-') return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (allow_dot && c == '.');
        if (!ok) return false;
    }
    return true;
}

/* Parses a base-10 integer occupying all of s. */
static CvResult parse_ll(const char *s, long long *out) {
    if (!*s || (s[0] != '-' && s[0] != '+' && (s[0] < '0' || s[0] > '9'))) return CV_BAD;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end) return CV_BAD;
    if (errno == ERANGE) return v < 0 ? CV_UNDERFLOW : CV_OVERFLOW;
    *out = v;
    return CV_OK;
}

/* The convert_* functions convert text s for ks and store it in field (ks's place in the
 * struct); nothing is stored on failure. */

/* An unsigned 64-bit integer (the seed). */
static CvResult convert_u64(const KeySpec *ks, const char *s, char *field) {
    if (!*s || *s == '-' || *s == '+' || *s < '0' || *s > '9') {
        long long probe;
        CvResult r = parse_ll(s, &probe);
        return r == CV_OK ? CV_RANGE : r;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return CV_BAD;
    if (errno == ERANGE) return CV_OVERFLOW;
    if (!in_bounds(ks, (double)v)) return CV_RANGE;
    uint64_t u = v;
    memcpy(field, &u, sizeof u);
    return CV_OK;
}

/* An int, or entry list_index of an int list. */
static CvResult convert_int(const KeySpec *ks, const char *s, char *field, int list_index) {
    if (ks->ctype == CT_U64) return convert_u64(ks, s, field);
    int named = ks->names && list_index == 0 ? enum_index(ks->names, s) : -1;
    if (named >= 0) {
        memcpy(field, &ks->names[named].value, sizeof(int));
        return CV_OK;
    }
    long long v;
    CvResult r = parse_ll(s, &v);
    if (r != CV_OK) return r;
    if (v < INT_MIN) return CV_UNDERFLOW;
    if (v > INT_MAX) return CV_OVERFLOW;
    if (!in_bounds(ks, (double)v)) return CV_RANGE;
    int i = (int)v;
    memcpy(field + (size_t)list_index * sizeof(int), &i, sizeof i);
    return CV_OK;
}

/* A finite decimal number into a float or a double. */
static CvResult convert_float(const KeySpec *ks, const char *s, char *field) {
    if (is_nonfinite_word(s)) return CV_NONFINITE;
    if (!*s || strpbrk(s, "xXpP") || *s == ' ') return CV_BAD; /* no hex floats */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end) return CV_BAD;
    if (!isfinite(v)) return CV_NONFINITE;
    if (ks->ctype == CT_FLOAT) {
        float f = (float)v;
        if (!isfinite(f)) return CV_NONFINITE;
        if (!in_bounds(ks, f)) return CV_RANGE;
        memcpy(field, &f, sizeof f);
    } else {
        if (!in_bounds(ks, v)) return CV_RANGE;
        memcpy(field, &v, sizeof v);
    }
    return CV_OK;
}

static CvResult convert_bool(const char *s, char *field) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            bool v = strcasecmp(s, yes[i]) == 0;
            memcpy(field, &v, sizeof v);
            return CV_OK;
        }
    }
    return CV_BAD;
}

static CvResult convert_string(const KeySpec *ks, const char *s, char *field) {
    size_t n = strlen(s);
    if (n >= ks->size) return CV_TOO_LONG;
    if ((ks->flags & (KF_NAME | KF_LABEL)) && !name_ok(s, ks->flags & KF_NAME)) return CV_BAD;
    memset(field, 0, ks->size);
    memcpy(field, s, n);
    return CV_OK;
}

/* One of ks's names, stored as its text, a bool or an int value as the field's type says. */
static CvResult convert_enum(const KeySpec *ks, const char *s, char *field) {
    int i = enum_index(ks->names, s);
    if (i < 0) return CV_BAD;
    if (ks->ctype == CT_CHARS) {
        AE_ASSERT(strlen(s) < ks->size);
        memset(field, 0, ks->size);
        memcpy(field, s, strlen(s));
    } else if (ks->ctype == CT_BOOL) {
        bool v = ks->names[i].value != 0;
        memcpy(field, &v, sizeof v);
    } else {
        memcpy(field, &ks->names[i].value, sizeof(int));
    }
    return CV_OK;
}

/* Converts text s for ks and stores it in base. Nothing is stored on failure. */
static CvResult convert_text(const KeySpec *ks, const char *s, void *base, int list_index) {
    char *field = (char *)base + ks->offset;
    switch (ks->type) {
    case KT_INT:
    case KT_INT_LIST: return convert_int(ks, s, field, list_index);
    case KT_FLOAT: return convert_float(ks, s, field);
    case KT_BOOL: return convert_bool(s, field);
    case KT_STRING: return convert_string(ks, s, field);
    case KT_ENUM: return convert_enum(ks, s, field);
    default: AE_ASSERT(!"convert_text on a non-scalar key");
    }
    return CV_BAD;
}

/* ------------------------------------------------------------------------------------------
 * Validation of a mapping
 * ---------------------------------------------------------------------------------------- */

static void node_error(Diag *d, const YNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void node_error(Diag *d, const YNode *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(d, DIAG_ERROR, n ? n->origin : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

/* `"text"` with quotes and control characters escaped, long texts shortened. */
static void quote(const char *s, char *buf, size_t size) {
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; s[i] && o + 8 < size; i++) {
        if (i == 60) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* "got ..." text for a node that is not the expected scalar. */
static void got_text(const YNode *n, char *buf, size_t size) {
    if (!n || ynode_is_null(n))
        snprintf(buf, size, "nothing");
    else if (n->kind == YNODE_MAP)
        snprintf(buf, size, "a mapping");
    else if (n->kind == YNODE_SEQ)
        snprintf(buf, size, "a list");
    else
        quote(n->str, buf, size);
}

static void join_path(char *out, size_t size, const char *path, const char *key) {
    snprintf(out, size, "%s%s%s", path, path[0] ? "." : "", key);
}

/* Reports a failed conversion of scalar n for ks (path = the value's full path). */
static void report_cv(Diag *d, const KeySpec *ks, const YNode *n, const char *path, CvResult r) {
    char want[256], got[128];
    schema_describe(ks, want, sizeof want);
    got_text(n, got, sizeof got);
    if (r == CV_TOO_LONG) {
        node_error(d, n, "%s: too long (%zu characters; at most %zu)", path, n->len,
                   ks->size - 1);
    } else if (r == CV_OVERFLOW || r == CV_UNDERFLOW) {
        const char *limit = ks->ctype == CT_U64 ? "at most 18446744073709551615"
                            : r == CV_OVERFLOW  ? "at most 2147483647"
                                                : "at least -2147483648";
        node_error(d, n, "%s: expected %s, got %s, which is out of range (%s)", path, want, got,
                   limit);
    } else if (r == CV_NONFINITE) {
        node_error(d, n, "%s: expected %s, got %s, which is not a finite number", path, want,
                   got);
    } else if (ks->type == KT_ENUM && n->kind == YNODE_SCALAR && !ynode_is_null(n)) {
        const char *cands[16];
        int nc = schema_enum_names(ks->names, cands, 16);
        const char *near = diag_nearest(n->str, cands, nc);
        if (!near)
            for (int i = 0; i < nc && !near; i++)
                if (strcasecmp(n->str, cands[i]) == 0) near = cands[i];
        if (near)
            node_error(d, n, "%s: expected %s, got %s; did you mean '%s'?", path, want, got, near);
        else
            node_error(d, n, "%s: expected %s, got %s", path, want, got);
    } else {
        node_error(d, n, "%s: expected %s, got %s", path, want, got);
    }
}

static void apply_value(const KeySpec *ks, const YNode *v, const char *path, void *base,
                        Diag *d);

/* Fills ks's field from its default (for selector value sel; -1 = unknown). */
static void apply_default(const KeySpec *ks, int sel, const YNode *where, const char *path,
                          void *base, Diag *d) {
    char *field = (char *)base + ks->offset;
    if (ks->type == KT_MAP) {
        schema_apply(ks->sub, NULL, where, path, field, d);
        return;
    }
    if (ks->type == KT_INT_LIST) {
        int zero = 0;
        memcpy((char *)base + ks->count_offset, &zero, sizeof zero);
        return;
    }
    const char *text = ks->def;
    if (ks->sel_defs && sel >= 0) text = ks->sel_defs[sel];
    if (!text) { /* no default: strings empty, numbers 0 (only reached with other errors) */
        if (ks->ctype == CT_CHARS) memset(field, 0, ks->size);
        return;
    }
    CvResult r = convert_text(ks, text, base, 0);
    AE_ASSERT(r == CV_OK); /* every default in the table obeys its own bounds */
}

/* Reports an unknown key; returns the key suggested instead (or NULL). */
static const KeySpec *report_unknown(const MapSpec *spec, const YNode *key, const char *path,
                                     Diag *d) {
    const char *cands[64];
    int nc = 0;
    for (int i = 0; i < spec->nkeys && nc < 64; i++) cands[nc++] = spec->keys[i].key;
    const char *near = diag_nearest(key->str, cands, nc);
    for (size_t i = 0; !near && i < sizeof synonyms / sizeof *synonyms; i++)
        if (strcmp(synonyms[i][0], key->str) == 0 && schema_find(spec, synonyms[i][1]))
            near = synonyms[i][1];
    char where[512];
    if (path[0])
        snprintf(where, sizeof where, "%s: unknown key '%s'", path, key->str);
    else
        snprintf(where, sizeof where, "unknown top-level key '%s'", key->str);
    if (near) {
        node_error(d, key, "%s; did you mean '%s'?", where, near);
        return schema_find(spec, near);
    }
    if (nc == 0) {
        node_error(d, key, "%s (%s takes no keys)", where, spec->what);
    } else {
        char list[512] = "";
        for (int i = 0; i < nc; i++) append(list, sizeof list, "%s%s", i ? ", " : "", cands[i]);
        node_error(d, key, "%s (valid keys: %s)", where, list);
    }
    return NULL;
}

/* "kl" or "masking or salt_and_pepper": the selector values in mask. */
static void mask_names(const KeySpec *sel, unsigned mask, char *buf, size_t size) {
    buf[0] = '\0';
    int n = 0, total = 0;
    for (int i = 0; sel->names[i].name; i++) total += (mask & SEL(i)) != 0;
    for (int i = 0; sel->names[i].name; i++) {
        if (!(mask & SEL(i))) continue;
        n++;
        append(buf, size, "%s%s", n == 1 ? "" : n == total ? " or " : ", ", sel->names[i].name);
    }
}

/* A value where a mapping of keys belongs: reported, and every scalar key gets its default. */
static void apply_not_a_map(const MapSpec *spec, const YNode *map, const YNode *where,
                            const char *path, void *base, Diag *d) {
    char got[128];
    got_text(map, got, sizeof got);
    if (spec->nkeys == 0) {
        node_error(d, map, "%s: takes no keys, got %s", path, got);
    } else {
        const KeySpec *example = &spec->keys[0];
        for (int i = spec->nkeys - 1; i >= 0; i--)
            if (spec->keys[i].flags & KF_REQUIRED) example = &spec->keys[i];
        node_error(d, map, "%s: expected a mapping of keys (such as %s: ...), got %s", path,
                   example->key, got);
    }
    for (int i = 0; i < spec->nkeys; i++) {
        const KeySpec *ks = &spec->keys[i];
        if (ks->type == KT_PIPELINE || ks->type == KT_OPAQUE) continue;
        if (ks->type != KT_MAP) apply_default(ks, -1, where, path, base, d);
    }
}

/* The selector's value in m (the key that decides which others apply): its index, or -1. */
static int selector_value(const MapSpec *spec, const YNode *m, const KeySpec **sel_ks) {
    *sel_ks = spec->selector ? schema_find(spec, spec->selector) : NULL;
    if (!*sel_ks) return -1;
    const YNode *sv = ynode_get(m, spec->selector);
    return sv && sv->kind == YNODE_SCALAR ? enum_index((*sel_ks)->names, sv->str) : -1;
}

/* The keys m gives: unknown ones reported (marking the key suggested instead), the others
 * applied when the selector value sel allows them; seen[i]: key i was given. */
static void apply_given_keys(const MapSpec *spec, const YNode *m, int sel, const KeySpec *sel_ks,
                             const char *path, void *base, bool *seen, bool *suggested,
                             Diag *d) {
    char kpath[512];
    for (int i = 0; m && i < m->npairs; i++) {
        const YPair *p = &m->pairs[i];
        if (p->dup || p->key->kind != YNODE_SCALAR) continue;
        const KeySpec *ks = schema_find(spec, p->key->str);
        if (!ks && spec == &top_spec && strncmp(p->key->str, "x-", 2) == 0)
            continue; /* x-anything: a place for anchors (as in docker-compose), ignored */
        if (!ks) {
            const KeySpec *meant = report_unknown(spec, p->key, path, d);
            if (meant) suggested[meant - spec->keys] = true;
            continue;
        }
        int idx = (int)(ks - spec->keys);
        if (ks->type == KT_OPAQUE || ks->type == KT_PIPELINE) {
            seen[idx] = true;
            continue;
        }
        if (ks->only && sel >= 0 && !(ks->only & SEL(sel))) {
            char names[128];
            mask_names(sel_ks, ks->only, names, sizeof names);
            node_error(d, p->key, "%s: '%s' applies only when %s is %s (here it is %s)", path,
                       ks->key, spec->selector, names, sel_ks->names[sel].name);
            continue;
        }
        seen[idx] = true;
        join_path(kpath, sizeof kpath, path, ks->key);
        apply_value(ks, p->value, kpath, base, d);
    }
}

/* The keys not given: a required one is an error (unless a "did you mean" named it already),
 * the others get their defaults. */
static void apply_missing_keys(const MapSpec *spec, int sel, const KeySpec *sel_ks,
                               const YNode *where, const char *path, void *base,
                               const bool *seen, const bool *suggested, Diag *d) {
    char kpath[512];
    for (int i = 0; i < spec->nkeys; i++) {
        const KeySpec *ks = &spec->keys[i];
        if (seen[i] || ks->type == KT_OPAQUE) continue;
        bool required = (ks->flags & KF_REQUIRED) || (sel >= 0 && (ks->required_for & SEL(sel)));
        if (required) {
            if (suggested[i]) continue;
            if (ks->flags & KF_REQUIRED)
                node_error(d, where, "%s%smissing required key '%s': %s", path,
                           path[0] ? ": " : "", ks->key, ks->help);
            else
                node_error(d, where, "%s: missing key '%s', required when %s is %s: %s", path,
                           ks->key, spec->selector, sel_ks->names[sel].name, ks->help);
            continue;
        }
        if (ks->type == KT_PIPELINE) continue;
        join_path(kpath, sizeof kpath, path, ks->key);
        apply_default(ks, sel, where, kpath, base, d);
    }
}

int schema_apply(const MapSpec *spec, const YNode *map, const YNode *where, const char *path,
                 void *base, Diag *d) {
    int before = d->nerrors;
    if (map && !ynode_is_null(map) && map->kind != YNODE_MAP) {
        apply_not_a_map(spec, map, where, path, base, d);
        return d->nerrors - before;
    }
    const YNode *m = map && map->kind == YNODE_MAP ? map : NULL;
    const KeySpec *sel_ks;
    int sel = selector_value(spec, m, &sel_ks); /* first: it decides which keys apply */
    bool seen[64] = {false};
    bool suggested[64] = {false}; /* named by a "did you mean": not reported missing again */
    AE_ASSERT(spec->nkeys <= 64);
    apply_given_keys(spec, m, sel, sel_ks, path, base, seen, suggested, d);
    apply_missing_keys(spec, sel, sel_ks, where, path, base, seen, suggested, d);
    return d->nerrors - before;
}

static void apply_value(const KeySpec *ks, const YNode *v, const char *path, void *base,
                        Diag *d) {
    char want[256], got[128];
    if (ks->type == KT_MAP) {
        schema_apply(ks->sub, v, v, path, (char *)base + ks->offset, d);
        return;
    }
    if (ks->type == KT_INT_LIST) {
        int count = 0;
        if (!ynode_is_null(v) && v->kind != YNODE_SEQ) {
            schema_describe(ks, want, sizeof want);
            got_text(v, got, sizeof got);
            node_error(d, v, "%s: expected %s, got %s", path, want, got);
        } else if (v->kind == YNODE_SEQ && v->nitems > (int)ks->size) {
            node_error(d, v, "%s: at most %zu entries, got %d", path, ks->size, v->nitems);
        } else if (v->kind == YNODE_SEQ) {
            char ipath[600];
            for (int i = 0; i < v->nitems; i++) {
                const YNode *it = v->items[i];
                snprintf(ipath, sizeof ipath, "%s[%d]", path, i);
                CvResult r = it->kind == YNODE_SCALAR && !ynode_is_null(it)
                                 ? convert_text(ks, it->str, base, i)
                                 : CV_BAD;
                if (r != CV_OK) {
                    KeySpec item = *ks;
                    item.type = KT_INT;
                    report_cv(d, &item, it, ipath, r);
                }
            }
            count = v->nitems;
        }
        memcpy((char *)base + ks->count_offset, &count, sizeof count);
        return;
    }
    if (v->kind != YNODE_SCALAR || (ynode_is_null(v) && ks->type != KT_STRING)) {
        report_cv(d, ks, v, path, CV_BAD);
        apply_default(ks, -1, v, path, base, d);
        return;
    }
    CvResult r = convert_text(ks, ynode_is_null(v) ? "" : v->str, base, 0);
    if (r != CV_OK) {
        report_cv(d, ks, v, path, r);
        apply_default(ks, -1, v, path, base, d);
    }
}
