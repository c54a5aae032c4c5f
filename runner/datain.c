/* runner/datain.c — data files read plain or through inflate (see datain.h).
 *
 * A gzip file is inflated with zlib's inflate (windowBits 16 + 15: gzip wrapper, CRC-32 and
 * length checked at the end of each member). At each member's end the next two bytes decide:
 * the end of the file is the end of the data, the gzip magic starts another member (inflateReset),
 * anything else is trailing garbage, refused with its offset in the file. Plain files are read
 * with read(2) straight into the caller's buffer.
 */
#include "datain.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

typedef unsigned long long ull;

#define DATAIN_IBUF (1u << 17)

bool datain_open(DataIn *f, const char *path, AeError *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = path;
    char why[256];
    f->fd = fs_open_regular(path, &f->fsize, why, sizeof why);
    if (f->fd < 0) return ae_fail(err, "%s: error: %s", path, why);
    unsigned char m[2] = {0, 0};
    f->gzip = pread(f->fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
    if (!f->gzip) return true;
    f->ibuf = malloc(DATAIN_IBUF);
    if (!f->ibuf || inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) {
        datain_close(f);
        return ae_fail(err, "%s: error: cannot open: out of memory for the gzip reader", path);
    }
    f->zready = true;
    f->members = 1;
    return true;
}

void datain_close(DataIn *f) {
    if (f->zready) inflateEnd(&f->zs);
    f->zready = false;
    free(f->ibuf);
    f->ibuf = NULL;
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

/* Moves the unread input to the front of ibuf and reads more after it. */
static bool refill(DataIn *f, AeError *err) {
    if (f->zs.avail_in && f->zs.next_in != f->ibuf) memmove(f->ibuf, f->zs.next_in, f->zs.avail_in);
    f->zs.next_in = f->ibuf;
    while (!f->file_eof && f->zs.avail_in < DATAIN_IBUF) {
        ssize_t r = read(f->fd, f->ibuf + f->zs.avail_in, DATAIN_IBUF - f->zs.avail_in);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return ae_fail(err, "%s: error: read error at byte %llu of the file: %s", f->path,
                           f->fread, strerror(errno));
        if (r == 0) f->file_eof = true;
        f->fread += (ull)r;
        f->zs.avail_in += (uInt)r;
        break;
    }
    return true;
}

/* A member ended: another one follows, or the data end, or what follows is refused. */
static bool member_end(DataIn *f, AeError *err) {
    while (f->zs.avail_in < 2 && !f->file_eof)
        if (!refill(f, err)) return false;
    if (f->zs.avail_in == 0) {
        f->done = true;
        return true;
    }
    if (f->zs.avail_in >= 2 && f->zs.next_in[0] == 0x1f && f->zs.next_in[1] == 0x8b) {
        inflateReset(&f->zs);
        f->members++;
        return true;
    }
    ull at = f->fread - f->zs.avail_in;
    return ae_fail(err,
                   "%s: error: trailing garbage after the gzip stream: %llu bytes at byte %llu "
                   "of the file (after %d member%s, %llu bytes decompressed) are not another "
                   "gzip member",
                   f->path, f->fsize > at ? f->fsize - at : 1, at, f->members,
                   f->members == 1 ? "" : "s", f->pos);
}

static bool inflate_error(DataIn *f, int rc, AeError *err) {
    switch (rc) {
    case Z_MEM_ERROR:
        return ae_fail(err, "%s: error: out of memory while decompressing", f->path);
    case Z_NEED_DICT:
        return ae_fail(err, "%s: error: damaged gzip stream: a preset dictionary is needed",
                       f->path);
    default:
        return ae_fail(err, "%s: error: damaged gzip stream: %s", f->path,
                       f->zs.msg ? f->zs.msg : "unknown zlib error");
    }
}

static bool read_gzip(DataIn *f, unsigned char *p, ull n, ull *got, AeError *err) {
    while (*got < n && !f->done) {
        if (f->zs.avail_in == 0 && !f->file_eof && !refill(f, err)) return false;
        ull want = n - *got;
        uInt room = want > (1u << 30) ? (1u << 30) : (uInt)want;
        f->zs.next_out = p + *got;
        f->zs.avail_out = room;
        int rc = inflate(&f->zs, Z_NO_FLUSH);
        ull made = room - f->zs.avail_out;
        *got += made;
        f->pos += made;
        if (rc == Z_STREAM_END) {
            if (!member_end(f, err)) return false;
        } else if (rc == Z_BUF_ERROR || (rc == Z_OK && made == 0)) {
            if (f->zs.avail_in == 0 && f->file_eof)
                return ae_fail(err,
                               "%s: error: damaged gzip stream: compressed data ends early "
                               "(truncated .gz file?)",
                               f->path);
        } else if (rc != Z_OK) {
            return inflate_error(f, rc, err);
        }
    }
    return true;
}

bool datain_read(DataIn *f, void *dst, ull n, ull *got, AeError *err) {
    unsigned char *p = dst;
    *got = 0;
    if (f->gzip) return read_gzip(f, p, n, got, err);
    while (*got < n) {
        ull want = n - *got;
        if (want > (1u << 30)) want = 1u << 30;
        ssize_t r = read(f->fd, p + *got, (size_t)want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return ae_fail(err, "%s: error: read error at byte %llu: %s", f->path, f->pos,
                           strerror(errno));
        if (r == 0) break;
        *got += (ull)r;
        f->pos += (ull)r;
    }
    return true;
}

bool datain_expect_end(DataIn *f, ull expected, AeError *err) {
    if (!f->gzip) {
        if (f->fsize <= expected) return true;
        return ae_fail(err,
                       "%s: error: %llu trailing bytes after byte %llu: expected %llu bytes, "
                       "found %llu",
                       f->path, f->fsize - expected, expected, expected, f->fsize);
    }
    unsigned char scratch[1 << 16];
    ull extra = 0;
    while (!f->done && extra <= DATAIN_SLACK) {
        ull want = DATAIN_SLACK + 1 - extra, got = 0;
        if (want > sizeof scratch) want = sizeof scratch;
        if (!datain_read(f, scratch, want, &got, err)) return false;
        extra += got;
        if (got < want) break;
    }
    if (extra > DATAIN_SLACK)
        return ae_fail(err,
                       "%s: error: more than %llu trailing bytes after byte %llu: expected %llu "
                       "bytes (decompressed); the stream inflates past what its header "
                       "declares (stopped reading there)",
                       f->path, DATAIN_SLACK, expected, expected);
    if (extra)
        return ae_fail(err,
                       "%s: error: %llu trailing bytes after byte %llu: expected %llu bytes "
                       "(decompressed), found %llu",
                       f->path, extra, expected, expected, expected + extra);
    return true;
}

bool datain_gzip_isize(const DataIn *f, uint32_t *isize) {
    unsigned char b[4];
    if (!f->gzip || f->fsize < 20 || pread(f->fd, b, 4, (off_t)(f->fsize - 4)) != 4) return false;
    *isize = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}
