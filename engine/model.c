/* engine/model.c — layers and the model's stacks (see model.h for the data flow).
 *
 * Host memory: only the small Layer and Model structs are allocated here, and a failure is
 * reported through AeError; initial weights are drawn into a fixed buffer on the stack and
 * uploaded a chunk at a time. */
#include "model.h"

#include <math.h>
#include <string.h>

Layer *layer_create(const Backend *be, int I, int O, Act act, AeError *err) {
    AE_ASSERT(I > 0 && O > 0);
    Layer *l = ae_calloc(1, sizeof *l, "a layer", err);
    if (!l) return NULL;
    l->I = I;
    l->O = O;
    l->act = act;
    l->nparams = (size_t)O * I + O;
    l->params = be->alloc(l->nparams * sizeof(float));
    l->grads = be->alloc(l->nparams * sizeof(float));
    if (!l->params || !l->grads) {
        ae_fail(err, "out of %s memory for a %dx%d layer (%zu bytes)", be->name, O, I,
                2 * l->nparams * sizeof(float));
        layer_free(be, l);
        return NULL;
    }
    l->W = l->params;                    /* (O,I) */
    l->b = l->params + (size_t)O * I;    /* (O) */
    l->dW = l->grads;                    /* (O,I) */
    l->db = l->grads + (size_t)O * I;    /* (O) */
    return l;
}

void layer_free(const Backend *be, Layer *l) {
    if (!l) return;
    be->free(l->params);
    be->free(l->grads);
    free(l);
}

/* Floats drawn per upload in layer_init. */
#define INIT_CHUNK 8192

void layer_init(const Backend *be, Layer *l, InitKind init, RngStream *rng) {
    size_t nw = (size_t)l->O * l->I;
    double rw, rb;
    switch (init) {
    case INIT_PYTORCH: rw = rb = 1.0 / sqrt((double)l->I); break;
    case INIT_UFLDL: rw = sqrt(6.0 / (l->I + l->O + 1)); rb = 0.0; break;
    case INIT_XAVIER: rw = sqrt(6.0 / (l->I + l->O)); rb = 0.0; break;
    default: AE_ASSERT(!"unknown init");
    }
    /* W (nw values) then b, in that order from the stream; b = 0 draws nothing */
    float chunk[INIT_CHUNK];
    size_t k = 0;
    for (size_t i = 0; i < l->nparams; i++) {
        if (i < nw) chunk[k++] = (float)((2.0 * rng_next_uniform(rng) - 1.0) * rw);
        else chunk[k++] = rb > 0.0 ? (float)((2.0 * rng_next_uniform(rng) - 1.0) * rb) : 0.0f;
        if (k == INIT_CHUNK || i + 1 == l->nparams) {
            be->upload(l->params + (i + 1 - k), chunk, k * sizeof *chunk);
            k = 0;
        }
    }
}

Model *model_create(const Backend *be, int input_dim, AeError *err) {
    Model *m = ae_calloc(1, sizeof *m, "the model", err);
    if (!m) return NULL;
    m->be = be;
    m->input_dim = input_dim;
    return m;
}

void model_free(Model *m) {
    if (!m) return;
    for (int i = 0; i < m->nenc; i++) layer_free(m->be, m->enc[i]);
    for (int i = 0; i < m->ndec; i++) layer_free(m->be, m->dec[i]);
    for (int i = 0; i < m->nhead; i++) layer_free(m->be, m->head[i]);
    free(m);
}

int model_code_dim(const Model *m) { return m->nenc ? m->enc[m->nenc - 1]->O : m->input_dim; }

size_t model_nparams(const Model *m) {
    size_t n = 0;
    for (int i = 0; i < m->nenc; i++) n += m->enc[i]->nparams;
    for (int i = 0; i < m->ndec; i++) n += m->dec[i]->nparams;
    for (int i = 0; i < m->nhead; i++) n += m->head[i]->nparams;
    return n;
}

bool model_check(const Model *m, AeError *err) {
    int in = m->input_dim;
    for (int i = 0; i < m->nenc; i++) {
        if (m->enc[i]->I != in)
            return ae_fail(err, "encoder layer %d takes %d inputs, but its input has %d", i,
                           m->enc[i]->I, in);
        in = m->enc[i]->O;
    }
    if (m->ndec && m->ndec != m->nenc)
        return ae_fail(err, "the decoder has %d layers but the encoder %d", m->ndec, m->nenc);
    for (int k = 0; k < m->ndec; k++) {
        const Layer *e = m->enc[m->nenc - 1 - k], *d = m->dec[k];
        if (d->I != e->O || d->O != e->I)
            return ae_fail(err, "decoder layer %d is %d->%d but mirrors encoder %d->%d", k, d->I,
                           d->O, e->I, e->O);
        if (d->tied && d->tied != e)
            return ae_fail(err, "decoder layer %d is tied to a layer other than its mirror", k);
    }
    for (int i = 0; i < m->nenc; i++)
        if (m->enc[i]->tied) return ae_fail(err, "encoder layer %d is tied", i);
    for (int i = 0; i < m->nhead; i++)
        if (m->head[i]->tied) return ae_fail(err, "head layer %d is tied", i);
    in = model_code_dim(m);
    for (int i = 0; i < m->nhead; i++) {
        if (m->head[i]->I != in)
            return ae_fail(err, "head layer %d takes %d inputs, but its input has %d", i,
                           m->head[i]->I, in);
        in = m->head[i]->O;
    }
    return true;
}
