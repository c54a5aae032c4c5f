/* runner/datacsv.c — data sets from CSV files (dataset_load_csv, see data.h).
 *
 * One example per record: the label in one column, pixel values in the others. Records are
 * numbered from 1 (a skipped header line is record 1); libcsv skips blank lines, so a record
 * number equals the line number in files without blank lines or quoted newlines. The file goes
 * through runner/datain.h (plain or gzip by content).
 *
 * The guesses (label_column: auto, pixels: auto) never change what is loaded: they take the
 * last column and 0..255, and refuse a file whose content says otherwise, naming the key to
 * set, so that a label-first file or one scaled to [0, 1] is never trained into a 0% run.
 */
#include <csv.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "data.h"
#include "datain.h"
#include "xalloc.h"

typedef struct CsvLoad {
    const char *path;
    AeError *err;
    bool failed;
    int label_col;        /* as given: >= 0, CSV_LABEL_LAST, CSV_LABEL_AUTO */
    CsvPixels pixels;
    long record;          /* 1-based number of the current record */
    double *cur;          /* values of the current record, (curcap) */
    int ncur, curcap;
    bool header_row;      /* the current record is a header being skipped */
    int header_label;     /* 0-based column the header names "label" (or class, target); -1 */
    char header_name[32]; /* the header's name of the column taken as the label */
    int ncols;            /* columns of the first data record; 0 until then */
    uint8_t *images;      /* (n, ncols-1), grown by doubling */
    uint8_t *labels;      /* (n) */
    size_t n, cap;        /* examples held, room for */
    int maxlab;
    /* what the guesses look at */
    unsigned first_seen;  /* column 1: bit k = the integer k in 0..9 was seen */
    bool first_small;     /* column 1 holds only integers 0..9 so far */
    unsigned last_seen;   /* the last column, likewise */
    bool last_small;
    bool pixels_le1;      /* every pixel value <= 1 so far */
    long frac_record;     /* the first pixel value with a fraction: where, and what; 0 = none */
    int frac_col;
    double frac_value;
} CsvLoad;

static bool csv_number(const char *s, size_t len, double *v) {
    char *end;
    if (len == 0) return false;
    errno = 0;
    *v = strtod(s, &end);
    while (end < s + len && (*end == ' ' || *end == '\t' || *end == '\r')) end++;
    return end == s + len && errno == 0 && isfinite(*v);
}

static int label_col_of(const CsvLoad *L, int ncols) {
    return L->label_col < 0 ? ncols - 1 : L->label_col;
}

/* A header cell: remembered when it names the label column. */
static void header_cell(CsvLoad *L, const char *txt, size_t len) {
    static const char *const names[] = {"label", "labels", "class", "target", "y"};
    while (len && (*txt == ' ' || *txt == '\t')) txt++, len--;
    while (len && (txt[len - 1] == ' ' || txt[len - 1] == '\t' || txt[len - 1] == '\r')) len--;
    for (size_t i = 0; i < sizeof names / sizeof *names && L->header_label < 0; i++)
        if (strlen(names[i]) == len && strncasecmp(txt, names[i], len) == 0)
            L->header_label = L->ncur;
    L->ncur++;
}

