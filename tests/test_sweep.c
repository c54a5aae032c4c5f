/* tests/test_sweep.c — runner/sweep without running anything: splitting --set lists, the
 * range/linspace/logspace helpers, directory names, the order of the points (grid x zip x
 * seeds, the command line replacing the block's entries), and the errors of malformed sweeps
 * with their positions. Running, skipping, collecting and emitting are tests/test_sweep.sh's.
 * Configs are validated (no data is read), so no data set is needed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"
#include "sweep.h"
#include "testutil.h"

static char errtext[1 << 15];

/* A tiny valid pipeline; the sweep: block (and anything else) goes before it. */
static const char PIPELINE[] =
    "pipeline:\n"
    "  - load_dataset: {name: mnist, subset: 100}\n"
    "  - add_sparsity: {kind: l1, weight: 0.1}\n"
    "  - pretrain_layer: {units: 8, optimizer: {name: sgd, lr: 0.5}, epochs: 1}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {classes: 10, optimizer: {name: sgd, lr: 0.1}, epochs: 1}\n";

static const char *write_config(const char *name, const char *head) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_dir(), name);
    char text[4096];
    snprintf(text, sizeof text, "%s%s", head, PIPELINE);
    AeError err;
    if (!fs_write_atomic(path, text, strlen(text), &err)) fprintf(stderr, "%s\n", err.msg);
    return path;
}

/* sweep_open with stderr captured into errtext. */
static int open_sweep(const char *file, const char *const *sets, int nsets, Sweep **out) {
    char path[512];
    snprintf(path, sizeof path, "%s/stderr.txt", tu_dir());
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    int rc = sweep_open(file, sets, nsets, "OUT", out);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    AeError err;
    char *t = fs_read_file(path, NULL, &err);
    snprintf(errtext, sizeof errtext, "%s", t ? t : "");
    free(t);
    return rc;
}

static bool has(const char *needle) {
    if (strstr(errtext, needle)) return true;
    fprintf(stderr, "  stderr lacks \"%s\"; it was:\n%s", needle, errtext);
    return false;
}

/* Joins the values with '|' for compact checks. */
static const char *joined(char **v, int n) {
    static char buf[2048];
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i) strcat(buf, "|");
        strncat(buf, v[i], sizeof buf - strlen(buf) - 2);
    }
    return buf;
}

static void split_is(const char *text, const char *want) {
    char **v = NULL, why[512] = "";
    int n = sweep_split_values(text, &v, why, sizeof why);
    CHECK(n >= 1);
    if (n >= 1) {
        CHECK_STR(joined(v, n), want);
    } else {
        fprintf(stderr, "  '%s': %s\n", text, why);
    }
    sweep_values_free(v, n);
}

static void split_fails(const char *text, const char *why_part) {
    char **v = NULL, why[512] = "";
    int n = sweep_split_values(text, &v, why, sizeof why);
    CHECK(n == -1);
    CHECK(strstr(why, why_part) != NULL);
    if (!strstr(why, why_part)) fprintf(stderr, "  '%s': why = \"%s\"\n", text, why);
    if (n > 0) sweep_values_free(v, n);
}

static void test_split(void) {
    split_is("1,2,3", "1|2|3");
    split_is(" 0.5 , 1e-3 ", "0.5|1e-3");
    split_is("[256,128]", "[256,128]");
    split_is("[256, 128],[64]", "[256, 128]|[64]");
    split_is("{name: adam, lr: 0.01},{name: sgd, lr: 0.1}", "{name: adam, lr: 0.01}|{name: sgd, lr: 0.1}");
    split_is("'a,b'", "'a,b'");
    split_is("\"a,\\\"b\",c", "\"a,\\\"b\"|c");
    split_is("it's,x", "it's|x"); /* a quote inside a plain scalar quotes nothing */
    split_is("x", "x");
    split_is("", "");
    split_is("[1,2", "[1,2"); /* unbalanced: one value, left to the config loader */
    split_is("0,range(1,4)", "0|1|2|3");
    split_is("linspace(0, 1, 3)", "0|0.5|1");
    split_fails("1,,2", "empty value (item 2 of 3)");
    split_fails("1,", "empty value (item 2 of 2)");
    split_fails("range(0,1,0)", "must not be 0");
}

