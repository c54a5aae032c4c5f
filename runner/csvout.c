/* runner/csvout.c — the in-memory CSV table, its atomic writer and its reader, on libcsv.
 *
 * Writing: csv_put_field decides whether a field needs quotes and lets libcsv's csv_fwrite do the
 * quoting; every file goes through an AtomicFile (runner/fsutil.h), so the final path only ever
 * holds a complete file.
 * Reading: the file is fed to csv_parse one physical line at a time, so the callbacks know the
 * line number; a record's line is the line where its first byte was seen.
 */
#include "csvout.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "fsutil.h"

/* ---- shared formatting ---- */

static char *csv_strdup(const char *s) {
    size_t n = strlen(s);
    char *d = ae_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

/* Formats v with fmt (a printf format for one double; NULL: "%.9g"), spelling NaN and the
 * infinities the same on every C library. */
static void csv_format_num(char *buf, size_t n, double v, const char *fmt) {
    if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, fmt ? fmt : "%.9g", v);
}

/* True when s must be quoted to read back unchanged through libcsv. */
static bool csv_needs_quotes(const char *s) {
    size_t n = strlen(s);
    if (n == 0)
        return false;
    if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return true;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return true; /* at byte 0 of a file it would be read as a byte-order mark */
    return strpbrk(s, ",\"\r\n") != NULL;
}

/* Writes one field (s == NULL: empty), preceded by a comma unless it is the first of its row.
 * Stream errors stay in fp's error flag for the commit to report. */
static void csv_put_field(FILE *fp, const char *s, bool first, bool only) {
    if (!first)
        fputc(',', fp);
    if (!s || !*s) {
        if (only)
            fputs("\"\"", fp); /* an empty line would be skipped as blank when read */
        return;
    }
    if (csv_needs_quotes(s))
        csv_fwrite(fp, s, strlen(s));
    else
        fputs(s, fp);
}

/* ---- the table ---- */

struct CsvTable {
    int ncols;
    char **header; /* (ncols) */
    char ***rows;  /* (nrows, ncols); NULL cell = empty */
    int *lines;    /* (nrows) source line, 0 when built in memory */
    int nrows, cap;
};

CsvTable *csvtable_create(const char *const *header, int ncols) {
    AE_ASSERT(header && ncols >= 1);
    CsvTable *t = ae_xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->header = ae_xcalloc((size_t)ncols, sizeof *t->header);
    for (int j = 0; j < ncols; j++)
        t->header[j] = csv_strdup(header[j] ? header[j] : "");
    return t;
}

void csvtable_free(CsvTable *t) {
    if (!t)
        return;
    for (int i = 0; i < t->nrows; i++) {
        for (int j = 0; j < t->ncols; j++)
            free(t->rows[i][j]);
        free(t->rows[i]);
    }
    for (int j = 0; j < t->ncols; j++)
        free(t->header[j]);
    free(t->header);
    free(t->rows);
    free(t->lines);
    free(t);
}

int csvtable_ncols(const CsvTable *t) { return t->ncols; }
int csvtable_nrows(const CsvTable *t) { return t->nrows; }

const char *csvtable_header(const CsvTable *t, int col) {
    AE_ASSERT(t && col >= 0 && col < t->ncols);
    return t->header[col];
}

int csvtable_col(const CsvTable *t, const char *name) {
    for (int j = 0; j < t->ncols; j++)
        if (strcmp(t->header[j], name) == 0)
            return j;
    return -1;
}

/* Appends a row that takes ownership of cells (ncols malloc'ed strings or NULLs). */
static int csvtable_push(CsvTable *t, char **cells, int line) {
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        char ***nr = realloc(t->rows, (size_t)t->cap * sizeof *nr);
        int *nl = realloc(t->lines, (size_t)t->cap * sizeof *nl);
        if (!nr || !nl) {
            fprintf(stderr, "%s:%d: error: out of memory growing a table to %d rows\n", __FILE__,
                    __LINE__, t->cap);
            exit(1);
        }
        t->rows = nr;
        t->lines = nl;
    }
    t->rows[t->nrows] = cells;
    t->lines[t->nrows] = line;
    return t->nrows++;
}

int csvtable_add_row(CsvTable *t, const char *const *cells) {
    AE_ASSERT(t);
    char **row = ae_xcalloc((size_t)t->ncols, sizeof *row);
    for (int j = 0; cells && j < t->ncols; j++)
        row[j] = cells[j] && *cells[j] ? csv_strdup(cells[j]) : NULL;
    return csvtable_push(t, row, 0);
}

void csvtable_set_str(CsvTable *t, int row, int col, const char *s) {
    AE_ASSERT(t && row >= 0 && row < t->nrows && col >= 0 && col < t->ncols);
    free(t->rows[row][col]);
    t->rows[row][col] = s && *s ? csv_strdup(s) : NULL;
}

void csvtable_set_num(CsvTable *t, int row, int col, double v, const char *fmt) {
    char buf[512];
    csv_format_num(buf, sizeof buf, v, fmt);
    csvtable_set_str(t, row, col, buf);
}

void csvtable_set_int(CsvTable *t, int row, int col, long long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    csvtable_set_str(t, row, col, buf);
}

const char *csvtable_get(const CsvTable *t, int row, int col) {
    AE_ASSERT(t && row >= 0 && row < t->nrows && col >= 0 && col < t->ncols);
    const char *s = t->rows[row][col];
    return s ? s : "";
}

