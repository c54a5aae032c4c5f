/* bench/workload.c — the workers. `bench work WORKLOAD` trains one workload in this process
 * (one warm-up epoch, then N timed ones) through the timing backend (timing.c), then runs the
 * probes (probe.c), and prints what it measured; `bench load` times loading MNIST.
 *
 * Workloads (the lectures' experiments, docs/lectures.md): ae1 (L17 AE1: 784-400-784
 * tanh/sigmoid, MSE, SGD 0.98), stacked (L17 784-400-256-400-784 end to end), classifier (L17
 * 784-400-256-10 log-softmax NLL, SGD 0.1, fine-tuning, plus the test evaluation of 10k),
 * denoise (L20: Adam 1e-3, gaussian noise 0.1/0.2 clamped to [0,1], L1 0.1 with the lecture's
 * semantics), lbfgs (UFLDL 784-196-784 sigmoid, half_sse, KL rho 0.1 beta 3, weight decay 3e-3,
 * full batch of 10k, L-BFGS). Batch 1000 and the 60k training images unless said otherwise.
 *
 * FLOPs are GEMM FLOPs only (2*M*N*K per call), from the shapes by the model in flops.c (which
 * follows engine/train.c: a frozen prefix's outputs once per stage, L-BFGS with KL in two passes
 * over chunks) and checked against the GEMM calls the timing backend saw: the worker dies when
 * they differ (tests/test_bench_flops.c checks the model against the engine in make test).
 * What the engine computes once per stage (a frozen prefix's outputs) is measured, counted and
 * replayed apart from the epochs (once_s, flops_once, roofline_once_s).
 *
 * The output ("key value..." lines on stdout, the protocol bench/peer_torch.py speaks too; it
 * prints no `op` lines): per op "op NAME SECONDS CALLS BYTES" per timed epoch (BYTES: the byte
 * model; the orchestrator also takes the older 3-field line), the epoch, roofline and
 * evaluation times, and "stream_gbs_l3 X", "stream_gbs_dram Y".
 */
#include <cblas.h>
/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the layer shape I
 * (model.h); the bench uses no complex numbers. */
#undef I
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "data.h"
#include "flops.h"
#include "datasets.h"
#include "model.h"
#include "train.h"

/* ---- MNIST, as the runner finds and loads it ---- */

typedef struct MnistPaths {
    char train_images[1024], train_labels[1024], test_images[1024], test_labels[1024];
} MnistPaths;

static void mnist_resolve(MnistPaths *p) {
    char why[4096];
    if (!datasets_resolve("mnist", p->train_images, p->train_labels, p->test_images,
                          p->test_labels, sizeof p->train_images, why, sizeof why))
        die("MNIST not found: %s", why);
}

static Dataset *mnist_load(const char *images, const char *labels) {
    AeError err;
    Dataset *d = dataset_load_idx(images, labels, 10, &err);
    if (!d) die("%s", err.msg);
    return d;
}

static DeviceData *upload(const Backend *be, const Dataset *d) {
    AeError err;
    DeviceData *dd = device_data_create(be, d, &err);
    if (!dd) die("%s", err.msg);
    return dd;
}

/* ---- the workloads ---- */

/* A workload, built: its training task and the shapes the FLOP model needs (fs: the chain's
 * layers in the order setup_layer adds them, which is train.c's chain order for every
 * workload here: the encoder, then the decoder's layers or the head). */
typedef struct Setup {
    TrainTask t;
    FlopShape fs;
    bool eval_test;     /* evaluate on the test set each epoch */
    bool lbfgs;         /* time the evaluations */
    Model *m;
    const Backend *be;
    RngStream rng;
} Setup;

/* Appends a layer of I inputs and O outputs to one of the model's stacks. */
static void setup_layer(Setup *s, Layer **stack, int *n, int I, int O, Act act, InitKind init) {
    AeError err;
    Layer *l = layer_create(s->be, I, O, act, &err);
    if (!l) die("%s", err.msg);
    layer_init(s->be, l, init, &s->rng);
    stack[(*n)++] = l;
    s->fs.L[s->fs.nl].I = I;
    s->fs.L[s->fs.nl].O = O;
    s->fs.nl++;
}

