/* tests/test_config.c — the config layer: YAML tree, schema validation, --set, stage rules,
 * resolved-config round trips, the plan, and the catalogue of bad configs.
 *
 * The catalogue (tests/bad_configs/NAME.yaml) is the same one tests/test_bad_configs.sh runs
 * through `aelab check`: each file starts with `# expect: LINE` comments (the exact diagnostic
 * lines, in order) and optional `# args: --set K=V ...`; here the diagnostics are captured
 * through config_load_string's FILE* and compared line for line. Run from the repository root
 * (tests/run.sh does).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "plan.h"
#include "schema.h"
#include "testutil.h"
#include "yamldoc.h"

#define MAX_LINES 128

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.yaml names in dir; returns the count (names malloc'd). */
static int list_yaml(const char *dir, char **names, int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

/* Splits text into lines (modifies it); returns the count. */
static int split_lines(char *text, char **lines, int max) {
    int n = 0;
    for (char *p = text; *p && n < max;) {
        char *nl = strchr(p, '\n');
        lines[n++] = p;
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

typedef struct Loaded {
    Config *c;
    int nerrors;
    char *out;              /* everything printed, malloc'd */
    char *split;            /* a copy of out cut into lines */
    char *lines[MAX_LINES]; /* into split */
    int nlines;
} Loaded;

static void load_capture(Loaded *r, const char *name, const char *text, const char *const *sets,
                         int nsets) {
    FILE *f = tmpfile();
    memset(r, 0, sizeof *r);
    r->c = config_load_string(name, text, sets, nsets, f, &r->nerrors);
    long n = ftell(f);
    r->out = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(r->out, 1, (size_t)n, f);
    r->out[got] = '\0';
    fclose(f);
    r->split = strdup(r->out);
    r->nlines = n ? split_lines(r->split, r->lines, MAX_LINES) : 0;
}

static void loaded_free(Loaded *r) {
    config_free(r->c);
    free(r->out);
    free(r->split);
}

/* ------------------------------------------------------------------------------------------ */

static void test_bad_catalogue(void) {
    char *names[256];
    int n = list_yaml("tests/bad_configs", names, 256);
    printf("bad configs: %d files\n", n);
    CHECK(n >= 35);
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "tests/bad_configs/%s", names[i]);
        char *text = read_file(path);
        CHECK(text != NULL);
        if (!text) continue;
        char *copy = strdup(text);
        char *lines[4096];
        int nl = split_lines(copy, lines, 4096);
        const char *expect[MAX_LINES];
        int nexpect = 0;
        const char *sets[16];
        int nsets = 0;
        for (int j = 0; j < nl; j++) {
            if (strncmp(lines[j], "# expect: ", 10) == 0 && nexpect < MAX_LINES)
                expect[nexpect++] = lines[j] + 10;
            if (strncmp(lines[j], "# args: ", 8) == 0) {
                for (char *tok = strtok(lines[j] + 8, " "); tok; tok = strtok(NULL, " ")) {
                    if (strcmp(tok, "--set") == 0) continue;
                    if (nsets < 16) sets[nsets++] = tok;
                }
            }
        }
        CHECK(nexpect > 0);
        Loaded r;
        load_capture(&r, path, text, sets, nsets);
        bool ok = r.c == NULL && r.nerrors > 0 && r.nlines == nexpect;
        for (int j = 0; ok && j < nexpect; j++) ok = strcmp(r.lines[j], expect[j]) == 0;
        CHECK(r.c == NULL);
        CHECK(r.nerrors > 0);
        if (!ok) {
            fprintf(stderr, "%s: diagnostics differ\n--- expected\n", path);
            for (int j = 0; j < nexpect; j++) fprintf(stderr, "%s\n", expect[j]);
            fprintf(stderr, "--- got\n%s", r.out);
        }
        CHECK(ok);
        loaded_free(&r);
        free(copy);
        free(text);
        free(names[i]);
    }
}

/* Field-by-field equality of two configs (everything but positions and the file path). */
static bool stage_equal(const StageCfg *a, const StageCfg *b) {
    bool eq = a->kind == b->kind && strcmp(a->label, b->label) == 0;
    const DatasetCfg *x = &a->data, *y = &b->data;
    eq = eq && !strcmp(x->name, y->name) && !strcmp(x->train_images, y->train_images) &&
         !strcmp(x->train_labels, y->train_labels) && !strcmp(x->test_images, y->test_images) &&
         !strcmp(x->test_labels, y->test_labels) && !strcmp(x->train_csv, y->train_csv) &&
         !strcmp(x->test_csv, y->test_csv) && x->label_column == y->label_column &&
         x->pixels == y->pixels &&
         x->subset == y->subset && x->test_subset == y->test_subset &&
         x->batch_size == y->batch_size && x->shuffle == y->shuffle;
    eq = eq && a->units == b->units && a->activation == b->activation &&
         a->decoder_activation == b->decoder_activation && a->init == b->init;
    const TrainCfg *s = &a->train, *t = &b->train;
    eq = eq && s->epochs == t->epochs && s->loss == t->loss && s->batch_size == t->batch_size &&
         s->subset == t->subset;
    const OptimSpec *o = &s->opt, *p = &t->opt;
    eq = eq && o->kind == p->kind && o->lr == p->lr && o->momentum == p->momentum &&
         o->nesterov == p->nesterov && o->beta1 == p->beta1 && o->beta2 == p->beta2 &&
         o->eps == p->eps && o->history == p->history && o->max_iter == p->max_iter &&
         o->max_eval == p->max_eval && o->tol_grad == p->tol_grad &&
         o->tol_change == p->tol_change;
    eq = eq && a->sparsity.kind == b->sparsity.kind && a->sparsity.weight == b->sparsity.weight &&
         a->sparsity.rho == b->sparsity.rho && a->sparsity.beta == b->sparsity.beta &&
         a->weight_decay == b->weight_decay;
    const NoiseSpec *m = &a->noise, *q = &b->noise;
    eq = eq && m->kind == q->kind && m->mean == q->mean && m->std == q->std &&
         m->clamp == q->clamp && m->lo == q->lo && m->hi == q->hi && m->fraction == q->fraction;
    eq = eq && a->classes == b->classes && a->nhidden == b->nhidden &&
         memcmp(a->hidden, b->hidden, sizeof a->hidden) == 0 &&
         a->hidden_activation == b->hidden_activation &&
         a->freeze_encoder == b->freeze_encoder && a->finetune_epochs == b->finetune_epochs &&
         a->eval_on_test == b->eval_on_test;
    /* and nothing was forgotten above: the bytes agree too once positions are cleared */
    StageCfg ca = *a, cb = *b;
    ca.pos = cb.pos = (SrcPos){0, 0};
    return eq && memcmp(&ca, &cb, sizeof ca) == 0;
}

static bool config_equal(const Config *a, const Config *b) {
    if (strcmp(a->name, b->name) || strcmp(a->description, b->description) ||
        a->seed != b->seed || strcmp(a->device, b->device) || a->threads != b->threads ||
        a->nstages != b->nstages)
        return false;
    for (int i = 0; i < a->nstages; i++)
        if (!stage_equal(&a->stages[i], &b->stages[i])) {
            fprintf(stderr, "stage %d (%s) differs\n", i, a->stages[i].label);
            return false;
        }
    return true;
}

static void test_good_configs(void) {
    char *names[64];
    int n = list_yaml("tests/good_configs", names, 64);
    printf("good configs: %d files\n", n);
    CHECK(n >= 5);
    for (int i = 0; i < n; i++) {
        char path[512], out1[600], out2[600];
        snprintf(path, sizeof path, "tests/good_configs/%s", names[i]);
        char *text = read_file(path);
        Loaded r;
        load_capture(&r, path, text, NULL, 0);
        if (!r.c || r.nlines) fprintf(stderr, "%s:\n%s", path, r.out);
        CHECK(r.c != NULL);
        CHECK(r.nlines == 0); /* no warnings either */
        if (r.c) {
            /* the file-reading entry point agrees with the string one */
            int nerr = -1;
            Config *c2 = config_load(path, NULL, 0, &nerr);
            CHECK(c2 && nerr == 0 && config_equal(r.c, c2));
            config_free(c2);

            snprintf(out1, sizeof out1, "%s/%s.resolved", tu_dir(), names[i]);
            snprintf(out2, sizeof out2, "%s/%s.resolved2", tu_dir(), names[i]);
            const char *kv[] = {"aelab_version", AE_VERSION, "git_commit", "0123abc",
                                "command", "aelab run x.yaml --set 'seed=3'"};
            AeError err = {{0}};
            bool ok = config_write_resolved(r.c, out1, kv, 3, &err);
            if (!ok) fprintf(stderr, "%s\n", err.msg);
            CHECK(ok);
            Config *back = config_load(out1, NULL, 0, &nerr);
            CHECK(back != NULL && nerr == 0);
            if (back) {
                CHECK(config_equal(r.c, back));
                /* a second round writes the same bytes */
                CHECK(config_write_resolved(back, out2, kv, 3, &err));
                char *t1 = read_file(out1), *t2 = read_file(out2);
                /* the first comment line names the source file; compare the rest */
                const char *b1 = t1 ? strchr(t1, '\n') : NULL, *b2 = t2 ? strchr(t2, '\n') : NULL;
                CHECK(b1 && b2 && strcmp(b1, b2) == 0);
                CHECK(t1 && strstr(t1, "provenance:\n  aelab_version: ") != NULL);
                free(t1);
                free(t2);
            }
            config_free(back);
            remove(out1);
            remove(out2);
        }
        loaded_free(&r);
        free(text);
        free(names[i]);
    }
}

static const char *L17 =
    "name: l17\n"
    "pipeline:\n"
    "  - load_dataset: {name: mnist}\n"
    "  - pretrain_layer: {name: ae1, units: 400, optimizer: {name: sgd, lr: 0.98}, epochs: 10}\n"
    "  - append_layer: {units: 256, optimizer: {name: sgd, lr: 0.98}, epochs: 10}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {optimizer: {name: sgd, lr: 0.1}, epochs: 10}\n"
    "  - evaluate\n";

static void test_fields(void) {
    char *text = read_file("tests/good_configs/lecture17_mnist.yaml");
    Loaded r;
    load_capture(&r, "l17.yaml", text, NULL, 0);
    Config *c = r.c;
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(c->name, "lecture17-mnist-stacked");
        CHECK_STR(c->path, "l17.yaml");
        CHECK(c->seed == 1);
        CHECK_STR(c->device, "auto");
        CHECK(c->threads == 0);
        CHECK(c->nstages == 6);
        const StageCfg *s = c->stages;
        CHECK(s[0].kind == STAGE_LOAD_DATASET);
        CHECK_STR(s[0].data.name, "mnist");
        CHECK(s[0].data.batch_size == 1000 && s[0].data.shuffle);
        CHECK(s[0].data.label_column == -2 /* auto */ && s[0].data.pixels == 0 /* auto */);
        CHECK(s[0].pos.line == 6 && s[0].pos.col == 5);
        CHECK(s[1].kind == STAGE_PRETRAIN_LAYER && s[1].units == 400);
        CHECK(s[1].activation == ACT_TANH && s[1].decoder_activation == ACT_SIGMOID);
        CHECK(s[1].init == INIT_PYTORCH && s[1].train.loss == LOSS_MSE);
        CHECK(s[1].train.opt.kind == OPT_SGD && s[1].train.opt.lr == 0.98f);
        CHECK(s[1].train.opt.momentum == 0 && !s[1].train.opt.nesterov);
        CHECK(s[1].train.epochs == 10 && s[1].train.batch_size == 0);
        CHECK_STR(s[1].label, "pretrain_layer");
        CHECK(s[2].kind == STAGE_APPEND_LAYER && s[2].decoder_activation == ACT_TANH);
        CHECK(s[3].kind == STAGE_STRIP_DECODER);
        CHECK(s[4].kind == STAGE_ATTACH_CLASSIFIER && s[4].classes == 10 && s[4].nhidden == 0);
        CHECK(s[4].train.loss == LOSS_NLL && s[4].train.opt.lr == 0.1f && !s[4].freeze_encoder);
        CHECK(s[5].kind == STAGE_EVALUATE && s[5].eval_on_test);
        CHECK(config_find_stage(c, "append_layer") == &s[2]);
        CHECK(config_find_stage(c, "nope") == NULL);
    }
    loaded_free(&r);
    free(text);

    /* defaults that depend on the optimizer; lbfgs epochs become max_iter; labels repeat */
    const char *t =
        "name: d\n"
        "pipeline:\n"
        "  - load_dataset: {name: csv, train_csv: a.csv, test_csv: b.csv}\n"
        "  - add_sparsity: {kind: kl}\n"
        "  - pretrain_layer: {units: 5, activation: sigmoid, optimizer: {name: lbfgs}, "
        "epochs: 40}\n"
        "  - pretrain_layer: {units: 4, activation: sigmoid, optimizer: {name: adam}, epochs: 2}\n"
        "  - add_noise: {kind: gaussian}\n"
        "  - append_layer: {units: 3, activation: sigmoid, optimizer: {name: adam}, epochs: 2}\n"
        "  - evaluate\n"
        "  - evaluate: {split: train}\n";
    load_capture(&r, "d.yaml", t, NULL, 0);
    c = r.c;
    CHECK(c != NULL && r.nlines == 0);
    if (c) {
        const StageCfg *s = c->stages;
        CHECK(s[0].data.label_column == -2 /* auto */ && s[0].data.pixels == 0);
        CHECK(s[0].data.train_images[0] == 0);
        CHECK(s[1].sparsity.kind == PEN_KL && s[1].sparsity.rho == 0.1f);
        CHECK(s[1].sparsity.beta == 3.0f && s[1].weight_decay == 0);
        CHECK(s[2].train.opt.kind == OPT_LBFGS && s[2].train.opt.lr == 1.0f);
        CHECK(s[2].train.opt.max_iter == 40 && s[2].train.opt.history == 100);
        CHECK(s[2].train.opt.tol_grad == 1e-7 && s[2].train.opt.tol_change == 1e-9);
        CHECK(s[3].train.opt.lr == 1e-3f && s[3].train.opt.beta1 == 0.9f);
        CHECK(s[3].train.opt.beta2 == 0.999f && s[3].train.opt.eps == 1e-8f);
        CHECK(s[4].noise.kind == NOISE_GAUSSIAN && s[4].noise.std == 0.1f && s[4].noise.clamp);
        CHECK(s[4].noise.lo == 0 && s[4].noise.hi == 1 && s[4].noise.fraction == 0.25f);
        CHECK_STR(s[3].label, "pretrain_layer_2");
        CHECK_STR(s[6].label, "evaluate");
        CHECK_STR(s[7].label, "evaluate_2");
        CHECK(!s[7].eval_on_test);
    }
    loaded_free(&r);

    /* a warning does not fail the load */
    const char *w =
        "name: w\npipeline:\n  - load_dataset: {name: mnist}\n  - add_sparsity: {kind: kl}\n"
        "  - pretrain_layer: {units: 5, optimizer: {name: adam}, epochs: 1}\n";
    load_capture(&r, "w.yaml", w, NULL, 0);
    CHECK(r.c != NULL && r.nerrors == 0 && r.nlines == 1);
    CHECK(r.nlines == 1 && strstr(r.lines[0], "w.yaml:5:5: warning: pipeline[2].pretrain_layer."
                                                "activation: KL sparsity") == r.lines[0]);
    loaded_free(&r);
}

