/* engine/common.c — error objects, allocation that reports failure, integer parsing. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool ae_fail(AeError *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}

void *ae_malloc(size_t n, const char *what, AeError *err) {
    void *p = malloc(n ? n : 1);
    if (!p) ae_fail(err, "out of host memory: %zu bytes for %s", n, what);
    return p;
}

void *ae_calloc(size_t count, size_t size, const char *what, AeError *err) {
    if (size && count > SIZE_MAX / size) {
        ae_fail(err, "out of host memory: %zu x %zu bytes for %s", count, size, what);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) ae_fail(err, "out of host memory: %zu bytes for %s", count * size, what);
    return p;
}

bool ae_parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}
