/* runner/sweep_exec.c — the sweep driver: runs the points that are not complete as child
 * processes, -j at a time, sharing a thread budget, then collects (sweep_collect).
 *
 * The driver re-executes aelab with `--point K` rather than forking a copy of its own state (a
 * child starts clean: its own signal handlers, thread pool and backend). SIGINT and SIGTERM are
 * passed on to the running children, whose pids are in a table the handler reads; no new point
 * starts after one. With shared stages, a point that has a training stage in common with a
 * running point waits for it, so that it reuses that stage from the stage cache.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "stagekey.h"

#define SWEEP_MAX_JOBS 1024
#define SWEEP_LOG_TAIL 6 /* lines of a failed point's log shown by the driver */

int sweep_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void sweep_exe_path(const SweepOptions *opt, char *buf, size_t n) {
    const char *e = opt->exe ? opt->exe : "/proc/self/exe";
    char tmp[PATH_MAX];
    if (realpath(e, tmp)) snprintf(buf, n, "%s", tmp);
    else snprintf(buf, n, "%s", e);
}

/* ---- signals and children ---- */

static volatile pid_t sweep_pids[SWEEP_MAX_JOBS];
static volatile sig_atomic_t sweep_nsignals;

/* Passes the signal on to the running points (their own handlers stop them after the batch;
 * a second signal makes them exit at once). Async-signal-safe. */
static void sweep_on_signal(int sig) {
    sweep_nsignals++;
    for (int i = 0; i < SWEEP_MAX_JOBS; i++)
        if (sweep_pids[i] > 0) kill(sweep_pids[i], sig);
}

/* argv of point k's child (strings owned by *store). */
static char **child_argv(const Sweep *s, const SweepOptions *opt, const char *exe, int k,
                         int threads, StrList *store) {
    char buf[32];
    sweep_strlist_push(store, xstrdup(exe));
    sweep_strlist_push(store, xstrdup("run"));
    sweep_strlist_push(store, xstrdup(s->file));
    for (int i = 0; i < s->nsets; i++) {
        sweep_strlist_push(store, xstrdup("--set"));
        sweep_strlist_push(store, xstrdup(s->sets[i]));
    }
    sweep_strlist_push(store, xstrdup("--point"));
    snprintf(buf, sizeof buf, "%d", k);
    sweep_strlist_push(store, xstrdup(buf));
    sweep_strlist_push(store, xstrdup("--threads"));
    snprintf(buf, sizeof buf, "%d", threads);
    sweep_strlist_push(store, xstrdup(buf));
    if (s->out_dir) {
        sweep_strlist_push(store, xstrdup("--out"));
        sweep_strlist_push(store, xstrdup(s->out_dir));
    }
    if (opt->force) sweep_strlist_push(store, xstrdup("--force"));
    for (int i = 0; i < opt->nchild_args; i++) sweep_strlist_push(store, xstrdup(opt->child_args[i]));
    sweep_strlist_push(store, NULL);
    return store->v;
}

/* Starts point k; returns the child's pid or -1 (printed). */
static pid_t launch(const Sweep *s, const SweepOptions *opt, const char *exe, int k, int threads) {
    char dir[SWEEP_PATH_MAX], log[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(log, sizeof log, "%s/%s", dir, SWEEP_LOG_FILE);
    AeError err;
    if (!fs_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    StrList store = {0};
    char **argv = child_argv(s, opt, exe, k, threads, &store);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0); /* the terminal's Ctrl-C reaches the driver only, which passes it on once */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(130);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execv(exe, argv);
        static const char m[] = "aelab: error: cannot execute the aelab binary\n";
        (void)!write(2, m, sizeof m - 1);
        _exit(127);
    }
    int e = errno;
    sweep_values_free(store.v, store.n);
    if (pid < 0) fprintf(stderr, "aelab: error: fork: %s\n", strerror(e));
    return pid;
}

/* ---- reporting ---- */

