/* runner/stagecache.c — stage cache entries and their locks (stagecache.h). */
#include "stagecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filehash.h"
#include "fsutil.h"

#define PATH_CAP 4200

const char *stagecache_dir(const char *dir) {
    if (dir) return dir;
    const char *env = getenv("AELAB_CACHE");
    return env && env[0] ? env : "results/.cache";
}

static void entry_path(char *out, const char *dir, const char *key, const char *ext) {
    snprintf(out, PATH_CAP, "%s/%s.%s", dir, key, ext);
}

/* Whether fd is still the file at path: a gc may have removed the lock file between our open()
 * and our flock(); we then hold the lock of a file nobody else will see, and must start again. */
static bool still_linked(int fd, const char *path) {
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int open_lock(const char *dir, const char *key, AeError *err) {
    char path[PATH_CAP];
    entry_path(path, dir, key, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) return STAGECACHE_NOLOCK;
    if (fd < 0) ae_fail(err, "%s: error: cannot open the stage cache's lock: %s", path,
                        strerror(errno));
    return fd;
}

/* Waits for the lock on fd, polling, since a blocking flock() is restarted after a signal
 * (SA_RESTART) and ^C must end the wait: false with errno EINTR when *stop became true, or
 * another errno when flock fails otherwise. */
static bool wait_for(int fd, const volatile sig_atomic_t *stop) {
    const struct timespec tick = {0, 20 * 1000 * 1000}; /* 20 ms: nothing next to a training */
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK) return false;
        if (stop && *stop) {
            errno = EINTR;
            return false;
        }
        nanosleep(&tick, NULL);
    }
}

int stagecache_lock(const char *dir, const char *key, void (*on_wait)(void *arg, long pid),
                    void *arg, const volatile sig_atomic_t *stop, AeError *err) {
    char path[PATH_CAP];
    entry_path(path, dir, key, "lock");
    AeError e2;
    if (!fs_mkdir_p(dir, &e2) && !fs_is_dir(dir)) return STAGECACHE_NOLOCK;
    bool said = false;
    for (;;) {
        int fd = open_lock(dir, key, err);
        if (fd < 0) return fd;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                ae_fail(err, "%s: error: cannot lock: %s", path, strerror(errno));
                close(fd);
                return -1;
            }
            if (!said && on_wait) on_wait(arg, fs_lock_holder(fd));
            said = true;
            if (!wait_for(fd, stop)) {
                ae_fail(err, "%s: error: %s while waiting for the lock", path,
                        errno == EINTR ? "interrupted" : strerror(errno));
                close(fd);
                return -1;
            }
        }
        if (still_linked(fd, path)) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
            /* the PID is for the message of whoever waits; the time is the last use: failing to
             * record either is harmless */
            if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) { /* keep it */
            }
            futimens(fd, NULL);
            return fd;
        }
        close(fd);
    }
}

int stagecache_trylock(const char *dir, const char *key, bool create, AeError *err) {
    char path[PATH_CAP];
    entry_path(path, dir, key, "lock");
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0 && !create && errno == ENOENT) return STAGECACHE_NOLOCK;
    if (fd < 0) {
        ae_fail(err, "%s: error: cannot open the lock: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_linked(fd, path)) {
        ae_fail(err, "%s: in use by another aelab", path);
        close(fd);
        return -1;
    }
    return fd;
}

void stagecache_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}

bool stagecache_write_info(const char *dir, const char *key, const char *config,
                           const char *stage, int stage_index, AeError *err) {
    char path[PATH_CAP], hex[FILEHASH_HEX];
    entry_path(path, dir, key, "csv");
    size_t n = 0;
    char *rows = fs_read_file(path, &n, err);
    if (!rows) return false;
    filehash_bytes(rows, n, hex);
    free(rows);
    char text[1024];
    int len = snprintf(text, sizeof text, "%s\nconfig %s\nstage %s\nstage_index %d\nrows_xxh3 %s\n",
                       STAGECACHE_INFO_MAGIC, config, stage, stage_index, hex);
    entry_path(path, dir, key, "info");
    return fs_write_atomic(path, text, (size_t)len, err);
}

/* The value of "NAME VALUE" among text's lines into out (cap bytes). */
static bool info_field(const char *text, const char *name, char *out, size_t cap) {
    size_t l = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, name, l) != 0 || p[l] != ' ') continue;
        const char *v = p + l + 1;
        size_t n = strcspn(v, "\n");
        if (out) snprintf(out, cap, "%.*s", (int)n, v);
        return true;
    }
    return false;
}

bool stagecache_read_info(const char *dir, const char *key, char *config, char *stage,
                          char *csv_hash, size_t cap, char *why, size_t why_cap) {
    char path[PATH_CAP];
    entry_path(path, dir, key, "info");
    char *text = fs_read_file(path, NULL, NULL);
    bool ok = text && strncmp(text, STAGECACHE_INFO_MAGIC "\n", strlen(STAGECACHE_INFO_MAGIC) + 1) == 0 &&
              info_field(text, "config", config, cap) && info_field(text, "stage", stage, cap) &&
              info_field(text, "rows_xxh3", csv_hash, cap);
    if (!ok) snprintf(why, why_cap, "%s.info is %s", key, text ? "damaged" : "missing");
    free(text);
    return ok;
}

bool stagecache_check_rows(const char *dir, const char *key, char *why, size_t cap) {
    char want[128], path[PATH_CAP], hex[FILEHASH_HEX];
    if (!stagecache_read_info(dir, key, NULL, NULL, want, sizeof want, why, cap)) return false;
    entry_path(path, dir, key, "csv");
    size_t n = 0;
    char *rows = fs_read_file(path, &n, NULL);
    if (!rows) {
        snprintf(why, cap, "%s.csv is missing", key);
        return false;
    }
    filehash_bytes(rows, n, hex);
    free(rows);
    if (strcmp(hex, want) == 0) return true;
    snprintf(why, cap, "%s.csv does not match its checksum (XXH3 %s, expected %s)", key, hex, want);
    return false;
}

bool stagecache_remove(const char *dir, const char *key, int fd) {
    static const char *const exts[] = {"ckpt", "csv", "info", "lock"};
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        char path[PATH_CAP];
        entry_path(path, dir, key, exts[i]);
        if (unlink(path) != 0 && errno != ENOENT) ok = false;
    }
    stagecache_unlock(fd);
    return ok;
}
