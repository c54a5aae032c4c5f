/* runner/sweep_values.c — the value-list grammar of sweeps: a --set value split at its top-level
 * commas, the helpers range(a, b[, step]), linspace(a, b, n) and logspace(a, b, n), and points'
 * directory names. See sweep.h for the syntax; these functions are exported for tests.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void sweep_strlist_push(StrList *l, char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        AE_ASSERT(l->v);
    }
    l->v[l->n++] = s;
}

void sweep_values_free(char **values, int n) {
    if (!values) return;
    for (int i = 0; i < n; i++) free(values[i]);
    free(values);
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

bool sweep_parse_num(const char *s, size_t n, double *out, bool *is_int) {
    trim(&s, &n);
    if (n == 0 || n > 63) return false;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return false;
    *out = v;
    *is_int = strspn(buf + (buf[0] == '-' || buf[0] == '+'), "0123456789") ==
                  strlen(buf + (buf[0] == '-' || buf[0] == '+')) &&
              fabs(v) < 9e15;
    return true;
}

/* ---- helpers ---- */

static const char *const helper_names[] = {"range", "linspace", "logspace"};

/* A helper call: which helper, its numeric arguments, and the call's text for messages. */
typedef struct HelperCall {
    int which;                 /* index in helper_names */
    double a[3];
    bool is_int[3];
    int na;
    const char *s;             /* the call, spaces around trimmed: s[0..n) */
    int n;
} HelperCall;

/* Recognises NAME(ARGS) with NAME a helper and reads up to 3 numeric arguments. Returns 0 when
 * text is not a helper call, 1 when h is filled, -1 with why filled when an argument is not a
 * number or there are more than 3. */
static int helper_parse(const char *text, HelperCall *h, char *why, size_t whysize) {
    const char *s = text;
    size_t n = strlen(text);
    trim(&s, &n);
    int which = -1;
    size_t nl = 0;
    for (int i = 0; i < 3 && which < 0; i++) {
        nl = strlen(helper_names[i]);
        if (n > nl && strncmp(s, helper_names[i], nl) == 0) {
            const char *p = s + nl;
            while (*p == ' ') p++;
            if (*p == '(') which = i;
        }
    }
    if (which < 0 || s[n - 1] != ')') return 0;
    *h = (HelperCall){.which = which, .s = s, .n = (int)n};
    const char *args = strchr(s + nl, '(') + 1;
    size_t alen = (size_t)(s + n - 1 - args);
    for (size_t i = 0, start = 0; i <= alen; i++) {
        if (i < alen && args[i] != ',') continue;
        if (h->na == 3 ||
            !sweep_parse_num(args + start, i - start, &h->a[h->na], &h->is_int[h->na])) {
            snprintf(why, whysize, "%s(): expected %s, got '%.*s'", helper_names[which],
                     which == 0 ? "range(a, b) or range(a, b, step) with numbers"
                                : which == 1 ? "linspace(a, b, n) with numbers and a count n >= 1"
                                             : "logspace(a, b, n) with numbers and a count n >= 1",
                     h->n, s);
            return -1;
        }
        h->na++;
        start = i + 1;
    }
    return 1;
}

static int helper_too_many(const HelperCall *h, char *why, size_t whysize) {
    snprintf(why, whysize, "%.*s gives more than %d values", h->n, h->s, SWEEP_MAX_VALUES);
    return -1;
}

/* range(a, b[, step]): a, a+step, ... up to before b; integers when a, b and step are. Returns
 * the count, or -1 (why filled). */
static int helper_range(const HelperCall *h, StrList *out, char *why, size_t whysize) {
    const double *a = h->a;
    if (h->na < 2) {
        snprintf(why, whysize, "range(): expected range(a, b) or range(a, b, step), got '%.*s'",
                 h->n, h->s);
        return -1;
    }
    double step = h->na == 3 ? a[2] : 1.0;
    bool ints = h->is_int[0] && h->is_int[1] && (h->na < 3 || h->is_int[2]);
    if (step == 0) {
        snprintf(why, whysize, "range(): the step must not be 0 in '%.*s'", h->n, h->s);
        return -1;
    }
    double span = (a[1] - a[0]) / step;
    long count = span <= 0 ? 0 : (long)ceil(span - 1e-9);
    if (count < 1) {
        snprintf(why, whysize, "range(): '%.*s' is empty (it stops before b)", h->n, h->s);
        return -1;
    }
    if (count > SWEEP_MAX_VALUES) return helper_too_many(h, why, whysize);
    char buf[64];
    for (long i = 0; i < count; i++) {
        if (ints) snprintf(buf, sizeof buf, "%lld", (long long)a[0] + (long long)i * (long long)step);
        else snprintf(buf, sizeof buf, "%.10g", a[0] + (double)i * step);
        sweep_strlist_push(out, xstrdup(buf));
    }
    return out->n;
}

