/* runner/export.h — a run's model for other tools: `aelab export` writes a checkpoint as a
 * NumPy .npz (names and layout at the top of runner/export.c), `aelab encode` the encoder's
 * codes of a split as .npy or .csv. Options: the usage texts in runner/export.c.
 */
#ifndef AE_EXPORT_H
#define AE_EXPORT_H

/* argv[0] is "export". Returns 0 written; 1 the file could not be written; 2 a usage error,
 * RUN_DIR without the checkpoint asked for, or a damaged checkpoint (message on stderr). */
int export_main(int argc, char **argv);

/* argv[0] is "encode". Returns 0 written; 1 the data or the output could not be read or
 * written; 2 a usage error, no such checkpoint, or a split the run does not have. */
int encode_main(int argc, char **argv);

#endif
