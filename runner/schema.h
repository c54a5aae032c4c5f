/* runner/schema.h — the one table of config keys, and the validation it drives.
 *
 * Every key of every mapping a config may hold (the top level, each stage kind, the optimizer)
 * is one KeySpec row in runner/schema.c: name, type, C field (by offset), default, bounds,
 * required flag and one line of help. schema_apply walks a YAML mapping against a MapSpec,
 * reports every problem (unknown keys with the nearest valid one, wrong types, out-of-range
 * values, NaN/inf, missing required keys) and writes each value, or its default, into the
 * struct. The README's "Config reference" mirrors the table (tag-schema-readme).
 *
 * Selectors: some mappings have a key whose value decides which other keys apply (`name` of
 * the optimizer, `kind` of add_sparsity and add_noise, `name` of load_dataset). A KeySpec's
 * `only` mask lists the selector values (bit i = the i-th enum name) it applies to, and
 * `required_for` those for which it is required; `sel_defs` gives per-selector defaults.
 */
#ifndef AE_SCHEMA_H
#define AE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "yamldoc.h"

typedef enum {
    KT_INT = 0,     /* integer (strtoll, base 10) */
    KT_FLOAT,       /* finite number (strtod) */
    KT_BOOL,        /* true/false (also yes/no, on/off) */
    KT_STRING,      /* any scalar, fits the buffer */
    KT_ENUM,        /* one of `names` */
    KT_INT_LIST,    /* a sequence of integers */
    KT_MAP,         /* a nested mapping described by `sub` */
    KT_PIPELINE,    /* the pipeline list: validated by config.c, not here */
    KT_OPAQUE       /* accepted as is and ignored (sweep:, provenance:) */
} KeyType;

typedef enum {
    CT_NONE = 0,    /* no field */
    CT_INT,         /* int (also the int-sized C enums: Act, LossKind, ...) */
    CT_U64,         /* uint64_t */
    CT_FLOAT,       /* float */
    CT_DOUBLE,      /* double */
    CT_BOOL,        /* bool */
    CT_CHARS        /* char[size], NUL-terminated */
} CType;

enum {
    KF_REQUIRED = 1u << 0,
    KF_MIN = 1u << 1,      /* value >= min (or > min with KF_MIN_EXCL) */
    KF_MAX = 1u << 2,      /* value <= max (or < max with KF_MAX_EXCL) */
    KF_MIN_EXCL = 1u << 3,
    KF_MAX_EXCL = 1u << 4,
    KF_NAME = 1u << 5,     /* [A-Za-z0-9_.-]+ (used in directory names) */
    KF_LABEL = 1u << 6     /* [A-Za-z0-9_-]+ (a stage label: --set addresses it with '.') */
};

typedef struct EnumName {
    const char *name;      /* NULL ends the list */
    int value;             /* stored in the field (CT_INT, CT_BOOL); CT_CHARS stores the name */
} EnumName;

typedef struct MapSpec MapSpec;

typedef struct KeySpec {
    const char *key;
    KeyType type;
    CType ctype;
    size_t offset;             /* of the field in the struct the mapping fills */
    size_t size;               /* CT_CHARS: buffer bytes; KT_INT_LIST: max entries */
    size_t count_offset;       /* KT_INT_LIST: the int field receiving the count */
    const EnumName *names;     /* KT_ENUM */
    const char *def;           /* default as YAML text; NULL: none (required or "") */
    const char *const *sel_defs; /* per-selector defaults (indexed by selector); NULL: def */
    double min, max;           /* with KF_MIN / KF_MAX */
    unsigned flags;
    unsigned only;             /* selector values it applies to (bit mask); 0: all */
    unsigned required_for;     /* selector values for which it is required */
    const MapSpec *sub;        /* KT_MAP */
    const char *help;          /* one line */
} KeySpec;

struct MapSpec {
    const char *what;          /* "pretrain_layer", "optimizer", "top level" */
    const KeySpec *keys;
    int nkeys;
    const char *selector;      /* the selecting key, or NULL */
};

/* The top level of a config (fields of Config). */
const MapSpec *schema_top(void);

/* The keys of a stage kind (fields of StageCfg). */
const MapSpec *schema_stage(StageKind kind);

/* The StageKind named `name`, or -1. */
int schema_stage_kind(const char *name);

/* The row for `key` in spec, or NULL. Borrowed. */
const KeySpec *schema_find(const MapSpec *spec, const char *key);

/* Validates `map` (a mapping node; NULL or a null scalar mean "no keys") against spec and
 * fills base (the struct the offsets refer to) with each value or its default. `where` gives
 * the position of missing-key errors (the mapping, or the key that holds it); `path` prefixes
 * every message ("pipeline[1].pretrain_layer"; "" at the top level). KT_PIPELINE keys are
 * left to the caller. Returns the number of errors reported to d. */
int schema_apply(const MapSpec *spec, const YNode *map, const YNode *where, const char *path,
                 void *base, Diag *d);

/* Index of the selector's value currently in base (per the enum's names), or -1 when the
 * spec has no selector. */
int schema_selector_index(const MapSpec *spec, const void *base);

/* Whether key ks applies given the selector value in base. */
bool schema_applies(const MapSpec *spec, const KeySpec *ks, const void *base);

/* Formats the scalar field of ks in base as YAML text that schema_apply reads back to the
 * same bits (floats with %.9g, doubles with %.17g, enums by name). Not for KT_INT_LIST,
 * KT_MAP, KT_PIPELINE or KT_OPAQUE. */
void schema_format(const KeySpec *ks, const void *base, char *buf, size_t size);

/* "an integer >= 1", "a number in (0, 1)", "one of tanh, sigmoid, relu, identity", ... */
void schema_describe(const KeySpec *ks, char *buf, size_t size);

/* The names of an enum as a list of pointers (for diag_nearest); returns the count. */
int schema_enum_names(const EnumName *names, const char **out, int max);

/* Name of value v in an enum, or "?". */
const char *schema_enum_name(const EnumName *names, int v);

#endif
