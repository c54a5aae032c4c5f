/* runner/diff.c — `aelab diff RUN_A RUN_B`: what differs between two runs (contract in diff.h):
 * the resolved configs key by key, the provenance (build, backend, BLAS, threads, host...), and
 * the summary metrics with their deltas. Keys are listed in RUN_A's order, then those only in
 * RUN_B; "(none)" stands for a key one side lacks.
 */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopt.h"
#include "report.h"
#include "xalloc.h"
#include "runinfo.h"
#include "strbuf.h"

#define DIFF_GO_ON (-1)

static const char diff_usage[] =
    "usage: aelab diff RUN_A RUN_B [--all] [--format text|json]\n"
    "\n"
    "Shows what differs between two run directories: the resolved configs' keys (as key paths,\n"
    "A -> B), the provenance (aelab's version and commit, backend, BLAS and its core, threads,\n"
    "host, ...) and the summary metrics, with B - A for numbers.\n"
    "  --all           also compare the provenance that differs between any two runs (date,\n"
    "                  started, finished, wall_seconds, command)\n"
    "  --format F      text (default) or json\n"
    "  -h, --help      this text\n"
    "Exit status: 0 the runs do not differ; 1 they differ; 2 a usage error or a directory that\n"
    "is not a run.\n";

/* provenance keys that differ between any two runs: left out unless --all */
static const char *const VOLATILE[] = {"date", "started", "finished", "wall_seconds", "command"};

typedef struct Change {
    const char *key, *a, *b; /* borrowed; a or b NULL: absent */
} Change;

typedef struct Changes {
    Change *c;
    int n, cap;
} Changes;

static void change_add(Changes *cs, const char *key, const char *a, const char *b) {
    if (cs->n == cs->cap) {
        int cap = cs->cap ? 2 * cs->cap : 32;
        Change *c = ae_xmalloc((size_t)cap * sizeof *c);
        if (cs->n) memcpy(c, cs->c, (size_t)cs->n * sizeof *c);
        free(cs->c);
        cs->c = c;
        cs->cap = cap;
    }
    cs->c[cs->n++] = (Change){key, a, b};
}

static bool parse_num(const char *s, double *v) {
    char *end;
    if (!s || !*s) return false;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* Two values are the same when their texts are, or when both are the same number ("47" and
 * "47.0"). */
static bool same_value(const char *a, const char *b) {
    double x, y;
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0 || (parse_num(a, &x) && parse_num(b, &y) && x == y);
}

static bool is_volatile(const char *key) {
    for (size_t i = 0; i < sizeof VOLATILE / sizeof *VOLATILE; i++)
        if (strcmp(VOLATILE[i], key) == 0) return true;
    return false;
}

/* The keys of a then those only in b whose values differ; skip_volatile for the provenance. */
static void diff_lists(const RunKVList *a, const RunKVList *b, bool skip_volatile,
                       Changes *out) {
    for (int i = 0; i < a->n; i++) {
        const char *k = a->kv[i].key, *vb = runkv_get(b, k);
        if (skip_volatile && is_volatile(k)) continue;
        if (!same_value(a->kv[i].value, vb)) change_add(out, k, a->kv[i].value, vb);
    }
    for (int i = 0; i < b->n; i++) {
        const char *k = b->kv[i].key;
        if (skip_volatile && is_volatile(k)) continue;
        if (!runkv_get(a, k)) change_add(out, k, NULL, b->kv[i].value);
    }
}

/* "+1.5" for numbers on both sides, else "" */
static void delta_text(const Change *c, char *buf, size_t n) {
    double x, y;
    buf[0] = '\0';
    if (parse_num(c->a, &x) && parse_num(c->b, &y)) snprintf(buf, n, "%+.6g", y - x);
}

/* a value as the text lists it: "(none)" when absent, "" when empty */
static const char *shown(const char *v) { return !v ? "(none)" : !*v ? "\"\"" : v; }

static void print_text(const char *title, const Changes *cs, bool deltas) {
    if (!cs->n) return;
    printf("%s:\n", title);
    for (int i = 0; i < cs->n; i++) {
        const Change *c = &cs->c[i];
        char d[64];
        delta_text(c, d, sizeof d);
        printf("  %s: %s -> %s", c->key, shown(c->a), shown(c->b));
        if (deltas && d[0]) printf(" (%s)", d);
        printf("\n");
    }
}

static void json_value(StrBuf *b, const char *v) {
    if (v) report_json(b, v);
    else strbuf_printf(b, "null");
}

static void print_json_section(StrBuf *b, const char *title, const Changes *cs, bool deltas,
                               bool last) {
    strbuf_printf(b, "  \"%s\": [", title);
    for (int i = 0; i < cs->n; i++) {
        const Change *c = &cs->c[i];
        strbuf_printf(b, "%s\n    {\"key\": ", i ? "," : "");
        report_json(b, c->key);
        strbuf_printf(b, ", \"a\": ");
        json_value(b, c->a);
        strbuf_printf(b, ", \"b\": ");
        json_value(b, c->b);
        char d[64];
        delta_text(c, d, sizeof d);
        if (deltas) strbuf_printf(b, ", \"delta\": %s", d[0] ? d + (d[0] == '+') : "null");
        strbuf_printf(b, "}");
    }
    strbuf_printf(b, "%s]%s\n", cs->n ? "\n  " : "", last ? "" : ",");
}

static int diff_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "aelab diff: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'aelab diff --help')\n");
    return 2;
}

