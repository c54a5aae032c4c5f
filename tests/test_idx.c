/* tests/test_idx.c — IDX and CSV loading and IDX writing (runner/data.c), the in-memory Dataset
 * (engine/dataset.c) and data set lookup (runner/datasets.c).
 *
 * Fixtures are generated at run time in a temporary directory: round trips through idx_write,
 * then one damaged file per distinct error, each checked against its exact message. Then the
 * real MNIST and Fashion-MNIST files (found through datasets_resolve; `make test` runs
 * `make data` first) are checked against their published counts and label histograms.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "datasets.h"
#include "testutil.h"

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "wb");
    AE_ASSERT(gz != NULL);
    AE_ASSERT(gzwrite(gz, data, (unsigned)n) == (int)n);
    AE_ASSERT(gzclose(gz) == Z_OK);
}

static void put_be32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* A raw IDX image file: header (magic, n, rows, cols) + body bytes (n*rows*cols + extra). */
static size_t make_images(unsigned char *buf, uint32_t magic, uint32_t n, uint32_t rows,
                          uint32_t cols, long extra) {
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    size_t body = (size_t)((long)(n * rows * cols) + extra);
    for (size_t i = 0; i < body; i++) buf[16 + i] = (unsigned char)(i * 7 + 3);
    return 16 + body;
}

static size_t make_labels(unsigned char *buf, uint32_t n, int maxlab, long extra) {
    put_be32(buf, 0x00000801);
    put_be32(buf + 4, n);
    size_t body = (size_t)((long)n + extra);
    for (size_t i = 0; i < body; i++) buf[8 + i] = (unsigned char)(i % (size_t)(maxlab + 1));
    return 8 + body;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Loads and expects failure with exactly the message want. */
static void expect_fail(const char *images, const char *labels, int max_classes,
                        const char *want, int line) {
    AeError err = {{0}};
    Dataset *d = dataset_load_idx(images, labels, max_classes, &err);
    tu_checks++;
    if (d || strcmp(err.msg, want) != 0) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: load(%s, %s)%s\n   got: \"%s\"\n  want: \"%s\"\n",
                __FILE__, line, images, labels, d ? " succeeded" : "", err.msg, want);
    }
    dataset_free(d);
}
#define EXPECT_FAIL(i, l, mc, ...)                                                            \
    do {                                                                                      \
        char want_[2048];                                                                     \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                           \
        expect_fail((i), (l), (mc), want_, __LINE__);                                         \
    } while (0)

/* Expects failure with a message starting with prefix. */
static void expect_fail_prefix(const char *images, const char *labels, const char *prefix,
                               int line) {
    AeError err = {{0}};
    Dataset *d = dataset_load_idx(images, labels, 0, &err);
    tu_checks++;
    if (d || strncmp(err.msg, prefix, strlen(prefix)) != 0) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: load(%s)\n   got: \"%s\"\n  want prefix: \"%s\"\n",
                __FILE__, line, images, err.msg, prefix);
    }
    dataset_free(d);
}

static void test_round_trip(void) {
    enum { N = 7, R = 3, C = 4 };
    uint8_t img[N * R * C], lab[N];
    for (int i = 0; i < N * R * C; i++) img[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)((i * 3) % 5);
    int idims[3] = {N, R, C}, ldims[1] = {N};
    AeError err = {{0}};
    const char *names[2][2] = {{"rt-images", "rt-labels"}, {"rt-images.gz", "rt-labels.gz"}};
    for (int g = 0; g < 2; g++) {
        const char *ip = tu_path(names[g][0]), *lp = tu_path(names[g][1]);
        CHECK(idx_write(ip, img, idims, 3, &err));
        CHECK(idx_write(lp, lab, ldims, 1, &err));
        size_t n;
        unsigned char *raw = tu_read_file(ip, &n);
        if (g == 0) {
            CHECK(n == 16 + N * R * C);
            CHECK(raw[0] == 0 && raw[1] == 0 && raw[2] == 8 && raw[3] == 3);
        } else {
            CHECK(raw[0] == 0x1f && raw[1] == 0x8b); /* really gzip */
        }
        free(raw);
        Dataset *d = dataset_load_idx(ip, lp, 0, &err);
        CHECK(d != NULL);
        if (!d) {
            fprintf(stderr, "  %s\n", err.msg);
            continue;
        }
        CHECK(d->n == N && d->rows == R && d->cols == C && d->D == R * C);
        CHECK(d->C == 5);
        CHECK(memcmp(d->images, img, sizeof img) == 0);
        CHECK(memcmp(d->labels, lab, sizeof lab) == 0);

        int counts[5];
        dataset_label_counts(d, counts);
        CHECK(counts[0] == 2 && counts[1] == 1 && counts[2] == 1 && counts[3] == 2 &&
              counts[4] == 1);
        Dataset *h = dataset_head(d, 3, &err);
        CHECK(h && h->n == 3 && h->D == R * C && h->C == 5);
        CHECK(memcmp(h->images, img, 3 * R * C) == 0 && memcmp(h->labels, lab, 3) == 0);
        dataset_free(h);
        h = dataset_head(d, 100, &err); /* clamped */
        CHECK(h && h->n == N);
        dataset_free(h);
        dataset_free(d);

        int n2 = 0, r2 = 0, c2 = 0;
        CHECK(idx_read_header(ip, &n2, &r2, &c2, &err) && n2 == N && r2 == R && c2 == C);
    }
    /* Mixed: gzip images with plain labels; no temp file is left behind. */
    Dataset *d = dataset_load_idx(tu_path("rt-images.gz"), tu_path("rt-labels"), 0, &err);
    CHECK(d && d->n == N);
    dataset_free(d);
    DIR *dir = opendir(tu_dir());
    AE_ASSERT(dir != NULL);
    int ntemps = 0;
    for (struct dirent *e; (e = readdir(dir));) ntemps += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dir);
    CHECK(ntemps == 0);
    /* Overwriting is atomic and replaces the old contents. */
    int small[3] = {1, 2, 2};
    CHECK(idx_write(tu_path("rt-images"), img, small, 3, &err));
    int n2 = 0, r2 = 0, c2 = 0;
    CHECK(idx_read_header(tu_path("rt-images"), &n2, &r2, &c2, &err) && n2 == 1 && r2 == 2);
    /* Writing into a missing directory fails with the reason. */
    CHECK(!idx_write("/nonexistent-dir/x", img, small, 3, &err));
    CHECK(strstr(err.msg, "cannot write: No such file or directory") != NULL);
}

