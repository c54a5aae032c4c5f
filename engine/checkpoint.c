/* engine/checkpoint.c — the checkpoint format: encoding a Model to bytes and decoding it back
 * (see checkpoint.h for the API; runner/ckptfile.c does the file I/O).
 *
 * Layout of version 1 (integers and floats little-endian; offsets in bytes):
 *   0    "AELABCKP"
 *   8    u32 version (1)
 *   12   u32 header length H (the bytes from 16 to 16+H)
 *   16   header:
 *          u64 file size (every byte, the CRC included)
 *          u32 input_dim, u32 nenc, u32 ndec, u32 nhead
 *          per layer, enc[0..nenc) then dec[0..ndec) then head[0..nhead): u32 I, u32 O, u32 act
 *            (act's bit 8, CKPT_TIED, only on a decoder layer: tied to its mirror encoder, whose
 *            W^T it uses; files without it read as before)
 *          i32 stage_index, i32 epoch, u64 config_hash, u64 seed
 *          u32 nrng, u64 rng_counters[nrng]
 *          u32 label length L, L bytes of the stage label (no NUL)
 *   16+H parameters: each layer in the same order, its [W (O,I) | b (O)] as float32
 *   end-4 u32 CRC32 (zlib) of every byte before it
 *
 * Decoding checks, in order, so that each kind of damage gets its own message: magic, version,
 * header length, size (truncated / trailing bytes), checksum, then the header's fields and
 * shapes. Only then is the model allocated. The first checks need only the first
 * CHECKPOINT_HEAD_BYTES, so that a reader can refuse a foreign or damaged file before it reads
 * (and allocates) the rest, which is bounded by AE_CKPT_MAX_BYTES.
 */
#include "checkpoint.h"

#include <string.h>
#include <zlib.h>

#define CKPT_MAGIC "AELABCKP"
#define CKPT_PREFIX 16                        /* magic + version + header length */
#define AE_CKPT_MAX_HEADER (64u * 1024u)      /* header bytes */
#define AE_CKPT_MAX_DIM (1 << 24)             /* any I or O */
#define AE_CKPT_MAX_PARAMS (1ULL << 27)       /* floats in all layers: 512 MiB */
#define AE_CKPT_MAX_NRNG 64
#define CKPT_TIED 0x100u                      /* in a decoder layer's act: tied weights */
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

/* Whether floats are stored little-endian in memory, as in the file (a constant the compiler
 * folds; both paths below stay compiled). */
static bool host_is_le(void) {
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* n host-order floats at p (any alignment) rewritten in place as little-endian bytes. */
static void floats_to_le_inplace(unsigned char *p, size_t n) {
    if (host_is_le()) return;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        put_u32(p + 4 * i, u);
    }
}

/* Uploads n little-endian floats from src (any alignment) to dst (backend memory). */
static void upload_le_floats(const Backend *be, float *dst, const unsigned char *src, size_t n) {
    if (host_is_le()) {
        be->upload(dst, src, n * sizeof(float));
        return;
    }
    float chunk[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < k; j++) {
            uint32_t u = get_u32(src + 4 * (i + j));
            memcpy(&chunk[j], &u, 4);
        }
        be->upload(dst + i, chunk, k * sizeof(float));
    }
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

/* ---- encoding ---- */

/* Writes the prefix and the header (hlen bytes) at buf; returns the end of the header. */
static unsigned char *encode_header(unsigned char *buf, const Model *m,
                                    const Layer *const *layers, int nl,
                                    const CheckpointMeta *meta, size_t label_len, size_t hlen,
                                    size_t total) {
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
        put_u32(p, (uint32_t)layers[i]->act | (layers[i]->tied ? CKPT_TIED : 0)), p += 4;
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
    return p;
}

