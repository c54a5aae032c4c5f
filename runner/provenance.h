/* runner/provenance.h — what a run's resolved config records about where it came from, beyond
 * the seed and the backend: the repository of the config file (commit, describe, dirty), the
 * host and its CPU (and GPU and driver when the CUDA backend runs), the compiler and its flags,
 * the libraries' versions (OpenBLAS and its kernel core, libyaml, zlib, libcsv), the command
 * line, and a content checksum of each data file.
 *
 * Everything is collected once, at the start of a run, into a list of key/value pairs that
 * runner/pipeline.c appends to config.yaml's `provenance:` mapping; nothing here fails (an
 * unknown value is "unknown").
 */
#ifndef AE_PROVENANCE_H
#define AE_PROVENANCE_H

#include <stdbool.h>

#include "config.h"

#define PROV_MAX 40
#define PROV_VALUE_MAX 1024

typedef struct Provenance {
    const char *key[PROV_MAX];  /* static strings */
    char value[PROV_MAX][PROV_VALUE_MAX];
    int n;
} Provenance;

/* Fills p for a run of cfg on the backend named backend ("cpu" or "cuda"):
 *   config_git_commit, config_git_describe, config_git_dirty
 *                                        the repository holding cfg->path (git -C DIR; the
 *                                        working directory for standard input), "unknown"
 *                                        outside one; dirty: true when tracked files differ
 *                                        (the provenance's git_commit is the working
 *                                        directory's, as before)
 *   host, cpu_model                      gethostname, /proc/cpuinfo's "model name"
 *   gpu, gpu_driver                      backend "cuda" only: /proc/driver/nvidia
 *   compiler, cflags                     the compiler that built aelab and its flags
 *   blas_core, libyaml, zlib, libcsv     the libraries' versions, as loaded where they say
 *   command                              this process's command line (/proc/self/cmdline)
 *   data.SPLIT                           per data file: "PATH (N bytes, crc32 XXXXXXXX)"
 * A data file's CRC-32 is remembered in memo_dir/datasums.csv (NULL: not remembered), keyed by
 * path, size, modification time and inode, so that only a new or changed file is read. */
void provenance_collect(Provenance *p, const Config *cfg, const char *backend,
                        const char *memo_dir);

/* Appends one pair (value copied, cut at PROV_VALUE_MAX - 1 bytes); ignored when p is full. */
void provenance_add(Provenance *p, const char *key, const char *value);

#endif
