/* runner/cliopt.c — getopt_long with its errors turned into messages (contract in cliopt.h).
 *
 * The optstring starts with "-:": '-' hands back the arguments that are not options in order
 * (whatever POSIXLY_CORRECT says), ':' makes getopt report a missing value as ':' and print
 * nothing itself. What getopt leaves in optopt after an error tells the cases apart: 0 for an
 * unknown or ambiguous long option, the option's val for a long option given a value it does
 * not take, the character for an unknown one-letter option. */
#include "cliopt.h"

#include <stdio.h>
#include <string.h>

void cli_init(CliParser *p, int argc, char **argv, const char *shorts,
              const struct option *longs) {
    *p = (CliParser){.argc = argc, .argv = argv, .longs = longs};
    snprintf(p->optstring, sizeof p->optstring, "-:%s", shorts);
    optind = 0; /* glibc: 0 starts afresh, forgetting a half-read bundle of a previous list */
    opterr = 0;
}

static const struct option *long_by_val(const struct option *longs, int val) {
    for (const struct option *o = longs; o && o->name; o++)
        if (o->val == val) return o;
    return NULL;
}

/* Whether c is one of the one-letter options. */
static bool is_short(const CliParser *p, int c) {
    return c > 0 && c < CLI_LONG_ONLY && c != ':' && c != '-' && strchr(p->optstring + 2, c);
}

/* The option with val `val` as spelt by the argument `text`: "--NAME" when text is a long
 * option, else "-C". */
static void spell(CliParser *p, int val, const char *text) {
    const struct option *o = long_by_val(p->longs, val);
    if (o && strncmp(text, "--", 2) == 0)
        snprintf(p->name, sizeof p->name, "--%s", o->name);
    else
        snprintf(p->name, sizeof p->name, "-%c", val);
}

/* "--NAME[=...]" that matched no long option, or several. */
static void bad_long(CliParser *p, const char *text) {
    const char *name = text + 2;
    int len = (int)strcspn(name, "=");
    char cands[128] = "";
    int n = 0;
    for (const struct option *o = p->longs; o && o->name; o++) {
        if (strncmp(o->name, name, (size_t)len) != 0) continue;
        size_t l = strlen(cands);
        snprintf(cands + l, sizeof cands - l, "%s--%s", n++ ? ", " : "", o->name);
    }
    if (n >= 2)
        snprintf(p->error, sizeof p->error, "ambiguous option '--%.*s' (%s)", len, name, cands);
    else
        snprintf(p->error, sizeof p->error, "unknown option '--%.*s'", len, name);
}

static int bad_option(CliParser *p) {
    if (optopt == 0) {
        bad_long(p, p->argv[optind - 1]);
    } else if (optopt >= CLI_LONG_ONLY || is_short(p, optopt)) {
        /* a known option refuses a value only when written --NAME=VALUE */
        const struct option *o = long_by_val(p->longs, optopt);
        snprintf(p->error, sizeof p->error, "--%s takes no value, got '%s'",
                 o ? o->name : "?", p->argv[optind - 1]);
    } else if (optopt >= 0x20 && optopt < 0x7f) {
        snprintf(p->error, sizeof p->error, "unknown option '-%c'", optopt);
    } else {
        snprintf(p->error, sizeof p->error, "unknown option (byte 0x%02x)", optopt & 0xff);
    }
    return CLI_BAD;
}

int cli_next(CliParser *p) {
    p->opt = 0;
    p->arg = NULL;
    p->name[0] = p->error[0] = '\0';
    if (p->options_done) {
        if (optind >= p->argc) return CLI_DONE;
        p->index = optind;
        p->arg = p->argv[optind++];
        return CLI_ARG;
    }
    int longindex = -1;
    int c = getopt_long(p->argc, p->argv, p->optstring, p->longs, &longindex);
    switch (c) {
    case -1: /* the end, or `--` (in this ordering getopt stops early only there) */
        if (optind >= p->argc) return CLI_DONE;
        p->options_done = true;
        return cli_next(p);
    case 1:
        p->index = optind - 1;
        p->arg = optarg;
        return CLI_ARG;
    case ':': /* a value is missing only at the end: the option is the last argument */
        p->opt = optopt;
        spell(p, optopt, p->argv[p->argc - 1]);
        return CLI_MISSING;
    case '?':
        return bad_option(p);
    default:
        p->opt = c;
        p->arg = optarg;
        if (longindex >= 0)
            snprintf(p->name, sizeof p->name, "--%s", p->longs[longindex].name);
        else
            snprintf(p->name, sizeof p->name, "-%c", c);
        return c;
    }
}
