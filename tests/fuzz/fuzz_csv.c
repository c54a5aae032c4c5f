/* tests/fuzz/fuzz_csv.c — libFuzzer harness for the CSV reader csvtable_read (runner/csvout.c,
 * what `aelab compare` and the resume path read back) and its writer.
 *
 * Input: the bytes of a CSV file.
 * Checks: no crash, leak or undefined behaviour; a refusal has a one-line message starting with
 * the path and containing ": error: "; a table that loads has the header's width in every row
 * and a positive, non-decreasing line for each row; written with csvtable_write_atomic and read
 * again it gives back the same header and cells (the writer quotes what the reader would
 * otherwise change).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvout.h"
#include "fuzz_util.h"

static void check_refusal(const AeError *err, const char *path) {
    size_t pl = strlen(path);
    FUZZ_CHECK(strncmp(err->msg, path, pl) == 0 && strstr(err->msg + pl, ": error: ") != NULL,
               "refusal without a \"PATH...: error: \" message: \"%s\"", err->msg);
    FUZZ_CHECK(fuzz_known("multiline-message") ||
                   (strchr(err->msg, '\n') == NULL && strchr(err->msg, '\r') == NULL),
               "multi-line message: \"%s\"", err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(0, "in.csv"), *again = fuzz_path(1, "again.csv");
    fuzz_write(path, data, size);
    AeError err = {{0}};
    CsvTable *t = csvtable_read(path, &err);
    if (!t) {
        check_refusal(&err, path);
        return 0;
    }
    int nc = csvtable_ncols(t), nr = csvtable_nrows(t);
    FUZZ_CHECK(nc >= 1 && nr >= 0, "%d columns, %d rows", nc, nr);
    int prev = 1;
    for (int r = 0; r < nr; r++) {
        int line = csvtable_line(t, r);
        /* non-decreasing, not increasing: libcsv also ends a record at a bare CR, which does
         * not start a new line for the line count */
        FUZZ_CHECK(line >= prev, "row %d on line %d after line %d", r, line, prev);
        prev = line;
        for (int c = 0; c < nc; c++) FUZZ_CHECK(csvtable_get(t, r, c) != NULL, "cell %d,%d", r, c);
    }
    /* csv-blank-row: in a one-column table, an empty header or cell is written as a blank
     * line, which the reader skips (runner/csvout.c); a campaign that knows it skips them */
    if (nc == 1 && fuzz_known("csv-blank-row"))
        for (int r = -1; r < nr; r++)
            if (!*(r < 0 ? csvtable_header(t, 0) : csvtable_get(t, r, 0))) {
                csvtable_free(t);
                return 0;
            }
    /* csv-leading-bom: a first header cell that starts with the UTF-8 byte-order mark (read
     * from a file where it was not at byte 0) is written at byte 0, where the reader drops it */
    if (fuzz_known("csv-leading-bom") && strncmp(csvtable_header(t, 0), "\xEF\xBB\xBF", 3) == 0) {
        csvtable_free(t);
        return 0;
    }
    AeError werr;
    FUZZ_CHECK(csvtable_write_atomic(t, again, &werr), "write: %s", werr.msg);
    CsvTable *t2 = csvtable_read(again, &err);
    FUZZ_CHECK(t2 != NULL, "what the writer wrote does not read back: %s", err.msg);
    FUZZ_CHECK(csvtable_ncols(t2) == nc && csvtable_nrows(t2) == nr,
               "read back %d x %d, wrote %d x %d", csvtable_nrows(t2), csvtable_ncols(t2), nr, nc);
    for (int c = 0; c < nc; c++)
        FUZZ_CHECK(strcmp(csvtable_header(t, c), csvtable_header(t2, c)) == 0,
                   "header %d: wrote \"%s\", read back \"%s\"", c, csvtable_header(t, c),
                   csvtable_header(t2, c));
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++)
            FUZZ_CHECK(strcmp(csvtable_get(t, r, c), csvtable_get(t2, r, c)) == 0,
                       "cell %d,%d: wrote \"%s\", read back \"%s\"", r, c, csvtable_get(t, r, c),
                       csvtable_get(t2, r, c));
    unlink(again);
    csvtable_free(t2);
    csvtable_free(t);
    return 0;
}
