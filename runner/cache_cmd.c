/* runner/cache_cmd.c — `aelab cache ls|du|gc`: the stage cache's entries (runner/stagecache.h)
 * listed, summed and pruned (contract in cache_cmd.h).
 *
 * An entry is complete when KEY.ckpt exists; KEY.csv, KEY.info or KEY.lock without it are an
 * incomplete entry (a run killed while training, or an entry being written). The last use is
 * KEY.lock's modification time (every run that trains or reuses the entry touches it), else
 * KEY.ckpt's. gc never removes an entry whose lock another process holds.
 */
#include "cache_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cliopt.h"
#include "fsutil.h"
#include "stagecache.h"

#define KEY_LEN 32
#define NAME_CAP 128

static const char cache_usage[] =
    "usage: aelab cache ls|du|gc [options]\n"
    "\n"
    "Shows and prunes the stage cache: the directory --cache DIR, else $AELAB_CACHE, else\n"
    "results/.cache.\n"
    "  ls                 one line per entry, the most recently used first: its key, the stage's\n"
    "                     label, the config's name, its size and when a run last trained or\n"
    "                     reused it\n"
    "  du                 how many entries and their total size, then the other files\n"
    "                     (incomplete entries, the file-hash index, temps)\n"
    "  gc                 removes the incomplete entries and the temps of dead processes, and\n"
    "    --older-than D   the entries not used for D days (1.5: 36 hours)\n"
    "    --max-size SIZE  the least recently used entries until the rest take SIZE at most\n"
    "                     (bytes, or with K, M, G, T: 500M, 2G; 1024-based)\n"
    "    --keep-referenced DIR\n"
    "                     never removes an entry that a run directory under DIR (searched\n"
    "                     recursively, sweep points included) used: each run records its\n"
    "                     stages' keys in checkpoints/NN_STAGE.key; repeatable\n"
    "    -n, --dry-run    print what would be removed and remove nothing\n"
    "  --cache DIR        the cache directory\n"
    "  -h, --help         this text\n"
    "An entry whose lock is held (a run training or reading it) is never removed.\n"
    "Exit status: 0 done; 1 a file could not be read or removed; 2 a usage error.\n";

typedef struct Entry {
    char key[KEY_LEN + 1];
    bool complete;
    char config[NAME_CAP], stage[NAME_CAP];
    unsigned long long bytes;
    time_t last_used;
} Entry;

typedef struct CacheArgs {
    const char *sub, *dir;
    double older_than_days;      /* < 0: not given */
    long double max_bytes;       /* < 0: not given */
    bool dry_run;
    const char **keep_dirs;      /* --keep-referenced, nkeep of them */
    int nkeep;
} CacheArgs;

enum { OPT_CACHE = CLI_LONG_ONLY, OPT_OLDER, OPT_MAX_SIZE, OPT_KEEP_REF };

/* How deep --keep-referenced looks under DIR: a results directory, a run, its sweep, a point,
 * its checkpoints are 5 levels; runs nested in a few more directories are found too. */
#define REF_MAX_DEPTH 12

static int cache_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab cache: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run `aelab cache --help` for the usage)\n");
    return 2;
}

/* ---- reading the directory ---- */

static bool is_key(const char *s, size_t n) {
    if (n != KEY_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static Entry *find_or_add(Entry **v, int *n, int *cap, const char *key) {
    for (int i = 0; i < *n; i++)
        if (strcmp((*v)[i].key, key) == 0) return &(*v)[i];
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *v = realloc(*v, (size_t)*cap * sizeof **v);
        AE_ASSERT(*v);
    }
    Entry *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, KEY_LEN + 1);
    return e;
}

/* One file of the cache: added to its entry, or to *other_bytes. */
static void add_file(const char *dir, const char *name, Entry **v, int *n, int *cap,
                     unsigned long long *other_bytes) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return;
    const char *dot = strchr(name, '.');
    static const char *const exts[] = {"ckpt", "csv", "info", "lock"};
    int ext = -1;
    for (int i = 0; dot && i < 4; i++)
        if (strcmp(dot + 1, exts[i]) == 0) ext = i;
    if (ext < 0 || !is_key(name, (size_t)(dot - name))) {
        *other_bytes += (unsigned long long)st.st_size;
        return;
    }
    char key[KEY_LEN + 1];
    memcpy(key, name, KEY_LEN);
    key[KEY_LEN] = '\0';
    Entry *e = find_or_add(v, n, cap, key);
    e->bytes += (unsigned long long)st.st_size;
    if (ext == 0) {
        e->complete = true;
        if (!e->last_used) e->last_used = st.st_mtim.tv_sec;
    }
    if (ext == 3) e->last_used = st.st_mtim.tv_sec; /* the lock's time wins */
}

