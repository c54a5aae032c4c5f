/* tests/test_checkpoint.c — engine/checkpoint.c on buffers: bit-exact round trips on the CPU
 * backend, and one damaged checkpoint per refusal, each checked against its exact message;
 * runner/ckptfile.c on files: the same bytes on disk, no temp file left, the file-only
 * refusals, and every refusal again through a file. Checkpoints with a valid CRC but impossible
 * contents are forged by patching the header and recomputing the CRC32. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"
#include "ckptfile.h"
#include "testutil.h"

static void put_u32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fix_crc(unsigned char *b, size_t n) {
    put_u32(b + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
}

static Layer *new_layer(const Backend *be, int I, int O, Act act, RngStream *rng) {
    AeError err;
    Layer *l = layer_create(be, I, O, act, &err);
    AE_ASSERT(l != NULL);
    layer_init(be, l, INIT_PYTORCH, rng);
    return l;
}

/* 6 -> 4 -> 3 (code) -> 4 -> 6, head 3 -> 5 -> 2 */
static Model *make_model(const Backend *be) {
    RngStream rng = rng_stream(42, RNG_STREAM_INIT);
    Model *m = model_create(be, 6, NULL);
    m->enc[m->nenc++] = new_layer(be, 6, 4, ACT_TANH, &rng);
    m->enc[m->nenc++] = new_layer(be, 4, 3, ACT_SIGMOID, &rng);
    m->dec[m->ndec++] = new_layer(be, 3, 4, ACT_RELU, &rng);
    m->dec[m->ndec++] = new_layer(be, 4, 6, ACT_IDENTITY, &rng);
    m->head[m->nhead++] = new_layer(be, 3, 5, ACT_RELU, &rng);
    m->head[m->nhead++] = new_layer(be, 5, 2, ACT_LOGSOFTMAX, &rng);
    return m;
}

static bool layer_equal(const Backend *be, const Layer *a, const Layer *b) {
    if (a->I != b->I || a->O != b->O || a->act != b->act || a->nparams != b->nparams)
        return false;
    float *x = malloc(a->nparams * sizeof *x), *y = malloc(b->nparams * sizeof *y);
    be->download(x, a->params, a->nparams * sizeof *x);
    be->download(y, b->params, b->nparams * sizeof *y);
    bool same = memcmp(x, y, a->nparams * sizeof *x) == 0;
    free(x);
    free(y);
    return same;
}

static bool model_equal(const Model *a, const Model *b) {
    if (a->input_dim != b->input_dim || a->nenc != b->nenc || a->ndec != b->ndec ||
        a->nhead != b->nhead)
        return false;
    for (int i = 0; i < a->nenc; i++)
        if (!layer_equal(a->be, a->enc[i], b->enc[i])) return false;
    for (int i = 0; i < a->ndec; i++)
        if (!layer_equal(a->be, a->dec[i], b->dec[i])) return false;
    for (int i = 0; i < a->nhead; i++)
        if (!layer_equal(a->be, a->head[i], b->head[i])) return false;
    return true;
}

/* The bytes b (n) must be refused with exactly "NAME: error: " + want, both by the engine's
 * decoder on the buffer (NAME: the name it is given) and by the runner's file loader on a file
 * holding them (NAME: the path): the loader checks the head before it reads the rest, and must
 * reach the same verdict. */
static void expect_refused(const void *b, size_t n, const char *want, int line) {
    const char *path = tu_path("bad.ckpt");
    char full[2048];
    for (int file = 0; file < 2; file++) {
        const char *name = file ? path : "bytes";
        snprintf(full, sizeof full, "%s: error: %s", name, want);
        AeError err = {{0}};
        CheckpointMeta meta;
        Model *m;
        if (file) {
            tu_write_file(path, b, n);
            m = ckptfile_load(path, backend_cpu(), &meta, &err);
        } else {
            m = checkpoint_decode(name, (const unsigned char *)b, n, backend_cpu(), &meta, &err);
        }
        tu_checks++;
        if (m || strcmp(err.msg, full) != 0) {
            tu_failures++;
            fprintf(stderr, "%s:%d: check failed: %s%s\n   got: \"%s\"\n  want: \"%s\"\n",
                    __FILE__, line, file ? "ckptfile_load" : "checkpoint_decode",
                    m ? " succeeded" : "", err.msg, full);
        }
        model_free(m);
    }
}
#define EXPECT_REFUSED(b, n, ...)                                                             \
    do {                                                                                      \
        char want_[2048];                                                                     \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                           \
        expect_refused((b), (n), want_, __LINE__);                                            \
    } while (0)

