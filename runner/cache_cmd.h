/* runner/cache_cmd.h — `aelab cache ls|du|gc`: see, size and prune the stage cache
 * (runner/stagecache.h); the usage is in cache_cmd.c and README.md. */
#ifndef AE_CACHE_CMD_H
#define AE_CACHE_CMD_H

/* The command's main (argv[0] is "cache"). Returns the exit status: 0 done, 1 a file could not
 * be read or removed, 2 a usage error. */
int cache_main(int argc, char **argv);

#endif
