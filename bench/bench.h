/* bench/bench.h — what the parts of the bench program (`make bench`) share.
 *
 * One program, three roles (bench/run.sh compiles the bench/ sources with the Makefile's flags
 * against build/lib/libaelab.a and runs the `all` role):
 *   bench work WORKLOAD [--epochs N] [--threads T] [--cpu-clock]     workload.c
 *       runs one workload in this process through the timing backend (timing.c), then the
 *       probes (probe.c: the GEMM roofline replay, the STREAM triad), and prints the results as
 *       "key value..." lines on stdout (the protocol bench/peer_torch.py speaks too).
 *   bench load [--threads T]                                          workload.c
 *       loads MNIST (train + test, dataset_load_idx) and uploads it; prints the times.
 *   bench all [options]                                               bench.c
 *       the orchestrator: runs the workers and the PyTorch peer as child processes (proc.c),
 *       parses and merges what they print (side.c), and writes results.md and results.csv
 *       (report.c).
 *
 * Everything here is single-threaded host code; the workers' OpenMP threads live inside the
 * engine and the probes. Times are seconds, sizes bytes unless a name says MB or KB.
 */
#ifndef AELAB_BENCH_H
#define AELAB_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

/* ---- common (util.c) ---- */

#define MAX_SAMPLES 512

typedef enum {
    W_AE1 = 0, W_STACKED, W_CLASSIFIER, W_DENOISE, W_LBFGS, W_LBFGS60K, W_FROZEN, W_COUNT
} WorkloadId;

/* The full-batch L-BFGS workloads, timed per evaluation (lbfgs: 10k rows; lbfgs60k: 60k). */
bool workload_is_lbfgs(int w);

/* The workloads' command-line names ("ae1", ...) and the report's row titles. */
extern const char *const WORKLOAD_NAMES[W_COUNT];
extern const char *const WORKLOAD_TITLES[W_COUNT];

/* The backend ops the timing backend tells apart, in the order of the `op` lines. */
typedef enum {
    OP_GEMM_NN = 0, OP_GEMM_NT, OP_GEMM_TN, OP_BIAS_ACT, OP_ACT_BACKWARD, OP_COLSUM, OP_LOSS,
    OP_L1, OP_KL, OP_WEIGHT_DECAY, OP_GATHER, OP_GATHER_ROWS, OP_NOISE, OP_SGD, OP_ADAM,
    OP_FILL, OP_COPY,
    OP_UPLOAD, OP_DOWNLOAD, OP_ALLOC, OP_FREE, OP_DOT, OP_AXPY, OP_SCAL, OP_CONFUSION, OP_COUNT
} OpId;

/* The ops' names in the `op NAME ...` lines ("gemm_nn", "bias_act_forward", ...). */
extern const char *const OP_NAMES[OP_COUNT];

/* True for the three GEMM ops; everything else is "element-wise". */
bool op_is_gemm(int op);

/* Seconds on the bench's clock: CLOCK_MONOTONIC, or the process's CPU time after
 * clock_use_cpu_time(). */
double now_seconds(void);

/* From now on now_seconds() reads the process's CPU time (bench work --cpu-clock, for analysis
 * on a busy machine with --threads 1: other people's jobs do not inflate it). */
void clock_use_cpu_time(void);
bool clock_is_cpu_time(void);

/* Prints "bench: error: MESSAGE" to stderr and exits with status 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* strtod with its checks: false (out untouched) when s does not start with a number. */
bool parse_double(const char *s, double *out);

/* The WorkloadId named `name`, or -1. */
int workload_find(const char *name);

/* getrusage's ru_maxrss of this process, in KB. */
long peak_rss_kb(void);

/* Whether /proc/cpuinfo's first "flags" line lists `flag` (false when it cannot be read). */
bool cpu_flag(const char *flag);

/* The libopenblas shared object this process mapped (/proc/self/maps, the resolved path) into
 * buf; false with "none" or "several" there when there is not exactly one. */
bool blas_mapped_path(char *buf, size_t n);

/* Up to MAX_SAMPLES values; further ones are dropped. Zero-initialised means empty. */
typedef struct Samples {
    double v[MAX_SAMPLES];
    int n;
} Samples;

void samples_add(Samples *s, double v);
/* The median, minimum and maximum; NaN when s is empty. */
double samples_median(const Samples *s);
double samples_min(const Samples *s);
double samples_max(const Samples *s);

/* ---- the timing backend (timing.c) ---- */

/* One recorded GEMM call: its shape, scalars, and operand addresses (for the aliasing). */
typedef struct GemmCall {
    char kind; /* 'n' nn, 't' nt, 'T' tn */
    int M, N, K;
    float alpha, beta;
    const void *A, *B, *C;
} GemmCall;