static void test_sets(void) {
    const char *sets[] = {
        "seed=3",
        "seed=4",                             /* later wins */
        "pipeline.2.optimizer.lr=0.5",        /* by index */
        "pipeline.1.pretrain_layer.epochs=7", /* the kind may be repeated */
        "append_layer.units=128",             /* first of a kind */
        "ae1.optimizer.momentum=0.9",         /* by label */
        "attach_classifier#1.hidden=[32, 16]", /* K-th of a kind; a YAML list */
        "evaluate.split=train",               /* a bare `- evaluate` grows a mapping */
        "description=\"a b: c\"",             /* quoted YAML */
        "append_layer.optimizer.name=adam",
        "append_layer.optimizer.lr=2e-3",
        "attach_classifier.batch_size=50",    /* a key that was not in the file */
    };
    int n = (int)(sizeof sets / sizeof *sets);
    Loaded r;
    load_capture(&r, "l17.yaml", L17, sets, n);
    Config *c = r.c;
    if (!c) fprintf(stderr, "%s", r.out);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->seed == 4);
        CHECK_STR(c->description, "a b: c");
        CHECK(c->stages[1].train.epochs == 7 && c->stages[1].train.opt.momentum == 0.9f);
        CHECK_STR(c->stages[1].label, "ae1");
        CHECK(c->stages[1].pos.line == 4 && c->stages[1].pos.col == 5);
        CHECK(c->stages[2].units == 128);
        CHECK(c->stages[2].train.opt.kind == OPT_ADAM && c->stages[2].train.opt.lr == 2e-3f);
        CHECK(c->stages[4].nhidden == 2 && c->stages[4].hidden[0] == 32 &&
              c->stages[4].hidden[1] == 16);
        CHECK(c->stages[4].train.batch_size == 50);
        CHECK(!c->stages[5].eval_on_test);
        CHECK(c->stages[5].pos.line == 8); /* still the file's position */
    }
    loaded_free(&r);

    /* pipeline.2.optimizer.lr reached stage 2 before the optimizer became adam above; check
     * the index form on its own */
    const char *one[] = {"pipeline.2.optimizer.lr=0.5"};
    load_capture(&r, "l17.yaml", L17, one, 1);
    CHECK(r.c && r.c->stages[2].train.opt.lr == 0.5f);
    loaded_free(&r);

    /* a --set that creates a missing required mapping */
    const char *t = "name: m\npipeline:\n  - load_dataset: {name: mnist}\n"
                    "  - pretrain_layer: {units: 4, epochs: 1}\n";
    const char *mk[] = {"pretrain_layer.optimizer.name=adam"};
    load_capture(&r, "m.yaml", t, mk, 1);
    CHECK(r.c && r.c->stages[1].train.opt.kind == OPT_ADAM);
    loaded_free(&r);

    /* errors in --set values name the argument (syntax errors come out first: they are
     * found while the overrides are applied, the others during validation) */
    const char *bad[] = {"seed=-1", "pretrain_layer.units=[1", "threads=2"};
    load_capture(&r, "l17.yaml", L17, bad, 3);
    CHECK(r.c == NULL && r.nerrors == 2);
    if (r.nlines != 2) fprintf(stderr, "%s", r.out);
    CHECK(r.nlines == 2);
    if (r.nlines == 2) {
        CHECK_STR(r.lines[0], "--set pretrain_layer.units=[1: error: did not find expected ',' "
                              "or ']' (while parsing a flow sequence)");
        CHECK_STR(r.lines[1], "--set seed=-1: error: seed: expected an integer >= 0, got \"-1\"");
    }
    loaded_free(&r);
}

