/* runner/fsutil.h — file-system helpers for outputs: directories, atomic writes, file reads.
 *
 * This is aelab's one atomic writer: every file it writes (tables, scripts, checkpoints, IDX
 * files) goes to PATH.tmp.<pid>.<counter> in the same directory, is flushed, fsync()ed and then
 * rename()d over PATH, so a reader (or a killed run) sees either the old file or the complete
 * new one, never a torn one (docs/architecture.md, "Outputs and atomic writes"). On any failure
 * the temp file is removed and the error names the path and the reason (strerror(errno): "No
 * space left on device", ...), as "PATH: error: WHAT: REASON".
 *
 * The runner's exiting allocators (xalloc.h) come with this header: its callers, which build
 * the outputs, use them throughout.
 */
#ifndef AE_FSUTIL_H
#define AE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common.h"
#include "xalloc.h"

/* Opens path for reading when it is a regular file, so that a FIFO, a directory or a device
 * given as an input is refused instead of blocking or being read as data: stat() first (nothing
 * else is opened), then open(O_NONBLOCK) and fstat() again on the descriptor (closing the race
 * with a file replaced in between), then blocking mode restored. Returns the descriptor
 * (O_CLOEXEC; *size, when size is not NULL, is the file's length), or -1 with why (why_cap
 * bytes) holding the reason without a "PATH: error:" prefix: "cannot open: No such file or
 * directory", "cannot open: a FIFO, not a regular file". */
int fs_open_regular(const char *path, unsigned long long *size, char *why, size_t why_cap);

/* Creates `path` and its missing parents (mode 0777 & ~umask); an existing directory is fine.
 * Fails (false, err filled with the component that failed and why) when a component exists and is
 * not a directory, or on permissions. */
bool fs_mkdir_p(const char *path, AeError *err);

/* Writes the n bytes at data to `path` atomically (temp + fsync + rename). The parent directory
 * must exist. Returns false (err filled, temp removed, `path` untouched) on failure. */
bool fs_write_atomic(const char *path, const void *data, size_t n, AeError *err);

/* fs_write_atomic for callers that phrase their own message: returns 0, or the errno of the
 * step that failed (the temp removed, path untouched). The checkpoint and IDX writers report
 * any failure as "PATH: error: cannot write: REASON". */
int fs_write_atomic_errno(const char *path, const void *data, size_t n);

/* Reads the whole file into a malloc'ed buffer with a terminating NUL (not counted in *n).
 * Returns NULL (err filled: path and strerror) on failure. Caller frees. n may be NULL. */
char *fs_read_file(const char *path, size_t *n, AeError *err);

/* True when `path` exists and is a directory (stat follows symlinks). */
bool fs_is_dir(const char *path);

/* True when `path` exists (any type). */
bool fs_exists(const char *path);

/* Removes the temp files (NAME.tmp.<pid>.<counter>) that processes no longer running left in
 * dir and its subdirectories (a run killed with SIGKILL, a power cut); a live process's are
 * kept, so a concurrent writer is never disturbed. Returns how many it removed. */
int fs_remove_stale_temps(const char *dir);

/* An output file being written: a temp file next to final_path until af_commit renames it. */
typedef struct AtomicFile AtomicFile;

/* Opens a fresh temp file next to final_path for writing. Returns NULL (err filled) when the
 * temp cannot be created (missing directory, permissions). Owned by the caller until af_commit
 * or af_abort, which free it. */
AtomicFile *af_open(const char *final_path, AeError *err);

/* The stream to write to; borrowed, valid until af_commit/af_abort. Do not fclose it. */
FILE *af_file(AtomicFile *af);

/* Flushes, checks the stream's error flag, fsyncs, closes and renames the temp over the final
 * path, then frees af. On failure removes the temp, frees af and returns false with err naming
 * the final path and the reason (e.g. "No space left on device"). af == NULL returns false and
 * leaves err as af_open filled it. */
bool af_commit(AtomicFile *af, AeError *err);

/* Closes and removes the temp file, leaving the final path untouched; frees af. NULL-safe. */
void af_abort(AtomicFile *af);

/* The PID a lock's holder wrote at the start of the lock file fd (runner/rundir.c,
 * runner/stagecache.c), or 0 when it cannot be read (yet). */
long fs_lock_holder(int fd);

#endif
