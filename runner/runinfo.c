/* runner/runinfo.c — a run directory's resolved config, provenance, summary and status, read
 * for `aelab runs` and `aelab diff` (contract in runinfo.h).
 */
#include "runinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvout.h"
#include "diag.h"
#include "fsutil.h"
#include "strbuf.h"
#include "yamldoc.h"

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(ae_xmalloc(n), s, n);
}

void runkv_add(RunKVList *l, const char *key, const char *value) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        RunKV *kv = ae_xmalloc((size_t)cap * sizeof *kv);
        if (l->n) memcpy(kv, l->kv, (size_t)l->n * sizeof *kv);
        free(l->kv);
        l->kv = kv;
        l->cap = cap;
    }
    l->kv[l->n].key = xstrdup(key);
    l->kv[l->n].value = xstrdup(value);
    l->n++;
}

void runkv_clear(RunKVList *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->kv[i].key);
        free(l->kv[i].value);
    }
    free(l->kv);
    *l = (RunKVList){0};
}

const char *runkv_get(const RunKVList *l, const char *key) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->kv[i].key, key) == 0) return l->kv[i].value;
    return NULL;
}

static bool all_scalars(const YNode *seq) {
    for (int i = 0; i < seq->nitems; i++)
        if (seq->items[i]->kind != YNODE_SCALAR) return false;
    return true;
}

/* Every scalar under n as PATH -> value; lists of scalars as one flow value. */
static void flatten(const YNode *n, RunKVList *out) {
    char path[512];
    if (n->kind == YNODE_MAP && n->npairs > 0) {
        for (int i = 0; i < n->npairs; i++)
            if (!n->pairs[i].dup) flatten(n->pairs[i].value, out);
        return;
    }
    if (n->kind == YNODE_SEQ && (n->nitems == 0 || !all_scalars(n))) {
        if (n->nitems == 0) {
            ynode_path(n, path, sizeof path);
            runkv_add(out, path, "[]");
        }
        for (int i = 0; i < n->nitems; i++) flatten(n->items[i], out);
        return;
    }
    ynode_path(n, path, sizeof path);
    if (n->kind == YNODE_MAP) {
        runkv_add(out, path, "{}");
    } else if (n->kind == YNODE_SEQ) {
        StrBuf b = {0};
        strbuf_printf(&b, "[");
        for (int i = 0; i < n->nitems; i++)
            strbuf_printf(&b, "%s%s", i ? ", " : "", n->items[i]->str);
        strbuf_printf(&b, "]");
        runkv_add(out, path, b.s);
        strbuf_free(&b);
    } else {
        runkv_add(out, path, n->str);
    }
}

static bool load_config(const char *path, RunInfo *ri, AeError *err) {
    char *text = fs_read_file(path, NULL, err);
    if (!text) return false;
    Diag d;
    diag_init(&d, stderr, path);
    YDoc *doc = ydoc_parse(text, strlen(text), NULL, &d);
    diag_flush(&d);
    diag_free(&d);
    free(text);
    if (!doc || !doc->root || doc->root->kind != YNODE_MAP) {
        ydoc_free(doc);
        return ae_fail(err, "%s: error: not a resolved config (a YAML mapping)", path);
    }
    for (int i = 0; i < doc->root->npairs; i++) {
        const YPair *p = &doc->root->pairs[i];
        if (p->dup) continue;
        if (strcmp(p->key->str, "provenance") != 0) {
            flatten(p->value, &ri->config);
            continue;
        }
        const YNode *pv = p->value;
        for (int k = 0; pv->kind == YNODE_MAP && k < pv->npairs; k++)
            if (pv->pairs[k].value->kind == YNODE_SCALAR)
                runkv_add(&ri->prov, pv->pairs[k].key->str, pv->pairs[k].value->str);
    }
    ydoc_free(doc);
    ri->has_config = true;
    return true;
}

static bool load_summary(const char *path, RunInfo *ri, AeError *err) {
    CsvTable *t = csvtable_read(path, err);
    if (!t) return false;
    int cm = csvtable_col(t, "metric"), cv = csvtable_col(t, "value");
    if (cm < 0 || cv < 0) {
        csvtable_free(t);
        return ae_fail(err, "%s: error: expected the columns metric,value", path);
    }
    for (int r = 0; r < csvtable_nrows(t); r++)
        runkv_add(&ri->metrics, csvtable_get(t, r, cm), csvtable_get(t, r, cv));
    csvtable_free(t);
    ri->has_summary = true;
    return true;
}

/* point.status's exit_code (a sweep point), else whether the summary exists. */
static const char *run_status(const char *dir, bool has_summary) {
    char path[4096];
    snprintf(path, sizeof path, "%s/point.status", dir);
    AeError err;
    char *text = fs_exists(path) ? fs_read_file(path, NULL, &err) : NULL;
    const char *st = has_summary ? "ok" : "incomplete";
    const char *ec = text ? strstr(text, "exit_code: ") : NULL;
    if (ec) {
        int code = atoi(ec + 11);
        st = code == 0 ? (has_summary ? "ok" : "incomplete") : code == 130 ? "interrupted"
                                                                           : "failed";
    }
    free(text);
    return st;
}

static void path_in(char *buf, size_t n, const char *dir, const char *file) {
    size_t l = strlen(dir);
    snprintf(buf, n, "%s%s%s", dir, l && dir[l - 1] == '/' ? "" : "/", file);
}

bool runinfo_is_run(const char *dir) {
    char p[4096];
    path_in(p, sizeof p, dir, "config.yaml");
    if (fs_exists(p)) return true;
    path_in(p, sizeof p, dir, "summary.csv");
    return fs_exists(p);
}

bool runinfo_load(const char *dir, RunInfo *ri, AeError *err) {
    *ri = (RunInfo){0};
    char cfg[4096], sum[4096];
    path_in(cfg, sizeof cfg, dir, "config.yaml");
    path_in(sum, sizeof sum, dir, "summary.csv");
    if (!fs_is_dir(dir))
        return ae_fail(err, "%s: error: not a run directory (no such directory)", dir);
    if (!fs_exists(cfg) && !fs_exists(sum))
        return ae_fail(err, "%s: error: not a run directory (neither config.yaml nor "
                       "summary.csv)", dir);
    ri->dir = xstrdup(dir);
    if ((fs_exists(cfg) && !load_config(cfg, ri, err)) ||
        (fs_exists(sum) && !load_summary(sum, ri, err))) {
        runinfo_clear(ri);
        return false;
    }
    ri->status = run_status(dir, ri->has_summary);
    return true;
}

void runinfo_clear(RunInfo *ri) {
    if (!ri) return;
    free(ri->dir);
    runkv_clear(&ri->config);
    runkv_clear(&ri->prov);
    runkv_clear(&ri->metrics);
    *ri = (RunInfo){0};
}

uint64_t runinfo_config_hash(const RunInfo *ri) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < ri->config.n; i++) {
        const char *parts[2] = {ri->config.kv[i].key, ri->config.kv[i].value};
        for (int k = 0; k < 2; k++) {
            for (const unsigned char *s = (const unsigned char *)parts[k]; *s; s++)
                h = (h ^ *s) * 1099511628211ULL;
            h = (h ^ (unsigned char)(k ? '\n' : '=')) * 1099511628211ULL;
        }
    }
    return h;
}
