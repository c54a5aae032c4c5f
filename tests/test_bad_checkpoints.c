/* tests/test_bad_checkpoints.c — the checkpoint part of the bad-input catalogue (issue 8):
 * foreign and damaged checkpoints, each with its exact message, given to the engine's decoder
 * as bytes (engine/checkpoint.c, checkpoint_decode) and to the runner's loader as a file
 * (runner/ckptfile.c, ckptfile_load), which must agree; missing files and directories go to the
 * loader only. The refusals that tests/test_checkpoint.c already checks (empty file, PNG, bad
 * magic, versions, short prefix, truncated body, trailing bytes, flipped bits, and the forged
 * shapes) are not repeated here. Forged checkpoints get a correct declared size and CRC32, so
 * that the check under test is reached.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint.h"
#include "ckptfile.h"
#include "data.h"
#include "testutil.h"

static void put_u32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sets the declared size (u64 at 16) to n and recomputes the CRC32 in the last 4 bytes. */
static void reseal(unsigned char *b, size_t n) {
    put_u32(b + 16, (uint32_t)n);
    put_u32(b + 20, 0);
    put_u32(b + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
}

static int ncases;

/* One refusal: m must be NULL and err exactly "WHERE: error: " + want. */
static void check_refusal(const char *name, const char *how, Model *m, const AeError *err,
                          const char *where, const char *want) {
    char full[2048];
    snprintf(full, sizeof full, "%s: error: %s", where, want);
    tu_checks++;
    if (m || strcmp(err->msg, full) != 0) {
        tu_failures++;
        fprintf(stderr, "FAIL %s: %s%s\n   got: \"%s\"\n  want: \"%s\"\n", name, how,
                m ? " succeeded" : " refused it with another message", m ? "" : err->msg, full);
    }
    model_free(m);
}

/* The file at path must be refused by ckptfile_load with "PATH: error: " + want. */
static void expect_file_refused(const char *name, const char *path, const char *want) {
    AeError err = {{0}};
    Model *m = ckptfile_load(path, backend_cpu(), NULL, &err);
    ncases++;
    check_refusal(name, "ckptfile_load", m, &err, path, want);
}

/* The n bytes at b must be refused by checkpoint_decode ("bytes: error: " + want) and, written
 * to a file, by ckptfile_load ("PATH: error: " + want). */
static void expect_refused(const char *name, const unsigned char *b, size_t n, const char *want) {
    AeError err = {{0}};
    CheckpointMeta meta;
    Model *m = checkpoint_decode("bytes", b, n, backend_cpu(), &meta, &err);
    check_refusal(name, "checkpoint_decode", m, &err, "bytes", want);
    const char *path = tu_path("refused.ckpt");
    tu_write_file(path, b, n);
    expect_file_refused(name, path, want);
}

/* expect_refused on the bytes of the file at path. */
static void expect_refused_bytes_of(const char *name, const char *path, const char *want) {
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    expect_refused(name, b, n, want);
    free(b);
}

static Layer *new_layer(const Backend *be, int I, int O, Act act, RngStream *rng) {
    AeError err;
    Layer *l = layer_create(be, I, O, act, &err);
    AE_ASSERT(l != NULL);
    layer_init(be, l, INIT_PYTORCH, rng);
    return l;
}

int main(void) {
    tu_tmpdir("bad-ckpt");
    const Backend *be = backend_cpu();
    AeError err;

    /* a good checkpoint: 6 -> 4 (code) -> 6, head 4 -> 3; 3 layers, label "pretrain_layer" */
    RngStream rng = rng_stream(5, RNG_STREAM_INIT);
    Model *m = model_create(be, 6, NULL);
    m->enc[m->nenc++] = new_layer(be, 6, 4, ACT_TANH, &rng);
    m->dec[m->ndec++] = new_layer(be, 4, 6, ACT_SIGMOID, &rng);
    m->head[m->nhead++] = new_layer(be, 4, 3, ACT_LOGSOFTMAX, &rng);
    CheckpointMeta meta = {.stage_index = 1, .epoch = 2, .seed = 1};
    snprintf(meta.stage_label, sizeof meta.stage_label, "pretrain_layer");
    size_t n;
    unsigned char *good;
    CHECK(checkpoint_encode("good", m, &meta, &good, &n, &err));
    unsigned char *b = malloc(n + 4096);
    const uint32_t hlen = get_u32(good + 12);
    const size_t nrng_at = 64 + 12 * 3;                        /* header layout: checkpoint.c */
    const size_t label_at = nrng_at + 4 + 8 * CHECKPOINT_NRNG; /* the label length */
    CHECK(get_u32(good + nrng_at) == CHECKPOINT_NRNG && get_u32(good + label_at) == 14);
    char want[1024];

    /* ---- not there, or not a file ---- */
    expect_file_refused("missing", tu_path("none.ckpt"), "cannot open: No such file or directory");
    const char *dir = tu_path("a-directory.ckpt");
    CHECK(mkdir(dir, 0755) == 0);
    expect_file_refused("directory", dir, "cannot open: a directory, not a regular file");
    const char *fifo = tu_path("a-fifo.ckpt");
    CHECK(mkfifo(fifo, 0644) == 0);
    alarm(10); /* a reader that blocks on the FIFO fails the test instead of hanging it */
    expect_file_refused("fifo", fifo, "cannot open: a FIFO, not a regular file");
    expect_file_refused("character device", "/dev/zero",
                        "cannot open: a character device, not a regular file");
    alarm(0);

    /* ---- foreign files ---- */
    uint8_t pix[4 * 2 * 2] = {0};
    int dims[3] = {4, 2, 2};
    const char *idx = tu_path("images.idx");
    CHECK(idx_write(idx, pix, dims, 3, &err));
    expect_refused_bytes_of(
        "an IDX file", idx,
        "not an aelab checkpoint: bad magic \"........\" at byte 0, expected \"AELABCKP\"");
    const char *gz = tu_path("model.ckpt.gz");
    gzFile g = gzopen(gz, "wb");
    AE_ASSERT(g && gzwrite(g, good, (unsigned)n) == (int)n && gzclose(g) == Z_OK);
    expect_refused_bytes_of(
        "a gzip-compressed checkpoint", gz,
        "not an aelab checkpoint: bad magic \"........\" at byte 0, expected \"AELABCKP\"");
    const char *yaml = tu_path("config.yaml");
    tu_write_file(yaml, "name: lecture17\npipeline: []\n", 29);
    expect_refused_bytes_of(
        "a YAML config", yaml,
        "not an aelab checkpoint: bad magic \"name: le\" at byte 0, expected \"AELABCKP\"");
    const char *csv = tu_path("metrics.csv");
    tu_write_file(csv, "stage_index,stage\n1,pretrain_layer\n", 35);
    expect_refused_bytes_of(
        "a metrics.csv", csv,
        "not an aelab checkpoint: bad magic \"stage_in\" at byte 0, expected \"AELABCKP\"");
    /* what a file system can leave after a power loss: the right length, all zeros */
    memset(b, 0, n);
    expect_refused(
        "zero-filled", b, n,
        "not an aelab checkpoint: bad magic \"........\" at byte 0, expected \"AELABCKP\"");
    expect_refused("cut inside the magic", (const unsigned char *)"AEL", 3,
                   "truncated: 3 bytes, expected at least 16");

    /* ---- damaged prefix ---- */
    snprintf(want, sizeof want, "truncated: 16 bytes, expected at least %u (the header)",
             16 + hlen + 4);
    expect_refused("prefix only", good, 16, want);
    memcpy(b, good, n);
    put_u32(b + 12, 10);
    expect_refused("header length too small", b, n,
                   "implausible header length 10 at byte 12, expected 56..65536");

    /* ---- forged headers (size and CRC correct) ---- */
    memcpy(b, good, n);
    put_u32(b + nrng_at, 100);
    reseal(b, n);
    snprintf(want, sizeof want,
             "malformed header: 100 random counters at byte %zu, expected at most 64", nrng_at);
    expect_refused("too many random counters", b, n, want);

    memcpy(b, good, n);
    put_u32(b + label_at, 200);
    reseal(b, n);
    snprintf(want, sizeof want,
             "malformed header: stage label of 200 bytes at byte %zu, expected fewer than 128",
             label_at);
    expect_refused("stage label too long", b, n, want);

    /* no counters: the header's last 8*8 bytes are left over */
    memcpy(b, good, n);
    put_u32(b + nrng_at, 0);
    put_u32(b + nrng_at + 4, 0); /* read as the label length */
    reseal(b, n);
    snprintf(want, sizeof want, "malformed header: %u unused bytes at byte %zu (header length %u)",
             16 + hlen - (unsigned)(nrng_at + 8), nrng_at + 8, hlen);
    expect_refused("unused header bytes", b, n, want);

    /* 16 encoder layers announced, but the header holds 3 layers' shapes */
    memcpy(b, good, n);
    put_u32(b + 28, 16);
    reseal(b, n);
    snprintf(want, sizeof want, "malformed header: it ends at byte %u, inside the layer shapes",
             16 + hlen);
    expect_refused("header ends inside the layer shapes", b, n, want);

    /* a model of more than 2^27 parameters: input 2^24 wide, first layer 2^24 -> 16 */
    memcpy(b, good, n);
    put_u32(b + 24, 1u << 24);
    put_u32(b + 40, 1u << 24);
    put_u32(b + 44, 16);
    reseal(b, n);
    expect_refused("implausible model size", b, n,
                   "implausible model size: more than 134217728 parameters by encoder layer 0 "
                   "(byte 40)");

    /* the good file still loads: the forging above changed only the copies */
    Model *back = checkpoint_decode("good", good, n, be, NULL, &err);
    CHECK(back != NULL);
    model_free(back);

    free(b);
    free(good);
    model_free(m);
    printf("test_bad_checkpoints: %d bad checkpoints\n", ncases);
    return tu_tmpdir_done(tu_summary("test_bad_checkpoints"));
}