bool checkpoint_encode(const char *name, const Model *m, const CheckpointMeta *meta,
                       unsigned char **out, size_t *n, AeError *err) {
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
    *out = NULL;
    *n = 0;

    AeError merr;
    unsigned char *buf = ae_malloc(total, "the checkpoint", &merr);
    if (!buf) return ae_fail(err, "%s: error: %s", name, merr.msg);
    unsigned char *p = encode_header(buf, m, layers, nl, meta, label_len, hlen, total);
    /* the parameters straight into the buffer, then into little-endian order */
    for (int i = 0; i < nl; i++) {
        size_t k = layers[i]->nparams;
        m->be->download(p, layers[i]->params, k * sizeof(float));
        floats_to_le_inplace(p, k);
        p += 4 * k;
    }
    put_u32(p, crc_of(buf, (size_t)(p - buf)));
    p += 4;
    AE_ASSERT((size_t)(p - buf) == total);
    *out = buf;
    *n = total;
    return true;
}

/* ---- the first bytes ---- */

/* The magic: false with the message for an empty file or a foreign one. */
static bool check_magic(const char *name, const unsigned char *head, size_t nhead,
                        AeError *err) {
    size_t mlen = nhead < 8 ? nhead : 8;
    if (nhead > 0 && memcmp(head, CKPT_MAGIC, mlen) == 0) return true;
    if (nhead == 0)
        return ae_fail(err, "%s: error: not an aelab checkpoint: the file is empty", name);
    char shown[9];
    for (size_t k = 0; k < 8; k++)
        shown[k] = k < mlen ? (head[k] >= 0x20 && head[k] < 0x7f ? (char)head[k] : '.') : '\0';
    shown[8] = '\0';
    return ae_fail(err,
                   "%s: error: not an aelab checkpoint: bad magic \"%s\" at byte 0, expected "
                   "\"" CKPT_MAGIC "\"",
                   name, shown);
}

bool checkpoint_check_head(const char *name, const unsigned char *head, size_t nhead,
                           uint64_t size, AeError *err) {
    ull fsize = (ull)size;
    if (!check_magic(name, head, nhead, err)) return false;
    if (nhead < CKPT_PREFIX)
        return ae_fail(err, "%s: error: truncated: %zu bytes, expected at least %d", name, nhead,
                       CKPT_PREFIX);
    uint32_t version = get_u32(head + 8);
    if (version != CHECKPOINT_VERSION)
        return ae_fail(err,
                       "%s: error: unsupported checkpoint version %u at byte 8, expected %d%s",
                       name, version, CHECKPOINT_VERSION,
                       version > CHECKPOINT_VERSION ? " (written by a newer aelab?)" : "");
    uint32_t hlen = get_u32(head + 12);
    size_t hmin = header_len(0, 0) - 8 * CHECKPOINT_NRNG;
    if (hlen < hmin || hlen > AE_CKPT_MAX_HEADER)
        return ae_fail(err,
                       "%s: error: implausible header length %u at byte 12, expected %zu..%u",
                       name, hlen, hmin, AE_CKPT_MAX_HEADER);
    /* the declared file size comes first in the header */
    if (nhead < CHECKPOINT_HEAD_BYTES || fsize < CKPT_PREFIX + (ull)hlen + 4)
        return ae_fail(err,
                       "%s: error: truncated: %llu bytes, expected at least %llu (the header)",
                       name, fsize, CKPT_PREFIX + (ull)hlen + 4);
    ull declared = get_u64(head + CKPT_PREFIX);
    if (declared > AE_CKPT_MAX_BYTES)
        return ae_fail(err, "%s: error: implausible size %llu at byte 16, limit %llu bytes",
                       name, declared, (ull)AE_CKPT_MAX_BYTES);
    if (fsize < declared)
        return ae_fail(err, "%s: error: truncated: expected %llu bytes, found %llu", name,
                       declared, fsize);
    if (fsize > declared)
        return ae_fail(err,
                       "%s: error: %llu trailing bytes after byte %llu: expected %llu bytes, "
                       "found %llu",
                       name, fsize - declared, declared, declared, fsize);
    return true;
}

