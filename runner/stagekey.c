/* runner/stagekey.c — stage keys (stagekey.h): XXH3-128 over a canonical text, enough to tell
 * configs apart (this is not a security boundary). */
#include "stagekey.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "backend.h"
#include "buildid.h"
#include "datasets.h"
#include "filehash.h"
#include "xalloc.h"

static void hash_str(XXH3_state_t *h, const char *s) { XXH3_128bits_update(h, s, strlen(s) + 1); }

/* the content of a data file ("" paths are the optional ones left out) */
static void hash_file(XXH3_state_t *h, const char *path, const char *index_dir) {
    char hex[FILEHASH_HEX], why[CFG_PATH_MAX + 128];
    if (!path[0]) hash_str(h, "none");
    else if (filehash_file(path, index_dir, hex, why, sizeof why)) hash_str(h, hex);
    else hash_str(h, why);
}

static void hash_data(XXH3_state_t *h, const DatasetCfg *d, const char *index_dir) {
    if (strcmp(d->name, "idx") == 0) {
        hash_file(h, d->train_images, index_dir);
        hash_file(h, d->train_labels, index_dir);
        hash_file(h, d->test_images, index_dir);
        hash_file(h, d->test_labels, index_dir);
    } else if (strcmp(d->name, "csv") == 0) {
        hash_file(h, d->train_csv, index_dir);
        hash_file(h, d->test_csv, index_dir);
    } else {
        char ti[CFG_PATH_MAX], tl[CFG_PATH_MAX], vi[CFG_PATH_MAX], vl[CFG_PATH_MAX], why[1024];
        if (datasets_resolve(d->name, ti, tl, vi, vl, CFG_PATH_MAX, why, sizeof why)) {
            hash_file(h, ti, index_dir);
            hash_file(h, tl, index_dir);
            hash_file(h, vi, index_dir);
            hash_file(h, vl, index_dir);
        } else {
            hash_str(h, "unresolved");
        }
    }
}

/* The resolved YAML of stages 0..k under a fixed name, with the data files' paths left out
 * (their content is hashed instead); malloc'ed, NULL with err filled on failure. */
static char *canonical_text(const Config *c, int k, AeError *err) {
    Config prefix = *c;
    prefix.nstages = k + 1;
    prefix.stages = ae_xmalloc((size_t)(k + 1) * sizeof *prefix.stages);
    memcpy(prefix.stages, c->stages, (size_t)(k + 1) * sizeof *prefix.stages);
    for (int i = 0; i <= k; i++) {
        DatasetCfg *d = &prefix.stages[i].data;
        if (prefix.stages[i].kind != STAGE_LOAD_DATASET) continue;
        char *fields[] = {d->train_images, d->train_labels, d->test_images, d->test_labels,
                          d->train_csv, d->test_csv};
        for (int f = 0; f < 6; f++)
            if (fields[f][0]) snprintf(fields[f], CFG_PATH_MAX, "file");
    }
    snprintf(prefix.name, sizeof prefix.name, "stage");
    prefix.description[0] = 0;
    prefix.threads = 0;                                    /* hashed below, as used */
    snprintf(prefix.device, sizeof prefix.device, "auto"); /* the backend is hashed below */
    size_t n = 0;
    char *text = config_resolved_text(&prefix, &n, err);
    free(prefix.stages);
    return text;
}

bool stage_key(const Config *c, int k, const StageKeyEnv *env, char hex[STAGE_KEY_HEX],
               uint64_t *h64, AeError *err) {
    AE_ASSERT(k >= 0 && k < c->nstages);
    char *text = canonical_text(c, k, err);
    if (!text) return false;
    /* drop the header comment, which names the file */
    const char *body = strstr(text, "\nname:");
    body = body ? body : text;

    XXH3_state_t *h = XXH3_createState();
    AE_ASSERT(h);
    XXH3_128bits_reset(h);
    char threads[32];
    snprintf(threads, sizeof threads, "threads %d", env->threads);
    hash_str(h, "aelab-stage-key-v2");
    hash_str(h, AE_VERSION);
    hash_str(h, aelab_build_id());
    hash_str(h, env->backend);
    hash_str(h, backend_cpu_blas_config());
    hash_str(h, backend_cpu_blas_core());
    hash_str(h, threads);
    hash_str(h, body);
    for (int i = 0; i <= k; i++)
        if (c->stages[i].kind == STAGE_LOAD_DATASET) hash_data(h, &c->stages[i].data, env->index_dir);
    free(text);
    XXH128_hash_t d = XXH3_128bits_digest(h);
    XXH3_freeState(h);
    snprintf(hex, STAGE_KEY_HEX, "%016" PRIx64 "%016" PRIx64, (uint64_t)d.high64,
             (uint64_t)d.low64);
    if (h64) *h64 = d.high64;
    return true;
}