static void test_corrupt(void) {
    static unsigned char buf[1 << 16];
    size_t n;
    /* good companions: 5 images 2x3, 5 labels */
    const char *good_i = tu_path("good-images"), *good_l = tu_path("good-labels");
    tu_write_file(good_i, buf, make_images(buf, 0x803, 5, 2, 3, 0));
    tu_write_file(good_l, buf, make_labels(buf, 5, 9, 0));
    AeError err;
    Dataset *d = dataset_load_idx(good_i, good_l, 0, &err);
    CHECK(d && d->n == 5 && d->C == 5);
    dataset_free(d);

    /* missing file, directory */
    EXPECT_FAIL(tu_path("nope"), good_l, 0, "%s: error: cannot open: No such file or directory",
                tu_path("nope"));
    EXPECT_FAIL(good_i, tu_path("nope-l"), 0, "%s: error: cannot open: No such file or directory",
                tu_path("nope-l"));
    EXPECT_FAIL(tu_dir(), good_l, 0, "%s: error: cannot open: a directory, not a regular file", tu_dir());

    /* labels file given as images, and the other way round: wrong rank */
    EXPECT_FAIL(good_l, good_l, 0,
                "%s: error: bad magic 0x00000801 at byte 0, expected 0x00000803 (idx3 images)",
                good_l);
    EXPECT_FAIL(good_i, good_i, 0,
                "%s: error: bad magic 0x00000803 at byte 0, expected 0x00000801 (idx1 labels)",
                good_i);
    /* not IDX at all */
    const char *p = tu_path("zip");
    tu_write_file(p, "PK\003\004 not idx data", 17);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: bad magic 0x504b0304 at byte 0, expected 0x00000803 (idx3 images); "
                "not an IDX file",
                p);
    /* float elements (type 0x0d) */
    p = tu_path("float-images");
    tu_write_file(p, buf, make_images(buf, 0x00000D03, 5, 2, 3, 0));
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: unsupported element type 0x0d at byte 2, expected 0x08 (unsigned byte)",
                p);
    /* empty file and truncated header */
    p = tu_path("empty");
    tu_write_file(p, "", 0);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: truncated header: expected 16 bytes (idx3 images header), found 0", p);
    p = tu_path("short-header");
    n = make_images(buf, 0x803, 5, 2, 3, 0);
    tu_write_file(p, buf, 10);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: truncated header: expected 16 bytes (idx3 images header), found 10", p);
    /* zero dimension */
    p = tu_path("zero-dim");
    tu_write_file(p, buf, make_images(buf, 0x803, 5, 0, 3, 0));
    EXPECT_FAIL(p, good_l, 0, "%s: error: dimension 1 is 0 at byte 8, expected > 0", p);
    /* implausible shape (would be 4 GiB * 784) */
    p = tu_path("huge");
    make_images(buf, 0x803, 0xFFFFFFFFu, 28, 28, -(long)(0xFFFFFFFFull * 784 % (1ull << 32)));
    tu_write_file(p, buf, 16);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: implausible shape 4294967295 x 28 x 28 at byte 4, limits: 4294967296 "
                "bytes, 16777216 features per image",
                p);
    /* truncated body, plain */
    p = tu_path("trunc-images");
    n = make_images(buf, 0x803, 5, 2, 3, 0);
    tu_write_file(p, buf, n - 4);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: truncated: expected 46 bytes (16-byte header + 5 x 2 x 3), found 42", p);
    /* trailing bytes, plain */
    p = tu_path("long-images");
    tu_write_file(p, buf, make_images(buf, 0x803, 5, 2, 3, 3));
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: 3 trailing bytes after byte 46: expected 46 bytes, found 49", p);
    p = tu_path("long-labels");
    tu_write_file(p, buf, make_labels(buf, 5, 4, 1));
    EXPECT_FAIL(good_i, p, 0,
                "%s: error: 1 trailing bytes after byte 13: expected 13 bytes, found 14", p);
    /* truncated and over-long decompressed data inside a valid gzip stream */
    p = tu_path("trunc-images.gz");
    n = make_images(buf, 0x803, 5, 2, 3, 0);
    write_gz(p, buf, n - 5);
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: truncated: expected 46 bytes (decompressed) (16-byte header + 5 x 2 x "
                "3), found 41",
                p);
    p = tu_path("long-images.gz");
    write_gz(p, buf, make_images(buf, 0x803, 5, 2, 3, 2));
    EXPECT_FAIL(p, good_l, 0,
                "%s: error: 2 trailing bytes after byte 46: expected 46 bytes (decompressed), "
                "found 48",
                p);
    /* damaged gzip: CRC trailer flipped, compressed data cut short, garbage in the middle */
    n = make_images(buf, 0x803, 100, 10, 10, 0);
    {
        static unsigned char lb[200];
        tu_write_file(tu_path("good100-labels"), lb, make_labels(lb, 100, 9, 0));
    }
    const char *l100 = tu_path("good100-labels");
    const char *gz = tu_path("good100.gz");
    write_gz(gz, buf, n);
    d = dataset_load_idx(gz, l100, 0, &err);
    CHECK(d && d->n == 100);
    dataset_free(d);
    size_t gzn;
    unsigned char *gzb = tu_read_file(gz, &gzn);
    gzb[gzn - 6] ^= 0x5a; /* inside the CRC32 of the trailer */
    p = tu_path("badcrc.gz");
    tu_write_file(p, gzb, gzn);
    EXPECT_FAIL(p, l100, 0, "%s: error: damaged gzip stream: incorrect data check", p);
    gzb[gzn - 6] ^= 0x5a;
    p = tu_path("cut.gz");
    tu_write_file(p, gzb, gzn / 2);
    EXPECT_FAIL(p, l100, 0,
                "%s: error: damaged gzip stream: compressed data ends early (truncated .gz file?)",
                p);
    p = tu_path("garbage.gz");
    for (size_t i = 20; i < 40 && i < gzn; i++) gzb[i] = (unsigned char)(0xff - i);
    tu_write_file(p, gzb, gzn);
    {
        char want[600];
        snprintf(want, sizeof want, "%s: error: damaged gzip stream: ", p);
        expect_fail_prefix(p, l100, want, __LINE__);
    }
    free(gzb);
    /* a tiny gzip file that claims 47 MB */
    p = tu_path("claims-huge.gz");
    n = make_images(buf, 0x803, 60000, 28, 28, -(long)(60000 * 784));
    write_gz(p, buf, 16);
    {
        /* with matching labels the size check fires before anything is allocated */
        static unsigned char lb[60008];
        const char *lp = tu_path("l60000");
        tu_write_file(lp, lb, make_labels(lb, 60000, 9, 0));
        size_t gzsz;
        free(tu_read_file(p, &gzsz));
        EXPECT_FAIL(p, lp, 0,
                    "%s: error: truncated: expected 47040016 bytes (16-byte header + 60000 x 28 x "
                    "28) but %zu bytes of gzip cannot hold that many",
                    p, gzsz);
    }
    /* labels out of range */
    p = tu_path("bad-labels");
    n = make_labels(buf, 5, 4, 0);
    buf[8 + 3] = 10;
    tu_write_file(p, buf, n);
    EXPECT_FAIL(good_i, p, 0, "%s: error: label 10 at byte 11 out of range, expected < 10", p);
    EXPECT_FAIL(good_i, good_l, 3, "%s: error: label 3 at byte 11 out of range, expected < 3",
                good_l);
    /* count mismatch */
    p = tu_path("six-labels");
    tu_write_file(p, buf, make_labels(buf, 6, 4, 0));
    EXPECT_FAIL(good_i, p, 0,
                "%s: error: count mismatch: 6 labels at byte 4, expected 5 (the number of images "
                "in %s)",
                p, good_i);

    /* idx_read_header reports the same header errors */
    int hn, hr, hc;
    CHECK(!idx_read_header(good_l, &hn, &hr, &hc, &err));
    char want[1024];
    snprintf(want, sizeof want,
             "%s: error: bad magic 0x00000801 at byte 0, expected 0x00000803 (idx3 images)",
             good_l);
    CHECK_STR(err.msg, want);
}

