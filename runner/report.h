/* runner/report.h — what the report commands (compare, baseline) share: a run's metrics read
 * from whatever holds them, and text escaped for the formats other tools read (JUnit XML, JSON,
 * Markdown).
 */
#ifndef AE_REPORT_H
#define AE_REPORT_H

#include <stdbool.h>

#include "common.h"
#include "csvout.h"
#include "strbuf.h"

/* The metric table at path, as a CsvTable with at least the columns metric and value:
 *  - a run directory: its summary.csv;
 *  - a sweep directory (one with a sweep/ folder of point directories, runner/sweep.h): every
 *    point that has a summary.csv, in point order, each metric named "POINT_DIR/METRIC" so that
 *    two sweeps compare point by point (columns metric,value; rows in memory, line 0);
 *  - anything else: the CSV file itself (a summary.csv or a baseline, metric,value[,tolerance]).
 * Columns are not checked here. Returns NULL with err filled ("PATH: error: WHAT"). Owned by the
 * caller (csvtable_free). */
CsvTable *report_read_metrics(const char *path, AeError *err);

/* `aelab baseline RUN [--acc N] [--rel TOL] [--no-per-class] [--tol METRIC=TOL]... [-o FILE]`:
 * writes the baseline `aelab compare` reads (metric,value,tolerance; results/baselines/README.md)
 * from RUN (a run directory, a summary.csv or a sweep directory, as report_read_metrics reads
 * it), values copied as written. Tolerances, first found: --tol; for class_K_accuracy twice
 * --acc (or left out with --no-per-class); for other names ending in "accuracy" --acc (default
 * 1.0 points); for every other metric --rel (default 3%). To stdout, or atomically to -o FILE.
 * argv[0] is "baseline". Returns 0; 2 on a usage error, an unreadable RUN, a --tol naming no
 * metric of RUN, or a value that is not a finite number (a baseline cannot hold it). */
int report_baseline_main(int argc, char **argv);

/* True when path is a sweep directory as above. */
bool report_is_sweep(const char *path);

/* Appends s with &, <, >, " and ' replaced by entities, and control characters other than tab
 * and newline (which XML 1.0 cannot hold) by '?'. */
void report_xml(StrBuf *b, const char *s);

/* Appends s as a JSON string, quotes included (", \ and control characters escaped). */
void report_json(StrBuf *b, const char *s);

/* Whether s is a number by JSON's grammar (so that it may be written unquoted). */
bool report_json_number(const char *s);

/* Appends s as one Markdown table cell: '|' escaped, <, > and & as entities (GitHub renders
 * HTML in Markdown), newlines as spaces. */
void report_md(StrBuf *b, const char *s);

/* Writes b's text (none: an empty file) to path atomically, or appends it to path when append.
 * Returns false with err filled. */
bool report_write(const StrBuf *b, const char *path, bool append, AeError *err);

#endif
