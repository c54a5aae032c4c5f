/* runner/xalloc.c — the runner's allocators that exit on exhaustion (see xalloc.h). */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

void *ae_xmalloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: error: out of memory allocating %zu bytes\n", file, line, n);
        exit(1);
    }
    return p;
}

void *ae_xcalloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: error: out of memory allocating %zu x %zu bytes\n", file, line,
                count, size);
        exit(1);
    }
    return p;
}
