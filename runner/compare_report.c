/* runner/compare_report.c — `aelab compare`'s reports for other tools: JUnit XML (CI test
 * reporters), JSON, Markdown (a job summary), and GitHub Actions error commands (contracts in
 * runner/compare_internal.h).
 */
#include <math.h>
#include <string.h>

#include "compare_internal.h"
#include "report.h"

/* The one-line account of a failing or odd row: "baseline B, now N, delta D, tolerance T". */
static void compare_detail(StrBuf *b, const Row *r) {
    if (r->has_b)
        strbuf_printf(b, "baseline %s, ", r->base);
    if (r->note && strcmp(r->note, "not a number") == 0)
        strbuf_printf(b, "now %s (not a number)", r->now);
    else if (!r->has_cur && r->note && strcmp(r->note, "not in the run") == 0)
        strbuf_printf(b, "now absent (not in the run)");
    else
        strbuf_printf(b, "now %s", r->now);
    if (r->has_d)
        strbuf_printf(b, ", delta %s", r->delta);
    if (r->has_b)
        strbuf_printf(b, ", tolerance %s", r->tol);
}

static void compare_junit_case(StrBuf *b, const CompareReport *rep, const Row *r) {
    strbuf_printf(b, "    <testcase classname=\"");
    report_xml(b, rep->name);
    strbuf_printf(b, "\" name=\"");
    report_xml(b, r->metric);
    strbuf_printf(b, "\" time=\"0\"");
    StrBuf d = {0};
    compare_detail(&d, r);
    if (compare_row_fails(r)) {
        strbuf_printf(b, ">\n      <failure type=\"%s\" message=\"%s: ", r->verdict, r->verdict);
        report_xml(b, d.s);
        strbuf_printf(b, "\">");
        report_xml(b, r->metric);
        strbuf_printf(b, ": %s\n", r->verdict);
        report_xml(b, d.s);
        strbuf_printf(b, "\nbaseline file: ");
        report_xml(b, rep->base);
        strbuf_printf(b, "\ncurrent: ");
        report_xml(b, rep->current);
        strbuf_printf(b, "</failure>\n    </testcase>\n");
    } else if (strcmp(r->verdict, "new") == 0) {
        strbuf_printf(b, ">\n      <skipped message=\"new: not in the baseline, now ");
        report_xml(b, r->now);
        strbuf_printf(b, "\"/>\n    </testcase>\n");
    } else {
        strbuf_printf(b, "/>\n");
    }
    strbuf_free(&d);
}

void compare_junit(StrBuf *b, const CompareReport *r) {
    int failures = r->n.reg + r->n.imp + r->n.miss;
    strbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    strbuf_printf(b, "<testsuites name=\"aelab compare\" tests=\"%d\" failures=\"%d\" "
                     "errors=\"0\" time=\"0\">\n",
                  r->nrows, failures);
    strbuf_printf(b, "  <testsuite name=\"");
    report_xml(b, r->name);
    strbuf_printf(b, "\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"0\">\n",
                  r->nrows, failures, r->n.added);
    strbuf_printf(b, "    <properties>\n      <property name=\"baseline\" value=\"");
    report_xml(b, r->base);
    strbuf_printf(b, "\"/>\n      <property name=\"current\" value=\"");
    report_xml(b, r->current);
    strbuf_printf(b, "\"/>\n    </properties>\n");
    for (int i = 0; i < r->nrows; i++)
        compare_junit_case(b, r, &r->rows[i]);
    strbuf_printf(b, "  </testsuite>\n</testsuites>\n");
}

/* A JSON number, or null when there is none or it is not finite. */
static void compare_json_num(StrBuf *b, bool has, double v) {
    if (has && isfinite(v))
        strbuf_printf(b, "%.9g", v);
    else
        strbuf_printf(b, "null");
}

