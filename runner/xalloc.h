/* runner/xalloc.h — malloc and calloc for the runner's own bookkeeping (tables, paths, scripts)
 * that end the process with a message when host memory runs out.
 *
 * Only the runner may give up like this: the engine reports every failed allocation as an
 * error to its caller (engine/common.h, ae_malloc), which then says which stage it was in.
 */
#ifndef AE_XALLOC_H
#define AE_XALLOC_H

#include <stddef.h>

/* malloc/calloc that print "FILE:LINE: error: out of memory allocating N bytes" and exit(1) on
 * exhaustion. A size of 0 allocates 1 byte, so the result is never NULL. */
void *ae_xmalloc_at(size_t n, const char *file, int line);
void *ae_xcalloc_at(size_t count, size_t size, const char *file, int line);
#define ae_xmalloc(n) ae_xmalloc_at((n), __FILE__, __LINE__)
#define ae_xcalloc(c, s) ae_xcalloc_at((c), (s), __FILE__, __LINE__)

#endif
