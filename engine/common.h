/* engine/common.h — shared conventions of the engine: assertions, error objects, limits.
 *
 * Three kinds of errors (docs/architecture.md, "Errors"):
 *  - user data / system calls: engine functions return false and fill an AeError; the runner
 *    decides how to print it and which exit code to use;
 *  - host memory running out: the same, through ae_malloc/ae_calloc, whose message names what
 *    was being allocated and how many bytes; the engine never ends the process itself (the
 *    runner's allocators that do live in runner/xalloc.h);
 *  - programmer errors: AE_ASSERT, which stays on in release builds and is never used on user
 *    data.
 */
#ifndef AE_COMMON_H
#define AE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define AE_VERSION "0.1.0"

/* Largest number of layers in one stack (encoder, decoder or head). */
#define AE_MAX_LAYERS 16

#define AE_ASSERT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: internal error: assertion failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                                     \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* An error message filled by engine functions that can fail on user data or I/O. */
typedef struct AeError {
    char msg[1024];
} AeError;

/* Formats msg into err (NULL-safe) and returns false, so callers can `return ae_fail(...)`. */
bool ae_fail(AeError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc (n bytes) and calloc (count x size bytes, zeroed) of host memory. NULL when it runs
 * out, with err (NULL-safe) saying "out of host memory: N bytes for WHAT", what being a phrase
 * such as "the shuffle order". A size of 0 allocates 1 byte. Free with free(). */
void *ae_malloc(size_t n, const char *what, AeError *err);
void *ae_calloc(size_t count, size_t size, const char *what, AeError *err);

/* Parses the whole of s as a decimal integer in [lo, hi] into *out; false (out untouched) when
 * it is not one: empty, trailing characters, out of range. */
bool ae_parse_int(const char *s, int lo, int hi, int *out);

#endif
