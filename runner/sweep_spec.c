/* runner/sweep_spec.c — the sweep spec: what the --set arguments and the file's `sweep:` block
 * say to sweep, read into dimensions (SweepDim) in the order of the points (see sweep.h): the
 * grid (the file's entries, then the command line's), the zip, then the seeds. A --set of a key
 * replaces the block's entry for it. Block values become one line of flow YAML each, the text a
 * --set value would be.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "yamldoc.h"

void sweep_dim_free(SweepDim *d) {
    sweep_values_free(d->keys, d->nkeys);
    sweep_values_free(d->values, d->nkeys * d->nvalues);
}

/* ---- a YAML node as one line of flow YAML (the text a --set value would be) ---- */

static bool plain_is_safe(const char *s) {
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ') return false;
    return strpbrk(s, ",[]{}:#'\"\n\t") == NULL;
}

static void flow_text(StrBuf *b, const YNode *n) {
    if (n->kind == YNODE_SCALAR) {
        if (n->plain && plain_is_safe(n->str)) {
            strbuf_printf(b, "%s", n->str);
            return;
        }
        strbuf_printf(b, "\"");
        for (const char *p = n->str; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') strbuf_printf(b, "\\%c", c);
            else if (c == '\n') strbuf_printf(b, "\\n");
            else if (c == '\t') strbuf_printf(b, "\\t");
            else if (c < 0x20) strbuf_printf(b, "\\x%02x", c);
            else strbuf_printf(b, "%c", c);
        }
        strbuf_printf(b, "\"");
    } else if (n->kind == YNODE_SEQ) {
        strbuf_printf(b, "[");
        for (int i = 0; i < n->nitems; i++) {
            if (i) strbuf_printf(b, ", ");
            flow_text(b, n->items[i]);
        }
        strbuf_printf(b, "]");
    } else {
        strbuf_printf(b, "{");
        for (int i = 0, k = 0; i < n->npairs; i++) {
            if (n->pairs[i].dup) continue;
            if (k++) strbuf_printf(b, ", ");
            flow_text(b, n->pairs[i].key);
            strbuf_printf(b, ": ");
            flow_text(b, n->pairs[i].value);
        }
        strbuf_printf(b, "}");
    }
}

/* ---- the sweep: block ---- */

typedef struct DimList {
    SweepDim *v;
    int n, cap;
} DimList;

static SweepDim *dims_add(DimList *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        AE_ASSERT(l->v);
    }
    SweepDim *d = &l->v[l->n++];
    memset(d, 0, sizeof *d);
    return d;
}

static bool key_path_ok(const char *k) {
    return *k && !strpbrk(k, "= \t\n") && k[0] != '.' && k[strlen(k) - 1] != '.';
}

/* The values of one block entry: a sequence, a helper call or one scalar. */
static int node_values(const YNode *v, const char *path, Diag *d, char ***out) {
    StrList l = {0};
    if (v->kind == YNODE_SEQ) {
        if (v->nitems == 0) {
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: an empty list of values", path);
            return -1;
        }
        if (v->nitems > SWEEP_MAX_VALUES) {
            diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: more than %d values", path,
                      SWEEP_MAX_VALUES);
            return -1;
        }
        for (int i = 0; i < v->nitems; i++) {
            StrBuf b = {0};
            flow_text(&b, v->items[i]);
            sweep_strlist_push(&l, b.s);
        }
        *out = l.v;
        return l.n;
    }
    if (v->kind == YNODE_MAP || ynode_is_null(v)) {
        diag_emit(d, DIAG_ERROR, NULL, v->line, v->col,
                  "%s: expected a list of values, a helper (range, linspace, logspace) or one "
                  "value, got %s", path, v->kind == YNODE_MAP ? "a mapping" : "nothing");
        return -1;
    }
    char why[512];
    int n = v->plain ? sweep_expand_helper(v->str, out, why, sizeof why) : 0;
    if (n < 0) {
        diag_emit(d, DIAG_ERROR, NULL, v->line, v->col, "%s: %s", path, why);
        return -1;
    }
    if (n > 0) return n;
    StrBuf b = {0};
    flow_text(&b, v);
    sweep_strlist_push(&l, b.s);
    *out = l.v;
    return 1;
}

/* One grid entry KEY: VALUES of the block (grid: or shorthand). */
static bool block_entry(DimList *dims, const YPair *p, const char *section, Diag *d) {
    const char *key = p->key->str;
    char path[600];
    snprintf(path, sizeof path, "sweep.%s%s%s", section, *section ? "." : "", key);
    if (!key_path_ok(key)) {
        diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                  "%s: '%s' is not a key path (like add_sparsity.weight or pipeline.2.epochs)",
                  path, key);
        return false;
    }
    char **vals;
    int n = node_values(p->value, path, d, &vals);
    if (n < 0) return false;
    SweepDim *dim = dims_add(dims);
    dim->keys = ae_xmalloc(sizeof *dim->keys);
    dim->keys[0] = xstrdup(key);
    dim->nkeys = 1;
    dim->values = vals;
    dim->nvalues = n;
    dim->seed = strcmp(key, "seed") == 0;
    dim->line = p->key->line;
    dim->col = p->key->col;
    return true;
}

