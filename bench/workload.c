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
 * FLOPs are GEMM FLOPs only (2*M*N*K per call): per row, a layer costs 2*I*O forward; a trained
 * layer adds 2*I*O for dW and 2*I*O for dX unless it is the lowest trained layer (whose input
 * gradient is not needed); a frozen prefix costs its forward only. They are computed from the
 * shapes and checked against the count of GEMM calls the timing backend saw.
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

typedef struct LayerShape {
    int I, O;
} LayerShape;

/* GEMM FLOPs of one pass over `rows` rows of a chain of n layers whose trained part starts at
 * `first` (n = first: forward only). */
static double chain_flops(const LayerShape *L, int n, int first, double rows) {
    double f = 0.0;
    for (int i = 0; i < n; i++) {
        double io = 2.0 * L[i].I * L[i].O;
        f += io;                          /* forward */
        if (i >= first) f += io;          /* dW */
        if (i > first) f += io;           /* dX */
    }
    return f * rows;
}

/* A workload, built: its training task and the shapes the FLOP count needs. */
typedef struct Setup {
    TrainTask t;
    LayerShape L[8];
    int nl, first;      /* layers in L; the lowest trained one */
    double rows;        /* rows per epoch (lbfgs: per evaluation) */
    double eval_flops;  /* the test evaluation's forward pass, per epoch (classifier) */
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
    s->L[s->nl++] = (LayerShape){I, O};
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
    s->eval_flops = chain_flops(s->L, s->nl, s->nl, test_rows);
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
    s->rows = subset ? subset : train_rows;
    s->lbfgs = true;
}

/* frozen: a softmax head trained on a frozen 784-400-256 encoder (freeze_encoder: the encoder
 * runs forward on every batch; no test evaluation). */
static void build_frozen(Setup *s) {
    build_classifier(s, 0.0);
    s->t.freeze_encoder = true;
    s->first = s->m->nenc;
    s->eval_test = false;
    s->eval_flops = 0.0;
}

/* Builds workload w on a new model of backend be (s->m, owned by the caller) for `epochs` timed
 * epochs after a warm-up: the model's layers in their initial state, the task, the shapes. */
static void workload_build(Setup *s, WorkloadId w, const Backend *be, double train_rows,
                           double test_rows, int epochs) {
    AeError err;
    *s = (Setup){.rows = train_rows, .be = be, .m = model_create(be, 784, &err)};
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
}

/* ---- one worker run ---- */

typedef struct Worker {
    WorkloadId w;
    int epochs;             /* timed (after one warm-up) */
    Samples epoch_s;        /* per timed epoch (lbfgs: per iteration) */
    double warm_s;
    int evals_after_warm;   /* lbfgs: evaluations at the end of the warm-up iteration */
    int evals_end;
    int eval_index_warm;    /* evaluation times recorded by the end of the warm-up iteration */
    double loss_first, loss_last;
    double t_last; /* --cpu-clock: the bench's clock at the end of the last epoch */
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
        timing_eval_seconds(&k->eval_index_warm);
        timing_warmup_done();
    } else {
        samples_add(&k->epoch_s, sec);
    }
    k->loss_last = s->objective;
    k->evals_end = s->evaluations;
    return true;
}

/* Trains the built workload: the warm-up epoch records the GEMM calls, the timed epochs fill
 * k->epoch_s and the timing backend's OpStats. Dies when the stage fails or times nothing. */
static void worker_train(Worker *k, const Setup *s, const DeviceData *train,
                         const DeviceData *test) {
    TrainHooks hooks = {.ctx = k, .on_epoch = worker_on_epoch};
    timing_start();
    k->t_last = now_seconds();
    AeError err;
    TrainStatus st = train_stage(s->m, &s->t, train, s->eval_test ? test : NULL, &hooks, &err);
    if (st != TRAIN_OK) die("train_stage: %s", err.msg);
    if (k->epoch_s.n == 0) die("no timed epochs (the stage stopped after its warm-up)");
}

/* What the probes measured after the training. */
typedef struct Probes {
    Samples roof;
    long rss_kb;
    double gbs_l3, gbs_dram;
    double peak_gflops, sgemm_gflops;
    const char *peak_isa;
} Probes;

/* Timed replays of the roofline (bench work --roofline-reps; 5 unless told). */
static int roofline_reps = 5;

static void probes_run(int threads, Probes *p) {
    int nrec;
    const GemmCall *rec = timing_gemm_calls(&nrec);
    p->roof = (Samples){0};
    roofline_replay(rec, nrec, roofline_reps, &p->roof);
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

/* The FLOPs: per epoch, or for lbfgs per evaluation with the evaluation times. */
static void print_flops(const Worker *k, double flops) {
    const OpStats *st = timing_stats();
    int timed = k->epoch_s.n;
    if (workload_is_lbfgs(k->w)) {
        printf("flops_per_eval %.6e\n", flops);
        int evals = k->evals_end - k->evals_after_warm;
        printf("evals_per_iter %.4f\n", (double)evals / timed);
        int neval;
        const double *eval_s = timing_eval_seconds(&neval);
        for (int i = k->eval_index_warm; i < neval; i++) printf("eval_s %.6f\n", eval_s[i]);
        double cnt_eval = evals > 0 ? st->gemm_flops / evals : NAN;
        printf("flops_counted %.6e\n", cnt_eval);
    } else {
        printf("flops_per_epoch %.6e\n", flops);
        printf("flops_counted %.6e\n", st->gemm_flops / timed);
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

static void worker_print(const Worker *k, int threads, double flops, const Probes *p) {
    int nrec;
    timing_gemm_calls(&nrec);
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
    printf("gemm_calls %d\n", nrec);
    print_flops(k, flops);
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

/* `bench work`'s arguments: the workload, --threads, --epochs, --cpu-clock. */
static WorkloadId work_args(int argc, char **argv, int *threads, int *epochs) {
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 0, 1024, threads)) die("--threads: expected 0..1024");
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 1, MAX_SAMPLES - 1, epochs))
                die("--epochs: expected >= 1");
        } else if (strcmp(argv[i], "--cpu-clock") == 0) {
            clock_use_cpu_time();
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
    if (s.lbfgs) timing_time_evaluations();
    double flops = chain_flops(s.L, s.nl, s.first, s.rows) + s.eval_flops; /* per epoch/eval */
    Worker k = {.w = w, .epochs = epochs};
    worker_train(&k, &s, dtrain, dtest);
    Probes p;
    probes_run(threads, &p);
    worker_print(&k, threads, flops, &p);

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
