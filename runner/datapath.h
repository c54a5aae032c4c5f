/* runner/datapath.h — where a config's relative data paths point.
 *
 * A relative path in load_dataset (train_images, train_labels, test_images, test_labels,
 * train_csv, test_csv) is resolved against the directory of the config file that holds it, as
 * compilers resolve #include "..." and Make its includes, so that a config means the same files
 * from any working directory. A path given with --set, or in a config read from standard input,
 * is resolved against the working directory. Either way it becomes absolute (the directory
 * through realpath, then `.` and `..` of the relative part removed lexically), so that the
 * resolved config a run writes (RUN_DIR/config.yaml, which --resume, sweeps and `aelab encode`
 * read again from elsewhere) names the same files. Absolute paths are left alone.
 */
#ifndef AE_DATAPATH_H
#define AE_DATAPATH_H

#include "yamldoc.h"

/* Rewrites, in doc's tree, the relative data paths of every load_dataset stage as above.
 * config_name: the config's path as given, or CONFIG_STDIN_NAME. Nodes keep their positions. */
void datapath_resolve(YDoc *doc, const char *config_name);

/* The absolute form of path relative to dir (dir: any directory, resolved with realpath; when
 * that fails, used as given) into out (cap bytes; cut when longer). */
void datapath_join(const char *dir, const char *path, char *out, size_t cap);

#endif
