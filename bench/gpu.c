/* bench/gpu.c — `bench gpu [--epochs N]`: lecture 17's AE1 (784-400-784 tanh/sigmoid, MSE,
 * SGD 0.98, batch 1000, the 60,000 MNIST training images resident on the device) on the CUDA
 * backend: one warm-up epoch, then N timed ones; then the roofline, the same epoch's GEMMs
 * (per batch: the two forward products, the two weight gradients and the code's input
 * gradient, 60 batches) replayed through the backend's cuBLAS GEMMs alone, 3 times, each timed
 * up to a synchronising download. Prints "key value" lines (the protocol of bench work):
 * gpu_warm_s, gpu_epoch_s (one per timed epoch), gpu_roofline_s, gpu_objective FIRST LAST; or,
 * without a usable GPU, one line "gpu_skip WHY" (exit 0: a machine without a GPU is not an
 * error for the bench). The target (issue 13): an epoch in 5 ms or less on an H100/H200.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "common.h"
#include "cudaload.h"
#include "data.h"
#include "datasets.h"
#include "model.h"
#include "train.h"

typedef struct GpuRun {
    Samples epoch_s;
    double warm_s, first, last;
} GpuRun;

static bool on_epoch(void *ctx, const EpochStats *s, AeError *err) {
    (void)err;
    GpuRun *g = ctx;
    if (s->epoch == 1) g->warm_s = s->seconds, g->first = s->objective;
    else samples_add(&g->epoch_s, s->seconds);
    g->last = s->objective;
    return true;
}

static Layer *layer(const Backend *be, int I, int O, Act act, RngStream *rng) {
    AeError err;
    Layer *l = layer_create(be, I, O, act, &err);
    if (!l) die("%s", err.msg);
    layer_init(be, l, INIT_PYTORCH, rng);
    return l;
}

/* One epoch's GEMMs of AE1 (B = 1000, n / B batches), `reps` times, each timed to a download. */
static void gpu_roofline(const Backend *be, int n, int reps, Samples *out) {
    const int B = 1000, D = 784, H = 400;
    size_t big = (size_t)B * D, w = (size_t)D * H;
    float *X = be->alloc(big * 4), *Y = be->alloc(big * 4), *Hd = be->alloc((size_t)B * H * 4);
    float *dH = be->alloc((size_t)B * H * 4), *W1 = be->alloc(w * 4), *W2 = be->alloc(w * 4);
    float *dW1 = be->alloc(w * 4), *dW2 = be->alloc(w * 4), sink;
    if (!X || !Y || !Hd || !dH || !W1 || !W2 || !dW1 || !dW2) die("gpu roofline: out of memory");
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int b = 0; b < n / B; b++) {
            be->gemm_nt(B, H, D, 1.0f, X, W1, 0.0f, Hd);  /* code = X W1^T */
            be->gemm_nt(B, D, H, 1.0f, Hd, W2, 0.0f, Y);  /* reconstruction */
            be->gemm_tn(D, H, B, 1.0f, Y, Hd, 1.0f, dW2); /* dW2 += dY^T code */
            be->gemm_nn(B, H, D, 1.0f, Y, W2, 0.0f, dH);  /* dcode = dY W2 */
            be->gemm_tn(H, D, B, 1.0f, dH, X, 1.0f, dW1); /* dW1 += dcode^T X */
        }
        be->download(&sink, Y, sizeof sink);
        samples_add(out, now_seconds() - t0);
    }
    float *all[] = {X, Y, Hd, dH, W1, W2, dW1, dW2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) be->free(all[i]);
}

int cmd_gpu(int argc, char **argv) {
    int epochs = 5;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            if (!ae_parse_int(argv[++i], 1, MAX_SAMPLES - 1, &epochs)) die("--epochs: expected >= 1");
        } else {
            die("gpu: unexpected argument '%s'", argv[i]);
        }
    }
    char why[512] = "";
    const Backend *be = cudaload_backend(why, sizeof why);
    if (!be) {
        printf("gpu_skip %s\n", why);
        return 0;
    }
    char ti[1024], tl[1024], vi[1024], vl[1024], dwhy[4096];
    if (!datasets_resolve("mnist", ti, tl, vi, vl, sizeof ti, dwhy, sizeof dwhy))
        die("MNIST not found: %s", dwhy);
    AeError err;
    Dataset *train = dataset_load_idx(ti, tl, 10, &err);
    if (!train) die("%s", err.msg);
    DeviceData *dd = device_data_create(be, train, &err);
    Model *m = dd ? model_create(be, 784, &err) : NULL;
    if (!m) die("%s", err.msg);
    RngStream rng = rng_stream(train_stage_seed(1, 1), RNG_STREAM_INIT);
    m->enc[m->nenc++] = layer(be, 784, 400, ACT_TANH, &rng);
    m->dec[m->ndec++] = layer(be, 400, 784, ACT_SIGMOID, &rng);
    TrainTask t = {.kind = TASK_AUTOENCODER, .depth = 1, .loss = LOSS_MSE,
                   .opt = {.kind = OPT_SGD, .lr = 0.98f}, .epochs = 1 + epochs,
                   .batch_size = 1000, .shuffle = true, .seed = 1, .stage_index = 1};
    GpuRun g = {0};
    TrainHooks h = {.ctx = &g, .on_epoch = on_epoch};
    if (train_stage(m, &t, dd, NULL, &h, &err) != TRAIN_OK) die("train_stage: %s", err.msg);
    Samples roof = {0};
    gpu_roofline(be, train->n, 3, &roof);
    printf("gpu_warm_s %.6f\n", g.warm_s);
    for (int i = 0; i < g.epoch_s.n; i++) printf("gpu_epoch_s %.6f\n", g.epoch_s.v[i]);
    for (int i = 0; i < roof.n; i++) printf("gpu_roofline_s %.6f\n", roof.v[i]);
    printf("gpu_objective %.6g %.6g\n", g.first, g.last);
    model_free(m);
    device_data_free(dd);
    dataset_free(train);
    return 0;
}
