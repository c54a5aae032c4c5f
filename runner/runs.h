/* runner/runs.h — `aelab runs [DIR...]`: a table of the runs (and sweep points) found under
 * directories (default results/), in text, CSV, Markdown or JSON; sortable and filterable.
 * Columns and options: the usage text in runner/runs.c (`aelab runs --help`).
 */
#ifndef AE_RUNS_H
#define AE_RUNS_H

/* argv[0] is "runs". Prints the table on stdout. Returns 0; 1 when no run directory was found;
 * 2 on a usage error, a missing DIR, or a --sort/--filter key that no run has. */
int runs_main(int argc, char **argv);

#endif