static void test_yamldoc(void) {
    Diag d;
    diag_init(&d, NULL, "t.yaml");
    const char *t = "a: 1\n"
                    "b:\n"
                    "  - x\n"
                    "  - {c: \"q\", d: [1, 2]}\n"
                    "base: &base {k: 1, j: 2}\n"
                    "m: {<<: *base, j: 3}\n"
                    "e:\n";
    YDoc *doc = ydoc_parse(t, strlen(t), NULL, &d);
    CHECK(doc != NULL && d.nerrors == 0);
    if (doc) {
        const YNode *root = doc->root;
        CHECK(root->kind == YNODE_MAP && root->npairs == 5);
        const YNode *a = ynode_get(root, "a");
        CHECK(a && a->line == 1 && a->col == 4 && a->plain && strcmp(a->str, "1") == 0);
        const YNode *b = ynode_get(root, "b");
        CHECK(b && b->kind == YNODE_SEQ && b->nitems == 2 && b->line == 3 && b->col == 3);
        const YNode *c = ynode_get(b->items[1], "c");
        CHECK(c && !c->plain && c->line == 4 && c->col == 9);
        char path[128];
        ynode_path(ynode_get(b->items[1], "d")->items[1], path, sizeof path);
        CHECK_STR(path, "b[1].d[1]");
        const YNode *m = ynode_get(root, "m");
        CHECK(m && m->npairs == 2);
        CHECK(strcmp(ynode_get(m, "j")->str, "3") == 0 && strcmp(ynode_get(m, "k")->str, "1") == 0);
        CHECK(ynode_is_null(ynode_get(root, "e")));
    }
    ydoc_free(doc);

    /* duplicates: reported, flagged, first one kept */
    const char *dup = "x: 1\ny: {a: 1, a: 2}\nx: 3\n";
    doc = ydoc_parse(dup, strlen(dup), NULL, &d);
    CHECK(doc && doc->nerrors == 2 && d.nerrors == 2);
    if (doc) CHECK(strcmp(ynode_get(doc->root, "x")->str, "1") == 0);
    ydoc_free(doc);
    diag_free(&d);

    /* billion laughs stops at the node cap, quickly */
    char bomb[4096] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; i++) {
        char line[128];
        snprintf(line, sizeof line, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n",
                 'a' + i, 'a' + i, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1,
                 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1);
        strcat(bomb, line);
    }
    diag_init(&d, NULL, "bomb.yaml");
    clock_t t0 = clock();
    doc = ydoc_parse(bomb, strlen(bomb), NULL, &d);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(doc == NULL && d.nerrors == 1);
    CHECK(secs < 1.0);
    diag_free(&d);

    /* deep nesting is refused, not recursed into */
    char deep[400];
    memset(deep, '[', 200);
    deep[200] = '\0';
    diag_init(&d, NULL, "deep.yaml");
    doc = ydoc_parse(deep, strlen(deep), NULL, &d);
    CHECK(doc == NULL && d.nerrors == 1);
    diag_free(&d);

    /* a recursive alias and a NUL inside a string */
    const char *rec = "a: &a [1, *a]\n";
    diag_init(&d, NULL, "rec.yaml");
    doc = ydoc_parse(rec, strlen(rec), NULL, &d);
    CHECK(doc == NULL && d.nerrors == 1);
    diag_free(&d);
    const char *nul = "a: \"x\\0y\"\n";
    diag_init(&d, NULL, "nul.yaml");
    doc = ydoc_parse(nul, strlen(nul), NULL, &d);
    CHECK(doc != NULL && d.nerrors == 1);
    ydoc_free(doc);
    diag_free(&d);

    /* arena: many allocations, one free (valgrind/asan would catch a leak) */
    Arena *a = arena_create();
    for (int i = 0; i < 10000; i++) {
        char *p = arena_alloc(a, (size_t)(i % 300) + 1);
        CHECK(((uintptr_t)p % 16) == 0 || i > 0);
        p[0] = 'x';
    }
    char *big = arena_alloc(a, 1 << 20);
    big[(1 << 20) - 1] = 1;
    arena_free(a);
}

