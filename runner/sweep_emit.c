/* runner/sweep_emit.c — a sweep for other engines: --emit commands (one self-contained shell
 * command per point, for GNU parallel and the like) and --emit slurm (a job array whose task K
 * runs point K, task 0 submitting the job that collects). Every command is `aelab run FILE
 * --set... --point K`, as the driver's children run. Shell words are single-quoted ('\'' for a
 * quote) unless they are made of safe characters only.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* Appends s to a shell command line as one word: bare when it holds only safe characters,
 * else in single quotes. */
static void str_shell_word(StrBuf *b, const char *s) {
    bool safe = *s != '\0';
    for (const char *p = s; *p && safe; p++)
        safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               strchr("_./=+,:@%-", *p) != NULL;
    if (safe) {
        strbuf_printf(b, "%s", s);
        return;
    }
    strbuf_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'') strbuf_printf(b, "'\\''");
        else strbuf_printf(b, "%c", *p);
    }
    strbuf_printf(b, "'");
}

/* The --threads of each point: opt->threads when given, else the cores shared by opt->jobs;
 * -1: none (each point uses the config's). */
static int emit_threads(const SweepOptions *opt) {
    if (opt->threads >= 0) return opt->threads;
    if (opt->jobs > 0) {
        int t = sweep_cores() / opt->jobs;
        return t > 1 ? t : 1;
    }
    return -1;
}

/* `'EXE' run 'FILE' --set ...` up to the point-specific part. */
static void emit_prefix(const Sweep *s, const SweepOptions *opt, StrBuf *b, bool cd) {
    char exe[SWEEP_PATH_MAX], cwd[SWEEP_PATH_MAX];
    sweep_exe_path(opt, exe, sizeof exe);
    if (cd) {
        if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
        strbuf_printf(b, "cd ");
        str_shell_word(b, cwd);
        strbuf_printf(b, " && ");
    }
    str_shell_word(b, exe);
    strbuf_printf(b, " run ");
    str_shell_word(b, s->file);
    for (int i = 0; i < s->nsets; i++) {
        strbuf_printf(b, " --set ");
        str_shell_word(b, s->sets[i]);
    }
    if (s->out_dir) {
        strbuf_printf(b, " --out ");
        str_shell_word(b, s->out_dir);
    }
}

/* The options passed on to every point, as shell words. */
static void emit_child_args(const SweepOptions *opt, StrBuf *b) {
    for (int i = 0; i < opt->nchild_args; i++) {
        strbuf_printf(b, " ");
        str_shell_word(b, opt->child_args[i]);
    }
}

int sweep_emit_commands(const Sweep *s, const SweepOptions *opt, FILE *out) {
    int threads = emit_threads(opt);
    for (int k = 0; k < s->npoints; k++) {
        StrBuf b = {0};
        emit_prefix(s, opt, &b, true);
        strbuf_printf(&b, " --point %d", k);
        if (threads >= 0) strbuf_printf(&b, " --threads %d", threads);
        if (opt->force) strbuf_printf(&b, " --force");
        emit_child_args(opt, &b);
        fprintf(out, "%s -q\n", b.s);
        free(b.s);
    }
    return 0;
}

/* The text of sweep.sbatch (see sweep.h), run from cwd, its logs in logs (absolute), written
 * to path. */
static void slurm_script(const Sweep *s, const SweepOptions *opt, const char *cwd,
                         const char *path, const char *logs, StrBuf *b) {
    StrBuf run = {0}, collect = {0};
    emit_prefix(s, opt, &run, false);
    emit_prefix(s, opt, &collect, false);
    strbuf_printf(&collect, " --collect");
    if (opt->metric) {
        strbuf_printf(&collect, " --metric ");
        str_shell_word(&collect, opt->metric);
    }
    emit_child_args(opt, &collect);
    strbuf_printf(b, "#!/bin/bash\n");
    strbuf_printf(b, "# sweep.sbatch — written by aelab %s: the sweep of %s (%d point%s) as a Slurm "
                  "job array.\n", AE_VERSION, s->file, s->npoints, s->npoints == 1 ? "" : "s");
    strbuf_printf(b, "# Submit with:  sbatch %s\n", path);
    strbuf_printf(b, "# Array task K runs point K (`aelab run ... --point K`; a complete point is "
                  "skipped). Task 0 also\n# submits the collecting job, which waits for the whole "
                  "array (afterany) and writes\n# %s/sweep.csv. Add the #SBATCH lines your cluster "
                  "needs (partition, time, memory).\n", s->root);
    strbuf_printf(b, "#SBATCH --job-name=aelab-%s\n", s->name);
    strbuf_printf(b, "#SBATCH --array=0-%d", s->npoints - 1);
    if (opt->jobs > 0) strbuf_printf(b, "%%%d", opt->jobs);
    strbuf_printf(b, "\n");
    if (opt->threads > 0) strbuf_printf(b, "#SBATCH --cpus-per-task=%d\n", opt->threads);
    strbuf_printf(b, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", logs);
    strbuf_printf(b, "set -euo pipefail\ncd ");
    str_shell_word(b, cwd);
    strbuf_printf(b, "\nif [[ ${SLURM_ARRAY_TASK_ID:-} == 0 ]]; then\n"
                  "    sbatch --parsable --job-name=aelab-%s-collect "
                  "--dependency=afterany:\"$SLURM_ARRAY_JOB_ID\" \\\n"
                  "        --output=%s/slurm-collect-%%j.out <<'AELAB_COLLECT'\n"
                  "#!/bin/bash\ncd ", s->name, logs);
    str_shell_word(b, cwd);
    strbuf_printf(b, " && exec %s\nAELAB_COLLECT\nfi\n", collect.s);
    strbuf_printf(b, "exec %s --point \"$SLURM_ARRAY_TASK_ID\" --threads "
                  "\"${SLURM_CPUS_PER_TASK:-%d}\"", run.s, opt->threads > 0 ? opt->threads : 1);
    if (opt->force) strbuf_printf(b, " --force");
    emit_child_args(opt, b);
    strbuf_printf(b, " -q\n");
    strbuf_free(&run);
    strbuf_free(&collect);
}

int sweep_emit_slurm(const Sweep *s, const SweepOptions *opt, FILE *out) {
    char cwd[SWEEP_PATH_MAX], path[SWEEP_PATH_MAX + 32];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
    snprintf(path, sizeof path, "%s/sweep.sbatch", s->root);
    StrBuf logs = {0}; /* Slurm opens the logs before the script's cd: an absolute path */
    if (s->root[0] == '/') strbuf_printf(&logs, "%s/sweep", s->root);
    else strbuf_printf(&logs, "%s/%s/sweep", cwd, s->root);
    StrBuf b = {0};
    slurm_script(s, opt, cwd, path, logs.s, &b);
    AeError err;
    char sweepdir[SWEEP_PATH_MAX + 8];
    snprintf(sweepdir, sizeof sweepdir, "%s/sweep", s->root); /* where Slurm writes the logs */
    bool ok = fs_mkdir_p(sweepdir, &err) && fs_write_atomic(path, b.s, b.n, &err);
    if (ok && chmod(path, 0755) != 0) ok = ae_fail(&err, "%s: error: chmod: %s", path, strerror(errno));
    strbuf_free(&b);
    strbuf_free(&logs);
    if (!ok) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fprintf(out, "%s\n", path);
    return 0;
}
