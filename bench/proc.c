/* bench/proc.c — the orchestrator's child processes: each runs with its stdout and stderr
 * captured, and comes back with its wall time, its peak RSS, and how many cores other people's
 * jobs used meanwhile (the machine's busy time from /proc/stat, less the child's own CPU time).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

void proc_clear(Proc *p) {
    free(p->out);
    p->out = NULL;
}

/* Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait). */
static double machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return NAN;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return NAN;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static char *read_all(int fd) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) die("out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("out of memory");
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

/* The child's side of proc_run: stdout and stderr into the pipes, the environment changes
 * ("K=V" sets K, "K=" unsets it), then argv; exits 127 when it cannot be run. */
static void proc_child(char *const argv[], const char *const *setenv_kv, const int out_pipe[2],
                       const int err_pipe[2]) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    for (const char *const *kv = setenv_kv; kv && *kv; kv++) {
        char key[256];
        const char *eq = strchr(*kv, '=');
        size_t kl = eq ? (size_t)(eq - *kv) : strlen(*kv);
        if (kl >= sizeof key) continue;
        memcpy(key, *kv, kl);
        key[kl] = '\0';
        if (eq && eq[1]) setenv(key, eq + 1, 1);
        else unsetenv(key);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* The last non-empty line of text (trailing newlines are cut off text in place) into buf. */
static void last_line(char *buf, size_t n, char *text) {
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    const char *nl = strrchr(text, '\n');
    snprintf(buf, n, "%s", nl ? nl + 1 : text);
}

Proc proc_run(char *const argv[], const char *const *setenv_kv, bool echo_err) {
    Proc p = {.rc = -1};
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    double busy0 = machine_busy_s();
    double t0 = now_seconds();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) proc_child(argv, setenv_kv, out_pipe, err_pipe);
    close(out_pipe[1]);
    close(err_pipe[1]);
    /* stderr is small (progress, errors); read it after stdout: children print little to
     * either, well under a pipe buffer, except stdout which we drain first. */
    p.out = read_all(out_pipe[0]);
    char *errtxt = read_all(err_pipe[0]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) die("wait4: %s", strerror(errno));
    p.wall_s = now_seconds() - t0;
    p.maxrss_kb = ru.ru_maxrss;
    double own = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    p.others = (machine_busy_s() - busy0 - own) / p.wall_s;
    if (p.others < 0) p.others = 0;
    p.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (echo_err && *errtxt) fputs(errtxt, stderr);
    last_line(p.err_tail, sizeof p.err_tail, errtxt);
    free(errtxt);
    return p;
}
