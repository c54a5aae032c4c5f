/* runner/npy.c — .npy (v1.0) and .npz writers (format notes in npy.h).
 *
 * ZIP layout written, for each member in order: local file header (30 bytes + name), the data;
 * then one central directory header per member (46 bytes + name); then the end of central
 * directory record (22 bytes). All integers little-endian. CRC-32 and deflate are zlib's.
 */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fsutil.h"

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG 0x06054b50u
#define ZIP_VERSION 20            /* 2.0: deflate */
#define ZIP_DOS_DATE 0x0021       /* 1980-01-01: day 1, month 1, year 0 */
#define ZIP_MAX_MEMBERS 65535
#define ZIP_MAX_BYTES 0xffffffffULL
#define NPY_ALIGN 64

/* ---- a growing byte buffer ---- */

typedef struct Bytes {
    unsigned char *p;
    size_t n, cap;
} Bytes;

static void bytes_reserve(Bytes *b, size_t more) {
    if (b->n + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more) cap *= 2;
    unsigned char *p = ae_xmalloc(cap);
    if (b->n) memcpy(p, b->p, b->n);
    free(b->p);
    b->p = p;
    b->cap = cap;
}

static void put(Bytes *b, const void *src, size_t n) {
    bytes_reserve(b, n);
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_le(Bytes *b, uint64_t v, int nbytes) {
    unsigned char buf[8];
    for (int k = 0; k < nbytes; k++) buf[k] = (unsigned char)(v >> (8 * k));
    put(b, buf, (size_t)nbytes);
}

/* ---- .npy ---- */

static const char *const DESCR[] = {"<f4", "<f8", "<i8"};
static const int ITEM[] = {4, 8, 8};

/* The magic, version, header length and padded header for descr and shape. */
static void npy_header(Bytes *b, const char *descr, const size_t *shape, int ndim) {
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        n += snprintf(h + n, sizeof h - (size_t)n, "%zu%s", shape[i],
                      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1; /* magic 6, version 2, length 2, header, '\n' */
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    put(b, "\x93NUMPY\x01\x00", 8);
    put_le(b, (uint64_t)n + pad + 1, 2);
    put(b, h, (size_t)n);
    for (size_t i = 0; i < pad; i++) put(b, " ", 1);
    put(b, "\n", 1);
}

static size_t count_of(const size_t *shape, int ndim) {
    size_t c = 1;
    for (int i = 0; i < ndim; i++) c *= shape[i];
    return c;
}

static void npy_encode(Bytes *b, NpyType t, const size_t *shape, int ndim, const void *data) {
    AE_ASSERT(ndim >= 0 && ndim <= NPY_MAX_DIMS);
    npy_header(b, DESCR[t], shape, ndim);
    size_t count = count_of(shape, ndim);
    bytes_reserve(b, count * (size_t)ITEM[t]);
    for (size_t i = 0; i < count; i++) {
        uint64_t v = 0;
        if (t == NPY_F4) {
            uint32_t u;
            memcpy(&u, (const float *)data + i, 4);
            v = u;
        } else {
            memcpy(&v, (const char *)data + 8 * i, 8);
        }
        put_le(b, v, ITEM[t]);
    }
}

/* The next code point of UTF-8 text at *s (advanced); a malformed sequence gives U+FFFD. */
static uint32_t utf8_next(const unsigned char **s) {
    const unsigned char *p = *s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3
                                                                                                : -1;
    if (n < 0) {
        *s = p + 1;
        return 0xfffd;
    }
    c &= n ? 0x3fu >> n : 0x7f;
    for (int k = 1; k <= n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            *s = p + k;
            return 0xfffd;
        }
        c = c << 6 | (p[k] & 0x3f);
    }
    *s = p + 1 + n;
    return c;
}

static size_t utf8_length(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) utf8_next(&p);
    return n;
}

static void npy_encode_strings(Bytes *b, const char *const *strs, size_t n, int ndim) {
    size_t width = 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = utf8_length(strs[i]);
        if (l > width) width = l;
    }
    char descr[32];
    snprintf(descr, sizeof descr, "<U%zu", width);
    npy_header(b, descr, &n, ndim);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (const unsigned char *p = (const unsigned char *)strs[i]; *p; k++)
            put_le(b, utf8_next(&p), 4);
        for (; k < width; k++) put_le(b, 0, 4);
    }
}

/* ---- .npz ---- */

typedef struct Member {
    char *name;                    /* NAME.npy */
    uint32_t crc, csize, usize;
    uint16_t method;               /* 0 stored, 8 deflate */
    uint32_t offset;               /* of its local header */
} Member;

struct NpzWriter {
    Bytes body;                    /* the local headers and data so far */
    Member *m;
    int n, cap;
};

NpzWriter *npz_create(void) { return ae_xcalloc(1, sizeof(NpzWriter)); }

void npz_free(NpzWriter *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) free(z->m[i].name);
    free(z->m);
    free(z->body.p);
    free(z);
}

/* Raw deflate of src into a new buffer (*out, *nout); false when zlib fails. */
static bool deflate_raw(const Bytes *src, unsigned char **out, size_t *nout) {
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    size_t cap = deflateBound(&zs, (uLong)src->n);
    *out = ae_xmalloc(cap);
    zs.next_in = src->p;
    zs.avail_in = (uInt)src->n;
    zs.next_out = *out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *nout = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(*out);
        return false;
    }
    return true;
}

