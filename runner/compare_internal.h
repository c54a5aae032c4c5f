/* runner/compare_internal.h — what runner/compare.c (the verdicts, the text table) hands to
 * runner/compare_report.c (the JUnit, JSON and Markdown reports and the GitHub Actions output),
 * and the tolerance syntax `aelab baseline` (runner/report_baseline.c) checks.
 */
#ifndef AE_COMPARE_INTERNAL_H
#define AE_COMPARE_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "strbuf.h"

typedef struct Tol {
    double v;
    bool relative; /* v is a percentage of |baseline| */
} Tol;

/* Parses a tolerance, "0.5" or "3%" (>= 0, finite; spaces before the '%' allowed). Returns
 * false, out untouched, when s is not one. */
bool compare_parse_tol(const char *s, Tol *out);

/* One line of the table; strings are formatted once so the widths can be measured. */
typedef struct Row {
    const char *metric; /* borrowed from a table */
    char base[32], now[48], delta[48], tol[32];
    const char *verdict;
    /* the same, for the structured formats: the numbers when there are, and why not */
    double b, cur, d;
    bool has_b, has_cur, has_d;
    const char *note; /* NULL, "not a number", "not in the run", "not in the baseline" */
} Row;

typedef struct Counts {
    int ok, reg, imp, miss, added;
} Counts;

typedef struct CompareReport {
    const Row *rows;
    int nrows, nb; /* all rows; those from the baseline (first) */
    Counts n;
    const char *name;             /* the test suite's name */
    const char *base, *current;   /* the two paths as given */
} CompareReport;

/* True for the verdicts that fail the comparison (REGRESSION, IMPROVED, missing). */
bool compare_row_fails(const Row *r);

/* Appends the report as a JUnit XML document: one testsuite, one testcase per metric (a failing
 * one carries a <failure>; a new one is <skipped>). */
void compare_junit(StrBuf *b, const CompareReport *r);

/* Appends the report as one JSON object (numbers null where there are none). */
void compare_json(StrBuf *b, const CompareReport *r);

/* Appends the report as a Markdown section: a heading, the table, the summary line. */
void compare_markdown(StrBuf *b, const CompareReport *r);

/* Prints one GitHub Actions `::error title=...::...` command per failing row to f. */
void compare_github_errors(FILE *f, const CompareReport *r);

#endif
