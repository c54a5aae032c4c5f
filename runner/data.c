/* runner/data.c — data sets from IDX files (plain or gzip) and CSV files, and IDX files
 * written (see data.h); the Dataset they fill is the engine's (engine/dataset.c).
 *
 * IDX (LeCun's MNIST format): bytes 0-1 are zero, byte 2 is the element type (0x08 = unsigned
 * byte, the only one accepted), byte 3 the rank R, then R big-endian uint32 dimensions, then the
 * elements, row-major. Images are 0x00000803 (N, rows, cols), labels 0x00000801 (N).
 *
 * Every file goes through runner/datain.h's reader, plain or gzip detected by content. Data is
 * read in large chunks straight into the Dataset's buffers. Byte offsets in messages count
 * bytes of the IDX stream, i.e. after decompression for a gzip file.
 *
 * Sizes are validated before anything large is allocated: a plain file's length must match its
 * header exactly, and a gzip file cannot declare more than deflate's maximum expansion of its
 * compressed size. AE_IDX_MAX_BYTES caps any one file. A gzip stream is inflated only as far
 * as the header (and a subset) needs: past the header's length by at most DATAIN_SLACK bytes
 * before it is refused, and for a subset only to the subset's last image when the trailer's
 * ISIZE agrees with the header (the rest is neither inflated nor held in memory).
 *
 * idx_write builds the file's bytes in memory (compressed there for a .gz path) and hands them
 * to runner/fsutil.c's atomic writer, the one every output goes through.
 */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "datain.h"
#include "fsutil.h"

/* deflate cannot expand data by more than about 1032:1; a gzip file claiming more is damaged. */
#define AE_GZIP_MAX_RATIO 1032ULL

typedef unsigned long long ull;
typedef DataIn IdxIn;

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* ---------------------------------------------------------------------------------------------
 * IDX headers.
 */
typedef struct IdxHeader {
    int rank;
    uint32_t dims[3];
    ull hdr_bytes;  /* 4 + 4*rank */
    ull nelems;     /* product of dims */
} IdxHeader;

static const char *idx_kind_name(int rank) { return rank == 3 ? "idx3 images" : "idx1 labels"; }

/* Reads and validates the header of an IDX file of the given rank (3 images, 1 labels):
 * magic, element type, dimensions > 0, total size under the caps, and — before the caller
 * allocates — that the file can hold that much data. */
static bool idx_header_read(IdxIn *f, int rank, IdxHeader *h, AeError *err) {
    unsigned char b[16];
    uint32_t want_magic = 0x00000800u | (uint32_t)rank;
    ull got = 0;
    memset(h, 0, sizeof *h);
    h->rank = rank;
    h->hdr_bytes = 4 + 4 * (ull)rank;
    if (!datain_read(f, b, 4, &got, err)) return false;
    if (got < 4)
        return ae_fail(err,
                       "%s: error: truncated header: expected %llu bytes (%s header), found %llu",
                       f->path, h->hdr_bytes, idx_kind_name(rank), got);
    uint32_t magic = be32(b);
    if (b[0] != 0 || b[1] != 0)
        return ae_fail(err,
                       "%s: error: bad magic 0x%08x at byte 0, expected 0x%08x (%s); not an IDX "
                       "file",
                       f->path, magic, want_magic, idx_kind_name(rank));
    if (b[2] != 0x08)
        return ae_fail(err,
                       "%s: error: unsupported element type 0x%02x at byte 2, expected 0x08 "
                       "(unsigned byte)",
                       f->path, b[2]);
    if (b[3] != rank)
        return ae_fail(err, "%s: error: bad magic 0x%08x at byte 0, expected 0x%08x (%s)",
                       f->path, magic, want_magic, idx_kind_name(rank));
    if (!datain_read(f, b + 4, 4 * (ull)rank, &got, err)) return false;
    if (got < 4 * (ull)rank)
        return ae_fail(err,
                       "%s: error: truncated header: expected %llu bytes (%s header), found %llu",
                       f->path, h->hdr_bytes, idx_kind_name(rank), 4 + got);
    h->nelems = 1;
    for (int k = 0; k < rank; k++) {
        h->dims[k] = be32(b + 4 + 4 * k);
        if (h->dims[k] == 0)
            return ae_fail(err, "%s: error: dimension %d is 0 at byte %d, expected > 0", f->path,
                           k, 4 + 4 * k);
    }
    for (int k = 0; k < rank && h->nelems <= AE_IDX_MAX_BYTES; k++)
        h->nelems *= h->dims[k]; /* <= 2^32 * 2^32 before the loop stops: no overflow */
    bool too_big = h->nelems > AE_IDX_MAX_BYTES || h->dims[0] > INT_MAX ||
                   (rank == 3 && (ull)h->dims[1] * h->dims[2] > AE_IDX_MAX_FEATURES);
    if (too_big) {
        if (rank == 3)
            return ae_fail(err,
                           "%s: error: implausible shape %u x %u x %u at byte 4, limits: %llu "
                           "bytes, %d features per image",
                           f->path, h->dims[0], h->dims[1], h->dims[2], AE_IDX_MAX_BYTES,
                           AE_IDX_MAX_FEATURES);
        return ae_fail(err, "%s: error: implausible count %u at byte 4, limit %d", f->path,
                       h->dims[0], INT_MAX);
    }
    return true;
}

