/* tests/testutil.h — a minimal harness: CHECK macros that count failures, and a summary.
 * Every test program returns nonzero when any check failed (never "NOT OK" with exit 0), and 77
 * to report a skip (printing why). */
#ifndef AE_TESTUTIL_H
#define AE_TESTUTIL_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_checks, tu_failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        tu_checks++;                                                                          \
        if (!(cond)) {                                                                        \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                     \
    } while (0)

/* |got - want| <= abs + rel*|want| */
#define CHECK_NEAR(got, want, abs_tol, rel_tol)                                               \
    do {                                                                                      \
        double tu_g = (double)(got), tu_w = (double)(want);                                   \
        tu_checks++;                                                                          \
        if (!(fabs(tu_g - tu_w) <= (abs_tol) + (rel_tol) * fabs(tu_w)) || isnan(tu_g)) {      \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s = %.9g, expected %.9g (abs %g rel %g)\n", \
                    __FILE__, __LINE__, #got, tu_g, tu_w, (double)(abs_tol),                  \
                    (double)(rel_tol));                                                       \
        }                                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                                  \
    do {                                                                                      \
        const char *tu_g = (got), *tu_w = (want);                                             \
        tu_checks++;                                                                          \
        if (!tu_g || strcmp(tu_g, tu_w) != 0) {                                               \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n   got: \"%s\"\n  want: \"%s\"\n",     \
                    __FILE__, __LINE__, #got, tu_g ? tu_g : "(null)", tu_w);                  \
        }                                                                                     \
    } while (0)

/* Prints the closing line and returns the exit status for main. */
static inline int tu_summary(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

/* ---- a temporary directory per test program ---- */

/* The directory tu_tmpdir made ("" before). */
static inline char *tu_dir(void) {
    static char dir[256];
    return dir;
}

/* Makes $TMPDIR (or /tmp)/aelab-test-NAME.XXXXXX, the directory tu_path and tu_tmpdir_done
 * use; exits 1 with the reason when it cannot. */
static inline void tu_tmpdir(const char *name) {
    const char *base = getenv("TMPDIR");
    snprintf(tu_dir(), 256, "%s/aelab-test-%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(tu_dir())) {
        fprintf(stderr, "%s: cannot create a temporary directory: %s\n", name, strerror(errno));
        exit(1);
    }
}

/* tu_dir()/name; the 256 most recent results stay valid. */
static inline const char *tu_path(const char *name) {
    static char bufs[256][512];
    static int next;
    char *p = bufs[next++ % 256];
    snprintf(p, 512, "%s/%s", tu_dir(), name);
    return p;
}

/* Removes the directory when rc is 0 (every check passed), else says where its files are
 * kept; returns rc, for `return tu_tmpdir_done(tu_summary(...))`. */
static inline int tu_tmpdir_done(int rc) {
    if (rc != 0) {
        fprintf(stderr, "files kept in %s\n", tu_dir());
        return rc;
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tu_dir());
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", tu_dir());
    return rc;
}

/* The whole file at path: *n bytes, in a malloc'ed buffer with 4096 zeroed bytes after them
 * (room for tests that grow it); aborts when it cannot be read. */
static inline unsigned char *tu_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) goto fail;
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) goto fail;
    *n = (size_t)len;
    unsigned char *b = calloc(*n + 4096, 1);
    if (!b || fread(b, 1, *n, f) != *n) goto fail;
    fclose(f);
    return b;
fail:
    fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
    abort();
}

/* Writes n bytes to path (created or truncated); aborts when it cannot. */
static inline void tu_write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(b, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write: %s\n", path, strerror(errno));
        abort();
    }
}

#endif
