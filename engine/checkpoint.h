/* engine/checkpoint.h — a whole Model (every stack's shapes, activations and parameters) with
 * the run state needed to resume or inspect it, encoded to bytes and decoded from them.
 *
 * The engine touches no files: checkpoint_encode gives a buffer and checkpoint_decode takes one.
 * runner/ckptfile.c reads and writes them as files (through runner/fsutil.c's atomic writer).
 * Every function takes a `name` used only in messages, the file's path for the runner, so that
 * they read "NAME: error: ...".
 *
 * Format, version 1 (all integers little-endian; see engine/checkpoint.c for the layout):
 *   "AELABCKP" | u32 version | u32 header length | header | parameters (float32 LE) | u32 CRC32
 * The header holds the total size, input_dim, the layer counts, each layer's (I, O, act), and
 * the CheckpointMeta below. The CRC32 (zlib's) covers every byte before it. Optimizer state is
 * not kept (no stage resumes mid-way).
 */
#ifndef AE_CHECKPOINT_H
#define AE_CHECKPOINT_H

#include "common.h"
#include "model.h"

#define CHECKPOINT_VERSION 1
#define CHECKPOINT_LABEL_MAX 128 /* stage label, NUL included */
#define CHECKPOINT_NRNG 8        /* random stream counters kept */
#define CHECKPOINT_HEAD_BYTES 24 /* magic, version, header length, total size */

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

/* Encodes m (parameters downloaded from its backend) and meta (NULL: all zero) into a new
 * malloc'ed buffer: *out (owned by the caller; free) of *n bytes. The stage label is cut at
 * CHECKPOINT_LABEL_MAX-1 bytes. False with "NAME: error: out of host memory: ..." when the
 * buffer cannot be allocated (*out is then NULL). */
bool checkpoint_encode(const char *name, const Model *m, const CheckpointMeta *meta,
                       unsigned char **out, size_t *n, AeError *err);

/* Checks the start of a checkpoint of `size` bytes before the rest is read: head holds its first
 * nhead bytes, CHECKPOINT_HEAD_BYTES of them when it has that many. Refuses, each with its own
 * message "NAME: error: ...": an empty file, not a checkpoint (bad magic), an unsupported
 * version, an implausible header length or declared size, truncated, trailing bytes. On success
 * size is the declared size, at most a few hundred MiB, so that a reader can allocate it. */
bool checkpoint_check_head(const char *name, const unsigned char *head, size_t nhead,
                           uint64_t size, AeError *err);

/* Decodes the checkpoint in buf (n bytes: the whole file) into a new Model on backend be
 * (owned by the caller; model_free) and fills meta (may be NULL). Everything is validated before
 * the model is allocated: checkpoint_check_head's checks, then the checksum, then the header's
 * fields and shapes, each with its own message "NAME: error: ...". Also fails when host or
 * backend memory runs out. Returns NULL on failure. buf is only read. */
Model *checkpoint_decode(const char *name, const unsigned char *buf, size_t n, const Backend *be,
                         CheckpointMeta *meta, AeError *err);

#endif