enum { OPT_ALL = CLI_LONG_ONLY, OPT_FORMAT };

static int diff_parse(int argc, char **argv, const char **run, bool *all, bool *json) {
    static const struct option longs[] = {{"all", no_argument, NULL, OPT_ALL},
                                          {"format", required_argument, NULL, OPT_FORMAT},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    CliParser p;
    cli_init(&p, argc, argv, "h", longs);
    int n = 0;
    for (int c; (c = cli_next(&p)) != CLI_DONE;) {
        if (c == 'h') {
            fputs(diff_usage, stdout);
            return 0;
        }
        if (c == CLI_BAD) return diff_usage_error("%s", p.error);
        if (c == CLI_MISSING) return diff_usage_error("%s needs a value", p.name);
        if (c == OPT_ALL) *all = true;
        else if (c == OPT_FORMAT) {
            if (strcmp(p.arg, "text") != 0 && strcmp(p.arg, "json") != 0)
                return diff_usage_error("--format: expected text or json, got '%s'", p.arg);
            *json = strcmp(p.arg, "json") == 0;
        } else if (n == 2) {
            return diff_usage_error("unexpected argument '%s' (expected RUN_A RUN_B)", p.arg);
        } else {
            run[n++] = p.arg;
        }
    }
    if (n < 2) return diff_usage_error("%s", n ? "missing RUN_B" : "missing RUN_A and RUN_B");
    return DIFF_GO_ON;
}

int diff_main(int argc, char **argv) {
    const char *run[2];
    bool all = false, json = false;
    int rc = diff_parse(argc, argv, run, &all, &json);
    if (rc != DIFF_GO_ON) return rc;
    RunInfo ri[2];
    AeError err;
    for (int k = 0; k < 2; k++)
        if (!runinfo_load(run[k], &ri[k], &err)) {
            fprintf(stderr, "%s\n", err.msg);
            if (k) runinfo_clear(&ri[0]);
            return 2;
        }
    Changes cfg = {0}, prov = {0}, met = {0};
    diff_lists(&ri[0].config, &ri[1].config, false, &cfg);
    diff_lists(&ri[0].prov, &ri[1].prov, !all, &prov);
    diff_lists(&ri[0].metrics, &ri[1].metrics, false, &met);
    int total = cfg.n + prov.n + met.n;
    if (json) {
        StrBuf b = {0};
        strbuf_printf(&b, "{\n  \"a\": ");
        report_json(&b, run[0]);
        strbuf_printf(&b, ",\n  \"b\": ");
        report_json(&b, run[1]);
        strbuf_printf(&b, ",\n  \"identical\": %s,\n", total ? "false" : "true");
        print_json_section(&b, "config", &cfg, false, false);
        print_json_section(&b, "provenance", &prov, false, false);
        print_json_section(&b, "metrics", &met, true, true);
        strbuf_printf(&b, "}\n");
        fputs(b.s, stdout);
        strbuf_free(&b);
    } else {
        printf("--- %s\n+++ %s\n", run[0], run[1]);
        print_text("config", &cfg, false);
        print_text("provenance", &prov, false);
        print_text("metrics", &met, true);
        if (total)
            printf("%d config key%s, %d provenance key%s and %d metric%s differ\n", cfg.n,
                   cfg.n == 1 ? "" : "s", prov.n, prov.n == 1 ? "" : "s", met.n,
                   met.n == 1 ? "" : "s");
        else
            printf("no difference\n");
    }
    free(cfg.c);
    free(prov.c);
    free(met.c);
    runinfo_clear(&ri[0]);
    runinfo_clear(&ri[1]);
    return total ? 1 : 0;
}
