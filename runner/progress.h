/* runner/progress.h — what a run says while it trains, on stderr.
 *
 * On a terminal: one live line per training stage (stage, epoch, batch, loss, throughput, ETA),
 * redrawn in place and settled at each epoch's end. Otherwise (logs, CI): one plain line per
 * epoch. Quiet: nothing but errors.
 */
#ifndef AE_PROGRESS_H
#define AE_PROGRESS_H

#include <stdbool.h>

#include "train.h"

typedef struct Progress {
    bool tty, quiet;
    int stage_index, nstages;
    const char *stage;       /* label, borrowed */
    int batch_size;
    double stage_start, last_draw;
    double last_loss;        /* of the previous epoch; NAN before the first */
    int epochs;
} Progress;

/* Sets up for output on stderr; quiet suppresses everything. */
void progress_init(Progress *p, bool quiet);

/* Starts a training stage. */
void progress_stage(Progress *p, int stage_index, int nstages, const char *label, int epochs,
                    int batch_size);

/* After each batch: redraws the live line at most 10 times a second (terminal only). */
void progress_batch(Progress *p, int epoch, int batch, int nbatches);

/* After each epoch: prints the epoch's line. */
void progress_epoch(Progress *p, const EpochStats *s);

/* A plain message line (clears a live line first). */
void progress_note(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
