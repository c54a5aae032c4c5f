/* runner/report.c — metric tables from run and sweep directories, and escaping for the output
 * formats (contract in report.h).
 */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#define REPORT_PATH_MAX 4096

bool report_is_sweep(const char *path) {
    char sub[REPORT_PATH_MAX];
    int k = snprintf(sub, sizeof sub, "%s/sweep", path);
    return k > 0 && k < (int)sizeof sub && fs_is_dir(path) && fs_is_dir(sub);
}

static int report_cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the point directories under dir, sorted (point order: K is zero-padded). */
static char **report_list_points(const char *dir, int *n, AeError *err) {
    DIR *d = opendir(dir);
    if (!d) {
        ae_fail(err, "%s: error: cannot list: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int cap = 0;
    *n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            AE_ASSERT(grown != NULL);
            names = grown;
        }
        names[(*n)++] = strdup(e->d_name);
        AE_ASSERT(names[*n - 1] != NULL);
    }
    closedir(d);
    if (*n > 1)
        qsort(names, (size_t)*n, sizeof *names, report_cmp_names);
    return names;
}

/* Appends point `name`'s summary rows to t (nothing when it has no summary.csv). */
static bool report_add_point(CsvTable *t, const char *root, const char *name, AeError *err) {
    char path[REPORT_PATH_MAX];
    snprintf(path, sizeof path, "%s/sweep/%s/summary.csv", root, name);
    if (!fs_exists(path))
        return true;
    CsvTable *s = csvtable_read(path, err);
    if (!s)
        return false;
    int cm = csvtable_col(s, "metric"), cv = csvtable_col(s, "value");
    if (cm < 0 || cv < 0) {
        csvtable_free(s);
        return ae_fail(err, "%s:1: error: expected the columns metric,value", path);
    }
    for (int r = 0; r < csvtable_nrows(s); r++) {
        char metric[1024];
        snprintf(metric, sizeof metric, "%s/%s", name, csvtable_get(s, r, cm));
        const char *cells[2] = {metric, csvtable_get(s, r, cv)};
        csvtable_add_row(t, cells);
    }
    csvtable_free(s);
    return true;
}

static CsvTable *report_read_sweep(const char *root, AeError *err) {
    char dir[REPORT_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sweep", root);
    int n = 0;
    char **names = report_list_points(dir, &n, err);
    if (!names && n == 0 && err && err->msg[0])
        return NULL;
    static const char *const hdr[] = {"metric", "value"};
    CsvTable *t = csvtable_create(hdr, 2);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        ok = ok && report_add_point(t, root, names[i], err);
        free(names[i]);
    }
    free(names);
    if (!ok) {
        csvtable_free(t);
        return NULL;
    }
    return t;
}

CsvTable *report_read_metrics(const char *path, AeError *err) {
    if (err)
        err->msg[0] = '\0';
    if (report_is_sweep(path))
        return report_read_sweep(path, err);
    if (!fs_is_dir(path))
        return csvtable_read(path, err);
    char file[REPORT_PATH_MAX];
    int k = snprintf(file, sizeof file, "%s/summary.csv", path);
    if (k < 0 || k >= (int)sizeof file) {
        ae_fail(err, "%s: error: path too long", path);
        return NULL;
    }
    if (!fs_exists(file)) {
        ae_fail(err, "%s: error: no summary.csv in this run directory (did the run reach its "
                     "evaluate stage?)",
                path);
        return NULL;
    }
    return csvtable_read(file, err);
}

void report_xml(StrBuf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': strbuf_printf(b, "&amp;"); break;
        case '<': strbuf_printf(b, "&lt;"); break;
        case '>': strbuf_printf(b, "&gt;"); break;
        case '"': strbuf_printf(b, "&quot;"); break;
        case '\'': strbuf_printf(b, "&apos;"); break;
        default: strbuf_printf(b, "%c", c < 0x20 && c != '\t' && c != '\n' ? '?' : c);
        }
    }
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
bool report_json_number(const char *s) {
    const char *p = s + (*s == '-');
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return false;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == '\0';
}

void report_json(StrBuf *b, const char *s) {
    strbuf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            strbuf_printf(b, "\\%c", c);
        else if (c == '\n')
            strbuf_printf(b, "\\n");
        else if (c < 0x20)
            strbuf_printf(b, "\\u%04x", c);
        else
            strbuf_printf(b, "%c", c);
    }
    strbuf_printf(b, "\"");
}

void report_md(StrBuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            strbuf_printf(b, "\\|");
        else if (*s == '<')
            strbuf_printf(b, "&lt;");
        else if (*s == '>')
            strbuf_printf(b, "&gt;");
        else if (*s == '&')
            strbuf_printf(b, "&amp;");
        else
            strbuf_printf(b, "%c", *s == '\n' || *s == '\r' ? ' ' : *s);
    }
}

bool report_write(const StrBuf *b, const char *path, bool append, AeError *err) {
    const char *text = b->s ? b->s : "";
    if (!append)
        return fs_write_atomic(path, text, b->n, err);
    FILE *f = fopen(path, "a");
    if (!f)
        return ae_fail(err, "%s: error: cannot open for appending: %s", path, strerror(errno));
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        return ae_fail(err, "%s: error: write failed: %s", path, strerror(errno));
    return true;
}
