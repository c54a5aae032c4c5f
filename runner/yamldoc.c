/* runner/yamldoc.c — libyaml events → a positioned tree (see yamldoc.h for what it adds to
 * libyaml: positions, duplicate keys, bounded aliases, merge keys).
 *
 * The builder keeps an explicit stack of open collections (no recursion on input depth); the
 * few recursive helpers (copy, path) run on trees whose depth is capped at YDOC_MAX_DEPTH.
 */
#include "yamldoc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common.h"
#include "xalloc.h"

/* ------------------------------------------------------------------------------------------
 * Arena
 * ---------------------------------------------------------------------------------------- */

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN 16

typedef struct ArenaChunk {
    struct ArenaChunk *next;
    size_t size, used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
} ArenaChunk;

struct Arena {
    ArenaChunk *head;
};

Arena *arena_create(void) {
    return ae_xcalloc(1, sizeof(Arena));
}

void *arena_alloc(Arena *a, size_t n) {
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0) n = ARENA_ALIGN;
    ArenaChunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = ae_xmalloc(sizeof(ArenaChunk) + size);
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_free(Arena *a) {
    if (!a) return;
    for (ArenaChunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* ------------------------------------------------------------------------------------------
 * Nodes
 * ---------------------------------------------------------------------------------------- */

static YNode *node_new(YDoc *doc, YNodeKind kind, int line, int col, const char *origin) {
    if (doc->nnodes >= YDOC_MAX_NODES) return NULL;
    doc->nnodes++;
    YNode *n = arena_alloc(doc->arena, sizeof *n);
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->origin = origin;
    n->index = -1;
    return n;
}

static void map_append(YDoc *doc, YNode *map, YNode *key, YNode *value) {
    if (map->npairs == map->cap_pairs) {
        int cap = map->cap_pairs ? 2 * map->cap_pairs : 8;
        YPair *p = arena_alloc(doc->arena, (size_t)cap * sizeof *p);
        if (map->npairs) memcpy(p, map->pairs, (size_t)map->npairs * sizeof *p);
        map->pairs = p;
        map->cap_pairs = cap;
    }
    map->pairs[map->npairs++] = (YPair){.key = key, .value = value, .dup = false};
    value->parent = map;
    value->key = key->kind == YNODE_SCALAR ? key->str : "?";
    value->index = -1;
}

static void seq_append(YDoc *doc, YNode *seq, YNode *item) {
    if (seq->nitems == seq->cap_items) {
        int cap = seq->cap_items ? 2 * seq->cap_items : 8;
        YNode **p = arena_alloc(doc->arena, (size_t)cap * sizeof *p);
        if (seq->nitems) memcpy(p, seq->items, (size_t)seq->nitems * sizeof *p);
        seq->items = p;
        seq->cap_items = cap;
    }
    item->parent = seq;
    item->key = NULL;
    item->index = seq->nitems;
    seq->items[seq->nitems++] = item;
}

YNode *ynode_get(const YNode *map, const char *key) {
    YPair *p = ynode_get_pair(map, key);
    return p ? p->value : NULL;
}

YPair *ynode_get_pair(const YNode *map, const char *key) {
    if (!map || map->kind != YNODE_MAP) return NULL;
    for (int i = 0; i < map->npairs; i++) {
        YPair *p = &map->pairs[i];
        if (!p->dup && p->key->kind == YNODE_SCALAR && strcmp(p->key->str, key) == 0) return p;
    }
    return NULL;
}

bool ynode_is_null(const YNode *n) {
    if (!n) return true;
    if (n->kind != YNODE_SCALAR || !n->plain) return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

static size_t path_rec(const YNode *n, char *buf, size_t size, size_t at) {
    if (!n || !n->parent) return at;
    at = path_rec(n->parent, buf, size, at);
    int k;
    if (n->key)
        k = snprintf(buf + at, at < size ? size - at : 0, "%s%s", at ? "." : "", n->key);
    else
        k = snprintf(buf + at, at < size ? size - at : 0, "[%d]", n->index);
    at += k > 0 ? (size_t)k : 0;
    return at < size ? at : size - 1;
}

void ynode_path(const YNode *n, char *buf, size_t size) {
    if (size == 0) return;
    buf[0] = '\0';
    path_rec(n, buf, size, 0);
}

YNode *ydoc_new_map(YDoc *doc, const char *origin) {
    YNode *n = node_new(doc, YNODE_MAP, 0, 0, origin);
    AE_ASSERT(n); /* callers add a handful of nodes to a parsed document; see ydoc_copy */
    return n;
}

YNode *ydoc_new_scalar(YDoc *doc, const char *str, const char *origin) {
    YNode *n = node_new(doc, YNODE_SCALAR, 0, 0, origin);
    AE_ASSERT(n);
    n->len = strlen(str);
    n->str = arena_strndup(doc->arena, str, n->len);
    n->plain = true;
    return n;
}

/* Copies src at nesting depth `depth`; NULL past the node or depth limits. Strings are shared
 * when src lives in doc (alias expansion: the node cap then bounds the work, whatever the
 * strings' lengths), else copied into doc's arena. */
static YNode *copy_rec(YDoc *doc, const YNode *src, int depth, bool share_strings) {
    if (depth > YDOC_MAX_DEPTH) return NULL;
    YNode *n = node_new(doc, src->kind, src->line, src->col, src->origin);
    if (!n) return NULL;
    n->str = src->str && !share_strings ? arena_strndup(doc->arena, src->str, src->len)
                                        : src->str;
    n->len = src->len;
    n->plain = src->plain;
    if (src->kind == YNODE_MAP) {
        for (int i = 0; i < src->npairs; i++) {
            const YPair *p = &src->pairs[i];
            YNode *k = copy_rec(doc, p->key, depth + 1, share_strings);
            YNode *v = k ? copy_rec(doc, p->value, depth + 1, share_strings) : NULL;
            if (!v) return NULL;
            map_append(doc, n, k, v);
            n->pairs[n->npairs - 1].dup = p->dup;
        }
    } else if (src->kind == YNODE_SEQ) {
        for (int i = 0; i < src->nitems; i++) {
            YNode *v = copy_rec(doc, src->items[i], depth + 1, share_strings);
            if (!v) return NULL;
            seq_append(doc, n, v);
        }
    }
    return n;
}

YNode *ydoc_copy(YDoc *doc, const YNode *src) {
    return copy_rec(doc, src, 0, false);
}

void ydoc_map_set(YDoc *doc, YNode *map, const char *key, YNode *value) {
    AE_ASSERT(map->kind == YNODE_MAP);
    YPair *p = ynode_get_pair(map, key);
    if (p) {
        p->value = value;
        value->parent = map;
        value->key = p->key->str;
        value->index = -1;
        return;
    }
    YNode *k = node_new(doc, YNODE_SCALAR, value->line, value->col, value->origin);
    AE_ASSERT(k);
    k->len = strlen(key);
    k->str = arena_strndup(doc->arena, key, k->len);
    k->plain = true;
    map_append(doc, map, k, value);
}

void ydoc_seq_set(YNode *seq, int index, YNode *value) {
    AE_ASSERT(seq->kind == YNODE_SEQ && index >= 0 && index < seq->nitems);
    seq->items[index] = value;
    value->parent = seq;
    value->key = NULL;
    value->index = index;
}

void ydoc_free(YDoc *doc) {
    if (!doc) return;
    arena_free(doc->arena);
    free(doc);
}

/* ------------------------------------------------------------------------------------------
 * Builder: libyaml events → tree
 * ---------------------------------------------------------------------------------------- */

typedef struct Frame {
    YNode *node;
    YNode *pending_key;   /* mapping: a key waiting for its value */
    int anchor;           /* index into anchors of this collection's anchor, or -1 */
} Frame;

typedef struct Anchor {
    const char *name;
    YNode *node;
    bool done;            /* the anchored collection has ended (scalars: at once) */
} Anchor;

typedef struct Builder {
    YDoc *doc;
    Diag *d;
    const char *origin;
    const char *text;
    size_t len;
    Frame stack[YDOC_MAX_DEPTH + 1];
    int depth;
    Anchor *anchors;
    int nanchors, cap_anchors;
} Builder;

static void report(Builder *b, DiagLevel level, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(Builder *b, DiagLevel level, int line, int col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vemit(b->d, level, b->origin, line, col, fmt, ap);
    va_end(ap);
}

static void report_limit(Builder *b, int line, int col) {
    report(b, DIAG_ERROR, line, col,
           "the document is too large: more than %d nodes or %d levels of nesting (an alias "
           "expanding exponentially?)",
           YDOC_MAX_NODES, YDOC_MAX_DEPTH);
}

/* Registers the anchor of a new node; returns its index or -1. */
static int anchor_add(Builder *b, const yaml_char_t *name, YNode *n, bool done) {
    if (!name) return -1;
    if (b->nanchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? 2 * b->cap_anchors : 16;
        Anchor *a = realloc(b->anchors, (size_t)b->cap_anchors * sizeof *a);
        AE_ASSERT(a);
        b->anchors = a;
    }
    const char *s = (const char *)name;
    b->anchors[b->nanchors] = (Anchor){arena_strndup(b->doc->arena, s, strlen(s)), n, done};
    return b->nanchors++;
}

/* Hangs n under the innermost open collection (or makes it the root). */
static void attach(Builder *b, YNode *n) {
    if (b->depth == 0) {
        b->doc->root = n;
        return;
    }
    Frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == YNODE_SEQ) {
        seq_append(b->doc, f->node, n);
    } else if (!f->pending_key) {
        if (n->kind != YNODE_SCALAR) {
            report(b, DIAG_ERROR, n->line, n->col,
                   "a mapping key must be a plain name, not a %s",
                   n->kind == YNODE_MAP ? "mapping" : "list");
            b->doc->nerrors++;
        }
        f->pending_key = n;
    } else {
        map_append(b->doc, f->node, f->pending_key, n);
        f->pending_key = NULL;
    }
}

static bool is_merge_key(const YNode *k) {
    return k->kind == YNODE_SCALAR && k->plain && strcmp(k->str, "<<") == 0;
}

static bool map_has_key(const YNode *map, const char *key) {
    for (int i = 0; i < map->npairs; i++) {
        const YNode *k = map->pairs[i].key;
        if (k->kind == YNODE_SCALAR && !is_merge_key(k) && strcmp(k->str, key) == 0) return true;
    }
    return false;
}

/* Resolves `<<` merge keys of a finished mapping: the keys of the merged mappings that the
 * mapping does not set itself are appended (earlier sources win). */
static void map_merge(Builder *b, YNode *map) {
    bool any = false;
    for (int i = 0; i < map->npairs; i++) any |= is_merge_key(map->pairs[i].key);
    if (!any) return;
    YPair *old = map->pairs;
    int nold = map->npairs;
    map->pairs = NULL;
    map->npairs = map->cap_pairs = 0;
    for (int i = 0; i < nold; i++)
        if (!is_merge_key(old[i].key)) {
            map_append(b->doc, map, old[i].key, old[i].value);
            map->pairs[map->npairs - 1].dup = old[i].dup;
        }
    for (int i = 0; i < nold; i++) {
        if (!is_merge_key(old[i].key)) continue;
        YNode *v = old[i].value;
        int nsrc = v->kind == YNODE_SEQ ? v->nitems : 1;
        for (int s = 0; s < nsrc; s++) {
            YNode *src = v->kind == YNODE_SEQ ? v->items[s] : v;
            if (src->kind != YNODE_MAP) {
                report(b, DIAG_ERROR, src->line, src->col,
                       "the merge key '<<' takes a mapping or a list of mappings");
                b->doc->nerrors++;
                continue;
            }
            for (int j = 0; j < src->npairs; j++) {
                YPair *p = &src->pairs[j];
                if (p->dup || p->key->kind != YNODE_SCALAR || map_has_key(map, p->key->str))
                    continue;
                map_append(b->doc, map, p->key, p->value);
            }
        }
    }
}

typedef struct KeyRef {
    const char *key;
    int index;
} KeyRef;

static int cmp_keyref(const void *pa, const void *pb) {
    const KeyRef *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c) return c;
    return (a->index > b->index) - (a->index < b->index);
}

/* Flags and reports later duplicates of a key (sorting keeps this n log n on big maps). */
static void map_check_duplicates(Builder *b, YNode *map) {
    if (map->npairs < 2) return;
    KeyRef *refs = ae_xmalloc((size_t)map->npairs * sizeof *refs);
    int n = 0;
    for (int i = 0; i < map->npairs; i++)
        if (map->pairs[i].key->kind == YNODE_SCALAR)
            refs[n++] = (KeyRef){map->pairs[i].key->str, i};
    qsort(refs, (size_t)n, sizeof *refs, cmp_keyref);
    char path[512];
    ynode_path(map, path, sizeof path);
    for (int i = 1, first = 0; i < n; i++) {
        if (strcmp(refs[i].key, refs[first].key) != 0) {
            first = i;
            continue;
        }
        YPair *dup = &map->pairs[refs[i].index];
        const YNode *k0 = map->pairs[refs[first].index].key;
        dup->dup = true;
        report(b, DIAG_ERROR, dup->key->line, dup->key->col, "%s%sduplicate key '%s'", path,
               path[0] ? ": " : "", dup->key->str);
        report(b, DIAG_NOTE, k0->line, k0->col, "'%s' first appears here", k0->str);
        b->doc->nerrors++;
    }
    free(refs);
}

/* Strips libyaml's "while parsing a block mapping" to "the block mapping". */
static void context_noun(const char *context, char *buf, size_t size) {
    const char *prefixes[] = {"while parsing a ", "while parsing an ", "while scanning a ",
                              "while scanning an "};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(context, prefixes[i], n) == 0) {
            snprintf(buf, size, "the %s", context + n);
            return;
        }
    }
    buf[0] = '\0';
}