static bool block_zip(DimList *dims, const YNode *zip, Diag *d) {
    if (zip->kind != YNODE_MAP) {
        diag_emit(d, DIAG_ERROR, NULL, zip->line, zip->col,
                  "sweep.zip: expected a mapping of KEY: [values] (lists of equal length)");
        return false;
    }
    DimList cols = {0}; /* one single-key dimension per entry, then merged */
    bool ok = true;
    for (int i = 0; i < zip->npairs && ok; i++) {
        const YPair *p = &zip->pairs[i];
        if (p->dup) continue;
        if (!block_entry(&cols, p, "zip", d)) {
            ok = false;
        } else if (strcmp(p->key->str, "seed") == 0) {
            diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                      "sweep.zip.seed: the seed cannot be zipped; use `seeds:` (every point runs "
                      "with each seed)");
            ok = false;
        } else if (cols.v[cols.n - 1].nvalues != cols.v[0].nvalues) {
            diag_emit(d, DIAG_ERROR, NULL, p->key->line, p->key->col,
                      "sweep.zip.%s: %d value%s, but sweep.zip.%s has %d (zipped lists advance "
                      "together, so they must be of equal length)", p->key->str,
                      cols.v[cols.n - 1].nvalues, cols.v[cols.n - 1].nvalues == 1 ? "" : "s",
                      cols.v[0].keys[0], cols.v[0].nvalues);
            ok = false;
        }
    }
    if (ok && cols.n > 0) {
        SweepDim *dim = dims_add(dims);
        int nk = cols.n, nv = cols.v[0].nvalues;
        dim->nkeys = nk;
        dim->nvalues = nv;
        dim->keys = ae_xmalloc((size_t)nk * sizeof *dim->keys);
        dim->values = ae_xmalloc((size_t)nk * (size_t)nv * sizeof *dim->values);
        dim->line = cols.v[0].line;
        dim->col = cols.v[0].col;
        for (int j = 0; j < nk; j++) {
            dim->keys[j] = cols.v[j].keys[0];
            for (int r = 0; r < nv; r++) dim->values[r * nk + j] = cols.v[j].values[r];
            free(cols.v[j].keys);
            free(cols.v[j].values);
        }
    } else {
        for (int j = 0; j < cols.n; j++) sweep_dim_free(&cols.v[j]);
    }
    free(cols.v);
    return ok;
}

static bool block_seeds(DimList *dims, const YPair *p, Diag *d) {
    const YNode *v = p->value;
    StrList l = {0};
    char buf[32];
    if (v->kind == YNODE_SCALAR && v->plain) {
        char *end;
        errno = 0;
        long n = strtol(v->str, &end, 10);
        if (*end || end == v->str || errno || n < 1 || n > SWEEP_MAX_VALUES) goto bad;
        for (long i = 1; i <= n; i++) {
            snprintf(buf, sizeof buf, "%ld", i);
            sweep_strlist_push(&l, xstrdup(buf));
        }
    } else if (v->kind == YNODE_SEQ && v->nitems > 0 && v->nitems <= SWEEP_MAX_VALUES) {
        for (int i = 0; i < v->nitems; i++) {
            const YNode *it = v->items[i];
            if (it->kind != YNODE_SCALAR || !it->str[0] ||
                strspn(it->str, "0123456789") != strlen(it->str) || strlen(it->str) > 20) {
                diag_emit(d, DIAG_ERROR, NULL, it->line, it->col,
                          "sweep.seeds[%d]: expected a seed (an integer >= 0), got \"%s\"", i,
                          it->kind == YNODE_SCALAR ? it->str : "a collection");
                sweep_values_free(l.v, l.n);
                return false;
            }
            sweep_strlist_push(&l, xstrdup(it->str));
        }
    } else {
        goto bad;
    }
    SweepDim *dim = dims_add(dims);
    dim->keys = ae_xmalloc(sizeof *dim->keys);
    dim->keys[0] = xstrdup("seed");
    dim->nkeys = 1;
    dim->values = l.v;
    dim->nvalues = l.n;
    dim->seed = true;
    dim->line = p->key->line;
    dim->col = p->key->col;
    return true;
bad:
    sweep_values_free(l.v, l.n);
    diag_emit(d, DIAG_ERROR, NULL, v->line, v->col,
              "sweep.seeds: expected a count N >= 1 (seeds 1..N) or a list of seeds, got %s%s%s",
              v->kind == YNODE_SCALAR ? "\"" : "", v->kind == YNODE_SCALAR ? v->str : "a mapping",
              v->kind == YNODE_SCALAR ? "\"" : "");
    return false;
}

