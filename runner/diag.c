/* runner/diag.c — buffering, ordering and printing of compiler-style diagnostics; the
 * "did you mean" helper. See diag.h for the format. */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "xalloc.h"

/* Past this many buffered messages, new ones are counted but dropped (a pathological file
 * could otherwise produce one message per node). Far above DIAG_MAX_PRINTED. */
#define DIAG_MAX_BUFFERED 10000

struct DiagMsg {
    DiagLevel level;
    char *origin;          /* owned or NULL */
    int line, col;
    char *text;            /* owned */
    /* sort key of the group (an error/warning and the notes after it) */
    int g_rank, g_line, g_col, g_seq;
    int sub;               /* 0 for the error/warning, 1.. for its notes */
};

void diag_init(Diag *d, FILE *out, const char *file) {
    memset(d, 0, sizeof *d);
    d->out = out;
    d->file = file ? file : "<input>";
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = ae_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void diag_vemit(Diag *d, DiagLevel level, const char *origin, int line, int col, const char *fmt,
                va_list ap) {
    if (level == DIAG_ERROR) d->nerrors++;
    if (level == DIAG_WARNING) d->nwarnings++;
    if (level == DIAG_NOTE && !d->last_kept) return;
    if (d->nmsgs >= DIAG_MAX_BUFFERED) {
        d->last_kept = false;
        return;
    }
    if (d->nmsgs == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 32;
        DiagMsg *m = realloc(d->msgs, (size_t)d->cap * sizeof *m);
        if (!m) {
            fprintf(stderr, "%s:%d: error: out of memory\n", __FILE__, __LINE__);
            exit(1);
        }
        d->msgs = m;
    }
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    DiagMsg *m = &d->msgs[d->nmsgs];
    m->level = level;
    m->origin = origin ? dup_str(origin) : NULL;
    m->line = line;
    m->col = col;
    m->text = dup_str(buf);
    if (level == DIAG_NOTE) {
        const DiagMsg *parent = &d->msgs[d->nmsgs - 1];
        m->g_rank = parent->g_rank;
        m->g_line = parent->g_line;
        m->g_col = parent->g_col;
        m->g_seq = parent->g_seq;
        m->sub = parent->sub + 1;
    } else {
        m->g_rank = origin ? 0 : 1;
        m->g_line = origin ? 0 : line;
        m->g_col = origin ? 0 : col;
        m->g_seq = d->seq++;
        m->sub = 0;
        d->last_kept = true;
    }
    d->nmsgs++;
}

void diag_emit(Diag *d, DiagLevel level, const char *origin, int line, int col, const char *fmt,
               ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(d, level, origin, line, col, fmt, ap);
    va_end(ap);
}

static int cmp_msg(const void *pa, const void *pb) {
    const DiagMsg *a = pa, *b = pb;
    if (a->g_rank != b->g_rank) return a->g_rank < b->g_rank ? -1 : 1;
    if (a->g_line != b->g_line) return a->g_line < b->g_line ? -1 : 1;
    if (a->g_col != b->g_col) return a->g_col < b->g_col ? -1 : 1;
    if (a->g_seq != b->g_seq) return a->g_seq < b->g_seq ? -1 : 1;
    return (a->sub > b->sub) - (a->sub < b->sub);
}

static const char *level_name(DiagLevel l) {
    return l == DIAG_ERROR ? "error" : l == DIAG_WARNING ? "warning" : "note";
}

void diag_flush(Diag *d) {
    if (d->nmsgs > 1) qsort(d->msgs, (size_t)d->nmsgs, sizeof *d->msgs, cmp_msg);
    int printed_errors = 0;
    bool stopped = false;
    for (int i = 0; i < d->nmsgs && d->out; i++) {
        const DiagMsg *m = &d->msgs[i];
        if (m->level == DIAG_ERROR && printed_errors == DIAG_MAX_PRINTED) {
            fprintf(d->out, "%s: error: too many errors (%d); showing the first %d\n", d->file,
                    d->nerrors, DIAG_MAX_PRINTED);
            stopped = true;
        }
        if (stopped) break;
        if (m->level == DIAG_ERROR) printed_errors++;
        if (m->origin)
            fprintf(d->out, "%s: %s: %s\n", m->origin, level_name(m->level), m->text);
        else if (m->line > 0)
            fprintf(d->out, "%s:%d:%d: %s: %s\n", d->file, m->line, m->col, level_name(m->level),
                    m->text);
        else
            fprintf(d->out, "%s: %s: %s\n", d->file, level_name(m->level), m->text);
    }
    if (d->out) fflush(d->out);
    for (int i = 0; i < d->nmsgs; i++) {
        free(d->msgs[i].origin);
        free(d->msgs[i].text);
    }
    d->nmsgs = 0;
    d->last_kept = false;
}

void diag_free(Diag *d) {
    if (!d) return;
    for (int i = 0; i < d->nmsgs; i++) {
        free(d->msgs[i].origin);
        free(d->msgs[i].text);
    }
    free(d->msgs);
    d->msgs = NULL;
    d->nmsgs = d->cap = 0;
}

int diag_edit_distance(const char *a, const char *b) {
    enum { N = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= N || lb >= N) return 1 << 20;
    /* d[i][j]: distance between the first i bytes of a and the first j bytes of b */
    int dist[N][N];
    for (size_t i = 0; i <= la; i++) dist[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) dist[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = dist[i - 1][j] + 1;
            if (dist[i][j - 1] + 1 < best) best = dist[i][j - 1] + 1;
            if (dist[i - 1][j - 1] + cost < best) best = dist[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                dist[i - 2][j - 2] + 1 < best)
                best = dist[i - 2][j - 2] + 1;
            dist[i][j] = best;
        }
    }
    return dist[la][lb];
}

const char *diag_nearest(const char *word, const char *const *cands, int ncands) {
    const char *best = NULL;
    int best_d = 1 << 30;
    int lw = (int)strlen(word);
    for (int i = 0; i < ncands; i++) {
        if (!cands[i]) continue;
        int dd = diag_edit_distance(word, cands[i]);
        int limit = 1 + (int)strlen(cands[i]) / 4;
        if (dd <= limit && dd < lw && dd < best_d) {
            best = cands[i];
            best_d = dd;
        }
    }
    return best;
}
