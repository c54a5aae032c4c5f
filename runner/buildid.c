/* runner/buildid.c — the build ID (buildid.h). Only this file is compiled with AELAB_BUILD_ID,
 * so a new ID rebuilds one object. */
#include "buildid.h"

#ifndef AELAB_BUILD_ID
#define AELAB_BUILD_ID "unknown"
#endif

const char *aelab_build_id(void) { return AELAB_BUILD_ID; }