static bool read_block(DimList *grid, DimList *zip, DimList *seeds, const YNode *sw, Diag *d) {
    if (ynode_is_null(sw)) return true;
    if (sw->kind != YNODE_MAP) {
        diag_emit(d, DIAG_ERROR, NULL, sw->line, sw->col,
                  "sweep: expected a mapping (grid:, zip:, seeds: or KEY: [values])");
        return false;
    }
    bool ok = true;
    for (int i = 0; i < sw->npairs; i++) {
        const YPair *p = &sw->pairs[i];
        if (p->dup) continue;
        const char *k = p->key->str;
        if (strcmp(k, "grid") == 0) {
            if (ynode_is_null(p->value)) continue;
            if (p->value->kind != YNODE_MAP) {
                diag_emit(d, DIAG_ERROR, NULL, p->value->line, p->value->col,
                          "sweep.grid: expected a mapping of KEY: [values]");
                ok = false;
                continue;
            }
            for (int j = 0; j < p->value->npairs; j++)
                if (!p->value->pairs[j].dup) ok &= block_entry(grid, &p->value->pairs[j], "grid", d);
        } else if (strcmp(k, "zip") == 0) {
            if (!ynode_is_null(p->value)) ok &= block_zip(zip, p->value, d);
        } else if (strcmp(k, "seeds") == 0) {
            ok &= block_seeds(seeds, p, d);
        } else if (strcmp(k, "slurm") == 0) {
            continue; /* --emit slurm's options (runner/sweep_slurm.c), not a dimension */
        } else {
            ok &= block_entry(grid, p, "", d);
        }
    }
    return ok;
}

/* Whether key is set by any --set argument (single or multi-valued). */
static bool set_by_cli(const char *const *sets, int nsets, const char *key) {
    size_t n = strlen(key);
    for (int i = 0; i < nsets; i++)
        if (strncmp(sets[i], key, n) == 0 && sets[i][n] == '=') return true;
    return false;
}

/* Drops the keys the command line sets from a block dimension; false when none is left. */
static bool drop_cli_keys(SweepDim *d, const char *const *sets, int nsets) {
    int keep = 0;
    for (int j = 0; j < d->nkeys; j++) keep += !set_by_cli(sets, nsets, d->keys[j]);
    if (keep == d->nkeys) return true;
    if (keep == 0) {
        sweep_dim_free(d);
        return false;
    }
    char **nk = ae_xmalloc((size_t)keep * sizeof *nk);
    char **nv = ae_xmalloc((size_t)keep * (size_t)d->nvalues * sizeof *nv);
    for (int r = 0; r < d->nvalues; r++)
        for (int j = 0, c = 0; j < d->nkeys; j++) {
            char **cell = &d->values[r * d->nkeys + j];
            if (set_by_cli(sets, nsets, d->keys[j])) {
                free(*cell);
            } else {
                nv[r * keep + c++] = *cell;
            }
        }
    for (int j = 0, c = 0; j < d->nkeys; j++) {
        if (set_by_cli(sets, nsets, d->keys[j])) free(d->keys[j]);
        else nk[c++] = d->keys[j];
    }
    free(d->keys);
    free(d->values);
    d->keys = nk;
    d->values = nv;
    d->nkeys = keep;
    return true;
}

/* ---- the command line ---- */

/* Sorts the --set arguments: one with several values (or a helper) becomes a dimension in cli,
 * the others go to base as given. Returns 0, or 2 after printing an error. */
static int read_cli(const char *const *sets, int nsets, DimList *cli, StrList *base) {
    int rc = 0;
    for (int i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        if (!eq || eq == sets[i]) {
            sweep_strlist_push(base, xstrdup(sets[i]));
            continue;
        }
        char **vals, why[768];
        int n = sweep_split_values(eq + 1, &vals, why, sizeof why);
        if (n < 0) {
            fprintf(stderr, "--set %s: error: %s\n", sets[i], why);
            rc = 2;
            continue;
        }
        bool helper = n == 1 && strcmp(vals[0], eq + 1) != 0 && strpbrk(eq + 1, "(");
        if (n == 1 && !helper) {
            sweep_strlist_push(base, xstrdup(sets[i]));
            sweep_values_free(vals, n);
            continue;
        }
        char *key = xstrndup(sets[i], (size_t)(eq - sets[i]));
        for (int j = 0; j < cli->n; j++)
            if (strcmp(cli->v[j].keys[0], key) == 0) {
                fprintf(stderr, "--set %s: error: '%s' is swept twice on the command line; give "
                        "all its values in one --set\n", sets[i], key);
                rc = 2;
            }
        SweepDim *dim = dims_add(cli);
        dim->keys = ae_xmalloc(sizeof *dim->keys);
        dim->keys[0] = key;
        dim->nkeys = 1;
        dim->values = vals;
        dim->nvalues = n;
        dim->seed = strcmp(key, "seed") == 0;
    }
    return rc;
}

