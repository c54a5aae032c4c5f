/* runner/gnuplot.c — finding gnuplot, quoting for its scripts, and running a script (fork +
 * exec in the script's directory, stderr captured through a pipe, exit status and PNG checked).
 */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

#define GNUPLOT_PATH_MAX 4096

/* ---- quoting ---- */

/* Appends s for a single-quoted string: '' for ', control characters as spaces. */
static void gnuplot_quote_chars(StrBuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_printf(b, "''");
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            strbuf_printf(b, " ");
        else
            strbuf_printf(b, "%c", *s);
    }
}

/* Appends prefix and s as one gnuplot single-quoted string. Inside single quotes gnuplot
 * substitutes no `command`, no @macro and no \ escape; only the quote itself is special. */
static void gnuplot_quote2(StrBuf *b, const char *prefix, const char *s) {
    strbuf_printf(b, "'");
    gnuplot_quote_chars(b, prefix);
    gnuplot_quote_chars(b, s);
    strbuf_printf(b, "'");
}

void gnuplot_quote(StrBuf *b, const char *s) { gnuplot_quote2(b, "", s); }

/* A file name in the script's directory, as './NAME'. */
void gnuplot_quote_file(StrBuf *b, const char *name) { gnuplot_quote2(b, "./", name); }

/* Appends s to a comment line: control characters and backquotes become '?'. */
void gnuplot_comment(StrBuf *b, const char *s) {
    for (; *s; s++)
        strbuf_printf(b, "%c", (unsigned char)*s < 0x20 || *s == 0x7f || *s == '`' ? '?' : *s);
}

/* ---- running it ---- */

static bool gnuplot_join(char *out, const char *dir, const char *name, AeError *err) {
    int k = snprintf(out, GNUPLOT_PATH_MAX, "%s/%s", dir, name);
    if (k < 0 || k >= GNUPLOT_PATH_MAX)
        return ae_fail(err, "%s/%s: error: path too long", dir, name);
    return true;
}

/* Absolute, because the child changes directory before exec. */
const char *gnuplot_find(void) {
    static char found[GNUPLOT_PATH_MAX];
    char cand[GNUPLOT_PATH_MAX];
    const char *env = getenv("AELAB_GNUPLOT");
    const char *name = "gnuplot";
    if (env) {
        if (!*env)
            return NULL;
        if (strchr(env, '/'))
            return access(env, X_OK) == 0 && !fs_is_dir(env) && realpath(env, found) ? found
                                                                                     : NULL;
        name = env;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        int k = snprintf(cand, sizeof cand, "%.*s/%s", (int)len, len ? path : ".", name);
        if (k > 0 && k < (int)sizeof cand && access(cand, X_OK) == 0 && !fs_is_dir(cand) &&
            realpath(cand, found))
            return found;
        if (!colon)
            break;
        path = colon + 1;
    }
    return NULL;
}

