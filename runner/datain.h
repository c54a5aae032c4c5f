/* runner/datain.h — a data file opened for reading: plain bytes, or a gzip stream detected by
 * its content (1f 8b), decompressed as it is read. runner/data.c reads IDX and CSV files
 * through it.
 *
 * What it adds to zlib's gz* reader, which it replaces:
 *  - a gzip file is one member or several concatenated ones (as `gzip -c a b` or `cat a.gz b.gz`
 *    make); anything after the last member that is not another member is refused, with its
 *    offset in the file (zlib's reader ignores trailing garbage);
 *  - a caller reads exactly as far as it needs and asks for the end with a bound
 *    (datain_expect_end), so that a stream inflating past what the file's header declares is
 *    refused after at most DATAIN_SLACK more bytes, not inflated to the end;
 *  - the gzip trailer's ISIZE (the last member's length mod 2^32) read without inflating, for
 *    a cheap size check.
 * Messages name the path: "PATH: error: WHAT"; offsets count bytes of the decompressed stream
 * unless they say "of the file".
 */
#ifndef AE_DATAIN_H
#define AE_DATAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "common.h"

/* Bytes past the expected end that datain_expect_end inflates before it stops counting. */
#define DATAIN_SLACK (1ULL << 20)

typedef struct DataIn {
    const char *path;            /* borrowed */
    int fd;
    bool gzip;                   /* the content starts with the gzip magic 1f 8b */
    unsigned long long fsize;    /* bytes on disk */
    unsigned long long pos;      /* bytes of the (decompressed) stream delivered so far */
    /* gzip only */
    z_stream zs;
    bool zready;                 /* inflateInit2 done */
    unsigned char *ibuf;         /* compressed input, (DATAIN_IBUF) */
    unsigned long long fread;    /* bytes of the file read into ibuf so far */
    bool file_eof;               /* read(2) returned 0 */
    bool done;                   /* the last member ended and nothing follows */
    int members;                 /* gzip members started */
} DataIn;

/* Opens a regular file (a FIFO or device is refused: "cannot open: a FIFO, not a regular
 * file"). False with err filled ("PATH: error: cannot open: REASON"). */
bool datain_open(DataIn *f, const char *path, AeError *err);

/* Reads up to n bytes into dst; *got says how many arrived. *got < n only at the clean end of
 * the data (plain: end of file; gzip: the last member ended, nothing after it). False with err
 * filled on a read error, a damaged or truncated gzip stream, or trailing garbage. */
bool datain_read(DataIn *f, void *dst, unsigned long long n, unsigned long long *got,
                 AeError *err);

/* After the last expected byte (f->pos == expected): true when the data end there. Otherwise
 * false with "N trailing bytes after byte E: expected E bytes[ (decompressed)], found E+N";
 * a gzip stream going on for more than DATAIN_SLACK bytes is refused with "more than N
 * trailing bytes ..." without inflating the rest. For gzip this also checks each member's
 * CRC and length. */
bool datain_expect_end(DataIn *f, unsigned long long expected, AeError *err);

/* The ISIZE field of a gzip file's trailer (its last 4 bytes): the last member's decompressed
 * length mod 2^32. False for a plain file or one too short to hold a trailer. */
bool datain_gzip_isize(const DataIn *f, uint32_t *isize);

/* Closes the file (safe to call twice, and on a DataIn zeroed or whose open failed). */
void datain_close(DataIn *f);

#endif