static void idx_shape_text(const IdxHeader *h, char *buf, size_t cap) {
    if (h->rank == 3)
        snprintf(buf, cap, "%llu-byte header + %u x %u x %u", h->hdr_bytes, h->dims[0],
                 h->dims[1], h->dims[2]);
    else
        snprintf(buf, cap, "%llu-byte header + %u", h->hdr_bytes, h->dims[0]);
}

/* Checks, before allocating, that the file can hold the data its header declares. */
static bool idx_check_room(IdxIn *f, const IdxHeader *h, AeError *err) {
    ull expected = h->hdr_bytes + h->nelems;
    char shape[128];
    idx_shape_text(h, shape, sizeof shape);
    if (!f->gzip && f->fsize < expected)
        return ae_fail(err, "%s: error: truncated: expected %llu bytes (%s), found %llu",
                       f->path, expected, shape, f->fsize);
    if (!f->gzip && f->fsize > expected)
        return ae_fail(err,
                       "%s: error: %llu trailing bytes after byte %llu: expected %llu bytes, "
                       "found %llu",
                       f->path, f->fsize - expected, expected, expected, f->fsize);
    if (f->gzip && expected > f->fsize * AE_GZIP_MAX_RATIO + 1024)
        return ae_fail(err,
                       "%s: error: truncated: expected %llu bytes (%s) but %llu bytes of gzip "
                       "cannot hold that many",
                       f->path, expected, shape, f->fsize);
    return true;
}


static bool truncated(IdxIn *f, const IdxHeader *h, ull got, AeError *err) {
    char shape[128];
    idx_shape_text(h, shape, sizeof shape);
    return ae_fail(err, "%s: error: truncated: expected %llu bytes%s (%s), found %llu", f->path,
                   h->hdr_bytes + h->nelems, f->gzip ? " (decompressed)" : "", shape,
                   h->hdr_bytes + got);
}

/* Reads the next n body bytes into dst (NULL: read and drop them), given that `done` body bytes
 * were read before; a short read is the truncation error. */
static bool body_read(IdxIn *f, const IdxHeader *h, uint8_t *dst, ull n, ull done, AeError *err) {
    unsigned char scratch[1 << 16];
    while (n > 0) {
        ull want = dst ? n : n < sizeof scratch ? n : sizeof scratch, got = 0;
        if (!datain_read(f, dst ? dst : scratch, want, &got, err)) return false;
        done += got;
        if (got < want) return truncated(f, h, done, err);
        n -= want;
        if (dst) dst += want;
    }
    return true;
}

/* After `done` of the body's bytes were read: the rest of the file agrees with the header.
 * Plain: its size was checked already (idx_check_room). Gzip: the trailer's ISIZE when it
 * agrees (mod 2^32); otherwise (several members, a cut or padded file) the rest is inflated,
 * counted and dropped, to the header's end and at most DATAIN_SLACK bytes past it; always so
 * when `full` (a labels file: small, and its CRC is worth checking). */
static bool idx_verify_rest(IdxIn *f, const IdxHeader *h, ull done, bool full, AeError *err) {
    ull expected = h->hdr_bytes + h->nelems;
    uint32_t isize;
    if (!f->gzip) return true;
    if (!full && done < h->nelems && datain_gzip_isize(f, &isize) && isize == (uint32_t)expected &&
        f->members == 1)
        return true;
    return body_read(f, h, NULL, h->nelems - done, done, err) &&
           datain_expect_end(f, expected, err);
}