static void helper_is(const char *text, const char *want) {
    char **v = NULL, why[512] = "";
    int n = sweep_expand_helper(text, &v, why, sizeof why);
    CHECK(n >= 1);
    if (n >= 1) CHECK_STR(joined(v, n), want);
    else fprintf(stderr, "  '%s': n = %d, %s\n", text, n, why);
    sweep_values_free(v, n > 0 ? n : 0);
}

static void helper_fails(const char *text) {
    char **v = NULL, why[512] = "";
    int n = sweep_expand_helper(text, &v, why, sizeof why);
    CHECK(n == -1 && why[0]);
    if (n > 0) sweep_values_free(v, n);
}

static void test_helpers(void) {
    helper_is("range(0,5)", "0|1|2|3|4");
    helper_is("range(1, 10, 3)", "1|4|7");
    helper_is("range(5,0,-2)", "5|3|1");
    helper_is("range(0,1,0.25)", "0|0.25|0.5|0.75");
    helper_is("range(0, 0.3, 0.1)", "0|0.1|0.2"); /* 0.1*3 rounds above 0.3: not included */
    helper_is("linspace(0,1,5)", "0|0.25|0.5|0.75|1");
    helper_is("linspace(2,2,1)", "2");
    helper_is("logspace(-3,-1,3)", "0.001|0.01|0.1");
    helper_is("logspace(0, 2, 5)", "1|3.16227766|10|31.6227766|100");
    helper_is(" range (1,3) ", "1|2");
    helper_fails("range(0,0)");
    helper_fails("range(3,1)");
    helper_fails("range(1)");
    helper_fails("range(a,b)");
    helper_fails("linspace(0,1,0)");
    helper_fails("linspace(0,1,2.5)");
    helper_fails("logspace(1,2)");
    helper_fails("range(0,100000)");
    char **v = NULL, why[64];
    CHECK(sweep_expand_helper("rangex(1,2)", &v, why, sizeof why) == 0);
    CHECK(sweep_expand_helper("range", &v, why, sizeof why) == 0);
    CHECK(sweep_expand_helper("0.5", &v, why, sizeof why) == 0);
}

static void test_sanitise(void) {
    char buf[64];
    sweep_sanitise("attach_classifier.hidden=[256, 128]", buf, sizeof buf);
    CHECK_STR(buf, "attach_classifier.hidden=256-128");
    sweep_sanitise("a=x/y:z \"q\" 'r' {s}", buf, sizeof buf);
    CHECK_STR(buf, "a=x-y-zqrs");
    sweep_sanitise("seed=1e-3+2", buf, 6);
    CHECK_STR(buf, "seed=");
}

static void test_not_a_sweep(void) {
    Sweep *s = (Sweep *)1;
    const char *plain = write_config("plain.yaml", "name: plain\n");
    const char *one[] = {"pretrain_layer.epochs=2", "attach_classifier.hidden=[32,16]"};
    CHECK(open_sweep(plain, one, 2, &s) == 0 && s == NULL);
    CHECK(errtext[0] == '\0');
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.yaml", tu_dir());
    const char *many[] = {"seed=1,2"};
    CHECK(open_sweep(missing, many, 1, &s) == 0 && s == NULL); /* config_load reports it */
    const char *empty = write_config("empty_block.yaml", "name: e\nsweep: {}\n");
    CHECK(open_sweep(empty, NULL, 0, &s) == 0 && s == NULL);
}

/* The point values of parameter i, joined. */
static const char *column(const Sweep *s, int i) {
    static char buf[2048];
    buf[0] = '\0';
    for (int k = 0; k < sweep_npoints(s); k++) {
        if (k) strcat(buf, "|");
        strncat(buf, sweep_point_value(s, k, i), sizeof buf - strlen(buf) - 2);
    }
    return buf;
}

