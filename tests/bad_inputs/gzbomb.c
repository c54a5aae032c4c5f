/* tests/bad_inputs/gzbomb.c — writes the gzip bombs of the bad-input catalogue
 * (tests/test_bad_inputs.sh builds and runs it), in well under a second whatever their size:
 *
 *   gzbomb images OUT ZEROS N ROWS COLS   a gzip file: an idx3 header (N, ROWS, COLS), then ZEROS
 *                                         zero bytes (ZEROS may differ from N*ROWS*COLS: a bomb)
 *   gzbomb labels OUT N                   a plain idx1 labels file: N labels i % 10
 *
 * The gzip file is one valid member (CRC-32 and ISIZE right, so `gzip -t` accepts it). Making
 * it fast: raw deflate (Z_RLE) of the zeros in 1 MiB chunks, each ended by Z_FULL_FLUSH, which
 * resets the compressor and byte-aligns its output; from the third chunk on, every full chunk
 * compresses to the same bytes, so those are written again instead of recomputed. The CRC of
 * the zeros comes from crc32_combine, not from running over them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (1u << 20)

static void put_be32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

static void put_le32(FILE *f, uint32_t v) {
    for (int i = 0; i < 4; i++) fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* Deflates in with flush into f; the bytes written are also copied to keep (when not NULL). */
static size_t deflate_out(z_stream *z, const unsigned char *in, size_t n, int flush, FILE *f,
                          unsigned char *keep, size_t keep_cap) {
    static unsigned char out[2 * CHUNK];
    size_t total = 0;
    z->next_in = (unsigned char *)in;
    z->avail_in = (uInt)n;
    do {
        z->next_out = out;
        z->avail_out = sizeof out;
        if (deflate(z, flush) == Z_STREAM_ERROR) {
            fprintf(stderr, "gzbomb: deflate failed\n");
            exit(1);
        }
        size_t made = sizeof out - z->avail_out;
        fwrite(out, 1, made, f);
        if (keep && total + made <= keep_cap) memcpy(keep + total, out, made);
        total += made;
    } while (z->avail_out == 0);
    return total;
}

static int write_images(const char *path, unsigned long long zeros, uint32_t n, uint32_t rows,
                        uint32_t cols) {
    FILE *f = fopen(path, "wb");
    if (!f) return perror(path), 1;
    static const unsigned char gzhdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    fwrite(gzhdr, 1, sizeof gzhdr, f);
    unsigned char hdr[16] = {0, 0, 8, 3};
    put_be32(hdr + 4, n), put_be32(hdr + 8, rows), put_be32(hdr + 12, cols);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_RLE) != Z_OK) return 1;
    unsigned char *zero = calloc(1, CHUNK), *rep = malloc(2 * CHUNK), *again = malloc(2 * CHUNK);
    if (!zero || !rep || !again) return 1;
    uLong crc = crc32(0L, hdr, sizeof hdr), crc_chunk = crc32(0L, zero, CHUNK);
    deflate_out(&z, hdr, sizeof hdr, Z_NO_FLUSH, f, NULL, 0);
    size_t nrep = 0;
    bool same = false;
    for (unsigned long long left = zeros, k = 0; left > 0; k++) {
        size_t len = left < CHUNK ? (size_t)left : CHUNK;
        if (len == CHUNK && same) {
            fwrite(rep, 1, nrep, f);
        } else if (len == CHUNK && k == 1) {
            nrep = deflate_out(&z, zero, len, Z_FULL_FLUSH, f, rep, 2 * CHUNK);
        } else if (len == CHUNK && k == 2) {
            size_t m = deflate_out(&z, zero, len, Z_FULL_FLUSH, f, again, 2 * CHUNK);
            same = m == nrep && memcmp(again, rep, m) == 0;
        } else {
            deflate_out(&z, zero, len, Z_FULL_FLUSH, f, NULL, 0);
        }
        crc = crc32_combine(crc, len == CHUNK ? crc_chunk : crc32(0L, zero, (uInt)len), (z_off_t)len);
        left -= len;
    }
    deflate_out(&z, NULL, 0, Z_FINISH, f, NULL, 0);
    deflateEnd(&z);
    put_le32(f, (uint32_t)crc);
    put_le32(f, (uint32_t)(zeros + sizeof hdr)); /* ISIZE: the length mod 2^32 */
    free(zero), free(rep), free(again);
    return fclose(f) == 0 ? 0 : 1;
}

static int write_labels(const char *path, uint32_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return perror(path), 1;
    unsigned char hdr[8] = {0, 0, 8, 1};
    put_be32(hdr + 4, n);
    fwrite(hdr, 1, sizeof hdr, f);
    for (uint32_t i = 0; i < n; i++) fputc((int)(i % 10), f);
    return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 7 && strcmp(argv[1], "images") == 0)
        return write_images(argv[2], strtoull(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10),
                            (uint32_t)strtoul(argv[5], NULL, 10), (uint32_t)strtoul(argv[6], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "labels") == 0)
        return write_labels(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
    fprintf(stderr, "usage: gzbomb images OUT ZEROS N ROWS COLS | gzbomb labels OUT N\n");
    return 2;
}
