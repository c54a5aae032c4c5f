/* runner/sweep.c — the Sweep: sweep_open puts the spec (runner/sweep_spec.c) into points, checks
 * the parameters and finds the first point whose config is valid; then the points' parameters,
 * --set arguments and run directories, --list and `aelab check`. The other pieces are listed in
 * runner/sweep_internal.h.
 *
 * Point K's index along each dimension is a digit of K in a mixed radix (each dimension's value
 * count), the last dimension fastest.
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define SWEEP_DIRNAME_MAX 120 /* the parameters' part of a point's directory name */

/* ---- the points ---- */

void sweep_free(Sweep *s) {
    if (!s) return;
    for (int i = 0; i < s->ndims; i++) sweep_dim_free(&s->dims[i]);
    free(s->dims);
    free(s->param_dim);
    free(s->param_j);
    sweep_values_free(s->base, s->nbase);
    free(s->text);
    free(s);
}

int sweep_npoints(const Sweep *s) { return s->npoints; }
int sweep_nparams(const Sweep *s) { return s->nparams; }
const char *sweep_root(const Sweep *s) { return s->root; }

const char *sweep_param_key(const Sweep *s, int i) {
    AE_ASSERT(i >= 0 && i < s->nparams);
    return s->dims[s->param_dim[i]].keys[s->param_j[i]];
}

/* The index of point k along dimension d (the last dimension varies fastest). */
static int point_digit(const Sweep *s, int k, int d) {
    for (int e = s->ndims - 1; e > d; e--) k /= s->dims[e].nvalues;
    return k % s->dims[d].nvalues;
}

const char *sweep_point_value(const Sweep *s, int k, int i) {
    AE_ASSERT(k >= 0 && k < s->npoints && i >= 0 && i < s->nparams);
    const SweepDim *d = &s->dims[s->param_dim[i]];
    return d->values[point_digit(s, k, s->param_dim[i]) * d->nkeys + s->param_j[i]];
}

bool sweep_is_seed_param(const Sweep *s, int i) { return s->param_dim[i] == s->seed_dim; }

void sweep_point_dir(const Sweep *s, int k, char *buf, size_t size) {
    char part[SWEEP_DIRNAME_MAX + 1] = "", kv[512], clean[512];
    size_t used = 0;
    for (int i = 0; i < s->nparams; i++) {
        snprintf(kv, sizeof kv, "%s=%s", sweep_param_key(s, i), sweep_point_value(s, k, i));
        sweep_sanitise(kv, clean, sizeof clean);
        int w = snprintf(part + used, sizeof part - used, "_%s", clean);
        if (w < 0 || (size_t)w >= sizeof part - used) break; /* the index keeps names unique */
        used += (size_t)w;
    }
    snprintf(buf, size, "%s/sweep/%0*d%s", s->root, s->width, k, part);
}

char **sweep_point_sets(const Sweep *s, int k, int *n) {
    char **v = ae_xmalloc((size_t)(s->nbase + s->nparams + 1) * sizeof *v);
    int m = 0;
    for (int i = 0; i < s->nbase; i++) v[m++] = xstrdup(s->base[i]);
    for (int i = 0; i < s->nparams; i++) {
        StrBuf b = {0};
        strbuf_printf(&b, "%s=%s", sweep_param_key(s, i), sweep_point_value(s, k, i));
        v[m++] = b.s;
    }
    *n = m;
    return v;
}

void sweep_point_params(const Sweep *s, int k, StrBuf *b) {
    for (int i = 0; i < s->nparams; i++)
        strbuf_printf(b, "%s%s=%s", i ? " " : "", sweep_param_key(s, i), sweep_point_value(s, k, i));
}

/* ---- opening ---- */

/* Counts the points and indexes the parameters of s->dims. Returns 2 (printed) when there are
 * more than SWEEP_MAX_POINTS points. */
static int index_params(Sweep *s) {
    long np = 1;
    for (int i = 0; i < s->ndims; i++) {
        s->nparams += s->dims[i].nkeys;
        np *= s->dims[i].nvalues;
        if (np > SWEEP_MAX_POINTS) {
            fprintf(stderr, "%s: error: the sweep has more than %d points\n", s->file,
                    SWEEP_MAX_POINTS);
            return 2;
        }
        if (s->dims[i].seed) s->seed_dim = i;
    }
    s->npoints = (int)np;
    s->param_dim = ae_xmalloc((size_t)s->nparams * sizeof *s->param_dim);
    s->param_j = ae_xmalloc((size_t)s->nparams * sizeof *s->param_j);
    for (int i = 0, p = 0; i < s->ndims; i++)
        for (int j = 0; j < s->dims[i].nkeys; j++, p++) {
            s->param_dim[p] = i;
            s->param_j[p] = j;
        }
    s->width = 1;
    for (int v = s->npoints - 1; v >= 10; v /= 10) s->width++;
    return 0;
}

/* Errors for a key that cannot be swept (`name`, `sweep`) or is swept twice; returns 2 after
 * any, else 0. Errors of the block go to d, those of the command line to stderr. */