/* The file at path must be refused with exactly "PATH: error: " + want. */
static void expect_file_refused(const char *path, const char *want, int line) {
    char full[2048];
    snprintf(full, sizeof full, "%s: error: %s", path, want);
    AeError err = {{0}};
    Model *m = ckptfile_load(path, backend_cpu(), NULL, &err);
    tu_checks++;
    if (m || strcmp(err.msg, full) != 0) {
        tu_failures++;
        fprintf(stderr, "%s:%d: check failed: ckptfile_load(%s)%s\n   got: \"%s\"\n  want: \"%s\"\n",
                __FILE__, line, path, m ? " succeeded" : "", err.msg, full);
    }
    model_free(m);
}

/* Whether tu_dir() holds a file whose name contains ".tmp." (a writer's temp left behind). */
static bool temp_left(void) {
    DIR *d = opendir(tu_dir());
    AE_ASSERT(d != NULL);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) found = true;
    closedir(d);
    return found;
}

int main(void) {
    tu_tmpdir("ckpt");
    const Backend *be = backend_cpu();
    AeError err = {{0}};

    /* ---- round trip through a buffer (the engine) ---- */
    Model *m = make_model(be);
    CheckpointMeta meta = {.stage_index = 3, .epoch = 7, .config_hash = 0xfeedface12345678ULL,
                           .seed = 1234567890123ULL};
    snprintf(meta.stage_label, sizeof meta.stage_label, "append_layer_2");
    for (int k = 0; k < CHECKPOINT_NRNG; k++) meta.rng_counters[k] = 0x0102030405060708ULL * (unsigned)k + 9;
    unsigned char *good;
    size_t n;
    CHECK(checkpoint_encode("m", m, &meta, &good, &n, &err));
    CheckpointMeta got;
    memset(&got, 0xab, sizeof got);
    Model *m2 = checkpoint_decode("m", good, n, be, &got, &err);
    CHECK(m2 != NULL);
    if (!m2) fprintf(stderr, "  %s\n", err.msg);
    CHECK(m2 && model_equal(m, m2));
    CHECK(m2 && m2->be == be);
    CHECK(m2 && model_check(m2, &err));
    CHECK(got.stage_index == 3 && got.epoch == 7 && got.config_hash == meta.config_hash &&
          got.seed == meta.seed);
    CHECK_STR(got.stage_label, "append_layer_2");
    CHECK(memcmp(got.rng_counters, meta.rng_counters, sizeof meta.rng_counters) == 0);

    size_t nparams = model_nparams(m);
    CHECK(memcmp(good, "AELABCKP", 8) == 0 && get_u32(good + 8) == 1);
    CHECK(n == 16 + get_u32(good + 12) + 4 * nparams + 4);
    /* the reloaded model encodes to the same bytes */
    unsigned char *again;
    size_t n2;
    CHECK(checkpoint_encode("m2", m2, &got, &again, &n2, &err));
    CHECK(n2 == n && memcmp(again, good, n) == 0);
    free(again);
    model_free(m2);

    /* a model with nothing but an input, NULL meta, and NULL meta on decode */
    Model *e = model_create(be, 784, &err);
    CHECK(e && checkpoint_encode("empty", e, NULL, &again, &n2, &err));
    Model *e2 = checkpoint_decode("empty", again, n2, be, NULL, &err);
    CHECK(e2 && e2->input_dim == 784 && e2->nenc == 0 && e2->ndec == 0 && e2->nhead == 0);
    free(again);
    model_free(e2);
    model_free(e);

    /* ---- files (the runner): the same bytes on disk, atomically, no temp left ---- */
    const char *path = tu_path("m.ckpt");
    CHECK(ckptfile_save(path, m, &meta, &err));
    unsigned char *ondisk = tu_read_file(path, &n2);
    CHECK(n2 == n && memcmp(ondisk, good, n) == 0);
    free(ondisk);
    memset(&got, 0xab, sizeof got);
    m2 = ckptfile_load(path, be, &got, &err);
    CHECK(m2 && model_equal(m, m2) && got.epoch == 7);
    model_free(m2);
    CHECK(ckptfile_save(path, m, NULL, &err)); /* over the old one */
    CHECK(!temp_left());
    expect_file_refused(tu_path("missing.ckpt"), "cannot open: No such file or directory", __LINE__);
    expect_file_refused(tu_dir(), "cannot open: a directory, not a regular file", __LINE__);
    CHECK(!ckptfile_save("/nonexistent-dir/m.ckpt", m, &meta, &err));
    CHECK_STR(err.msg, "/nonexistent-dir/m.ckpt: error: cannot write: No such file or directory");

    /* ---- refusals, each on the buffer and on a file ---- */
    unsigned char *b = malloc(n + 64);

    EXPECT_REFUSED("", 0, "not an aelab checkpoint: the file is empty");
    EXPECT_REFUSED("\x89PNG\r\n\x1a\n-----------", 19, "not an aelab checkpoint: bad magic \".PNG....\" at byte 0, expected \"AELABCKP\"");
    memcpy(b, good, n);
    memcpy(b, "AELABCKQ", 8);
    EXPECT_REFUSED(b, n, "not an aelab checkpoint: bad magic \"AELABCKQ\" at byte 0, expected \"AELABCKP\"");

    memcpy(b, good, n);
    put_u32(b + 8, 99);
    EXPECT_REFUSED(b, n, "unsupported checkpoint version 99 at byte 8, expected 1 (written by a newer aelab?)");
    put_u32(b + 8, 0);
    EXPECT_REFUSED(b, n, "unsupported checkpoint version 0 at byte 8, expected 1");

    EXPECT_REFUSED(good, 5, "truncated: 5 bytes, expected at least 16");
    EXPECT_REFUSED(good, n - 10, "truncated: expected %zu bytes, found %zu", n, n - 10);
    EXPECT_REFUSED(good, 30, "truncated: 30 bytes, expected at least %u (the header)",
                   16 + get_u32(good + 12) + 4);
    memcpy(b, good, n);
    memcpy(b + n, "xyz", 3);
    EXPECT_REFUSED(b, n + 3, "3 trailing bytes after byte %zu: expected %zu bytes, found %zu", n, n,
                   n + 3);

    /* one flipped bit in the parameters, in the label, in the CRC itself */
    size_t flips[3] = {n - 20, 16 + get_u32(good + 12) - 3, n - 2};
    for (int k = 0; k < 3; k++) {
        memcpy(b, good, n);
        b[flips[k]] ^= 0x10;
        uint32_t computed = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4));
        EXPECT_REFUSED(b, n,
                       "checksum mismatch: stored CRC32 0x%08x at byte %zu, computed 0x%08x; the "
                       "file is damaged",
                       get_u32(b + n - 4), n - 4, computed);
    }

    /* forged: valid CRC, impossible contents (offsets: header at 16; input_dim 24, nenc 28,
     * ndec 32, nhead 36, layer k's I, O, act at 40 + 12k) */
    memcpy(b, good, n);
    put_u32(b + 12, 1u << 30);
    EXPECT_REFUSED(b, n, "implausible header length 1073741824 at byte 12, expected 56..65536");
    memcpy(b, good, n);
    put_u32(b + 16, 0);
    put_u32(b + 20, 1u << 31); /* file size 2^63 */
    EXPECT_REFUSED(b, n, "implausible size 9223372036854775808 at byte 16, limit 536936468 bytes");

    struct {
        size_t off;
        uint32_t value;
        const char *want;
    } forged[] = {
        {24, 0, "impossible input width 0 at byte 24, expected 1..16777216"},
        {28, 1000, "impossible encoder layer count 1000 at byte 28, expected at most 16"},
        {36, 17, "impossible head layer count 17 at byte 36, expected at most 16"},
        {40 + 12 * 1 + 4, 0xffffffffu,
         "impossible shape 4->4294967295 of encoder layer 1 at byte 52, expected widths "
         "1..16777216"},
        {40 + 12 * 3 + 8, 9, "unknown activation 9 of decoder layer 1 at byte 84, expected 0..4"},
        {40 + 12 * 1, 5,
         "impossible shapes: encoder layer 1 takes 5 inputs, but its input has 4"},
        {40 + 12 * 2 + 4, 5,
         "impossible shapes: decoder layer 0 is 3->5 but mirrors encoder layer 1, 4->3"},
        {40 + 12 * 4, 4, "impossible shapes: head layer 0 takes 4 inputs, but its input has 3"},
        {32, 1, "impossible shapes: 1 decoder layers for 2 encoder layers"},
        {40 + 12 * 5 + 4, 3,
         "malformed header: the layers need a 734-byte file, the header says 710"},
    };
    for (size_t k = 0; k < sizeof forged / sizeof forged[0]; k++) {
        memcpy(b, good, n);
        put_u32(b + forged[k].off, forged[k].value);
        fix_crc(b, n);
        EXPECT_REFUSED(b, n, "%s", forged[k].want);
    }
    /* a label length that runs past the header */
    memcpy(b, good, n);
    size_t hend = 16 + get_u32(good + 12);
    put_u32(b + hend - 14 - 4, 100);
    fix_crc(b, n);
    EXPECT_REFUSED(b, n, "malformed header: it ends at byte %zu, inside the stage label", hend);

    free(b);
    free(good);
    model_free(m);
    return tu_tmpdir_done(tu_summary("test_checkpoint"));
}
