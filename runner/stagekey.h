/* runner/stagekey.h — the identity of a training stage's result, for reuse (the stage cache,
 * `--resume`).
 *
 * The key hashes (XXH3-128) everything that determines the model after stage k: the resolved
 * config of stages 0..k (every default filled in, so comments, key order and positions do not
 * matter, and neither do the run's name nor the data files' paths), the seed, the engine version
 * and build ID (runner/buildid.h: the sources, compiler and flags, so a rebuild of the same
 * sources reuses and a changed program does not), the backend, the BLAS library and core in use,
 * the thread count (the CPU's sums depend on it: a KL penalty differs in the 8th digit between 1
 * and 2 threads), and the content of the data files (runner/filehash.h: the same bytes at another
 * path or after a `touch` reuse, a changed byte does not).
 */
#ifndef AE_STAGEKEY_H
#define AE_STAGEKEY_H

#include "config.h"

#define STAGE_KEY_HEX 33 /* 32 hex digits + NUL */

/* What a key depends on besides the config. */
typedef struct StageKeyEnv {
    const char *backend;   /* the backend's name ("cpu", "cuda"); any constant to compare points */
    int threads;           /* the CPU threads the run uses */
    const char *index_dir; /* where the file-hash index lives (the stage cache); NULL: none */
} StageKeyEnv;

/* Computes the key of stage k of c into hex (and its first 64 bits into *h64 when not NULL).
 * A data file that cannot be read is hashed as its reason (the run then fails loading it).
 * Returns false with err filled when the canonical text cannot be made (config_resolved_text:
 * a memory stream that cannot be opened or written). */
bool stage_key(const Config *c, int k, const StageKeyEnv *env, char hex[STAGE_KEY_HEX],
               uint64_t *h64, AeError *err);

#endif