bool idx_read_header(const char *path, int *n, int *rows, int *cols, AeError *err) {
    IdxIn f;
    IdxHeader h;
    if (!datain_open(&f, path, err)) return false;
    bool ok = idx_header_read(&f, 3, &h, err);
    datain_close(&f);
    if (!ok) return false;
    *n = (int)h.dims[0];
    *rows = (int)h.dims[1];
    *cols = (int)h.dims[2];
    return true;
}

/* Opens path and reads its header of the given rank, and checks that the file can hold it. */
static bool idx_open(IdxIn *f, const char *path, int rank, IdxHeader *h, AeError *err) {
    if (!datain_open(f, path, err)) return false;
    if (idx_header_read(f, rank, h, err) && idx_check_room(f, h, err)) return true;
    datain_close(f);
    return false;
}

static bool count_mismatch(const char *images, const char *labels, const IdxHeader *hi,
                           const IdxHeader *hl, AeError *err) {
    if (hl->dims[0] == hi->dims[0]) return false;
    ae_fail(err,
            "%s: error: count mismatch: %u labels at byte 4, expected %u (the number of images "
            "in %s)",
            labels, hl->dims[0], hi->dims[0], images);
    return true;
}

bool idx_check_pair(const char *images, const char *labels, int *n, int *rows, int *cols,
                    AeError *err) {
    IdxIn fi = {.fd = -1}, fl = {.fd = -1};
    IdxHeader hi, hl;
    bool ok = idx_open(&fi, images, 3, &hi, err) && idx_open(&fl, labels, 1, &hl, err) &&
              !count_mismatch(images, labels, &hi, &hl, err) &&
              idx_verify_rest(&fi, &hi, 0, false, err) && idx_verify_rest(&fl, &hl, 0, true, err);
    datain_close(&fi);
    datain_close(&fl);
    if (!ok) return false;
    *n = (int)hi.dims[0];
    *rows = (int)hi.dims[1];
    *cols = (int)hi.dims[2];
    return true;
}

