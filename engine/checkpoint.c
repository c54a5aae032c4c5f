/* engine/checkpoint.c — the checkpoint file format (see checkpoint.h for the API).
 *
 * Layout of version 1 (integers and floats little-endian; offsets in bytes):
 *   0    "AELABCKP"
 *   8    u32 version (1)
 *   12   u32 header length H (the bytes from 16 to 16+H)
 *   16   header:
 *          u64 file size (every byte, the CRC included)
 *          u32 input_dim, u32 nenc, u32 ndec, u32 nhead
 *          per layer, enc[0..nenc) then dec[0..ndec) then head[0..nhead): u32 I, u32 O, u32 act
 *          i32 stage_index, i32 epoch, u64 config_hash, u64 seed
 *          u32 nrng, u64 rng_counters[nrng]
 *          u32 label length L, L bytes of the stage label (no NUL)
 *   16+H parameters: each layer in the same order, its [W (O,I) | b (O)] as float32
 *   end-4 u32 CRC32 (zlib) of every byte before it
 *
 * Loading checks, in order, so that each kind of damage gets its own message: magic, version,
 * header length, file size (truncated / trailing bytes), checksum, then the header's fields and
 * shapes. Only then is the model allocated. The file is read whole into host memory, which is
 * bounded by AE_CKPT_MAX_BYTES and by the file's real size.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "AELABCKP"
#define CKPT_PREFIX 16                        /* magic + version + header length */
#define AE_CKPT_MAX_HEADER (64u * 1024u)      /* header bytes */
#define AE_CKPT_MAX_DIM (1 << 24)             /* any I or O */
#define AE_CKPT_MAX_PARAMS (1ULL << 27)       /* floats in all layers: 512 MiB */
#define AE_CKPT_MAX_NRNG 64
#define AE_CKPT_MAX_BYTES (CKPT_PREFIX + AE_CKPT_MAX_HEADER + 4 * AE_CKPT_MAX_PARAMS + 4)

typedef unsigned long long ull;

/* ---- little-endian encoding ---- */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int k = 0; k < 8; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* n floats between host order and little-endian bytes */
static void floats_to_le(unsigned char *dst, const float *src, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *src);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        put_u32(dst + 4 * i, u);
    }
#endif
}

static void floats_from_le(float *dst, const unsigned char *src, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(src + 4 * i);
        memcpy(&dst[i], &u, 4);
    }
#endif
}

