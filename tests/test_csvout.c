/* tests/test_csvout.c — CSV writing and reading (runner/csvout) and atomic files (runner/fsutil).
 *
 * Checks exact bytes written (quoting of commas, quotes, newlines, edge spaces and tabs, a leading
 * byte-order mark, the empty cell of a one-column table; number formats; NaN/inf spelling),
 * atomicity (a write replaces the whole file, no temp file is left after a failed write), round
 * trips through csvtable_read, and the reader's error messages
 * (file:line for ragged rows, file:line:col for a stray quote). A failed write is provoked with
 * RLIMIT_FSIZE (EFBIG), which needs no special file system.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "csvout.h"
#include "fsutil.h"
#include "testutil.h"


static char *path_in(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_dir(), name);
    return buf[k];
}

static char *slurp(const char *path) {
    AeError err;
    return fs_read_file(path, NULL, &err);
}

/* Number of entries in the directory whose name contains ".tmp." (leftover temp files). */
static int count_temps(const char *d) {
    DIR *dp = opendir(d);
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (strstr(de->d_name, ".tmp."))
            n++;
    closedir(dp);
    return n;
}

static void write_file(const char *path, const char *text) {
    AeError err;
    CHECK(fs_write_atomic(path, text, strlen(text), &err));
}

/* Sets the cells of a new row of t: per column a kind ('s' string, 'n' number, 'i' integer,
 * '-' left empty) with its value. */
typedef struct Cell {
    char kind;
    const char *s;
    double v;
    const char *fmt;
} Cell;

static void add_cells(CsvTable *t, const Cell *c, int ncols) {
    int r = csvtable_add_row(t, NULL);
    for (int j = 0; j < ncols; j++) {
        if (c[j].kind == 's') csvtable_set_str(t, r, j, c[j].s);
        else if (c[j].kind == 'n') csvtable_set_num(t, r, j, c[j].v, c[j].fmt);
        else if (c[j].kind == 'i') csvtable_set_int(t, r, j, (long long)c[j].v);
    }
}

static void test_csv_bytes(void) {
    AeError err;
    const char *hdr[] = {"name", "value", "note"};
    const char *p = path_in("out.csv");
    CsvTable *w = csvtable_create(hdr, 3);
#define S(x) {.kind = 's', .s = (x)}
#define N(x, f) {.kind = 'n', .v = (x), .fmt = (f)}
#define I(x) {.kind = 'i', .v = (x)}
    const Cell rows[][3] = {
        {S("plain"), N(0.1f, "%.9g") /* the float 0.1 */, S("a,b")},
        {S("say \"hi\""), N(3.14159, "%.3f"), S("two\nlines")},
        {S(" lead"), N(NAN, NULL), {.kind = '-'}},
        {S(""), N(-INFINITY, "%.9g"), I(-42)},
        {S(NULL), N(INFINITY, "%.9g"), N(1e-7, NULL)},
        {S("\xEF\xBB\xBF" "bom"), S("tab\t"), I(7)},
    };
#undef S
#undef N
#undef I
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) add_cells(w, rows[i], 3);
    CHECK(csvtable_write_atomic(w, p, &err));
    csvtable_free(w);
    CHECK(count_temps(tu_dir()) == 0);
    char *got = slurp(p);
    CHECK_STR(got, "name,value,note\n"
                   "plain,0.100000001,\"a,b\"\n"
                   "\"say \"\"hi\"\"\",3.142,\"two\nlines\"\n"
                   "\" lead\",nan,\n"
                   ",-inf,-42\n"
                   ",inf,1e-07\n"
                   "\"\xEF\xBB\xBF" "bom\",\"tab\t\",7\n");
    free(got);

    /* Read it back: every cell as written. */
    CsvTable *t = csvtable_read(p, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK(csvtable_ncols(t) == 3 && csvtable_nrows(t) == 6);
        CHECK_STR(csvtable_get(t, 0, 2), "a,b");
        CHECK_STR(csvtable_get(t, 1, 0), "say \"hi\"");
        CHECK_STR(csvtable_get(t, 1, 2), "two\nlines");
        CHECK_STR(csvtable_get(t, 2, 0), " lead");
        CHECK_STR(csvtable_get(t, 2, 2), "");
        CHECK_STR(csvtable_get(t, 5, 0), "\xEF\xBB\xBF" "bom");
        CHECK_STR(csvtable_get(t, 5, 1), "tab\t");
        CHECK(csvtable_line(t, 0) == 2);
        CHECK(csvtable_line(t, 1) == 3);
        CHECK(csvtable_line(t, 2) == 5); /* the record before spans lines 3-4 */
        double v = 0;
        CHECK(csvtable_get_num(t, 0, 1, &v) && v == 0.100000001);
        CHECK(csvtable_get_num(t, 2, 1, &v) && isnan(v));
        CHECK(csvtable_get_num(t, 3, 1, &v) && isinf(v) && v < 0);
        CHECK(!csvtable_get_num(t, 2, 2, &v)); /* empty */
        CHECK(!csvtable_get_num(t, 0, 0, &v)); /* "plain" */
        CHECK(csvtable_col(t, "note") == 2 && csvtable_col(t, "nope") == -1);
    }
    csvtable_free(t);
}

