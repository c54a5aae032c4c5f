/* runner/diag.h — compiler-style diagnostics for user input (configs, --set arguments).
 *
 * Messages are collected in a Diag, then printed by diag_flush in source order (messages about
 * --set arguments first, in the order given, then file messages sorted by line and column; a
 * note stays with the error or warning it belongs to). The format is a compiler's, one line per
 * message:
 *
 *     FILE:LINE:COL: error: pipeline[1].pretrain_layer.optimizer.lr: expected a number > 0, got "0.98x"
 *     FILE:LINE:COL: note: ...
 *     --set pipeline.9.epochs=3: error: ...         (the origin replaces FILE:LINE:COL)
 *
 * Lines and columns are 1-based; line 0 prints FILE alone. At most DIAG_MAX_PRINTED errors are
 * printed, then one "too many errors" line; every error is still counted.
 */
#ifndef AE_DIAG_H
#define AE_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define DIAG_MAX_PRINTED 50

typedef enum { DIAG_ERROR = 0, DIAG_WARNING, DIAG_NOTE } DiagLevel;

typedef struct DiagMsg DiagMsg; /* private to diag.c */

typedef struct Diag {
    FILE *out;          /* borrowed; where diag_flush prints (NULL: nowhere) */
    const char *file;   /* borrowed; the name printed before LINE:COL */
    int nerrors;        /* errors reported so far (printed or not) */
    int nwarnings;
    DiagMsg *msgs;      /* owned; pending messages */
    int nmsgs, cap;
    int seq;            /* emission counter, keeps the sort stable */
    bool last_kept;     /* whether the last error/warning was buffered (notes follow it) */
} Diag;

/* Starts an empty sink. `file` and `out` are borrowed and must outlive the Diag. */
void diag_init(Diag *d, FILE *out, const char *file);

/* Records one message. origin: NULL for a position in d->file (line/col 1-based, line 0 =
 * the whole file), else a string printed instead of FILE:LINE:COL (e.g. "--set a.b=1"); it is
 * copied. A note attaches to the latest error or warning. */
void diag_emit(Diag *d, DiagLevel level, const char *origin, int line, int col, const char *fmt,
               ...) __attribute__((format(printf, 6, 7)));
void diag_vemit(Diag *d, DiagLevel level, const char *origin, int line, int col, const char *fmt,
                va_list ap);

/* Prints the pending messages (see the top of this file) to d->out and forgets them; the
 * counters stay. */
void diag_flush(Diag *d);

/* Releases the buffer without printing. NULL-safe. */
void diag_free(Diag *d);

/* Optimal-string-alignment edit distance (insertions, deletions, substitutions and adjacent
 * transpositions each cost 1); strings longer than 63 bytes compare as far apart. */
int diag_edit_distance(const char *a, const char *b);

/* The candidate nearest to `word` when it is close enough to be a plausible typo
 * (distance <= 1 + strlen(candidate)/4 and < strlen(word)), else NULL. Ties go to the first.
 * Returns a borrowed pointer into cands. */
const char *diag_nearest(const char *word, const char *const *cands, int ncands);

#endif