/* The value of metric `name` in point k's summary.csv ("" when absent). */
static void summary_value(const Sweep *s, int k, const char *name, char *buf, size_t n) {
    char path[SWEEP_PATH_MAX + 32];
    sweep_status_path(s, k, path, sizeof path, "summary.csv");
    buf[0] = '\0';
    AeError err;
    CsvTable *t = csvtable_read(path, &err);
    if (!t) return;
    int cm = csvtable_col(t, "metric"), cv = csvtable_col(t, "value");
    for (int r = 0; cm >= 0 && cv >= 0 && r < csvtable_nrows(t); r++)
        if (strcmp(csvtable_get(t, r, cm), name) == 0) snprintf(buf, n, "%s", csvtable_get(t, r, cv));
    csvtable_free(t);
}

static void report_point(const Sweep *s, const SweepOptions *opt, int k, int status, double secs,
                         int ndone, int ntodo) {
    char dir[SWEEP_PATH_MAX], log[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(log, sizeof log, "%s/%s", dir, SWEEP_LOG_FILE);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    /* a point that died without saying how (a crash, a kill) gets its status from here */
    PointStatus st = sweep_status_read(s, k);
    char fp[17];
    sweep_point_fingerprint(s, k, fp);
    AeError err;
    if ((!st.present || strcmp(st.fingerprint, fp) != 0) &&
        !sweep_status_write(s, k, code, secs, -1, -1, &err))
        fprintf(stderr, "%s\n", err.msg);
    StrBuf pp = {0};
    sweep_point_params(s, k, &pp);
    if (code == 0) {
        if (!opt->quiet) {
            char v[64];
            /* --metric, else the first of val_accuracy, val_loss, test_accuracy it has */
            static const char *const dflt[] = {"val_accuracy", "val_loss", "test_accuracy"};
            const char *mname = opt->metric ? opt->metric : dflt[2];
            v[0] = '\0';
            for (int i = 0; !opt->metric && i < 3 && !v[0]; i++) {
                summary_value(s, k, dflt[i], v, sizeof v);
                if (v[0]) mname = dflt[i];
            }
            if (opt->metric) summary_value(s, k, mname, v, sizeof v);
            st = sweep_status_read(s, k);
            printf("[%d/%d] point %d (%s): ok in %.1f s", ndone, ntodo, k, pp.s ? pp.s : "", secs);
            if (v[0]) printf(", %s %s", mname, v);
            if (st.trained >= 0) printf(", %d stage%s trained, %d reused", st.trained,
                                        st.trained == 1 ? "" : "s", st.reused);
            printf("\n");
            fflush(stdout);
        }
    } else if (code == 130 && sweep_nsignals) {
        fprintf(stderr, "[%d/%d] point %d (%s): interrupted; log in %s\n", ndone, ntodo, k,
                pp.s ? pp.s : "", log);
    } else {
        if (WIFSIGNALED(status))
            fprintf(stderr, "[%d/%d] point %d (%s): FAILED, killed by signal %d; log in %s:\n",
                    ndone, ntodo, k, pp.s ? pp.s : "", WTERMSIG(status), log);
        else
            fprintf(stderr, "[%d/%d] point %d (%s): FAILED with exit code %d; log in %s:\n", ndone,
                    ntodo, k, pp.s ? pp.s : "", code, log);
        sweep_print_log_tail(log, SWEEP_LOG_TAIL);
    }
    free(pp.s);
}

/* ---- scheduling ---- */

/* The stage keys of point k's training stages (runner/stagekey.h), for scheduling: points that
 * share a key share that stage's result through the stage cache. A constant backend name is
 * enough, since only equality between points matters. *n = 0 when the config is invalid. */
static char (*point_keys(const Sweep *s, int k, int *n))[STAGE_KEY_HEX] {
    *n = 0;
    Config *c = sweep_point_config(s, k, NULL, NULL);
    if (!c) return NULL;
    char (*keys)[STAGE_KEY_HEX] = ae_xmalloc((size_t)(c->nstages + 1) * sizeof *keys);
    for (int i = 0; i < c->nstages; i++) {
        StageKind kind = c->stages[i].kind;
        AeError err;
        StageKeyEnv env = {"sweep", 0, NULL};
        if ((kind == STAGE_PRETRAIN_LAYER || kind == STAGE_APPEND_LAYER ||
             kind == STAGE_ATTACH_CLASSIFIER) &&
            stage_key(c, i, &env, keys[*n], NULL, &err))
            (*n)++;
    }
    config_free(c);
    return keys;
}

/* Whether point a would reuse a stage that running point b is computing. */
static bool shares_stage(char (*ka)[STAGE_KEY_HEX], int na, char (*kb)[STAGE_KEY_HEX], int nb) {
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (strcmp(ka[i], kb[j]) == 0) return true;
    return false;
}

/* ---- the pool ---- */

typedef struct Job {
    int point;
    double start;
} Job;

/* The driver's state: the points to run and the running ones. */
typedef struct Pool {
    const Sweep *s;
    const SweepOptions *opt;
    char exe[SWEEP_PATH_MAX];
    int jobs, threads;         /* points at a time, threads each */
    int *todo, ntodo;          /* the points to run; todo[0..next) have been started */
    int next, nrunning, nfinished, nfailed;
    Job running[SWEEP_MAX_JOBS]; /* by slot: in use while sweep_pids[slot] > 0 */
    bool share;                /* schedule by shared stages */
    char (**keys)[STAGE_KEY_HEX]; /* (npoints) point k's stage keys, nkeys[k] of them */
    int *nkeys;
    sigset_t block;            /* SIGINT and SIGTERM, blocked while the pid table changes */
} Pool;

/* How many points at a time, with how many threads each: the budget (opt->threads or the
 * cores) shared by the jobs (opt->jobs or one per core, at most the budget). */
static void pool_size(Pool *p) {
    const SweepOptions *opt = p->opt;
    int cores = sweep_cores();
    int budget = opt->threads > 0 ? opt->threads : cores;
    int jobs = opt->jobs > 0 ? opt->jobs : cores;
    if (jobs > SWEEP_MAX_JOBS) jobs = SWEEP_MAX_JOBS;
    if (jobs > budget) {
        if (!opt->quiet)
            fprintf(stderr, "aelab: note: -j %d is more than the %d thread%s to share; running %d "
                    "points at a time\n", jobs, budget, budget == 1 ? "" : "s", budget);
        jobs = budget;
    }
    p->jobs = jobs;
    p->threads = budget / jobs > 1 ? budget / jobs : 1;
}

/* The points that need running (all with opt->force, else those not complete), announced. */
static void pool_todo(Pool *p) {
    const Sweep *s = p->s;
    p->todo = ae_xmalloc((size_t)s->npoints * sizeof *p->todo);
    int nskipped = 0;
    for (int k = 0; k < s->npoints; k++) {
        if (!p->opt->force && sweep_point_complete(s, k)) nskipped++;
        else p->todo[p->ntodo++] = k;
    }
    if (p->opt->quiet) return;
    sweep_print_shape(s, stdout);
    if (nskipped)
        printf("%d of %d points already complete, skipped (--force runs them again)\n", nskipped,
               s->npoints);
    if (p->ntodo)
        printf("running %d point%s, %d at a time, %d thread%s each; logs in %s/sweep/*/%s\n",
               p->ntodo, p->ntodo == 1 ? "" : "s", p->jobs, p->threads,
               p->threads == 1 ? "" : "s", s->root, SWEEP_LOG_FILE);
    fflush(stdout);
}

/* Points that share a stage with a running point wait for it, so that they reuse its result
 * from the stage cache instead of computing it at the same time: their stage keys. */
static void pool_keys(Pool *p) {
    p->share = p->opt->share_stages && p->jobs > 1 && p->ntodo > 1;
    if (!p->share) return;
    p->keys = ae_xcalloc((size_t)p->s->npoints, sizeof *p->keys);
    p->nkeys = ae_xcalloc((size_t)p->s->npoints, sizeof *p->nkeys);
    for (int i = 0; i < p->ntodo; i++) {
        int k = p->todo[i];
        p->keys[k] = point_keys(p->s, k, &p->nkeys[k]);
    }
}

/* The first waiting point (an index >= next in todo) that shares no stage with a running one;
 * ntodo when every waiting point waits for a running one. */
static int pool_pick(const Pool *p) {
    int pick = p->next;
    for (; p->share && pick < p->ntodo; pick++) {
        bool blocked = false;
        for (int r = 0; r < SWEEP_MAX_JOBS && !blocked; r++)
            if (sweep_pids[r] > 0) {
                int b = p->running[r].point, a = p->todo[pick];
                blocked = shares_stage(p->keys[a], p->nkeys[a], p->keys[b], p->nkeys[b]);
            }
        if (!blocked) break;
    }
    return pick;
}

/* Starts waiting points while a job is free, none is blocked and no signal came. A point that
 * cannot start counts as failed. */
static void pool_start(Pool *p) {
    while (p->nrunning < p->jobs && p->next < p->ntodo && !sweep_nsignals) {
        int pick = pool_pick(p);
        if (pick == p->ntodo) break;
        int k = p->todo[pick];
        memmove(&p->todo[p->next + 1], &p->todo[p->next],
                (size_t)(pick - p->next) * sizeof *p->todo);
        p->todo[p->next++] = k;
        int slot = 0;
        while (sweep_pids[slot] > 0) slot++;
        sigset_t prev;
        sigprocmask(SIG_BLOCK, &p->block, &prev); /* the pid is in the table before a signal */
        pid_t pid = launch(p->s, p->opt, p->exe, k, p->threads);
        if (pid > 0) {
            sweep_pids[slot] = pid;
            p->running[slot] = (Job){k, sweep_now_seconds()};
            p->nrunning++;
        }
        sigprocmask(SIG_SETMASK, &prev, NULL);
        if (pid <= 0) {
            p->nfailed++;
            p->nfinished++;
        }
    }
}

/* Waits for a child to end and reports it. False when waiting fails (printed). */
static bool pool_reap(Pool *p) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
        if (errno == EINTR) return true;
        fprintf(stderr, "aelab: error: waitpid: %s\n", strerror(errno));
        return false;
    }
    int slot = 0;
    while (slot < SWEEP_MAX_JOBS && sweep_pids[slot] != pid) slot++;
    if (slot == SWEEP_MAX_JOBS) return true; /* not one of ours */
    sigset_t prev;
    sigprocmask(SIG_BLOCK, &p->block, &prev);
    sweep_pids[slot] = 0;
    sigprocmask(SIG_SETMASK, &prev, NULL);
    p->nrunning--;
    p->nfinished++;
    p->nfailed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const Job *j = &p->running[slot];
    report_point(p->s, p->opt, j->point, status, sweep_now_seconds() - j->start, p->nfinished,
                 p->ntodo);
    return true;
}

