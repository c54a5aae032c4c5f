/* engine/checkpoint.h — saving and loading a whole Model (every stack's shapes, activations and
 * parameters) with the run state needed to resume or inspect it.
 *
 * File format, version 1 (all integers little-endian; see engine/checkpoint.c for the layout):
 *   "AELABCKP" | u32 version | u32 header length | header | parameters (float32 LE) | u32 CRC32
 * The header holds the file's total size, input_dim, the layer counts, each layer's (I, O, act),
 * and the CheckpointMeta below. The CRC32 (zlib's) covers every byte before it.
 */
#ifndef AE_CHECKPOINT_H
#define AE_CHECKPOINT_H

#include "common.h"
#include "model.h"

#define CHECKPOINT_VERSION 1
#define CHECKPOINT_LABEL_MAX 128 /* stage label, NUL included */
#define CHECKPOINT_NRNG 8        /* random stream counters kept */

/* What the runner stores next to the model. Every field round-trips exactly. */
typedef struct CheckpointMeta {
    int stage_index;                        /* 0-based index of the stage that wrote it */
    int epoch;                              /* epochs completed in that stage */
    uint64_t config_hash;                   /* the runner's hash of the resolved config */
    uint64_t seed;                          /* the run's seed */
    char stage_label[CHECKPOINT_LABEL_MAX]; /* e.g. "pretrain_layer_2"; NUL-terminated */
    uint64_t rng_counters[CHECKPOINT_NRNG]; /* free for the runner; by convention slot s holds
                                               the counter of RNG_STREAM s (engine/rng.h) */
} CheckpointMeta;

/* Writes m (parameters downloaded from its backend) and meta (NULL: all zero) to path,
 * atomically: PATH.tmp.<pid>, fsync, rename. The stage label is cut at CHECKPOINT_LABEL_MAX-1
 * bytes. False with "PATH: error: cannot write: REASON" on I/O failure (no partial file is
 * left at path). */
bool checkpoint_save(const char *path, const Model *m, const CheckpointMeta *meta, AeError *err);

/* Reads a checkpoint into a new Model on backend be (owned by the caller; model_free) and fills
 * meta (may be NULL). Everything is validated before the model is allocated, and sizes are
 * capped, so a foreign or damaged file cannot make it allocate much. Refusals, each with its
 * own message "PATH: error: ...": cannot open, not a checkpoint (bad magic), unsupported
 * version, truncated, trailing bytes, checksum mismatch, malformed header or impossible shapes,
 * out of backend memory. Returns NULL on failure. */
Model *checkpoint_load(const char *path, const Backend *be, CheckpointMeta *meta, AeError *err);

#endif