/* ---- the file ---- */

/* Reads and parses s->file quietly into s->text and the returned document; NULL when it is not
 * a regular file, cannot be read or is not a YAML mapping (config_load reports such a file).
 * A pipe is left alone (reading it here would leave nothing for config_load): no sweep from a
 * pipe, which is an error (*rc = 2) when the command line sweeps (cli0: its first dimension). */
static YDoc *read_file(Sweep *s, const SweepDim *cli0, int *rc) {
    struct stat st;
    if (stat(s->file, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (cli0 && *rc == 0) {
            fprintf(stderr, "aelab: error: %s: a sweep (--set %s=%s,...) needs the config in a "
                    "regular file\n", s->file, cli0->keys[0], cli0->values[0]);
            *rc = 2;
        }
        return NULL;
    }
    AeError err;
    YDoc *doc = NULL;
    s->text = fs_read_file(s->file, &s->len, &err);
    if (s->text) {
        Diag quiet;
        diag_init(&quiet, NULL, s->file);
        doc = ydoc_parse(s->text, s->len, NULL, &quiet);
        diag_free(&quiet);
    }
    if (doc && !doc->nerrors && doc->root && doc->root->kind == YNODE_MAP) return doc;
    ydoc_free(doc);
    return NULL;
}

/* ---- putting them together ---- */

/* Moves every dimension of lists[0..nlists) into s->dims, in list order, the seed's last, and
 * empties the lists. Returns 2 (error in d) when the seed is swept twice, else 0. */
static int order_dims(Sweep *s, DimList *const *lists, int nlists, Diag *d) {
    DimList all = {0};
    const SweepDim *first_seed = NULL;
    int rc = 0;
    for (int want_seed = 0; want_seed < 2; want_seed++)
        for (int g = 0; g < nlists; g++)
            for (int i = 0; i < lists[g]->n; i++) {
                SweepDim *dim = &lists[g]->v[i];
                if (dim->seed != (bool)want_seed) continue;
                if (dim->seed && first_seed) {
                    const SweepDim *at = dim->line ? dim : first_seed;
                    diag_emit(d, DIAG_ERROR, NULL, at->line, at->col,
                              "sweep: the seed is swept twice (a `seed` entry and `seeds:`)");
                    rc = 2;
                }
                if (dim->seed && !first_seed) first_seed = dim;
                *dims_add(&all) = *dim;
            }
    for (int g = 0; g < nlists; g++) {
        free(lists[g]->v);
        *lists[g] = (DimList){0};
    }
    s->dims = all.v;
    s->ndims = all.n;
    return rc;
}

/* Drops the keys the command line sets from the block's dimensions (and the dimensions left
 * with no key). */
static void drop_cli_entries(const Sweep *s, DimList *l) {
    int keep = 0;
    for (int i = 0; i < l->n; i++)
        if (drop_cli_keys(&l->v[i], s->sets, s->nsets)) l->v[keep++] = l->v[i];
    l->n = keep;
}

int sweep_spec_read(Sweep *s, Diag *d) {
    DimList grid = {0}, zip = {0}, seeds = {0}, cli = {0};
    StrList base = {0};
    int rc = read_cli(s->sets, s->nsets, &cli, &base);
    s->base = base.v;
    s->nbase = base.n;
    YDoc *doc = read_file(s, cli.n > 0 ? &cli.v[0] : NULL, &rc);
    if (!doc || rc) goto out;
    const YNode *block = ynode_get(doc->root, "sweep");
    if (block && !read_block(&grid, &zip, &seeds, block, d)) rc = 2;
    if (rc) goto out;
    drop_cli_entries(s, &grid);
    drop_cli_entries(s, &zip);
    drop_cli_entries(s, &seeds);
    DimList *const order[4] = {&grid, &cli, &zip, &seeds};
    rc = order_dims(s, order, 4, d);
out:
    for (int i = 0; i < grid.n; i++) sweep_dim_free(&grid.v[i]);
    for (int i = 0; i < cli.n; i++) sweep_dim_free(&cli.v[i]);
    for (int i = 0; i < zip.n; i++) sweep_dim_free(&zip.v[i]);
    for (int i = 0; i < seeds.n; i++) sweep_dim_free(&seeds.v[i]);
    free(grid.v);
    free(cli.v);
    free(zip.v);
    free(seeds.v);
    ydoc_free(doc);
    return rc;
}