/* The entries of dir (malloc'ed, *n of them, the most recently used first; ties by key), with
 * their config and stage names. False with a message printed when dir cannot be read; a
 * missing directory is an empty cache. */
static int by_use(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->last_used != y->last_used) return x->last_used < y->last_used ? 1 : -1;
    return strcmp(x->key, y->key);
}

static bool read_entries(const char *dir, Entry **out, int *n, unsigned long long *other_bytes) {
    *out = NULL;
    *n = 0;
    *other_bytes = 0;
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT) return true;
    if (!d) {
        fprintf(stderr, "%s: error: cannot read the stage cache: %s\n", dir, strerror(errno));
        return false;
    }
    int cap = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.') add_file(dir, de->d_name, out, n, &cap, other_bytes);
    closedir(d);
    for (int i = 0; i < *n; i++) {
        Entry *e = &(*out)[i];
        char why[256];
        if (!stagecache_read_info(dir, e->key, e->config, e->stage, NULL, NAME_CAP, why,
                                  sizeof why)) {
            snprintf(e->config, NAME_CAP, "?");
            snprintf(e->stage, NAME_CAP, "?");
        }
    }
    if (*n) qsort(*out, (size_t)*n, sizeof **out, by_use);
    return true;
}

/* ---- printing ---- */

/* "512 B", "395.5K", "1.2G" (1024-based) */
static const char *human(unsigned long long b, char buf[32]) {
    static const char units[] = "KMGTP";
    if (b < 1024) {
        snprintf(buf, 32, "%llu B", b);
        return buf;
    }
    double v = (double)b / 1024;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, 32, "%.1f%c", v, units[u]);
    return buf;
}

static const char *when(time_t t, char buf[32]) {
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

static void print_entry(const char *verb, const Entry *e) {
    char s[32], w[32];
    printf("%s%-32s  %-20s  %-24s  %7s  %s\n", verb, e->key, e->stage, e->config,
           human(e->bytes, s), when(e->last_used, w));
}

static int cache_ls(const char *dir) {
    Entry *v;
    int n;
    unsigned long long other;
    if (!read_entries(dir, &v, &n, &other)) return 1;
    printf("%-32s  %-20s  %-24s  %7s  %s\n", "KEY", "STAGE", "CONFIG", "SIZE", "LAST USED");
    for (int i = 0; i < n; i++)
        if (v[i].complete) print_entry("", &v[i]);
    free(v);
    return 0;
}

static int cache_du(const char *dir) {
    Entry *v;
    int n;
    unsigned long long other;
    if (!read_entries(dir, &v, &n, &other)) return 1;
    unsigned long long full = 0, partial = 0;
    int nfull = 0, npartial = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].complete) full += v[i].bytes, nfull++;
        else partial += v[i].bytes, npartial++;
    }
    char a[32], b[32], c[32];
    printf("%s: %d entr%s, %s (%llu bytes)\n", dir, nfull, nfull == 1 ? "y" : "ies",
           human(full, a), full);
    printf("other files: %s (%d incomplete entr%s %s, the file-hash index and temps %s)\n",
           human(partial + other, a), npartial, npartial == 1 ? "y" : "ies", human(partial, b),
           human(other, c));
    free(v);
    return 0;
}

/* ---- the keys that run directories reference (--keep-referenced) ---- */

typedef struct KeySet {
    char (*keys)[KEY_LEN + 1];
    int n, cap;
} KeySet;

static bool keyset_has(const KeySet *ks, const char *key) {
    for (int i = 0; i < ks->n; i++)
        if (strcmp(ks->keys[i], key) == 0) return true;
    return false;
}

/* Adds the key that the file PATH (a checkpoints/NN_STAGE.key) holds; warns and skips a file
 * that cannot be read or holds no key. */
static void ref_read_key(const char *path, KeySet *ks) {
    char buf[KEY_LEN + 2];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || ferror(f)) {
        fprintf(stderr, "%s: warning: cannot read: %s; skipped\n", path, strerror(errno));
        if (f) fclose(f);
        return;
    }
    fclose(f);
    if (n != KEY_LEN + 1 || buf[KEY_LEN] != '\n' || !is_key(buf, KEY_LEN)) {
        fprintf(stderr, "%s: warning: not a stage key (32 hex digits and a newline); skipped\n",
                path);
        return;
    }
    buf[KEY_LEN] = '\0';
    if (keyset_has(ks, buf)) return;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? 2 * ks->cap : 64;
        ks->keys = realloc(ks->keys, (size_t)ks->cap * sizeof *ks->keys);
        AE_ASSERT(ks->keys);
    }
    memcpy(ks->keys[ks->n++], buf, KEY_LEN + 1);
}