static void test_write_replace(void) {
    AeError err;
    const char *hdr[] = {"a"};
    const char *p = path_in("replace.csv");

    /* A write replaces an existing file as a whole. A one-column table writes an empty cell
     * as "" (an empty line would read back as blank), and reads it back as one empty row. */
    write_file(p, "old contents\nand more\n");
    CsvTable *w = csvtable_create(hdr, 1);
    csvtable_set_int(w, csvtable_add_row(w, NULL), 0, 7);
    csvtable_add_row(w, NULL);
    CHECK(csvtable_write_atomic(w, p, &err));
    char *got = slurp(p);
    CHECK_STR(got, "a\n7\n\"\"\n");
    free(got);
    CsvTable *t = csvtable_read(p, &err);
    CHECK(t && csvtable_nrows(t) == 2 && strcmp(csvtable_get(t, 1, 0), "") == 0);
    csvtable_free(t);
    CHECK(count_temps(tu_dir()) == 0);

    /* Writing into a missing directory fails with the path and the reason, leaving nothing. */
    const char *bad = path_in("no/such/dir/x.csv");
    CHECK(!csvtable_write_atomic(w, bad, &err));
    CHECK(strstr(err.msg, bad) != NULL);
    CHECK(strstr(err.msg, "No such file or directory") != NULL);
    CHECK(!fs_exists(bad));
    csvtable_free(w);
}

static void test_table_rewrite(void) {
    AeError err;
    const char *hdr[] = {"stage", "epoch", "loss", "test_accuracy"};
    const char *p = path_in("metrics.csv");
    CsvTable *t = csvtable_create(hdr, 4);
    int r = csvtable_add_row(t, NULL);
    csvtable_set_str(t, r, 0, "pretrain_layer");
    csvtable_set_int(t, r, 1, 1);
    csvtable_set_num(t, r, 2, 0.1892, "%.9g");
    CHECK(csvtable_write_atomic(t, p, &err));
    char *got = slurp(p);
    CHECK_STR(got, "stage,epoch,loss,test_accuracy\npretrain_layer,1,0.1892,\n");
    free(got);
    const char *cells[] = {"attach_classifier", "1", "0.5", "87.14"};
    csvtable_add_row(t, cells);
    const char *cells2[] = {"x", NULL, "", "1"};
    r = csvtable_add_row(t, cells2);
    csvtable_set_str(t, r, 3, NULL);
    CHECK(csvtable_write_atomic(t, p, &err));
    got = slurp(p);
    CHECK_STR(got, "stage,epoch,loss,test_accuracy\npretrain_layer,1,0.1892,\n"
                   "attach_classifier,1,0.5,87.14\nx,,,\n");
    free(got);
    CHECK(count_temps(tu_dir()) == 0);
    CHECK(csvtable_line(t, 0) == 0);
    CHECK_STR(csvtable_header(t, 3), "test_accuracy");
    csvtable_free(t);
    csvtable_free(NULL);
}