static int check_params(const Sweep *s, Diag *d) {
    int rc = 0;
    for (int p = 0; p < s->nparams; p++) {
        const char *key = sweep_param_key(s, p);
        const SweepDim *dim = &s->dims[s->param_dim[p]];
        if (strcmp(key, "name") == 0 || strcmp(key, "sweep") == 0) {
            if (dim->line) diag_emit(d, DIAG_ERROR, NULL, dim->line, dim->col,
                                     "sweep: '%s' cannot be swept%s", key,
                                     key[0] == 'n' ? " (the points are named by their parameters)" : "");
            else fprintf(stderr, "aelab: error: --set %s: '%s' cannot be swept\n", key, key);
            rc = 2;
        }
        for (int q = 0; q < p; q++)
            if (strcmp(key, sweep_param_key(s, q)) == 0) {
                if (dim->line) diag_emit(d, DIAG_ERROR, NULL, dim->line, dim->col,
                                         "sweep: '%s' is swept twice", key);
                else fprintf(stderr, "aelab: error: '%s' is swept twice\n", key);
                rc = 2;
            }
    }
    return rc;
}

/* Finds the first point whose config is valid, which names the sweep, and sets the root.
 * Returns 2 when there is none, after printing point 0's errors (d flushed first). */
static int name_sweep(Sweep *s, const char *out_dir, Diag *d) {
    s->first_valid = -1;
    for (int k = 0; k < s->npoints && s->first_valid < 0; k++) {
        Config *c = sweep_point_config(s, k, NULL, NULL);
        if (c) {
            s->first_valid = k;
            snprintf(s->name, sizeof s->name, "%s", c->name);
        }
        config_free(c);
    }
    if (s->first_valid < 0) {
        int nerr = 0;
        diag_flush(d);
        config_free(sweep_point_config(s, 0, stderr, &nerr));
        StrBuf pp = {0};
        sweep_point_params(s, 0, &pp);
        fprintf(stderr, "aelab: %d error%s in %s with %s (point 0; no point of the sweep has a "
                "valid config)\n", nerr, nerr == 1 ? "" : "s", s->file, pp.s ? pp.s : "");
        free(pp.s);
        return 2;
    }
    if (out_dir) snprintf(s->root, sizeof s->root, "%s", out_dir);
    else snprintf(s->root, sizeof s->root, "results/%s", s->name);
    return 0;
}

int sweep_open(const char *file, const char *const *sets, int nsets, const char *out_dir,
               Sweep **out) {
    *out = NULL;
    Sweep *s = ae_xcalloc(1, sizeof *s);
    s->file = file;
    s->sets = sets;
    s->nsets = nsets;
    s->out_dir = out_dir;
    s->seed_dim = -1;
    Diag d;
    diag_init(&d, stderr, file);
    int rc = sweep_spec_read(s, &d);
    if (rc == 0 && s->ndims > 0) rc = index_params(s);
    if (rc == 0 && s->ndims > 0) rc = check_params(s, &d);
    if (rc == 0 && s->ndims > 0) rc = name_sweep(s, out_dir, &d);
    diag_flush(&d);
    diag_free(&d);
    if (rc || s->ndims == 0) {
        sweep_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- list, check ---- */

void sweep_print_shape(const Sweep *s, FILE *out) {
    fprintf(out, "sweep of %s: %d point%s =", s->name, s->npoints, s->npoints == 1 ? "" : "s");
    for (int i = 0; i < s->ndims; i++) {
        fprintf(out, "%s", i ? " x " : " ");
        for (int j = 0; j < s->dims[i].nkeys; j++)
            fprintf(out, "%s%s", j ? "+" : "", s->dims[i].keys[j]);
        fprintf(out, " (%d)", s->dims[i].nvalues);
    }
    fprintf(out, "; results in %s/\n", s->root);
}

int sweep_list(const Sweep *s, FILE *out) {
    sweep_print_shape(s, out);
    int ndone = 0;
    for (int k = 0; k < s->npoints; k++) {
        char dir[SWEEP_PATH_MAX];
        StrBuf pp = {0};
        sweep_point_params(s, k, &pp);
        sweep_point_dir(s, k, dir, sizeof dir);
        bool done = sweep_point_complete(s, k);
        ndone += done;
        fprintf(out, "%*d  %s  %s%s\n", s->width, k, pp.s ? pp.s : "", dir, done ? "  (complete)" : "");
        free(pp.s);
    }
    if (ndone) fprintf(out, "%d of %d points complete\n", ndone, s->npoints);
    return 0;
}

int sweep_check(const Sweep *s) {
    int nbad = 0;
    for (int k = 0; k < s->npoints; k++) {
        Config *c = sweep_point_config(s, k, NULL, NULL);
        if (!c) {
            StrBuf pp = {0};
            sweep_point_params(s, k, &pp);
            fprintf(stderr, "aelab check: point %d (%s):\n", k, pp.s ? pp.s : "");
            free(pp.s);
            c = sweep_point_config(s, k, stderr, NULL);
            nbad++;
        }
        config_free(c);
    }
    sweep_list(s, stdout);
    if (nbad)
        fprintf(stderr, "aelab check: %d of %d points have errors (above)\n", nbad, s->npoints);
    return nbad ? 2 : 0;
}

int sweep_first_valid(const Sweep *s) { return s->first_valid; }

Config *sweep_point_config(const Sweep *s, int k, FILE *diag_out, int *nerrors) {
    AE_ASSERT(k >= 0 && k < s->npoints);
    int n;
    char **sets = sweep_point_sets(s, k, &n);
    Config *c = config_load_string(s->file, s->text, (const char *const *)sets, n, diag_out, nerrors);
    sweep_values_free(sets, n);
    return c;
}