/* Whether line `line` (1-based) of the text has a tab in its leading whitespace, or at
 * column `col` (columns counted in bytes: the config files are ASCII where it matters). */
static bool tab_at(const Builder *b, int line, int col) {
    const char *p = b->text, *end = b->text + b->len;
    for (int l = 1; l < line && p < end; p++)
        if (*p == '\n') l++;
    const char *start = p;
    for (; p < end && (*p == ' ' || *p == '\t'); p++)
        if (*p == '\t') return true;
    return col >= 1 && (size_t)(end - start) >= (size_t)col && start[col - 1] == '\t';
}

static void report_syntax(Builder *b, const yaml_parser_t *p) {
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        /* the reader's mark is not meaningful; the offset is */
        report(b, DIAG_ERROR, 0, 0, "%s at byte %zu", problem, p->problem_offset);
        return;
    }
    if (!b->origin && tab_at(b, line, col)) {
        report(b, DIAG_ERROR, line, col,
               "found a tab character in the indentation (YAML indents with spaces only)");
        return;
    }
    if (p->context)
        report(b, DIAG_ERROR, line, col, "%s (%s)", problem, p->context);
    else
        report(b, DIAG_ERROR, line, col, "%s", problem);
    char noun[128];
    if (p->context) context_noun(p->context, noun, sizeof noun);
    int cline = (int)p->context_mark.line + 1, ccol = (int)p->context_mark.column + 1;
    if (!b->origin && p->context && noun[0] && (cline != line || ccol != col))
        report(b, DIAG_NOTE, cline, ccol, "%s started here", noun);
}

