/* runner/provenance.c — the provenance a run records beyond seed and backend (contract in
 * provenance.h). Every probe degrades to "unknown"; none can fail the run.
 */
#include "provenance.h"

#include <csv.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>
#include <zlib.h>

#include "backend.h"
#include "csvout.h"
#include "datasets.h"
#include "filehash.h"
#include "fsutil.h"

#ifndef AE_CC_FLAGS
#define AE_CC_FLAGS "unknown"
#endif

void provenance_add(Provenance *p, const char *key, const char *value) {
    if (p->n == PROV_MAX) return;
    p->key[p->n] = key;
    snprintf(p->value[p->n], PROV_VALUE_MAX, "%s", value && *value ? value : "unknown");
    p->n++;
}

/* The first line a shell command prints, into out ("" when it prints nothing or fails). */
static void first_line(const char *cmd, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (!f) return;
    if (fgets(out, (int)cap, f)) out[strcspn(out, "\n")] = '\0';
    while (fgetc(f) != EOF) {
    }
    pclose(f);
}

/* s single-quoted for the shell into out. */
static void shell_quote(const char *s, char *out, size_t cap) {
    size_t n = 0;
    if (cap < 3) return;
    out[n++] = '\'';
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *s;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

static void git_info(Provenance *p, const Config *cfg) {
    char dir[CFG_PATH_MAX] = ".", q[2 * CFG_PATH_MAX + 8], cmd[4 * CFG_PATH_MAX + 160];
    const char *slash = strrchr(cfg->path, '/');
    if (slash && strcmp(cfg->path, CONFIG_STDIN_NAME) != 0)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - cfg->path + 1), cfg->path);
    shell_quote(dir, q, sizeof q);
    /* one shell for both (each process costs: this runs at the start of every run) */
    snprintf(cmd, sizeof cmd, "git -C %s rev-parse --short=12 HEAD 2>/dev/null && git -C %s "
             "describe --always --dirty --tags --abbrev=12 2>/dev/null", q, q);
    char out[256], describe[128] = "";
    FILE *f = popen(cmd, "r");
    if (f) {
        if (fgets(out, sizeof out, f) && fgets(describe, sizeof describe, f))
            describe[strcspn(describe, "\n")] = '\0';
        else
            out[0] = describe[0] = '\0';
        while (fgetc(f) != EOF) {
        }
        pclose(f);
    } else {
        out[0] = '\0';
    }
    out[strcspn(out, "\n")] = '\0';
    size_t dl = strlen(describe);
    provenance_add(p, "config_git_commit", describe[0] ? out : "");
    provenance_add(p, "config_git_describe", describe);
    provenance_add(p, "config_git_dirty",
                   !dl ? "unknown"
                       : dl > 6 && strcmp(describe + dl - 6, "-dirty") == 0 ? "true" : "false");
}

/* The value of the first "KEY<spaces>: value" line of a /proc file. */
static void proc_field(const char *path, const char *key, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0) continue;
        char *c = strchr(line + kl, ':');
        if (!c) continue;
        c += 1 + strspn(c + 1, " \t");
        c[strcspn(c, "\n")] = '\0';
        snprintf(out, cap, "%s", c);
        break;
    }
    fclose(f);
}

static void machine_info(Provenance *p, const char *backend) {
    char buf[PROV_VALUE_MAX];
    if (gethostname(buf, sizeof buf) != 0) buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    provenance_add(p, "host", buf);
    proc_field("/proc/cpuinfo", "model name", buf, sizeof buf);
    provenance_add(p, "cpu_model", buf);
    if (strcmp(backend, "cuda") != 0) return;
    first_line("cat /proc/driver/nvidia/gpus/*/information 2>/dev/null | sed -n "
               "'s/^Model:[[:space:]]*//p'", buf, sizeof buf);
    provenance_add(p, "gpu", buf);
    first_line("sed -n 's/^NVRM version:[[:space:]]*//p' /proc/driver/nvidia/version 2>/dev/null",
               buf, sizeof buf);
    provenance_add(p, "gpu_driver", buf);
}

static void build_info(Provenance *p) {
    char buf[PROV_VALUE_MAX];
#if defined(__clang__)
    snprintf(buf, sizeof buf, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(buf, sizeof buf, "gcc %s", __VERSION__);
#else
    snprintf(buf, sizeof buf, "unknown");
#endif
    provenance_add(p, "compiler", buf);
    provenance_add(p, "cflags", AE_CC_FLAGS);
    provenance_add(p, "blas_core", backend_cpu_blas_core());
    provenance_add(p, "libyaml", yaml_get_version_string());
    provenance_add(p, "zlib", zlibVersion());
    snprintf(buf, sizeof buf, "%d.%d.%d", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
    provenance_add(p, "libcsv", buf);
}

/* /proc/self/cmdline with the arguments separated by spaces (quoted when they hold one). */
static void command_line(Provenance *p) {
    char raw[PROV_VALUE_MAX], out[PROV_VALUE_MAX];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) {
        provenance_add(p, "command", "");
        return;
    }
    raw[n] = '\0';
    size_t o = 0;
    for (ssize_t i = 0; i < n && o + 4 < sizeof out; i += (ssize_t)strlen(raw + i) + 1) {
        const char *arg = raw + i;
        bool q = arg[strcspn(arg, " \t'\"")] != '\0' || !*arg;
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s%s%s", o ? " " : "", q ? "'" : "",
                              arg, q ? "'" : "");
        if (o >= sizeof out) o = sizeof out - 1;
    }
    provenance_add(p, "command", out);
}

/* "PATH (N bytes, xxh3 HEX)" of one file: its content's XXH3-128, as the stage cache keys it
 * (runner/filehash.h, memoised in memo_dir's index, so that a run of an unchanged data set
 * does not read it again); "PATH (REASON)" when it cannot be read. */
static void data_file(Provenance *p, const char *key, const char *path, const char *memo_dir) {
    if (!path || !path[0]) return;
    char why[256], buf[PROV_VALUE_MAX], hex[FILEHASH_HEX];
    unsigned long long size = 0;
    int fd = fs_open_regular(path, &size, why, sizeof why);
    if (fd >= 0) close(fd);
    if (fd < 0 || !filehash_file(path, memo_dir, hex, why, sizeof why)) {
        snprintf(buf, sizeof buf, "%s (%s)", path, why);
        provenance_add(p, key, buf);
        return;
    }
    snprintf(buf, sizeof buf, "%s (%llu bytes, xxh3 %s)", path, size, hex);
    provenance_add(p, key, buf);
}

static void data_info(Provenance *p, const Config *cfg, const char *memo) {
    if (cfg->nstages == 0 || cfg->stages[0].kind != STAGE_LOAD_DATASET) return;
    const DatasetCfg *d = &cfg->stages[0].data;
    static char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX];
    char why[2048];
    if (strcmp(d->name, "csv") == 0) {
        data_file(p, "data.train_csv", d->train_csv, memo);
        data_file(p, "data.test_csv", d->test_csv, memo);
        return;
    }
    if (!datasets_paths(d, ti, tl, vi, vl, why, sizeof why)) {
        return;
    }
    data_file(p, "data.train_images", ti, memo);
    data_file(p, "data.train_labels", tl, memo);
    data_file(p, "data.test_images", vi, memo);
    data_file(p, "data.test_labels", vl, memo);
}

void provenance_collect(Provenance *p, const Config *cfg, const char *backend,
                        const char *memo_dir) {
    p->n = 0;
    git_info(p, cfg);
    machine_info(p, backend);
    build_info(p);
    command_line(p);
    data_info(p, cfg, memo_dir);
}
