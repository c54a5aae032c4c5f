/* engine/ref_ops.h — the plain-loop reference of every backend operation (engine/backend.h).
 *
 * Written for clarity, not speed: plain loops over host memory, no BLAS, no OpenMP, no SIMD,
 * and every sum accumulated in double. Tests run it beside backend_cpu() (and, through the CPU,
 * the CUDA backend) and compare op by op with tol = abs + rel*|ref|: every numeric op has a
 * plain-loop reference (docs/style.md, "Tests"). tag-backend-ops.
 */
#ifndef AE_REF_OPS_H
#define AE_REF_OPS_H

#include "backend.h"

/* The reference backend: host memory (malloc/memcpy), every op of engine/backend.h with the
 * contract stated there. Name "reference". Never NULL; the table is static (borrowed for the
 * lifetime of the program). Slow (triple-loop GEMMs): for tests, not for training. */
const Backend *backend_reference(void);

#endif
