/* runner/datacheck.h — the config against what its data set holds: the checks that need the data
 * (its labels) rather than the config alone, made when a config is loaded, so that `aelab check`
 * reports them and `aelab run` refuses before anything trains.
 */
#ifndef AE_DATACHECK_H
#define AE_DATACHECK_H

#include "config.h"
#include "diag.h"
#include "yamldoc.h"

/* Checks a config that loaded without errors against its data set's labels, reporting to d at
 * the key to change (root: the YAML tree the config came from):
 *  - an attach_classifier `classes: K` below a split's largest label + 1 is an error at that
 *    key, e.g. "pipeline[1].attach_classifier.classes: 3, but the training labels go up to 9
 *    (10 classes in data/mnist/train-labels-idx1-ubyte); set classes: 10 or leave it out";
 *  - a split (training, test; after subset/test_subset) holding fewer classes than the head
 *    is a warning at the first attach_classifier stage, once per split, naming the missing
 *    classes; a data set of one class only (and no `classes`) is an error there;
 *  - `evaluate: {split: test}` on a data set without a test split is an error at that stage.
 * The labels are read from the labels file (idx, mnist, fashion-mnist: small) or the CSV file;
 * a data set that cannot be read is not reported here (`run` and `check` report it when they
 * read it). Returns the number of errors reported. */
int datacheck_validate(const Config *c, const YNode *root, Diag *d);

/* `aelab check`'s reading of the data files themselves, for the data set of load_dataset ds:
 * IDX files (idx, mnist, fashion-mnist; training and test pairs) through idx_check_pair, each
 * file's length against its header without loading it; CSV files loaded, their shape taken.
 * Fills dims {D, C, N} (features; classes, 10 for IDX; training examples after subset).
 * False with err filled (the first file's error, "PATH: error: ...") when a file is missing,
 * unreadable, cut short, too long or malformed, or a named data set cannot be found. */
bool datacheck_files(const DatasetCfg *ds, int dims[3], AeError *err);

#endif
