/* runner/datasets.c — named data sets to file paths (see datasets.h for the lookup order); the
 * files themselves are read by runner/data.c. */
#include "datasets.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "data.h"

typedef struct KnownSet {
    const char *name; /* as written in configs */
    const char *dir;  /* directory under each data root */
} KnownSet;

static const KnownSet known_sets[] = {
    {"mnist", "mnist"},
    {"fashion-mnist", "fashion-mnist"},
};
enum { NKNOWN = sizeof known_sets / sizeof known_sets[0] };

/* Order of the four files: train images, train labels, test images, test labels. */
static const char *const set_files[4] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

static const KnownSet *known_find(const char *name) {
    for (int k = 0; k < NKNOWN; k++)
        if (strcmp(known_sets[k].name, name) == 0) return &known_sets[k];
    return NULL;
}

bool datasets_known(const char *name) { return name && known_find(name) != NULL; }

const char *datasets_names(void) { return "mnist, fashion-mnist"; }

/* Appends printf-style text to buf (cap bytes), truncating silently. */
static void appendf(char *buf, size_t cap, const char *fmt, ...) {
    size_t len = strnlen(buf, cap);
    if (len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The data roots, in lookup order; returns how many (AELAB_DATA only when set and not empty). */
static int data_roots(const char *roots[3]) {
    int n = 0;
    const char *env = getenv("AELAB_DATA");
    if (env && *env) roots[n++] = env;
    roots[n++] = "data";
    roots[n++] = "/usr/share/datasets";
    return n;
}

/* Looks for the four files in dir (which ends in '/'); fills paths (each cap bytes) and returns
 * true when all are there, or appends to note what is missing. */
static bool dir_find(const char *dir, char *paths[4], size_t cap, char *note, size_t note_cap) {
    if (!is_dir(dir)) {
        appendf(note, note_cap, "no such directory");
        return false;
    }
    int nmissing = 0;
    for (int k = 0; k < 4; k++) {
        char plain[4096 + 64], gz[4096 + 64]; /* dir + a file name */
        snprintf(plain, sizeof plain, "%s%s", dir, set_files[k]);
        snprintf(gz, sizeof gz, "%s%s.gz", dir, set_files[k]);
        const char *hit = is_file(plain) ? plain : is_file(gz) ? gz : NULL;
        if (hit && strlen(hit) < cap) {
            snprintf(paths[k], cap, "%s", hit);
        } else {
            appendf(note, note_cap, "%s%s[.gz]", nmissing ? ", " : "missing ", set_files[k]);
            nmissing++;
        }
    }
    return nmissing == 0;
}

/* Finds a known data set; on success *where holds the directory (where_cap bytes). */
static bool set_find(const KnownSet *ks, char *paths[4], size_t cap, char *where,
                     size_t where_cap, char *why, size_t why_cap) {
    const char *roots[3];
    int nroots = data_roots(roots);
    if (why && why_cap) {
        why[0] = '\0';
        appendf(why, why_cap, "data set '%s' not found; looked in ", ks->name);
    }
    for (int r = 0; r < nroots; r++) {
        char dir[4096], note[1024] = "";
        snprintf(dir, sizeof dir, "%s/%s/", roots[r], ks->dir);
        if (dir_find(dir, paths, cap, note, sizeof note)) {
            snprintf(where, where_cap, "%s", dir);
            return true;
        }
        if (why && why_cap)
            appendf(why, why_cap, "%s%s%s (%s)", r ? ", " : "",
                    r == 0 && nroots == 3 ? "$AELAB_DATA " : "",
                    dir, note);
    }
    if (why && why_cap) {
        if (nroots < 3) appendf(why, why_cap, " (AELAB_DATA is not set)");
        appendf(why, why_cap, "; run `make data` to fetch it");
    }
    return false;
}

bool datasets_paths(const DatasetCfg *d, char ti[], char tl[], char vi[], char vl[], char *why,
                    size_t why_cap) {
    if (strcmp(d->name, "idx") != 0)
        return datasets_resolve(d->name, ti, tl, vi, vl, CFG_PATH_MAX, why, why_cap);
    snprintf(ti, CFG_PATH_MAX, "%s", d->train_images);
    snprintf(tl, CFG_PATH_MAX, "%s", d->train_labels);
    snprintf(vi, CFG_PATH_MAX, "%s", d->test_images);
    snprintf(vl, CFG_PATH_MAX, "%s", d->test_labels);
    return true;
}

bool datasets_resolve(const char *name, char train_images[], char train_labels[],
                      char test_images[], char test_labels[], size_t cap, char *why,
                      size_t why_cap) {
    const KnownSet *ks = name ? known_find(name) : NULL;
    if (!ks) {
        if (why && why_cap)
            snprintf(why, why_cap, "unknown data set '%s'; known: %s", name ? name : "(null)",
                     datasets_names());
        return false;
    }
    char *paths[4] = {train_images, train_labels, test_images, test_labels};
    char where[4096];
    return set_find(ks, paths, cap, where, sizeof where, why, why_cap);
}

void datasets_list(FILE *out) {
    for (int k = 0; k < NKNOWN; k++) {
        const KnownSet *ks = &known_sets[k];
        char p0[4096], p1[4096], p2[4096], p3[4096], where[4096], why[2048];
        char *paths[4] = {p0, p1, p2, p3};
        if (!set_find(ks, paths, sizeof p0, where, sizeof where, why, sizeof why)) {
            fprintf(out, "%-14s %s\n", ks->name, why);
            continue;
        }
        fprintf(out, "%-14s %s\n", ks->name, where);
        const char *split_names[2] = {"train", "test"};
        for (int s = 0; s < 2; s++) {
            int n = 0, rows = 0, cols = 0;
            AeError err;
            const char *img = paths[2 * s];
            const char *base = strrchr(img, '/') ? strrchr(img, '/') + 1 : img;
            if (idx_read_header(img, &n, &rows, &cols, &err))
                fprintf(out, "  %-6s %6d images %dx%d  (%s)\n", split_names[s], n, rows, cols,
                        base);
            else
                fprintf(out, "  %-6s %s\n", split_names[s], err.msg);
        }
    }
}
