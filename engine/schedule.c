/* engine/schedule.c — learning-rate schedules and the early-stopping rule (schedule.h). */
#include "schedule.h"

#include <math.h>

float schedule_lr(const ScheduleSpec *s, float base, int epoch, int epochs) {
    int W = s->warmup > 0 ? s->warmup : 0;
    if (epoch <= W) return (float)((double)base * epoch / W);
    int k = epoch - 1 - W;
    double lr = base;
    switch (s->kind) {
    case SCHED_STEP:
        lr = base * pow(s->gamma, s->step_size > 0 ? k / s->step_size : 0);
        break;
    case SCHED_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < s->nmilestones; i++) passed += s->milestones[i] <= k;
        lr = base * pow(s->gamma, passed);
        break;
    }
    case SCHED_EXPONENTIAL: lr = base * pow(s->gamma, k); break;
    case SCHED_COSINE: {
        int T = epochs - W;
        double c = T > 0 ? cos(M_PI * (double)k / T) : 1.0;
        lr = s->min_lr + ((double)base - s->min_lr) * (1.0 + c) / 2.0;
        break;
    }
    default: break;
    }
    return (float)lr;
}

void early_stop_init(EarlyStopState *st) {
    st->best = NAN;
    st->best_epoch = 0;
    st->wait = 0;
}

bool early_stop_update(EarlyStopState *st, const EarlyStopSpec *s, int epoch, double v,
                       bool *improved) {
    bool higher = s->metric == ES_VAL_ACCURACY;
    *improved = false;
    if (!isnan(v)) {
        if (st->best_epoch == 0) *improved = true;
        else if (higher) *improved = v > st->best + s->min_delta;
        else *improved = v < st->best - s->min_delta;
    }
    if (*improved) {
        st->best = v;
        st->best_epoch = epoch;
        st->wait = 0;
        return false;
    }
    st->wait++;
    return st->wait >= s->patience;
}
