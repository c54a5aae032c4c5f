/* tests/bad_inputs/csvcheck.c — `csvcheck FILE...`: every file must parse with the project's own
 * CSV reader (csvtable_read, runner/csvout.c), header and all rows of equal width. Used by
 * tests/test_bad_inputs.sh to check that a failed run left no torn CSV behind. Prints one line
 * per bad file and exits 1 when any is bad, 0 otherwise. With -n ROWS FILE it also requires
 * exactly ROWS data rows in FILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvout.h"

int main(int argc, char **argv) {
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        long want_rows = -1;
        if (strcmp(argv[i], "-n") == 0 && i + 2 < argc) {
            char *end;
            want_rows = strtol(argv[i + 1], &end, 10);
            if (*end || want_rows < 0) {
                fprintf(stderr, "csvcheck: bad row count '%s'\n", argv[i + 1]);
                return 2;
            }
            i += 2;
        }
        AeError err;
        CsvTable *t = csvtable_read(argv[i], &err);
        if (!t) {
            printf("%s\n", err.msg);
            bad = 1;
            continue;
        }
        if (want_rows >= 0 && csvtable_nrows(t) != want_rows) {
            printf("%s: %d data rows, expected %ld\n", argv[i], csvtable_nrows(t), want_rows);
            bad = 1;
        }
        csvtable_free(t);
    }
    return bad;
}