void compare_json(StrBuf *b, const CompareReport *r) {
    const Counts *n = &r->n;
    strbuf_printf(b, "{\n  \"name\": ");
    report_json(b, r->name);
    strbuf_printf(b, ",\n  \"baseline\": ");
    report_json(b, r->base);
    strbuf_printf(b, ",\n  \"current\": ");
    report_json(b, r->current);
    strbuf_printf(b, ",\n  \"passed\": %s,\n", n->reg || n->imp || n->miss ? "false" : "true");
    strbuf_printf(b, "  \"counts\": {\"compared\": %d, \"ok\": %d, \"regression\": %d, "
                     "\"improved\": %d, \"missing\": %d, \"new\": %d},\n  \"metrics\": [",
                  r->nb, n->ok, n->reg, n->imp, n->miss, n->added);
    for (int i = 0; i < r->nrows; i++) {
        const Row *w = &r->rows[i];
        strbuf_printf(b, "%s\n    {\"metric\": ", i ? "," : "");
        report_json(b, w->metric);
        strbuf_printf(b, ", \"baseline\": ");
        compare_json_num(b, w->has_b, w->b);
        strbuf_printf(b, ", \"now\": ");
        compare_json_num(b, w->has_cur, w->cur);
        strbuf_printf(b, ", \"delta\": ");
        compare_json_num(b, w->has_d, w->d);
        strbuf_printf(b, ", \"tolerance\": ");
        if (w->has_b)
            report_json(b, w->tol);
        else
            strbuf_printf(b, "null");
        strbuf_printf(b, ", \"verdict\": \"%s\"", w->verdict);
        if (w->note) {
            strbuf_printf(b, ", \"note\": ");
            report_json(b, w->note);
        }
        strbuf_printf(b, "}");
    }
    strbuf_printf(b, "\n  ]\n}\n");
}

void compare_markdown(StrBuf *b, const CompareReport *r) {
    const Counts *n = &r->n;
    bool pass = !(n->reg || n->imp || n->miss);
    strbuf_printf(b, "### ");
    report_md(b, r->name);
    strbuf_printf(b, ": %s\n\n| metric | baseline | now | delta | tolerance | verdict |\n"
                     "| --- | ---: | ---: | ---: | ---: | --- |\n",
                  pass ? "passed" : "FAILED");
    for (int i = 0; i < r->nrows; i++) {
        const Row *w = &r->rows[i];
        bool nan = w->note && strcmp(w->note, "not a number") == 0;
        strbuf_printf(b, "| ");
        report_md(b, w->metric);
        strbuf_printf(b, " | %s | ", w->base);
        report_md(b, nan ? "not a number" : w->now);
        strbuf_printf(b, " | %s | %s | %s%s%s |\n", w->delta, w->tol,
                      compare_row_fails(w) ? "**" : "", w->verdict,
                      compare_row_fails(w) ? "**" : "");
    }
    strbuf_printf(b, "\n%d metric%s compared: %d ok, %d REGRESSION, %d IMPROVED, %d missing; "
                     "%d new\n\n",
                  r->nb, r->nb == 1 ? "" : "s", n->ok, n->reg, n->imp, n->miss, n->added);
}

/* s escaped for a workflow command: %, CR, LF always; ':' and ',' too in a property. */
static void compare_gh_escape(FILE *f, const char *s, bool property) {
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", f);
        else if (*s == '\r')
            fputs("%0D", f);
        else if (*s == '\n')
            fputs("%0A", f);
        else if (property && *s == ':')
            fputs("%3A", f);
        else if (property && *s == ',')
            fputs("%2C", f);
        else
            fputc(*s, f);
    }
}

void compare_github_errors(FILE *f, const CompareReport *r) {
    for (int i = 0; i < r->nrows; i++) {
        const Row *w = &r->rows[i];
        if (!compare_row_fails(w))
            continue;
        StrBuf title = {0}, d = {0};
        strbuf_printf(&title, "%s %s %s", r->name, w->metric, w->verdict);
        compare_detail(&d, w);
        fputs("::error title=", f);
        compare_gh_escape(f, title.s, true);
        fputs("::", f);
        compare_gh_escape(f, d.s, false);
        fputs("\n", f);
        strbuf_free(&title);
        strbuf_free(&d);
    }
}
