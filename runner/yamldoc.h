/* runner/yamldoc.h — a YAML file as a small tree (mappings, sequences, scalars) that remembers
 * where every node came from; built on libyaml's event parser.
 *
 * What libyaml leaves to us, done here:
 *  - positions: every node keeps a 1-based line:column (libyaml's marks are 0-based);
 *  - duplicate keys are errors (with a note at the first occurrence); the later pair is kept
 *    but flagged `dup`, and lookups skip it;
 *  - aliases are expanded by copying, within limits: at most YDOC_MAX_NODES nodes in all (so
 *    "billion laughs" stops early) and at most YDOC_MAX_DEPTH levels of nesting; an alias to an
 *    unknown anchor or to a node that contains it is an error;
 *  - merge keys (`<<: *base` or `<<: [*a, *b]`) copy in the keys the mapping does not set;
 *  - keys must be scalars; one document per file.
 * Syntax errors come out as `FILE:LINE:COL: error: <problem> (<context>)`, with a note at the
 * start of the enclosing construct; a tab in indentation gets its own message.
 *
 * Memory: every node and string lives in the document's Arena, freed by ydoc_free in one call.
 */
#ifndef AE_YAMLDOC_H
#define AE_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define YDOC_MAX_NODES 100000
#define YDOC_MAX_DEPTH 64

/* ---- arena: bump allocation in chunks, released in one call ---- */
typedef struct Arena Arena;

Arena *arena_create(void);
/* Zero-filled, aligned for any type; aborts with file:line when memory runs out. */
void *arena_alloc(Arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_free(Arena *a); /* NULL-safe */

/* ---- the tree ---- */
typedef enum { YNODE_SCALAR = 0, YNODE_MAP, YNODE_SEQ } YNodeKind;

typedef struct YNode YNode;

typedef struct YPair {
    YNode *key;        /* a scalar (a non-scalar key is reported and gets str "?") */
    YNode *value;
    bool dup;          /* a later duplicate of an earlier key: reported, skipped by lookups */
} YPair;

struct YNode {
    YNodeKind kind;
    int line, col;         /* 1-based; of the first character (for `{`/`[` flow: the bracket) */
    const char *origin;    /* NULL: from the file; else printed instead of FILE:LINE:COL */
    YNode *parent;         /* NULL for the root and for keys' own nodes */
    const char *key;       /* when the node is a mapping value: its key; else NULL */
    int index;             /* when the node is a sequence item: its index; else -1 */
    /* scalar */
    const char *str;       /* NUL-terminated (scalars holding a NUL are rejected) */
    size_t len;
    bool plain;            /* unquoted and untagged: may be null/bool/number by its text */
    /* mapping */
    YPair *pairs;
    int npairs, cap_pairs;
    /* sequence */
    YNode **items;
    int nitems, cap_items;
};

typedef struct YDoc {
    Arena *arena;          /* owned: holds every node */
    YNode *root;           /* NULL for an empty document */
    int nnodes;
    int nerrors;           /* non-fatal errors reported while building (duplicate keys) */
} YDoc;

/* Parses text[0..len) (one YAML document) into a tree. Errors go to d; positions use d->file
 * unless origin is not NULL, in which case every node (and message) carries that origin
 * instead (used for --set values). Returns NULL after a fatal error (syntax, limits, aliases);
 * otherwise a document whose nerrors counts the non-fatal errors already reported.
 * The caller owns the result (ydoc_free). */
YDoc *ydoc_parse(const char *text, size_t len, const char *origin, Diag *d);

void ydoc_free(YDoc *doc); /* NULL-safe */

/* The value of `key` in a mapping (first occurrence), or NULL (also when map is not a
 * mapping). Borrowed. */
YNode *ynode_get(const YNode *map, const char *key);
/* The pair of `key` (first occurrence) or NULL. Borrowed. */
YPair *ynode_get_pair(const YNode *map, const char *key);

/* Whether n is a null scalar: plain and empty, "~", "null", "Null" or "NULL". NULL n: true. */
bool ynode_is_null(const YNode *n);

/* Writes the dotted path of n ("pipeline[1].pretrain_layer.optimizer.lr"; "" for the root)
 * into buf (always NUL-terminated). */
void ynode_path(const YNode *n, char *buf, size_t size);

/* A new empty mapping / a new scalar in doc (positions 0, given origin). */
YNode *ydoc_new_map(YDoc *doc, const char *origin);
YNode *ydoc_new_scalar(YDoc *doc, const char *str, const char *origin);

/* A deep copy of src (from any document) into doc's arena, strings included; nodes keep
 * their positions and origins (origin strings are not copied: they must outlive doc). NULL
 * when the copy would pass YDOC_MAX_NODES or YDOC_MAX_DEPTH. */
YNode *ydoc_copy(YDoc *doc, const YNode *src);

/* Sets map[key] = value: replaces the first existing value, else appends a pair whose key node
 * has value's position and origin. Fixes value's parent/key links. */
void ydoc_map_set(YDoc *doc, YNode *map, const char *key, YNode *value);

/* Replaces item `index` (in range) of a sequence with value, fixing value's parent/index. */
void ydoc_seq_set(YNode *seq, int index, YNode *value);

#endif
