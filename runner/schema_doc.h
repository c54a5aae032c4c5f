/* runner/schema_doc.h — the config reference, printed from the schema table itself
 * (`aelab keys`), so the README's "Config reference" cannot drift from what is validated
 * (tag-schema-readme: tests/test_cli.sh checks that the README holds this output). */
#ifndef AE_SCHEMA_DOC_H
#define AE_SCHEMA_DOC_H

#include <stdio.h>

/* Writes a Markdown table per mapping (top level, each stage, the optimizer): key, what it
 * takes, default, meaning. */
void schema_doc_print(FILE *out);

#endif
