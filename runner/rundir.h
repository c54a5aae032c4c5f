/* runner/rundir.h — one writer per run directory.
 *
 * A run (or a sweep) takes an exclusive lock on its directory before writing anything there: two
 * `aelab run --out DIR` at once would otherwise both succeed with their files interleaved. The
 * lock is flock() on DIR/.aelab.lock, so the kernel releases it when the holder exits, however it
 * exits (kill -9 included); the file keeps the holder's PID for the message of whoever is
 * refused. The file itself stays (removing it would race with a process about to lock it).
 */
#ifndef AE_RUNDIR_H
#define AE_RUNDIR_H

#include <stdbool.h>

#include "common.h"

#define RUNDIR_LOCK_NAME ".aelab.lock"

/* Returned by rundir_lock for a directory nobody can write into (read-only file system, no
 * permission): there is nothing to guard, and the caller's first write says why it fails. */
#define RUNDIR_UNWRITABLE (-2)

/* Locks dir (which must exist) for this process without waiting. Returns the lock's file
 * descriptor (>= 0; keep it open for as long as the run writes, rundir_unlock releases it),
 * RUNDIR_UNWRITABLE, or -1 with err filled: "DIR: error: in use by another aelab (pid N) ..."
 * when another process holds it, or the reason the lock file could not be opened. */
int rundir_lock(const char *dir, AeError *err);

/* Releases a lock taken by rundir_lock; a negative value is a no-op. */
void rundir_unlock(int fd);

#endif