/* ---- the header ---- */

typedef struct LayerShape {
    uint32_t I, O, act;
    bool tied;         /* a decoder layer with CKPT_TIED */
} LayerShape;

/* The header, decoded; valid only after parse_header succeeded. */
typedef struct Parsed {
    uint32_t input_dim, nenc, ndec, nhead;
    LayerShape layers[3 * AE_MAX_LAYERS];
    ull nparams; /* floats in all layers */
    CheckpointMeta meta;
} Parsed;

/* A position in the header: p moves from 16 to end; offsets in messages count from buf. */
typedef struct Cursor {
    const char *name;
    const unsigned char *buf, *p, *end;
    size_t hlen;
} Cursor;

#define OFF(c) ((ull)((c)->p - (c)->buf))

/* False with the message when fewer than nbytes of the header are left. */
static bool need(const Cursor *c, size_t nbytes, const char *what, AeError *err) {
    if ((size_t)(c->end - c->p) >= nbytes) return true;
    return ae_fail(err, "%s: error: malformed header: it ends at byte %llu, inside %s", c->name,
                   (ull)(CKPT_PREFIX + c->hlen), what);
}

static const char *stack_name(uint32_t li, const Parsed *h, uint32_t *index) {
    if (li < h->nenc) return *index = li, "encoder";
    if (li < h->nenc + h->ndec) return *index = li - h->nenc, "decoder";
    return *index = li - h->nenc - h->ndec, "head";
}

/* input_dim and the three layer counts (the file size before them is checked already). */
static bool parse_dims(Cursor *c, Parsed *h, AeError *err) {
    if (!need(c, 8 + 16, "the model's dimensions", err)) return false;
    c->p += 8;
    h->input_dim = get_u32(c->p), c->p += 4;
    h->nenc = get_u32(c->p), c->p += 4;
    h->ndec = get_u32(c->p), c->p += 4;
    h->nhead = get_u32(c->p), c->p += 4;
    if (h->input_dim == 0 || h->input_dim > AE_CKPT_MAX_DIM)
        return ae_fail(err, "%s: error: impossible input width %u at byte %llu, expected 1..%d",
                       c->name, h->input_dim, OFF(c) - 16, AE_CKPT_MAX_DIM);
    const char *names[3] = {"encoder", "decoder", "head"};
    uint32_t counts[3] = {h->nenc, h->ndec, h->nhead};
    for (int s = 0; s < 3; s++)
        if (counts[s] > AE_MAX_LAYERS)
            return ae_fail(err,
                           "%s: error: impossible %s layer count %u at byte %llu, expected at "
                           "most %d",
                           c->name, names[s], counts[s], OFF(c) - 12 + 4 * (ull)s,
                           AE_MAX_LAYERS);
    return true;
}

/* Each layer's (I, O, act), with the parameter count capped as it grows. */
static bool parse_shapes(Cursor *c, Parsed *h, AeError *err) {
    uint32_t nl = h->nenc + h->ndec + h->nhead;
    if (!need(c, 12 * (size_t)nl, "the layer shapes", err)) return false;
    for (uint32_t li = 0; li < nl; li++, c->p += 12) {
        LayerShape *L = &h->layers[li];
        uint32_t idx;
        const char *stack = stack_name(li, h, &idx);
        L->I = get_u32(c->p), L->O = get_u32(c->p + 4), L->act = get_u32(c->p + 8);
        L->tied = li >= h->nenc && li < h->nenc + h->ndec && (L->act & CKPT_TIED);
        if (L->tied) L->act &= ~CKPT_TIED;
        if (L->I == 0 || L->I > AE_CKPT_MAX_DIM || L->O == 0 || L->O > AE_CKPT_MAX_DIM)
            return ae_fail(err,
                           "%s: error: impossible shape %u->%u of %s layer %u at byte %llu, "
                           "expected widths 1..%d",
                           c->name, L->I, L->O, stack, idx, OFF(c), AE_CKPT_MAX_DIM);
        if (L->act >= ACT_COUNT)
            return ae_fail(err,
                           "%s: error: unknown activation %u of %s layer %u at byte %llu, "
                           "expected 0..%d",
                           c->name, L->act, stack, idx, OFF(c) + 8, ACT_COUNT - 1);
        h->nparams += (ull)L->O * L->I + L->O;
        if (h->nparams > AE_CKPT_MAX_PARAMS)
            return ae_fail(err,
                           "%s: error: implausible model size: more than %llu parameters by %s "
                           "layer %u (byte %llu)",
                           c->name, AE_CKPT_MAX_PARAMS, stack, idx, OFF(c));
    }
    return true;
}