/* One event's work: a node, or the end of a collection. Each returns false after a fatal error
 * (reported). */

static bool on_scalar(Builder *b, const yaml_event_t *ev, int line, int col) {
    const char *s = (const char *)ev->data.scalar.value;
    size_t slen = ev->data.scalar.length;
    YNode *n = node_new(b->doc, YNODE_SCALAR, line, col, b->origin);
    if (!n) {
        report_limit(b, line, col);
        return false;
    }
    n->str = arena_strndup(b->doc->arena, s, slen);
    n->len = slen;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
    if (strlen(n->str) != slen) {
        report(b, DIAG_ERROR, line, col, "a value must not contain a NUL character");
        b->doc->nerrors++;
    }
    anchor_add(b, ev->data.scalar.anchor, n, true);
    attach(b, n);
    return true;
}

static bool on_collection_start(Builder *b, const yaml_event_t *ev, int line, int col) {
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (b->depth == YDOC_MAX_DEPTH) {
        report_limit(b, line, col);
        return false;
    }
    YNode *n = node_new(b->doc, is_map ? YNODE_MAP : YNODE_SEQ, line, col, b->origin);
    if (!n) {
        report_limit(b, line, col);
        return false;
    }
    int a = anchor_add(b, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor,
                       n, false);
    attach(b, n);
    b->stack[b->depth++] = (Frame){.node = n, .pending_key = NULL, .anchor = a};
    return true;
}

