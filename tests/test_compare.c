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

/* The fixed case of the report tests: a regression, a NaN, an ok, a missing and a new metric
 * (with characters every format must escape), compared from inside the temp directory so that
 * the paths in the reports are the same every time. */
static int run_fixed(const char *first, ...) {
    write_text(at("rb.csv"), "metric,value,tolerance\ntest_accuracy,91.5,0.5\nae_loss,0.1,3%\n"
                             "class_1_accuracy,90,\ngone,1,\n");
    write_text(at("rn.csv"), "metric,value\ntest_accuracy,90.0\nae_loss,nan\n"
                             "class_1_accuracy,90.2\n\"a<b>&\"\"c|d\",3\n");
    char *argv[16] = {"rb.csv", "rn.csv"};
    int n = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 14; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd) || chdir(tu_dir()) != 0)
        return -1;
    int rc = run(argv[0], argv[1], n > 2 ? argv[2] : NULL, n > 3 ? argv[3] : NULL,
                 n > 4 ? argv[4] : NULL, n > 5 ? argv[5] : NULL, n > 6 ? argv[6] : NULL,
                 n > 7 ? argv[7] : NULL, NULL);
    if (chdir(cwd) != 0)
        return -1;
    return rc;
}

static const char fixed_text[] =
    "metric            baseline   now  delta  tolerance  verdict\n"
    "test_accuracy         91.5    90   -1.5        0.5  REGRESSION\n"
    "ae_loss                0.1   nan      -         3%  REGRESSION\n"
    "class_1_accuracy        90  90.2   +0.2        0.5  ok\n"
    "gone                     1     -      -         3%  missing\n"
    "a<b>&\"c|d                -     3      -          -  new\n"
    "4 metrics compared: 1 ok, 2 REGRESSION, 0 IMPROVED, 1 missing; 1 new\n";

