/* runner/machine.h — what this machine lets a run use: memory and CPU threads.
 *
 * Memory: the least of the physical memory, the memory limit of the process's cgroup (v2
 * memory.max or v1 memory.limit_in_bytes, on its cgroup and every ancestor) and RLIMIT_AS
 * (`ulimit -v`). The plan (runner/plan.h) compares each training step with it, so a model that
 * cannot be built is a config error instead of an OOM kill. GPU memory is not among them: a
 * `device: gpu` plan is held to the host's memory here, and to the device's free memory (the
 * backend table's memory_info) by `check` and `run` once the CUDA backend is loaded
 * (plan_check_device_memory, runner/plan.h).
 *
 * Threads: a run may ask for up to MACHINE_THREADS_PER_CPU threads per online CPU; more is an
 * error, never a silent clamp.
 */
#ifndef AE_MACHINE_H
#define AE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MACHINE_THREADS_PER_CPU 4

typedef enum {
    LIMIT_PHYSICAL = 0, /* the machine's memory */
    LIMIT_CGROUP,       /* the cgroup's memory limit */
    LIMIT_RLIMIT_AS     /* the address-space limit of the process */
} MemLimitSource;

typedef struct MachineLimits {
    uint64_t memory;              /* bytes a run may use; UINT64_MAX when nothing says */
    MemLimitSource memory_source; /* which of the three set `memory` */
    int cpus;                     /* online CPUs, >= 1 */
} MachineLimits;

/* Reads this machine's limits now (see the top of this file). */
void machine_detect(MachineLimits *out);

/* This machine's limits, read on the first call and kept (or the ones machine_override set).
 * Borrowed; never NULL. */
const MachineLimits *machine_limits(void);

/* Makes machine_limits return a copy of *lim from now on (tests that need fixed figures);
 * NULL reads the machine again on the next call. */
void machine_override(const MachineLimits *lim);

/* The lowest cgroup memory limit of the process that /proc/self/cgroup-style file
 * `proc_cgroup` describes, looked up under the cgroup mount `root` (/sys/fs/cgroup): for the
 * v2 entry `0::PATH`, ROOT/PATH/memory.max and the same file of every ancestor; for a v1
 * entry listing the memory controller, ROOT/memory/PATH/memory.limit_in_bytes and its
 * ancestors'. "max" and files that cannot be read are no limit. UINT64_MAX when none. */
uint64_t machine_cgroup_memory(const char *proc_cgroup, const char *root);

/* The most threads a run may ask for: MACHINE_THREADS_PER_CPU * lim->cpus. */
int machine_max_threads(const MachineLimits *lim);

/* Whether a run may use n threads (n <= 0: all cores, always allowed). When it may not,
 * why (size bytes) receives "N is more than 4 threads per online CPU (this machine has C
 * CPUs: at most M)". */
bool machine_threads_ok(const MachineLimits *lim, int n, char *why, size_t size);

/* The memory limit in words, to follow "more than": "this machine's 23.5 GiB",
 * "the 8.0 GiB its cgroup allows", "the 4.0 GiB RLIMIT_AS allows (ulimit -v)". Returns buf. */
const char *machine_describe_memory(const MachineLimits *lim, char *buf, size_t size);

/* A byte count in binary units: "512 bytes", "1.5 KiB", "23.5 GiB", "7.3 TiB"; UINT64_MAX
 * (an overflowed size) is "more than 16 EiB". Returns buf. */
const char *machine_format_bytes(uint64_t bytes, char *buf, size_t size);

#endif