static void test_order(void) {
    const char *f = write_config("order.yaml",
                                 "name: order\n"
                                 "sweep:\n"
                                 "  grid:\n"
                                 "    add_sparsity.weight: [0.01, 0.1]\n"
                                 "  zip:\n"
                                 "    pretrain_layer.units: [8, 16]\n"
                                 "    attach_classifier.hidden: [[4], [8, 4]]\n"
                                 "  seeds: 2\n");
    const char *sets[] = {"attach_classifier.optimizer.lr=0.1,0.5", "pretrain_layer.epochs=2"};
    Sweep *s = NULL;
    CHECK(open_sweep(f, sets, 2, &s) == 0 && s != NULL);
    if (!s) {
        fprintf(stderr, "%s", errtext);
        return;
    }
    /* grid (file, then command line) x zip x seeds: 2 x 2 x 2 x 2 */
    CHECK(sweep_npoints(s) == 16);
    CHECK(sweep_nparams(s) == 5);
    CHECK_STR(sweep_param_key(s, 0), "add_sparsity.weight");
    CHECK_STR(sweep_param_key(s, 1), "attach_classifier.optimizer.lr");
    CHECK_STR(sweep_param_key(s, 2), "pretrain_layer.units");
    CHECK_STR(sweep_param_key(s, 3), "attach_classifier.hidden");
    CHECK_STR(sweep_param_key(s, 4), "seed");
    CHECK_STR(column(s, 0), "0.01|0.01|0.01|0.01|0.01|0.01|0.01|0.01|0.1|0.1|0.1|0.1|0.1|0.1|0.1|0.1");
    CHECK_STR(column(s, 1), "0.1|0.1|0.1|0.1|0.5|0.5|0.5|0.5|0.1|0.1|0.1|0.1|0.5|0.5|0.5|0.5");
    CHECK_STR(column(s, 2), "8|8|16|16|8|8|16|16|8|8|16|16|8|8|16|16");
    CHECK_STR(column(s, 3), "[4]|[4]|[8, 4]|[8, 4]|[4]|[4]|[8, 4]|[8, 4]|[4]|[4]|[8, 4]|[8, 4]|[4]|[4]|[8, 4]|[8, 4]");
    CHECK_STR(column(s, 4), "1|2|1|2|1|2|1|2|1|2|1|2|1|2|1|2");
    CHECK_STR(sweep_root(s), "OUT");
    char d[512];
    sweep_point_dir(s, 3, d, sizeof d);
    CHECK_STR(d, "OUT/sweep/03_add_sparsity.weight=0.01_attach_classifier.optimizer.lr=0.1_"
                 "pretrain_layer.units=16_attach_classifier.hidden=8-4_seed=2");
    CHECK(sweep_first_valid(s) == 0);
    Config *c = sweep_point_config(s, 15, NULL, NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->seed == 2);
        CHECK(c->stages[2].units == 16 && c->stages[2].train.epochs == 2);
        CHECK(c->stages[4].nhidden == 2 && c->stages[4].hidden[0] == 8);
        CHECK_NEAR(c->stages[4].train.opt.lr, 0.5, 0, 1e-6);
        CHECK_NEAR(c->stages[1].sparsity.weight, 0.1, 0, 1e-6);
    }
    config_free(c);
    sweep_free(s);

    /* the command line replaces the block's entries: one value fixes it, several sweep it */
    const char *over[] = {"add_sparsity.weight=0.5", "seed=7,8,9"};
    CHECK(open_sweep(f, over, 2, &s) == 0 && s != NULL);
    if (s) {
        CHECK(sweep_npoints(s) == 6); /* zip (2) x seed (3) */
        CHECK(sweep_nparams(s) == 3);
        CHECK_STR(sweep_param_key(s, 2), "seed");
        CHECK_STR(column(s, 2), "7|8|9|7|8|9");
        CHECK_STR(column(s, 0), "8|8|8|16|16|16");
    }
    sweep_free(s);

    /* shorthand entries, helpers, seed lists; the name comes from the first valid point */
    const char *g = write_config("short.yaml",
                                 "name: short\n"
                                 "sweep:\n"
                                 "  pretrain_layer.units: range(4, 13, 4)\n"
                                 "  attach_classifier.optimizer.lr: logspace(-2, -1, 2)\n"
                                 "  seeds: [3, 1]\n");
    CHECK(open_sweep(g, NULL, 0, &s) == 0 && s != NULL);
    if (s) {
        CHECK(sweep_npoints(s) == 12);
        CHECK_STR(column(s, 0), "4|4|4|4|8|8|8|8|12|12|12|12");
        CHECK_STR(column(s, 1), "0.01|0.01|0.1|0.1|0.01|0.01|0.1|0.1|0.01|0.01|0.1|0.1");
        CHECK_STR(column(s, 2), "3|1|3|1|3|1|3|1|3|1|3|1");
        sweep_point_dir(s, 11, d, sizeof d);
        CHECK_STR(d, "OUT/sweep/11_pretrain_layer.units=12_attach_classifier.optimizer.lr=0.1_seed=1");
    }
    sweep_free(s);
    /* the default root is results/<name> */
    CHECK(sweep_open(g, NULL, 0, NULL, &s) == 0 && s != NULL);
    if (s) CHECK_STR(sweep_root(s), "results/short");
    sweep_free(s);

    /* an invalid first point: the sweep goes on (the point will fail), named by point 1 */
    const char *bad_first[] = {"pretrain_layer.units=0,8"};
    const char *plain = write_config("plain.yaml", "name: plain\n");
    CHECK(open_sweep(plain, bad_first, 1, &s) == 0 && s != NULL);
    if (s) {
        CHECK(sweep_first_valid(s) == 1);
        CHECK_STR(sweep_root(s), "OUT");
    }
    sweep_free(s);
}