/* linspace(a, b, n): n values from a to b, both ends exact; logspace: 10 to the power of each. */
static int helper_space(const HelperCall *h, StrList *out, char *why, size_t whysize) {
    const double *a = h->a;
    const char *name = helper_names[h->which];
    if (h->na != 3 || !h->is_int[2] || a[2] < 1) {
        snprintf(why, whysize, "%s(): expected %s(a, b, n) with a count n >= 1, got '%.*s'", name,
                 name, h->n, h->s);
        return -1;
    }
    if (a[2] > SWEEP_MAX_VALUES) return helper_too_many(h, why, whysize);
    long count = (long)a[2];
    char buf[64];
    for (long i = 0; i < count; i++) {
        double t = count == 1 ? a[0] : a[0] + (a[1] - a[0]) * (double)i / (double)(count - 1);
        if (count > 1 && i == count - 1) t = a[1]; /* exact end point */
        double v = h->which == 1 ? t : pow(10.0, t);
        snprintf(buf, sizeof buf, "%.10g", v);
        sweep_strlist_push(out, xstrdup(buf));
    }
    return out->n;
}

int sweep_expand_helper(const char *text, char ***values, char *why, size_t whysize) {
    HelperCall h;
    int r = helper_parse(text, &h, why, whysize);
    if (r <= 0) return r;
    StrList out = {0};
    r = h.which == 0 ? helper_range(&h, &out, why, whysize) : helper_space(&h, &out, why, whysize);
    if (r < 0) {
        sweep_values_free(out.v, out.n);
        return -1;
    }
    *values = out.v;
    return out.n;
}

/* ---- lists ---- */

/* The parts of text between its top-level commas (outside brackets and quoted scalars), as
 * written; all of text as one part when a bracket or quote is not balanced. */
static void split_top_level(const char *text, StrList *parts) {
    int depth = 0;
    char quote = 0, prev = ','; /* prev: the last character outside quotes that is not a space */
    size_t start = 0, len = strlen(text);
    for (size_t i = 0; i <= len; i++) {
        char c = text[i];
        if (i < len) {
            if (quote) {
                if (c == '\\' && quote == '"' && i + 1 < len) i++;
                else if (c == quote) quote = 0;
                if (!quote) prev = c;
                continue;
            }
            if (c == ' ' || c == '\t') continue;
            /* as in YAML, a quote opens a quoted scalar only where a scalar starts */
            if ((c == '"' || c == '\'') && strchr(",[{(:", prev)) quote = c;
            else if (c == '[' || c == '{' || c == '(') depth++;
            else if ((c == ']' || c == '}' || c == ')') && --depth < 0) break;
            prev = c;
            if (c != ',' || depth > 0) continue;
        }
        if (quote || depth) break;
        sweep_strlist_push(parts, xstrndup(text + start, i - start));
        start = i + 1;
    }
    if (quote || depth) { /* not balanced: one value, which the config loader will report */
        sweep_values_free(parts->v, parts->n);
        *parts = (StrList){0};
        sweep_strlist_push(parts, xstrdup(text));
    }
}

int sweep_split_values(const char *text, char ***values, char *why, size_t whysize) {
    StrList parts = {0};
    split_top_level(text, &parts);
    StrList out = {0};
    for (int i = 0; i < parts.n; i++) {
        const char *s = parts.v[i];
        size_t n = strlen(s);
        trim(&s, &n);
        if (n == 0 && parts.n > 1) {
            snprintf(why, whysize, "empty value (item %d of %d) in the list '%s'", i + 1, parts.n,
                     text);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
        char *one = xstrndup(s, n);
        char **hv = NULL;
        int nh = sweep_expand_helper(one, &hv, why, whysize);
        if (nh < 0) {
            free(one);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
        if (nh == 0) {
            sweep_strlist_push(&out, one);
        } else {
            free(one);
            for (int j = 0; j < nh; j++) sweep_strlist_push(&out, hv[j]);
            free(hv);
        }
        if (out.n > SWEEP_MAX_VALUES) {
            snprintf(why, whysize, "more than %d values in '%s'", SWEEP_MAX_VALUES, text);
            sweep_values_free(out.v, out.n);
            goto fail;
        }
    }
    sweep_values_free(parts.v, parts.n);
    *values = out.v;
    return out.n;
fail:
    sweep_values_free(parts.v, parts.n);
    return -1;
}

void sweep_sanitise(const char *text, char *buf, size_t size) {
    size_t k = 0;
    AE_ASSERT(size > 0);
    for (const char *p = text; *p && k + 1 < size; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("._+=-", c))
            buf[k++] = c;
        else if (c == ',' || c == ':' || c == '/')
            buf[k++] = '-';
    }
    buf[k] = '\0';
}