static void bad_field(CsvLoad *L, const char *txt, size_t len) {
    L->failed = true;
    /* the field as one printable line: a stray quote can make libcsv's field span lines */
    char shown[48];
    size_t k = 0;
    for (size_t i = 0; i < len && k < 40; i++) {
        unsigned char ch = (unsigned char)txt[i];
        shown[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    shown[k] = 0;
    ae_fail(L->err, "%s: error: record %ld, column %d: expected a number, got \"%s%s\"", L->path,
            L->record, L->ncur + 1, shown, len > 40 ? "..." : "");
}

static void csv_on_field(void *s, size_t len, void *data) {
    CsvLoad *L = data;
    if (L->failed) return;
    const char *txt = s ? s : "";
    double v = 0;
    if (L->ncur == 0 && L->record == 1 && L->ncols == 0) L->header_row = !csv_number(txt, len, &v);
    if (L->header_row) {
        header_cell(L, txt, len);
        return;
    }
    if (!csv_number(txt, len, &v)) {
        bad_field(L, txt, len);
        return;
    }
    if (L->ncur == L->curcap) {
        L->curcap = L->curcap ? 2 * L->curcap : 1024;
        if (L->curcap > AE_IDX_MAX_FEATURES + 1) {
            L->failed = true;
            ae_fail(L->err, "%s: error: record %ld: more than %d columns", L->path, L->record,
                    AE_IDX_MAX_FEATURES + 1);
            return;
        }
        double *p = realloc(L->cur, sizeof *p * (size_t)L->curcap);
        if (!p) {
            L->failed = true;
            ae_fail(L->err, "%s: error: record %ld: out of memory for %d columns", L->path,
                    L->record, L->curcap);
            return;
        }
        L->cur = p;
    }
    L->cur[L->ncur++] = v;
}

/* The first data record fixes the width; every other one must have it. */
static bool record_width(CsvLoad *L, long rec, int nf) {
    if (L->ncols == 0) {
        if (nf < 2)
            return ae_fail(L->err, "%s: error: record %ld: %d column, expected a label and pixels",
                           L->path, rec, nf);
        L->ncols = nf;
        if (label_col_of(L, nf) >= nf)
            return ae_fail(L->err,
                           "%s: error: label column %d out of range: records have %d columns",
                           L->path, L->label_col, nf);
        return true;
    }
    if (nf != L->ncols)
        return ae_fail(L->err,
                       "%s: error: record %ld: %d columns, expected %d (as in the first record)",
                       L->path, rec, nf, L->ncols);
    return true;
}

static bool grow(CsvLoad *L, long rec) {
    size_t D = (size_t)L->ncols - 1;
    if (L->n < L->cap) return true;
    L->cap = L->cap ? 2 * L->cap : 256;
    if ((unsigned long long)L->cap * D > AE_IDX_MAX_BYTES * 2 || L->cap > (size_t)INT_MAX)
        return ae_fail(L->err, "%s: error: record %ld: too many records (limit %llu bytes)",
                       L->path, rec, AE_IDX_MAX_BYTES);
    uint8_t *pi = realloc(L->images, L->cap * D);
    if (pi) L->images = pi;
    uint8_t *pl = pi ? realloc(L->labels, L->cap) : NULL;
    if (pl) L->labels = pl;
    if (!pi || !pl)
        return ae_fail(L->err, "%s: error: record %ld: out of memory for %zu records", L->path,
                       rec, L->cap);
    return true;
}

/* Notes what the guesses look at: small integers in the first and last columns. */
static void note_small(bool *small, unsigned *seen, double v) {
    if (v >= 0 && v <= 9 && v == floor(v)) *seen |= 1u << (int)v;
    else *small = false;
}

static bool take_label(CsvLoad *L, long rec, int j, double v) {
    if (v < 0 || v > 255 || v != floor(v))
        return ae_fail(L->err, "%s: error: record %ld, column %d: label %g, expected an integer "
                       "0..255%s",
                       L->path, rec, j + 1, v,
                       L->label_col == CSV_LABEL_AUTO
                           ? " (label_column: auto takes the last column; set label_column: "
                             "first, or N, if the label is elsewhere)"
                           : "");
    L->labels[L->n] = (uint8_t)v;
    if ((int)v > L->maxlab) L->maxlab = (int)v;
    return true;
}

static bool take_pixel(CsvLoad *L, long rec, int j, double v, uint8_t *px) {
    bool unit = L->pixels == CSV_PIXELS_UNIT;
    if (v < 0 || v > (unit ? 1 : 255))
        return ae_fail(L->err,
                       "%s: error: record %ld, column %d: pixel value %g out of range, expected "
                       "%s",
                       L->path, rec, j + 1, v,
                       unit ? "0..1 (pixels: unit)" : "0..255");
    if (v > 1) L->pixels_le1 = false;
    if (v != floor(v) && L->frac_record == 0)
        L->frac_record = rec, L->frac_col = j + 1, L->frac_value = v;
    *px = (uint8_t)lround(unit ? v * 255 : v);
    return true;
}

static void csv_on_record(int c, void *data) {
    (void)c;
    CsvLoad *L = data;
    if (L->failed) return;
    long rec = L->record++;
    int nf = L->ncur;
    L->ncur = 0;
    if (L->header_row) {
        L->header_row = false;
        return;
    }
    if (!record_width(L, rec, nf) || !grow(L, rec)) {
        L->failed = true;
        return;
    }
    int lc = label_col_of(L, L->ncols);
    uint8_t *row = L->images + L->n * ((size_t)L->ncols - 1);
    note_small(&L->first_small, &L->first_seen, L->cur[0]);
    note_small(&L->last_small, &L->last_seen, L->cur[nf - 1]);
    for (int j = 0, k = 0; j < nf; j++) {
        bool ok = j == lc ? take_label(L, rec, j, L->cur[j])
                          : take_pixel(L, rec, j, L->cur[j], &row[k++]);
        if (!ok) {
            L->failed = true;
            return;
        }
    }
    L->n++;
}

/* The guesses, once every record is in: false (err filled) when the file looks label-first
 * under label_column: auto, or scaled to [0, 1] under pixels: auto. */
static bool check_guesses(const CsvLoad *L) {
    int last = L->ncols - 1;
    if (L->label_col == CSV_LABEL_AUTO && L->header_label >= 0 && L->header_label != last) {
        char key[32];
        if (L->header_label == 0) snprintf(key, sizeof key, "first");
        else snprintf(key, sizeof key, "%d", L->header_label);
        return ae_fail(L->err,
                       "%s: error: the header (record 1) names column %d the label, but "
                       "label_column: auto takes the last column (%d); set label_column: %s",
                       L->path, L->header_label + 1, last + 1, key);
    }
    int nfirst = __builtin_popcount(L->first_seen), nlast = __builtin_popcount(L->last_seen);
    bool first_like = L->first_small && nfirst >= 2, last_like = L->last_small && nlast >= 2;
    if (L->label_col == CSV_LABEL_AUTO && L->header_label != last && first_like && !last_like)
        return ae_fail(L->err,
                       "%s: error: column 1 holds integers 0..9 like labels (%d distinct values) "
                       "but the last column, which label_column: auto takes as the label, holds "
                       "%s (largest %d): a label-first file? set label_column: first (or "
                       "label_column: last to keep the last column)",
                       L->path, nfirst, nlast <= 1 && L->last_small ? "one value only"
                                                                    : "other values",
                       L->maxlab);
    if (L->pixels == CSV_PIXELS_AUTO && L->pixels_le1 && L->frac_record)
        return ae_fail(L->err,
                       "%s: error: every pixel value lies in [0, 1], with fractions (record %ld, "
                       "column %d: %g): pixels already scaled to [0, 1]? set pixels: unit (or "
                       "pixels: byte to read them as 0..255)",
                       L->path, L->frac_record, L->frac_col, L->frac_value);
    return true;
}

/* Feeds the file to libcsv; false with err filled. */
static bool parse_all(DataIn *f, struct csv_parser *p, CsvLoad *L, AeError *err) {
    const size_t chunk = 1 << 16;
    unsigned char *buf = ae_xmalloc(chunk);
    bool first = true, ok = true;
    for (;;) {
        unsigned long long got = 0;
        if (!datain_read(f, buf, chunk, &got, err)) {
            ok = false;
            break;
        }
        if (got == 0) break;
        /* a UTF-8 byte-order mark (some spreadsheets write one) is not part of the first field */
        size_t skip = first && got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        first = false;
        if (csv_parse(p, buf + skip, (size_t)got - skip, csv_on_field, csv_on_record, L) !=
            (size_t)got - skip) {
            ok = ae_fail(err, "%s: error: CSV parse error: %s", f->path,
                         csv_strerror(csv_error(p)));
            break;
        }
        if (L->failed || got < chunk) break;
    }
    free(buf);
    if (ok && !L->failed) csv_fini(p, csv_on_field, csv_on_record, L);
    return ok && !L->failed;
}

Dataset *dataset_load_csv(const char *path, int label_col, CsvPixels pixels, AeError *err) {
    DataIn f = {.fd = -1};
    struct csv_parser p;
    bool parser_ready = false;
    CsvLoad L = {.path = path, .err = err, .label_col = label_col, .pixels = pixels,
                 .record = 1, .header_label = -1, .first_small = true, .last_small = true,
                 .pixels_le1 = true};
    Dataset *d = NULL;
    AE_ASSERT(label_col >= CSV_LABEL_AUTO);

    if (!datain_open(&f, path, err)) goto fail;
    if (csv_init(&p, CSV_APPEND_NULL) != 0) {
        ae_fail(err, "%s: error: cannot start the CSV parser: out of memory", path);
        goto fail;
    }
    parser_ready = true;
    if (!parse_all(&f, &p, &L, err)) goto fail;
    if (L.n == 0) {
        ae_fail(err, "%s: error: no data records", path);
        goto fail;
    }
    if (!check_guesses(&L)) goto fail;

    d = ae_xcalloc(1, sizeof *d);
    d->n = (int)L.n;
    d->D = L.ncols - 1;
    int side = (int)lround(sqrt((double)d->D));
    if (side * side == d->D) {
        d->rows = d->cols = side;
    } else {
        d->rows = 1;
        d->cols = d->D;
    }
    d->C = L.maxlab + 1;
    d->images = L.images;
    d->labels = L.labels;
    L.images = L.labels = NULL;

fail:
    if (parser_ready) csv_free(&p);
    datain_close(&f);
    free(L.cur);
    free(L.images);
    free(L.labels);
    return d;
}
