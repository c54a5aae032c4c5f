/* tests/fuzz/fuzz_config.c — libFuzzer harness for the config loader (runner/config.c through
 * runner/yamldoc.c, runner/schema.c, runner/diag.c).
 *
 * Input: the bytes of a YAML file (cut at the first NUL: config_load_string takes a C string;
 * the file reader's NUL handling is libyaml's, covered by tests/test_bad_inputs.sh).
 * Checks, beyond "no crash, no leak, no undefined behaviour":
 *  - the error count agrees with the result: NULL <=> nerrors > 0;
 *  - the resolved-config round trip (config.h: "loading it again gives an identical Config"):
 *    a config that loads is written with config_write_resolved, that text must load without an
 *    error, and writing it again must give the same bytes.
 * Diagnostics are printed to /dev/null so that diag_flush's formatting runs too; with
 * AELAB_FUZZ_VERBOSE set (replaying a reproducer) they go to stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"

static FILE *devnull;

static char *resolved_text(const Config *c, const char *path) {
    AeError err;
    FUZZ_CHECK(config_write_resolved(c, path, NULL, 0, &err), "config_write_resolved: %s", err.msg);
    char *text = fuzz_read(path, NULL);
    FUZZ_CHECK(text != NULL, "cannot read back %s", path);
    unlink(path);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!devnull) devnull = getenv("AELAB_FUZZ_VERBOSE") ? stderr : fopen("/dev/null", "w");
    char *text = fuzz_strndup(data, size);
    int nerrors = -1;
    Config *c = config_load_string("fuzz.yaml", text, NULL, 0, devnull, &nerrors);
    FUZZ_CHECK((c == NULL) == (nerrors > 0), "config %s with %d errors",
               c ? "loaded" : "refused", nerrors);
    if (c) {
        const char *out = fuzz_path(0, "resolved.yaml");
        char *first = resolved_text(c, out);
        int n2 = -1;
        Config *c2 = config_load_string("fuzz.yaml", first, NULL, 0, devnull, &n2);
        if (!c2) {
            fprintf(stderr, "---- resolved config that does not load again (%d errors):\n%s\n", n2,
                    first);
            config_load_string("fuzz.yaml", first, NULL, 0, stderr, &n2);
        }
        FUZZ_CHECK(c2 != NULL, "the resolved config does not load again");
        char *second = resolved_text(c2, out);
        if (strcmp(first, second) != 0)
            fprintf(stderr, "---- first:\n%s\n---- second:\n%s\n", first, second);
        FUZZ_CHECK(strcmp(first, second) == 0, "writing the reloaded config gives other bytes");
        free(first);
        free(second);
        config_free(c2);
    }
    config_free(c);
    free(text);
    return 0;
}
