/* runner/ckptfile.h — checkpoint files: engine/checkpoint.h's bytes on disk.
 *
 * Saving encodes the model and writes the bytes through the atomic writer (runner/fsutil.h), so
 * a reader or a killed run sees the old file or the whole new one. Loading reads the first
 * CHECKPOINT_HEAD_BYTES, lets the engine refuse a foreign or damaged file from them, and only
 * then reads (and allocates) the rest, whose size the engine has capped. Messages read
 * "PATH: error: ..." in both directions.
 */
#ifndef AE_CKPTFILE_H
#define AE_CKPTFILE_H

#include "checkpoint.h"

/* Writes m (parameters downloaded from its backend) and meta (NULL: all zero) to path,
 * atomically. False with "PATH: error: cannot write: REASON" when the file cannot be written
 * (no partial file is left at path, nor a temp), or "PATH: error: out of host memory: ...". */
bool ckptfile_save(const char *path, const Model *m, const CheckpointMeta *meta, AeError *err);

/* Reads the checkpoint at path into a new Model on backend be (owned by the caller;
 * model_free) and fills meta (may be NULL). Refusals, each with its own message
 * "PATH: error: ...": cannot open (missing, a directory, permissions), read error, those of
 * checkpoint_check_head and checkpoint_decode, out of host memory. Returns NULL on failure. */
Model *ckptfile_load(const char *path, const Backend *be, CheckpointMeta *meta, AeError *err);

#endif