static void test_diag(void) {
    CHECK(diag_edit_distance("epoch", "epochs") == 1);
    CHECK(diag_edit_distance("epcohs", "epochs") == 1); /* transposition */
    CHECK(diag_edit_distance("", "abc") == 3);
    CHECK(diag_edit_distance("kitten", "sitting") == 3);
    const char *c[] = {"units", "epochs", "activation", "optimizer"};
    CHECK_STR(diag_nearest("epoch", c, 4), "epochs");
    CHECK_STR(diag_nearest("optimiser", c, 4), "optimizer");
    CHECK_STR(diag_nearest("activaton", c, 4), "activation");
    CHECK(diag_nearest("x", c, 4) == NULL);
    CHECK(diag_nearest("colour", c, 4) == NULL);

    /* ordering: --set messages first, then by line and column; notes stay with their error */
    FILE *f = tmpfile();
    Diag d;
    diag_init(&d, f, "f.yaml");
    diag_emit(&d, DIAG_ERROR, NULL, 9, 1, "late");
    diag_emit(&d, DIAG_NOTE, NULL, 2, 1, "note of late");
    diag_emit(&d, DIAG_WARNING, NULL, 3, 7, "middle");
    diag_emit(&d, DIAG_ERROR, "--set a=1", 0, 0, "from the command line");
    diag_emit(&d, DIAG_ERROR, NULL, 0, 0, "whole file");
    diag_flush(&d);
    CHECK(d.nerrors == 3 && d.nwarnings == 1);
    diag_free(&d);
    rewind(f);
    char buf[1024] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    CHECK_STR(buf, "--set a=1: error: from the command line\n"
                   "f.yaml: error: whole file\n"
                   "f.yaml:3:7: warning: middle\n"
                   "f.yaml:9:1: error: late\n"
                   "f.yaml:2:1: note: note of late\n");
}

