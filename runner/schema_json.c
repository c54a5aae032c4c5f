/* runner/schema_json.c — the config schema of runner/schema.c as a JSON Schema (draft
 * 2020-12), for editors (yaml-language-server: `# yaml-language-server: $schema=...`), and as
 * the list of --set key paths the bash completion offers (contract in schema_json.h).
 *
 * Mapping from the table: KT_INT -> integer, KT_FLOAT -> number (either also as numeric text),
 * KT_BOOL -> boolean (or yes/no/on/off, which YAML 1.2 reads as strings), KT_STRING
 * -> string (KF_NAME / KF_LABEL as a pattern), KT_ENUM -> enum, KT_INT_LIST -> array of
 * integers, KT_MAP -> a $defs entry, KT_PIPELINE -> array of stages, KT_OPAQUE -> anything.
 * Bounds become minimum/maximum (exclusive with KF_MIN_EXCL / KF_MAX_EXCL), help the
 * description, def the default. Every mapping is closed (additionalProperties: false, as the
 * validator rejects unknown keys; the top level also allows x-* keys). A mapping with a
 * selector gets one if/then per selector value: the keys that value requires, and `false` for
 * the keys that do not apply to it. A stage is an object of one key (the stage kind; its value
 * a mapping or null) or the kind's name alone (`- evaluate`).
 */
#include "schema_json.h"

#include <string.h>

#include "report.h"
#include "schema.h"
#include "strbuf.h"

/* Numbers may also come as text ('100', or 1e-3, which YAML 1.1 readers such as PyYAML take
 * for a string): the validator reads every scalar's text with strtoll/strtod. Such text is
 * matched by its form only; its bounds are left to aelab. */
#define INT_TEXT "^ *[-+]?[0-9]+ *$"
#define FLOAT_TEXT "^ *[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)? *$"

static void bounds(StrBuf *b, const KeySpec *ks) {
    if (ks->flags & KF_MIN)
        strbuf_printf(b, ", \"%s\": %.17g", ks->flags & KF_MIN_EXCL ? "exclusiveMinimum"
                                                                    : "minimum", ks->min);
    if (ks->flags & KF_MAX)
        strbuf_printf(b, ", \"%s\": %.17g", ks->flags & KF_MAX_EXCL ? "exclusiveMaximum"
                                                                    : "maximum", ks->max);
}

static void default_value(StrBuf *b, const KeySpec *ks) {
    if (!ks->def || ks->sel_defs || ks->type == KT_MAP) return;
    strbuf_printf(b, ", \"default\": ");
    if ((ks->type == KT_INT || ks->type == KT_FLOAT) && report_json_number(ks->def))
        strbuf_printf(b, "%s", ks->def);
    else if (ks->type == KT_BOOL) strbuf_printf(b, "%s", strcmp(ks->def, "true") ? "false" : "true");
    else if (ks->type == KT_INT_LIST) strbuf_printf(b, "%s", ks->def);
    else report_json(b, ks->def);
}

/* The schema of one key's value. */
static void key_schema(StrBuf *b, const KeySpec *ks) {
    strbuf_printf(b, "{");
    switch (ks->type) {
    case KT_INT:
    case KT_FLOAT:
        strbuf_printf(b, "\"anyOf\": [{\"type\": \"%s\"", ks->type == KT_INT ? "integer" : "number");
        bounds(b, ks);
        strbuf_printf(b, "}, {\"type\": \"string\", \"pattern\": \"%s\"}]",
                      ks->type == KT_INT ? INT_TEXT : FLOAT_TEXT);
        break;
    case KT_BOOL:
        strbuf_printf(b, "\"anyOf\": [{\"type\": \"boolean\"}, {\"enum\": [\"yes\", \"no\", "
                      "\"on\", \"off\", \"Yes\", \"No\", \"On\", \"Off\"]}]");
        break;
    case KT_STRING:
        strbuf_printf(b, "\"type\": \"string\"");
        if (ks->flags & KF_NAME) strbuf_printf(b, ", \"pattern\": \"^[A-Za-z0-9_.-]+$\"");
        if (ks->flags & KF_LABEL) strbuf_printf(b, ", \"pattern\": \"^[A-Za-z0-9_-]+$\"");
        break;
    case KT_ENUM:
        strbuf_printf(b, "\"enum\": [");
        for (int i = 0; ks->names[i].name; i++) {
            strbuf_printf(b, "%s", i ? ", " : "");
            report_json(b, ks->names[i].name);
        }
        strbuf_printf(b, "]");
        break;
    case KT_INT_LIST:
        strbuf_printf(b, "\"type\": \"array\", \"maxItems\": %zu, \"items\": {\"type\": "
                      "\"integer\"", ks->size);
        bounds(b, ks);
        strbuf_printf(b, "}");
        break;
    case KT_MAP: strbuf_printf(b, "\"$ref\": \"#/$defs/%s\"", ks->sub->what); break;
    case KT_PIPELINE:
        strbuf_printf(b, "\"type\": \"array\", \"minItems\": 1, \"items\": {\"$ref\": "
                      "\"#/$defs/stage\"}");
        break;
    case KT_OPAQUE: break;
    }
    if (ks->help) {
        strbuf_printf(b, "%s\"description\": ", ks->type == KT_OPAQUE ? "" : ", ");
        report_json(b, ks->help);
    }
    default_value(b, ks);
    strbuf_printf(b, "}");
}

