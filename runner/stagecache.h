/* runner/stagecache.h — the shared stage cache's entries and their locks (docs/architecture.md,
 * "The stage cache").
 *
 * An entry is four files in the cache directory, named by the stage key (runner/stagekey.h):
 *   KEY.csv   the stage's rows of metrics.csv
 *   KEY.info  text: the format, the config's name, the stage's label and index, the XXH3 of
 *             KEY.csv (checked on load)
 *   KEY.ckpt  the model (runner/ckptfile.h; CRC-checked on load), written last: its presence
 *             marks a complete entry
 *   KEY.lock  flock()ed by whoever trains, stores, reads or removes the entry; it holds the
 *             holder's PID, and its modification time is the entry's last use
 * Each file is written atomically (runner/fsutil.h), so a holder that dies (its lock released by
 * the kernel) leaves either no KEY.ckpt, which the next process trains again, or a complete
 * entry. A process that finds the lock held waits for it, then reuses what the holder stored.
 * The lock works across processes on one machine, and across machines on a file system whose
 * flock() is shared (NFSv4, or NFSv3 with lockd; Lustre with -o flock; not -o localflock).
 */
#ifndef AE_STAGECACHE_H
#define AE_STAGECACHE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

/* Returned by stagecache_lock for a cache nobody can write to (read-only, no permission): its
 * entries may still be read, and nothing can be stored. */
#define STAGECACHE_NOLOCK (-2)

#define STAGECACHE_INFO_MAGIC "aelab-cache-entry 1"

/* The cache directory: dir when not NULL, else $AELAB_CACHE when set and not empty, else
 * "results/.cache". Borrowed (dir, the environment, or static storage). */
const char *stagecache_dir(const char *dir);

/* Takes the lock of entry key in dir (dir is created when missing), waiting while another
 * process holds it; when it must wait, calls on_wait(arg, pid of the holder or 0) once first.
 * The wait ends early when *stop (may be NULL) becomes true (a signal handler's flag).
 * Records this process's PID in the lock and makes now the entry's last use. Returns the lock's
 * descriptor (>= 0; stagecache_unlock releases it), STAGECACHE_NOLOCK, or -1 with err filled
 * (the lock cannot be opened or taken; "interrupted" when *stop ended the wait). */
int stagecache_lock(const char *dir, const char *key, void (*on_wait)(void *arg, long pid),
                    void *arg, const volatile sig_atomic_t *stop, AeError *err);

/* Takes the lock without waiting: the descriptor, or -1 when another process holds it or the
 * lock file cannot be opened (err says which). create: make the lock file when missing; without
 * it, a missing lock file (nobody holds it) returns STAGECACHE_NOLOCK. Does not change the last
 * use. */
int stagecache_trylock(const char *dir, const char *key, bool create, AeError *err);

/* Releases a lock from stagecache_lock/trylock; a negative value is a no-op. */
void stagecache_unlock(int fd);

/* Writes dir/KEY.info for the entry whose rows are in dir/KEY.csv (already written): the config
 * name, the stage's label and index, and the rows' hash. False with err filled on failure. */
bool stagecache_write_info(const char *dir, const char *key, const char *config,
                           const char *stage, int stage_index, AeError *err);

/* What dir/KEY.info says (strings copied into the caller's buffers, cap bytes each; any may be
 * NULL). False with why (why_cap bytes) when it is missing or damaged. */
bool stagecache_read_info(const char *dir, const char *key, char *config, char *stage,
                          char *csv_hash, size_t cap, char *why, size_t why_cap);

/* Checks dir/KEY.csv against the hash in dir/KEY.info. False with why (cap bytes: "KEY.info
 * missing", "KEY.csv does not match its checksum") when they do not agree. */
bool stagecache_check_rows(const char *dir, const char *key, char *why, size_t cap);

/* Removes the entry's files (KEY.ckpt first, so that it is never seen half removed), then its
 * lock file; the caller holds the lock (fd), which this releases. Returns false when a file
 * could not be removed (errno kept). */
bool stagecache_remove(const char *dir, const char *key, int fd);

#endif