static void local_header(Bytes *b, const Member *m) {
    put_le(b, ZIP_LOCAL_SIG, 4);
    put_le(b, ZIP_VERSION, 2);
    put_le(b, 0, 2);               /* flags */
    put_le(b, m->method, 2);
    put_le(b, 0, 2);               /* time 00:00:00 */
    put_le(b, ZIP_DOS_DATE, 2);
    put_le(b, m->crc, 4);
    put_le(b, m->csize, 4);
    put_le(b, m->usize, 4);
    put_le(b, strlen(m->name), 2);
    put_le(b, 0, 2);               /* extra field length */
    put(b, m->name, strlen(m->name));
}

/* Appends the member holding the .npy bytes in npy. */
static bool add_member(NpzWriter *z, const char *name, const Bytes *npy, AeError *err) {
    if (z->n == ZIP_MAX_MEMBERS || npy->n > ZIP_MAX_BYTES || strlen(name) > 1000)
        return ae_fail(err, "error: %s.npy: too large for a ZIP archive without ZIP64", name);
    unsigned char *def;
    size_t ndef;
    if (!deflate_raw(npy, &def, &ndef))
        return ae_fail(err, "error: %s.npy: zlib's deflate failed", name);
    Member m = {.usize = (uint32_t)npy->n, .offset = (uint32_t)z->body.n};
    m.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), npy->p, (uInt)npy->n);
    bool stored = ndef >= npy->n;
    m.method = stored ? 0 : 8;
    m.csize = (uint32_t)(stored ? npy->n : ndef);
    if ((uint64_t)z->body.n + 30 + strlen(name) + 4 + m.csize > ZIP_MAX_BYTES) {
        free(def);
        return ae_fail(err, "error: %s.npy: the archive would pass 4 GiB (no ZIP64)", name);
    }
    size_t ln = strlen(name) + 5;
    m.name = ae_xmalloc(ln);
    snprintf(m.name, ln, "%s.npy", name);
    local_header(&z->body, &m);
    put(&z->body, stored ? npy->p : def, m.csize);
    free(def);
    if (z->n == z->cap) {
        int cap = z->cap ? 2 * z->cap : 32;
        Member *mm = ae_xmalloc((size_t)cap * sizeof *mm);
        if (z->n) memcpy(mm, z->m, (size_t)z->n * sizeof *mm);
        free(z->m);
        z->m = mm;
        z->cap = cap;
    }
    z->m[z->n++] = m;
    return true;
}

bool npz_add(NpzWriter *z, const char *name, NpyType t, const size_t *shape, int ndim,
             const void *data, AeError *err) {
    Bytes b = {0};
    npy_encode(&b, t, shape, ndim, data);
    bool ok = add_member(z, name, &b, err);
    free(b.p);
    return ok;
}

bool npz_add_strings(NpzWriter *z, const char *name, const char *const *strs, size_t n,
                     int ndim, AeError *err) {
    AE_ASSERT(ndim == 1 || (ndim == 0 && n == 1));
    Bytes b = {0};
    npy_encode_strings(&b, strs, n, ndim);
    bool ok = add_member(z, name, &b, err);
    free(b.p);
    return ok;
}

static void central_header(Bytes *b, const Member *m) {
    put_le(b, ZIP_CENTRAL_SIG, 4);
    put_le(b, ZIP_VERSION, 2);     /* made by: MS-DOS attributes, version 2.0 */
    put_le(b, ZIP_VERSION, 2);     /* needed */
    put_le(b, 0, 2);               /* flags */
    put_le(b, m->method, 2);
    put_le(b, 0, 2);
    put_le(b, ZIP_DOS_DATE, 2);
    put_le(b, m->crc, 4);
    put_le(b, m->csize, 4);
    put_le(b, m->usize, 4);
    put_le(b, strlen(m->name), 2);
    put_le(b, 0, 2);               /* extra */
    put_le(b, 0, 2);               /* comment */
    put_le(b, 0, 2);               /* disk number start */
    put_le(b, 0, 2);               /* internal attributes */
    put_le(b, 0, 4);               /* external attributes */
    put_le(b, m->offset, 4);
    put(b, m->name, strlen(m->name));
}

bool npz_write(const NpzWriter *z, const char *path, AeError *err) {
    Bytes b = {0};
    put(&b, z->body.p ? z->body.p : (const unsigned char *)"", z->body.n);
    size_t cd = b.n;
    for (int i = 0; i < z->n; i++) central_header(&b, &z->m[i]);
    size_t cdsize = b.n - cd;
    if (b.n > ZIP_MAX_BYTES) {
        free(b.p);
        return ae_fail(err, "%s: error: the archive would pass 4 GiB (no ZIP64)", path);
    }
    put_le(&b, ZIP_END_SIG, 4);
    put_le(&b, 0, 2);              /* this disk */
    put_le(&b, 0, 2);              /* the disk with the central directory */
    put_le(&b, (uint64_t)z->n, 2);
    put_le(&b, (uint64_t)z->n, 2);
    put_le(&b, cdsize, 4);
    put_le(&b, cd, 4);
    put_le(&b, 0, 2);              /* comment length */
    bool ok = fs_write_atomic(path, b.p, b.n, err);
    free(b.p);
    return ok;
}

bool npy_write(const char *path, NpyType t, const size_t *shape, int ndim, const void *data,
               AeError *err) {
    Bytes b = {0};
    npy_encode(&b, t, shape, ndim, data);
    bool ok = fs_write_atomic(path, b.p, b.n, err);
    free(b.p);
    return ok;
}
