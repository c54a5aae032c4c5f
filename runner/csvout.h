/* runner/csvout.h — CSV tables through libcsv: built in memory, written atomically, read back.
 *
 * One writer and one reader:
 *  - a CsvTable holds its header and rows in memory; csvtable_write_atomic writes the whole
 *    table to a temp file and renames it over the path (every CSV of a run: metrics.csv after
 *    each epoch, summary.csv, per_class.csv, confusion.csv, the stage cache's rows, the sweep
 *    tables), so a reader or a run killed later never sees a half-written file;
 *  - csvtable_read parses a file with libcsv's csv_parse into a CsvTable, keeping each row's
 *    line number for messages.
 *
 * Format written: fields separated by ',', rows ended by "\n" (no CR), the header first. A field
 * is quoted only when it needs it: it contains ',', '"', CR or LF, starts or ends with a space
 * or tab (libcsv trims those from unquoted fields), or starts with a UTF-8 byte-order mark; the
 * quoting itself is libcsv's csv_fwrite, which doubles embedded quotes. An empty cell means "not
 * applicable" and is written as nothing, except in a one-column table, where it is written "\"\""
 * (an empty line would be read back as blank and skipped). Numbers: the caller's printf format
 * for one double (NULL: "%.9g"); NaN and infinities are written "nan", "inf", "-inf" whatever
 * the C library prints, and strtod reads them back.
 *
 * Errors are "PATH: error: WHAT", "PATH:LINE: error: WHAT" or "PATH:LINE:COL: error: WHAT"
 * (1-based) in the AeError. Running out of host memory prints file:line and exits.
 */
#ifndef AE_CSVOUT_H
#define AE_CSVOUT_H

#include <stdbool.h>

#include "common.h"

typedef struct CsvTable CsvTable;

/* An empty table with the given header (ncols >= 1 names, copied; a NULL name is ""). Owned by
 * the caller; free with csvtable_free. */
CsvTable *csvtable_create(const char *const *header, int ncols);

void csvtable_free(CsvTable *t); /* NULL-safe */

/* The number of columns (the header's length) and of data rows (the header excluded). */
int csvtable_ncols(const CsvTable *t);
int csvtable_nrows(const CsvTable *t);

/* The name of column col (0-based); borrowed, valid until the table is freed. */
const char *csvtable_header(const CsvTable *t, int col);

/* The index of the column named `name` (exact match), or -1. */
int csvtable_col(const CsvTable *t, const char *name);

/* Appends a row of ncols cells copied from `cells` (cells == NULL: all empty; a NULL or ""
 * cell: empty). Returns the new row's index. */
int csvtable_add_row(CsvTable *t, const char *const *cells);

/* Replace one cell (row and col in range: AE_ASSERT). s == NULL or "" means empty; a number is
 * formatted as the top of this file says (fmt NULL: "%.9g"). */
void csvtable_set_str(CsvTable *t, int row, int col, const char *s);
void csvtable_set_num(CsvTable *t, int row, int col, double v, const char *fmt);
void csvtable_set_int(CsvTable *t, int row, int col, long long v);

/* The cell's text ("" when empty); borrowed, valid until the cell is replaced or the table is
 * freed. */
const char *csvtable_get(const CsvTable *t, int row, int col);

/* Parses the cell as a number (strtod, the whole cell; leading white space and trailing spaces
 * or tabs allowed; "nan" and "inf" accepted; out of range: +-HUGE_VAL or the underflowed value).
 * Returns false when the cell is empty or not a number; *out untouched then. */
bool csvtable_get_num(const CsvTable *t, int row, int col, double *out);

/* The 1-based line of the file where row `row` started, for tables from csvtable_read (the header
 * is line 1 in a file without blank lines); 0 for rows added in memory. */
int csvtable_line(const CsvTable *t, int row);

/* Writes the header and every row to `path` atomically (an AtomicFile of runner/fsutil.h: temp
 * file, fsync, rename). Returns false (err: "PATH: error: ...: REASON"; `path` untouched, no
 * temp file left) on failure. */
bool csvtable_write_atomic(const CsvTable *t, const char *path, AeError *err);

/* Reads a CSV file whose first record is the header (strict libcsv parsing). Blank lines (only
 * spaces, tabs, CR) are skipped; LF and CRLF endings and a leading UTF-8 byte-order mark are
 * accepted; a quoted field may span lines. Errors (NULL returned, err filled):
 *   "PATH: error: cannot open: REASON" (and the other messages of fs_read_file),
 *   "PATH: error: empty file, expected a header row",
 *   "PATH:LINE:COL: error: malformed CSV: unexpected 'C' ..." (a quote inside an unquoted field,
 *   text after a closing quote),
 *   "PATH:LINE: error: malformed CSV: quoted field not closed before the end of the file ...",
 *   "PATH:LINE: error: row has M fields, expected N (as in the header on line H)",
 *   "PATH:LINE: error: CSV parser: ..." (libcsv's other errors).
 * Owned by the caller; free with csvtable_free. */
CsvTable *csvtable_read(const char *path, AeError *err);

#endif
