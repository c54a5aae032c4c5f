/* runner/ckptfile.c — checkpoint files (see ckptfile.h): the file I/O around the engine's
 * checkpoint_encode / checkpoint_check_head / checkpoint_decode. */
#include "ckptfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

bool ckptfile_save(const char *path, const Model *m, const CheckpointMeta *meta, AeError *err) {
    unsigned char *buf;
    size_t n;
    if (!checkpoint_encode(path, m, meta, &buf, &n, err)) return false;
    int e = fs_write_atomic_errno(path, buf, n);
    free(buf);
    if (e) return ae_fail(err, "%s: error: cannot write: %s", path, strerror(e));
    return true;
}

/* Reads up to n bytes; *got says how many arrived (fewer at the end of the file). False with
 * errno set on a read error. */
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

/* Opens path for reading when it is a regular file (runner/fsutil.h); -1 with the message
 * otherwise. *size is its length. */
static int open_regular(const char *path, unsigned long long *size, AeError *err) {
    char why[256];
    int fd = fs_open_regular(path, size, why, sizeof why);
    if (fd < 0) ae_fail(err, "%s: error: %s", path, why);
    return fd;
}

/* The whole file in a new buffer (*n bytes), read only after its first bytes passed
 * checkpoint_check_head; NULL with the message otherwise. */
static unsigned char *read_checked(int fd, const char *path, unsigned long long fsize, size_t *n,
                                   AeError *err) {
    unsigned char head[CHECKPOINT_HEAD_BYTES];
    size_t got;
    if (!read_full(fd, head, sizeof head, &got)) {
        ae_fail(err, "%s: error: read error: %s", path, strerror(errno));
        return NULL;
    }
    if (!checkpoint_check_head(path, head, got, fsize, err)) return NULL;
    /* bounded now by the engine's cap and by what is really on disk */
    AeError merr;
    unsigned char *buf = ae_malloc((size_t)fsize, "the checkpoint", &merr);
    if (!buf) {
        ae_fail(err, "%s: error: %s", path, merr.msg);
        return NULL;
    }
    memcpy(buf, head, got);
    size_t rest = (size_t)fsize - got, more;
    if (!read_full(fd, buf + got, rest, &more)) {
        ae_fail(err, "%s: error: read error: %s", path, strerror(errno));
        free(buf);
        return NULL;
    }
    if (more != rest) {
        ae_fail(err, "%s: error: truncated: expected %llu bytes, found %llu (changed while "
                "reading?)", path, fsize, (unsigned long long)(got + more));
        free(buf);
        return NULL;
    }
    *n = (size_t)fsize;
    return buf;
}

Model *ckptfile_load(const char *path, const Backend *be, CheckpointMeta *meta, AeError *err) {
    unsigned long long fsize;
    int fd = open_regular(path, &fsize, err);
    if (fd < 0) return NULL;
    size_t n;
    unsigned char *buf = read_checked(fd, path, fsize, &n, err);
    close(fd);
    if (!buf) return NULL;
    Model *m = checkpoint_decode(path, buf, n, be, meta, err);
    free(buf);
    return m;
}