/* zlib's crc32 takes uInt lengths: feed large buffers in pieces */
static uint32_t crc_of(const unsigned char *p, size_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* The layers in file order: enc, dec, head. Returns the count. */
static int model_layers(const Model *m, const Layer *out[3 * AE_MAX_LAYERS]) {
    int n = 0;
    for (int i = 0; i < m->nenc; i++) out[n++] = m->enc[i];
    for (int i = 0; i < m->ndec; i++) out[n++] = m->dec[i];
    for (int i = 0; i < m->nhead; i++) out[n++] = m->head[i];
    return n;
}

static size_t header_len(int nlayers, size_t label_len) {
    return 8                          /* file size */
           + 16                       /* input_dim, nenc, ndec, nhead */
           + 12 * (size_t)nlayers     /* I, O, act */
           + 8 + 16                   /* stage_index, epoch, config_hash, seed */
           + 4 + 8 * CHECKPOINT_NRNG  /* nrng, counters */
           + 4 + label_len;           /* label */
}

/* ---- saving ---- */

static bool write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

bool checkpoint_save(const char *path, const Model *m, const CheckpointMeta *meta, AeError *err) {
    static const CheckpointMeta zero_meta;
    const Layer *layers[3 * AE_MAX_LAYERS];
    AE_ASSERT(m && m->nenc <= AE_MAX_LAYERS && m->ndec <= AE_MAX_LAYERS &&
              m->nhead <= AE_MAX_LAYERS);
    if (!meta) meta = &zero_meta;
    int nl = model_layers(m, layers);
    size_t label_len = strnlen(meta->stage_label, CHECKPOINT_LABEL_MAX - 1);
    size_t hlen = header_len(nl, label_len);
    size_t nparams = 0;
    for (int i = 0; i < nl; i++) nparams += layers[i]->nparams;
    size_t total = CKPT_PREFIX + hlen + 4 * nparams + 4;

    unsigned char *buf = ae_xmalloc(total);
    unsigned char *p = buf;
    memcpy(p, CKPT_MAGIC, 8);
    put_u32(p + 8, CHECKPOINT_VERSION);
    put_u32(p + 12, (uint32_t)hlen);
    p += CKPT_PREFIX;
    put_u64(p, (uint64_t)total), p += 8;
    put_u32(p, (uint32_t)m->input_dim), p += 4;
    put_u32(p, (uint32_t)m->nenc), p += 4;
    put_u32(p, (uint32_t)m->ndec), p += 4;
    put_u32(p, (uint32_t)m->nhead), p += 4;
    for (int i = 0; i < nl; i++) {
        put_u32(p, (uint32_t)layers[i]->I), p += 4;
        put_u32(p, (uint32_t)layers[i]->O), p += 4;
        put_u32(p, (uint32_t)layers[i]->act), p += 4;
    }
    put_u32(p, (uint32_t)meta->stage_index), p += 4;
    put_u32(p, (uint32_t)meta->epoch), p += 4;
    put_u64(p, meta->config_hash), p += 8;
    put_u64(p, meta->seed), p += 8;
    put_u32(p, CHECKPOINT_NRNG), p += 4;
    for (int k = 0; k < CHECKPOINT_NRNG; k++) put_u64(p, meta->rng_counters[k]), p += 8;
    put_u32(p, (uint32_t)label_len), p += 4;
    memcpy(p, meta->stage_label, label_len), p += label_len;
    AE_ASSERT((size_t)(p - buf) == CKPT_PREFIX + hlen);

    float *host = NULL;
    size_t host_cap = 0;
    for (int i = 0; i < nl; i++) {
        size_t n = layers[i]->nparams;
        if (n > host_cap) {
            free(host);
            host = ae_xmalloc(n * sizeof *host);
            host_cap = n;
        }
        m->be->download(host, layers[i]->params, n * sizeof *host);
        floats_to_le(p, host, n);
        p += 4 * n;
    }
    free(host);
    put_u32(p, crc_of(buf, (size_t)(p - buf)));
    p += 4;
    AE_ASSERT((size_t)(p - buf) == total);

    char tmp[4096];
    bool ok = false;
    int e = 0, fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        e = ENAMETOOLONG;
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        goto fail;
    }
    if (!write_all(fd, buf, total) || fsync(fd) != 0) {
        e = errno;
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        e = errno;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        e = errno;
        goto fail;
    }
    ok = true;

fail:
    if (fd >= 0) close(fd);
    if (!ok) {
        if (e != ENAMETOOLONG) unlink(tmp);
        ae_fail(err, "%s: error: cannot write: %s", path, strerror(e ? e : EIO));
    }
    free(buf);
    return ok;
}

/* ---- loading ---- */

typedef struct LayerShape {
    uint32_t I, O, act;
} LayerShape;

/* The header, decoded; valid only after ckpt_parse succeeded. */
typedef struct Parsed {
    uint32_t input_dim, nenc, ndec, nhead;
    LayerShape layers[3 * AE_MAX_LAYERS];
    ull nparams; /* floats in all layers */
    CheckpointMeta meta;
} Parsed;

static const char *stack_name(uint32_t li, const Parsed *h, uint32_t *index) {
    if (li < h->nenc) return *index = li, "encoder";
    if (li < h->nenc + h->ndec) return *index = li - h->nenc, "decoder";
    return *index = li - h->nenc - h->ndec, "head";
}