bool csvtable_get_num(const CsvTable *t, int row, int col, double *out) {
    const char *s = csvtable_get(t, row, col);
    if (!*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    /* ERANGE on underflow still gives a usable (tiny or zero) value; overflow gives ±HUGE_VAL,
     * which is what the text says. */
    *out = v;
    return true;
}

int csvtable_line(const CsvTable *t, int row) {
    AE_ASSERT(t && row >= 0 && row < t->nrows);
    return t->lines[row];
}

bool csvtable_write_atomic(const CsvTable *t, const char *path, AeError *err) {
    AE_ASSERT(t && path);
    AtomicFile *af = af_open(path, err);
    if (!af)
        return false;
    FILE *fp = af_file(af);
    for (int j = 0; j < t->ncols; j++)
        csv_put_field(fp, t->header[j], j == 0, t->ncols == 1);
    fputc('\n', fp);
    for (int i = 0; i < t->nrows; i++) {
        for (int j = 0; j < t->ncols; j++)
            csv_put_field(fp, t->rows[i][j], j == 0, t->ncols == 1);
        fputc('\n', fp);
    }
    return af_commit(af, err);
}

/* ---- reader ---- */

typedef struct CsvReadState {
    const char *path;
    CsvTable *t;      /* created when the header row ends */
    char **fields;    /* the record being read (nfields, cap) */
    int nfields, cap;
    int line;         /* the physical line being parsed */
    int rec_line;     /* where the current record started */
    bool in_record;
    int header_line;
    bool failed;
    AeError *err;
} CsvReadState;

static void csv_read_field(void *s, size_t n, void *data) {
    CsvReadState *st = data;
    if (st->failed)
        return;
    if (!st->in_record) {
        st->in_record = true;
        st->rec_line = st->line;
    }
    if (st->nfields == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 16;
        char **nf = realloc(st->fields, (size_t)st->cap * sizeof *nf);
        if (!nf) {
            fprintf(stderr, "%s:%d: error: out of memory reading %s\n", __FILE__, __LINE__,
                    st->path);
            exit(1);
        }
        st->fields = nf;
    }
    char *f = NULL;
    if (s && n > 0) {
        f = ae_xmalloc(n + 1);
        memcpy(f, s, n);
        f[n] = '\0';
    }
    st->fields[st->nfields++] = f;
}

static void csv_read_clear(CsvReadState *st) {
    for (int j = 0; j < st->nfields; j++)
        free(st->fields[j]);
    st->nfields = 0;
}

static void csv_read_record(int c, void *data) {
    (void)c;
    CsvReadState *st = data;
    st->in_record = false;
    if (st->failed) {
        csv_read_clear(st);
        return;
    }
    if (!st->t) {
        /* The header: the table takes copies of the names. */
        st->t = csvtable_create((const char *const *)st->fields, st->nfields);
        st->header_line = st->rec_line;
        csv_read_clear(st);
        return;
    }
    if (st->nfields != st->t->ncols) {
        ae_fail(st->err,
                "%s:%d: error: row has %d field%s, expected %d (as in the header on line %d)",
                st->path, st->rec_line, st->nfields, st->nfields == 1 ? "" : "s", st->t->ncols,
                st->header_line);
        st->failed = true;
        csv_read_clear(st);
        return;
    }
    char **row = ae_xmalloc((size_t)st->nfields * sizeof *row);
    memcpy(row, st->fields, (size_t)st->nfields * sizeof *row);
    st->nfields = 0; /* ownership moved to the row */
    csvtable_push(st->t, row, st->rec_line);
}

/* True when the bytes hold only spaces, tabs, CR and LF (libcsv reports no record for them). */
static bool csv_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

CsvTable *csvtable_read(const char *path, AeError *err) {
    AE_ASSERT(path);
    size_t n = 0;
    char *buf = fs_read_file(path, &n, err);
    if (!buf)
        return NULL;
    struct csv_parser p;
    CsvReadState st = {.path = path, .err = err};
    bool parser_ok = csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) == 0;
    if (!parser_ok) {
        ae_fail(err, "%s: error: cannot initialise the CSV parser", path);
        goto fail;
    }
    size_t pos = 0;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a UTF-8 byte-order mark, as spreadsheets write it */
    st.line = 1;
    while (pos < n && !st.failed) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (buf + pos)) + 1 : n - pos;
        if (!st.in_record && !csv_blank(buf + pos, len)) {
            st.in_record = true;
            st.rec_line = st.line;
        }
        size_t done = csv_parse(&p, buf + pos, len, csv_read_field, csv_read_record, &st);
        if (done != len && !st.failed) {
            int e = csv_error(&p);
            if (e == CSV_EPARSE)
                ae_fail(err, "%s:%d:%zu: error: malformed CSV: unexpected '%c' (a quote inside an "
                        "unquoted field, or text after a closing quote)",
                        path, st.line, done + 1, buf[pos + done]);
            else
                ae_fail(err, "%s:%d: error: CSV parser: %s", path, st.line, csv_strerror(e));
            st.failed = true;
        }
        pos += len;
        if (nl)
            st.line++;
    }
    if (!st.failed && csv_fini(&p, csv_read_field, csv_read_record, &st) != 0 && !st.failed) {
        ae_fail(err, "%s:%d: error: malformed CSV: quoted field not closed before the end of the "
                "file (record starts on line %d)",
                path, st.line - (n > 0 && buf[n - 1] == '\n'), st.rec_line);
        st.failed = true;
    }
    if (!st.failed && !st.t) {
        ae_fail(err, "%s: error: empty file, expected a header row", path);
        st.failed = true;
    }
    if (st.failed)
        goto fail;
    csv_free(&p);
    csv_read_clear(&st);
    free(st.fields);
    free(buf);
    return st.t;
fail:
    if (parser_ok)
        csv_free(&p);
    csv_read_clear(&st);
    free(st.fields);
    free(buf);
    csvtable_free(st.t);
    return NULL;
}
