/* bench/side.c — what the measuring processes reported: the "key value" lines a worker
 * (workload.c) or the PyTorch peer (bench/peer_torch.py) prints, parsed into a Side, and the
 * processes of one side and workload merged, clean ones first.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* "op NAME SECONDS CALLS [BYTES]": a line without BYTES (an older worker) leaves the op's bytes
 * unknown. True when it named a known op. */
static bool side_parse_op(Side *s, const char *val) {
    char name[64];
    double sec, bytes;
    long calls;
    int nf = sscanf(val, "%63s %lf %ld %lf", name, &sec, &calls, &bytes);
    if (nf == 3) bytes = NAN;
    bool seen = false;
    if (nf >= 3)
        for (int op = 0; op < OP_COUNT; op++)
            if (strcmp(name, OP_NAMES[op]) == 0) {
                s->op_sec[op] += sec;
                s->op_calls[op] = calls;
                s->op_bytes[op] += bytes;
                seen = true;
            }
    return seen;
}

/* One line's key and value; true when it was an `op` line of a known op. */
static bool side_parse_line(Side *s, const char *key, const char *val) {
    double v;
    if (strcmp(key, "epoch_s") == 0 && parse_double(val, &v)) samples_add(&s->epoch_s, v);
    else if (strcmp(key, "roofline_s") == 0 && parse_double(val, &v))
        samples_add(&s->roofline_s, v);
    else if (strcmp(key, "eval_s") == 0 && parse_double(val, &v))
        samples_add(&s->eval_s, v);
    else if (strcmp(key, "once_s") == 0 && parse_double(val, &v))
        samples_add(&s->once_s, v);
    else if (strcmp(key, "roofline_once_s") == 0 && parse_double(val, &v))
        samples_add(&s->roofline_once_s, v);
    else if (strcmp(key, "flops_once") == 0 && parse_double(val, &v))
        s->flops_once = v;
    else if ((strcmp(key, "flops_per_epoch") == 0 || strcmp(key, "flops_per_eval") == 0) &&
             parse_double(val, &v))
        s->flops = v;
    else if (strcmp(key, "flops_counted") == 0 && parse_double(val, &v))
        s->flops_counted = v;
    else if (strcmp(key, "evals_per_iter") == 0 && parse_double(val, &v)) {
        s->evals_per_iter_sum += v;
        s->evals_rounds++;
    } else if (strcmp(key, "rss_kb") == 0 && parse_double(val, &v)) {
        if ((long)v > s->rss_kb) s->rss_kb = (long)v;
    } else if (strcmp(key, "corename") == 0) {
        snprintf(s->corename, sizeof s->corename, "%s", val);
    } else if (strcmp(key, "blas_lib") == 0) {
        snprintf(s->blas_lib, sizeof s->blas_lib, "%s", val);
    } else if (strcmp(key, "blas_config") == 0) {
        snprintf(s->blas_config, sizeof s->blas_config, "%s", val);
    } else if (strcmp(key, "torch_parallel") == 0) {
        snprintf(s->torch_parallel, sizeof s->torch_parallel, "%s", val);
    } else if (strcmp(key, "blas_parallel") == 0 && parse_double(val, &v)) {
        s->blas_parallel = (int)v;
    } else if (strcmp(key, "blas_threads") == 0 && parse_double(val, &v)) {
        s->blas_threads = (int)v;
    } else if (strcmp(key, "features_s") == 0 && parse_double(val, &v)) {
        s->features_s = v;
    } else if (strcmp(key, "info") == 0) {
        snprintf(s->info, sizeof s->info, "%s", val);
    } else if (strcmp(key, "objective") == 0) {
        sscanf(val, "%lf %lf", &s->obj_first, &s->obj_last);
    } else if (strcmp(key, "stream_gbs_l3") == 0 && parse_double(val, &v)) {
        samples_add(&s->stream_l3, v);
    } else if (strcmp(key, "stream_gbs_dram") == 0 && parse_double(val, &v)) {
        samples_add(&s->stream_dram, v);
    } else if (strcmp(key, "peak_gflops") == 0 && parse_double(val, &v)) {
        samples_add(&s->peak, v);
    } else if (strcmp(key, "sgemm2048_gflops") == 0 && parse_double(val, &v)) {
        samples_add(&s->sgemm_big, v);
    } else if (strcmp(key, "peak_isa") == 0) {
        snprintf(s->peak_isa, sizeof s->peak_isa, "%s", val);
    } else if (strcmp(key, "op") == 0) {
        return side_parse_op(s, val);
    }
    return false;
}