/* The stacks must fit together (model.h's invariants), so that model_check cannot fail. */
static bool check_stacks(const char *name, const Parsed *h, AeError *err) {
    uint32_t in = h->input_dim;
    for (uint32_t i = 0; i < h->nenc; i++) {
        if (h->layers[i].I != in)
            return ae_fail(err,
                           "%s: error: impossible shapes: encoder layer %u takes %u inputs, but "
                           "its input has %u",
                           name, i, h->layers[i].I, in);
        in = h->layers[i].O;
    }
    uint32_t code = in;
    if (h->ndec && h->ndec != h->nenc)
        return ae_fail(err,
                       "%s: error: impossible shapes: %u decoder layers for %u encoder layers",
                       name, h->ndec, h->nenc);
    for (uint32_t k = 0; k < h->ndec; k++) {
        const LayerShape *d = &h->layers[h->nenc + k], *e = &h->layers[h->nenc - 1 - k];
        if (d->I != e->O || d->O != e->I)
            return ae_fail(err,
                           "%s: error: impossible shapes: decoder layer %u is %u->%u but mirrors "
                           "encoder layer %u, %u->%u",
                           name, k, d->I, d->O, h->nenc - 1 - k, e->I, e->O);
    }
    in = code;
    for (uint32_t i = 0; i < h->nhead; i++) {
        const LayerShape *L = &h->layers[h->nenc + h->ndec + i];
        if (L->I != in)
            return ae_fail(err,
                           "%s: error: impossible shapes: head layer %u takes %u inputs, but its "
                           "input has %u",
                           name, i, L->I, in);
        in = L->O;
    }
    return true;
}

/* The run state: stage, epoch, hash, seed, the random counters and the stage label. */
static bool parse_meta(Cursor *c, CheckpointMeta *meta, AeError *err) {
    if (!need(c, 8 + 16 + 4, "the run state", err)) return false;
    meta->stage_index = (int32_t)get_u32(c->p), c->p += 4;
    meta->epoch = (int32_t)get_u32(c->p), c->p += 4;
    meta->config_hash = get_u64(c->p), c->p += 8;
    meta->seed = get_u64(c->p), c->p += 8;
    uint32_t nrng = get_u32(c->p);
    if (nrng > AE_CKPT_MAX_NRNG)
        return ae_fail(err, "%s: error: malformed header: %u random counters at byte %llu, "
                       "expected at most %d", c->name, nrng, OFF(c), AE_CKPT_MAX_NRNG);
    c->p += 4;
    if (!need(c, 8 * (size_t)nrng, "the random counters", err)) return false;
    for (uint32_t k = 0; k < nrng; k++, c->p += 8)
        if (k < CHECKPOINT_NRNG) meta->rng_counters[k] = get_u64(c->p);
    if (!need(c, 4, "the stage label", err)) return false;
    uint32_t label_len = get_u32(c->p);
    if (label_len >= CHECKPOINT_LABEL_MAX)
        return ae_fail(err, "%s: error: malformed header: stage label of %u bytes at byte %llu, "
                       "expected fewer than %d", c->name, label_len, OFF(c),
                       CHECKPOINT_LABEL_MAX);
    c->p += 4;
    if (!need(c, label_len, "the stage label", err)) return false;
    memcpy(meta->stage_label, c->p, label_len);
    meta->stage_label[label_len] = '\0';
    c->p += label_len;
    return true;
}