static bool is_key_file(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".key") == 0;
}

/* Walks dir (depth levels below the DIR given), following no symbolic link, and reads the
 * *.key files of every checkpoints/ directory found. */
static void ref_walk(const char *dir, bool in_checkpoints, int depth, KeySet *ks) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: warning: cannot read: %s; skipped\n", dir, strerror(errno));
        return;
    }
    for (struct dirent *de; (de = readdir(d));) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        char path[4400];
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) continue;
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISREG(st.st_mode) && in_checkpoints && is_key_file(name))
            ref_read_key(path, ks);
        else if (S_ISDIR(st.st_mode) && depth < REF_MAX_DEPTH)
            ref_walk(path, strcmp(name, "checkpoints") == 0, depth + 1, ks);
    }
    closedir(d);
}

/* The keys referenced under the --keep-referenced directories into ks. Returns false with a
 * message when one of them is not a directory. */
static bool collect_referenced(const CacheArgs *a, KeySet *ks) {
    for (int i = 0; i < a->nkeep; i++) {
        struct stat st;
        const char *why = stat(a->keep_dirs[i], &st) != 0 ? strerror(errno)
                          : !S_ISDIR(st.st_mode)            ? "not a directory"
                                                            : NULL;
        if (why) {
            fprintf(stderr, "aelab cache: error: --keep-referenced %s: %s\n", a->keep_dirs[i],
                    why);
            return false;
        }
        ref_walk(a->keep_dirs[i], false, 0, ks);
    }
    return true;
}

/* ---- gc ---- */

typedef struct GcTally {
    int nremoved, nkept, nbusy, nref;
    unsigned long long removed, kept;
    bool failed;
} GcTally;

/* Removes entry e (or says it would); keeps it when its lock is held. */
static void gc_one(const char *dir, const Entry *e, bool dry_run, GcTally *t) {
    AeError err;
    int fd = stagecache_trylock(dir, e->key, !dry_run, &err);
    if (fd == -1) {
        print_entry("in use, kept  ", e);
        t->nbusy++, t->nkept++, t->kept += e->bytes;
        return;
    }
    if (dry_run) {
        stagecache_unlock(fd);
        print_entry("would remove  ", e);
    } else if (!stagecache_remove(dir, e->key, fd)) {
        fprintf(stderr, "%s/%s: error: cannot remove the entry: %s\n", dir, e->key,
                strerror(errno));
        t->failed = true;
        t->nkept++, t->kept += e->bytes;
        return;
    } else {
        print_entry("removed       ", e);
    }
    t->nremoved++, t->removed += e->bytes;
}

static int cache_gc(const CacheArgs *a) {
    KeySet refs = {0};
    if (!collect_referenced(a, &refs)) {
        free(refs.keys);
        return 2;
    }
    Entry *v;
    int n;
    unsigned long long other;
    if (!read_entries(a->dir, &v, &n, &other)) {
        free(refs.keys);
        return 1;
    }
    GcTally t = {0};
    unsigned long long total = 0;
    for (int i = 0; i < n; i++)
        if (v[i].complete) total += v[i].bytes;
    time_t now = time(NULL);
    /* incomplete entries, then the complete ones from the least recently used */
    for (int i = 0; i < n; i++)
        if (!v[i].complete) gc_one(a->dir, &v[i], a->dry_run, &t);
    for (int i = n - 1; i >= 0; i--) {
        const Entry *e = &v[i];
        if (!e->complete) continue;
        bool old = a->older_than_days >= 0 &&
                   (double)(now - e->last_used) > a->older_than_days * 86400.0;
        bool big = a->max_bytes >= 0 && (long double)total > a->max_bytes;
        if (!old && !big) {
            t.nkept++, t.kept += e->bytes;
            continue;
        }
        if (keyset_has(&refs, e->key)) {
            print_entry("referenced    ", e);
            t.nref++, t.nkept++, t.kept += e->bytes;
            continue;
        }
        int before = t.nremoved;
        gc_one(a->dir, e, a->dry_run, &t);
        if (t.nremoved > before) total -= e->bytes;
    }
    int ntemps = a->dry_run ? 0 : fs_remove_stale_temps(a->dir);
    char r[32], k[32];
    printf("%s %d entr%s (%s), %s %d (%s)%s", a->dry_run ? "would remove" : "removed", t.nremoved,
           t.nremoved == 1 ? "y" : "ies", human(t.removed, r), a->dry_run ? "keep" : "kept",
           t.nkept, human(t.kept, k), t.nbusy || t.nref ? "" : "\n");
    if (t.nbusy) printf(", %d of them in use%s", t.nbusy, t.nref ? "" : "\n");
    if (t.nref) printf(", %d of them referenced by a run\n", t.nref);
    if (ntemps) printf("removed %d temp file%s of dead processes\n", ntemps, ntemps == 1 ? "" : "s");
    free(v);
    free(refs.keys);
    return t.failed ? 1 : 0;
}

