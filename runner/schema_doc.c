/* runner/schema_doc.c — the config reference from the schema (schema_doc.h). */
#include "schema_doc.h"

#include <string.h>

#include "schema.h"

static void print_map(FILE *out, const char *title, const MapSpec *spec, int depth) {
    if (!spec || spec->nkeys == 0) {
        fprintf(out, "\n**%s**: no keys.\n", title);
        return;
    }
    fprintf(out, "\n**%s**\n\n| key | takes | default | meaning |\n| --- | --- | --- | --- |\n",
            title);
    for (int i = 0; i < spec->nkeys; i++) {
        const KeySpec *ks = &spec->keys[i];
        char what[512];
        schema_describe(ks, what, sizeof what);
        char def[160];
        if (ks->sel_defs) snprintf(def, sizeof def, "depends on `%s`", spec->selector);
        else if (ks->def && ks->def[0]) snprintf(def, sizeof def, "`%s`", ks->def);
        else snprintf(def, sizeof def, "—");
        fprintf(out, "| `%s` | %s | %s | %s |\n", ks->key, what, def, ks->help ? ks->help : "");
    }
    for (int i = 0; i < spec->nkeys; i++)
        if (spec->keys[i].sub && depth < 2) {
            char t[160];
            snprintf(t, sizeof t, "%s.%s", title, spec->keys[i].key);
            print_map(out, t, spec->keys[i].sub, depth + 1);
        }
}

void schema_doc_print(FILE *out) {
    print_map(out, "top level", schema_top(), 0);
    for (int k = 0; k < STAGE_COUNT; k++) {
        /* the optimizer mapping is the same in every training stage: print it once */
        const MapSpec *spec = schema_stage((StageKind)k);
        fprintf(out, "\n");
        char title[96];
        snprintf(title, sizeof title, "%s", stage_kind_names[k]);
        print_map(out, title, spec, k == STAGE_PRETRAIN_LAYER ? 0 : 2);
    }
}