/* Expects idx_check_pair to fail with exactly the message want (or succeed when want is NULL). */
static void expect_check(const char *images, const char *labels, const char *want, int line) {
    AeError err = {{0}};
    int n = 0, r = 0, c = 0;
    bool ok = idx_check_pair(images, labels, &n, &r, &c, &err);
    tu_checks++;
    if (want ? ok || strcmp(err.msg, want) != 0 : !ok) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: idx_check_pair(%s, %s)%s\n   got: \"%s\"\n  want: \"%s\"\n",
                __FILE__, line, images, labels, ok ? " succeeded" : "", ok ? "" : err.msg,
                want ? want : "success");
    }
}
#define EXPECT_CHECK(i, l, ...)                                                               \
    do {                                                                                      \
        char want_[2048];                                                                     \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                           \
        expect_check((i), (l), want_, __LINE__);                                              \
    } while (0)

/* bytes as a gzip member (deflate level 6), appended to the file at path */
static size_t append_gz(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "ab");
    AE_ASSERT(gz != NULL);
    AE_ASSERT(n == 0 || gzwrite(gz, data, (unsigned)n) == (int)n);
    AE_ASSERT(gzclose(gz) == Z_OK);
    struct stat st;
    AE_ASSERT(stat(path, &st) == 0);
    return (size_t)st.st_size;
}