/* ae1 and denoise: 784-400-784; denoise trains with Adam, noise and an L1 penalty. */
static void build_ae1(Setup *s, bool denoise) {
    Model *m = s->m;
    setup_layer(s, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->dec, &m->ndec, 400, 784, ACT_SIGMOID, INIT_PYTORCH);
    if (!denoise) return;
    s->t.opt = (OptimSpec){.kind = OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                           .eps = 1e-8f};
    s->t.noise = (NoiseSpec){.kind = NOISE_GAUSSIAN, .mean = 0.1f, .std = 0.2f, .clamp = true,
                             .lo = 0.0f, .hi = 1.0f};
    s->t.sparsity = (SparsitySpec){.kind = PEN_L1, .weight = 0.1f};
}

static void build_stacked(Setup *s) {
    Model *m = s->m;
    setup_layer(s, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->enc, &m->nenc, 400, 256, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->dec, &m->ndec, 256, 400, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->dec, &m->ndec, 400, 784, ACT_SIGMOID, INIT_PYTORCH);
    s->t.depth = 2;
}

static void build_classifier(Setup *s, double test_rows) {
    Model *m = s->m;
    setup_layer(s, m->enc, &m->nenc, 784, 400, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->enc, &m->nenc, 400, 256, ACT_TANH, INIT_PYTORCH);
    setup_layer(s, m->head, &m->nhead, 256, 10, ACT_LOGSOFTMAX, INIT_PYTORCH);
    s->t.kind = TASK_CLASSIFIER;
    s->t.loss = LOSS_NLL;
    s->t.opt.lr = 0.1f;
    s->eval_test = true;
    s->fs.test_rows = test_rows;
}

/* lbfgs: UFLDL's 784-196-784 on the first 10k images; lbfgs60k: 784-200-784 on all of them
 * (train_rows), one full batch either way. */
static void build_lbfgs(Setup *s, int hidden, int subset, double train_rows) {
    Model *m = s->m;
    setup_layer(s, m->enc, &m->nenc, 784, hidden, ACT_SIGMOID, INIT_UFLDL);
    setup_layer(s, m->dec, &m->ndec, hidden, 784, ACT_SIGMOID, INIT_UFLDL);
    s->t.loss = LOSS_HALF_SSE;
    s->t.opt = (OptimSpec){.kind = OPT_LBFGS, .lr = 1.0f, .history = 100, .max_eval = 1000000,
                           .tol_grad = 1e-7, .tol_change = 1e-9};
    s->t.subset = subset;
    s->t.sparsity = (SparsitySpec){.kind = PEN_KL, .rho = 0.1f, .beta = 3.0f};
    s->t.weight_decay = 3e-3f;
    s->fs.rows = subset ? subset : train_rows;
    s->lbfgs = true;
}

/* frozen: a softmax head trained on a frozen 784-400-256 encoder (freeze_encoder: the engine
 * computes the encoder's outputs for the 60k images once per stage and gathers the batches from
 * them; no test evaluation). */
static void build_frozen(Setup *s) {
    build_classifier(s, 0.0);
    s->t.freeze_encoder = true;
    s->eval_test = false;
    s->fs.test_rows = 0.0;
}

/* The rest of the FLOP model's shape, from the built task as train.c reads it. */
static void setup_flop_shape(Setup *s) {
    FlopShape *fs = &s->fs;
    const TrainTask *t = &s->t;
    const Model *m = s->m;
    fs->code = m->nenc;
    fs->first = t->kind == TASK_AUTOENCODER ? m->nenc - t->depth
                                            : (t->freeze_encoder ? m->nenc : 0);
    fs->prefix_once = fs->first > 0 && !t->recompute_prefix;
    fs->lbfgs = t->opt.kind == OPT_LBFGS;
    fs->chunk = t->lbfgs_chunk > 0 ? t->lbfgs_chunk : TRAIN_LBFGS_CHUNK;
    fs->kl = t->sparsity.kind == PEN_KL;
    fs->kl_codes_kept = !t->recompute_kl_codes && fs->code > 0 &&
                        fs->rows * fs->L[fs->code - 1].O * sizeof(float) <=
                            (double)TRAIN_KL_CODES_MAX_BYTES;
}

