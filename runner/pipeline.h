/* runner/pipeline.h — executes a validated config's stages in order and writes the run
 * directory (DESIGN.md "Outputs of one run"). */
#ifndef AE_PIPELINE_H
#define AE_PIPELINE_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"

typedef struct RunOptions {
    const char *out_dir;     /* NULL: results/<name> */
    const char *device;      /* NULL: the config's (auto | cpu | gpu) */
    int threads;             /* < 0: the config's; 0: all cores */
    bool quiet;
    bool plots;              /* render plots (PNG needs gnuplot) */
    const char *const *provenance_sets; /* the --set arguments, recorded in the resolved config */
    int nsets;
} RunOptions;

/* Set by the SIGINT handler: training stops after the current batch. */
extern volatile sig_atomic_t pipeline_interrupted;

/* Runs the pipeline. Returns the process exit code: 0 success, 1 run failed (I/O, data,
 * divergence), 2 usage or config error found late (e.g. no GPU), 130 interrupted. Diagnostics
 * go to stderr; the run directory keeps everything written before a failure. */
int pipeline_run(const Config *cfg, const RunOptions *opt);

#endif
