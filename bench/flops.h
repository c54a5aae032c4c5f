/* bench/flops.h — the bench's model of the GEMM FLOPs a training stage performs, as
 * engine/train.c runs it: per epoch (L-BFGS: per evaluation of the full batch) and once per
 * stage (a frozen prefix's outputs, computed before the first epoch and gathered from then on).
 * The workers (workload.c) check it against the FLOPs of the GEMM calls the timing backend saw,
 * and tests/test_bench_flops.c against the engine's own calls on small stages of every kind the
 * workloads use, so that the table's GFLOP/s and roofline columns cannot drift from the engine.
 */
#ifndef AELAB_BENCH_FLOPS_H
#define AELAB_BENCH_FLOPS_H

#include <stdbool.h>

#define FLOP_MAX_LAYERS 16

/* A stage's chain (train.c's Chain) and what decides its GEMMs. */
typedef struct FlopShape {
    struct { int I, O; } L[FLOP_MAX_LAYERS]; /* the chain's layers, bottom up */
    int nl;
    int first;          /* the lowest trained layer; layers below it are a frozen prefix */
    int code;           /* index of the code activation (A[code], the output of layer code-1) */
    bool prefix_once;   /* the frozen prefix's outputs are computed once per stage (first > 0 and
                           not recompute_prefix) */
    double rows;        /* training rows per epoch (L-BFGS: the full batch) */
    double test_rows;   /* a classifier's test rows, evaluated forward after every epoch */
    bool lbfgs;         /* full batch, per evaluation */
    int chunk;          /* L-BFGS rows per chunk */
    bool kl;            /* KL sparsity on the code */
    bool kl_codes_kept; /* KL in two passes: the first pass's codes kept for the second (train.h,
                           TRAIN_KL_CODES_MAX_BYTES, recompute_kl_codes) */
} FlopShape;

typedef struct FlopCount {
    double step;         /* per epoch (L-BFGS: per evaluation) */
    double once;         /* per stage, before the first epoch */
    double kl_pass;      /* L-BFGS with KL in two passes: the first pass's share of step */
} FlopCount;

/* The GEMM FLOPs (2*M*N*K per call) of a stage shaped s. */
FlopCount flop_model(const FlopShape *s);

#endif
