/* runner/filehash.c — content hashes of data files, memoised by file identity (filehash.h). */
#include "filehash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "fsutil.h"

typedef struct FileId {
    unsigned long long dev, ino, size;
    long long mtime_ns;
} FileId;

typedef struct Memo {
    FileId id;
    char hex[FILEHASH_HEX];
} Memo;

#define MEMO_MAX 64
static Memo memo[MEMO_MAX];
static int nmemo;
static long nread;

long filehash_nread(void) { return nread; }

void filehash_forget(void) { nmemo = 0; }

static void hex_of(XXH128_hash_t h, char hex[FILEHASH_HEX]) {
    snprintf(hex, FILEHASH_HEX, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64,
             (uint64_t)h.low64);
}

void filehash_bytes(const void *p, size_t n, char hex[FILEHASH_HEX]) {
    hex_of(XXH3_128bits(p, n), hex);
}

static bool same_id(const FileId *a, const FileId *b) {
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

static const char *memo_find(const FileId *id) {
    for (int i = 0; i < nmemo; i++)
        if (same_id(&memo[i].id, id)) return memo[i].hex;
    return NULL;
}

static void memo_add(const FileId *id, const char *hex) {
    if (nmemo == MEMO_MAX) { /* drop the oldest */
        memmove(memo, memo + 1, (MEMO_MAX - 1) * sizeof *memo);
        nmemo--;
    }
    memo[nmemo].id = *id;
    snprintf(memo[nmemo].hex, FILEHASH_HEX, "%s", hex);
    nmemo++;
}

/* ---- the index file ---- */

/* One line "dev ino size mtime_ns hash"; false for anything else. */
static bool parse_line(const char *line, Memo *m) {
    char hex[FILEHASH_HEX + 1];
    int used = 0;
    if (sscanf(line, "%llu %llu %llu %lld %33s%n", &m->id.dev, &m->id.ino, &m->id.size,
               &m->id.mtime_ns, hex, &used) != 5 || line[used] != '\0' ||
        strlen(hex) != FILEHASH_HEX - 1 || strspn(hex, "0123456789abcdef") != FILEHASH_HEX - 1)
        return false;
    memcpy(m->hex, hex, FILEHASH_HEX);
    return true;
}

/* The index's lines (malloc'ed, *n of them; NULL when there is none). */
static Memo *index_read(const char *path, int *n) {
    *n = 0;
    char *text = fs_read_file(path, NULL, NULL);
    if (!text) return NULL;
    Memo *v = NULL;
    int cap = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        Memo m;
        if (!parse_line(line, &m)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            v = realloc(v, (size_t)cap * sizeof *v);
            AE_ASSERT(v);
        }
        v[(*n)++] = m;
    }
    free(text);
    return v;
}

/* Rewrites the index with m added (replacing lines of the same device and inode), at most
 * FILEHASH_INDEX_MAX lines, the newest last. Failures are silent. */
static void index_add(const char *path, const Memo *m) {
    int n;
    Memo *v = index_read(path, &n);
    size_t cap = (size_t)(n + 1) * 80 + 1, len = 0;
    char *out = ae_xmalloc(cap);
    int first = n + 1 > FILEHASH_INDEX_MAX ? n + 1 - FILEHASH_INDEX_MAX : 0;
    for (int i = first; i <= n; i++) {
        const Memo *e = i < n ? &v[i] : m;
        if (i < n && e->id.dev == m->id.dev && e->id.ino == m->id.ino) continue;
        len += (size_t)snprintf(out + len, cap - len, "%llu %llu %llu %lld %s\n", e->id.dev,
                                e->id.ino, e->id.size, e->id.mtime_ns, e->hex);
    }
    fs_write_atomic_errno(path, out, len);
    free(out);
    free(v);
}

static const char *index_find(const char *path, const FileId *id, char hex[FILEHASH_HEX]) {
    int n;
    Memo *v = index_read(path, &n);
    const char *found = NULL;
    for (int i = n - 1; i >= 0 && !found; i--)
        if (same_id(&v[i].id, id)) {
            memcpy(hex, v[i].hex, FILEHASH_HEX);
            found = hex;
        }
    free(v);
    return found;
}

/* ---- hashing ---- */

static bool hash_fd(int fd, const char *path, char hex[FILEHASH_HEX], char *why, size_t cap) {
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = ae_xmalloc(CHUNK);
    XXH3_state_t *st = XXH3_createState();
    AE_ASSERT(st);
    XXH3_128bits_reset(st);
    bool ok = true;
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(why, cap, "%s: read error: %s", path, strerror(errno));
            ok = false;
            break;
        }
        if (got == 0) break;
        XXH3_128bits_update(st, buf, (size_t)got);
    }
    if (ok) hex_of(XXH3_128bits_digest(st), hex);
    XXH3_freeState(st);
    free(buf);
    nread += ok;
    return ok;
}

bool filehash_file(const char *path, const char *index_dir, char hex[FILEHASH_HEX], char *why,
                   size_t cap) {
    char reason[256];
    int fd = fs_open_regular(path, NULL, reason, sizeof reason);
    if (fd < 0) {
        snprintf(why, cap, "%s: %s", path, reason);
        return false;
    }
    struct stat st;
    AE_ASSERT(fstat(fd, &st) == 0);
    FileId id = {(unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size,
                 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
    const char *known = memo_find(&id);
    bool in_memo = known != NULL;
    char ipath[4200] = "";
    if (index_dir && index_dir[0])
        snprintf(ipath, sizeof ipath, "%s/%s", index_dir, FILEHASH_INDEX_NAME);
    if (!known && ipath[0]) known = index_find(ipath, &id, hex);
    if (known) {
        if (known != hex) memcpy(hex, known, FILEHASH_HEX);
        if (!in_memo) memo_add(&id, hex);
        close(fd);
        return true;
    }
    bool ok = hash_fd(fd, path, hex, why, cap);
    close(fd);
    if (!ok) return false;
    memo_add(&id, hex);
    /* a file written in the last ticks may be written again with the same identity */
    if (ipath[0] && time(NULL) - st.st_mtim.tv_sec >= FILEHASH_RACY_SECONDS) {
        Memo m = {.id = id};
        memcpy(m.hex, hex, FILEHASH_HEX);
        index_add(ipath, &m);
    }
    return true;
}
