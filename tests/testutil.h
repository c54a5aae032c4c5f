/* tests/testutil.h — a minimal harness: CHECK macros that count failures, and a summary.
 * Every test program returns nonzero when any check failed (never "NOT OK" with exit 0), and 77
 * to report a skip (printing why). */
#ifndef AE_TESTUTIL_H
#define AE_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tu_checks, tu_failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        tu_checks++;                                                                          \
        if (!(cond)) {                                                                        \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                     \
    } while (0)

/* |got - want| <= abs + rel*|want| */
#define CHECK_NEAR(got, want, abs_tol, rel_tol)                                               \
    do {                                                                                      \
        double tu_g = (double)(got), tu_w = (double)(want);                                   \
        tu_checks++;                                                                          \
        if (!(fabs(tu_g - tu_w) <= (abs_tol) + (rel_tol) * fabs(tu_w)) || isnan(tu_g)) {      \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s = %.9g, expected %.9g (abs %g rel %g)\n", \
                    __FILE__, __LINE__, #got, tu_g, tu_w, (double)(abs_tol),                  \
                    (double)(rel_tol));                                                       \
        }                                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                                  \
    do {                                                                                      \
        const char *tu_g = (got), *tu_w = (want);                                             \
        tu_checks++;                                                                          \
        if (!tu_g || strcmp(tu_g, tu_w) != 0) {                                               \
            tu_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n   got: \"%s\"\n  want: \"%s\"\n",     \
                    __FILE__, __LINE__, #got, tu_g ? tu_g : "(null)", tu_w);                  \
        }                                                                                     \
    } while (0)

/* Prints the closing line and returns the exit status for main. */
static inline int tu_summary(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

#endif