static void append_raw(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "ab");
    AE_ASSERT(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

/* The file's length against its header (idx_check_pair, `aelab check`), trailing garbage after
 * a gzip stream, multi-member gzip, and bounded inflation (dataset_load_idx_first). */
static void test_sizes(void) {
    static unsigned char buf[1 << 16], lb[256];
    AeError err;
    size_t n = make_images(buf, 0x803, 100, 4, 4, 0); /* 1616 bytes */
    size_t ln = make_labels(lb, 100, 9, 0);           /* 108 bytes, labels 0..9 */
    const char *img = tu_path("s-img"), *lab = tu_path("s-lab");
    tu_write_file(img, buf, n);
    tu_write_file(lab, lb, ln);
    expect_check(img, lab, NULL, __LINE__);
    int cn = 0, cr = 0, cc = 0;
    CHECK(idx_check_pair(img, lab, &cn, &cr, &cc, &err) && cn == 100 && cr == 4 && cc == 4);
    const char *p = tu_path("s-img-cut");
    tu_write_file(p, buf, 1000);
    EXPECT_CHECK(p, lab, "%s: error: truncated: expected 1616 bytes (16-byte header + 100 x 4 x 4), found 1000", p);
    p = tu_path("s-lab-long");
    tu_write_file(p, lb, ln);
    append_raw(p, "xy", 2);
    EXPECT_CHECK(img, p, "%s: error: 2 trailing bytes after byte 108: expected 108 bytes, found 110", p);

    /* gzip: ISIZE agrees (cheap), content short or long (inflated and counted) */
    const char *gi = tu_path("s-img.gz"), *gl = tu_path("s-lab.gz");
    unlink(gi), unlink(gl);
    size_t gisize = append_gz(gi, buf, n);
    append_gz(gl, lb, ln);
    expect_check(gi, gl, NULL, __LINE__);
    p = tu_path("s-short.gz");
    unlink(p);
    append_gz(p, buf, 900);
    EXPECT_CHECK(p, gl, "%s: error: truncated: expected 1616 bytes (decompressed) (16-byte header + 100 x 4 x 4), found 900", p);
    p = tu_path("s-long.gz");
    unlink(p);
    append_gz(p, buf, n);
    append_gz(p, "abc", 3); /* a second member: 3 bytes more */
    EXPECT_CHECK(p, gl, "%s: error: 3 trailing bytes after byte 1616: expected 1616 bytes (decompressed), found 1619", p);

    /* multi-member: three members are one stream, for check and load */
    const char *gm = tu_path("s-multi.gz");
    unlink(gm);
    append_gz(gm, buf, 500);
    append_gz(gm, buf + 500, 0); /* an empty member too */
    append_gz(gm, buf + 500, n - 500);
    expect_check(gm, gl, NULL, __LINE__);
    Dataset *d = dataset_load_idx(gm, gl, 0, &err);
    CHECK(d && d->n == 100 && memcmp(d->images, buf + 16, 1600) == 0 && d->C == 10);
    dataset_free(d);
    d = dataset_load_idx_first(gm, gl, 0, 7, &err);
    CHECK(d && d->n == 7 && memcmp(d->images, buf + 16, 7 * 16) == 0 && d->C == 10);
    dataset_free(d);

    /* trailing garbage after the stream: refused with the offset in the file, load and check */
    p = tu_path("s-garbage.gz");
    unlink(p);
    append_gz(p, buf, n);
    append_raw(p, "\0\0\0\0\0", 5);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: error: trailing garbage after the gzip stream: 5 bytes at byte %zu of the file "
             "(after 1 member, 1616 bytes decompressed) are not another gzip member",
             p, gisize);
    expect_check(p, gl, want, __LINE__);
    expect_fail(p, gl, 0, want, __LINE__);
    p = tu_path("s-garbage-lab.gz");
    unlink(p);
    size_t lsize = append_gz(p, lb, ln);
    append_raw(p, "\x1f", 1);
    EXPECT_FAIL(gi, p, 0,
                "%s: error: trailing garbage after the gzip stream: 1 bytes at byte %zu of the file "
                "(after 1 member, 108 bytes decompressed) are not another gzip member",
                p, lsize);

    /* a subset reads only its images: the labels are all read (C and the range check are the
     * whole file's); a label out of range past the subset is still refused */
    d = dataset_load_idx_first(img, lab, 0, 3, &err);
    CHECK(d && d->n == 3 && d->C == 10 && memcmp(d->images, buf + 16, 48) == 0);
    CHECK(d && d->labels[0] == 0 && d->labels[2] == 2);
    dataset_free(d);
    d = dataset_load_idx_first(gi, gl, 0, 1000, &err); /* clamped to the count */
    CHECK(d && d->n == 100);
    dataset_free(d);
    p = tu_path("s-lab-bad");
    lb[8 + 90] = 12;
    tu_write_file(p, lb, ln);
    lb[8 + 90] = 0;
    d = dataset_load_idx_first(img, p, 0, 3, &err);
    CHECK(d == NULL);
    snprintf(want, sizeof want, "%s: error: label 12 at byte 98 out of range, expected < 10", p);
    CHECK_STR(err.msg, want);

    /* bounded inflation: 100 images, then 3 MiB more than the header declares; refused after
     * DATAIN_SLACK (1 MiB) past the end, with or without a subset; check says the same */
    p = tu_path("s-bomb.gz");
    unlink(p);
    {
        gzFile gz = gzopen(p, "wb");
        AE_ASSERT(gz && gzwrite(gz, buf, (unsigned)n) == (int)n);
        static unsigned char zeros[1 << 16];
        for (int k = 0; k < 48; k++) AE_ASSERT(gzwrite(gz, zeros, sizeof zeros) == (int)sizeof zeros);
        AE_ASSERT(gzclose(gz) == Z_OK);
    }
    snprintf(want, sizeof want,
             "%s: error: more than 1048576 trailing bytes after byte 1616: expected 1616 bytes "
             "(decompressed); the stream inflates past what its header declares (stopped reading "
             "there)",
             p);
    expect_check(p, gl, want, __LINE__);
    expect_fail(p, gl, 0, want, __LINE__);
    d = dataset_load_idx_first(p, gl, 0, 10, &err);
    CHECK(d == NULL);
    CHECK_STR(err.msg, want);
    dataset_free(d);
}