/* Builds workload w on a new model of backend be (s->m, owned by the caller) for `epochs` timed
 * epochs after a warm-up: the model's layers in their initial state, the task, the shapes. */
static void workload_build(Setup *s, WorkloadId w, const Backend *be, double train_rows,
                           double test_rows, int epochs) {
    AeError err;
    *s = (Setup){.be = be, .m = model_create(be, 784, &err)};
    s->fs.rows = train_rows;
    if (!s->m) die("%s", err.msg);
    s->rng = rng_stream(train_stage_seed(1, 1), RNG_STREAM_INIT);
    s->t = (TrainTask){.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE,
                       .batch_size = 1000, .shuffle = true, .seed = 1, .stage_index = 1};
    s->t.opt.kind = OPT_SGD;
    s->t.opt.lr = 0.98f;
    switch (w) {
    case W_AE1: build_ae1(s, false); break;
    case W_DENOISE: build_ae1(s, true); break;
    case W_STACKED: build_stacked(s); break;
    case W_CLASSIFIER: build_classifier(s, test_rows); break;
    case W_LBFGS: build_lbfgs(s, 196, 10000, train_rows); break;
    case W_LBFGS60K: build_lbfgs(s, 200, 0, train_rows); break;
    case W_FROZEN: build_frozen(s); break;
    default: die("unknown workload");
    }
    if (!model_check(s->m, &err)) die("%s", err.msg);
    s->t.epochs = 1 + epochs;
    setup_flop_shape(s);
}

/* ---- one worker run ---- */

typedef struct Worker {
    WorkloadId w;
    int epochs;             /* timed (after one warm-up) */
    Samples epoch_s;        /* per timed epoch (lbfgs: per iteration) */
    double warm_s;
    int evals_after_warm;   /* lbfgs: evaluations at the end of the warm-up iteration */
    int evals_end;
    double loss_first, loss_last;
    double t_last; /* --cpu-clock: the bench's clock at the end of the last epoch */
    double t_start;         /* the bench's clock as train_stage was called */
    double once_s;          /* before the first epoch (evaluation): the once-per-stage part */
    int once_calls;         /* GEMM calls recorded before the first epoch (evaluation) */
    /* lbfgs: every evaluation, timed from its start to its end (both passes over the chunks
     * when KL takes two), on the bench's clock; those of the warm-up iteration come first */
    Samples eval_s;
    double eval_t0;
    int evals_warm;         /* evaluations timed by the end of the warm-up iteration */
} Worker;

static bool worker_on_epoch(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    Worker *k = ctx;
    /* the engine times its epochs on the wall clock; with --cpu-clock the worker times them on
     * the process's CPU time instead, from one epoch's end to the next */
    double t = now_seconds(), sec = clock_is_cpu_time() ? t - k->t_last : s->seconds;
    k->t_last = t;
    if (s->epoch == 1) {
        k->warm_s = sec;
        k->loss_first = s->objective;
        k->evals_after_warm = s->evaluations;
        k->evals_warm = k->eval_s.n;
        /* SGD/Adam: what came before the first epoch (the engine's epoch clock starts after
         * it) is the once-per-stage part; on the wall clock only */
        if (!workload_is_lbfgs(k->w)) k->once_s = clock_is_cpu_time() ? NAN : t - k->t_start - sec;
        timing_warmup_done();
    } else {
        samples_add(&k->epoch_s, sec);
    }
    k->loss_last = s->objective;
    k->evals_end = s->evaluations;
    return true;
}

/* lbfgs: the engine's bracket around each evaluation (TrainHooks.on_evaluation). The GEMM
 * calls recorded before the first one are the once-per-stage part; recording stops at its end,
 * so the roofline replays exactly one evaluation. */
static void worker_on_evaluation(void *ctx, bool done) {
    Worker *k = ctx;
    double t = now_seconds();
    if (!done) {
        if (k->eval_s.n == 0) {
            timing_gemm_calls(&k->once_calls);
            k->once_s = t - k->t_start;
        }
        k->eval_t0 = t;
        return;
    }
    if (k->eval_s.n == 0) timing_stop_recording();
    samples_add(&k->eval_s, t - k->eval_t0);
}