/* What the timing backend added up since the last reset, per op. */
typedef struct OpStats {
    double sec[OP_COUNT];
    long calls[OP_COUNT];
    double bytes[OP_COUNT]; /* the byte model's minimum traffic (timing.c) */
    double gemm_flops;      /* 2*M*N*K summed */
} OpStats;

/* A backend that forwards every op to backend_cpu() and adds its time, calls and bytes to the
 * OpStats; GEMM calls are recorded while recording is on (timing_start). Borrowed, static:
 * there is one per process. */
const Backend *timing_backend(void);
extern bool timing_bf16; /* set before timing_backend(): the bf16 GEMMs of precision: bf16 */

/* Zeroes the OpStats, forgets the recorded calls and starts recording. */
void timing_start(void);

/* The warm-up is over: stops recording and zeroes the OpStats. */
void timing_warmup_done(void);

/* Stops recording GEMM calls (L-BFGS: at the end of the first evaluation). */
void timing_stop_recording(void);

/* Borrowed views of the state: valid until the next call that changes it. */
const OpStats *timing_stats(void);
const GemmCall *timing_gemm_calls(int *n);

/* ---- the probes (probe.c) ---- */

/* Replays calls[0..n) with cblas_sgemm alone, on buffers of the same sizes and aliasing as the
 * recorded ones: once untimed (warm), then `reps` times, adding the seconds of each timed
 * repetition to out. */
void roofline_replay(const GemmCall *calls, int n, int reps, Samples *out);

/* Peak FP32 FMA throughput, GFLOP/s: `threads` OpenMP threads each running 12 independent
 * chains of vector FMAs (AVX-512F when cpuid has it, else AVX2+FMA; *isa says which), the median
 * of 5 samples of ~60 ms. NaN without AVX2+FMA. */
double peak_fma_gflops(int threads, const char **isa);

/* GFLOP/s of an n x n x n cblas_sgemm (row-major, NN), warm, the median of 3. */
double sgemm_large_gflops(int n);

/* A STREAM triad over three arrays of `nbytes` each, in this process's OpenMP threads: GB/s
 * counting 12 bytes per element, the median of 5 samples of about 0.2 s. Dies when out of
 * memory. */
double stream_gbs(size_t nbytes);

/* ---- the workers (workload.c) ---- */

/* `bench work ARGS` and `bench load ARGS` (argv without the command); 0, or they die. */
int cmd_work(int argc, char **argv);
int cmd_load(int argc, char **argv);
/* `bench gpu ARGS` (bench/gpu.c): AE1 on the CUDA backend and its cuBLAS roofline; 0, or dies. */
int cmd_gpu(int argc, char **argv);

/* ---- child processes (proc.c) ---- */

typedef struct Proc {
    int rc;             /* exit status; -1 when it could not run; 128+N on signal N */
    double wall_s;
    long maxrss_kb;     /* of the child (wait4) */
    double others;      /* CPU cores busy with other processes meanwhile (mean) */
    char *out;          /* stdout, NUL-terminated, owned */
    char err_tail[512]; /* the last stderr line */
} Proc;

/* Runs argv (argv[0] looked up in PATH) with env additions `setenv_kv` ("K=V" strings, NULL
 * ended; "K=" unsets K), capturing stdout and stderr (stderr is also echoed to ours when
 * `echo_err`), and its wall time and peak RSS. Dies when it cannot fork or wait. The caller
 * frees the result with proc_clear. */
Proc proc_run(char *const argv[], const char *const *setenv_kv, bool echo_err);
void proc_clear(Proc *p);

/* ---- what the processes measured (side.c) ---- */

/* A process whose `others` stayed at or below this many cores counts as clean. */
#define CLEAN_OTHERS 0.10
#define MAX_PROCS 6

/* What one side (aelab or PyTorch) measured for one workload, over all rounds. */
typedef struct Side {
    bool ran;
    char error[600];
    Samples epoch_s, roofline_s, eval_s;
    double flops, flops_counted;
    double evals_per_iter_sum;
    int evals_rounds;
    long rss_kb;
    double op_sec[OP_COUNT];
    long op_calls[OP_COUNT];
    double op_bytes[OP_COUNT]; /* the byte model, summed like op_sec; NaN from a 3-field line */
    int op_rounds;
    Samples stream_l3, stream_dram; /* the triad's GB/s, 4 MiB and 64 MiB arrays, per process */
    Samples peak, sgemm_big; /* peak FP32 FMA and 2048^3 sgemm GFLOP/s, per process */
    char peak_isa[32];
    char corename[64];
    char info[256];
    /* The BLAS the process ran, read at run time by the process itself: the libopenblas .so it
     * mapped, openblas_get_parallel() (0 sequential, 1 pthreads, 2 OpenMP) and
     * openblas_get_num_threads(); PyTorch's also its ATen parallel backend and threads. */
    char blas_lib[300], blas_config[200], torch_parallel[100];
    int blas_parallel, blas_threads;
    /* Empty when the side's BLAS was checked to be what its row claims (bench.c, blas_check);
     * otherwise what differs, and the report prints no ratio against it. */
    char blas_mismatch[700];
    double features_s; /* frozen, PyTorch: the one-off feature computation */
    /* aelab: what the engine does once per stage, before the first epoch (frozen: the prefix's
     * outputs for all training rows): its time, GEMM FLOPs and the replay of its GEMMs */
    Samples once_s, roofline_once_s;
    double flops_once;
    double obj_first, obj_last;
    Samples others;     /* cores busy with other processes during each of its processes */
    int nprocs, nclean; /* merged sides: processes run, and clean ones (see runs_merge) */
} Side;