/* Decodes and validates the header (bytes [16, 16+hlen) of buf) against the file size. */
static bool parse_header(const char *name, const unsigned char *buf, size_t hlen, ull fsize,
                         Parsed *h, AeError *err) {
    Cursor c = {.name = name, .buf = buf, .p = buf + CKPT_PREFIX,
                .end = buf + CKPT_PREFIX + hlen, .hlen = hlen};
    memset(h, 0, sizeof *h);
    if (!parse_dims(&c, h, err) || !parse_shapes(&c, h, err) || !check_stacks(name, h, err) ||
        !parse_meta(&c, &h->meta, err))
        return false;
    if (c.p != c.end)
        return ae_fail(err,
                       "%s: error: malformed header: %llu unused bytes at byte %llu (header "
                       "length %zu)",
                       name, (ull)(c.end - c.p), OFF(&c), hlen);
    ull want = CKPT_PREFIX + hlen + 4 * h->nparams + 4;
    if (want != fsize)
        return ae_fail(err,
                       "%s: error: malformed header: the layers need a %llu-byte file, the header "
                       "says %llu",
                       name, want, fsize);
    return true;
}

#undef OFF

/* ---- decoding ---- */

/* The model the parsed header describes, its parameters uploaded from params. */
static Model *build_model(const char *name, const Parsed *h, const unsigned char *params,
                          const Backend *be, AeError *err) {
    AeError lerr;
    Model *m = model_create(be, (int)h->input_dim, &lerr);
    if (!m) {
        ae_fail(err, "%s: error: %s", name, lerr.msg);
        return NULL;
    }
    uint32_t nl = h->nenc + h->ndec + h->nhead;
    for (uint32_t li = 0; li < nl; li++) {
        const LayerShape *L = &h->layers[li];
        Layer *l = layer_create(be, (int)L->I, (int)L->O, (Act)L->act, &lerr);
        if (!l) {
            ae_fail(err, "%s: error: %s", name, lerr.msg);
            model_free(m);
            return NULL;
        }
        if (li < h->nenc) m->enc[m->nenc++] = l;
        else if (li < h->nenc + h->ndec) m->dec[m->ndec++] = l;
        else m->head[m->nhead++] = l;
        upload_le_floats(be, l->params, params, l->nparams);
        params += 4 * l->nparams;
    }
    for (uint32_t k = 0; k < h->ndec; k++) /* the stacks mirror each other (check_stacks) */
        if (h->layers[h->nenc + k].tied) m->dec[k]->tied = m->enc[m->nenc - 1 - k];
    AE_ASSERT(model_check(m, &lerr)); /* check_stacks checked the same invariants */
    return m;
}

Model *checkpoint_decode(const char *name, const unsigned char *buf, size_t n, const Backend *be,
                         CheckpointMeta *meta, AeError *err) {
    size_t nhead = n < CHECKPOINT_HEAD_BYTES ? n : CHECKPOINT_HEAD_BYTES;
    if (!checkpoint_check_head(name, buf, nhead, n, err)) return NULL;
    uint32_t stored = get_u32(buf + n - 4);
    uint32_t computed = crc_of(buf, n - 4);
    if (stored != computed) {
        ae_fail(err,
                "%s: error: checksum mismatch: stored CRC32 0x%08x at byte %llu, computed "
                "0x%08x; the file is damaged",
                name, stored, (ull)n - 4, computed);
        return NULL;
    }
    size_t hlen = get_u32(buf + 12);
    Parsed h;
    if (!parse_header(name, buf, hlen, n, &h, err)) return NULL;
    Model *m = build_model(name, &h, buf + CKPT_PREFIX + hlen, be, err);
    if (m && meta) *meta = h.meta;
    return m;
}
