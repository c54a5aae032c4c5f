/* runner/datasets.h — the named data sets (mnist, fashion-mnist): where their files are.
 *
 * A known data set lives in a directory of four IDX files, each plain or gzip (NAME or NAME.gz):
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte. The directory is looked up, in order, in $AELAB_DATA/<dir>/,
 * data/<dir>/ (relative to the current directory) and /usr/share/datasets/<dir>/ (Debian's
 * dataset-fashion-mnist); the first one holding all four files wins. `make data` puts them in
 * data/.
 */
#ifndef AE_DATASETS_H
#define AE_DATASETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether name is a known data set ("mnist", "fashion-mnist"). */
bool datasets_known(const char *name);

/* The known names, comma-separated ("mnist, fashion-mnist"), for messages. Static storage. */
const char *datasets_names(void);

/* Resolves a known data set to its four file paths (each buffer has cap bytes). On failure
 * returns false and writes to why (why_cap bytes) a message without a "PATH: error:" prefix:
 * an unknown name with the known ones, or every place looked in and what was missing there,
 * ending with the one command that gets it (`make data`). */
bool datasets_resolve(const char *name, char train_images[], char train_labels[],
                      char test_images[], char test_labels[], size_t cap, char *why,
                      size_t why_cap);

/* The four IDX paths of a load_dataset (each CFG_PATH_MAX bytes): the config's own for name
 * idx (the test pair may be empty), else the named set's (datasets_resolve, with its why). Not
 * for csv. */
struct DatasetCfg;
bool datasets_paths(const struct DatasetCfg *d, char train_images[], char train_labels[],
                    char test_images[], char test_labels[], char *why, size_t why_cap);

/* For `aelab datasets`: one block per known data set saying where it was found (or where it
 * was looked for), and the count and image shape of each split, read from the IDX headers
 * only (fast). Writes to out. */
void datasets_list(FILE *out);

#endif