static void test_read_errors(void) {
    AeError err;
    const char *p = path_in("bad.csv");

    write_file(p, "a,b,c\n1,2,3\n4,5\n");
    CHECK(csvtable_read(p, &err) == NULL);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:3: error: row has 2 fields, expected 3 (as in the header on line 1)", p);
    CHECK_STR(err.msg, want);

    write_file(p, "a,b\n\n\n1,2,3\n");
    CHECK(csvtable_read(p, &err) == NULL);
    snprintf(want, sizeof want, "%s:4: error: row has 3 fields", p);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);

    write_file(p, "a,b\n1,x\"y\n");
    CHECK(csvtable_read(p, &err) == NULL);
    snprintf(want, sizeof want, "%s:2:4: error: malformed CSV: unexpected '\"'", p);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);

    write_file(p, "a,b\n\"q\"z,1\n");
    CHECK(csvtable_read(p, &err) == NULL);
    snprintf(want, sizeof want, "%s:2:4: error: malformed CSV: unexpected 'z'", p);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);

    write_file(p, "a,b\n1,2\n3,\"open\nstill open\n");
    CHECK(csvtable_read(p, &err) == NULL);
    snprintf(want, sizeof want,
             "%s:4: error: malformed CSV: quoted field not closed before the end of the file "
             "(record starts on line 3)",
             p);
    CHECK_STR(err.msg, want);

    write_file(p, "");
    CHECK(csvtable_read(p, &err) == NULL);
    snprintf(want, sizeof want, "%s: error: empty file, expected a header row", p);
    CHECK_STR(err.msg, want);

    const char *missing = path_in("missing.csv");
    CHECK(csvtable_read(missing, &err) == NULL);
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory", missing);
    CHECK_STR(err.msg, want);

    /* CRLF endings, blank lines, no final newline, spaces around unquoted fields, a UTF-8 BOM:
     * accepted. */
    write_file(p, "\xEF\xBB\xBFmetric,value\r\n\r\n test_accuracy , 91.5\r\nrecon_mse,0.01");
    CsvTable *t = csvtable_read(p, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK(csvtable_nrows(t) == 2);
        CHECK(csvtable_col(t, "metric") == 0);
        CHECK_STR(csvtable_get(t, 0, 0), "test_accuracy");
        CHECK_STR(csvtable_get(t, 1, 1), "0.01");
        CHECK(csvtable_line(t, 0) == 3 && csvtable_line(t, 1) == 4);
    }
    csvtable_free(t);
}

static void test_fsutil(void) {
    AeError err;
    char *p = path_in("a/b//c/d");
    CHECK(fs_mkdir_p(p, &err));
    CHECK(fs_is_dir(p));
    CHECK(fs_mkdir_p(p, &err)); /* idempotent */
    write_file(path_in("a/file"), "x");
    CHECK(!fs_mkdir_p(path_in("a/file/sub"), &err));
    CHECK(strstr(err.msg, "exists and is not a directory") != NULL);
    CHECK(strstr(err.msg, "a/file") != NULL);

    /* A write that fails half way (file size limit -> EFBIG) leaves neither the final file nor a
     * temp behind, and says which path and why. */
    const char *big = path_in("big.bin");
    size_t n = 1 << 20;
    char *data = calloc(n, 1);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    bool ok = fs_write_atomic(big, data, n, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(!ok);
    CHECK(strstr(err.msg, big) != NULL);
    CHECK(strstr(err.msg, "File too large") != NULL);
    CHECK(!fs_exists(big));
    CHECK(count_temps(tu_dir()) == 0);

    /* Same through an AtomicFile whose stream hit the error. */
    AtomicFile *af = af_open(big, &err);
    CHECK(af != NULL);
    setrlimit(RLIMIT_FSIZE, &lim);
    fwrite(data, 1, n, af_file(af));
    ok = af_commit(af, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(!ok);
    CHECK(strstr(err.msg, "File too large") != NULL || strstr(err.msg, "Input/output") != NULL);
    CHECK(!fs_exists(big));
    CHECK(count_temps(tu_dir()) == 0);
    free(data);

    size_t len = 0;
    write_file(path_in("r.txt"), "hello");
    char *s = fs_read_file(path_in("r.txt"), &len, &err);
    CHECK(s && len == 5 && strcmp(s, "hello") == 0);
    free(s);
    CHECK(fs_read_file(tu_dir(), &len, &err) == NULL); /* a directory */
    CHECK(strstr(err.msg, "a directory, not a regular file") != NULL);
}

int main(void) {
    tu_tmpdir("csvout");
    test_csv_bytes();
    test_write_replace();
    test_table_rewrite();
    test_read_errors();
    test_fsutil();
    return tu_tmpdir_done(tu_summary("test_csvout"));
}
