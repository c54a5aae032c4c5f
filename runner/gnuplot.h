/* runner/gnuplot.h — gnuplot for the pictures (runner/plots.h): finding it, quoting outside text
 * for its scripts, and running one script to a checked PNG.
 *
 * Quoting: every string from outside (titles, CSV cells, file names) enters a generated script
 * as a gnuplot single-quoted string, where gnuplot substitutes no `command`, no @macro and no
 * backslash escape; the quote itself is doubled and control characters become spaces, so the
 * string cannot end early or spill onto another line. File names are quoted as './NAME', which
 * gnuplot never reads as "<command" (input from a pipe), "|command" (output to one) or "-".
 */
#ifndef AE_GNUPLOT_H
#define AE_GNUPLOT_H

#include <stdbool.h>

#include "common.h"
#include "strbuf.h"

/* Appends s to b as a gnuplot single-quoted string (see above). */
void gnuplot_quote(StrBuf *b, const char *s);

/* Appends './NAME' to b as a gnuplot single-quoted string: a file in the script's directory. */
void gnuplot_quote_file(StrBuf *b, const char *name);

/* Appends s to b for a comment line: control characters and backquotes become '?'. */
void gnuplot_comment(StrBuf *b, const char *s);

/* The gnuplot to run, as an absolute path in a static buffer, or NULL when there is none:
 * $AELAB_GNUPLOT (a path or a name; set but empty: none), else `gnuplot` on PATH. */
const char *gnuplot_find(void);

/* Runs `GNUPLOT -e "out_png='./TMP'" ./SCRIPT` in dir (stdin and stdout on /dev/null, stderr
 * captured), then checks that TMP is a whole PNG (its signature first, its IEND chunk last: a
 * write cut short by a full disk leaves a file without it while gnuplot still exits 0) and
 * renames it to SCRIPT's .png. script is a file name inside dir ending in ".gp"; gnuplot_find()
 * must not be NULL (AE_ASSERT). On failure nothing is left at TMP and the old PNG stays; false
 * with err: "DIR/SCRIPT: error: gnuplot exited with status N: FIRST LINES OF ITS STDERR", "...
 * killed by signal N", "DIR/X.png: error: gnuplot succeeded but wrote no picture", "... wrote an
 * incomplete PNG (N bytes; ...)", or a rename failure. On success its warnings go to stderr as
 * "DIR/SCRIPT: warning: gnuplot: ...". */
bool gnuplot_render(const char *dir, const char *script, AeError *err);

#endif