/* Copies the first lines of gnuplot's stderr into out (newlines kept as " | "). */
static void gnuplot_summarise(char *out, size_t n, const char *msg, int maxlines) {
    size_t k = 0;
    int lines = 0;
    out[0] = '\0';
    for (const char *p = msg; *p && k + 4 < n && lines < maxlines; p++) {
        if (*p == '\n') {
            lines++;
            while (p[1] == '\n')
                p++;
            if (p[1] && lines < maxlines) {
                memcpy(out + k, " | ", 3);
                k += 3;
            }
            continue;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
}

/* Starts `GP -e SETVAR SCRIPT_ARG` in dir, stdin and stdout on /dev/null; *fd reads its stderr. */
static bool gnuplot_spawn(const char *gp, const char *dir, const char *script_arg,
                        const char *setvar, const char *shown, pid_t *pid, int *fd,
                        AeError *err) {
    int pfd[2];
    if (pipe(pfd) != 0)
        return ae_fail(err, "%s: error: pipe: %s", shown, strerror(errno));
    fflush(NULL);
    *pid = fork();
    if (*pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return ae_fail(err, "%s: error: fork: %s", shown, strerror(e));
    }
    if (*pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        if (chdir(dir) != 0) {
            static const char m[] = "cannot change to the script's directory\n";
            (void)!write(2, m, sizeof m - 1);
            _exit(126);
        }
        char *argv[] = {(char *)gp, "-e", (char *)setvar, (char *)script_arg, NULL};
        execv(gp, argv);
        static const char m[] = "cannot execute gnuplot\n";
        (void)!write(2, m, sizeof m - 1);
        _exit(127);
    }
    close(pfd[1]);
    *fd = pfd[0];
    return true;
}

/* Reads the child's stderr to the end (the first cap - 1 bytes kept in msg), then waits for it. */
static bool gnuplot_reap(pid_t pid, int fd, char *msg, size_t cap, int *status,
                         const char *shown, AeError *err) {
    size_t got = 0;
    for (;;) {
        char chunk[1024];
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (take > cap - 1 - got)
            take = cap - 1 - got;
        memcpy(msg + got, chunk, take);
        got += take;
    }
    msg[got] = '\0';
    close(fd);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return ae_fail(err, "%s: error: waitpid: %s", shown, strerror(errno));
    return true;
}

/* True when path holds a whole PNG: the signature first and the IEND chunk last. A write cut
 * short (full disk, file size limit) leaves a file without its IEND while gnuplot exits 0. */
static bool gnuplot_png_complete(const char *path) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char head[8], tail[12];
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    bool ok = fread(head, 1, 8, fp) == 8 && fseek(fp, -12, SEEK_END) == 0 &&
              fread(tail, 1, 12, fp) == 12;
    fclose(fp);
    return ok && memcmp(head, sig, 8) == 0 && memcmp(tail, iend, 12) == 0;
}

/* gnuplot's verdict on one script: its exit status, then the PNG it wrote to tmp (named as png
 * in errors); its warnings are passed on when it succeeded. */
static bool gnuplot_judge(int status, const char *msg, const char *tmp, const char *png,
                        const char *shown, AeError *err) {
    char summary[1024];
    gnuplot_summarise(summary, sizeof summary, msg, 4);
    if (WIFSIGNALED(status))
        return ae_fail(err, "%s: error: gnuplot killed by signal %d: %s", shown, WTERMSIG(status),
                       summary[0] ? summary : "(no message)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ae_fail(err, "%s: error: gnuplot exited with status %d: %s", shown,
                       WEXITSTATUS(status), summary[0] ? summary : "(no message)");
    struct stat st;
    if (stat(tmp, &st) != 0 || st.st_size == 0)
        return ae_fail(err, "%s: error: gnuplot succeeded but wrote no picture (does the script "
                            "`set output out_png`?)%s%s",
                       png, summary[0] ? ": " : "", summary);
    if (!gnuplot_png_complete(tmp))
        return ae_fail(err, "%s: error: gnuplot wrote an incomplete PNG (%lld bytes; disk full or "
                            "over the file size limit?)%s%s",
                       png, (long long)st.st_size, summary[0] ? ": " : "", summary);
    if (summary[0])
        fprintf(stderr, "%s: warning: gnuplot: %s\n", shown, summary);
    return true;
}

/* TMP is SCRIPT's .png name plus ".tmp.PID.N"; gnuplot gets "./SCRIPT", never an option. */
bool gnuplot_render(const char *dir, const char *script, AeError *err) {
    const char *gp = gnuplot_find();
    AE_ASSERT(gp);
    size_t sl = strlen(script);
    AE_ASSERT(sl > 3 && strcmp(script + sl - 3, ".gp") == 0);
    static unsigned counter;
    char shown[GNUPLOT_PATH_MAX], png[GNUPLOT_PATH_MAX], tmp[GNUPLOT_PATH_MAX];
    char png_name[512], tmp_name[600], arg[520];
    if (!gnuplot_join(shown, dir, script, err))
        return false;
    int k1 = snprintf(png_name, sizeof png_name, "%.*s.png", (int)(sl - 3), script);
    int k2 = snprintf(tmp_name, sizeof tmp_name, "%s.tmp.%ld.%u", png_name, (long)getpid(),
                      counter++);
    int k3 = snprintf(arg, sizeof arg, "./%s", script); /* never an option, whatever its name */
    if (k1 < 0 || k1 >= (int)sizeof png_name || k2 < 0 || k2 >= (int)sizeof tmp_name || k3 < 0 ||
        k3 >= (int)sizeof arg)
        return ae_fail(err, "%s: error: file name too long", shown);
    if (!gnuplot_join(png, dir, png_name, err) || !gnuplot_join(tmp, dir, tmp_name, err))
        return false;
    StrBuf setvar = {0};
    strbuf_printf(&setvar, "out_png=");
    gnuplot_quote_file(&setvar, tmp_name);
    unlink(tmp); /* gnuplot must create it, not write through whatever had that name */
    pid_t pid = -1;
    int fd = -1, status = 0;
    char msg[8192];
    bool ok = gnuplot_spawn(gp, dir, arg, setvar.s, shown, &pid, &fd, err) &&
              gnuplot_reap(pid, fd, msg, sizeof msg, &status, shown, err) &&
              gnuplot_judge(status, msg, tmp, png, shown, err);
    strbuf_free(&setvar);
    if (ok && rename(tmp, png) != 0)
        ok = ae_fail(err, "%s: error: rename failed: %s", png, strerror(errno));
    if (!ok)
        unlink(tmp);
    return ok;
}

