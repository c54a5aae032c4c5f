/* runner/datapath.c — relative data paths resolved against the config file's directory
 * (contract in datapath.h).
 */
#include "datapath.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *const PATH_KEYS[] = {"train_images", "train_labels", "test_images",
                                        "test_labels",  "train_csv",    "test_csv"};

/* Removes "." and ".." components of the absolute path p in place ("/.." stays "/"). */
static void normalise(char *p) {
    char *out = p, *in = p;
    while (*in) {
        while (*in == '/') in++;
        char *end = in + strcspn(in, "/");
        size_t n = (size_t)(end - in);
        if (n == 1 && in[0] == '.') {
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/') {
            }
        } else if (n) {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in = end;
    }
    if (out == p) *out++ = '/';
    *out = '\0';
}

void datapath_join(const char *dir, const char *path, char *out, size_t cap) {
    char real[PATH_MAX];
    if (path[0] == '/') {
        snprintf(out, cap, "%s", path);
        return;
    }
    if (!realpath(dir, real)) snprintf(real, sizeof real, "%s", dir);
    snprintf(out, cap, "%s/%s", real, path);
    if (out[0] == '/') normalise(out);
}

/* The directory of the config file, "." for a bare name or standard input. */
static void config_dir(const char *name, char *dir, size_t cap) {
    const char *slash = strrchr(name, '/');
    if (!slash || strcmp(name, CONFIG_STDIN_NAME) == 0) snprintf(dir, cap, ".");
    else if (slash == name) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - name), name);
}

static void resolve_stage(YDoc *doc, YNode *args, const char *dir) {
    for (size_t k = 0; k < sizeof PATH_KEYS / sizeof *PATH_KEYS; k++) {
        YNode *v = ynode_get(args, PATH_KEYS[k]);
        if (!v || v->kind != YNODE_SCALAR || !v->str[0] || v->str[0] == '/') continue;
        char joined[CFG_PATH_MAX * 2];
        datapath_join(v->origin ? "." : dir, v->str, joined, sizeof joined);
        v->str = arena_strndup(doc->arena, joined, strlen(joined));
        v->len = strlen(joined);
    }
}

void datapath_resolve(YDoc *doc, const char *config_name) {
    const YNode *pl = doc ? ynode_get(doc->root, "pipeline") : NULL;
    if (!pl || pl->kind != YNODE_SEQ) return;
    char dir[CFG_PATH_MAX];
    config_dir(config_name, dir, sizeof dir);
    for (int i = 0; i < pl->nitems; i++) {
        YNode *item = pl->items[i];
        YNode *args = item->kind == YNODE_MAP ? ynode_get(item, "load_dataset") : NULL;
        if (args && args->kind == YNODE_MAP) resolve_stage(doc, args, dir);
    }
}
