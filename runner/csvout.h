/* runner/csvout.h — CSV output and input through libcsv, always written atomically.
 *
 * Two writers:
 *  - CsvOut streams rows to a temp file and renames it into place on csvout_commit (summary.csv,
 *    per_class.csv, confusion.csv: written once).
 *  - CsvTable keeps rows in memory; csvtable_write_atomic rewrites the whole file each time
 *    (metrics.csv after every epoch: the completed rows survive a run killed later, and a reader
 *    never sees a half-written row).
 * And one reader, csvtable_read, which parses with libcsv's csv_parse.
 *
 * Format written: fields separated by ',', rows ended by "\n" (no CR), the header first. A field
 * is quoted only when it needs it: it contains ',', '"', CR or LF, or starts or ends with a space
 * or tab (libcsv trims those from unquoted fields); quoting itself is libcsv's csv_fwrite, which
 * doubles embedded quotes. An empty cell means "not applicable". Numbers: the caller's printf
 * format for one double (NULL: "%.9g"); NaN and infinities are written "nan", "inf", "-inf"
 * whatever the C library prints, and strtod reads them back.
 *
 * Errors are "PATH: error: WHAT" or "PATH:LINE: error: WHAT" (1-based line) in the AeError.
 */
#ifndef AE_CSVOUT_H
#define AE_CSVOUT_H

#include <stdbool.h>

#include "common.h"

/* ---- streaming writer ---- */

typedef struct CsvOut CsvOut;

/* Opens a temp file next to `path` and writes the header row (ncols names, ncols >= 1). Nothing
 * appears at `path` before csvout_commit. Returns NULL (err filled) when the temp file cannot be
 * created. Owned by the caller until csvout_commit or csvout_abort, which free it. */
CsvOut *csvout_open(const char *path, const char *const *header, int ncols, AeError *err);

/* Append one cell to the current row. Writing more than ncols cells in a row is a programmer
 * error (AE_ASSERT). Write errors are sticky and reported by csvout_commit. */
void csvout_cell_str(CsvOut *c, const char *s); /* NULL: empty cell */
void csvout_cell_num(CsvOut *c, double v, const char *fmt); /* "%.9g", "%.3f"...; NULL: %.9g */
void csvout_cell_int(CsvOut *c, long long v);
void csvout_cell_empty(CsvOut *c);

/* Ends the current row. It must hold exactly ncols cells (AE_ASSERT). */
void csvout_end_row(CsvOut *c);

/* Flushes, fsyncs and renames the file into place; frees c. The current row must be empty (all
 * rows ended; AE_ASSERT). Returns false (err: path and reason, e.g. "No space left on device";
 * temp removed, `path` untouched) on failure. c == NULL returns false, leaving err as
 * csvout_open filled it. */
bool csvout_commit(CsvOut *c, AeError *err);

/* Drops the temp file (nothing appears at `path`) and frees c. NULL-safe. */
void csvout_abort(CsvOut *c);

/* ---- in-memory table ---- */

typedef struct CsvTable CsvTable;

/* An empty table with the given header (ncols >= 1 names, copied). Owned by the caller; free with
 * csvtable_free. */
CsvTable *csvtable_create(const char *const *header, int ncols);

void csvtable_free(CsvTable *t); /* NULL-safe */

/* The number of columns (the header's length) and of data rows (the header excluded). */
int csvtable_ncols(const CsvTable *t);
int csvtable_nrows(const CsvTable *t);

/* The name of column col (0-based); borrowed, valid until the table is freed. */
const char *csvtable_header(const CsvTable *t, int col);

/* The index of the column named `name` (exact match), or -1. */
int csvtable_col(const CsvTable *t, const char *name);

/* Appends a row of ncols cells copied from `cells` (cells == NULL: all empty; a NULL cell:
 * empty). Returns the new row's index. */
int csvtable_add_row(CsvTable *t, const char *const *cells);

/* Replace one cell (row and col in range: AE_ASSERT). s == NULL means empty. */
void csvtable_set_str(CsvTable *t, int row, int col, const char *s);
void csvtable_set_num(CsvTable *t, int row, int col, double v, const char *fmt);
void csvtable_set_int(CsvTable *t, int row, int col, long long v);

/* The cell's text ("" when empty); borrowed, valid until the cell is replaced or the table is
 * freed. */
const char *csvtable_get(const CsvTable *t, int row, int col);

/* Parses the cell as a number (strtod, the whole cell, surrounding spaces allowed). Returns false
 * when the cell is empty or not a number; *out untouched then. */
bool csvtable_get_num(const CsvTable *t, int row, int col, double *out);

/* The 1-based line of the file where row `row` started, for tables from csvtable_read (the header
 * is line 1 in a file without blank lines); 0 for rows added in memory. */
int csvtable_line(const CsvTable *t, int row);

/* Writes the header and every row to `path` atomically (temp + fsync + rename). Returns false
 * (err filled, `path` untouched) on failure. */
bool csvtable_write_atomic(const CsvTable *t, const char *path, AeError *err);

/* Reads a CSV file whose first record is the header. Blank lines are skipped; LF and CRLF endings
 * and a leading UTF-8 byte-order mark are accepted. Errors (NULL returned, err filled):
 *   "PATH: error: cannot open: REASON", "PATH: error: empty file, expected a header row",
 *   "PATH:LINE:COL: error: malformed CSV: ..." (a stray quote, an unterminated quoted field),
 *   "PATH:LINE: error: row has M fields, expected N (as in the header on line H)".
 * Owned by the caller; free with csvtable_free. */
CsvTable *csvtable_read(const char *path, AeError *err);

#endif