static void pool_free(Pool *p) {
    for (int k = 0; p->share && k < p->s->npoints; k++) free(p->keys[k]);
    free(p->keys);
    free(p->nkeys);
    free(p->todo);
}

int sweep_run(const Sweep *s, const SweepOptions *opt) {
    Pool p = {.s = s, .opt = opt};
    pool_size(&p);
    sweep_exe_path(opt, p.exe, sizeof p.exe);
    pool_todo(&p);

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = sweep_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigemptyset(&p.block);
    sigaddset(&p.block, SIGINT);
    sigaddset(&p.block, SIGTERM);
    sweep_nsignals = 0;

    pool_keys(&p);
    for (int i = 0; i < SWEEP_MAX_JOBS; i++) sweep_pids[i] = 0;
    while (p.next < p.ntodo || p.nrunning > 0) {
        pool_start(&p);
        if (p.nrunning == 0 || !pool_reap(&p)) break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    bool interrupted = sweep_nsignals > 0;
    pool_free(&p);

    int crc = sweep_collect(s, opt);
    if (interrupted) {
        fprintf(stderr, "aelab: sweep interrupted: %d of %d points not run; run the same command "
                "again to finish it (complete points are skipped)\n", p.ntodo - p.nfinished,
                s->npoints);
        return 130;
    }
    if (p.nfailed) {
        fprintf(stderr, "aelab: %d of %d point%s failed (above; sweep.csv has their status)\n",
                p.nfailed, p.ntodo, p.ntodo == 1 ? "" : "s");
        return 1;
    }
    return crc;
}
