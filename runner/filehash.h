/* runner/filehash.h — the content hash of a data file (XXH3, 128 bits), for stage keys
 * (runner/stagekey.h): the same bytes at another path or after a `touch` give the same hash, a
 * changed byte does not.
 *
 * Hashing a 50 MB data set takes a read of 50 MB, so hashes are memoised by the file's identity
 * (device, inode, size, modification time in ns): in this process, and in an index file
 * (FILEHASH_INDEX_NAME) under a directory the caller names (the stage cache's), so that a later
 * run reads nothing. The index is text, one "dev ino size mtime_ns hash" line per file, rewritten
 * atomically (runner/fsutil.h); concurrent writers may lose each other's lines, which only costs
 * a re-hash. A file modified less than FILEHASH_RACY_SECONDS before it was hashed is not put in
 * the index: a write in the same clock tick could leave the identity unchanged (git's "racy"
 * files). Damaged index lines are ignored.
 */
#ifndef AE_FILEHASH_H
#define AE_FILEHASH_H

#include <stdbool.h>
#include <stddef.h>

#define FILEHASH_HEX 33 /* 32 hex digits + NUL */
#define FILEHASH_INDEX_NAME "filehash.idx"
#define FILEHASH_INDEX_MAX 4096 /* lines kept; the oldest are dropped */
#define FILEHASH_RACY_SECONDS 2

/* The XXH3-128 of path's content into hex (32 lowercase hex digits, high half first). index_dir
 * (may be NULL: no index) holds the index; it must exist for the index to be written, and a
 * failure to read or write it is silent (it is only a memo). Returns false with why (cap bytes,
 * "PATH: cannot open: REASON", "PATH: read error: REASON") when the file cannot be read. */
bool filehash_file(const char *path, const char *index_dir, char hex[FILEHASH_HEX], char *why,
                   size_t cap);

/* The XXH3-128 of n bytes at p, in the same form. */
void filehash_bytes(const void *p, size_t n, char hex[FILEHASH_HEX]);

/* How many files filehash_file has read (hashed) in this process: for tests and -v. */
long filehash_nread(void);

/* Forgets the in-process memo (tests: as if a new process started). */
void filehash_forget(void);

#endif
