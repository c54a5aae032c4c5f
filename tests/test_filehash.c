/* tests/test_filehash.c — runner/filehash.c: content hashes (XXH3-128) against the library's
 * one-shot hash and a published test vector, the same bytes at two paths, a changed byte, and
 * the memo: in this process, in the index file (nothing read again), a `touch` (read again,
 * same hash), a file too recent for the index (git's "racy" files), damaged index lines, and
 * refusals (a missing file, a FIFO). */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "filehash.h"
#include "testutil.h"

/* Sets path's modification time to `ago` seconds before now. */
static void age(const char *path, long ago) {
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= ago;
    ts[1] = ts[0];
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static int index_lines(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, FILEHASH_INDEX_NAME);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}

static void test_content(void) {
    char hex[FILEHASH_HEX], hex2[FILEHASH_HEX], want[FILEHASH_HEX], why[600];
    /* XXH3-128 of no bytes, from xxHash's own test vectors */
    tu_write_file(tu_path("empty"), "", 0);
    CHECK(filehash_file(tu_path("empty"), NULL, hex, why, sizeof why));
    CHECK_STR(hex, "99aa06d3014798d86001c324468d497f");
    /* 3 MB + 7 bytes: the streaming reads (1 MB pieces) against the one-shot hash */
    size_t n = (3u << 20) + 7;
    unsigned char *b = malloc(n);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 24);
    tu_write_file(tu_path("a.bin"), b, n);
    XXH128_hash_t ref = XXH3_128bits(b, n);
    snprintf(want, sizeof want, "%016" PRIx64 "%016" PRIx64, (uint64_t)ref.high64,
             (uint64_t)ref.low64);
    CHECK(filehash_file(tu_path("a.bin"), NULL, hex, why, sizeof why));
    CHECK_STR(hex, want);
    filehash_bytes(b, n, hex2);
    CHECK_STR(hex2, want);
    /* the same bytes elsewhere: the same hash; one byte changed: another */
    tu_write_file(tu_path("copy.bin"), b, n);
    CHECK(filehash_file(tu_path("copy.bin"), NULL, hex2, why, sizeof why));
    CHECK_STR(hex2, want);
    b[n / 2] ^= 1;
    tu_write_file(tu_path("changed.bin"), b, n);
    CHECK(filehash_file(tu_path("changed.bin"), NULL, hex2, why, sizeof why));
    CHECK(strcmp(hex2, want) != 0);
    free(b);
}

static void test_memo(void) {
    char hex[FILEHASH_HEX], first[FILEHASH_HEX], why[600];
    const char *f = tu_path("data.bin"), *dir = tu_dir();
    tu_write_file(f, "some data\n", 10);
    age(f, 3600);
    filehash_forget();
    long r0 = filehash_nread();
    CHECK(filehash_file(f, dir, first, why, sizeof why));
    CHECK(filehash_nread() == r0 + 1);
    CHECK(index_lines(dir) == 1);
    /* the process's memo: nothing read */
    CHECK(filehash_file(f, dir, hex, why, sizeof why));
    CHECK(filehash_nread() == r0 + 1);
    CHECK_STR(hex, first);
    /* a new process (memo forgotten): the index, nothing read */
    filehash_forget();
    CHECK(filehash_file(f, dir, hex, why, sizeof why));
    CHECK(filehash_nread() == r0 + 1);
    CHECK_STR(hex, first);
    /* a touch: read again, same hash, the index's line replaced (not added to) */
    age(f, 1800);
    CHECK(filehash_file(f, dir, hex, why, sizeof why));
    CHECK(filehash_nread() == r0 + 2);
    CHECK_STR(hex, first);
    CHECK(index_lines(dir) == 1);
    /* a file modified just now: hashed, but not indexed; a new process reads it again */
    const char *g = tu_path("fresh.bin");
    tu_write_file(g, "fresh", 5);
    CHECK(filehash_file(g, dir, hex, why, sizeof why));
    CHECK(index_lines(dir) == 1);
    filehash_forget();
    long r1 = filehash_nread();
    CHECK(filehash_file(g, dir, hex, why, sizeof why));
    CHECK(filehash_nread() == r1 + 1);
    /* damaged lines are ignored, good ones still serve */
    char ipath[600], text[4096];
    snprintf(ipath, sizeof ipath, "%s/%s", dir, FILEHASH_INDEX_NAME);
    size_t n;
    unsigned char *old = tu_read_file(ipath, &n);
    int len = snprintf(text, sizeof text, "garbage\n1 2 3\n1 2 3 4 nothex%s\n%.*s", "zz", (int)n,
                       (const char *)old);
    free(old);
    tu_write_file(ipath, text, (size_t)len);
    filehash_forget();
    long r2 = filehash_nread();
    CHECK(filehash_file(f, dir, hex, why, sizeof why));
    CHECK(filehash_nread() == r2);
    CHECK_STR(hex, first);
}

static void test_refusals(void) {
    char hex[FILEHASH_HEX], why[600], want[700];
    const char *missing = tu_path("missing.bin");
    CHECK(!filehash_file(missing, NULL, hex, why, sizeof why));
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    CHECK_STR(why, want);
    const char *fifo = tu_path("fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(!filehash_file(fifo, NULL, hex, why, sizeof why));
    snprintf(want, sizeof want, "%s: cannot open: a FIFO, not a regular file", fifo);
    CHECK_STR(why, want);
}

int main(void) {
    tu_tmpdir("filehash");
    test_content();
    test_memo();
    test_refusals();
    return tu_tmpdir_done(tu_summary("test_filehash"));
}
