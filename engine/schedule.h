/* engine/schedule.h — learning-rate schedules and early stopping: pure functions of the epoch.
 *
 * A schedule gives the rate of each epoch (1-based) from the optimizer's base rate. It is
 * applied per epoch: every batch of epoch e steps with schedule_lr(spec, base, e, epochs).
 * Epochs are counted PyTorch's way after an optional linear warmup of W epochs:
 *   warmup (e <= W):  base * e / W
 *   then k = e - 1 - W (0 for the first epoch after the warmup), T = epochs - W:
 *   step:        base * gamma^floor(k / step_size)                 (StepLR)
 *   multistep:   base * gamma^(number of milestones m with m <= k)  (MultiStepLR)
 *   exponential: base * gamma^k                                     (ExponentialLR)
 *   cosine:      min_lr + (base - min_lr) * (1 + cos(pi k / T)) / 2 (CosineAnnealingLR, T_max = T)
 * The rate is a host scalar handed to the backend's optimizer steps, so both backends follow
 * the same schedule.
 *
 * Early stopping watches one metric per epoch: an epoch improves when its value beats the best
 * so far by more than min_delta (lower for losses, higher for accuracy); after `patience`
 * epochs in a row without improvement the stage stops.
 */
#ifndef AE_SCHEDULE_H
#define AE_SCHEDULE_H

#include <stdbool.h>

#define SCHEDULE_MAX_MILESTONES 16

typedef enum {
    SCHED_NONE = 0, SCHED_STEP, SCHED_MULTISTEP, SCHED_EXPONENTIAL, SCHED_COSINE, SCHED_COUNT
} ScheduleKind;

typedef struct ScheduleSpec {
    ScheduleKind kind;
    int step_size;                          /* step: epochs between decays */
    float gamma;                            /* step, multistep, exponential: the factor */
    int milestones[SCHEDULE_MAX_MILESTONES]; /* multistep: epoch counts after the warmup */
    int nmilestones;
    float min_lr;                           /* cosine: the floor */
    int warmup;                             /* epochs of linear warmup; 0 = none */
} ScheduleSpec;

/* The rate of epoch `epoch` (1-based) of `epochs` for base rate `base` (see above); base
 * itself for SCHED_NONE without warmup. */
float schedule_lr(const ScheduleSpec *s, float base, int epoch, int epochs);

typedef enum {
    ES_NONE = 0, ES_VAL_LOSS, ES_VAL_ACCURACY, ES_TRAIN_LOSS, ES_COUNT
} EarlyStopMetric;

typedef struct EarlyStopSpec {
    EarlyStopMetric metric; /* ES_NONE: off */
    int patience;           /* epochs without improvement before stopping, >= 1 */
    double min_delta;       /* improvement smaller than this does not count, >= 0 */
    bool restore_best;      /* at the end, put back the parameters of the best epoch */
} EarlyStopSpec;

typedef struct EarlyStopState {
    double best;            /* best value so far (NAN before the first epoch) */
    int best_epoch;         /* 0 before the first epoch */
    int wait;               /* epochs since the last improvement */
} EarlyStopState;

void early_stop_init(EarlyStopState *st);

/* Feeds epoch `epoch`'s value v of the metric. Sets *improved when it is the new best;
 * returns true when the stage must stop after this epoch. A NaN value never improves. */
bool early_stop_update(EarlyStopState *st, const EarlyStopSpec *s, int epoch, double v,
                       bool *improved);

#endif