static void test_plan(void) {
    Loaded r;
    load_capture(&r, "l17.yaml", L17, NULL, 0);
    CHECK(r.c != NULL);
    if (!r.c) return;
    FILE *f = tmpfile();
    plan_print(f, r.c, NULL);
    long n = ftell(f);
    rewind(f);
    char *out = calloc(1, (size_t)n + 1);
    size_t got = fread(out, 1, (size_t)n, f);
    out[got] = '\0';
    fclose(f);
    /* 784*400+400 + 400*784+784 = 628,384; 6*N*I*O (decoder) + 4*N*I*O (encoder on the data)
     * = 10 * 60000 * 313600 = 188.16 GFLOP */
    CHECK(strstr(out, "[1] pretrain_layer (ae1): encoder 784->400 tanh, decoder 400->784 "
                      "sigmoid\n") != NULL);
    CHECK(strstr(out, "parameters: 628,384 trained / 628,384 in the model") != NULL);
    CHECK(strstr(out, "per epoch: 60 batches of 1000, 188.2 GFLOP") != NULL);
    /* append: enc 784-400 (4x), 400-256 (6x), dec 256-400, 400-784 (6x):
     * 60000 * (4*313600 + 6*102400 + 6*102400 + 6*313600) = 261.9 GFLOP */
    CHECK(strstr(out, "trains the whole autoencoder 784-400-256-400-784 end to end") != NULL);
    CHECK(strstr(out, "261.9 GFLOP") != NULL);
    CHECK(strstr(out, "drops the decoder (417,184 parameters)") != NULL);
    CHECK(strstr(out, "head 256->10 log-softmax; fine-tunes the encoder") != NULL);
    /* memory of the pretrain step: params 4*628384, grads the same, sgd without momentum no
     * state, activations 2 * 4 * 1000 * (784 + 400 + 784) */
    CHECK(strstr(out, "memory: 20,771,072 bytes") != NULL);
    /* custom data dims: D = 100, C = 3, N = 500 */
    f = tmpfile();
    plan_print(f, r.c, (const int[]){100, 3, 500});
    rewind(f);
    memset(out, 0, (size_t)n);
    got = fread(out, 1, (size_t)n, f);
    fclose(f);
    CHECK(strstr(out, "encoder 100->400 tanh") != NULL);
    CHECK(strstr(out, "head 256->3 log-softmax") != NULL);
    free(out);
    loaded_free(&r);
}