/* Decodes and validates the header (bytes [16, 16+hlen) of buf) against the file size. */
static bool ckpt_parse(const char *path, const unsigned char *buf, size_t hlen, ull fsize,
                       Parsed *h, AeError *err) {
    const unsigned char *p = buf + CKPT_PREFIX, *end = p + hlen;
#define NEED(nbytes, what)                                                                    \
    do {                                                                                      \
        if ((size_t)(end - p) < (size_t)(nbytes))                                             \
            return ae_fail(err,                                                               \
                           "%s: error: malformed header: it ends at byte %llu, inside %s",    \
                           path, (ull)(CKPT_PREFIX + hlen), what);                            \
    } while (0)
#define OFF ((ull)(p - buf))
    memset(h, 0, sizeof *h);
    NEED(8 + 16, "the model's dimensions");
    p += 8; /* the file size, checked by the caller */
    h->input_dim = get_u32(p), p += 4;
    h->nenc = get_u32(p), p += 4;
    h->ndec = get_u32(p), p += 4;
    h->nhead = get_u32(p), p += 4;
    if (h->input_dim == 0 || h->input_dim > AE_CKPT_MAX_DIM)
        return ae_fail(err, "%s: error: impossible input width %u at byte %llu, expected 1..%d",
                       path, h->input_dim, OFF - 16, AE_CKPT_MAX_DIM);
    const char *names[3] = {"encoder", "decoder", "head"};
    uint32_t counts[3] = {h->nenc, h->ndec, h->nhead};
    for (int s = 0; s < 3; s++)
        if (counts[s] > AE_MAX_LAYERS)
            return ae_fail(err,
                           "%s: error: impossible %s layer count %u at byte %llu, expected at "
                           "most %d",
                           path, names[s], counts[s], OFF - 12 + 4 * (ull)s, AE_MAX_LAYERS);
    uint32_t nl = h->nenc + h->ndec + h->nhead;
    NEED(12 * (size_t)nl, "the layer shapes");
    for (uint32_t li = 0; li < nl; li++) {
        LayerShape *L = &h->layers[li];
        uint32_t idx;
        const char *stack = stack_name(li, h, &idx);
        L->I = get_u32(p), L->O = get_u32(p + 4), L->act = get_u32(p + 8);
        if (L->I == 0 || L->I > AE_CKPT_MAX_DIM || L->O == 0 || L->O > AE_CKPT_MAX_DIM)
            return ae_fail(err,
                           "%s: error: impossible shape %u->%u of %s layer %u at byte %llu, "
                           "expected widths 1..%d",
                           path, L->I, L->O, stack, idx, OFF, AE_CKPT_MAX_DIM);
        if (L->act >= ACT_COUNT)
            return ae_fail(err,
                           "%s: error: unknown activation %u of %s layer %u at byte %llu, "
                           "expected 0..%d",
                           path, L->act, stack, idx, OFF + 8, ACT_COUNT - 1);
        h->nparams += (ull)L->O * L->I + L->O;
        if (h->nparams > AE_CKPT_MAX_PARAMS)
            return ae_fail(err,
                           "%s: error: implausible model size: more than %llu parameters by %s "
                           "layer %u (byte %llu)",
                           path, AE_CKPT_MAX_PARAMS, stack, idx, OFF);
        p += 12;
    }
    /* the stacks must fit together (model.h's invariants) */
    uint32_t in = h->input_dim;
    for (uint32_t i = 0; i < h->nenc; i++) {
        if (h->layers[i].I != in)
            return ae_fail(err,
                           "%s: error: impossible shapes: encoder layer %u takes %u inputs, but "
                           "its input has %u",
                           path, i, h->layers[i].I, in);
        in = h->layers[i].O;
    }
    uint32_t code = in;
    if (h->ndec && h->ndec != h->nenc)
        return ae_fail(err,
                       "%s: error: impossible shapes: %u decoder layers for %u encoder layers",
                       path, h->ndec, h->nenc);
    for (uint32_t k = 0; k < h->ndec; k++) {
        const LayerShape *d = &h->layers[h->nenc + k], *e = &h->layers[h->nenc - 1 - k];
        if (d->I != e->O || d->O != e->I)
            return ae_fail(err,
                           "%s: error: impossible shapes: decoder layer %u is %u->%u but mirrors "
                           "encoder layer %u, %u->%u",
                           path, k, d->I, d->O, h->nenc - 1 - k, e->I, e->O);
    }
    in = code;
    for (uint32_t i = 0; i < h->nhead; i++) {
        const LayerShape *L = &h->layers[h->nenc + h->ndec + i];
        if (L->I != in)
            return ae_fail(err,
                           "%s: error: impossible shapes: head layer %u takes %u inputs, but its "
                           "input has %u",
                           path, i, L->I, in);
        in = L->O;
    }

    NEED(8 + 16 + 4, "the run state");
    h->meta.stage_index = (int32_t)get_u32(p), p += 4;
    h->meta.epoch = (int32_t)get_u32(p), p += 4;
    h->meta.config_hash = get_u64(p), p += 8;
    h->meta.seed = get_u64(p), p += 8;
    uint32_t nrng = get_u32(p);
    if (nrng > AE_CKPT_MAX_NRNG)
        return ae_fail(err, "%s: error: malformed header: %u random counters at byte %llu, "
                       "expected at most %d", path, nrng, OFF, AE_CKPT_MAX_NRNG);
    p += 4;
    NEED(8 * (size_t)nrng, "the random counters");
    for (uint32_t k = 0; k < nrng; k++, p += 8)
        if (k < CHECKPOINT_NRNG) h->meta.rng_counters[k] = get_u64(p);
    NEED(4, "the stage label");
    uint32_t label_len = get_u32(p);
    if (label_len >= CHECKPOINT_LABEL_MAX)
        return ae_fail(err, "%s: error: malformed header: stage label of %u bytes at byte %llu, "
                       "expected fewer than %d", path, label_len, OFF, CHECKPOINT_LABEL_MAX);
    p += 4;
    NEED(label_len, "the stage label");
    memcpy(h->meta.stage_label, p, label_len);
    h->meta.stage_label[label_len] = '\0';
    p += label_len;
    if (p != end)
        return ae_fail(err,
                       "%s: error: malformed header: %llu unused bytes at byte %llu (header "
                       "length %zu)",
                       path, (ull)(end - p), OFF, hlen);
    ull want = CKPT_PREFIX + hlen + 4 * h->nparams + 4;
    if (want != fsize)
        return ae_fail(err,
                       "%s: error: malformed header: the layers need a %llu-byte file, the header "
                       "says %llu",
                       path, want, fsize);
    return true;
#undef NEED
#undef OFF
}

