/* runner/pipeline.h — executes a validated config's stages in order and writes the run
 * directory (README.md, "Outputs of a run"). */
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
    const char *cache_dir;   /* the shared stage cache; NULL: $AELAB_CACHE or results/.cache */
    bool no_cache;           /* neither read nor write the shared stage cache */
    bool resume;             /* reuse the completed stages in the run directory itself */
    struct RunStats *stats;  /* when not NULL, receives what the run did */
} RunOptions;

typedef struct RunStats {
    int ntrained;            /* training stages trained in this run */
    int nreused;             /* training stages reused (run directory or cache) */
} RunStats;

/* Stage reuse. After each training stage, the model (checkpoints/NN_LABEL.ckpt) and the stage's
 * metrics rows (checkpoints/NN_LABEL.csv) are kept in the run directory and, under the stage's
 * key (runner/stagekey.h), in the shared cache. Before training a stage, a result with the same
 * key is looked up (the run directory's when resuming, then the cache) and reused: the model is
 * loaded and its rows copied, and nothing is trained. Entries are written atomically, so
 * concurrent runs may share a cache; a partly written entry is never read. */

/* Set by the SIGINT handler: training stops after the current batch. */
extern volatile sig_atomic_t pipeline_interrupted;

/* Runs the pipeline. Returns the process exit code: 0 success, 1 run failed (I/O, data,
 * divergence), 2 usage or config error found late (e.g. no GPU), 130 interrupted. Diagnostics
 * go to stderr; the run directory keeps everything written before a failure. */
int pipeline_run(const Config *cfg, const RunOptions *opt);

#endif