static void test_csv(void) {
    AeError err = {{0}};
    const char *p = tu_path("a.csv");
    const char *txt = "pix1,pix2,pix3,pix4,label\n0,255,12,13,3\n1,2,3,4.4,0\n\n9,8,7,6,1\n";
    tu_write_file(p, txt, strlen(txt));
    Dataset *d = dataset_load_csv(p, -1, CSV_PIXELS_BYTE, &err);
    CHECK(d != NULL);
    if (d) {
        CHECK(d->n == 3 && d->D == 4 && d->rows == 2 && d->cols == 2 && d->C == 4);
        CHECK(d->labels[0] == 3 && d->labels[1] == 0 && d->labels[2] == 1);
        CHECK(d->images[0] == 0 && d->images[1] == 255 && d->images[7] == 4 &&
              d->images[8] == 9);
    } else {
        fprintf(stderr, "  %s\n", err.msg);
    }
    dataset_free(d);

    /* label first, no header, gzip, a non-square row */
    p = tu_path("b.csv.gz");
    txt = "2,1,2,3\n0,4,5,6\n";
    write_gz(p, txt, strlen(txt));
    d = dataset_load_csv(p, 0, CSV_PIXELS_BYTE, &err);
    CHECK(d && d->n == 2 && d->D == 3 && d->rows == 1 && d->cols == 3 && d->C == 3);
    CHECK(d && d->images[3] == 4 && d->labels[0] == 2);
    dataset_free(d);

    /* a UTF-8 byte-order mark at the start is dropped: before data, before a header, in gzip */
    const char *bom_ok[] = {"\xEF\xBB\xBF" "1,2,3,4,0\n5,6,7,8,1\n",
                            "\xEF\xBB\xBF" "a,b,c,d,label\n1,2,3,4,0\n5,6,7,8,1\n"};
    for (size_t k = 0; k < 2; k++) {
        p = tu_path("bom.csv");
        tu_write_file(p, bom_ok[k], strlen(bom_ok[k]));
        d = dataset_load_csv(p, -1, CSV_PIXELS_BYTE, &err);
        CHECK(d && d->n == 2 && d->D == 4 && d->rows == 2 && d->C == 2);
        CHECK(d && d->images[0] == 1 && d->labels[1] == 1);
        dataset_free(d);
    }
    p = tu_path("bom.csv.gz");
    write_gz(p, bom_ok[0], strlen(bom_ok[0]));
    d = dataset_load_csv(p, 0, CSV_PIXELS_BYTE, &err);
    CHECK(d && d->n == 2 && d->D == 4 && d->labels[0] == 1 && d->images[0] == 2);
    dataset_free(d);

    /* pixels: unit scales [0, 1] to 0..255 (round(255 v)); label_column: first, N, auto */
    p = tu_path("unit.csv");
    txt = "3,0.5,0,1\n1,0.25,0.75,0.1\n";
    tu_write_file(p, txt, strlen(txt));
    d = dataset_load_csv(p, CSV_LABEL_FIRST, CSV_PIXELS_UNIT, &err);
    CHECK(d && d->n == 2 && d->D == 3 && d->C == 4 && d->labels[0] == 3 && d->labels[1] == 1);
    CHECK(d && d->images[0] == 128 && d->images[1] == 0 && d->images[2] == 255);
    CHECK(d && d->images[3] == 64 && d->images[4] == 191 && d->images[5] == 26);
    dataset_free(d);
    d = dataset_load_csv(p, CSV_LABEL_FIRST, CSV_PIXELS_BYTE, &err); /* as bytes: rounded */
    CHECK(d && d->images[0] == 1 && d->images[2] == 1 && d->images[3] == 0);
    dataset_free(d);
    p = tu_path("mid.csv");
    txt = "a,label,b\n10,2,30\n40,0,60\n";
    tu_write_file(p, txt, strlen(txt));
    d = dataset_load_csv(p, 1, CSV_PIXELS_AUTO, &err);
    CHECK(d && d->n == 2 && d->D == 2 && d->labels[0] == 2 && d->images[1] == 30 && d->C == 3);
    dataset_free(d);
    /* auto: a label-last file with a header, and one without whose first column is a pixel */
    p = tu_path("last.csv");
    txt = "0,5,200,3\n0,9,100,1\n0,0,50,3\n";
    tu_write_file(p, txt, strlen(txt));
    d = dataset_load_csv(p, CSV_LABEL_AUTO, CSV_PIXELS_AUTO, &err);
    CHECK(d && d->n == 3 && d->labels[0] == 3 && d->C == 4 && d->images[1] == 5);
    dataset_free(d);

    struct {
        const char *text, *want; /* want: the message after "PATH: error: " */
        int label_col;
        CsvPixels pixels;
    } guess[] = {
        {"label,a,b\n1,20,30\n2,40,0\n",
         "the header (record 1) names column 1 the label, but label_column: auto takes the last "
         "column (3); set label_column: first", CSV_LABEL_AUTO, CSV_PIXELS_AUTO},
        {"a,b,Target ,c\n1,2,3,4\n", "the header (record 1) names column 3 the label, but "
         "label_column: auto takes the last column (4); set label_column: 2", CSV_LABEL_AUTO,
         CSV_PIXELS_AUTO},
        {"4,100,0\n2,100,0\n", "column 1 holds integers 0..9 like labels (2 distinct values) "
         "but the last column, which label_column: auto takes as the label, holds one value "
         "only (largest 0): a label-first file? set label_column: first (or label_column: last "
         "to keep the last column)", CSV_LABEL_AUTO, CSV_PIXELS_AUTO},
        {"1,0.5,2\n", "every pixel value lies in [0, 1], with fractions (record 1, column 2: "
         "0.5): pixels already scaled to [0, 1]? set pixels: unit (or pixels: byte to read them "
         "as 0..255)", CSV_LABEL_LAST, CSV_PIXELS_AUTO},
        {"1,0.5,1.5\n", "record 1, column 3: pixel value 1.5 out of range, expected 0..1 "
         "(pixels: unit)", CSV_LABEL_FIRST, CSV_PIXELS_UNIT},
        {"1,0.5,0.5\n", "record 1, column 3: label 0.5, expected an integer 0..255 "
         "(label_column: auto takes the last column; set label_column: first, or N, if the "
         "label is elsewhere)", CSV_LABEL_AUTO, CSV_PIXELS_UNIT},
    };
    for (size_t k = 0; k < sizeof guess / sizeof guess[0]; k++) {
        p = tu_path("guess.csv");
        tu_write_file(p, guess[k].text, strlen(guess[k].text));
        char want[1024];
        snprintf(want, sizeof want, "%s: error: %s", p, guess[k].want);
        err.msg[0] = '\0';
        d = dataset_load_csv(p, guess[k].label_col, guess[k].pixels, &err);
        CHECK(d == NULL);
        CHECK_STR(err.msg, want);
        dataset_free(d);
    }
    /* the same files with the key set: accepted */
    p = tu_path("guess.csv");
    tu_write_file(p, guess[2].text, strlen(guess[2].text));
    d = dataset_load_csv(p, CSV_LABEL_LAST, CSV_PIXELS_AUTO, &err);
    CHECK(d && d->C == 1);
    dataset_free(d);
    d = dataset_load_csv(p, CSV_LABEL_FIRST, CSV_PIXELS_AUTO, &err);
    CHECK(d && d->C == 5 && d->labels[0] == 4 && d->images[0] == 100);
    dataset_free(d);

    struct {
        const char *text, *want; /* want: the message after "PATH: error: " */
        int label_col;
    } bad[] = {
        {"1,2,3\n1,x,3\n", "record 2, column 2: expected a number, got \"x\"", -1},
        {"1,2,3\n1,2\n", "record 2: 2 columns, expected 3 (as in the first record)", -1},
        {"h1,h2\n1,256\n", "record 2, column 2: label 256, expected an integer 0..255", -1},
        {"1,2.5\n", "record 1, column 2: label 2.5, expected an integer 0..255", -1},
        {"300,2\n", "record 1, column 1: pixel value 300 out of range, expected 0..255", -1},
        {"1,2\n", "label column 5 out of range: records have 2 columns", 5},
        {"only\n", "no data records", -1},
        {"", "no data records", -1},
        {"7\n", "record 1: 1 column, expected a label and pixels", -1},
        {"1,2,3\n\xEF\xBB\xBF" "4,5,6\n", "record 2, column 1: expected a number, got \"???4\"", -1},
        {"1,2,3\n4,\xEF\xBB\xBF" "5,6\n", "record 2, column 2: expected a number, got \"???5\"", -1},
        {"\xEF\xBB\xBF", "no data records", -1},
        {"\xEF\xBB\xBF" "1,2,3\n4,5,\xEF\xBB\xBF" "6\n", "record 2, column 3: expected a number, got \"???6\"", -1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        p = tu_path("bad.csv");
        tu_write_file(p, bad[k].text, strlen(bad[k].text));
        char want[1024];
        snprintf(want, sizeof want, "%s: error: %s", p, bad[k].want);
        err.msg[0] = '\0';
        d = dataset_load_csv(p, bad[k].label_col, CSV_PIXELS_BYTE, &err);
        CHECK(d == NULL);
        CHECK_STR(err.msg, want);
        dataset_free(d);
    }
    d = dataset_load_csv(tu_path("none.csv"), -1, CSV_PIXELS_BYTE, &err);
    CHECK(d == NULL);
    char want[1024];
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory",
             tu_path("none.csv"));
    CHECK_STR(err.msg, want);
}

