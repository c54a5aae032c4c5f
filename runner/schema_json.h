/* runner/schema_json.h — the config schema (runner/schema.c) for other tools: a JSON Schema,
 * draft 2020-12 (`aelab keys --format json-schema`), and the --set key paths, one a line
 * (`aelab keys --format paths`, which the bash completion reads). The mapping from the table
 * is described at the top of runner/schema_json.c. */
#ifndef AE_SCHEMA_JSON_H
#define AE_SCHEMA_JSON_H

#include <stdio.h>

/* Writes the JSON Schema document to out. */
void schema_json_print(FILE *out);

/* Writes every settable key path: top-level keys, then KIND.KEY and KIND.MAP.KEY. */
void schema_paths_print(FILE *out);

#endif