static bool read_full(int fd, unsigned char *p, size_t n, size_t *got) {
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return true;
}

Model *checkpoint_load(const char *path, const Backend *be, CheckpointMeta *meta, AeError *err) {
    unsigned char *buf = NULL;
    float *host = NULL;
    Model *m = NULL;
    Parsed *h = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ae_fail(err, "%s: error: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ae_fail(err, "%s: error: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        ae_fail(err, "%s: error: cannot open: %s", path, strerror(EISDIR));
        goto fail;
    }
    ull fsize = (ull)st.st_size;

    unsigned char pre[CKPT_PREFIX];
    size_t got;
    if (!read_full(fd, pre, sizeof pre, &got)) {
        ae_fail(err, "%s: error: read error: %s", path, strerror(errno));
        goto fail;
    }
    size_t mlen = got < 8 ? got : 8;
    if (memcmp(pre, CKPT_MAGIC, mlen) != 0 || got == 0) {
        char shown[9];
        for (size_t k = 0; k < 8; k++)
            shown[k] = k < mlen ? (pre[k] >= 0x20 && pre[k] < 0x7f ? (char)pre[k] : '.') : '\0';
        shown[8] = '\0';
        if (got == 0)
            ae_fail(err, "%s: error: not an aelab checkpoint: the file is empty", path);
        else
            ae_fail(err,
                    "%s: error: not an aelab checkpoint: bad magic \"%s\" at byte 0, expected "
                    "\"" CKPT_MAGIC "\"",
                    path, shown);
        goto fail;
    }
    if (got < CKPT_PREFIX) {
        ae_fail(err, "%s: error: truncated: %zu bytes, expected at least %d", path, got,
                CKPT_PREFIX);
        goto fail;
    }
    uint32_t version = get_u32(pre + 8);
    if (version != CHECKPOINT_VERSION) {
        ae_fail(err,
                "%s: error: unsupported checkpoint version %u at byte 8, expected %d%s", path,
                version, CHECKPOINT_VERSION,
                version > CHECKPOINT_VERSION ? " (written by a newer aelab?)" : "");
        goto fail;
    }
    uint32_t hlen = get_u32(pre + 12);
    size_t hmin = header_len(0, 0) - 8 * CHECKPOINT_NRNG;
    if (hlen < hmin || hlen > AE_CKPT_MAX_HEADER) {
        ae_fail(err, "%s: error: implausible header length %u at byte 12, expected %zu..%u",
                path, hlen, hmin, AE_CKPT_MAX_HEADER);
        goto fail;
    }
    /* the declared file size comes first in the header */
    unsigned char sz[8];
    if (!read_full(fd, sz, 8, &got)) {
        ae_fail(err, "%s: error: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (got < 8 || fsize < CKPT_PREFIX + (ull)hlen + 4) {
        ae_fail(err, "%s: error: truncated: %llu bytes, expected at least %llu (the header)",
                path, fsize, CKPT_PREFIX + (ull)hlen + 4);
        goto fail;
    }
    ull declared = get_u64(sz);
    if (declared > AE_CKPT_MAX_BYTES) {
        ae_fail(err, "%s: error: implausible size %llu at byte 16, limit %llu bytes", path,
                declared, (ull)AE_CKPT_MAX_BYTES);
        goto fail;
    }
    if (fsize < declared) {
        ae_fail(err, "%s: error: truncated: expected %llu bytes, found %llu", path, declared,
                fsize);
        goto fail;
    }
    if (fsize > declared) {
        ae_fail(err, "%s: error: %llu trailing bytes after byte %llu: expected %llu bytes, "
                "found %llu", path, fsize - declared, declared, declared, fsize);
        goto fail;
    }

    /* whole file: bounded by the cap and by what is really on disk */
    buf = ae_xmalloc((size_t)fsize);
    memcpy(buf, pre, CKPT_PREFIX);
    memcpy(buf + CKPT_PREFIX, sz, 8);
    if (!read_full(fd, buf + CKPT_PREFIX + 8, (size_t)fsize - CKPT_PREFIX - 8, &got)) {
        ae_fail(err, "%s: error: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (got != (size_t)fsize - CKPT_PREFIX - 8) {
        ae_fail(err, "%s: error: truncated: expected %llu bytes, found %llu (changed while "
                "reading?)", path, fsize, (ull)(CKPT_PREFIX + 8 + got));
        goto fail;
    }
    uint32_t stored = get_u32(buf + fsize - 4);
    uint32_t computed = crc_of(buf, (size_t)fsize - 4);
    if (stored != computed) {
        ae_fail(err,
                "%s: error: checksum mismatch: stored CRC32 0x%08x at byte %llu, computed "
                "0x%08x; the file is damaged",
                path, stored, fsize - 4, computed);
        goto fail;
    }
    h = ae_xmalloc(sizeof *h);
    if (!ckpt_parse(path, buf, hlen, fsize, h, err)) goto fail;

    m = model_create(be, (int)h->input_dim);
    const unsigned char *p = buf + CKPT_PREFIX + hlen;
    uint32_t nl = h->nenc + h->ndec + h->nhead;
    size_t host_cap = 0;
    for (uint32_t li = 0; li < nl; li++) {
        const LayerShape *L = &h->layers[li];
        AeError lerr;
        Layer *l = layer_create(be, (int)L->I, (int)L->O, (Act)L->act, &lerr);
        if (!l) {
            ae_fail(err, "%s: error: %s", path, lerr.msg);
            goto fail;
        }
        if (li < h->nenc) m->enc[m->nenc++] = l;
        else if (li < h->nenc + h->ndec) m->dec[m->ndec++] = l;
        else m->head[m->nhead++] = l;
        if (l->nparams > host_cap) {
            free(host);
            host = ae_xmalloc(l->nparams * sizeof *host);
            host_cap = l->nparams;
        }
        floats_from_le(host, p, l->nparams);
        be->upload(l->params, host, l->nparams * sizeof *host);
        p += 4 * l->nparams;
    }
    AE_ASSERT(p == buf + fsize - 4);
    AeError cerr;
    AE_ASSERT(model_check(m, &cerr)); /* ckpt_parse checked the same invariants */
    if (meta) *meta = h->meta;
    free(h);
    free(host);
    free(buf);
    close(fd);
    return m;

fail:
    model_free(m);
    free(h);
    free(host);
    free(buf);
    close(fd);
    return NULL;
}