static void on_collection_end(Builder *b) {
    Frame *f = &b->stack[--b->depth];
    if (f->node->kind == YNODE_MAP) {
        map_merge(b, f->node);
        map_check_duplicates(b, f->node);
    }
    if (f->anchor >= 0) b->anchors[f->anchor].done = true;
}

/* *NAME: a copy of the anchored node (the node cap bounds what aliases can expand to). */
static bool on_alias(Builder *b, const yaml_event_t *ev, int line, int col) {
    const char *name = (const char *)ev->data.alias.anchor;
    int k = b->nanchors - 1;
    while (k >= 0 && strcmp(b->anchors[k].name, name) != 0) k--;
    if (k < 0) {
        report(b, DIAG_ERROR, line, col, "unknown alias '*%s': no anchor '&%s' before it", name,
               name);
        return false;
    }
    if (!b->anchors[k].done) {
        report(b, DIAG_ERROR, line, col, "alias '*%s' refers to a node that contains it (a cycle)",
               name);
        return false;
    }
    YNode *n = copy_rec(b->doc, b->anchors[k].node, b->depth, true);
    if (!n) {
        report_limit(b, line, col);
        return false;
    }
    n->line = line;
    n->col = col;
    attach(b, n);
    return true;
}

typedef enum { EVENT_GO_ON, EVENT_END, EVENT_FAIL } EventResult;

