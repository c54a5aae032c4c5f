/* tests/fuzz/fuzz_set.c — libFuzzer harness for the --set parser (config.h: key paths
 * pipeline.N.KEY, KIND.KEY, KIND#K.KEY, LABEL.KEY, top-level keys; values read as YAML), through
 * config_load_string with sets applied to a fixed, valid base config.
 *
 * Input: byte 0 picks one of the base configs below; the rest is split at '\n' into at most
 * SET_MAX --set arguments (as `aelab run FILE --set A --set B ...` would pass them); a lone
 * byte 0 loads the base config with no --set at all.
 * Checks: no crash, leak or undefined behaviour; NULL <=> nerrors > 0; and a config that loads
 * survives the resolved-config round trip (write, load again without error, write the same
 * bytes), so an override can never produce a Config the writer cannot express.
 * With AELAB_FUZZ_VERBOSE set (replaying a reproducer) the diagnostics go to stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"

#define SET_MAX 16

static const char *const BASES[] = {
    /* every stage kind, labels by kind */
    "name: base-a\n"
    "seed: 1\n"
    "pipeline:\n"
    "  - load_dataset: {name: mnist, batch_size: 100, subset: 1000}\n"
    "  - add_noise: {kind: gaussian, mean: 0.1, std: 0.2}\n"
    "  - pretrain_layer: {units: 64, activation: tanh, decoder_activation: sigmoid, loss: mse,\n"
    "                     optimizer: {name: sgd, lr: 0.98}, epochs: 2}\n"
    "  - append_layer: {units: 32, optimizer: {name: adam, lr: 0.001}, epochs: 1}\n"
    "  - add_sparsity: {kind: l1, weight: 0.001}\n"
    "  - pretrain_layer: {units: 16, optimizer: {name: sgd, lr: 0.5, momentum: 0.9}, epochs: 1}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {classes: 10, hidden: [16], loss: nll,\n"
    "                        optimizer: {name: sgd, lr: 0.1}, epochs: 2}\n"
    "  - evaluate: {split: test}\n",
    /* named stages, idx data set */
    "name: base-b\n"
    "description: named stages\n"
    "pipeline:\n"
    "  - load_dataset: {name: idx, train_images: a.idx, train_labels: b.idx}\n"
    "  - pretrain_layer: {name: first, units: 8, optimizer: {name: sgd, lr: 0.1}, epochs: 1}\n"
    "  - pretrain_layer: {name: second, units: 4, optimizer: {name: sgd, lr: 0.1}, epochs: 1}\n"
    "  - evaluate\n",
    /* UFLDL: KL sparsity, L-BFGS, frozen encoder then fine-tuning */
    "name: base-c\n"
    "pipeline:\n"
    "  - load_dataset: {name: csv, train_csv: t.csv, label_column: 0}\n"
    "  - add_sparsity: {kind: kl, rho: 0.1, beta: 3}\n"
    "  - pretrain_layer: {units: 196, activation: sigmoid, init: ufldl, loss: half_sse,\n"
    "                     optimizer: {name: lbfgs}, epochs: 40}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {freeze_encoder: true, finetune_epochs: 5,\n"
    "                        optimizer: {name: lbfgs}, epochs: 10}\n",
    /* the smallest config */
    "name: base-d\npipeline: [{load_dataset: {name: mnist}}]\n",
};
#define NBASES (int)(sizeof BASES / sizeof BASES[0])

static FILE *devnull;

static char *resolved_text(const Config *c, const char *path) {
    AeError err;
    FUZZ_CHECK(config_write_resolved(c, path, NULL, 0, &err), "config_write_resolved: %s", err.msg);
    char *text = fuzz_read(path, NULL);
    FUZZ_CHECK(text != NULL, "cannot read back %s", path);
    unlink(path);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!devnull) devnull = getenv("AELAB_FUZZ_VERBOSE") ? stderr : fopen("/dev/null", "w");
    if (size < 1) return 0;
    const char *base = BASES[data[0] % NBASES];
    char *args = fuzz_strndup(data + 1, size - 1);
    const char *sets[SET_MAX];
    int nsets = 0;
    for (char *p = args; size > 1 && nsets < SET_MAX;) {
        sets[nsets++] = p;
        char *nl = memchr(p, '\n', strlen(p));
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    int nerrors = -1;
    Config *c = config_load_string("base.yaml", base, sets, nsets, devnull, &nerrors);
    FUZZ_CHECK((c == NULL) == (nerrors > 0), "config %s with %d errors",
               c ? "loaded" : "refused", nerrors);
    if (c) {
        const char *out = fuzz_path(0, "set-resolved.yaml");
        char *first = resolved_text(c, out);
        int n2 = -1;
        Config *c2 = config_load_string("base.yaml", first, NULL, 0, devnull, &n2);
        if (!c2) {
            fprintf(stderr, "---- resolved config that does not load again:\n%s\n", first);
            config_load_string("base.yaml", first, NULL, 0, stderr, &n2);
        }
        FUZZ_CHECK(c2 != NULL, "the resolved config does not load again");
        char *second = resolved_text(c2, out);
        if (strcmp(first, second) != 0)
            fprintf(stderr, "---- first:\n%s\n---- second:\n%s\n", first, second);
        FUZZ_CHECK(strcmp(first, second) == 0, "writing the reloaded config gives other bytes");
        free(first);
        free(second);
        config_free(c2);
    }
    config_free(c);
    free(args);
    return 0;
}
