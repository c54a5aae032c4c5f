/* runner/sweep_point.c — one point of a sweep: what determines it (its fingerprint), the
 * point.status its run leaves behind, whether it is complete, and running it in this process
 * (`aelab run FILE --set... --point K`, which is what the driver's children and the emitted
 * commands do).
 *
 * A point is complete when its point.status says exit_code 0 with the fingerprint of what now
 * determines it and its summary.csv exists (sweep.h).
 */
#include "sweep_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

void sweep_point_fingerprint(const Sweep *s, int k, char hex[17]) {
    uint64_t h = 1469598103934665603ULL;
    int n;
    char **sets = sweep_point_sets(s, k, &n);
    const char *parts[3] = {AE_VERSION, s->text, NULL};
    for (int p = 0; p < 2 + n; p++) {
        const char *t = p < 2 ? parts[p] : sets[p - 2];
        size_t len = p == 1 ? s->len : strlen(t);
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
        h = (h ^ 0xffu) * 1099511628211ULL; /* separator */
    }
    sweep_values_free(sets, n);
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

/* ---- point.status ---- */

void sweep_status_path(const Sweep *s, int k, char *buf, size_t n, const char *file) {
    char dir[SWEEP_PATH_MAX];
    sweep_point_dir(s, k, dir, sizeof dir);
    snprintf(buf, n, "%s/%s", dir, file);
}

PointStatus sweep_status_read(const Sweep *s, int k) {
    PointStatus st = {.exit_code = -1, .trained = -1, .reused = -1, .seconds = NAN};
    char path[SWEEP_PATH_MAX + 32];
    sweep_status_path(s, k, path, sizeof path, SWEEP_STATUS_FILE);
    AeError err;
    char *text = fs_read_file(path, NULL, &err);
    if (!text) return st;
    st.present = true;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        const char *v = colon + 1 + (colon[1] == ' ');
        char *end;
        if (strcmp(line, "fingerprint") == 0)
            snprintf(st.fingerprint, sizeof st.fingerprint, "%s", v);
        else if (strcmp(line, "exit_code") == 0) st.exit_code = (int)strtol(v, &end, 10);
        else if (strcmp(line, "seconds") == 0) st.seconds = strtod(v, &end);
        else if (strcmp(line, "stages_trained") == 0) st.trained = (int)strtol(v, &end, 10);
        else if (strcmp(line, "stages_reused") == 0) st.reused = (int)strtol(v, &end, 10);
    }
    free(text);
    return st;
}

bool sweep_status_write(const Sweep *s, int k, int exit_code, double seconds, int trained,
                        int reused, AeError *err) {
    char path[SWEEP_PATH_MAX + 32], fp[17];
    sweep_status_path(s, k, path, sizeof path, SWEEP_STATUS_FILE);
    sweep_point_fingerprint(s, k, fp);
    StrBuf b = {0};
    strbuf_printf(&b, "point: %d\nfingerprint: %s\nexit_code: %d\nseconds: %.3f\n", k, fp,
                  exit_code, seconds);
    if (trained >= 0) strbuf_printf(&b, "stages_trained: %d\nstages_reused: %d\n", trained, reused);
    bool ok = fs_write_atomic(path, b.s, b.n, err);
    free(b.s);
    return ok;
}

const char *sweep_point_state(const Sweep *s, int k, const PointStatus *st) {
    if (!st->present) return "missing";
    char fp[17];
    sweep_point_fingerprint(s, k, fp);
    if (strcmp(fp, st->fingerprint) != 0) return "stale";
    if (st->exit_code == 130) return "interrupted";
    if (st->exit_code != 0) return "failed";
    char path[SWEEP_PATH_MAX + 32];
    sweep_status_path(s, k, path, sizeof path, "summary.csv");
    return fs_exists(path) ? "ok" : "missing";
}

bool sweep_point_complete(const Sweep *s, int k) {
    PointStatus st = sweep_status_read(s, k);
    return strcmp(sweep_point_state(s, k, &st), "ok") == 0;
}

double sweep_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- running a point ---- */

int sweep_run_point(const Sweep *s, int k, const RunOptions *base, bool force) {
    if (k < 0 || k >= s->npoints) {
        fprintf(stderr, "aelab run: error: --point %d: the sweep has %d point%s (0 to %d)\n", k,
                s->npoints, s->npoints == 1 ? "" : "s", s->npoints - 1);
        return 2;
    }
    char dir[SWEEP_PATH_MAX], path[SWEEP_PATH_MAX + 32];
    sweep_point_dir(s, k, dir, sizeof dir);
    if (!force && sweep_point_complete(s, k)) {
        if (!base->quiet)
            fprintf(stderr, "aelab: point %d already complete in %s/; skipped (--force runs it "
                    "again)\n", k, dir);
        return 0;
    }
    AeError err;
    if (!fs_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_STATUS_FILE);
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: error: cannot remove: %s\n", path, strerror(errno));
        return 1;
    }
    int nsets, nerr = 0, rc;
    char **sets = sweep_point_sets(s, k, &nsets);
    double t0 = sweep_now_seconds();
    RunStats stats = {-1, -1};
    Config *cfg = config_load_string(s->file, s->text, (const char *const *)sets, nsets, stderr, &nerr);
    if (!cfg) {
        fprintf(stderr, "aelab run: %d error%s in %s (point %d)\n", nerr, nerr == 1 ? "" : "s",
                s->file, k);
        rc = 2;
    } else {
        RunOptions o = *base;
        o.out_dir = dir;
        o.provenance_sets = (const char *const *)sets;
        o.nsets = nsets;
        o.stats = &stats;
        rc = pipeline_run(cfg, &o);
    }
    config_free(cfg);
    sweep_values_free(sets, nsets);
    double secs = sweep_now_seconds() - t0;
    if (!sweep_status_write(s, k, rc, secs, stats.ntrained, stats.nreused, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        if (rc == 0) rc = 1;
    }
    return rc;
}
