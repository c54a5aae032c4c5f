/* runner/strbuf.c — a growing string (strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        AE_ASSERT(k >= 0);
        if (b->s && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            fprintf(stderr, "%s:%d: error: out of memory (%zu bytes)\n", __FILE__, __LINE__, cap);
            exit(1);
        }
        b->s = ns;
        b->cap = cap;
    }
}

void strbuf_free(StrBuf *b) {
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
}
