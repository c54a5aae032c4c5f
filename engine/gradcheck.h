/* engine/gradcheck.h — numerical gradient checks of every activation, loss and penalty, and of
 * multi-layer stacks, against an independent double-precision reference.
 *
 * Each case builds a tiny model on the given backend, computes the analytic gradient with the
 * engine (train_gradients, float32), and compares it with central differences of a plain-loop
 * double-precision forward pass (no backend ops): relative error per parameter tensor =
 * max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, 1e-8). Inputs are sampled away from
 * the kinks of relu and L1 (|z| < 1e-3 is re-drawn).
 */
#ifndef AE_GRADCHECK_H
#define AE_GRADCHECK_H

#include <stdio.h>

#include "backend.h"

typedef struct GradcheckReport {
    int ncases;          /* cases run */
    int ntensors;        /* parameter tensors compared (W and b of each trained layer) */
    int nfailed;         /* cases whose worst error exceeded the tolerance */
    double worst;        /* worst relative error over all tensors */
    char worst_case[96];
} GradcheckReport;

/* Runs every case on `be`, printing one line per case to out (NULL: silent).
 * tol: the largest relative error accepted (1e-3 suits float32 gradients). */
void gradcheck_run_all(const Backend *be, double tol, FILE *out, GradcheckReport *rep);

#endif