static void test_resolve(void) {
    char a[512], b[512], c[512], e[512], why[2048];
    CHECK(!datasets_resolve("cifar", a, b, c, e, sizeof a, why, sizeof why));
    CHECK_STR(why, "unknown data set 'cifar'; known: mnist, fashion-mnist");
    CHECK(datasets_known("mnist") && datasets_known("fashion-mnist") && !datasets_known("x"));

    /* AELAB_DATA wins; plain is preferred to .gz; a missing file is named. */
    char cwd[1024];
    AE_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    char root[600], dir[700];
    snprintf(root, sizeof root, "%s/root", tu_dir());
    snprintf(dir, sizeof dir, "%s/mnist", root);
    AE_ASSERT(mkdir(root, 0755) == 0 && mkdir(dir, 0755) == 0);
    uint8_t img[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8}, lab[2] = {1, 0};
    int idims[3] = {2, 2, 2}, ldims[1] = {2};
    AeError err;
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char fp[800];
    for (int k = 0; k < 3; k++) { /* test labels left out */
        snprintf(fp, sizeof fp, "%s/%s%s", dir, names[k], k == 1 ? ".gz" : "");
        CHECK(idx_write(fp, k % 2 ? lab : img, k % 2 ? ldims : idims, k % 2 ? 1 : 3, &err));
    }
    const char *env = getenv("AELAB_DATA");
    char saved[1024] = "";
    bool had_env = env != NULL;
    if (env) snprintf(saved, sizeof saved, "%s", env);
    setenv("AELAB_DATA", root, 1);
    AE_ASSERT(chdir(tu_dir()) == 0); /* no data/ here */
    CHECK(!datasets_resolve("mnist", a, b, c, e, sizeof a, why, sizeof why));
    char want[2048];
    snprintf(want, sizeof want,
             "data set 'mnist' not found; looked in $AELAB_DATA %s/ (missing "
             "t10k-labels-idx1-ubyte[.gz]), data/mnist/ (no such directory), ",
             dir);
    CHECK(strncmp(why, want, strlen(want)) == 0);
    CHECK(strstr(why, "/usr/share/datasets/mnist/ (") != NULL);
    CHECK(strstr(why, "; run `make data` to fetch it") != NULL);
    if (strncmp(why, want, strlen(want)) != 0) fprintf(stderr, "  why: %s\n", why);

    snprintf(fp, sizeof fp, "%s/%s.gz", dir, names[3]);
    CHECK(idx_write(fp, lab, ldims, 1, &err));
    CHECK(datasets_resolve("mnist", a, b, c, e, sizeof a, why, sizeof why));
    snprintf(fp, sizeof fp, "%s/%s", dir, names[0]);
    CHECK_STR(a, fp);
    snprintf(fp, sizeof fp, "%s/%s.gz", dir, names[1]);
    CHECK_STR(b, fp);
    snprintf(fp, sizeof fp, "%s/%s.gz", dir, names[3]);
    CHECK_STR(e, fp);
    Dataset *d = dataset_load_idx(c, e, 0, &err);
    CHECK(d && d->n == 2 && d->C == 2);
    dataset_free(d);

    unsetenv("AELAB_DATA");
    CHECK(!datasets_resolve("mnist", a, b, c, e, sizeof a, why, sizeof why));
    CHECK(strncmp(why, "data set 'mnist' not found; looked in data/mnist/ (no such directory)",
                  60) == 0);
    CHECK(strstr(why, "(AELAB_DATA is not set); run `make data` to fetch it") != NULL);
    AE_ASSERT(chdir(cwd) == 0);
    if (had_env) setenv("AELAB_DATA", saved, 1); /* for test_real's lookup */
}

