/* tests/fuzz/replay_main.c — a main() for a fuzz harness built without libFuzzer (gcc, for
 * make test): runs LLVMFuzzerTestOneInput once on each file named on the command line, in
 * order. A finding aborts (FUZZ_CHECK) or crashes, so the exit status says whether every input
 * passed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        size_t cap = 1 << 16, n = 0, r;
        uint8_t *b = malloc(cap);
        while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap) {
                uint8_t *nb = realloc(b, cap *= 2);
                if (!nb) free(b);
                b = nb;
            }
        }
        fclose(f);
        if (!b) {
            fprintf(stderr, "%s: out of memory\n", argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(b, n);
        free(b);
        printf("ok %s\n", argv[i]);
    }
    return 0;
}