bool idx_label_histogram(const char *path, int limit, unsigned hist[256], int *n, AeError *err) {
    IdxIn f = {.fd = -1};
    IdxHeader h;
    memset(hist, 0, 256 * sizeof *hist);
    bool ok = idx_open(&f, path, 1, &h, err);
    ull want = ok && limit > 0 && (ull)limit < h.nelems ? (ull)limit : ok ? h.nelems : 0;
    uint8_t *labels = ok ? malloc(want) : NULL;
    if (ok && !labels) ok = ae_fail(err, "%s: error: out of memory for %llu labels", path, want);
    if (ok) ok = body_read(&f, &h, labels, want, 0, err);
    for (ull i = 0; ok && i < want; i++) hist[labels[i]]++;
    if (ok) *n = (int)want;
    free(labels);
    datain_close(&f);
    return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Datasets.
 */
/* The labels of a file whose first `keep` went to dst: every one of the header's labels is
 * read (in chunks past keep) and checked against max_classes; *maxlab is the largest. */
static bool labels_read(IdxIn *f, const IdxHeader *h, uint8_t *dst, ull keep, int max_classes,
                        int *maxlab, AeError *err) {
    uint8_t chunk[1 << 16];
    *maxlab = 0;
    for (ull i = 0; i < h->nelems;) {
        ull n = i < keep ? keep : h->nelems - i < sizeof chunk ? h->nelems - i : sizeof chunk;
        uint8_t *p = i < keep ? dst : chunk;
        if (!body_read(f, h, p, n, i, err)) return false;
        for (ull k = 0; k < n; k++) {
            if (p[k] >= max_classes)
                return ae_fail(err, "%s: error: label %u at byte %llu out of range, expected < %d",
                               f->path, p[k], h->hdr_bytes + i + k, max_classes);
            if (p[k] > *maxlab) *maxlab = p[k];
        }
        i += n;
    }
    return datain_expect_end(f, h->hdr_bytes + h->nelems, err);
}

Dataset *dataset_load_idx(const char *images_path, const char *labels_path, int max_classes,
                          AeError *err) {
    return dataset_load_idx_first(images_path, labels_path, max_classes, 0, err);
}

Dataset *dataset_load_idx_first(const char *images_path, const char *labels_path,
                                int max_classes, int limit, AeError *err) {
    IdxIn fi = {.fd = -1}, fl = {.fd = -1};
    IdxHeader hi, hl;
    Dataset *d = NULL;
    if (max_classes <= 0) max_classes = 10;
    if (max_classes > 256) max_classes = 256; /* labels are bytes: nothing is out of range */

    if (!idx_open(&fi, images_path, 3, &hi, err) || !idx_open(&fl, labels_path, 1, &hl, err) ||
        count_mismatch(images_path, labels_path, &hi, &hl, err))
        goto fail;
    d = ae_xcalloc(1, sizeof *d);
    d->n = limit > 0 && (ull)limit < hi.dims[0] ? limit : (int)hi.dims[0];
    d->rows = (int)hi.dims[1];
    d->cols = (int)hi.dims[2];
    d->D = d->rows * d->cols;
    ull nimg = (ull)d->n * (ull)d->D;
    d->images = malloc(nimg);
    d->labels = malloc((size_t)d->n);
    if (!d->images || !d->labels) {
        ae_fail(err, "%s: error: out of memory for %llu bytes of images and labels", images_path,
                nimg + (ull)d->n);
        goto fail;
    }
    if (!body_read(&fi, &hi, d->images, nimg, 0, err)) goto fail;
    if (nimg == hi.nelems ? !datain_expect_end(&fi, hi.hdr_bytes + hi.nelems, err)
                          : !idx_verify_rest(&fi, &hi, nimg, false, err))
        goto fail;
    int maxlab = 0;
    if (!labels_read(&fl, &hl, d->labels, (ull)d->n, max_classes, &maxlab, err)) goto fail;
    d->C = maxlab + 1;
    datain_close(&fi);
    datain_close(&fl);
    return d;

fail:
    datain_close(&fi);
    datain_close(&fl);
    dataset_free(d);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Writing IDX files.
 */
/* raw (n bytes) as a gzip stream, deflate level 6 (gzip's default), in a new buffer of *out_n
 * bytes; NULL with errno set when zlib or the memory for it fails. */
static unsigned char *gzip_bytes(const unsigned char *raw, size_t n, size_t *out_n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        errno = ENOMEM;
        return NULL;
    }
    size_t cap = n / 2 + 4096, len = 0;
    unsigned char *out = malloc(cap);
    int rc = Z_OK;
    while (out && rc == Z_OK) {
        if (zs.avail_in == 0 && n > 0) { /* zlib counts in uInt: hand it 1 GiB at a time */
            uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
            zs.next_in = (Bytef *)raw;
            zs.avail_in = k;
            raw += k;
            n -= k;
        }
        if (len == cap) {
            unsigned char *grown = realloc(out, 2 * cap);
            if (!grown) break;
            out = grown;
            cap *= 2;
        }
        size_t room = cap - len > (1u << 30) ? (1u << 30) : cap - len;
        zs.next_out = out + len;
        zs.avail_out = (uInt)room;
        rc = deflate(&zs, n == 0 ? Z_FINISH : Z_NO_FLUSH);
        len += room - zs.avail_out;
    }
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        errno = ENOMEM;
        return NULL;
    }
    *out_n = len;
    return out;
}

bool idx_write(const char *path, const uint8_t *data, const int *dims, int rank, AeError *err) {
    AE_ASSERT(rank >= 1 && rank <= 255);
    size_t nelems = 1;
    for (int k = 0; k < rank; k++) {
        AE_ASSERT(dims[k] > 0);
        nelems *= (size_t)dims[k];
    }
    size_t hlen = 4 + 4 * (size_t)rank;
    unsigned char *raw = ae_xmalloc(hlen + nelems);
    raw[0] = raw[1] = 0;
    raw[2] = 0x08;
    raw[3] = (unsigned char)rank;
    for (int k = 0; k < rank; k++) {
        uint32_t v = (uint32_t)dims[k];
        for (int j = 0; j < 4; j++) raw[4 + 4 * k + j] = (unsigned char)(v >> (24 - 8 * j));
    }
    memcpy(raw + hlen, data, nelems);
    size_t plen = strlen(path), n = hlen + nelems;
    bool gzip = plen > 3 && strcmp(path + plen - 3, ".gz") == 0;
    unsigned char *bytes = gzip ? gzip_bytes(raw, n, &n) : raw;
    int e = bytes ? fs_write_atomic_errno(path, bytes, n) : errno;
    if (bytes != raw) free(bytes);
    free(raw);
    if (e) return ae_fail(err, "%s: error: cannot write: %s", path, strerror(e));
    return true;
}
