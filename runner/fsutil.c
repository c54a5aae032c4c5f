/* runner/fsutil.c — directories, atomic writes (temp + fsync + rename), whole-file reads.
 *
 * Temp names are PATH.tmp.<pid>.<counter>: the pid keeps concurrent runs apart, the counter
 * keeps two writers in one process apart. errno is captured right after the call that failed,
 * before any clean-up call can overwrite it.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct AtomicFile {
    FILE *fp;
    char *path; /* final */
    char *tmp;  /* PATH.tmp.<pid>.<counter> */
};

static atomic_uint fs_tmp_counter;

bool fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

bool fs_mkdir_p(const char *path, AeError *err) {
    AE_ASSERT(path);
    size_t n = strlen(path);
    if (n == 0)
        return ae_fail(err, "error: cannot create directory '': empty path");
    char *buf = ae_xmalloc(n + 1);
    memcpy(buf, path, n + 1);
    /* Create each prefix that ends before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && buf[i] != '/')
            continue;
        if (i < n && buf[i - 1] == '/')
            continue; /* "a//b" */
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0) {
            int e = errno;
            if (e != EEXIST || !fs_is_dir(buf)) {
                if (e == EEXIST)
                    ae_fail(err, "%s: error: cannot create directory: exists and is not a "
                                 "directory",
                            buf);
                else
                    ae_fail(err, "%s: error: cannot create directory: %s", buf, strerror(e));
                free(buf);
                return false;
            }
        }
        buf[i] = saved;
    }
    free(buf);
    return true;
}

/* The directory part of path ("." when there is none); malloc'ed. */
static char *fs_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = ae_xmalloc(2);
        memcpy(d, ".", 2);
        return d;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/file" -> "/" */
    char *d = ae_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Makes the rename durable. Best effort: some file systems refuse fsync on a directory
 * (EINVAL), which does not make the write itself fail. */
static void fs_sync_parent(const char *path) {
    char *dir = fs_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

AtomicFile *af_open(const char *final_path, AeError *err) {
    AE_ASSERT(final_path);
    AtomicFile *af = ae_xcalloc(1, sizeof *af);
    size_t n = strlen(final_path);
    af->path = ae_xmalloc(n + 1);
    memcpy(af->path, final_path, n + 1);
    size_t tn = n + 64;
    af->tmp = ae_xmalloc(tn);
    unsigned k = atomic_fetch_add(&fs_tmp_counter, 1u);
    snprintf(af->tmp, tn, "%s.tmp.%ld.%u", final_path, (long)getpid(), k);

    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        ae_fail(err, "%s: error: cannot create temporary file '%s': %s", final_path, af->tmp,
                strerror(e));
        goto fail;
    }
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        ae_fail(err, "%s: error: cannot open a stream on '%s': %s", final_path, af->tmp,
                strerror(e));
        goto fail;
    }
    return af;
fail:
    free(af->path);
    free(af->tmp);
    free(af);
    return NULL;
}

FILE *af_file(AtomicFile *af) {
    AE_ASSERT(af && af->fp);
    return af->fp;
}

const char *af_path(const AtomicFile *af) {
    AE_ASSERT(af);
    return af->path;
}

static void af_release(AtomicFile *af) {
    free(af->path);
    free(af->tmp);
    free(af);
}

bool af_commit(AtomicFile *af, AeError *err) {
    if (!af)
        return false;
    bool ok = false;
    int e = 0;
    const char *what = NULL;
    if (fflush(af->fp) != 0) {
        e = errno;
        what = "write failed";
    } else if (ferror(af->fp)) {
        /* A write failed earlier and the stream kept its error flag; errno may be stale. */
        e = EIO;
        what = "write failed";
    } else if (fsync(fileno(af->fp)) != 0) {
        e = errno;
        what = "fsync failed";
    }
    if (fclose(af->fp) != 0 && !what) {
        e = errno;
        what = "close failed";
    }
    af->fp = NULL;
    if (!what && rename(af->tmp, af->path) != 0) {
        e = errno;
        what = "rename failed";
    }
    if (what) {
        unlink(af->tmp);
        ae_fail(err, "%s: error: %s: %s", af->path, what, strerror(e));
        goto done;
    }
    fs_sync_parent(af->path);
    ok = true;
done:
    af_release(af);
    return ok;
}

void af_abort(AtomicFile *af) {
    if (!af)
        return;
    if (af->fp)
        fclose(af->fp);
    unlink(af->tmp);
    af_release(af);
}

bool fs_write_atomic(const char *path, const void *data, size_t n, AeError *err) {
    AtomicFile *af = af_open(path, err);
    if (!af)
        return false;
    if (n > 0 && fwrite(data, 1, n, af->fp) != n) {
        int e = errno;
        af_abort(af);
        return ae_fail(err, "%s: error: write failed: %s", path, strerror(e ? e : EIO));
    }
    return af_commit(af, err);
}

char *fs_read_file(const char *path, size_t *n, AeError *err) {
    AE_ASSERT(path);
    char *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        ae_fail(err, "%s: error: cannot open: %s", path, strerror(e));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    buf = ae_xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                ae_fail(err, "%s: error: out of memory reading %zu bytes", path, cap);
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                int e = errno;
                ae_fail(err, "%s: error: read failed: %s", path, strerror(e ? e : EIO));
                goto fail;
            }
            break;
        }
    }
    fclose(fp);
    buf[len] = '\0';
    if (n)
        *n = len;
    return buf;
fail:
    fclose(fp);
    free(buf);
    return NULL;
}

/* nftw's callback state: nftw passes no context pointer (one walk at a time: not reentrant). */
static int fs_stale_removed;

static int fs_stale_visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    if (type != FTW_F) return 0;
    const char *tmp = strstr(path + ftw->base, ".tmp.");
    if (!tmp) return 0;
    char *end;
    long pid = strtol(tmp + 5, &end, 10);
    if (end == tmp + 5 || *end != '.' || pid <= 0) return 0;
    strtoul(end + 1, &end, 10);
    if (*end) return 0; /* not NAME.tmp.<pid>.<counter> */
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) return 0; /* its writer may be alive */
    if (unlink(path) == 0) fs_stale_removed++;
    return 0;
}

int fs_remove_stale_temps(const char *dir) {
    fs_stale_removed = 0;
    nftw(dir, fs_stale_visit, 16, FTW_PHYS);
    return fs_stale_removed;
}