static const char fixed_junit[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<testsuites name=\"aelab compare\" tests=\"5\" failures=\"3\" errors=\"0\" time=\"0\">\n"
    "  <testsuite name=\"rb\" tests=\"5\" failures=\"3\" errors=\"0\" skipped=\"1\" time=\"0\">\n"
    "    <properties>\n"
    "      <property name=\"baseline\" value=\"rb.csv\"/>\n"
    "      <property name=\"current\" value=\"rn.csv\"/>\n"
    "    </properties>\n"
    "    <testcase classname=\"rb\" name=\"test_accuracy\" time=\"0\">\n"
    "      <failure type=\"REGRESSION\" message=\"REGRESSION: baseline 91.5, now 90, delta -1.5, "
    "tolerance 0.5\">test_accuracy: REGRESSION\n"
    "baseline 91.5, now 90, delta -1.5, tolerance 0.5\n"
    "baseline file: rb.csv\n"
    "current: rn.csv</failure>\n"
    "    </testcase>\n"
    "    <testcase classname=\"rb\" name=\"ae_loss\" time=\"0\">\n"
    "      <failure type=\"REGRESSION\" message=\"REGRESSION: baseline 0.1, now nan (not a number), "
    "tolerance 3%\">ae_loss: REGRESSION\n"
    "baseline 0.1, now nan (not a number), tolerance 3%\n"
    "baseline file: rb.csv\n"
    "current: rn.csv</failure>\n"
    "    </testcase>\n"
    "    <testcase classname=\"rb\" name=\"class_1_accuracy\" time=\"0\"/>\n"
    "    <testcase classname=\"rb\" name=\"gone\" time=\"0\">\n"
    "      <failure type=\"missing\" message=\"missing: baseline 1, now absent (not in the run), "
    "tolerance 3%\">gone: missing\n"
    "baseline 1, now absent (not in the run), tolerance 3%\n"
    "baseline file: rb.csv\n"
    "current: rn.csv</failure>\n"
    "    </testcase>\n"
    "    <testcase classname=\"rb\" name=\"a&lt;b&gt;&amp;&quot;c|d\" time=\"0\">\n"
    "      <skipped message=\"new: not in the baseline, now 3\"/>\n"
    "    </testcase>\n"
    "  </testsuite>\n"
    "</testsuites>\n";

static const char fixed_markdown[] =
    "### rb: FAILED\n"
    "\n"
    "| metric | baseline | now | delta | tolerance | verdict |\n"
    "| --- | ---: | ---: | ---: | ---: | --- |\n"
    "| test_accuracy | 91.5 | 90 | -1.5 | 0.5 | **REGRESSION** |\n"
    "| ae_loss | 0.1 | not a number | - | 3% | **REGRESSION** |\n"
    "| class_1_accuracy | 90 | 90.2 | +0.2 | 0.5 | ok |\n"
    "| gone | 1 | - | - | 3% | **missing** |\n"
    "| a&lt;b&gt;&amp;\"c\\|d | - | 3 | - | - | new |\n"
    "\n"
    "4 metrics compared: 1 ok, 2 REGRESSION, 0 IMPROVED, 1 missing; 1 new\n"
    "\n";

static const char fixed_json[] =
    "{\n"
    "  \"name\": \"rb\",\n"
    "  \"baseline\": \"rb.csv\",\n"
    "  \"current\": \"rn.csv\",\n"
    "  \"passed\": false,\n"
    "  \"counts\": {\"compared\": 4, \"ok\": 1, \"regression\": 2, \"improved\": 0, "
    "\"missing\": 1, \"new\": 1},\n"
    "  \"metrics\": [\n"
    "    {\"metric\": \"test_accuracy\", \"baseline\": 91.5, \"now\": 90, \"delta\": -1.5, "
    "\"tolerance\": \"0.5\", \"verdict\": \"REGRESSION\"},\n"
    "    {\"metric\": \"ae_loss\", \"baseline\": 0.1, \"now\": null, \"delta\": null, "
    "\"tolerance\": \"3%\", \"verdict\": \"REGRESSION\", \"note\": \"not a number\"},\n"
    "    {\"metric\": \"class_1_accuracy\", \"baseline\": 90, \"now\": 90.2, \"delta\": 0.2, "
    "\"tolerance\": \"0.5\", \"verdict\": \"ok\"},\n"
    "    {\"metric\": \"gone\", \"baseline\": 1, \"now\": null, \"delta\": null, "
    "\"tolerance\": \"3%\", \"verdict\": \"missing\", \"note\": \"not in the run\"},\n"
    "    {\"metric\": \"a<b>&\\\"c|d\", \"baseline\": null, \"now\": 3, \"delta\": null, "
    "\"tolerance\": null, \"verdict\": \"new\", \"note\": \"not in the baseline\"}\n"
    "  ]\n"
    "}\n";

static void test_formats(void) {
    int f0 = tu_failures;
    unsetenv("GITHUB_STEP_SUMMARY");
    CHECK(run_fixed(NULL) == 3);
    CHECK_STR(out, fixed_text);
    CHECK(run_fixed("--format", "junit", NULL) == 3);
    CHECK_STR(out, fixed_junit);
    CHECK(run_fixed("--format=markdown", NULL) == 3);
    CHECK_STR(out, fixed_markdown);
    CHECK(run_fixed("--format", "json", NULL) == 3);
    CHECK_STR(out, fixed_json);
    CHECK(run_fixed("--format", "text", NULL) == 3);
    CHECK_STR(out, fixed_text);

    /* -o FILE: the report there, the text table still on stdout; --name renames the suite. */
    CHECK(run_fixed("--format", "junit", "-o", "r.xml", NULL) == 3);
    CHECK_STR(out, fixed_text);
    slurp_into(errtext, sizeof errtext, at("r.xml"));
    CHECK_STR(errtext, fixed_junit);
    CHECK(run_fixed("--format", "junit", "--output=r.xml", "--name", "x&y", NULL) == 3);
    slurp_into(errtext, sizeof errtext, at("r.xml"));
    CHECK(strstr(errtext, "<testsuite name=\"x&amp;y\" tests=\"5\"") != NULL);
    CHECK(strstr(errtext, "<testcase classname=\"x&amp;y\" name=\"gone\"") != NULL);

    CHECK(run_fixed("--format", "xml", NULL) == 2);
    CHECK(strstr(errtext, "--format: expected text, json, markdown or junit, got 'xml'") != NULL);
    CHECK(run_fixed("-o", NULL) == 2);
    CHECK(run_fixed("-o", "nosuchdir/r.xml", "--format", "junit", NULL) == 2);
    CHECK(strstr(errtext, "nosuchdir/r.xml") != NULL);
    dump_on_failure(f0);
}

/* GITHUB_STEP_SUMMARY: the Markdown appended (twice: two comparisons), one ::error per failing
 * metric on stdout after the table; a passing comparison adds its section and no error. */
static void test_github(void) {
    int f0 = tu_failures;
    write_text(at("summary.md"), "# before\n");
    setenv("GITHUB_STEP_SUMMARY", at("summary.md"), 1);
    CHECK(run_fixed(NULL) == 3);
    CHECK(run_fixed("--format", "junit", "-o", "r.xml", NULL) == 3);
    char want[8192];
    snprintf(want, sizeof want, "%s"
             "::error title=rb test_accuracy REGRESSION::baseline 91.5, now 90, delta -1.5, "
             "tolerance 0.5\n"
             "::error title=rb ae_loss REGRESSION::baseline 0.1, now nan (not a number), "
             "tolerance 3%%25\n"
             "::error title=rb gone missing::baseline 1, now absent (not in the run), "
             "tolerance 3%%25\n",
             fixed_text);
    CHECK_STR(out, want);
    static char md[1 << 15];
    slurp_into(md, sizeof md, at("summary.md"));
    snprintf(want, sizeof want, "# before\n%s%s", fixed_markdown, fixed_markdown);
    CHECK_STR(md, want);

    write_text(at("summary.md"), "");
    write_text(at("b1.csv"), "metric,value\nx_accuracy,1\n");
    CHECK(run(at("b1.csv"), at("b1.csv"), "--name", "a:b,c", NULL) == 0);
    CHECK(strstr(out, "::error") == NULL);
    slurp_into(md, sizeof md, at("summary.md"));
    CHECK(strncmp(md, "### a:b,c: passed\n", 18) == 0);
    write_text(at("n1.csv"), "metric,value\nx_accuracy,0\n");
    CHECK(run(at("b1.csv"), at("n1.csv"), "--name", "a:b,c", NULL) == 3);
    CHECK(strstr(out, "::error title=a%3Ab%2Cc x_accuracy REGRESSION::baseline 1, now 0") !=
          NULL);
    unsetenv("GITHUB_STEP_SUMMARY");
    dump_on_failure(f0);
}

/* Either side: a run directory, a summary.csv, a baseline, a sweep directory (point by point). */
static void test_sides(void) {
    int f0 = tu_failures;
    AeError err;
    CHECK(fs_mkdir_p(at("sw1/sweep/0_l1=0.1"), &err));
    CHECK(fs_mkdir_p(at("sw1/sweep/1_l1=0.2"), &err));
    CHECK(fs_mkdir_p(at("sw2/sweep/0_l1=0.1"), &err));
    CHECK(fs_mkdir_p(at("sw2/sweep/1_l1=0.2"), &err));
    write_text(at("sw1/sweep/0_l1=0.1/summary.csv"), "metric,value\ntest_accuracy,90\n");
    write_text(at("sw1/sweep/1_l1=0.2/summary.csv"), "metric,value\ntest_accuracy,80\n");
    write_text(at("sw2/sweep/0_l1=0.1/summary.csv"), "metric,value\ntest_accuracy,90.1\n");
    write_text(at("sw2/sweep/1_l1=0.2/summary.csv"), "metric,value\ntest_accuracy,70\n");
    CHECK(run(at("sw1"), at("sw2"), NULL) == 3);
    CHECK(ends_with(line_of("0_l1=0.1/test_accuracy"), "ok"));
    CHECK(ends_with(line_of("1_l1=0.2/test_accuracy"), "REGRESSION"));
    CHECK(strstr(out, "2 metrics compared: 1 ok, 1 REGRESSION") != NULL);
    /* a point without summary.csv: its metrics are missing */
    CHECK(remove(at("sw2/sweep/1_l1=0.2/summary.csv")) == 0);
    CHECK(run(at("sw1"), at("sw2"), NULL) == 3);
    CHECK(ends_with(line_of("1_l1=0.2/test_accuracy"), "missing"));

    /* a run directory as the baseline, a baseline file as the current side */
    CHECK(fs_mkdir_p(at("runb"), &err));
    write_text(at("runb/summary.csv"), "metric,value\ntest_accuracy,90\n");
    write_text(at("bl.csv"), "metric,value,tolerance\ntest_accuracy,90.2,0.1\n");
    CHECK(run(at("runb"), at("bl.csv"), NULL) == 0);
    CHECK(ends_with(line_of("test_accuracy"), "ok"));
    write_text(at("runb/summary.csv"), "metric,value\ntest_accuracy,x\n");
    CHECK(run(at("runb"), at("bl.csv"), NULL) == 2);
    CHECK(strstr(errtext, "runb/summary.csv:2: error: test_accuracy: value") != NULL);
    dump_on_failure(f0);
}

int main(void) {
    tu_tmpdir("compare");
    test_pass_and_table();
    test_regression_missing_new();
    test_relative_and_overrides();
    test_run_dir_and_usage();
    test_malformed();
    test_formats();
    test_github();
    test_sides();
    return tu_tmpdir_done(tu_summary("test_compare"));
}
