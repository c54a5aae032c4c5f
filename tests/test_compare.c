/* tests/test_compare.c — `aelab compare` (runner/compare): verdicts, tolerances, exit statuses
 * and messages. compare_main is called directly with stdout and stderr sent to temp files.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "compare.h"
#include "fsutil.h"
#include "testutil.h"

static char out[1 << 16], errtext[1 << 16];

static const char *at(const char *rel) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_dir(), rel);
    return buf[k];
}

static void write_text(const char *path, const char *text) {
    AeError err;
    if (!fs_write_atomic(path, text, strlen(text), &err))
        fprintf(stderr, "%s\n", err.msg);
}

static void slurp_into(char *buf, size_t n, const char *path) {
    AeError err;
    size_t len = 0;
    char *s = fs_read_file(path, &len, &err);
    snprintf(buf, n, "%s", s ? s : "");
    free(s);
}

/* Runs `aelab compare ARGS...` (NULL-terminated) and returns its status; out and errtext get
 * what it printed. */
static int run(const char *first, ...) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "compare";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(at("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(at("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    int rc = compare_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp_into(out, sizeof out, at("stdout.txt"));
    slurp_into(errtext, sizeof errtext, at("stderr.txt"));
    return rc;
}

/* The table line of `metric` in out, or "" (a static copy). */
static const char *line_of(const char *metric) {
    static char line[512];
    line[0] = '\0';
    size_t n = strlen(metric);
    for (const char *p = out; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > n && strncmp(p, metric, n) == 0 && p[n] == ' ') {
            snprintf(line, sizeof line, "%.*s", (int)len, p);
            break;
        }
        p += len + (e ? 1 : 0);
    }
    return line;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void dump_on_failure(int before) {
    if (tu_failures > before)
        fprintf(stderr, "--- stdout:\n%s--- stderr:\n%s---\n", out, errtext);
}

static void test_pass_and_table(void) {
    int f0 = tu_failures;
    write_text(at("base.csv"), "metric,value,tolerance\n"
                               "test_accuracy,91.83,\n"
                               "pretrain_layer_final_loss,0.0661,\n");
    write_text(at("now.csv"), "metric,value\n"
                              "pretrain_layer_final_loss,0.0672\n"
                              "test_accuracy,91.78\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 0);
    /* The exact table: aligned columns, baseline order, the summary line. */
    CHECK_STR(out,
              "metric                     baseline     now             delta  tolerance  verdict\n"
              "test_accuracy                 91.83   91.78             -0.05        0.5  ok\n"
              "pretrain_layer_final_loss    0.0661  0.0672  +0.0011 (+1.66%)         3%  ok\n"
              "2 metrics compared: 2 ok, 0 REGRESSION, 0 IMPROVED, 0 missing; 0 new\n");
    CHECK_STR(errtext, "");
    dump_on_failure(f0);
}

static void test_regression_missing_new(void) {
    int f0 = tu_failures;
    write_text(at("base.csv"), "metric,value\ntest_accuracy,91.83\nclass_5_accuracy,88.0\n");

    /* Worse by more than 0.5 points -> REGRESSION, 3. */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91.2\nclass_5_accuracy,88.1\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("test_accuracy"), "REGRESSION"));
    CHECK(ends_with(line_of("class_5_accuracy"), "ok"));

    /* Exactly at the tolerance passes; just past it fails. */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91.33\nclass_5_accuracy,88.0\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 0);
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91.32\nclass_5_accuracy,88.0\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);

    /* A missing metric fails. */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91.83\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("class_5_accuracy"), "missing"));
    CHECK(strstr(out, "1 ok, 0 REGRESSION, 0 IMPROVED, 1 missing; 0 new") != NULL);

    /* Extra metrics are reported as new and do not fail. */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91.83\nclass_5_accuracy,88.2\n"
                              "backend,cpu\nrecon_mse,0.0123\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 0);
    CHECK(ends_with(line_of("backend"), "new"));
    CHECK(strstr(line_of("backend"), " cpu ") != NULL);
    CHECK(ends_with(line_of("recon_mse"), "new"));
    CHECK(strstr(out, "; 2 new\n") != NULL);

    /* Better than the baseline beyond tolerance: IMPROVED, which also fails (stale baseline). */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,93.0\nclass_5_accuracy,88.0\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("test_accuracy"), "IMPROVED"));

    /* A value that is not a number is a regression. */
    write_text(at("now.csv"), "metric,value\ntest_accuracy,nan\nclass_5_accuracy,n/a\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("test_accuracy"), "REGRESSION"));
    CHECK(ends_with(line_of("class_5_accuracy"), "REGRESSION"));
    dump_on_failure(f0);
}