/* ---- arguments ---- */

/* "500M", "2G", "1048576", "1.5K" into bytes; false when it is not a size. */
static bool parse_size(const char *s, long double *bytes) {
    char *end;
    errno = 0;
    long double v = strtold(s, &end);
    if (end == s || errno || !isfinite((double)v) || v < 0) return false;
    static const char units[] = "KMGT";
    long double mult = 1;
    if (*end) {
        const char *u = strchr(units, *end >= 'a' ? *end - 32 : *end);
        if (!u || !*u || end[1]) return false;
        for (const char *p = units; p <= u; p++) mult *= 1024;
    }
    *bytes = v * mult;
    return true;
}

static int cache_option(CacheArgs *a, int opt, const char *v) {
    char *end;
    if (opt == OPT_CACHE) {
        a->dir = v;
    } else if (opt == OPT_KEEP_REF) {
        a->keep_dirs = realloc(a->keep_dirs, (size_t)(a->nkeep + 1) * sizeof *a->keep_dirs);
        AE_ASSERT(a->keep_dirs);
        a->keep_dirs[a->nkeep++] = v;
    } else if (opt == OPT_OLDER) {
        errno = 0;
        a->older_than_days = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(a->older_than_days) || a->older_than_days < 0)
            return cache_usage_error("--older-than: expected a number of days >= 0, got '%s'", v);
    } else if (opt == OPT_MAX_SIZE) {
        if (!parse_size(v, &a->max_bytes))
            return cache_usage_error("--max-size: expected a size such as 500M or 2G (bytes, or "
                                     "K, M, G, T), got '%s'", v);
    }
    return -1;
}

static int cache_parse_args(int argc, char **argv, CacheArgs *a) {
    static const struct option longs[] = {{"cache", required_argument, NULL, OPT_CACHE},
                                          {"older-than", required_argument, NULL, OPT_OLDER},
                                          {"max-size", required_argument, NULL, OPT_MAX_SIZE},
                                          {"keep-referenced", required_argument, NULL,
                                           OPT_KEEP_REF},
                                          {"dry-run", no_argument, NULL, 'n'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "hn", longs);
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(cache_usage, stdout);
            return 0;
        }
        if (c == CLI_BAD) return cache_usage_error("%s", p.error);
        if (c == CLI_MISSING) return cache_usage_error("%s needs a value", p.name);
        if (c == CLI_ARG) {
            if (a->sub) return cache_usage_error("unexpected argument '%s'", p.arg);
            if (strcmp(p.arg, "ls") && strcmp(p.arg, "du") && strcmp(p.arg, "gc"))
                return cache_usage_error("unknown subcommand '%s' (expected ls, du or gc)", p.arg);
            a->sub = p.arg;
        } else if (c == 'n') {
            a->dry_run = true;
        } else {
            int rc = cache_option(a, p.opt, p.arg);
            if (rc >= 0) return rc;
        }
    }
    if (!a->sub) return cache_usage_error("%s", "missing the subcommand: ls, du or gc");
    bool gc = strcmp(a->sub, "gc") == 0;
    if (!gc && (a->dry_run || a->older_than_days >= 0 || a->max_bytes >= 0 || a->nkeep))
        return cache_usage_error("--older-than, --max-size, --keep-referenced and --dry-run are "
                                 "options of gc, not of %s", a->sub);
    return -1;
}

int cache_main(int argc, char **argv) {
    CacheArgs a = {.older_than_days = -1, .max_bytes = -1};
    int rc = cache_parse_args(argc, argv, &a);
    if (rc < 0) {
        a.dir = stagecache_dir(a.dir);
        if (strcmp(a.sub, "ls") == 0) rc = cache_ls(a.dir);
        else if (strcmp(a.sub, "du") == 0) rc = cache_du(a.dir);
        else rc = cache_gc(&a);
    }
    free(a.keep_dirs);
    return rc;
}
