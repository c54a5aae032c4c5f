/* runner/rundir.c — the run directory's lock (see rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"

int rundir_lock(const char *dir, AeError *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, RUNDIR_LOCK_NAME) >= sizeof path) {
        ae_fail(err, "%s: error: the path is too long for its lock file", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) return RUNDIR_UNWRITABLE;
    if (fd < 0) {
        ae_fail(err, "%s: error: cannot open the run directory's lock: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = fs_lock_holder(fd);
        close(fd);
        if (e == EWOULDBLOCK && pid)
            ae_fail(err, "%s: error: in use by another aelab (pid %ld) writing there; wait for it "
                    "to finish or choose another --out", dir, pid);
        else if (e == EWOULDBLOCK)
            ae_fail(err, "%s: error: in use by another aelab writing there; wait for it to finish "
                    "or choose another --out", dir);
        else
            ae_fail(err, "%s: error: cannot lock the run directory: %s", path, strerror(e));
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    /* The PID is only for the message of a refused process: failing to record it is harmless. */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        /* keep the lock */
    }
    return fd;
}

void rundir_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}
