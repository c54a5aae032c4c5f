/* runner/stagekey.h — the identity of a training stage's result, for reuse (the stage cache,
 * `--resume`).
 *
 * The key hashes everything that determines the model after stage k: the resolved config of
 * stages 0..k (every default filled in, so comments, key order and positions do not matter, and
 * neither does the run's name), the seed, the engine version and build (the executable's size
 * and modification time), the backend, and the identity of
 * the data files (path, size, modification time). The thread count is not part of it.
 */
#ifndef AE_STAGEKEY_H
#define AE_STAGEKEY_H

#include "config.h"

#define STAGE_KEY_HEX 33 /* 32 hex digits + NUL */

/* Computes the key of stage k of c on the named backend into hex (and its first 64 bits into
 * *h64 when not NULL). Returns false with err filled when the canonical text cannot be made
 * (config_resolved_text: a memory stream that cannot be opened or written). */
bool stage_key(const Config *c, int k, const char *backend, char hex[STAGE_KEY_HEX],
               uint64_t *h64, AeError *err);

#endif