/* Trains the built workload: the warm-up epoch records the GEMM calls, the timed epochs fill
 * k->epoch_s and the timing backend's OpStats. Dies when the stage fails or times nothing. */
static void worker_train(Worker *k, const Setup *s, const DeviceData *train,
                         const DeviceData *test) {
    TrainHooks hooks = {.ctx = k, .on_epoch = worker_on_epoch};
    if (s->lbfgs) hooks.on_evaluation = worker_on_evaluation;
    timing_start();
    k->t_last = k->t_start = now_seconds();
    AeError err;
    TrainStatus st = train_stage(s->m, &s->t, train, s->eval_test ? test : NULL, &hooks, &err);
    if (st != TRAIN_OK) die("train_stage: %s", err.msg);
    if (k->epoch_s.n == 0) die("no timed epochs (the stage stopped after its warm-up)");
}

/* The FLOPs of recorded calls [from, to). */
static double calls_flops(const GemmCall *rec, int from, int to) {
    double f = 0.0;
    for (int i = from; i < to; i++) f += 2.0 * rec[i].M * rec[i].N * rec[i].K;
    return f;
}

/* What the GEMMs did, split as the model splits it: the recorded calls of one epoch (lbfgs: one
 * evaluation) and those once per stage before it, and the FLOPs counted in the timed part. */
typedef struct Split {
    const GemmCall *rec;
    int once_n, step_n;        /* rec[0, once_n): once per stage; then step_n calls */
    double step_counted;       /* per timed epoch (lbfgs: per timed evaluation) */
    double step_recorded, once_recorded;
} Split;

/* Splits the recorded calls (SGD/Adam: the warm-up epoch is the tail of the record, as many
 * calls as each timed epoch made; what precedes it ran once, before the first epoch) and checks
 * them against the FLOP model: a worker whose model does not follow the engine dies rather than
 * print GFLOP/s and roofline shares of the wrong work. */
static Split worker_split(const Worker *k, const FlopCount *want) {
    Split sp;
    int nrec;
    sp.rec = timing_gemm_calls(&nrec);
    const OpStats *st = timing_stats();
    int timed = k->epoch_s.n;
    if (workload_is_lbfgs(k->w)) {
        int evals = k->eval_s.n - k->evals_warm;
        if (evals <= 0) die("no timed evaluations");
        sp.once_n = k->once_calls;
        sp.step_counted = st->gemm_flops / evals;
    } else {
        long calls = st->calls[OP_GEMM_NN] + st->calls[OP_GEMM_NT] + st->calls[OP_GEMM_TN];
        if (calls % timed) die("the timed epochs made different numbers of GEMM calls");
        sp.once_n = nrec - (int)(calls / timed);
        if (sp.once_n < 0) die("the warm-up epoch recorded fewer GEMM calls than a timed one");
        sp.step_counted = st->gemm_flops / timed;
    }
    sp.step_n = nrec - sp.once_n;
    sp.step_recorded = calls_flops(sp.rec, sp.once_n, nrec);
    sp.once_recorded = calls_flops(sp.rec, 0, sp.once_n);
    const char *per = workload_is_lbfgs(k->w) ? "evaluation" : "epoch";
    if (sp.step_counted != want->step || sp.step_recorded != want->step)
        die("%s: the FLOP model (bench/flops.c) says %.6e GEMM FLOPs per %s, the engine's GEMM "
            "calls did %.6e (the recorded %s: %.6e): the model no longer follows "
            "engine/train.c", WORKLOAD_NAMES[k->w], want->step, per, sp.step_counted, per,
            sp.step_recorded);
    if (sp.once_recorded != want->once)
        die("%s: the FLOP model says %.6e GEMM FLOPs once per stage, the engine did %.6e",
            WORKLOAD_NAMES[k->w], want->once, sp.once_recorded);
    return sp;
}

/* What the probes measured after the training. */
typedef struct Probes {
    Samples roof, roof_once;
    long rss_kb;
    double gbs_l3, gbs_dram;
    double peak_gflops, sgemm_gflops;
    const char *peak_isa;
} Probes;

/* Timed replays of the roofline (bench work --roofline-reps; 5 unless told). */
static int roofline_reps = 5;

