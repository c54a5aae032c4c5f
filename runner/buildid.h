/* runner/buildid.h — the build ID of this aelab (scripts/buildid.sh, computed by the Makefile):
 * a hash of the sources, the compiler's version and the flags. Stage keys include it. */
#ifndef AE_BUILDID_H
#define AE_BUILDID_H

/* 16 hex digits, or "unknown" for a build outside the Makefile; static storage. */
const char *aelab_build_id(void);

#endif
