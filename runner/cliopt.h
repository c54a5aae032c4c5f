/* runner/cliopt.h — the options of every aelab command, read with glibc's getopt_long the way
 * GNU tools read theirs: `--name VALUE`, `--name=VALUE`, an unambiguous prefix of a long name
 * (`--thr 2`), `-c VALUE`, `-cVALUE`, bundled one-letter options (`-qj2`), and `--` ending the
 * options. Arguments that are not options (a lone `-` is one) come back in the order given,
 * wherever they stand among the options.
 *
 * Every error is turned into a message naming the option as the user spelt it, so commands
 * print them in their own "aelab CMD: error: ..." form. The option table's `val`s must be
 * unique, and a long option without a one-letter twin must have a val >= CLI_LONG_ONLY (so
 * that it is never mistaken for a one-letter option in an error). */
#ifndef AE_CLIOPT_H
#define AE_CLIOPT_H

#include <getopt.h>
#include <stdbool.h>

#define CLI_LONG_ONLY 256

enum {
    CLI_DONE = -1,     /* no arguments left */
    CLI_ARG = 1,       /* an argument that is not an option: CliParser.arg */
    CLI_MISSING = ':', /* an option lacks its value: CliParser.name, CliParser.opt */
    CLI_BAD = '?',     /* an unknown, ambiguous or misused option: CliParser.error */
};

typedef struct CliParser {
    int argc;
    char **argv;                 /* borrowed; argv[0] is the command's name */
    const struct option *longs;  /* borrowed; ends with a zero entry */
    char optstring[64];          /* "-:" + the one-letter options */
    bool options_done;           /* `--` was met: the rest are arguments */
    /* what the last cli_next returned */
    int opt;                     /* the option's val (also for CLI_MISSING) */
    const char *arg;             /* the option's value or the argument; NULL when none */
    int index;                   /* CLI_ARG: the argument's index in argv */
    char name[64];               /* the option as spelt: "--out" (full name) or "-o" */
    char error[192];             /* CLI_BAD: "unknown option '--bogus'" and the like */
} CliParser;

/* Starts reading argv[1..argc-1]. shorts: getopt's one-letter options ("qo:j:"); longs: the
 * long ones. Resets getopt's global state, so a process may parse several argument lists. */
void cli_init(CliParser *p, int argc, char **argv, const char *shorts,
              const struct option *longs);

/* The next option's val (with p->arg its value, p->name its spelling), CLI_ARG, CLI_MISSING,
 * CLI_BAD or CLI_DONE; see the enum above. After CLI_BAD or CLI_MISSING the caller stops. */
int cli_next(CliParser *p);

#endif