static void probes_run(int threads, const Split *sp, Probes *p) {
    p->roof = (Samples){0};
    p->roof_once = (Samples){0};
    roofline_replay(sp->rec + sp->once_n, sp->step_n, roofline_reps, &p->roof);
    if (sp->once_n > 0) roofline_replay(sp->rec, sp->once_n, roofline_reps, &p->roof_once);
    /* The workload's peak RSS, before the probes' arrays (3 x 16 MiB for the sgemm, 3 x 64 MiB
     * for the triad) would add to it. */
    p->rss_kb = peak_rss_kb();
    /* The machine's limits beside it: peak FMA throughput on all threads, a 2048^3 sgemm. */
    p->peak_gflops = peak_fma_gflops(threads, &p->peak_isa);
    p->sgemm_gflops = sgemm_large_gflops(2048);
    /* 4 MiB: one batch's activations (1000 x 784 floats = 3.1 MB) and what a pass over them
     * can expect from the caches; 64 MiB: what it would get from further out. */
    p->gbs_l3 = stream_gbs((size_t)4 << 20);
    p->gbs_dram = stream_gbs((size_t)64 << 20);
}

/* The FLOPs: per epoch, or for lbfgs per evaluation with the evaluation times; the part once
 * per stage. */
static void print_flops(const Worker *k, const FlopCount *want, const Split *sp) {
    int timed = k->epoch_s.n;
    if (workload_is_lbfgs(k->w)) {
        printf("flops_per_eval %.6e\n", want->step);
        if (want->kl_pass > 0) printf("flops_kl_pass %.6e\n", want->kl_pass);
        int evals = k->evals_end - k->evals_after_warm;
        printf("evals_per_iter %.4f\n", (double)evals / timed);
        for (int i = k->evals_warm; i < k->eval_s.n; i++) printf("eval_s %.6f\n", k->eval_s.v[i]);
    } else {
        printf("flops_per_epoch %.6e\n", want->step);
    }
    printf("flops_counted %.6e\n", sp->step_counted);
    printf("gemm_calls_once %d\n", sp->once_n);
    if (sp->once_n > 0) {
        printf("flops_once %.6e\n", want->once);
        if (isfinite(k->once_s)) printf("once_s %.6f\n", k->once_s);
    }
}

/* What the ops cost per timed epoch (lbfgs: per timed iteration). */
static void print_ops(int timed) {
    const OpStats *st = timing_stats();
    for (int op = 0; op < OP_COUNT; op++) {
        double sec = st->sec[op] / timed, bytes = st->bytes[op] / timed;
        long calls = st->calls[op] / timed;
        if (calls > 0 || sec > 0) printf("op %s %.6f %ld %.0f\n", OP_NAMES[op], sec, calls, bytes);
    }
}

static void worker_print(const Worker *k, int threads, const FlopCount *want, const Split *sp,
                         const Probes *p) {
    printf("workload %s\n", WORKLOAD_NAMES[k->w]);
    printf("threads %d\n", threads);
    printf("corename %s\n", openblas_get_corename());
    char lib[300];
    blas_mapped_path(lib, sizeof lib);
    printf("blas_lib %s\n", lib);
    printf("blas_config %s\n", openblas_get_config());
    printf("blas_parallel %d\n", openblas_get_parallel());
    printf("blas_threads %d\n", openblas_get_num_threads());
    printf("warm_s %.6f\n", k->warm_s);
    for (int i = 0; i < k->epoch_s.n; i++) printf("epoch_s %.6f\n", k->epoch_s.v[i]);
    for (int i = 0; i < p->roof.n; i++) printf("roofline_s %.6f\n", p->roof.v[i]);
    for (int i = 0; i < p->roof_once.n; i++) printf("roofline_once_s %.6f\n", p->roof_once.v[i]);
    printf("gemm_calls %d\n", sp->step_n);
    print_flops(k, want, sp);
    print_ops(k->epoch_s.n);
    printf("stream_gbs_l3 %.3f\n", p->gbs_l3);
    printf("stream_gbs_dram %.3f\n", p->gbs_dram);
    printf("peak_gflops %.3f\n", p->peak_gflops);
    printf("peak_isa %s\n", p->peak_isa);
    printf("sgemm2048_gflops %.3f\n", p->sgemm_gflops);
    printf("objective %.6g %.6g\n", k->loss_first, k->loss_last);
    printf("rss_kb %ld\n", p->rss_kb);
}

