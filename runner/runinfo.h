/* runner/runinfo.h — what `aelab runs` and `aelab diff` read from a run directory: the resolved
 * config (DIR/config.yaml) flattened into key paths, its provenance, the summary metrics
 * (DIR/summary.csv) and the run's status.
 *
 * Key paths are those of the diagnostics ("pipeline[1].pretrain_layer.optimizer.lr"); a list
 * of scalars is one value written as YAML flow ("[256, 64]"), an empty mapping "{}". Keys keep
 * the order of the file. The provenance mapping's keys are listed apart, without the
 * "provenance." prefix. All strings are owned by the RunInfo (runinfo_clear).
 */
#ifndef AE_RUNINFO_H
#define AE_RUNINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

typedef struct RunKV {
    char *key, *value; /* owned */
} RunKV;

typedef struct RunKVList {
    RunKV *kv;
    int n, cap;
} RunKVList;

typedef struct RunInfo {
    char *dir;          /* as found (owned) */
    RunKVList config;   /* the resolved config, provenance excluded */
    RunKVList prov;     /* provenance: key (no prefix) -> value */
    RunKVList metrics;  /* summary.csv: metric -> value text, in the file's order */
    bool has_config, has_summary;
    const char *status; /* "ok", "failed", "interrupted", "incomplete" (static text) */
} RunInfo;

/* Whether dir looks like a run directory: it holds config.yaml or summary.csv. */
bool runinfo_is_run(const char *dir);

/* Reads dir's config.yaml (when present) and summary.csv (when present) into *ri (zeroed
 * first). False with "PATH: error: ..." in err when neither exists or one cannot be read or
 * parsed. On failure *ri holds nothing to free. */
bool runinfo_load(const char *dir, RunInfo *ri, AeError *err);
void runinfo_clear(RunInfo *ri); /* NULL-safe; leaves *ri zeroed */

/* The value of key in l, or NULL. Borrowed. */
const char *runkv_get(const RunKVList *l, const char *key);
/* Appends a copy of key and value. */
void runkv_add(RunKVList *l, const char *key, const char *value);
void runkv_clear(RunKVList *l);

/* FNV-1a 64 of the resolved config's key paths and values (provenance excluded): two runs of
 * the same resolved config have the same hash, whatever their provenance. */
uint64_t runinfo_config_hash(const RunInfo *ri);

#endif
