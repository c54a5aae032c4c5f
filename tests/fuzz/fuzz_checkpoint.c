/* tests/fuzz/fuzz_checkpoint.c — libFuzzer harness for the checkpoint decoder
 * (engine/checkpoint.c, checkpoint_decode on the CPU backend), which reads bytes, not files.
 *
 * Input: the checkpoint's bytes followed by one flags byte, removed before decoding:
 *   bit 0  patch the declared file size (u64 at byte 16) to the real size;
 *   bit 1  recompute the CRC32 in the last 4 bytes.
 * Without the patches nearly every mutation dies at the size or checksum check; with them the
 * fuzzer reaches the header parser and the shape checks. Flags 0 keeps the raw bytes, so the
 * early refusals are fuzzed too. The seeds (tests/fuzz/gen_seeds.c) end in 0x03.
 * Checks: no crash, leak or undefined behaviour; NULL <=> a message "NAME: error: ..." (NAME:
 * the name it is given); a model that decodes satisfies model_check and, encoded again, gives
 * back the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"
#include "fuzz_util.h"

static void put_le(unsigned char *p, uint64_t v, int nbytes) {
    for (int k = 0; k < nbytes; k++) p[k] = (unsigned char)(v >> (8 * k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[size - 1];
    size_t n = size - 1;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) abort();
    memcpy(b, data, n);
    if ((flags & 1) && n >= 24) put_le(b + 16, n, 8);
    if ((flags & 2) && n >= 4) put_le(b + n - 4, crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)), 4);
    const char *name = "fuzz-input";

    AeError err = {{0}};
    CheckpointMeta meta;
    Model *m = checkpoint_decode(name, b, n, backend_cpu(), &meta, &err);
    if (!m) {
        size_t pl = strlen(name);
        FUZZ_CHECK(strncmp(err.msg, name, pl) == 0 && strncmp(err.msg + pl, ": error: ", 9) == 0,
                   "refusal without a \"NAME: error: \" message: \"%s\"", err.msg);
        FUZZ_CHECK(fuzz_known("multiline-message") || strchr(err.msg, '\n') == NULL,
                   "multi-line message: \"%s\"", err.msg);
    } else {
        AeError cerr;
        FUZZ_CHECK(model_check(m, &cerr), "loaded model fails model_check: %s", cerr.msg);
        FUZZ_CHECK(strlen(meta.stage_label) < CHECKPOINT_LABEL_MAX, "label not terminated");
        /* Encoded again, the same bytes: when the input holds exactly CHECKPOINT_NRNG counters
         * and a label without a NUL inside (the encoder's only choices), every byte is
         * determined by the Model and meta. nrng sits at 64 + 12*nlayers, the label length
         * 4 + 8*nrng bytes after it (layout in engine/checkpoint.c). */
        AeError serr;
        unsigned char *b2 = NULL;
        size_t n2 = 0;
        FUZZ_CHECK(checkpoint_encode(name, m, &meta, &b2, &n2, &serr), "encode: %s", serr.msg);
        size_t at = 64 + 12 * (size_t)(m->nenc + m->ndec + m->nhead);
        uint32_t nrng =
            b[at] | b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 | (uint32_t)b[at + 3] << 24;
        size_t lat = at + 4 + 8 * (size_t)CHECKPOINT_NRNG;
        bool canonical = nrng == CHECKPOINT_NRNG && lat + 4 <= n &&
                         (size_t)(b[lat] | b[lat + 1] << 8) == strlen(meta.stage_label) &&
                         b[lat + 2] == 0 && b[lat + 3] == 0;
        if (canonical) {
            size_t k = 0;
            while (k < n && k < n2 && b2[k] == b[k]) k++;
            FUZZ_CHECK(n2 == n && k == n,
                       "encoded again, the bytes differ at byte %zu (sizes %zu, %zu)", k, n, n2);
        }
        free(b2);
        model_free(m);
    }
    free(b);
    return 0;
}
