/* engine/model.h — the model: an encoder stack, a mirrored decoder stack while the autoencoder
 * phase lasts, and a classifier head after it.
 *
 * A dense layer computes Y (B,O) = act(X (B,I) . W^T + b) with W stored (O,I) as in PyTorch's
 * nn.Linear. Each layer owns one parameter block [W | b] and one gradient block [dW | db] in
 * backend memory, so optimizers and checkpoints see one contiguous vector per layer.
 *
 * Data flow: input (D) -> enc[0] -> ... -> enc[nenc-1] = code -> dec[0] -> ... ->
 * dec[ndec-1] = reconstruction (D), and code -> head[0] -> ... -> head[nhead-1] = class scores.
 * Invariants (checked by model_check): dec mirrors enc (dec[k].I == enc[nenc-1-k].O and
 * dec[k].O == enc[nenc-1-k].I) while a decoder exists; head[0].I == code width; a tied
 * decoder layer dec[k] is tied to enc[nenc-1-k], and no other layer is tied.
 */
#ifndef AE_MODEL_H
#define AE_MODEL_H

#include "backend.h"
#include "common.h"
#include "rng.h"

typedef enum { INIT_PYTORCH = 0, INIT_UFLDL, INIT_XAVIER, INIT_COUNT } InitKind;

typedef struct Layer {
    int I, O;          /* inputs, outputs */
    Act act;
    size_t nparams;    /* O*I + O */
    float *params;     /* backend, (nparams): W (O,I) then b (O) */
    float *grads;      /* backend, (nparams): dW (O,I) then db (O) */
    float *W, *b;      /* views into params */
    float *dW, *db;    /* views into grads */
    struct Layer *tied; /* a decoder layer tied to its mirror encoder (tied weights): NULL, or
                           the encoder layer whose W^T this layer uses in place of its own W
                           (borrowed). Its own W stays zero and unused; the gradient with
                           respect to the shared matrix goes to tied->dW (summed with the
                           encoder's own); only b is its own parameter. */
} Layer;

typedef struct Model {
    const Backend *be; /* borrowed */
    int input_dim;     /* D */
    Layer *enc[AE_MAX_LAYERS];
    int nenc;
    Layer *dec[AE_MAX_LAYERS];
    int ndec;
    Layer *head[AE_MAX_LAYERS];
    int nhead;
} Model;

/* Allocates a layer with zeroed parameters and gradients on `be`. Returns NULL (and fills err)
 * when the backend or host memory runs out. Owned by the caller until pushed into a model. */
Layer *layer_create(const Backend *be, int I, int O, Act act, AeError *err);
void layer_free(const Backend *be, Layer *l); /* NULL-safe */

/* Initialises W and b (computed on the host from the stream, then uploaded):
 * pytorch: W, b ~ U(-1/sqrt(I), 1/sqrt(I)) (nn.Linear's default);
 * ufldl:   W ~ U(-r, r), r = sqrt(6/(I+O+1)), b = 0;
 * xavier:  W ~ U(-r, r), r = sqrt(6/(I+O)), b = 0.
 * W is drawn first, row by row, then b. Allocates nothing; cannot fail. */
void layer_init(const Backend *be, Layer *l, InitKind init, RngStream *rng);

/* A model with no layers yet, on `be` (borrowed); NULL with err filled when host memory runs
 * out. Owned by the caller (model_free). */
Model *model_create(const Backend *be, int input_dim, AeError *err);
void model_free(Model *m); /* NULL-safe; frees every layer */

/* The width of the code: the top encoder's output, or the input when there is no encoder. */
int model_code_dim(const Model *m);

/* Number of parameters in all stacks. */
size_t model_nparams(const Model *m);

/* Checks the invariants above; false with a message naming the first violation. */
bool model_check(const Model *m, AeError *err);

#endif