/* One if/then per selector value: what it requires, and the keys that do not apply to it. */
static void selector_rules(StrBuf *b, const MapSpec *spec) {
    const KeySpec *sel = schema_find(spec, spec->selector);
    strbuf_printf(b, ",\n      \"allOf\": [");
    for (int v = 0; sel->names[v].name; v++) {
        strbuf_printf(b, "%s\n        {\"if\": {\"properties\": {\"%s\": {\"const\": ", v ? "," : "",
                      spec->selector);
        report_json(b, sel->names[v].name);
        strbuf_printf(b, "}}, \"required\": [\"%s\"]}, \"then\": {\"required\": [",
                      spec->selector);
        int n = 0;
        for (int i = 0; i < spec->nkeys; i++)
            if (spec->keys[i].required_for & (1u << v))
                strbuf_printf(b, "%s\"%s\"", n++ ? ", " : "", spec->keys[i].key);
        strbuf_printf(b, "], \"properties\": {");
        n = 0;
        for (int i = 0; i < spec->nkeys; i++)
            if (spec->keys[i].only && !(spec->keys[i].only & (1u << v)))
                strbuf_printf(b, "%s\"%s\": false", n++ ? ", " : "", spec->keys[i].key);
        strbuf_printf(b, "}}}");
    }
    strbuf_printf(b, "\n      ]");
}

/* The object schema of a mapping (the body of a $defs entry or of the root). */
static void map_schema(StrBuf *b, const MapSpec *spec, bool top, bool nullable) {
    strbuf_printf(b, "\"type\": %s,\n      \"properties\": {", nullable ? "[\"object\", \"null\"]"
                                                                       : "\"object\"");
    for (int i = 0; i < spec->nkeys; i++) {
        strbuf_printf(b, "%s\n        ", i ? "," : "");
        report_json(b, spec->keys[i].key);
        strbuf_printf(b, ": ");
        key_schema(b, &spec->keys[i]);
    }
    strbuf_printf(b, "\n      },\n      \"required\": [");
    int n = 0;
    for (int i = 0; i < spec->nkeys; i++)
        if (spec->keys[i].flags & KF_REQUIRED)
            strbuf_printf(b, "%s\"%s\"", n++ ? ", " : "", spec->keys[i].key);
    strbuf_printf(b, "],\n      ");
    if (top) strbuf_printf(b, "\"patternProperties\": {\"^x-\": {}},\n      ");
    strbuf_printf(b, "\"additionalProperties\": false");
    if (spec->selector) selector_rules(b, spec);
}

static void stage_def(StrBuf *b) {
    strbuf_printf(b, "    \"stage\": {\n      \"description\": \"one stage: {KIND: {keys}} or "
                  "the kind alone\",\n      \"oneOf\": [\n        {\"enum\": [");
    for (int k = 0; k < STAGE_COUNT; k++)
        strbuf_printf(b, "%s\"%s\"", k ? ", " : "", stage_kind_names[k]);
    strbuf_printf(b, "]}");
    for (int k = 0; k < STAGE_COUNT; k++)
        strbuf_printf(b, ",\n        {\"type\": \"object\", \"properties\": {\"%s\": {\"$ref\": "
                      "\"#/$defs/%s\"}}, \"required\": [\"%s\"], \"additionalProperties\": "
                      "false}", stage_kind_names[k], stage_kind_names[k], stage_kind_names[k]);
    strbuf_printf(b, "\n      ]\n    }");
}

void schema_json_print(FILE *out) {
    StrBuf b = {0};
    strbuf_printf(&b, "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
                  "  \"title\": \"aelab experiment config\",\n"
                  "  \"description\": \"generated by `aelab keys --format json-schema` from "
                  "runner/schema.c\",\n      ");
    map_schema(&b, schema_top(), true, false);
    strbuf_printf(&b, ",\n  \"$defs\": {\n");
    stage_def(&b);
    const MapSpec *subs[8] = {0};
    int nsubs = 0;
    for (int k = 0; k < STAGE_COUNT; k++) {
        const MapSpec *spec = schema_stage((StageKind)k);
        strbuf_printf(&b, ",\n    \"%s\": {\n      ", stage_kind_names[k]);
        map_schema(&b, spec, false, true);
        strbuf_printf(&b, "\n    }");
        for (int i = 0; i < spec->nkeys; i++) {
            const MapSpec *s = spec->keys[i].sub;
            bool seen = false;
            for (int j = 0; j < nsubs; j++) seen |= subs[j] == s;
            if (s && !seen && nsubs < 8) subs[nsubs++] = s;
        }
    }
    for (int j = 0; j < nsubs; j++) {
        strbuf_printf(&b, ",\n    \"%s\": {\n      ", subs[j]->what);
        map_schema(&b, subs[j], false, false);
        strbuf_printf(&b, "\n    }");
    }
    strbuf_printf(&b, "\n  }\n}\n");
    fputs(b.s, out);
    strbuf_free(&b);
}

void schema_paths_print(FILE *out) {
    const MapSpec *top = schema_top();
    for (int i = 0; i < top->nkeys; i++)
        if (top->keys[i].type != KT_PIPELINE && top->keys[i].type != KT_OPAQUE)
            fprintf(out, "%s\n", top->keys[i].key);
    for (int k = 0; k < STAGE_COUNT; k++) {
        const MapSpec *spec = schema_stage((StageKind)k);
        for (int i = 0; i < spec->nkeys; i++) {
            const KeySpec *ks = &spec->keys[i];
            if (!ks->sub) {
                fprintf(out, "%s.%s\n", stage_kind_names[k], ks->key);
                continue;
            }
            for (int j = 0; j < ks->sub->nkeys; j++)
                fprintf(out, "%s.%s.%s\n", stage_kind_names[k], ks->key, ks->sub->keys[j].key);
        }
    }
}
