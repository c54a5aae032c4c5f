/* runner/strbuf.h — a growing string for building scripts, tables and messages. */
#ifndef AE_STRBUF_H
#define AE_STRBUF_H

#include <stddef.h>

/* Start from StrBuf b = {0}; release the text with strbuf_free (or free(b.s)). */
typedef struct StrBuf {
    char *s;          /* NUL-terminated once anything was appended; NULL before; owned */
    size_t n, cap;
} StrBuf;

/* Appends printf-style text; prints file:line and exits (status 1) when memory runs out. */
void strbuf_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the text (NULL-safe) and empties b. */
void strbuf_free(StrBuf *b);

#endif