/* Every prefix of a good config, and random byte edits of it, load or fail cleanly. */
static void test_robustness(void) {
    char *text = read_file("tests/good_configs/features.yaml");
    CHECK(text != NULL);
    if (!text) return;
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    int failed = 0, loaded = 0;
    for (size_t cut = 0; cut <= len; cut += 3) {
        memcpy(buf, text, cut);
        buf[cut] = '\0';
        int ne;
        Config *c = config_load_string("cut.yaml", buf, NULL, 0, NULL, &ne);
        if (c) loaded++;
        else failed++;
        CHECK((c != NULL) == (ne == 0));
        config_free(c);
    }
    uint64_t s = 12345;
    const char alphabet[] = "{}[]:,-&*#'\"\n \t0123456789.ex<|>!%@`";
    for (int it = 0; it < 1500; it++) {
        memcpy(buf, text, len + 1);
        for (int k = 0; k < 3; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(s >> 33) % len;
            buf[at] = alphabet[(s >> 20) % (sizeof alphabet - 1)];
        }
        int ne;
        Config *c = config_load_string("mut.yaml", buf, NULL, 0, NULL, &ne);
        if (c) loaded++;
        else failed++;
        config_free(c);
    }
    printf("robustness: %d loaded, %d rejected\n", loaded, failed);
    CHECK(failed > 0 && loaded > 0);
    free(buf);
    free(text);
}

