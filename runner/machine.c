/* runner/machine.c — the machine's memory and CPU limits (see machine.h). */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A cgroup limit file holds one number or "max". Anything else, or no file, is no limit. */
static uint64_t read_limit_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return UINT64_MAX;
    char line[64];
    uint64_t v = UINT64_MAX;
    if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9') {
        char *end;
        unsigned long long x = strtoull(line, &end, 10);
        if (*end == '\n' || *end == '\0') v = (uint64_t)x;
    }
    fclose(f);
    return v;
}

/* The lowest BASE/P/FILE over P = path and each of its ancestors up to BASE itself. */
static uint64_t lowest_along(const char *base, const char *path, const char *file) {
    char p[2048], f[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) return UINT64_MAX;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/') p[--n] = '\0';
    uint64_t low = UINT64_MAX;
    for (;;) {
        if (snprintf(f, sizeof f, "%s%s/%s", base, p, file) < (int)sizeof f) {
            uint64_t v = read_limit_file(f);
            if (v < low) low = v;
        }
        char *slash = strrchr(p, '/');
        if (!slash) break;
        *slash = '\0';
    }
    return low;
}

/* Whether the comma-separated controller list names `memory`. */
static bool lists_memory(const char *controllers) {
    for (const char *c = controllers; *c;) {
        size_t len = strcspn(c, ",");
        if (len == 6 && strncmp(c, "memory", 6) == 0) return true;
        c += len;
        if (*c == ',') c++;
    }
    return false;
}

uint64_t machine_cgroup_memory(const char *proc_cgroup, const char *root) {
    FILE *f = fopen(proc_cgroup, "r");
    if (!f) return UINT64_MAX;
    uint64_t low = UINT64_MAX;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/') continue;
        *c1 = *c2 = '\0';
        const char *id = line, *controllers = c1 + 1, *path = c2 + 1;
        uint64_t v = UINT64_MAX;
        if (strcmp(id, "0") == 0 && controllers[0] == '\0') {
            v = lowest_along(root, path, "memory.max");
        } else if (lists_memory(controllers)) {
            char base[2048];
            if (snprintf(base, sizeof base, "%s/memory", root) < (int)sizeof base)
                v = lowest_along(base, path, "memory.limit_in_bytes");
        }
        if (v < low) low = v;
    }
    fclose(f);
    return low;
}

void machine_detect(MachineLimits *out) {
    *out = (MachineLimits){.memory = UINT64_MAX, .memory_source = LIMIT_PHYSICAL, .cpus = 1};
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t phys;
    if (pages > 0 && page > 0 &&
        !__builtin_mul_overflow((uint64_t)pages, (uint64_t)page, &phys))
        out->memory = phys;
    uint64_t cg = machine_cgroup_memory("/proc/self/cgroup", "/sys/fs/cgroup");
    if (cg < out->memory) {
        out->memory = cg;
        out->memory_source = LIMIT_CGROUP;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < out->memory) {
        out->memory = (uint64_t)rl.rlim_cur;
        out->memory_source = LIMIT_RLIMIT_AS;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 1) out->cpus = cpus > 1 << 20 ? 1 << 20 : (int)cpus;
}

static MachineLimits machine;
static bool machine_known;

const MachineLimits *machine_limits(void) {
    if (!machine_known) {
        machine_detect(&machine);
        machine_known = true;
    }
    return &machine;
}

void machine_override(const MachineLimits *lim) {
    machine_known = lim != NULL;
    if (lim) machine = *lim;
}

int machine_max_threads(const MachineLimits *lim) { return MACHINE_THREADS_PER_CPU * lim->cpus; }

bool machine_threads_ok(const MachineLimits *lim, int n, char *why, size_t size) {
    int most = machine_max_threads(lim);
    if (n <= most) return true;
    snprintf(why, size,
             "%d is more than %d threads per online CPU (this machine has %d CPU%s: at most %d)",
             n, MACHINE_THREADS_PER_CPU, lim->cpus, lim->cpus == 1 ? "" : "s", most);
    return false;
}

const char *machine_describe_memory(const MachineLimits *lim, char *buf, size_t size) {
    char b[32];
    if (lim->memory == UINT64_MAX) {
        snprintf(buf, size, "the 16 EiB that 64-bit sizes can count");
        return buf;
    }
    machine_format_bytes(lim->memory, b, sizeof b);
    switch (lim->memory_source) {
    case LIMIT_CGROUP: snprintf(buf, size, "the %s its cgroup allows", b); break;
    case LIMIT_RLIMIT_AS: snprintf(buf, size, "the %s RLIMIT_AS allows (ulimit -v)", b); break;
    default: snprintf(buf, size, "this machine's %s", b); break;
    }
    return buf;
}

const char *machine_format_bytes(uint64_t bytes, char *buf, size_t size) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes == UINT64_MAX) {
        snprintf(buf, size, "more than 16 EiB");
    } else if (bytes < 1024) {
        snprintf(buf, size, "%llu byte%s", (unsigned long long)bytes, bytes == 1 ? "" : "s");
    } else {
        double v = (double)bytes / 1024;
        int u = 0;
        while (v >= 1023.95 && u < 5) { /* so that %.1f never shows 1024.0 */
            v /= 1024;
            u++;
        }
        snprintf(buf, size, "%.1f %s", v, units[u]);
    }
    return buf;
}