static EventResult on_event(Builder *b, const yaml_event_t *ev, int *ndocs) {
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT: return EVENT_END;
    case YAML_DOCUMENT_START_EVENT:
        if (++*ndocs > 1) {
            report(b, DIAG_ERROR, line, col,
                   "a config is one YAML document; a second one starts here");
            return EVENT_FAIL;
        }
        return EVENT_GO_ON;
    case YAML_SCALAR_EVENT: return on_scalar(b, ev, line, col) ? EVENT_GO_ON : EVENT_FAIL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_collection_start(b, ev, line, col) ? EVENT_GO_ON : EVENT_FAIL;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: on_collection_end(b); return EVENT_GO_ON;
    case YAML_ALIAS_EVENT: return on_alias(b, ev, line, col) ? EVENT_GO_ON : EVENT_FAIL;
    default: return EVENT_GO_ON;
    }
}

YDoc *ydoc_parse(const char *text, size_t len, const char *origin, Diag *d) {
    YDoc *doc = ae_xcalloc(1, sizeof *doc);
    doc->arena = arena_create();
    Builder b = {.doc = doc, .d = d, .origin = origin, .text = text, .len = len};
    yaml_parser_t parser;
    EventResult r = EVENT_FAIL;
    int ndocs = 0;
    if (!yaml_parser_initialize(&parser)) {
        report(&b, DIAG_ERROR, 0, 0, "cannot initialise the YAML parser (out of memory)");
        goto fail_noparser;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    do {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            report_syntax(&b, &parser);
            r = EVENT_FAIL;
            break;
        }
        r = on_event(&b, &ev, &ndocs);
        yaml_event_delete(&ev);
    } while (r == EVENT_GO_ON);
    yaml_parser_delete(&parser);
fail_noparser:
    free(b.anchors);
    if (r != EVENT_END) {
        ydoc_free(doc);
        return NULL;
    }
    return doc;
}
