/* runner/stagekey.c — stage keys (stagekey.h): two 64-bit FNV-1a hashes with different offsets
 * over a canonical text, enough to tell configs apart (this is not a security boundary). */
#include "stagekey.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets.h"

typedef struct Hash {
    uint64_t a, b;
} Hash;

static void hash_bytes(Hash *h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ s[i]) * 0x100000001b3ULL;
        h->b = (h->b ^ s[i]) * 0x100000001b3ULL;
    }
}

static void hash_str(Hash *h, const char *s) { hash_bytes(h, s, strlen(s) + 1); }

/* path, size and mtime of a data file ("missing" when it cannot be stat'ed) */
static void hash_file_identity(Hash *h, const char *path) {
    struct stat st;
    char buf[96];
    hash_str(h, path);
    if (path[0] && stat(path, &st) == 0)
        snprintf(buf, sizeof buf, "%lld:%lld.%09ld", (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    else
        snprintf(buf, sizeof buf, "missing");
    hash_str(h, buf);
}

static void hash_data(Hash *h, const DatasetCfg *d) {
    if (strcmp(d->name, "idx") == 0) {
        hash_file_identity(h, d->train_images);
        hash_file_identity(h, d->train_labels);
        hash_file_identity(h, d->test_images);
        hash_file_identity(h, d->test_labels);
    } else if (strcmp(d->name, "csv") == 0) {
        hash_file_identity(h, d->train_csv);
        hash_file_identity(h, d->test_csv);
    } else {
        char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX], why[1024];
        if (datasets_resolve(d->name, ti, tl, vi, vl, CFG_PATH_MAX, why, sizeof why)) {
            hash_file_identity(h, ti);
            hash_file_identity(h, tl);
            hash_file_identity(h, vi);
            hash_file_identity(h, vl);
        } else {
            hash_str(h, "unresolved");
        }
    }
}

bool stage_key(const Config *c, int k, const char *backend, char hex[STAGE_KEY_HEX],
               uint64_t *h64, AeError *err) {
    AE_ASSERT(k >= 0 && k < c->nstages);
    /* the canonical text: the resolved YAML of stages 0..k under a fixed name */
    Config prefix = *c;
    prefix.nstages = k + 1;
    snprintf(prefix.name, sizeof prefix.name, "stage");
    prefix.description[0] = 0;
    prefix.threads = 0;                              /* not part of a stage's identity */
    snprintf(prefix.device, sizeof prefix.device, "auto"); /* the backend is hashed below */
    size_t n = 0;
    char *text = config_resolved_text(&prefix, &n, err);
    if (!text) return false;
    /* drop the header comment, which names the file */
    const char *body = strstr(text, "\nname:");
    body = body ? body : text;

    Hash h = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    hash_str(&h, "aelab-stage-key-v1");
    hash_str(&h, AE_VERSION);
    /* the engine's exact build: the executable's size and modification time, so a rebuilt
     * aelab never reuses what an older build computed */
    hash_file_identity(&h, "/proc/self/exe");
    hash_str(&h, backend);
    hash_str(&h, body);
    for (int i = 0; i <= k; i++)
        if (c->stages[i].kind == STAGE_LOAD_DATASET) hash_data(&h, &c->stages[i].data);
    free(text);
    snprintf(hex, STAGE_KEY_HEX, "%016llx%016llx", (unsigned long long)h.a, (unsigned long long)h.b);
    if (h64) *h64 = h.a;
    return true;
}
