/* bench/flops.c — the GEMM FLOP model (flops.h), following engine/train.c:
 *  - a step over B rows: per layer i of the chain from where the rows enter, 2*I*O*B forward;
 *    from the lowest trained layer up, 2*I*O*B for dW; above it, 2*I*O*B for the input gradient
 *    (step_forward_backward);
 *  - rows enter at the lowest trained layer when a frozen prefix's outputs were computed once
 *    per stage (prefix_codes: its forward over the training rows, and over the test rows for a
 *    classifier's per-epoch accuracy, once); else at the image;
 *  - a classifier's test accuracy after each epoch: the forward pass over the test rows from
 *    where they enter;
 *  - L-BFGS with KL sparsity over more than one chunk (lbfgs_kl_pass): a first pass forward up to
 *    the code over every chunk, then the steps; with the first pass's codes kept, the steps skip
 *    the code layer's forward.
 */
#include "flops.h"

static double fwd(const FlopShape *s, int from, int to) {
    double f = 0.0;
    for (int i = from; i < to; i++) f += 2.0 * s->L[i].I * s->L[i].O;
    return f;
}

FlopCount flop_model(const FlopShape *s) {
    FlopCount c = {0};
    int from = s->prefix_once ? s->first : 0;
    double per_row = 0.0;
    for (int i = from; i < s->nl; i++) {
        double io = 2.0 * s->L[i].I * s->L[i].O;
        per_row += io;                       /* forward */
        if (i >= s->first) per_row += io;    /* dW */
        if (i > s->first) per_row += io;     /* dX */
    }
    c.step = per_row * s->rows + fwd(s, from, s->nl) * s->test_rows;
    if (s->prefix_once) c.once = fwd(s, 0, s->first) * (s->rows + s->test_rows);
    bool two_pass = s->lbfgs && s->kl && s->code > s->first && s->rows > s->chunk;
    if (two_pass) {
        c.kl_pass = fwd(s, from, s->code) * s->rows;
        c.step += c.kl_pass;
        if (s->kl_codes_kept) c.step -= fwd(s, s->code - 1, s->code) * s->rows;
    }
    return c;
}