/* The processes of one side and workload, each parsed on its own. */
typedef struct Runs {
    Side p[MAX_PROCS];
    int n;
} Runs;

/* Parses the "key value" protocol of a worker's stdout `out` into s (values from several
 * rounds accumulate). Unknown keys are ignored. */
void side_parse(Side *s, const char *out);

/* The number of r's processes that ran and were clean. */
int runs_clean(const Runs *r);

/* Merges the processes of r into out (overwritten): only the clean ones when there is any
 * (other people's jobs only ever add time), all of them otherwise. Peak RSS is the largest of
 * all. */
void runs_merge(const Runs *r, Side *out);

/* ---- the orchestrator's options and results (bench.c), the report (report.c) ---- */

typedef struct Options {
    int threads;
    int rounds;
    int epochs;        /* timed epochs per process (after one warm-up) */
    int lbfgs_iters;   /* timed L-BFGS iterations per process */
    int roofline_reps; /* timed roofline replays per aelab process (after a warm one) */
    bool quick;        /* --quick: 1 round of 2 epochs, 3 replays, no extra rows nor run */
    bool cpu_clock;    /* --cpu-clock: every timing is the process's CPU time (use 1 thread) */
    bool workloads[W_COUNT];
    const char *self;  /* this program, for the workers */
    const char *aelab; /* bin/aelab ("" to skip its timings) */
    const char *python;/* an interpreter with torch and numpy ("" when none) */
    const char *python_why;
    const char *peer;  /* bench/peer_torch.py */
    const char *outdir;
    const char *scratch; /* for the lecture run's directory (git-ignored) */
    const char *commit;
    bool run_lecture;  /* time `aelab run` of lecture 17 */
    bool torch_default_core; /* also time PyTorch's AE1 with OpenBLAS's own core choice */
    bool variants;     /* also time AE1 on both sides with the AVX-512 (SkylakeX) kernels */
    /* The libopenblas .so this program (linked as aelab is) mapped, and its directory, which
     * the PyTorch peer gets first on LD_LIBRARY_PATH so that its libblas.so.3 is the same
     * build; the peers are checked against it (blas_check). */
    char blas_self[300], blas_dir[300];
    const char *kann;  /* bench/peers/kann.sh ("" to skip) */
    double budget_s;   /* the whole `bench all` should end within this */
} Options;

typedef struct Results {
    Runs aelab_runs[W_COUNT], torch_runs[W_COUNT];
    double pair_s[W_COUNT];             /* wall time of the slowest aelab + PyTorch pair */
    Side aelab[W_COUNT], torch[W_COUNT]; /* merged from the runs (see runs_merge) */
    Side torch_default; /* AE1 as a plain Debian python3 runs it: pthread OpenBLAS, own core */
    Side torch_pthread; /* AE1 on Debian's default pthread OpenBLAS with aelab's kernels */
    Side kann;          /* AE1 in kann (bench/peers/kann.sh), CBLAS on the same OpenBLAS */
    Side aelab_skx, torch_skx; /* AE1 with OPENBLAS_CORETYPE=SkylakeX */
    Side aelab_passive;        /* AE1 with OMP_WAIT_POLICY=passive */
    Runs aelab_bf16_runs;      /* AE1 with precision bf16, one process per round after the pair */
    Side aelab_bf16;           /* merged from them */
    Samples version_s, datasets_s, load_proc_s, load_s, upload_s;
    long load_rss_kb;
    char startup_error[600];
    /* aelab run experiments/lecture17_mnist_stacked.yaml */
    bool run_done;
    double run_wall_s;
    long run_rss_kb;
    double run_others;
    char run_note[1400];
    /* bench gpu: AE1 on the CUDA backend (gpu_note says why not, when it did not run) */
    bool gpu_ran;
    char gpu_note[600];
    double gpu_warm_s;
    Samples gpu_epoch_s, gpu_roof_s;
    double total_s;
    int rounds_done;
    char budget_note[300];
} Results;

/* Writes o->outdir/results.md (the tables) and o->outdir/results.csv (the raw figures), each
 * through a temporary file renamed into place. Dies on an I/O error. */
void report_write(const Options *o, const Results *R);

#endif
