/* runner/fsutil.c — directories, the one atomic writer (temp + fsync + rename), whole-file
 * reads, and the clean-up of temps that killed runs left.
 *
 * Every file aelab writes goes through af_create/af_finish here: the run's tables and scripts,
 * the checkpoints (runner/ckptfile.c) and IDX files (runner/data.c). Temp names are
 * PATH.tmp.<pid>.<counter>: the pid keeps concurrent runs apart, the counter keeps two writers
 * in one process apart, and fs_remove_stale_temps knows every temp by that shape. errno is
 * captured right after the call that failed, before any clean-up call can overwrite it.
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

/* Why an atomic write failed: the step ("write failed", ...) and its errno. */
typedef struct FsFailure {
    const char *what;
    int errnum;
} FsFailure;

static bool fs_failed(FsFailure *f, const char *what, int errnum) {
    f->what = what;
    f->errnum = errnum ? errnum : EIO;
    return false;
}

/* A new AtomicFile with its temp name; fp is NULL and f filled when the temp cannot be created
 * or given a stream (the caller reports, then af_release). */
static AtomicFile *af_create(const char *final_path, FsFailure *f) {
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
        fs_failed(f, "cannot create temporary file", errno);
        return af;
    }
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        fs_failed(f, "cannot open a stream on", errno);
        close(fd);
        unlink(af->tmp);
    }
    return af;
}

static void af_release(AtomicFile *af) {
    free(af->path);
    free(af->tmp);
    free(af);
}

AtomicFile *af_open(const char *final_path, AeError *err) {
    FsFailure f;
    AtomicFile *af = af_create(final_path, &f);
    if (af->fp) return af;
    ae_fail(err, "%s: error: %s '%s': %s", final_path, f.what, af->tmp, strerror(f.errnum));
    af_release(af);
    return NULL;
}

FILE *af_file(AtomicFile *af) {
    AE_ASSERT(af && af->fp);
    return af->fp;
}

/* Test hook for tests/test_resume_kill.sh: with AELAB_TEST_STALL_COMMIT=SUBSTRING in the
 * environment, a commit whose final path contains SUBSTRING waits 30 s with its temp file
 * complete but not yet renamed, so that the test can kill the process at that point. */
static void fs_test_stall(const char *path) {
    const char *sub = getenv("AELAB_TEST_STALL_COMMIT");
    if (sub && *sub && strstr(path, sub)) sleep(30);
}

/* Flushes, fsyncs, closes and renames the temp over the final path; on failure removes the
 * temp and fills f. Does not free af. */
static bool af_finish(AtomicFile *af, FsFailure *f) {
    bool ok = true;
    if (fflush(af->fp) != 0)
        ok = fs_failed(f, "write failed", errno);
    else if (ferror(af->fp))
        /* A write failed earlier and the stream kept its error flag; errno may be stale. */
        ok = fs_failed(f, "write failed", EIO);
    else if (fsync(fileno(af->fp)) != 0)
        ok = fs_failed(f, "fsync failed", errno);
    if (fclose(af->fp) != 0 && ok)
        ok = fs_failed(f, "close failed", errno);
    af->fp = NULL;
    if (ok) fs_test_stall(af->path);
    if (ok && rename(af->tmp, af->path) != 0)
        ok = fs_failed(f, "rename failed", errno);
    if (!ok) {
        unlink(af->tmp);
        return false;
    }
    fs_sync_parent(af->path);
    return true;
}

bool af_commit(AtomicFile *af, AeError *err) {
    if (!af)
        return false;
    FsFailure f;
    bool ok = af_finish(af, &f);
    if (!ok) ae_fail(err, "%s: error: %s: %s", af->path, f.what, strerror(f.errnum));
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

int fs_write_atomic_errno(const char *path, const void *data, size_t n) {
    FsFailure f;
    AtomicFile *af = af_create(path, &f);
    if (!af->fp) {
        af_release(af);
        return f.errnum;
    }
    if (n > 0 && fwrite(data, 1, n, af->fp) != n) {
        int e = errno;
        af_abort(af);
        return e ? e : EIO;
    }
    bool ok = af_finish(af, &f);
    af_release(af);
    return ok ? 0 : f.errnum;
}

/* What kind of file a non-regular mode is, for messages. */
static const char *file_type_name(mode_t m) {
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a plain file";
}

int fs_open_regular(const char *path, unsigned long long *size, char *why, size_t why_cap) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, why_cap, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_cap, "cannot open: %s, not a regular file", file_type_name(st.st_mode));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_cap, "cannot open: %s", strerror(errno));
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        snprintf(why, why_cap, "cannot open: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_cap, "cannot open: %s, not a regular file", file_type_name(st.st_mode));
        close(fd);
        return -1;
    }
    if (size) *size = (unsigned long long)st.st_size;
    return fd;
}

char *fs_read_file(const char *path, size_t *n, AeError *err) {
    AE_ASSERT(path);
    char *buf = NULL;
    char why[256];
    int fd = fs_open_regular(path, NULL, why, sizeof why);
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "rb");
    if (!fp) {
        if (fd >= 0) {
            snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
            close(fd);
        }
        ae_fail(err, "%s: error: %s", path, why);
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

long fs_lock_holder(int fd) {
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}