static void test_write_errors(void) {
    Loaded r;
    load_capture(&r, "l17.yaml", L17, NULL, 0);
    AeError err = {{0}};
    CHECK(!config_write_resolved(r.c, "/nonexistent-dir/x.yaml", NULL, 0, &err));
    /* the message names the file asked for, not the temporary file behind it */
    CHECK(strstr(err.msg, "/nonexistent-dir/x.yaml: error: cannot create") == err.msg);
    CHECK(strstr(err.msg, "No such file or directory") != NULL);
    /* a missing file is one clean error */
    int ne = 0;
    CHECK(config_load("tests/good_configs/does-not-exist.yaml", NULL, 0, &ne) == NULL);
    CHECK(ne == 1);
    loaded_free(&r);
}

/* Every key's default obeys its own bounds (schema_apply asserts it), and each stage kind
 * loads with nothing but its required keys. */
static void test_schema(void) {
    const MapSpec *top = schema_top();
    CHECK(schema_find(top, "pipeline") != NULL && schema_find(top, "sweep") != NULL);
    for (int k = 0; k < STAGE_COUNT; k++) {
        CHECK(schema_stage_kind(stage_kind_names[k]) == k);
        const MapSpec *spec = schema_stage((StageKind)k);
        for (int i = 0; i < spec->nkeys; i++) CHECK(spec->keys[i].help && spec->keys[i].help[0]);
    }
    CHECK(schema_stage_kind("nope") == -1);
    char buf[128];
    schema_describe(schema_find(schema_stage(STAGE_ADD_SPARSITY), "rho"), buf, sizeof buf);
    CHECK_STR(buf, "a number in (0, 1)");
    schema_describe(schema_find(schema_stage(STAGE_PRETRAIN_LAYER), "epochs"), buf, sizeof buf);
    CHECK_STR(buf, "an integer >= 1");
}

int main(void) {
    tu_tmpdir("config");
    test_diag();
    test_yamldoc();
    test_schema();
    test_fields();
    test_sets();
    test_plan();
    test_write_errors();
    test_good_configs();
    test_bad_catalogue();
    test_robustness();
    return tu_tmpdir_done(tu_summary("test_config"));
}
