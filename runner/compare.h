/* runner/compare.h — `aelab compare`: a run's final figures against a checked-in baseline.
 *
 *   aelab compare BASELINE CURRENT [--tol METRIC=TOL]... [--default-tol TOL]
 *                 [--format text|json|markdown|junit] [-o FILE] [--name NAME]
 *
 * BASELINE is a CSV with the columns metric,value and optionally tolerance (other columns, e.g.
 * a note on where a figure comes from, are ignored). CURRENT is a run directory (its summary.csv)
 * or a summary.csv (metric,value). Either side may be any of those or a sweep directory (read by
 * runner/report.h: its points' metrics named POINT_DIR/METRIC, so two sweeps compare point by
 * point). TOL is an absolute difference ("0.5") or a percentage of the
 * baseline value ("3%"). A metric's tolerance is, first found: --tol, the baseline's column,
 * --default-tol, the built-in default (0.5 for metrics whose name ends in "accuracy", which are in
 * percent points; 3% for every other metric, losses included). A difference equal to the
 * tolerance passes.
 *
 * stdout: an aligned table "metric baseline now delta tolerance verdict" in baseline order, then
 * the metrics only CURRENT has, then one summary line. Verdicts: ok; REGRESSION (outside the
 * tolerance in the bad direction, or in either direction for metrics without a known good
 * direction; also a current value that is not a number); IMPROVED (outside the tolerance in the
 * good direction: higher for names ending in "accuracy", lower for names ending in "loss", "mse"
 * or "error"; the baseline is out of date); missing (in BASELINE, not in CURRENT); new (only in
 * CURRENT).
 * --format json|markdown|junit puts that report on stdout instead of the table (contents in
 * runner/compare_internal.h); -o FILE writes the report to FILE and keeps the table on stdout;
 * with GITHUB_STEP_SUMMARY set, the Markdown report is appended to that file and the table is
 * followed by one "::error title=...::..." line per failing metric (GitHub Actions commands).
 * Exit status: 0 when every baseline metric is present and within tolerance ("new" does not
 * fail); 3 on any REGRESSION, IMPROVED or missing; 2 on a usage error or an unreadable or
 * malformed BASELINE or CURRENT (message on stderr with file:line). `--help` prints the usage to
 * stdout and returns 0.
 */
#ifndef AE_COMPARE_H
#define AE_COMPARE_H

/* Runs the command; argv[0] is "compare" (the subcommand name), argv[1..] its arguments.
 * Returns the exit status above. Writes only to stdout and stderr. */
int compare_main(int argc, char **argv);

#endif
