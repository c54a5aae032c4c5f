/* runner/data.h — reading data sets from IDX files (plain or gzip) and CSV files into the
 * engine's in-memory Dataset (engine/dataset.h), and writing IDX files.
 *
 * Every failure fills err with "PATH: error: WHAT (at byte N, found F, expected E)" style
 * messages naming the file; runner/datasets.h finds the files of the named data sets.
 */
#ifndef AE_DATA_H
#define AE_DATA_H

#include "dataset.h"

/* Largest IDX or CSV data set accepted (bytes of one file's elements), and largest image. */
#define AE_IDX_MAX_BYTES (1ULL << 32)
#define AE_IDX_MAX_FEATURES (1 << 24)

/* CSV layout (tag-csv-keys: the names are load_dataset's label_column and pixels keys in
 * runner/schema.c). A label column >= 0 is 0-based. */
enum { CSV_LABEL_AUTO = -2, CSV_LABEL_LAST = -1, CSV_LABEL_FIRST = 0 };
typedef enum { CSV_PIXELS_AUTO = 0, CSV_PIXELS_BYTE, CSV_PIXELS_UNIT } CsvPixels;

/* Loads an images file and its labels file (IDX, plain or gzip, detected by content).
 * Validates: magic (0x00000803 for images, 0x00000801 for labels), rank, dimensions > 0,
 * exact length (a truncated or over-long file is an error), labels < max_classes (10 when 0),
 * and that both files hold the same number of examples. Returns a new Dataset (owned by the
 * caller; dataset_free) or NULL. */
Dataset *dataset_load_idx(const char *images_path, const char *labels_path, int max_classes,
                          AeError *err);

/* dataset_load_idx's first `limit` examples (all when limit <= 0 or >= the count): only those
 * images are held in memory, and inflated from a gzip file only that far when the trailer's
 * ISIZE agrees with the header (otherwise the rest is inflated, counted and dropped, to check
 * it). Every label is read and checked (the Dataset's C is 1 + the largest of all of them,
 * as dataset_head keeps it), the first `limit` kept. A gzip stream inflating past the header's
 * length is refused after at most DATAIN_SLACK more bytes (runner/datain.h). */
Dataset *dataset_load_idx_first(const char *images_path, const char *labels_path,
                                int max_classes, int limit, AeError *err);

/* `aelab check`'s look at an IDX pair without loading it: both headers, the counts against
 * each other, and each file's length against its header: a plain file's size on disk; a gzip
 * file's trailer ISIZE (mod 2^32), and when that disagrees (several members, a cut or padded
 * file) the stream inflated and counted, at most DATAIN_SLACK bytes past the header's length.
 * The messages are dataset_load_idx's. *n, *rows, *cols: the images' shape. */
bool idx_check_pair(const char *images, const char *labels, int *n, int *rows, int *cols,
                    AeError *err);

/* Reads only the header of an IDX images file: count and shape (for `aelab check`). */
bool idx_read_header(const char *path, int *n, int *rows, int *cols, AeError *err);

/* Counts the labels of an IDX labels file (idx1, plain or gzip), the first `limit` of them when
 * limit > 0 (a subset), into hist (256 entries, zeroed first); *n says how many were counted.
 * Reads only as far as those labels; the header is validated as dataset_load_idx does. */
bool idx_label_histogram(const char *path, int limit, unsigned hist[256], int *n, AeError *err);

/* Loads a CSV file (runner/datacsv.c): one example per record, the label in column label_col,
 * the other columns pixel values; a first record whose first cell is not a number is a header
 * and skipped; a UTF-8 byte-order mark is dropped; plain or gzip.
 *  label_col  >= 0 (0-based), CSV_LABEL_LAST, or CSV_LABEL_AUTO: the last column, but a file
 *             that looks label-first is refused naming the key to set (the header names
 *             another column "label"; or column 1 holds integers 0..9 like labels and the last
 *             column does not);
 *  pixels     CSV_PIXELS_BYTE: 0..255; CSV_PIXELS_UNIT: 0..1 (stored as round(255 v));
 *             CSV_PIXELS_AUTO: 0..255, but pixels that all lie in [0, 1] with fractions
 *             among them are refused naming the key (pixels: unit).
 * A value outside the declared range is an error naming record and column. Returns a new
 * Dataset (C = 1 + the largest label) or NULL with err filled. */
Dataset *dataset_load_csv(const char *path, int label_col, CsvPixels pixels, AeError *err);

/* Writes an IDX file (plain, or gzip when the path ends in .gz); for tests and fixtures.
 * dims has rank entries. type 0x08 (unsigned byte) only. Atomic, through runner/fsutil.h's
 * writer; false with "PATH: error: cannot write: REASON" when it fails. */
bool idx_write(const char *path, const uint8_t *data, const int *dims, int rank, AeError *err);

#endif