/* ---- the commands ---- */

/* For A/B measurements (bench/README.md): --recompute-kl-codes runs L-BFGS's KL gradient pass
 * from the images again instead of from the first pass's codes (TrainTask.recompute_kl_codes). */
static bool recompute_kl_codes;

/* `bench work`'s arguments: the workload, --threads, --epochs, --cpu-clock, --roofline-reps,
 * --recompute-kl-codes. */
static WorkloadId work_args(int argc, char **argv, int *threads, int *epochs) {
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 0, 1024, threads)) die("--threads: expected 0..1024");
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 1, MAX_SAMPLES - 1, epochs))
                die("--epochs: expected >= 1");
        } else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            const char *p = argv[++i]; /* bf16: the timing backend wraps backend_cpu_bf16() */
            if (strcmp(p, "bf16") != 0 && strcmp(p, "fp32") != 0)
                die("--precision: expected fp32 or bf16");
            timing_bf16 = strcmp(p, "bf16") == 0;
        } else if (strcmp(argv[i], "--cpu-clock") == 0) {
            clock_use_cpu_time();
        } else if (strcmp(argv[i], "--recompute-kl-codes") == 0) {
            recompute_kl_codes = true;
        } else if (strcmp(argv[i], "--roofline-reps") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 1, 100, &roofline_reps))
                die("--roofline-reps: expected 1..100");
        } else if (!name) {
            name = argv[i];
        } else {
            die("work: unexpected argument '%s'", argv[i]);
        }
    }
    int w = name ? workload_find(name) : -1;
    if (w < 0)
        die("work: expected a workload (ae1, stacked, classifier, denoise, lbfgs, lbfgs60k, "
            "frozen)");
    return (WorkloadId)w;
}

int cmd_work(int argc, char **argv) {
    int threads = 0, epochs = 5;
    WorkloadId w = work_args(argc, argv, &threads, &epochs);
    threads = backend_cpu_set_threads(threads);
    MnistPaths mp;
    mnist_resolve(&mp);
    Dataset *train = mnist_load(mp.train_images, mp.train_labels);
    Dataset *test = mnist_load(mp.test_images, mp.test_labels);
    const Backend *be = timing_backend();
    DeviceData *dtrain = upload(be, train), *dtest = upload(be, test);

    Setup s;
    workload_build(&s, w, be, train->n, test->n, epochs);
    if (recompute_kl_codes) {
        s.t.recompute_kl_codes = true;
        setup_flop_shape(&s);
    }
    FlopCount want = flop_model(&s.fs);
    Worker k = {.w = w, .epochs = epochs, .once_s = NAN};
    worker_train(&k, &s, dtrain, dtest);
    Split sp = worker_split(&k, &want);
    Probes p;
    probes_run(threads, &sp, &p);
    worker_print(&k, threads, &want, &sp, &p);

    model_free(s.m);
    device_data_free(dtrain);
    device_data_free(dtest);
    dataset_free(train);
    dataset_free(test);
    return 0;
}

/* bench load: the time to load MNIST (train + test) and upload it to the CPU backend. */
int cmd_load(int argc, char **argv) {
    int threads = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 0, 1024, &threads)) die("--threads: expected 0..1024");
        } else {
            die("load: unexpected argument '%s'", argv[i]);
        }
    }
    double t0 = now_seconds();
    backend_cpu_set_threads(threads);
    MnistPaths mp;
    mnist_resolve(&mp);
    double t1 = now_seconds();
    Dataset *train = mnist_load(mp.train_images, mp.train_labels);
    Dataset *test = mnist_load(mp.test_images, mp.test_labels);
    double t2 = now_seconds();
    const Backend *be = backend_cpu();
    DeviceData *a = upload(be, train), *b = upload(be, test);
    double t3 = now_seconds();
    printf("resolve_s %.6f\n", t1 - t0);
    printf("load_s %.6f\n", t2 - t1);
    printf("upload_s %.6f\n", t3 - t2);
    printf("rss_kb %ld\n", peak_rss_kb());
    device_data_free(a);
    device_data_free(b);
    dataset_free(train);
    dataset_free(test);
    return 0;
}