void side_parse(Side *s, const char *out) {
    const char *line = out;
    bool ops_seen = false;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[512];
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *sp = strchr(buf, ' ');
        if (sp) {
            *sp = '\0';
            if (side_parse_line(s, buf, sp + 1)) ops_seen = true;
        }
        line = end ? end + 1 : line + len;
    }
    if (ops_seen) s->op_rounds++;
}

static bool side_clean(const Side *p) { return p->others.n && p->others.v[0] <= CLEAN_OTHERS; }

int runs_clean(const Runs *r) {
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->p[i].ran && side_clean(&r->p[i])) n++;
    return n;
}

static void samples_append(Samples *dst, const Samples *src) {
    for (int k = 0; k < src->n; k++) samples_add(dst, src->v[k]);
}

/* Adds process p's figures to the merged side out: samples appended, op times and bytes summed,
 * the single values (FLOPs, core name, objective) taken from the last process. */
static void side_add(Side *out, const Side *p) {
    out->ran = true;
    out->error[0] = '\0';
    samples_append(&out->epoch_s, &p->epoch_s);
    samples_append(&out->roofline_s, &p->roofline_s);
    samples_append(&out->eval_s, &p->eval_s);
    samples_append(&out->once_s, &p->once_s);
    samples_append(&out->roofline_once_s, &p->roofline_once_s);
    out->flops_once = p->flops_once;
    samples_append(&out->others, &p->others);
    out->flops = p->flops;
    out->flops_counted = p->flops_counted;
    out->evals_per_iter_sum += p->evals_per_iter_sum;
    out->evals_rounds += p->evals_rounds;
    for (int op = 0; op < OP_COUNT; op++) {
        out->op_sec[op] += p->op_sec[op];
        out->op_bytes[op] += p->op_bytes[op];
        if (p->op_calls[op]) out->op_calls[op] = p->op_calls[op];
    }
    out->op_rounds += p->op_rounds;
    samples_append(&out->stream_l3, &p->stream_l3);
    samples_append(&out->stream_dram, &p->stream_dram);
    samples_append(&out->peak, &p->peak);
    samples_append(&out->sgemm_big, &p->sgemm_big);
    snprintf(out->peak_isa, sizeof out->peak_isa, "%s", p->peak_isa);
    snprintf(out->corename, sizeof out->corename, "%s", p->corename);
    snprintf(out->info, sizeof out->info, "%s", p->info);
    snprintf(out->blas_lib, sizeof out->blas_lib, "%s", p->blas_lib);
    snprintf(out->blas_config, sizeof out->blas_config, "%s", p->blas_config);
    snprintf(out->torch_parallel, sizeof out->torch_parallel, "%s", p->torch_parallel);
    out->blas_parallel = p->blas_parallel;
    out->blas_threads = p->blas_threads;
    out->features_s = p->features_s;
    /* one process that ran another BLAS than its row claims is enough to refuse the ratio */
    if (p->blas_mismatch[0] && !out->blas_mismatch[0])
        snprintf(out->blas_mismatch, sizeof out->blas_mismatch, "%s", p->blas_mismatch);
    out->obj_first = p->obj_first;
    out->obj_last = p->obj_last;
}

void runs_merge(const Runs *r, Side *out) {
    memset(out, 0, sizeof *out);
    int clean = runs_clean(r);
    out->nprocs = r->n;
    out->nclean = clean;
    for (int i = 0; i < r->n; i++) {
        const Side *p = &r->p[i];
        if (!p->ran) {
            if (!out->ran) snprintf(out->error, sizeof out->error, "%s", p->error);
            continue;
        }
        if (p->rss_kb > out->rss_kb) out->rss_kb = p->rss_kb;
        if (p->blas_mismatch[0] && !out->blas_mismatch[0])
            snprintf(out->blas_mismatch, sizeof out->blas_mismatch, "%s", p->blas_mismatch);
        if (clean && !side_clean(p)) continue;
        side_add(out, p);
    }
}