static void test_real(void) {
    char ti[512], tl[512], vi[512], vl[512], why[2048];
    AeError err;

    /* `aelab datasets` output */
    char *list = NULL;
    size_t listn = 0;
    FILE *mf = open_memstream(&list, &listn);
    datasets_list(mf);
    fclose(mf);
    printf("datasets_list:\n%s", list);
    CHECK(strstr(list, "mnist") != NULL);
    free(list);

    if (!datasets_resolve("mnist", ti, tl, vi, vl, sizeof ti, why, sizeof why)) {
        printf("note: skipping the real MNIST checks: %s\n", why);
    } else {
        double best = 1e9;
        Dataset *d = NULL;
        for (int rep = 0; rep < 3; rep++) {
            dataset_free(d);
            double t0 = now_s();
            d = dataset_load_idx(ti, tl, 10, &err);
            double t = now_s() - t0;
            if (t < best) best = t;
            if (!d) break;
        }
        CHECK(d != NULL);
        if (!d) fprintf(stderr, "  %s\n", err.msg);
        /* The time is reported, not asserted: speed targets live in `make bench`. */
        printf("MNIST train (%s): loaded in %.3f s (best of 3)\n", ti, best);
        if (d) {
            CHECK(d->n == 60000 && d->rows == 28 && d->cols == 28 && d->D == 784 && d->C == 10);
            int counts[10], want[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
            dataset_label_counts(d, counts);
            for (int k = 0; k < 10; k++) CHECK(counts[k] == want[k]);
            CHECK(d->labels[0] == 5 && d->labels[1] == 0 && d->labels[2] == 4);
            long sum = 0;
            for (int i = 0; i < 784; i++) sum += d->images[i];
            CHECK(sum == 27525); /* the first "5": 166 non-zero pixels */
        }
        dataset_free(d);
        d = dataset_load_idx(vi, vl, 10, &err);
        CHECK(d && d->n == 10000 && d->D == 784 && d->C == 10);
        if (d) {
            int counts[10], want[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
            dataset_label_counts(d, counts);
            for (int k = 0; k < 10; k++) CHECK(counts[k] == want[k]);
            CHECK(d->labels[0] == 7);
        }
        dataset_free(d);
        int n, r, c;
        CHECK(idx_read_header(ti, &n, &r, &c, &err) && n == 60000 && r == 28 && c == 28);
        double t0 = now_s();
        CHECK(idx_check_pair(ti, tl, &n, &r, &c, &err) && n == 60000 && r == 28 && c == 28);
        CHECK(idx_check_pair(vi, vl, &n, &r, &c, &err) && n == 10000);
        printf("MNIST: idx_check_pair of both splits in %.3f s\n", now_s() - t0);
        /* the two splits' files are not interchangeable */
        EXPECT_FAIL(ti, vl, 10,
                    "%s: error: count mismatch: 10000 labels at byte 4, expected 60000 (the "
                    "number of images in %s)",
                    vl, ti);
    }

    if (!datasets_resolve("fashion-mnist", ti, tl, vi, vl, sizeof ti, why, sizeof why)) {
        printf("note: skipping the real Fashion-MNIST checks: %s\n", why);
    } else {
        double t0 = now_s();
        int n, r, c;
        CHECK(idx_check_pair(ti, tl, &n, &r, &c, &err) && n == 60000 && r == 28 && c == 28);
        CHECK(idx_check_pair(vi, vl, &n, &r, &c, &err) && n == 10000);
        printf("Fashion-MNIST (gzip): idx_check_pair of both splits in %.3f s\n", now_s() - t0);
        t0 = now_s();
        Dataset *d = dataset_load_idx(ti, tl, 10, &err);
        printf("Fashion-MNIST train (%s): loaded in %.3f s\n", ti, now_s() - t0);
        CHECK(d && d->n == 60000 && d->rows == 28 && d->cols == 28 && d->C == 10);
        if (d) {
            int counts[10];
            dataset_label_counts(d, counts);
            for (int k = 0; k < 10; k++) CHECK(counts[k] == 6000);
        } else {
            fprintf(stderr, "  %s\n", err.msg);
        }
        dataset_free(d);
        d = dataset_load_idx(vi, vl, 10, &err);
        CHECK(d && d->n == 10000 && d->D == 784);
        if (d) {
            int counts[10];
            dataset_label_counts(d, counts);
            for (int k = 0; k < 10; k++) CHECK(counts[k] == 1000);
        }
        dataset_free(d);
    }
}

int main(void) {
    tu_tmpdir("idx");
    test_round_trip();
    test_corrupt();
    test_sizes();
    test_csv();
    test_resolve();
    test_real();
    return tu_tmpdir_done(tu_summary("test_idx"));
}
