/* tests/test_backend_compare.c — every training path (tests/backend_compare.h) on the CPU backend
 * against the plain-loop reference backend (engine/ref_ops.c), end to end; then the harness
 * itself: a reference backend with one op perturbed must fail, naming the tensor or metric.
 *
 * Tolerances, CPU (float, OpenBLAS, SIMD activations) against the reference (double inside each
 * op, rounded once): measured worst errors are below a fifth of these (the figures are printed):
 *  - gradients after one full-batch pass: 1e-5 of the tensor's largest |element| + 1e-5 relative;
 *  - parameters after 4-8 epochs (or L-BFGS iterations): 2e-5 of the tensor's scale + 1e-5
 *    relative (float rounding compounds over ~25 steps);
 *  - losses, penalties, objectives per epoch, reconstruction errors: 1e-9 + 2e-5 relative;
 *  - accuracies: equal (0 points), confusion counts: equal.
 * A perturbation of 1e-3 relative in one op is 100 times these tolerances.
 */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "backend_compare.h"
#include "ref_ops.h"
#include "testutil.h"

static const BcTolerance TOL = {.grad_abs = 1e-5, .grad_rel = 1e-5, .param_abs = 2e-5,
                                .param_rel = 1e-5, .metric_abs = 1e-9, .metric_rel = 2e-5,
                                .accuracy = 0.0, .confusion = 0, .lbfgs_factor = 10.0};

static const Backend *REF;

/* ---- perturbed reference ops: each changes one result by a little ---- */

static void act_backward_scaled(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                                float *db) {
    REF->act_backward(dZ, dY, Y, act, B, O, NULL);
    if (act == ACT_TANH) REF->scal(dZ, 1.001f, (size_t)B * O); /* tanh' off by 0.1% */
    if (db) REF->colsum_acc(db, dZ, B, O);
}

/* the loss's fused bias gradient with its sign flipped: db -= column sums instead of += */
static void loss_db_sign(float *out, float *dY, const float *Y, const float *T,
                         const int32_t *labels, LossKind kind, Act act, int B, int O, float *db) {
    REF->loss(out, dY, Y, T, labels, kind, act, B, O, NULL);
    if (dY && db) {
        REF->scal(db, -1.0f, (size_t)O);
        REF->colsum_acc(db, dY, B, O);
        REF->scal(db, -1.0f, (size_t)O);
    }
}

static void sgd_lr_off(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                       bool nesterov) {
    REF->sgd_step(p, g, v, n, lr * 1.001f, momentum, nesterov);
}

static void noise_shifted(float *Xn, const float *X, const NoiseSpec *s, uint64_t key,
                          uint64_t counter, size_t n) {
    REF->noise(Xn, X, s, key, counter + 1, n); /* the counter contract broken by one */
}

static void kl_beta_off(float *out, float *dH, float *rhohat, const float *H, float rho,
                        float beta, int B, int O) {
    REF->kl_penalty(out, dH, rhohat, H, rho, beta * 1.001f, B, O);
}

static void adam_eps_off(float *p, const float *g, float *m, float *v, size_t n, float lr,
                         float b1, float b2, float eps, int t) {
    REF->adam_step(p, g, m, v, n, lr, b1, b2 * 0.99f, eps, t); /* beta2 0.999 -> 0.989 */
}

static void gemm_tn_off(int M, int N, int K, float alpha, const float *A, const float *B,
                        float beta, float *C) {
    REF->gemm_tn(M, N, K, alpha * 1.001f, A, B, beta, C); /* every dW off by 0.1% */
}

static int case_named(const char *prefix) {
    for (int i = 0; i < bc_ncases(); i++)
        if (strncmp(bc_case_name(i), prefix, strlen(prefix)) == 0) return i;
    fprintf(stderr, "test_backend_compare: no case starts with '%s'\n", prefix);
    exit(1);
}

typedef struct Perturbation {
    const char *what, *case_prefix, *must_name;
    void (*apply)(Backend *b);
} Perturbation;

static void p_act(Backend *b) { b->act_backward = act_backward_scaled; }
static void p_loss_db(Backend *b) { b->loss = loss_db_sign; }
static void p_sgd(Backend *b) { b->sgd_step = sgd_lr_off; }
static void p_noise(Backend *b) { b->noise = noise_shifted; }
static void p_kl(Backend *b) { b->kl_penalty = kl_beta_off; }
static void p_adam(Backend *b) { b->adam_step = adam_eps_off; }
static void p_gemm(Backend *b) { b->gemm_tn = gemm_tn_off; }

static const Perturbation PERTURB[] = {
    {"act_backward tanh' x1.001", "pretrain_layer tanh/sigmoid", "gradient enc[0].dW", p_act},
    {"loss's db sign flipped", "attach_classifier nll (logsoftmax)", "gradient head[0].db",
     p_loss_db},
    {"sgd_step lr x1.001", "pretrain_layer 2nd layer", "epoch 1 loss", p_sgd},
    {"noise counter + 1", "add_noise masking, sgd", "gradient enc[0].dW", p_noise},
    {"kl_penalty beta x1.001", "add_sparsity kl, sgd", "gradient enc[0].dW", p_kl},
    {"adam_step beta2 0.989", "append_layer", "epoch 1 loss", p_adam},
    {"gemm_tn alpha x1.001", "attach_classifier cross_entropy, hidden relu", "gradient enc[0].dW",
     p_gemm},
};

/* Each perturbed reference, as the "test" side against the true one, must fail its case with a
 * first failure naming the expected tensor. */
static void test_perturbations(void) {
    for (size_t k = 0; k < sizeof PERTURB / sizeof PERTURB[0]; k++) {
        const Perturbation *p = &PERTURB[k];
        static Backend bad;
        bad = *REF;
        bad.name = "perturbed";
        p->apply(&bad);
        BcFigures f = {0};
        bool ok = bc_run(REF, &bad, case_named(p->case_prefix), &TOL, NULL, &f);
        printf("perturbation %-28s -> %s; first failure: %s\n", p->what,
               ok ? "NOT CAUGHT" : "caught", f.first_failure);
        CHECK(!ok);
        CHECK(f.failures > 0);
        if (!strstr(f.first_failure, p->must_name)) {
            fprintf(stderr, "perturbation %s: the first failure should name '%s'\n", p->what,
                    p->must_name);
            CHECK(strstr(f.first_failure, p->must_name) != NULL);
        }
    }
}

int main(void) {
    REF = backend_reference();
    backend_cpu_set_threads(2);
    BcFigures fig = {0};
    bool ok = bc_run(REF, backend_cpu(), -1, &TOL, stdout, &fig);
    CHECK(ok);
    CHECK(fig.failures == 0);
    CHECK(fig.cases == bc_ncases());
    bc_print_figures(stdout, "cpu vs reference", &fig);
    /* the same backend on both sides compares exactly */
    BcFigures same = {0};
    CHECK(bc_run(backend_cpu(), backend_cpu(), 0, &TOL, NULL, &same));
    CHECK(same.grad_max_abs == 0.0 && same.param_max_abs == 0.0);
    fprintf(stderr, "(the perturbation checks below print failures on purpose)\n");
    test_perturbations();
    return tu_summary("test_backend_compare");
}