static void test_errors(void) {
    Sweep *s = NULL;
    const char *f = write_config("zip.yaml",
                                 "name: z\n"
                                 "sweep:\n"
                                 "  zip:\n"
                                 "    pretrain_layer.units: [8, 16]\n"
                                 "    attach_classifier.hidden: [[4], [8], [2]]\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2 && s == NULL);
    CHECK(has("zip.yaml:5:5: error: sweep.zip.attach_classifier.hidden: 3 values, but "
              "sweep.zip.pretrain_layer.units has 2"));

    f = write_config("seeds.yaml", "name: z\nsweep:\n  seeds: 0\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("seeds.yaml:3:10: error: sweep.seeds: expected a count N >= 1 (seeds 1..N) or a "
              "list of seeds, got \"0\""));

    f = write_config("seeds2.yaml", "name: z\nsweep:\n  seed: [1, 2]\n  seeds: 3\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("error: sweep: the seed is swept twice"));

    f = write_config("name.yaml", "name: z\nsweep:\n  grid: {name: [a, b]}\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("name.yaml:3:10: error: sweep: 'name' cannot be swept"));

    f = write_config("helper.yaml", "name: z\nsweep:\n  grid:\n    pretrain_layer.units: range(8, 4)\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("helper.yaml:4:27: error: sweep.grid.pretrain_layer.units: range(): 'range(8, 4)' is empty"));

    f = write_config("emptylist.yaml", "name: z\nsweep:\n  pretrain_layer.units: []\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("emptylist.yaml:3:25: error: sweep.pretrain_layer.units: an empty list of values"));

    f = write_config("notmap.yaml", "name: z\nsweep: [1, 2]\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("notmap.yaml:2:8: error: sweep: expected a mapping"));

    f = write_config("badkey.yaml", "name: z\nsweep:\n  grid: {\"a b\": [1, 2]}\n");
    CHECK(open_sweep(f, NULL, 0, &s) == 2);
    CHECK(has("error: sweep.grid.a b: 'a b' is not a key path"));

    const char *plain = write_config("plain.yaml", "name: plain\n");
    const char *gap[] = {"seed=1,,2"};
    CHECK(open_sweep(plain, gap, 1, &s) == 2);
    CHECK(has("--set seed=1,,2: error: empty value (item 2 of 3) in the list '1,,2'"));

    const char *twice[] = {"seed=1,2", "seed=3,4"};
    CHECK(open_sweep(plain, twice, 2, &s) == 2);
    CHECK(has("--set seed=3,4: error: 'seed' is swept twice on the command line"));

    /* every point invalid: point 0's errors, then one summary line */
    const char *bad[] = {"pretrain_layer.units=0,-1"};
    CHECK(open_sweep(plain, bad, 1, &s) == 2 && s == NULL);
    CHECK(has("--set pretrain_layer.units=0: error: pipeline[2].pretrain_layer.units:"));
    CHECK(has("(point 0; no point of the sweep has a valid config)"));

    /* too many points */
    const char *huge[] = {"pretrain_layer.units=range(1,1001)", "seed=range(0,1000)"};
    CHECK(open_sweep(plain, huge, 2, &s) == 2);
    CHECK(has("more than 100000 points"));
}

int main(void) {
    tu_tmpdir("sweep");
    test_split();
    test_helpers();
    test_sanitise();
    test_not_a_sweep();
    test_order();
    test_errors();
    return tu_tmpdir_done(tu_summary("test_sweep"));
}
