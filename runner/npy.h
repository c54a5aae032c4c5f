/* runner/npy.h — NumPy's file formats, written: .npy (format version 1.0) and .npz (a ZIP
 * archive of .npy members), so that `numpy.load` reads aelab's exports with no aelab code.
 *
 * .npy v1.0 (numpy/lib/format.py's specification): the magic "\x93NUMPY", the bytes 1 and 0,
 * a u16 little-endian header length, then an ASCII Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes; then
 * the data, C order. descr is one of '<f4', '<f8', '<i8' (little-endian, whatever the host) or
 * '<UL' (text: L UCS-4 code points per element, NUL-padded).
 *
 * .npz: a ZIP file (PKWARE's APPNOTE.TXT: local file headers, the central directory, the end
 * of central directory record; no ZIP64, so every member and the archive stay under 4 GiB and
 * 65535 members) whose members NAME.npy are deflated with zlib (raw deflate, method 8), or
 * stored (method 0) when deflating does not make them smaller. Member times are the DOS epoch
 * (1980-01-01 00:00), so the same arrays give the same bytes.
 *
 * Files are written through runner/fsutil.h's atomic writer. Errors: "PATH: error: ...".
 */
#ifndef AE_NPY_H
#define AE_NPY_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

typedef enum { NPY_F4 = 0, NPY_F8, NPY_I8 } NpyType;

#define NPY_MAX_DIMS 4

/* An .npz being built in memory. */
typedef struct NpzWriter NpzWriter;

NpzWriter *npz_create(void);
void npz_free(NpzWriter *z); /* NULL-safe */

/* Adds member NAME.npy holding the array at data (host order, converted to little-endian):
 * shape[0..ndim) (ndim 0: a scalar), of type t. False with err filled when the archive would
 * pass the ZIP limits above or zlib fails (the member is not added). */
bool npz_add(NpzWriter *z, const char *name, NpyType t, const size_t *shape, int ndim,
             const void *data, AeError *err);

/* Adds member NAME.npy holding n strings (ndim 0: one string, strs[0]; ndim 1: n of them) as a
 * '<UL' array, L the longest string's length in code points; UTF-8 is decoded (a malformed
 * byte becomes U+FFFD). */
bool npz_add_strings(NpzWriter *z, const char *name, const char *const *strs, size_t n,
                     int ndim, AeError *err);

/* Writes the archive to path atomically. */
bool npz_write(const NpzWriter *z, const char *path, AeError *err);

/* Writes one array as an .npy file, atomically. */
bool npy_write(const char *path, NpyType t, const size_t *shape, int ndim, const void *data,
               AeError *err);

#endif