static void test_relative_and_overrides(void) {
    int f0 = tu_failures;
    /* Losses default to 3% relative; lower is better. */
    write_text(at("base.csv"), "metric,value,tolerance\nae_final_loss,0.1000,\n"
                               "cls_final_loss,0.2,10 %\nmean_activation,0.5,0.01\n");
    write_text(at("now.csv"), "metric,value\nae_final_loss,0.1029\ncls_final_loss,0.219\n"
                              "mean_activation,0.505\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 0);
    CHECK(strstr(line_of("ae_final_loss"), "+0.0029 (+2.90%)") != NULL);
    CHECK(strstr(line_of("cls_final_loss"), " 10% ") != NULL);

    write_text(at("now.csv"), "metric,value\nae_final_loss,0.1031\ncls_final_loss,0.19\n"
                              "mean_activation,0.505\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("ae_final_loss"), "REGRESSION"));
    CHECK(ends_with(line_of("cls_final_loss"), "ok"));

    write_text(at("now.csv"), "metric,value\nae_final_loss,0.09\ncls_final_loss,0.2\n"
                              "mean_activation,0.45\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 3);
    CHECK(ends_with(line_of("ae_final_loss"), "IMPROVED")); /* lower loss */
    CHECK(ends_with(line_of("mean_activation"), "REGRESSION")); /* no known direction */

    /* --tol overrides the file's column and the default; --default-tol replaces the built-in
     * defaults (not the file's column). */
    CHECK(run(at("base.csv"), at("now.csv"), "--tol", "ae_final_loss=15%",
              "--tol=mean_activation=0.05", NULL) == 0);
    CHECK(strstr(line_of("ae_final_loss"), " 15% ") != NULL);
    CHECK(run(at("base.csv"), at("now.csv"), "--default-tol", "20%", NULL) == 3);
    CHECK(ends_with(line_of("ae_final_loss"), "ok"));
    CHECK(ends_with(line_of("mean_activation"), "REGRESSION")); /* its own 0.01 still applies */
    /* An absolute default: |0.09 - 0.1| = 0.01 <= 0.02. */
    CHECK(run(at("base.csv"), at("now.csv"), "--default-tol=0.02", "--tol", "mean_activation=0.1",
              NULL) == 0);
    CHECK(strstr(line_of("ae_final_loss"), " 0.02 ") != NULL);
    CHECK(ends_with(line_of("mean_activation"), "ok"));
    dump_on_failure(f0);
}

static void test_run_dir_and_usage(void) {
    int f0 = tu_failures;
    char rd[512];
    snprintf(rd, sizeof rd, "%s/run1", tu_dir());
    AeError err;
    CHECK(fs_mkdir_p(rd, &err));
    write_text(at("base.csv"), "metric,value\ntest_accuracy,91.83\n");
    write_text(at("run1/summary.csv"), "metric,value\ntest_accuracy,91.9\n");
    CHECK(run(at("base.csv"), rd, NULL) == 0);
    CHECK(ends_with(line_of("test_accuracy"), "ok"));

    CHECK(run("--help", NULL) == 0);
    CHECK(strncmp(out, "usage: aelab compare BASELINE CURRENT", 37) == 0);
    CHECK(run(at("base.csv"), NULL) == 2);
    CHECK(strstr(errtext, "missing CURRENT") != NULL);
    CHECK(run(at("base.csv"), rd, "--frobnicate", NULL) == 2);
    CHECK(strstr(errtext, "unknown option '--frobnicate'") != NULL);
    CHECK(run(at("base.csv"), rd, "--tol", "test_accuracy", NULL) == 2);
    CHECK(run(at("base.csv"), rd, "--tol", "test_accuracy=-1", NULL) == 2);
    CHECK(run(at("base.csv"), rd, "--default-tol", "lots", NULL) == 2);
    CHECK(run(at("base.csv"), rd, "extra", NULL) == 2);
    CHECK(run(at("base.csv"), tu_dir(), NULL) == 2); /* a directory without summary.csv */
    CHECK(strstr(errtext, "no summary.csv") != NULL);
    CHECK(run(at("base.csv"), rd, "--tol", "nosuch=1", NULL) == 0);
    CHECK(strstr(errtext, "warning: --tol nosuch: no such metric") != NULL);
    dump_on_failure(f0);
}

static void test_malformed(void) {
    int f0 = tu_failures;
    char want[1024];
    write_text(at("now.csv"), "metric,value\ntest_accuracy,91\n");

    write_text(at("bad.csv"), "metric,value,tolerance\ntest_accuracy,91.83,0.5\nloss,0.1\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    snprintf(want, sizeof want,
             "%s:3: error: row has 2 fields, expected 3 (as in the header on line 1)\n",
             at("bad.csv"));
    CHECK_STR(errtext, want);
    CHECK_STR(out, ""); /* nothing printed on stdout before the error */

    write_text(at("bad.csv"), "metric,value\ntest_accuracy,91.8x\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    snprintf(want, sizeof want,
             "%s:2: error: test_accuracy: value: expected a finite number, got '91.8x'\n",
             at("bad.csv"));
    CHECK_STR(errtext, want);

    write_text(at("bad.csv"), "metric,value,tolerance\ntest_accuracy,91.8,3 percent\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "bad.csv:2: error: test_accuracy: tolerance:") != NULL);

    write_text(at("bad.csv"), "metric,value\na_accuracy,1\nb,2\na_accuracy,3\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    snprintf(want, sizeof want, "%s:4: error: duplicate metric 'a_accuracy' (first on line 2)\n",
             at("bad.csv"));
    CHECK_STR(errtext, want);

    write_text(at("bad.csv"), "name,score\ntest_accuracy,91\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "bad.csv:1: error: missing column 'metric'") != NULL);

    write_text(at("bad.csv"), "metric,value\n\"test_accuracy,91\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "malformed CSV") != NULL);

    write_text(at("bad.csv"), "metric,value\n");
    CHECK(run(at("bad.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "the baseline lists no metrics") != NULL);

    CHECK(run(at("missing.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "missing.csv: error: cannot open: No such file or directory") != NULL);

    /* A malformed CURRENT is an error too (2), not a regression. */
    write_text(at("base.csv"), "metric,value\ntest_accuracy,91.83\n");
    write_text(at("now.csv"), "metric,value\ntest_accuracy,1,2\n");
    CHECK(run(at("base.csv"), at("now.csv"), NULL) == 2);
    CHECK(strstr(errtext, "now.csv:2: error: row has 3 fields") != NULL);
    dump_on_failure(f0);
}

int main(void) {
    tu_tmpdir("compare");
    test_pass_and_table();
    test_regression_missing_new();
    test_relative_and_overrides();
    test_run_dir_and_usage();
    test_malformed();
    return tu_tmpdir_done(tu_summary("test_compare"));
}
