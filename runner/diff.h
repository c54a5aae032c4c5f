/* runner/diff.h — `aelab diff RUN_A RUN_B`: the differences between two run directories'
 * resolved configs (key paths, A -> B), provenance and summary metrics (with B - A).
 * Options: the usage text in runner/diff.c (`aelab diff --help`).
 */
#ifndef AE_DIFF_H
#define AE_DIFF_H

/* argv[0] is "diff". Prints the differences on stdout. Returns 0 when the runs do not differ
 * (the provenance that always differs, such as the date, left out unless --all), 1 when they
 * do, 2 on a usage error or a directory that is not a run ("PATH: error: ..." on stderr). */
int diff_main(int argc, char **argv);

#endif
