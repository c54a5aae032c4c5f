/* runner/progress.c — live progress and epoch logs on stderr (progress.h). */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(Progress *p, bool quiet) {
    *p = (Progress){.tty = isatty(STDERR_FILENO), .quiet = quiet, .last_loss = NAN};
}

void progress_stage(Progress *p, int stage_index, int nstages, const char *label, int epochs,
                    int batch_size) {
    p->stage_index = stage_index;
    p->nstages = nstages;
    p->stage = label;
    p->epochs = epochs;
    p->batch_size = batch_size;
    p->stage_start = now();
    p->last_draw = 0;
    p->last_loss = NAN;
}

void progress_batch(Progress *p, int epoch, int batch, int nbatches) {
    if (p->quiet || !p->tty) return;
    double t = now();
    if (t - p->last_draw < 0.1 && batch != nbatches) return;
    p->last_draw = t;
    double elapsed = t - p->stage_start;
    double done = (epoch - 1) + (double)batch / nbatches;
    double total = p->epochs;
    double rate = elapsed > 0 ? done * nbatches * p->batch_size / elapsed : 0;
    double eta = done > 0 ? elapsed * (total - done) / done : 0;
    fprintf(stderr, "\r\033[K[%d/%d %s] epoch %d/%d batch %d/%d", p->stage_index + 1, p->nstages,
            p->stage, epoch, p->epochs, batch, nbatches);
    if (!isnan(p->last_loss)) fprintf(stderr, "  loss %.6g", p->last_loss);
    if (p->batch_size > 1) fprintf(stderr, "  %.0f ex/s", rate);
    fprintf(stderr, "  ETA %.0fs", eta);
    fflush(stderr);
}

void progress_epoch(Progress *p, const EpochStats *s) {
    p->last_loss = s->loss;
    if (p->quiet) return;
    if (p->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "[%d/%d %s] epoch %d/%d  loss %.6f", p->stage_index + 1, p->nstages, p->stage,
            s->epoch, s->epochs, s->loss);
    if (s->penalty != 0) fprintf(stderr, "  penalty %.6g", s->penalty);
    if (s->decay != 0) fprintf(stderr, "  decay %.6g", s->decay);
    if (!isnan(s->train_accuracy)) fprintf(stderr, "  train %.2f%%", s->train_accuracy);
    if (!isnan(s->test_accuracy)) fprintf(stderr, "  test %.2f%%", s->test_accuracy);
    fprintf(stderr, "  %.2fs\n", s->seconds);
}

void progress_note(Progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    if (p->tty) fprintf(stderr, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
